"""A paper session killed while a TWAP parent is working, then resumed: the algorithm continues from
the journal (its children, fills and schedule) and the session ends with the same children and fills
as an uninterrupted run: no child lost, none sent twice."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.engine.strategy import Strategy
from workbench.feeds.samples import load_demo_spy
from workbench.model import events as ev
from workbench.session import paper_session, resume_session

NY = "America/New_York"


class Accumulate(Strategy):
    """Buys 600 SPY by TWAP (6 children, one every 10 minutes) from 10:00 on the first day."""

    def on_start(self) -> None:
        self.algo: Any = None

    def on_bar(self, bar: Any) -> None:
        if self.algo is None and pd.Timestamp(bar.ts_init, tz="UTC").tz_convert(NY).hour >= 10:
            self.algo = self.execute(bar.symbol, 600, "twap", horizon_seconds=3600, interval_seconds=600) or "resumed"


def _one_day() -> tuple[pd.DataFrame, pd.DataFrame]:
    bars, quotes = load_demo_spy()
    day = pd.Timestamp("2013-10-08", tz=NY)
    lo, hi = day.value, (day + pd.Timedelta(days=1)).value
    return tuple(f[(f["ts_init"] >= lo) & (f["ts_init"] < hi)].reset_index(drop=True) for f in (bars, quotes))  # type: ignore[return-value]


def _trail(events: list[ev.Event]) -> tuple[list[tuple[int, float]], list[tuple[str, float, float]]]:
    sent = [(e.ts_event, e.quantity) for e in events if type(e) is ev.ParentOrderChildSent]
    fills = [(e.order_id, e.last_quantity, e.last_price) for e in events if type(e) is ev.OrderFilled]
    return sent, fills


async def test_a_killed_session_resumes_its_algorithm(tmp_path: Path) -> None:
    data = _one_day()
    whole = paper_session(Accumulate(), data=data, speed=None, journal=tmp_path / "whole.sqlite", starting_cash=1e6)
    await whole
    expected = _trail(list(whole.journal.events(whole.session_id)))
    assert len(expected[0]) == 6 and sum(q for _, q, _ in expected[1]) == 600

    crashed = paper_session(Accumulate(), data=data, speed=None, journal=tmp_path / "crash.sqlite", starting_cash=1e6,
                            snapshot_interval=0.0)
    task = crashed.start()
    strategy = crashed.engine.strategies[0]
    for _ in range(100_000):
        await asyncio.sleep(0)
        algo = getattr(strategy, "algo", None)
        if algo is not None and len(algo.children) >= 3:
            break
    task.cancel()  # the process dies here: nothing after the last commit is kept
    with contextlib.suppress(asyncio.CancelledError):
        await task
    crashed.journal.close()
    reopened = crashed.journal.__class__(tmp_path / "crash.sqlite")
    before = _trail(list(reopened.events(crashed.session_id)))
    assert 0 < len(before[0]) < 6  # killed mid-algorithm
    # a failed run commits what it processed together with the matching checkpoint (never events alone)
    assert reopened.load_state(crashed.session_id)["last_seq"] == reopened.last_seq(crashed.session_id)
    reopened.close()

    resumed = resume_session(crashed.session_id, journal=tmp_path / "crash.sqlite", data=data)
    await resumed
    events = list(resumed.journal.events(crashed.session_id))
    got = _trail(events)
    assert got == expected
    done = [e for e in events if type(e) is ev.ParentOrderCompleted]
    assert len(done) == 1 and done[0].filled_quantity == 600
    assert sum(type(e) is ev.ParentOrderStarted for e in events) == 1  # the same parent, continued
