"""Portfolio rules: daily loss (start-of-day by calendar), drawdown, heat, VaR; breach -> state + RiskEvent."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from risk_helpers import BUY, MINUTE_NS, SELL, T0, hold, make_engine, ny_ns, place, push_bar, reason_of
from scipy import stats

from workbench.model import events as ev
from workbench.model.enums import OrderStatus, TradingState
from workbench.risk.history import PriceHistory
from workbench.risk.portfolio_rules import DailyLossLimit, MaxDrawdown, PortfolioHeat, ValueAtRisk, value_at_risk


def risk_events(eng):
    return [e for e in eng.events if type(e) is ev.RiskEvent]


def test_daily_loss_at_limit_passes_beyond_it_trips_reduce_only():
    rule = DailyLossLimit(limit=1_000)
    eng = make_engine(monitors=[rule])
    hold(eng, "SPY", 100, 100.0, T0)  # equity 100,000 at start of day
    push_bar(eng, "SPY", 90.0, T0 + 5 * MINUTE_NS)  # loss 100 x 10 = 1,000: at the limit
    push_bar(eng, "SPY", 90.0, T0 + 6 * MINUTE_NS)  # (monitors run when the next timestamp arrives)
    assert eng.risk.state is TradingState.ACTIVE
    assert place(eng, "SPY", BUY, 1).status is not OrderStatus.DENIED
    # the extra share fills at 89.99 (next open): loss = 100 x (100 - 89.99) + 0 = 1,001
    push_bar(eng, "SPY", 89.99, T0 + 7 * MINUTE_NS)  # the pre-trade check sees the breach at once
    assert reason_of(place(eng, "SPY", BUY, 1, limit_price=80.0)).startswith(
        "daily_loss_limit: loss 1,001.00 since start-of-day equity 100,000.00 exceeds limit 1,000.00")
    push_bar(eng, "SPY", 89.99, T0 + 8 * MINUTE_NS)
    assert eng.risk.state is TradingState.REDUCE_ONLY
    (event,) = risk_events(eng)
    assert (event.rule, event.action, event.limit) == ("daily_loss_limit", "reduce_only", 1_000)
    assert event.value == pytest.approx(1_001)
    # reducing still allowed, adding is not
    assert place(eng, "SPY", SELL, 50).status is not OrderStatus.DENIED
    assert "REDUCE_ONLY" in reason_of(place(eng, "SPY", BUY, 1))


def test_daily_loss_start_of_day_rolls_at_the_exchange_close():
    rule = DailyLossLimit(limit=1_000)
    eng = make_engine(monitors=[rule])
    hold(eng, "SPY", 100, 100.0, ny_ns("2013-10-07 15:00"))
    push_bar(eng, "SPY", 91.0, ny_ns("2013-10-07 16:00"))  # day 1 loss 900: fine
    push_bar(eng, "SPY", 91.0, ny_ns("2013-10-08 09:31"))  # new session: start-of-day = 99,100
    assert rule.start_equity == pytest.approx(99_100)
    push_bar(eng, "SPY", 82.0, ny_ns("2013-10-08 10:00"))  # day 2 loss 900 (1,800 over two days)
    push_bar(eng, "SPY", 82.0, ny_ns("2013-10-08 10:01"))
    assert eng.risk.state is TradingState.ACTIVE
    push_bar(eng, "SPY", 80.0, ny_ns("2013-10-08 10:02"))  # day 2 loss 1,100
    push_bar(eng, "SPY", 80.0, ny_ns("2013-10-08 10:03"))
    assert eng.risk.state is TradingState.REDUCE_ONLY


def test_daily_loss_breach_cancels_working_orders_that_add_risk():
    eng = make_engine(monitors=[DailyLossLimit(percent=0.01)])
    hold(eng, "SPY", 100, 100.0, T0)
    adding = place(eng, "SPY", BUY, 10, limit_price=50.0)
    stop = place(eng, "SPY", SELL, 100, stop_price=60.0, reduce_only=True)
    push_bar(eng, "SPY", 85.0, T0 + 5 * MINUTE_NS)
    push_bar(eng, "SPY", 85.0, T0 + 6 * MINUTE_NS)
    assert eng.risk.state is TradingState.REDUCE_ONLY
    assert adding.status is OrderStatus.CANCELED
    assert stop.status is OrderStatus.ACCEPTED  # protective reduce-only orders stay


def test_breach_with_reduce_fraction_cuts_positions():
    eng = make_engine(monitors=[DailyLossLimit(limit=500, reduce_fraction=0.5)])
    hold(eng, "SPY", 100, 100.0, T0)
    push_bar(eng, "SPY", 94.0, T0 + 5 * MINUTE_NS)
    push_bar(eng, "SPY", 94.0, T0 + 6 * MINUTE_NS)  # trips: reduce-only sell of 50 sent
    push_bar(eng, "SPY", 94.0, T0 + 7 * MINUTE_NS)  # ... and filled
    assert eng.portfolio.quantity("SPY") == 50


def test_max_drawdown_boundary_halts():
    eng = make_engine(monitors=[MaxDrawdown(0.10)], cash=100_000)
    hold(eng, "SPY", 1000, 100.0, T0)
    push_bar(eng, "SPY", 110.0, T0 + 5 * MINUTE_NS)  # equity 110,000 = peak
    push_bar(eng, "SPY", 99.0, T0 + 6 * MINUTE_NS)  # 99,000 = exactly 10% below the peak
    push_bar(eng, "SPY", 99.0, T0 + 7 * MINUTE_NS)
    assert eng.risk.state is TradingState.ACTIVE
    push_bar(eng, "SPY", 98.99, T0 + 8 * MINUTE_NS)
    push_bar(eng, "SPY", 98.99, T0 + 9 * MINUTE_NS)
    assert eng.risk.state is TradingState.HALTED
    (event,) = risk_events(eng)
    assert event.message == "drawdown 10.01% from peak equity 110,000.00 exceeds limit 10.00%"


def test_portfolio_heat_uses_stop_orders_and_bracket_legs():
    heat = PortfolioHeat(1.0)
    eng = make_engine(monitors=[heat])
    hold(eng, "SPY", 100, 100.0, T0)
    heat.percent = 0.01  # 1% of 100,000 = 1,000
    # no stop: the whole position (10,000) is at risk
    assert heat.heat(eng) == pytest.approx(10_000)
    place(eng, "SPY", SELL, 100, stop_price=95.0, reduce_only=True)
    assert heat.heat(eng) == pytest.approx(500)  # 100 x (100 - 95)
    # a bracket entry of 100 with its stop 5 away adds 500: exactly 1,000
    entry, _ = _bracket(eng, "SPY", 100, stop=95.0)
    assert entry.status is OrderStatus.ACCEPTED
    entry2, _ = _bracket(eng, "SPY", 1, stop=94.99)
    assert reason_of(entry2) == "portfolio_heat: open risk to stops 1,005.01 is 1.01% of equity, limit 1.00%"


def _bracket(eng, symbol, quantity, stop):
    from workbench.model.enums import ContingencyType, OrderType

    ids = [eng.next_order_id(), eng.next_order_id()]
    entry = eng.create_order(symbol, BUY, quantity, order_id=ids[0], contingency=ContingencyType.OTO,
                             linked_order_ids=(ids[1],))
    leg = eng.create_order(symbol, SELL, quantity, OrderType.STOP, stop_price=stop, reduce_only=True, order_id=ids[1],
                           parent_order_id=ids[0])
    eng.hold_until_filled(entry, [leg])
    return eng.submit_order(entry), [leg]


def test_value_at_risk_matches_independent_computations():
    rng = np.random.default_rng(3)
    returns = rng.multivariate_normal([0, 0], [[0.0004, 0.0002], [0.0002, 0.0009]], size=500)
    values = np.array([60_000.0, -20_000.0])
    # historical: the 1% quantile of daily P&L, by pandas
    pnl = pd.Series(returns[:, 0] * 60_000 - returns[:, 1] * 20_000)
    expected_hist = -pnl.quantile(0.01)
    assert value_at_risk(values, returns, 0.99, 1, "historical") == pytest.approx(expected_hist)
    # parametric: z * sigma of P&L, sigma from pandas' sample std of the P&L series (same thing as sqrt(v'Sv))
    expected_param = stats.norm.ppf(0.99) * pnl.std(ddof=1)
    assert value_at_risk(values, returns, 0.99, 1, "parametric") == pytest.approx(expected_param)
    assert value_at_risk(values, returns, 0.99, 10, "parametric") == pytest.approx(expected_param * math.sqrt(10))
    with pytest.raises(ValueError, match="method"):
        value_at_risk(values, returns, 0.99, 1, "monte_carlo")


def test_value_at_risk_rule_denies_and_trips():
    history = PriceHistory(window=50)
    for i in range(41):  # SPY alternates +-2% a day: daily 99% historical VaR of 1 share ~ 2% of its value
        history.sample({"SPY": 100.0 * (1.02 if i % 2 else 1.0)}, i)
    rule = ValueAtRisk(0.01, confidence=0.99, method="historical", history=history)
    eng = make_engine(monitors=[rule], cash=100_000)
    push_bar(eng, "SPY", 100.0, T0)
    # 1% of 100,000 = 1,000 of VaR allowed; returns are +2% and -1.96%: 500 shares -> VaR 980
    assert place(eng, "SPY", BUY, 500).status is not OrderStatus.DENIED
    denied = place(eng, "SPY", BUY, 520)
    assert reason_of(denied).startswith("value_at_risk: historical VaR(99%, 1d) ")
    assert "exceeds 1.00% of equity = 1,000.00" in denied.reason
