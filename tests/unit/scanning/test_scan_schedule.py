"""Scan times on the exchange calendar, and timers on the replay clock in data order.

Expected dates come from the NYSE holiday calendar (Thanksgiving 2019-11-28 closed, 2019-11-29 a
13:00 early close; Christmas 2019-12-25 and New Year 2020-01-01 closed) and the US DST change
(2019-11-03: 09:00 New York is 13:00 UTC before, 14:00 UTC after).
"""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from workbench.clock import ReplayClock, SimClock, TimeEvent
from workbench.errors import ConfigError
from workbench.scanning.schedule import ScanSchedule


def _ny(ts: list[int]) -> list[str]:
    return [pd.Timestamp(t, tz="UTC").tz_convert("America/New_York").strftime("%a %m-%d %H:%M") for t in ts]


def test_trading_days_only_with_half_days_and_dst() -> None:
    s = ScanSchedule(("09:00", "10:00", "14:00"))
    got = _ny(s.between(pd.Timestamp("2019-11-27", tz="UTC").value, pd.Timestamp("2019-12-03", tz="UTC").value))
    assert got == ["Wed 11-27 09:00", "Wed 11-27 10:00", "Wed 11-27 14:00",
                   "Fri 11-29 09:00", "Fri 11-29 10:00",  # early close 13:00: no 14:00 scan
                   "Mon 12-02 09:00", "Mon 12-02 10:00", "Mon 12-02 14:00"]
    utc = [pd.Timestamp(t, tz="UTC").hour for t in ScanSchedule(("09:00",)).between(
        pd.Timestamp("2019-11-01", tz="UTC").value, pd.Timestamp("2019-11-06", tz="UTC").value)]
    assert utc == [13, 14, 14]  # Fri 11-01 (EDT), Mon 11-04 and Tue 11-05 (EST)


def test_holidays_and_weekends_are_skipped() -> None:
    s = ScanSchedule()
    got = _ny(s.between(pd.Timestamp("2019-12-24", tz="UTC").value, pd.Timestamp("2020-01-03", tz="UTC").value))
    days = list(dict.fromkeys(g[:9] for g in got))
    assert days == ["Tue 12-24", "Thu 12-26", "Fri 12-27", "Mon 12-30", "Tue 12-31", "Thu 01-02"]
    assert len(got) == 12


def test_bad_times_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"schedule\.times: '25:00' is not a time of day"):
        ScanSchedule(("25:00",))
    with pytest.raises(ConfigError, match=r"schedule\.time_zone: 'Mars/Olympus'"):
        ScanSchedule(time_zone="Mars/Olympus")


def test_attach_rearms_on_a_sim_clock() -> None:
    clock = SimClock(pd.Timestamp("2019-12-23 21:00", tz="UTC").value)
    fired: list[int] = []
    ScanSchedule().attach(clock, fired.append)
    clock.advance_to(pd.Timestamp("2019-12-28", tz="UTC").value)
    assert _ny(fired) == ["Tue 12-24 09:00", "Tue 12-24 10:00", "Thu 12-26 09:00", "Thu 12-26 10:00",
                          "Fri 12-27 09:00", "Fri 12-27 10:00"]


async def test_replay_clock_fires_by_wall_time_when_no_data_passed_it() -> None:
    clock = ReplayClock(speed=1e6, start_ns=0)
    got: list[TimeEvent] = []
    clock.dispatch = lambda callback, event: got.append(event)
    clock.set_time_alert("a", 2_000_000_000_000, lambda e: None)  # 2000 s of data time: 2 ms of wall time
    for _ in range(200):
        if got:
            break
        await asyncio.sleep(0.005)
    assert [e.ts_event for e in got] == [2_000_000_000_000]
    clock.advance_to(3_000_000_000_000)  # already handed over: not fired twice
    assert len(got) == 1


async def test_replay_clock_fires_in_data_order_once_the_feed_passed_the_due_time() -> None:
    """The feed runs ahead of the engine (items queued): a timer armed for a time the feed has already
    passed is fired by ``advance_to`` before the data after it, held at its due time, once."""
    clock = ReplayClock(speed=1.0, start_ns=0)
    clock.fed_ns = 10_000
    dispatched: list[TimeEvent] = []
    clock.dispatch = lambda callback, event: dispatched.append(event)
    seen: list[tuple[int, int]] = []
    clock.set_time_alert("late", 5_000, lambda e: seen.append((e.ts_event, clock.timestamp_ns())))
    clock.set_time_alert("later", 7_000, lambda e: seen.append((e.ts_event, clock.timestamp_ns())))
    clock.hold(10_000)
    clock.advance_to(6_000)
    assert seen == [(5_000, 5_000)]
    clock.advance_to(10_000)
    assert seen == [(5_000, 5_000), (7_000, 7_000)]
    assert clock.held == 10_000
    await asyncio.sleep(0.01)
    assert dispatched == []
