"""Each pre-trade rule: an order exactly at the limit passes, one just beyond it is denied with a reason
naming the rule, the limit and the value. Expected numbers are worked by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest
from risk_helpers import BUY, MINUTE_NS, SELL, T0, denials, hold, make_engine, ny_ns, place, push_bar, reason_of

from workbench.model.enums import OrderStatus
from workbench.risk import rules as r
from workbench.risk.history import PriceHistory
from workbench.risk.market_rules import CorrelationLimit, TradingHours


def test_max_order_quantity_boundary():
    eng = make_engine([r.MaxOrderQuantity(100)])
    push_bar(eng, "SPY", 100.0, T0)
    assert place(eng, "SPY", BUY, 100).status is OrderStatus.ACCEPTED
    denied = place(eng, "SPY", BUY, 101)
    assert denied.status is OrderStatus.DENIED
    assert denied.reason == "max_order_quantity: order quantity 101 exceeds limit 100 (SPY)"
    # the denial is an event with the rule name
    assert [(d.rule, d.order_id) for d in denials(eng)] == [("max_order_quantity", denied.order_id)]


def test_max_order_notional_boundary_and_unknown_price():
    eng = make_engine([r.MaxOrderNotional(10_000)])
    assert reason_of(place(eng, "SPY", BUY, 1)) == "max_order_notional: no price known for SPY to value the order"
    push_bar(eng, "SPY", 100.0, T0)
    assert place(eng, "SPY", BUY, 100).status is OrderStatus.ACCEPTED  # 100 x 100 = 10,000
    assert reason_of(place(eng, "SPY", BUY, 101)) == "max_order_notional: order notional 10,100 exceeds limit 10,000 (SPY)"
    # a limit order is valued at its own price: 99 x 101 = 9,999
    assert place(eng, "SPY", BUY, 101, limit_price=99.0).status is OrderStatus.ACCEPTED


def test_max_position_quantity_counts_open_orders_and_lets_reductions_pass():
    eng = make_engine([r.MaxPositionQuantity(150)])
    hold(eng, "SPY", 100, 100.0, T0)
    resting = place(eng, "SPY", BUY, 30, limit_price=90.0)  # below the market: stays open
    assert resting.status is OrderStatus.ACCEPTED
    assert place(eng, "SPY", BUY, 20).status is OrderStatus.ACCEPTED  # 100 + 30 + 20 = 150
    assert reason_of(place(eng, "SPY", BUY, 1)) == (
        "max_position_quantity: SPY position could reach 151 shares (with open orders), limit 150")
    # short side: 100 - 250 = -150 is at the limit; -151 is not
    assert place(eng, "SPY", SELL, 250, limit_price=110.0).status is OrderStatus.ACCEPTED
    assert "could reach -151 shares" in reason_of(place(eng, "SPY", SELL, 1, limit_price=110.0))


def test_max_position_quantity_reducing_order_passes_when_over_limit():
    eng = make_engine([r.MaxPositionQuantity(150)])
    hold(eng, "SPY", 100, 100.0, T0)
    eng.risk.rules[0].limit = 50  # the position is now over the limit
    assert place(eng, "SPY", SELL, 60).status is OrderStatus.ACCEPTED
    assert reason_of(place(eng, "SPY", BUY, 1)).startswith("max_position_quantity:")


def test_max_position_notional_boundary():
    eng = make_engine([r.MaxPositionNotional(10_000)])
    hold(eng, "SPY", 50, 100.0, T0 - 2 * MINUTE_NS)  # 5,000
    assert place(eng, "SPY", BUY, 50).status is OrderStatus.ACCEPTED  # 5,000 + 5,000
    assert reason_of(place(eng, "SPY", BUY, 1)) == (
        "max_position_notional: SPY position could be worth 10,100 (with open orders), limit 10,000")


def test_max_position_percent_of_equity_boundary():
    eng = make_engine([r.MaxPositionPercentOfEquity(0.10)], cash=100_000)
    push_bar(eng, "SPY", 100.0, T0)
    assert place(eng, "SPY", BUY, 100).status is OrderStatus.ACCEPTED  # 10,000 / 100,000 = 10%
    assert reason_of(place(eng, "SPY", BUY, 1)) == (
        "max_position_percent_equity: SPY position could be 10.10% of equity 100,000, limit 10.00%")


def test_max_open_positions_boundary():
    eng = make_engine([r.MaxOpenPositions(2)])
    hold(eng, "AAA", 10, 10.0, T0)
    hold(eng, "BBB", 10, 10.0, T0 + 10 * MINUTE_NS)
    push_bar(eng, "CCC", 10.0, T0 + 20 * MINUTE_NS)
    assert reason_of(place(eng, "CCC", BUY, 1)) == (
        "max_open_positions: opening CCC would make 3 positions (held or pending), limit 2")
    assert place(eng, "AAA", BUY, 1).status is OrderStatus.ACCEPTED  # adds to a held symbol


def test_max_open_positions_counts_pending_entries():
    eng = make_engine([r.MaxOpenPositions(1)])
    push_bar(eng, "AAA", 10.0, T0)
    push_bar(eng, "BBB", 10.0, T0)
    assert place(eng, "AAA", BUY, 1, limit_price=9.0).status is OrderStatus.ACCEPTED
    assert "would make 2 positions" in reason_of(place(eng, "BBB", BUY, 1))


def test_max_gross_exposure_boundary_counts_other_symbols_open_orders():
    eng = make_engine([r.MaxGrossExposure(20_000)])
    hold(eng, "AAA", 100, 100.0, T0)  # 10,000
    push_bar(eng, "BBB", 50.0, T0 + 5 * MINUTE_NS)
    assert place(eng, "AAA", BUY, 20, limit_price=100.0).status is OrderStatus.ACCEPTED  # +2,000 pending
    assert place(eng, "BBB", BUY, 160, limit_price=50.0).status is OrderStatus.ACCEPTED  # +8,000 = 20,000
    # a small sell on the other side does not raise BBB's worst case (|-50| < 8,000): allowed
    assert reason_of(place(eng, "BBB", SELL, 1, limit_price=50.0)) == ""
    denied = place(eng, "BBB", BUY, 1, limit_price=50.0)
    assert reason_of(denied) == "max_gross_exposure: gross exposure could reach 20,050 (with open orders), limit 20,000"


def test_buying_power_boundary():
    eng = make_engine([r.BuyingPower(1.0)], cash=100_000)
    push_bar(eng, "SPY", 100.0, T0)
    assert place(eng, "SPY", BUY, 1000, limit_price=100.0).status is OrderStatus.ACCEPTED  # 100,000
    assert reason_of(place(eng, "SPY", BUY, 1, limit_price=100.0)) == (
        "buying_power: gross exposure could reach 100,100, buying power 100,000 (equity x leverage 1)")


def test_max_net_exposure_boundary_and_hedges_pass():
    eng = make_engine([r.MaxNetExposure(10_000)])
    hold(eng, "AAA", 100, 100.0, T0)  # net +10,000
    push_bar(eng, "BBB", 10.0, T0 + 5 * MINUTE_NS)
    assert reason_of(place(eng, "BBB", BUY, 1)) == (
        "max_net_exposure: net exposure could reach 10,010 (with open orders), limit 10,000")
    assert place(eng, "BBB", SELL, 100).status is OrderStatus.ACCEPTED  # a short hedge lowers net


def test_min_cash_reserve_boundary():
    eng = make_engine([r.MinCashReserve(amount=50_000)], cash=100_000)
    push_bar(eng, "SPY", 100.0, T0)
    assert place(eng, "SPY", BUY, 500).status is OrderStatus.ACCEPTED  # leaves 50,000
    assert reason_of(place(eng, "SPY", BUY, 1)) == (
        "min_cash_reserve: cash could fall to 49,900 (with open buys), reserve 50,000")
    # percent of equity: 60% of 100,000 = 60,000 is the larger reserve
    eng2 = make_engine([r.MinCashReserve(amount=50_000, percent=0.6)], cash=100_000)
    push_bar(eng2, "SPY", 100.0, T0)
    assert place(eng2, "SPY", BUY, 400).status is OrderStatus.ACCEPTED
    assert "reserve 60,000" in reason_of(place(eng2, "SPY", BUY, 1))


def test_price_band_boundary():
    eng = make_engine([r.PriceBand(0.05)])
    push_bar(eng, "SPY", 100.0, T0)
    assert place(eng, "SPY", BUY, 1, limit_price=105.0).status is OrderStatus.ACCEPTED
    assert place(eng, "SPY", SELL, 1, stop_price=95.0).status is OrderStatus.ACCEPTED
    assert reason_of(place(eng, "SPY", BUY, 1, limit_price=105.01)) == (
        "price_band: limit price 105.01 is 5.01% from last 100 (SPY), limit 5.00%")
    assert reason_of(place(eng, "SPY", SELL, 1, stop_price=94.99)).startswith("price_band: stop price 94.99 is 5.01%")
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.ACCEPTED  # market orders have no price to check


def test_max_order_rate_per_symbol_and_overall():
    eng = make_engine([r.MaxOrderRate(per_second=3, per_symbol=2)])
    push_bar(eng, "AAA", 10.0, T0)
    push_bar(eng, "BBB", 10.0, T0)
    assert place(eng, "AAA", BUY, 1).status is OrderStatus.ACCEPTED
    assert place(eng, "AAA", BUY, 1).status is OrderStatus.ACCEPTED
    assert reason_of(place(eng, "AAA", BUY, 1)) == "max_order_rate: 3 AAA orders in 1s, limit 2/s per symbol"
    assert place(eng, "BBB", BUY, 1).status is OrderStatus.ACCEPTED  # third approved order overall
    assert reason_of(place(eng, "BBB", BUY, 1)) == "max_order_rate: 4 orders in 1s, limit 3/s overall"
    eng.clock.advance_to(T0 + 1_000_000_000)  # exactly one second later the window has moved on
    assert place(eng, "AAA", BUY, 1).status is OrderStatus.ACCEPTED


@pytest.mark.parametrize(
    ("when", "pre", "post", "allowed"),
    [
        ("2013-10-07 09:29:59", False, False, False),
        ("2013-10-07 09:30:00", False, False, True),
        ("2013-10-07 15:59:59", False, False, True),
        ("2013-10-07 16:00:00", False, False, False),
        ("2013-10-07 04:00:00", True, False, True),  # pre-market from 04:00 New York
        ("2013-10-07 03:59:59", True, False, False),
        ("2013-10-07 19:59:59", False, True, True),  # post-market until 20:00
        ("2013-10-07 20:00:00", False, True, False),
        ("2013-10-07 19:59:59", True, False, False),
        ("2013-11-28 11:00:00", True, True, False),  # Thanksgiving: no session
        ("2013-10-12 11:00:00", False, False, False),  # Saturday
        ("2013-11-29 12:59:59", False, False, True),  # day after Thanksgiving closes at 13:00
        ("2013-11-29 13:00:00", False, False, False),
    ],
)
def test_trading_hours(when, pre, post, allowed):
    eng = make_engine([TradingHours(allow_pre_market=pre, allow_post_market=post)])
    eng.clock.advance_to(ny_ns(when))
    eng.portfolio.update_price("SPY", 100.0)
    order = place(eng, "SPY", BUY, 1)
    assert (order.status is not OrderStatus.DENIED) == allowed, order.reason
    if not allowed:
        assert order.reason.startswith("trading_hours: XNYS is closed at ")
        assert "next session" in order.reason


def test_restricted_symbols():
    rule = r.RestrictedSymbols([])
    eng = make_engine([rule])
    hold(eng, "GME", 10, 20.0, T0)  # bought before the symbol was restricted
    rule.symbols = r.RestrictedSymbols(["gme"]).symbols
    assert reason_of(place(eng, "GME", BUY, 1)) == "restricted_symbols: GME is restricted (list of 1 symbols)"
    assert place(eng, "GME", SELL, 10).status is OrderStatus.ACCEPTED  # closing is allowed
    assert place(eng, "SPY", BUY, 1).status is not OrderStatus.DENIED


def test_restricted_symbol_blocks_even_the_first_order():
    eng = make_engine([r.RestrictedSymbols(["GME"], allow_reducing=False)])
    push_bar(eng, "GME", 20.0, T0)
    assert reason_of(place(eng, "GME", BUY, 1)).startswith("restricted_symbols: GME is restricted")


def test_short_selling_not_allowed_boundary():
    eng = make_engine([r.ShortSelling()])
    hold(eng, "SPY", 100, 100.0, T0)
    assert place(eng, "SPY", SELL, 100).status is OrderStatus.ACCEPTED  # to flat
    assert reason_of(place(eng, "SPY", SELL, 1)) == (
        "short_selling: short selling not allowed; SPY position could reach -1 shares (with open orders), limit 0")


def test_sector_exposure_boundary():
    rule = r.SectorExposure({"AAA": "tech", "BBB": "tech", "CCC": "energy"}, limit=15_000)
    eng = make_engine([rule])
    hold(eng, "AAA", 100, 100.0, T0)  # tech 10,000
    push_bar(eng, "BBB", 100.0, T0 + 5 * MINUTE_NS)
    push_bar(eng, "CCC", 100.0, T0 + 5 * MINUTE_NS)
    assert place(eng, "BBB", BUY, 50).status is OrderStatus.ACCEPTED  # 15,000
    assert reason_of(place(eng, "BBB", BUY, 1)) == "sector_exposure: sector tech exposure could reach 15,100, limit 15,000"
    assert place(eng, "CCC", BUY, 100).status is OrderStatus.ACCEPTED  # energy is separate


def test_correlation_limit_signed_by_direction():
    history = PriceHistory(window=100)
    rng = np.random.default_rng(7)
    a = 100 * np.cumprod(1 + rng.normal(0, 0.01, 60))
    noise = 100 * np.cumprod(1 + rng.normal(0, 0.01, 60))
    for i in range(60):  # BBB moves exactly like AAA (correlation 1), CCC independently
        history.sample({"AAA": a[i], "BBB": a[i] * 2, "CCC": noise[i]}, i)
    rets = history.returns(["AAA", "CCC"])
    independent = float(np.corrcoef(rets[:, 0], rets[:, 1])[0, 1])
    assert abs(independent) < 0.8
    eng = make_engine([CorrelationLimit(0.8, history, window=60, min_observations=20)])
    hold(eng, "AAA", 10, 100.0, T0)
    push_bar(eng, "BBB", 200.0, T0 + 5 * MINUTE_NS)
    push_bar(eng, "CCC", 100.0, T0 + 5 * MINUTE_NS)
    assert reason_of(place(eng, "BBB", BUY, 1)) == (
        "correlation_limit: BBB (long) vs held AAA (long) correlation 1.00 over 59 returns exceeds limit 0.80")
    assert place(eng, "BBB", SELL, 1).status is not OrderStatus.DENIED  # short BBB hedges long AAA
    assert place(eng, "CCC", BUY, 1).status is not OrderStatus.DENIED
    assert not math.isnan(independent)


def test_set_limit_command_changes_a_configured_rule():
    from workbench.model.commands import SetLimit

    eng = make_engine([r.MaxOrderQuantity(100), r.MaxPositionPercentOfEquity(0.5)])
    push_bar(eng, "SPY", 100.0, T0)
    eng.execute(SetLimit(name="max_order_quantity", value=50))
    assert reason_of(place(eng, "SPY", BUY, 51)) == "max_order_quantity: order quantity 51 exceeds limit 50 (SPY)"
    eng.execute(SetLimit(name="max_position_percent_equity", value=0.01))  # 1% of 100,000 = 10 shares at 100
    assert place(eng, "SPY", BUY, 10).status is OrderStatus.ACCEPTED
    assert "limit 1.00%" in reason_of(place(eng, "SPY", BUY, 1))
