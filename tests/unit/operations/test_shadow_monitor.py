"""The monitor that compares a live session with its paper shadow and steps the size multiplier.

Two in-process engines stand in for the live session and its shadow (their runners reduced to the
processed data time and ``post``). Hand-worked cases: New York trading dates as windows (a day is
judged only once both engines have processed data of a later date), a disagreeing day stepping
down, a window that waits for the broker's answer to a live order, signal-count windows, and the
agreement rule (a live order the broker rejected disagrees with the shadow's accepted one; a
live-only order is not counted).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from workbench.engine.backtest import build_engine
from workbench.engine.sizing import ChangeSizeMultiplier
from workbench.model import events as ev
from workbench.model.enums import OrderSide
from workbench.operations.graduation import SizeSchedule
from workbench.operations.shadow import ShadowMonitor, window_agreement


def _ns(text: str) -> int:
    return int(pd.Timestamp(text, tz="America/New_York").tz_convert("UTC").value)


def _side(session_id: str) -> Any:
    posted: list[Any] = []
    runner = SimpleNamespace(stats=SimpleNamespace(last_data_ts=0), post=posted.append)
    return SimpleNamespace(session_id=session_id, engine=build_engine([]), runner=runner, posted=posted)


def _signal(side: Any, when: str, direction: int, symbol: str = "SPY") -> None:
    side.engine.record(ev.SignalGenerated(ts_event=_ns(when), symbol=symbol, direction=direction, strategy_id="s"))


def _through(when: str, *sides: Any) -> None:
    for side in sides:
        side.runner.stats.last_data_ts = _ns(when)


def _monitor(cadence: Any = "day", **options: Any) -> tuple[ShadowMonitor, Any, Any]:
    live, shadow = _side("live"), _side("live-shadow")
    schedule = SizeSchedule((0.10, 0.25, 0.50, 1.00), step_days=1, min_agreement=0.995)
    return ShadowMonitor(live, shadow, schedule, cadence=cadence, **options), live, shadow


def test_days_are_judged_after_they_end_and_step_up_then_down() -> None:
    monitor, live, shadow = _monitor()
    for side in (live, shadow):
        _signal(side, "2013-10-07 10:00", 1)
        _signal(side, "2013-10-07 11:00", 0)
    _through("2013-10-07 15:59", live, shadow)
    assert monitor.check() is None  # the day is not over
    _through("2013-10-08 09:31", shadow)
    assert monitor.check() is None  # the live engine has not processed the next day yet
    _through("2013-10-08 09:31", live)
    assert monitor.check() == (1.0, 0.25)
    (change,) = live.posted
    assert isinstance(change, ChangeSizeMultiplier) and change.new == 0.25 and change.agreement == 1.0
    assert change.shadow_session_id == "live-shadow"
    # day 2: live goes flat where the shadow goes short: 1 of 2 signals agree
    _signal(live, "2013-10-08 10:00", 1)
    _signal(shadow, "2013-10-08 10:00", 1)
    _signal(live, "2013-10-08 12:00", 0)
    _signal(shadow, "2013-10-08 12:00", -1)
    _through("2013-10-09 09:31", live, shadow)
    assert monitor.check() == (0.5, 0.10)
    assert live.posted[-1].new == 0.10 and "down to 0.1" in live.posted[-1].reason
    assert [e[4] for e in monitor.evaluations] == [0.25, 0.10]
    assert monitor.check() is None  # nothing more to judge
    # the session ends during day 3: its last (partial) day is judged at the end
    _signal(live, "2013-10-09 10:00", 1)
    _signal(shadow, "2013-10-09 10:00", 1)
    _through("2013-10-09 10:30", live, shadow)
    assert monitor.check() is None
    assert monitor.check(final=True) == (1.0, 0.25)


def test_a_window_waits_for_the_brokers_answer_to_a_live_order() -> None:
    monitor, live, shadow = _monitor(cadence=1, settle_timeout=3600.0)
    t = _ns("2013-10-07 10:00")
    for side in (live, shadow):
        side.engine.clock.advance_to(t)
        _signal(side, "2013-10-07 10:00", 1)
        side.engine.create_order("SPY", OrderSide.BUY, 10, strategy_id="s")
    live_order = next(iter(live.engine.orders.values()))
    assert live_order.ts_init == t
    live.engine.process(ev.OrderSubmitted(ts_event=t, order_id=live_order.order_id, symbol="SPY"))
    _through("2013-10-07 10:01", live, shadow)
    assert monitor.check() is None  # live order SUBMITTED: no answer from the broker yet
    live.engine.process(ev.OrderRejected(ts_event=t, order_id=live_order.order_id, symbol="SPY",
                                         reason="insufficient buying power"))
    agreement, multiplier = monitor.check()
    assert agreement == 0.5 and multiplier == 0.10  # signal agrees, the order does not; already at the bottom


def test_an_order_the_live_size_rounds_to_nothing_counts_as_placed() -> None:
    monitor, live, shadow = _monitor(cadence=1)
    t = _ns("2013-10-07 10:00")
    for side in (live, shadow):
        side.engine.clock.advance_to(t)
        _signal(side, "2013-10-07 10:00", 1)
    shadow.engine.create_order("SPY", OrderSide.BUY, 5, strategy_id="s")
    ChangeSizeMultiplier(0.10).apply_to(live.engine)
    live.engine.sizing.skipped.append(("SPY", "BUY", t))  # 5 shares x 10%: no live order
    _through("2013-10-07 10:01", live, shadow)
    assert monitor.check() == (1.0, 0.25)
    assert live.engine.sizing.skipped == []  # judged


def test_signal_windows_count_the_shadows_signals() -> None:
    monitor, live, shadow = _monitor(cadence=2)
    for when in ("2013-10-07 10:00", "2013-10-07 10:05", "2013-10-07 10:10"):
        _signal(live, when, 1)
        _signal(shadow, when, 1)
    _through("2013-10-07 10:04", live, shadow)
    assert monitor.check() is None  # one signal so far
    _through("2013-10-07 10:05", live, shadow)
    assert monitor.check() == (1.0, 0.25)
    _through("2013-10-07 11:00", live, shadow)
    assert monitor.check() is None  # the third signal opens the next window, which needs two


def test_agreement_rule_hand_worked() -> None:
    t = _ns("2013-10-07 10:00")
    signals = [("SPY", t, 1), ("SPY", t + 60, 0)]
    # signals: 2 pairs agree; orders: the shadow's accepted buy vs the live's rejected one disagrees,
    # the shadow's sell is matched by a live sell (both accepted), the live-only rebalance is not counted
    live_orders = [("SPY", "BUY", t, True), ("SPY", "SELL", t + 60, False), ("SPY", "BUY", t + 120, False)]
    shadow_orders = [("SPY", "BUY", t, False), ("SPY", "SELL", t + 60, False)]
    assert window_agreement(signals, signals, live_orders, shadow_orders) == (0.75, 3, 4)
    # a signal only the live session made, and one with the other direction
    assert window_agreement([("SPY", t, 1), ("QQQ", t, 1)], [("SPY", t, -1)], [], []) == (0.0, 0, 2)
    agreement, agreed, compared = window_agreement([], [], [], [])
    assert math.isnan(agreement) and (agreed, compared) == (0, 0)


def test_cadence_is_checked() -> None:
    with pytest.raises(ValueError, match="cadence"):
        _monitor(cadence=0)
    with pytest.raises(ValueError, match="cadence"):
        _monitor(cadence="week")


async def test_the_shadow_feed_stops_where_the_live_session_stopped() -> None:
    """The live data client hands every item to the shadow as it emits it; when the live session
    stops with items still queued (it never processed them), the shadow must end at the same item,
    or it trades on data its live session never saw and the pair disagrees after a restart (seen in
    CI: the shadow bought at 14:08 after the live session had stopped at 13:58)."""
    from workbench.operations.shadow import ShadowFeed

    items = [SimpleNamespace(ts_init=n) for n in range(1, 8)]
    feed = ShadowFeed(None)
    for item in items:
        feed.put(item)
    feed.close(after=4)  # the live runner took 4 items from its feed before it stopped
    assert [item async for item in feed] == items[:4]

    unlimited = ShadowFeed(None)
    for item in items:
        unlimited.put(item)
    unlimited.close()
    assert [item async for item in unlimited] == items
