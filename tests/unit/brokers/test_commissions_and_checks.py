"""Commission models, the shorting switch and the buying-power check, hand-worked."""

from __future__ import annotations

import pytest

from workbench.brokers.fills import FillModel, PercentCommission, PerShareCommission, SlippageModel, ZeroCommission
from workbench.model.enums import OrderSide, OrderStatus, OrderType


# ------------------------------------------------------------------------------------ commissions
@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        (100, 100.0, 1.00),  # 100 * 0.005 = 0.50 -> minimum 1.00
        (300, 50.0, 1.50),  # 300 * 0.005
        (1_000, 100.0, 5.00),
        (1_000, 0.05, 0.50),  # 5.00 capped at 1% of 50.00 notional
        (10, 5.0, 0.50),  # minimum 1.00 capped at 1% of 50.00
    ],
)
def test_per_share_commission_minimum_and_cap(quantity, price, expected) -> None:
    assert PerShareCommission(rate=0.005, minimum=1.0, maximum_pct=1.0).commission(quantity, price) == pytest.approx(
        expected
    )


def test_per_share_commission_without_cap_and_with_multiplier() -> None:
    assert PerShareCommission(maximum_pct=None).commission(1_000, 0.05) == pytest.approx(5.0)
    # cap is 1% of notional including the multiplier: 2 * 10 * 100 = 2000 -> 20.00 cap, fee min 1.00
    assert PerShareCommission(rate=0.65, minimum=1.0, maximum_pct=1.0).commission(2, 10.0, 100.0) == pytest.approx(1.30)


@pytest.mark.parametrize(
    ("model", "quantity", "price", "expected"),
    [
        (PercentCommission(bps=10), 100, 101.0, 10.10),  # 10100 * 0.001
        (PercentCommission(bps=10, minimum=15.0), 100, 101.0, 15.0),
        (PercentCommission(bps=2.5), 400, 50.0, 5.0),  # 20000 * 0.00025
        (ZeroCommission(), 1_000, 100.0, 0.0),
    ],
)
def test_percent_and_zero_commission(model, quantity, price, expected) -> None:
    assert model.commission(quantity, price) == pytest.approx(expected)


def test_commission_flows_to_fill_order_position_and_cash(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 102, 100.5, 101.5), b(2, 102, 103, 101.5, 102),
            b(3, 103, 104, 102.5, 103)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 500), 1: lambda s, d: s.sell("SPY", 500)},
                    commission=PerShareCommission(rate=0.005, minimum=1.0, maximum_pct=1.0))
    buy, sell = trading.fills(r)
    assert (buy.last_price, buy.commission) == (101.0, pytest.approx(2.5))
    assert (sell.last_price, sell.commission) == (102.0, pytest.approx(2.5))
    pf = r.engine.portfolio
    assert pf.ledger.commissions == pytest.approx(5.0)
    # 100000 - 500 * 101 + 500 * 102 - 5
    assert pf.cash == pytest.approx(100_495.0)
    assert pf.equity == pytest.approx(100_495.0)
    assert pf.realized_pnl == pytest.approx(495.0)
    assert [o.commission for o in trading.orders(r)] == [pytest.approx(2.5), pytest.approx(2.5)]
    assert r.engine.broker.cash == pytest.approx(100_495.0)
    assert r.trades["pnl"].tolist() == [pytest.approx(495.0)]


def test_percent_commission_on_a_slipped_fill(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 102, 100.5, 101.5)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100)}, commission=PercentCommission(bps=10),
                    fill_model=FillModel(slippage=SlippageModel(ticks=1)))
    [fill] = trading.fills(r)
    assert fill.last_price == pytest.approx(101.01)
    assert fill.commission == pytest.approx(10.101)  # 100 * 101.01 * 10 bps
    assert r.engine.portfolio.cash == pytest.approx(100_000 - 10_101 - 10.101)


# --------------------------------------------------------------------------------------- shorting
def test_shorting_disallowed_rejects_opening_sells(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 102, 100.5, 101.5), b(2, 102, 103, 101.5, 102),
            b(3, 103, 104, 102.5, 103)]
    r = trading.run(data, {
        0: lambda s, d: s.sell("SPY", 100),  # flat: would open a short
        1: lambda s, d: s.buy("SPY", 100),
        2: lambda s, d: (s.sell("SPY", 150), s.sell("SPY", 100)),  # long 100: 150 would flip short; 100 closes
    }, allow_short=False)
    first, buy, too_big, close = trading.orders(r)
    assert first.status is OrderStatus.REJECTED and "short" in first.reason
    assert too_big.status is OrderStatus.REJECTED and "short" in too_big.reason
    assert buy.status is OrderStatus.FILLED and close.status is OrderStatus.FILLED
    assert r.engine.portfolio.quantity("SPY") == 0.0


def test_shorting_disallowed_counts_working_sells(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 102, 100.5, 101.5), b(2, 101, 101.5, 100.5, 101)]

    def sell_twice(s, d) -> None:
        s.sell("SPY", 100, limit_price=110)  # rests
        s.sell("SPY", 100, limit_price=111)  # together with the first, would go short

    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100), 1: sell_twice}, allow_short=False)
    _, resting, second = trading.orders(r)
    assert resting.status is OrderStatus.ACCEPTED
    assert second.status is OrderStatus.REJECTED


def test_shorting_allowed_by_default(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 102, 100.5, 101.5), b(2, 99, 99.5, 98, 98.5)]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100)})
    pos = r.engine.portfolio.position("SPY")
    assert pos.quantity == -100 and pos.avg_price == 101.0
    assert r.engine.portfolio.equity == pytest.approx(100_000 + 100 * (101 - 98.5))


# ----------------------------------------------------------------------------------- buying power
def test_buying_power_rejects_an_order_larger_than_cash(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.5, 100)]
    r = trading.run(data, {0: lambda s, d: (s.buy("SPY", 200), s.buy("SPY", 50))}, starting_cash=10_000)
    big, small = trading.orders(r)
    assert big.status is OrderStatus.REJECTED and "buying power" in big.reason
    assert small.status is OrderStatus.FILLED


def test_buying_power_scales_with_leverage(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.5, 100)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 150)}, starting_cash=10_000, leverage=2.0)
    assert trading.orders(r)[0].status is OrderStatus.FILLED
    assert r.engine.portfolio.cash == pytest.approx(10_000 - 15_000)


def test_buying_power_reserves_working_orders(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.5, 100)]
    # 60 shares resting at 99 reserve 60 * 100 (marked at the last close) = 6000 of 10000; 50 more need 5000
    r = trading.run(data, {0: lambda s, d: (s.buy("SPY", 60, limit_price=99), s.buy("SPY", 50))},
                    starting_cash=10_000)
    resting, market = trading.orders(r)
    assert resting.status is OrderStatus.ACCEPTED
    assert market.status is OrderStatus.REJECTED and "buying power" in market.reason


def test_buying_power_check_can_be_switched_off(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.5, 100)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 200)}, starting_cash=10_000, check_buying_power=False)
    assert trading.orders(r)[0].status is OrderStatus.FILLED


# ------------------------------------------------------------------------------------ validation
def test_limit_order_without_price_is_rejected_with_the_field_named(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.5, 100)]
    r = trading.run(data, {0: lambda s, d: s.order("SPY", OrderSide.BUY, 10, OrderType.LIMIT)})
    order = trading.orders(r)[0]
    assert order.status is OrderStatus.REJECTED and "limit_price" in order.reason


def test_non_positive_price_or_zero_quantity_raise_at_creation(trading) -> None:
    b = trading.bar
    errors: list[str] = []

    def attempt(s, d) -> None:
        for kwargs in ({"limit_price": -1.0}, {"stop_price": 0.0}):
            try:
                s.buy("SPY", 10, **kwargs)
            except ValueError as exc:
                errors.append(str(exc))
        try:
            s.buy("SPY", 0.4)  # rounds to 0 lots
        except ValueError as exc:
            errors.append(str(exc))

    trading.run([b(0, 100, 100.5, 99.5, 100)], {0: attempt})
    assert len(errors) == 3
    assert "limit_price" in errors[0] and "stop_price" in errors[1] and "lots" in errors[2]
