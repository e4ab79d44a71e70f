"""Replay timing: a paced ReplayFeed takes (data span / speed) of wall time, jumps closed periods.

Stated tolerance: the whole replay's wall time is within +-15% or +-60 ms (whichever is larger)
of span / speed, no item is delivered before its scheduled wall time (minus 2 ms of timer
granularity), and the replay clock reads the item's data time when it is delivered (within the
same tolerance, scaled by the speed). Data: the shipped SPY minute bars and quotes (regular hours).
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from workbench.clock import NS_PER_SECOND, ReplayClock, SimClock
from workbench.feeds.replay import ReplayFeed, regular_hours
from workbench.feeds.samples import load_demo_spy
from workbench.feeds.stream import MarketDataStream

NY = "America/New_York"


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    return tuple(regular_hours(f) for f in load_demo_spy())  # type: ignore[return-value]


def _slice(demo: tuple[pd.DataFrame, pd.DataFrame], start: str, end: str) -> MarketDataStream:
    """Bars and quotes with ``start < ts_init <= end`` (New York times)."""
    lo, hi = pd.Timestamp(start, tz=NY).value, pd.Timestamp(end, tz=NY).value
    return MarketDataStream(*(f[(f["ts_init"] > lo) & (f["ts_init"] <= hi)].reset_index(drop=True) for f in demo))


async def _replay(feed: ReplayFeed) -> tuple[float, list[tuple[float, int, int]]]:
    """Run the feed; return total wall seconds and (wall offset s, item ts_init, clock ns) per item."""
    seen = []
    t0 = time.perf_counter()
    async for item in feed:
        seen.append((time.perf_counter() - t0, item.ts_init, feed.clock.timestamp_ns()))
    return time.perf_counter() - t0, seen


def _tolerance(expected: float) -> float:
    return max(0.15 * expected, 0.060)


@pytest.mark.parametrize(("speed", "start", "end"), [
    (600.0, "2013-10-08 10:00", "2013-10-08 10:10"),  # 10 minutes of data: 1.0 s
    (6000.0, "2013-10-08 10:00", "2013-10-08 11:40"),  # 100 minutes of data: 1.0 s
    (60_000.0, "2013-10-08 09:30", "2013-10-08 16:00"),  # a whole session, 390 minutes: 0.39 s
])
async def test_paced_replay_takes_span_over_speed(
    demo: tuple[pd.DataFrame, pd.DataFrame], speed: float, start: str, end: str
) -> None:
    stream = _slice(demo, start, end)
    feed = ReplayFeed(stream, speed=speed)
    assert isinstance(feed.clock, ReplayClock)
    elapsed, seen = await _replay(feed)
    assert len(seen) == len(stream) == feed.position
    first = seen[0][1]
    expected = (stream.end_ns - first) / NS_PER_SECOND / speed
    tol = _tolerance(expected)
    assert abs(elapsed - expected) <= tol, f"{elapsed:.3f} s for {expected:.3f} s expected at {speed:g}x"
    for wall, ts, clock_ns in seen:
        due = (ts - first) / NS_PER_SECOND / speed
        assert wall >= due - 0.002, f"item at {ts} delivered {due - wall:.4f} s early"
        assert abs(clock_ns - ts) <= tol * speed * NS_PER_SECOND  # the clock reads the data's time


async def test_overnight_gap_is_skipped(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Last 5 minutes of 2013-10-07 and first 5 of 2013-10-08: 17.5 h apart; at 600x that would be
    105 s of waiting. With skip_closed the replay takes ~8 minutes of data / 600 = 0.8 s."""
    stream = _slice(demo, "2013-10-07 15:55", "2013-10-08 09:35")
    assert len(stream) == 20
    feed = ReplayFeed(stream, speed=600.0, skip_closed=True)
    elapsed, seen = await _replay(feed)
    # first item 15:56 -> close 16:00 (4 min), re-anchor 1 s before 09:31, then 09:31 -> 09:35 (4 min), at 600x
    expected = (4 * 60 + 1 + 4 * 60) / 600.0
    assert abs(elapsed - expected) <= _tolerance(expected), elapsed
    after_open = [s for s in seen if s[1] > pd.Timestamp("2013-10-08 09:00", tz=NY).value]
    assert after_open and all(abs(c - ts) < 2 * 600 * NS_PER_SECOND for _, ts, c in after_open)


def test_skip_closed_false_would_wait_through_the_night(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Without skipping, the wait before the morning's first item is the night at the given speed."""
    stream = _slice(demo, "2013-10-07 15:59", "2013-10-08 09:31")
    items = list(stream)
    clock = ReplayClock(600.0, items[0].ts_init)
    night = (items[-1].ts_init - items[0].ts_init) / NS_PER_SECOND
    assert night == 17.5 * 3600 + 60  # 16:00 -> 09:31
    assert clock.wall_delay(items[-1].ts_init) == pytest.approx(night / 600.0, abs=0.05)


async def test_max_speed_does_not_wait_and_uses_a_sim_clock(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    stream = MarketDataStream(*demo)
    feed = ReplayFeed(stream, speed=None)
    assert isinstance(feed.clock, SimClock)
    elapsed, seen = await _replay(feed)
    assert len(seen) == 3900
    assert elapsed < 2.0  # 5 days of data; paced at even 60,000x it would take ~2 s


async def test_resume_position_skips_items(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    stream = _slice(demo, "2013-10-08 10:00", "2013-10-08 10:30")
    feed = ReplayFeed(stream, speed=None, start=17)
    items = [item async for item in feed]
    assert items == list(stream)[17:] and feed.position == len(stream)


def test_speed_must_be_positive(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    stream = _slice(demo, "2013-10-08 10:00", "2013-10-08 10:05")
    for bad in (0, -60.0):
        with pytest.raises(ValueError, match="speed"):
            ReplayFeed(stream, speed=bad)
