"""The live runtime on a running asyncio loop (pytest-asyncio provides the loop, as a kernel would).

Checks: ``start()`` returns at once and the loop keeps serving other coroutines while the session
trades (paced and at full speed); ``pause()``/``resume()`` stop and restart strategy callbacks and
are journaled as CommandReceived/CommandAcknowledged; ``stop()`` ends the session with
SessionStopped journaled; ``await session`` works with and without ``start()``; a feed that emits
garbage has it rejected and counted while the good data is processed exactly as without it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from workbench.engine.live import LiveRunner
from workbench.engine.strategy import Strategy
from workbench.feeds.replay import regular_hours
from workbench.feeds.samples import load_demo_spy
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.session import paper_session

DAY_SECONDS = 6.5 * 3600  # one regular session of data


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Regular-hours SPY bars and quotes of 2013-10-07..11 (1,950 + 1,950 items)."""
    return tuple(regular_hours(f) for f in load_demo_spy())  # type: ignore[return-value]


@pytest.fixture(scope="module")
def first_day(demo: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 2013-10-07 part of ``demo`` (390 + 390 items)."""
    end = pd.Timestamp("2013-10-08", tz="America/New_York").value
    return tuple(f[f["ts_init"] < end].reset_index(drop=True) for f in demo)  # type: ignore[return-value]


class Flipper(Strategy):
    """Records ``engine.data_count`` at every bar it sees; buys/sells 10 shares every ``every`` bars."""

    def __init__(self, every: int = 7, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.every = every
        self.seen: list[int] = []

    def on_bar(self, bar: Bar) -> None:
        self.seen.append(self._engine.data_count)
        if len(self.seen) % self.every == 0:
            if self.position_quantity(bar.symbol) > 0:
                self.sell(bar.symbol, 10)
            else:
                self.buy(bar.symbol, 10)


def _journal(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'journal.sqlite'}"


async def _sample_while(session: Any, interval: float = 0.001) -> list[int]:
    """Items processed, as observed by another coroutine every ``interval`` s until the session ends."""
    seen = []
    while not session.done:
        seen.append(session.runner.position)
        await asyncio.sleep(interval)
    return seen


@pytest.mark.parametrize("speed", [5 * DAY_SECONDS / 2.0, None], ids=["paced-2s", "max"])
async def test_start_returns_at_once_and_the_loop_keeps_running(
    tmp_path: Path, demo: tuple[pd.DataFrame, pd.DataFrame], speed: float | None
) -> None:
    """Paced (5 days of data in ~2 s) and as fast as possible: a sampling coroutine runs every ms."""
    session = paper_session(Flipper(), data=demo, speed=speed, journal=_journal(tmp_path))
    total = len(session.feed)
    t0 = time.perf_counter()
    task = session.start()
    assert time.perf_counter() - t0 < 0.05 and not task.done() and session.runner.state == "created"
    positions = await _sample_while(session)
    await session
    assert session.runner.state == "stopped" and session.runner.position == total == 3900
    # the other coroutine got many turns while the session was part-way through the data, and saw it advance
    midway = [p for p in positions if 0 < p < total]
    assert len(set(midway)) >= 5, sorted(set(positions))


async def test_a_paced_session_keeps_the_speed(tmp_path: Path, first_day: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Through the whole live path (runner, engine, journal commits), one day of data at a speed that
    should take 1.5 s takes 1.5 s (+-15%): processing and commits do not make the replay drift."""
    from workbench.feeds.stream import MarketDataStream

    stream = MarketDataStream(*first_day)
    span = (stream.end_ns - stream.start_ns) / 1e9
    session = paper_session(Flipper(every=2), data=first_day, speed=span / 1.5, journal=_journal(tmp_path))
    t0 = time.perf_counter()
    await session
    elapsed = time.perf_counter() - t0
    assert session.summary()["fills"] > 100
    assert abs(elapsed - 1.5) <= 0.15 * 1.5, f"{elapsed:.3f} s instead of 1.5 s"


async def test_pause_stops_strategy_callbacks_and_resume_restarts_them(
    tmp_path: Path, first_day: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    strategy = Flipper()
    session = paper_session(strategy, data=first_day, speed=DAY_SECONDS / 2.0, journal=_journal(tmp_path))
    engine = session.engine
    acked: dict[str, int] = {}  # command name -> data items processed when it was acknowledged
    engine.bus.subscribe("events", lambda e: acked.setdefault(e.name, engine.data_count)
                         if type(e) is ev.CommandAcknowledged else None)
    session.start()
    while engine.data_count < 100:
        await asyncio.sleep(0.005)
    session.pause()
    while "pause" not in acked:
        await asyncio.sleep(0.001)
    paused_at = acked["pause"]
    while engine.data_count < paused_at + 150:  # the data goes on (marks, matching) while paused
        await asyncio.sleep(0.005)
    session.resume()
    await session
    resumed_at = acked["resume"]
    assert resumed_at >= paused_at + 150
    assert not [n for n in strategy.seen if paused_at < n <= resumed_at], "a bar reached the strategy while paused"
    assert any(n <= paused_at for n in strategy.seen) and any(n > resumed_at for n in strategy.seen)
    events = list(session.journal.events(session.session_id))
    controls = [(type(e).__name__, e.name) for e in events if type(e) in (ev.CommandReceived, ev.CommandAcknowledged)]
    assert controls == [("CommandReceived", "pause"), ("CommandAcknowledged", "pause"),
                        ("CommandReceived", "resume"), ("CommandAcknowledged", "resume")]
    assert all(e.ok for e in events if type(e) is ev.CommandAcknowledged)


async def test_stop_ends_the_session_cleanly_and_is_journaled(
    tmp_path: Path, first_day: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    session = paper_session(Flipper(), data=first_day, speed=DAY_SECONDS / 5.0, journal=_journal(tmp_path))
    session.start()
    while session.engine.data_count < 50:
        await asyncio.sleep(0.005)
    session.stop()
    await asyncio.wait_for(asyncio.shield(session.start()), timeout=5)
    assert session.runner.state == "stopped" and session.done
    assert 50 <= session.runner.position < len(session.feed)
    events = list(session.journal.events(session.session_id))
    assert type(events[0]) is ev.SessionStarted
    assert [e.reason for e in events if type(e) is ev.SessionStopped] == ["stopped"]
    stopped_at = next(i for i, e in enumerate(events) if type(e) is ev.SessionStopped)
    assert not any(isinstance(e, ev.OrderEvent) for e in events[stopped_at:]), "trading after SessionStopped"
    row = session.journal.session(session.session_id)
    assert row["status"] == "stopped" and row["owner_pid"] is None  # the lock is released


async def test_await_without_start_runs_to_the_end(
    tmp_path: Path, first_day: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    session = paper_session(Flipper(), data=first_day, speed=None, journal=_journal(tmp_path))
    await session
    assert session.runner.position == len(session.feed) == 780
    events = list(session.journal.events(session.session_id))
    assert [e.reason for e in events if type(e) is ev.SessionStopped] == ["end of data"]


async def test_controls_before_start_are_refused(tmp_path: Path, first_day: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    session = paper_session(Flipper(), data=first_day, speed=None, journal=_journal(tmp_path))
    with pytest.raises(RuntimeError, match="start"):
        session.pause()


# ------------------------------------------------------------------------------- garbage in the feed
class _ListFeed:
    """An async feed over a list (no pacing), yielding to the loop every 64 items."""

    def __init__(self, items: list[Any], clock: Any) -> None:
        self.items = items
        self.clock = clock

    async def __aiter__(self) -> AsyncIterator[Any]:
        for i, item in enumerate(self.items):
            if i % 64 == 0:
                await asyncio.sleep(0)
            yield item


def _garbage(bar: Bar) -> list[Any]:
    t = bar.ts_init
    return [
        Bar("SPY", math.nan, 1.0, 1.0, 1.0, 100.0, t - 60_000_000_000, t),  # NaN open
        Bar("SPY", 1.0, 1.0, 2.0, 1.0, 100.0, t - 60_000_000_000, t),  # low above high
        Bar("SPY", 1.0, 1.0, 1.0, 1.0, -5.0, t - 60_000_000_000, t),  # negative volume
        QuoteTick("SPY", 0.0, 168.0, 100.0, 100.0, t, t),  # zero bid
        QuoteTick("SPY", 167.9, math.inf, 100.0, 100.0, t, t),  # infinite ask
        TradeTick("SPY", math.nan, 100.0, t, t),
        TradeTick("SPY", 168.0, 100.0, t, float(t)),  # ts_init not an int
        "not market data",
        None,
        {"symbol": "SPY", "close": 168.0},
    ]


async def _run_list(items: list[Any], journal: Any, session_id: str) -> LiveRunner:
    from workbench.clock import SimClock
    from workbench.engine.backtest import build_engine

    clock = SimClock(items[0].ts_init)
    engine = build_engine(Flipper(every=5), clock=clock, keep_events=False)
    journal.create_session(session_id, mode="paper")
    runner = LiveRunner(engine, _ListFeed(items, clock), journal=journal, session_id=session_id, snapshot_interval=0)
    await runner
    return runner


async def test_garbage_from_the_feed_is_rejected_counted_and_changes_nothing(
    tmp_path: Path, first_day: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    from workbench.feeds.stream import MarketDataStream
    from workbench.persistence import Journal

    clean = list(MarketDataStream(*first_day))
    dirty: list[Any] = []
    injected = 0
    for i, item in enumerate(clean):
        dirty.append(item)
        if i % 97 == 50 and type(item) is Bar:
            junk = _garbage(item)
            dirty.extend(junk)
            injected += len(junk)
    assert injected >= 30
    journal = Journal(_journal(tmp_path))
    good = await _run_list(clean, journal, "clean")
    bad = await _run_list(dirty, journal, "dirty")
    assert good.stats.rejected == 0
    assert bad.stats.rejected == injected and bad.stats.data_events == len(clean)
    assert "not market data" in bad.stats.last_rejection or "dict" in bad.stats.last_rejection
    assert bad.state == "stopped" and bad.position == len(dirty)
    # nothing journaled for the garbage: the same events (orders, fills, account states) as the clean run
    clean_events = list(journal.events("clean"))
    assert len(clean_events) > 50 and any(type(e) is ev.OrderFilled for e in clean_events)
    assert list(journal.events("dirty")) == clean_events
    journal.close()
