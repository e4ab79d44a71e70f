"""Strategy order helpers: target quantity/percent, close, flatten, modify, cancel; hand-worked."""

from __future__ import annotations

import pytest

from workbench.model.enums import OrderSide, OrderStatus, OrderType

S = OrderStatus


def test_order_target_quantity_nets_position_and_open_orders(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 101.5, 100.5, 101), b(2, 102, 102.5, 101.5, 102)]
    returned: list = []
    r = trading.run(data, {
        0: lambda s, d: returned.extend([s.order_target_quantity("SPY", 100), s.order_target_quantity("SPY", 100)]),
        1: lambda s, d: returned.append(s.order_target_quantity("SPY", -50)),
    })
    first, second, third = returned
    assert second is None  # the open buy of 100 already gets there
    assert (first.side, first.quantity) == (OrderSide.BUY, 100)
    assert (third.side, third.quantity) == (OrderSide.SELL, 150)
    assert r.engine.portfolio.quantity("SPY") == -50


def test_order_target_percent_sizes_from_equity_and_price(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 101.5, 100.5, 101)]
    r = trading.run(data, {0: lambda s, d: s.order_target_percent("SPY", 0.5)})
    # 50% of 100,000 at the last price 100 = 500 shares
    assert trading.orders(r)[0].quantity == 500
    r = trading.run(data, {0: lambda s, d: s.order_target_percent("SPY", -0.25, price=80.0)})
    order = trading.orders(r)[0]
    assert (order.side, order.quantity) == (OrderSide.SELL, 312)  # 25,000 / 80 = 312.5 -> 312 lots


def test_close_position_cancels_orders_and_sells_everything(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 101.5, 100.5, 101), b(2, 102, 102.5, 101.5, 102),
            b(3, 103, 103.5, 102.5, 103)]
    r = trading.run(data, {
        0: lambda s, d: s.buy("SPY", 70),
        1: lambda s, d: s.sell("SPY", 20, limit_price=150),
        2: lambda s, d: s.close_position("SPY"),
    })
    _buy, resting, close = trading.orders(r)
    assert resting.status is S.CANCELED
    assert (close.side, close.quantity, close.reduce_only, close.status) == (OrderSide.SELL, 70, True, S.FILLED)
    assert close.avg_fill_price == 103.0
    assert r.engine.portfolio.quantity("SPY") == 0
    assert r.engine.portfolio.cash == pytest.approx(100_000 + 70 * (103 - 101))


def test_flatten_closes_every_symbol(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(0, 50, 50.5, 49.5, 50, symbol="QQQ"),
            b(1, 101, 101.5, 100.5, 101), b(1, 51, 51.5, 50.5, 51, symbol="QQQ"),
            b(2, 102, 102.5, 101.5, 102), b(2, 52, 52.5, 51.5, 52, symbol="QQQ")]
    r = trading.run(data, {1: lambda s, d: (s.buy("SPY", 10), s.sell("QQQ", 20)), 3: lambda s, d: s.flatten()})
    pf = r.engine.portfolio
    assert pf.quantity("SPY") == 0 and pf.quantity("QQQ") == 0
    # SPY +10 at 101, -10 at 102; QQQ -20 at 51, +20 at 52
    assert pf.cash == pytest.approx(100_000 + 10 - 20)


def test_modify_moves_a_resting_limit(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.8, 100.2), b(2, 100.3, 100.6, 99.9, 100.4)]
    r = trading.run(data, {
        0: lambda s, d: s.buy("SPY", 100, limit_price=99),
        1: lambda s, d: s.modify("O-000001", limit_price=100.0, quantity=60),
    })
    order = trading.orders(r)[0]
    assert order.status is S.FILLED
    assert (order.quantity, order.limit_price, order.avg_fill_price) == (60, 100.0, 100.0)


def test_cancel_of_a_working_order(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.8, 100.2), b(2, 98, 98.5, 97, 98)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99), 1: lambda s, d: s.cancel("O-000001")})
    order = trading.orders(r)[0]
    assert order.status is S.CANCELED and trading.fills(r) == []
    assert [type(e).__name__ for e in order.events] == [
        "OrderInitialized", "OrderSubmitted", "OrderAccepted", "OrderPendingCancel", "OrderCanceled"]


def test_buy_and_sell_infer_the_order_type(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100)]
    r = trading.run(data, {0: lambda s, d: (
        s.buy("SPY", 1), s.buy("SPY", 1, limit_price=90), s.sell("SPY", 1, stop_price=80),
        s.sell("SPY", 1, stop_price=80, limit_price=79), s.sell("SPY", 1, trailing_offset=1.0),
    )})
    assert [o.order_type for o in trading.orders(r)] == [
        OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP]


def test_modify_and_cancel_before_the_broker_acknowledged(trading) -> None:
    """Inside one callback the broker's answers are not in yet: modify/cancel must still work."""
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.8, 100.2), b(2, 100.3, 100.6, 99.9, 100.4)]

    def place_and_change(s, d) -> None:
        order = s.buy("SPY", 100, limit_price=99)
        s.modify(order, limit_price=100.0)
        s.modify(order, quantity=40)
        other = s.buy("SPY", 10, limit_price=50)
        s.cancel(other)
        s.modify(other, limit_price=51)  # cancel pending: ignored

    r = trading.run(data, {0: place_and_change})
    order, other = trading.orders(r)
    assert (order.status, order.quantity, order.limit_price, order.avg_fill_price) == (S.FILLED, 40, 100.0, 100.0)
    assert other.status is S.CANCELED
