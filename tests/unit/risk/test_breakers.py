"""Circuit breakers fire on their condition, act as configured, and stay fired until a deliberate Resume."""

from __future__ import annotations

import numpy as np
import pytest
from risk_helpers import BUY, MINUTE_NS, SELL, T0, hold, make_engine, ny_ns, place, push_bar

from workbench.model import commands as cmd
from workbench.model import events as ev
from workbench.model.enums import OrderStatus, TradingState
from workbench.risk.breakers import RejectStreak, StaleData, VolatilitySpike


def fired(eng):
    return [e for e in eng.events if type(e) is ev.RiskEvent]


def test_volatility_spike_fires_above_threshold_only():
    # period 4: the std (ddof=1) of the last 4 log returns, computed here with numpy
    prices = [100, 100.1, 100.0, 100.1, 100.0, 100.1, 100.0, 104.0, 98.0]
    logs = np.diff(np.log(prices))
    vols = [np.std(logs[i - 4:i], ddof=1) for i in range(4, len(logs) + 1)]
    threshold = 0.02
    first_above = next(i for i, v in enumerate(vols) if v > threshold) + 4  # index of the price that crosses
    assert max(vols[: first_above - 4]) < threshold
    eng = make_engine(monitors=[VolatilitySpike(threshold, period=4)])
    for i, p in enumerate(prices):
        push_bar(eng, "SPY", p, T0 + i * MINUTE_NS)
        if i < first_above:
            assert eng.risk.state is TradingState.ACTIVE
    push_bar(eng, "SPY", 98.0, T0 + len(prices) * MINUTE_NS)  # next timestamp: the monitor acts
    assert eng.risk.state is TradingState.HALTED
    (event,) = fired(eng)
    assert event.rule == "volatility_spike" and event.symbol == "SPY"
    assert event.value == pytest.approx(vols[first_above - 4], rel=1e-9)


def test_stale_data_boundary_during_market_hours():
    eng = make_engine(monitors=[StaleData(max_age_seconds=120)])
    push_bar(eng, "SPY", 100.0, T0)
    push_bar(eng, "QQQ", 80.0, T0)
    push_bar(eng, "QQQ", 80.0, T0 + 1 * MINUTE_NS)
    push_bar(eng, "QQQ", 80.0, T0 + 2 * MINUTE_NS)  # SPY last seen 120 s ago: at the limit
    push_bar(eng, "QQQ", 80.0, T0 + 3 * MINUTE_NS)  # slice T0+2min evaluated: not stale
    assert eng.risk.state is TradingState.ACTIVE
    push_bar(eng, "QQQ", 80.0, T0 + 4 * MINUTE_NS)  # slice T0+3min: 180 s > 120 s
    assert eng.risk.state is TradingState.HALTED
    (event,) = fired(eng)
    assert event.message == "no market data for SPY for 180s, limit 120s"


def test_stale_data_ignores_the_overnight_gap():
    eng = make_engine(monitors=[StaleData(max_age_seconds=120)])
    push_bar(eng, "SPY", 100.0, ny_ns("2013-10-07 16:00"))
    push_bar(eng, "SPY", 100.0, ny_ns("2013-10-08 09:31"))  # age counted from the 09:30 open: 60 s
    push_bar(eng, "SPY", 100.0, ny_ns("2013-10-08 09:32"))
    assert eng.risk.state is TradingState.ACTIVE


def test_reject_streak_counts_consecutive_rejections():
    eng = make_engine(monitors=[RejectStreak(count=3, action="reduce_only")], allow_short=False)
    hold(eng, "SPY", 10, 100.0, T0)
    for _ in range(2):
        assert place(eng, "SPY", SELL, 50).status is OrderStatus.REJECTED  # broker: no shorting
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.ACCEPTED  # an acceptance resets the streak
    for _ in range(2):
        place(eng, "SPY", SELL, 50)
    assert eng.risk.state is TradingState.ACTIVE
    place(eng, "SPY", SELL, 50)
    assert eng.risk.state is TradingState.REDUCE_ONLY
    (event,) = fired(eng)
    assert event.message.startswith("3 consecutive order rejections (last: short selling not allowed")
    assert event.limit == 3


def test_fired_breaker_stays_fired_until_resume_then_can_fire_again():
    eng = make_engine(monitors=[StaleData(max_age_seconds=60)])
    push_bar(eng, "SPY", 100.0, T0)
    push_bar(eng, "QQQ", 80.0, T0 + 2 * MINUTE_NS)
    push_bar(eng, "QQQ", 80.0, T0 + 3 * MINUTE_NS)
    assert eng.risk.state is TradingState.HALTED
    push_bar(eng, "SPY", 100.0, T0 + 4 * MINUTE_NS)  # data is back: still halted
    push_bar(eng, "SPY", 100.0, T0 + 5 * MINUTE_NS)
    assert eng.risk.state is TradingState.HALTED and len(fired(eng)) == 1
    eng.execute(cmd.Resume())
    assert eng.risk.state is TradingState.ACTIVE and not eng.risk.tripped
    push_bar(eng, "QQQ", 80.0, T0 + 7 * MINUTE_NS)
    push_bar(eng, "QQQ", 80.0, T0 + 8 * MINUTE_NS)  # SPY stale again (180 s)
    assert eng.risk.state is TradingState.HALTED and len(fired(eng)) == 2
