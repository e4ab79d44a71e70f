"""Bracket, OCO and OTO orders through the engine and the simulated broker, hand-worked."""

from __future__ import annotations

import pytest

from workbench.brokers.fills import FillModel
from workbench.model import events as ev
from workbench.model.enums import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce

BUY, SELL = OrderSide.BUY, OrderSide.SELL
S = OrderStatus


def statuses(strategy) -> list[OrderStatus]:
    return [o.status for o in strategy.engine.orders.values()]


# ---------------------------------------------------------------------------------------- bracket
def test_bracket_arms_exits_on_entry_fill_and_take_profit_cancels_stop_loss(trading) -> None:
    b = trading.bar
    data = [
        b(0, 100, 100.5, 99.5, 100),
        b(1, 100, 101, 99.5, 100.5),  # entry fills at the open, 100
        b(2, 100.5, 111, 100, 110.5),  # trades through the take-profit at 110
        b(3, 110, 110.5, 90, 91),  # would have hit the stop-loss: it is gone
    ]
    seen: dict[int, list[OrderStatus]] = {}
    r = trading.run(data, {
        0: lambda s, d: (s.bracket("SPY", BUY, 100, take_profit=110, stop_loss=95), seen.update({0: statuses(s)})),
        1: lambda s, d: seen.update({1: statuses(s)}),
    })
    # broker answers are handled after the strategy's callback returns: the entry is still SUBMITTED
    assert seen[0] == [S.SUBMITTED, S.INITIALIZED, S.INITIALIZED]
    assert seen[1] == [S.FILLED, S.ACCEPTED, S.ACCEPTED]
    entry, tp, sl = trading.orders(r)
    assert (entry.order_type, tp.order_type, sl.order_type) == (OrderType.MARKET, OrderType.LIMIT, OrderType.STOP)
    assert tp.side is SELL and sl.side is SELL and tp.reduce_only and sl.reduce_only
    assert (entry.status, tp.status, sl.status) == (S.FILLED, S.FILLED, S.CANCELED)
    fills = trading.fills(r)
    assert [(f.order_id, f.last_price) for f in fills] == [(entry.order_id, 100.0), (tp.order_id, 110.0)]
    assert fills[1].liquidity_side is LiquiditySide.MAKER
    assert r.engine.portfolio.quantity("SPY") == 0
    assert r.engine.portfolio.cash == pytest.approx(100_000 + 100 * 10)


def test_bracket_stop_loss_assumed_first_when_both_exits_are_touched(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 101, 99.5, 100.5), b(2, 100.5, 111, 94, 100)]
    r = trading.run(data, {0: lambda s, d: s.bracket("SPY", BUY, 100, take_profit=110, stop_loss=95)})
    _entry, tp, sl = trading.orders(r)
    assert (sl.status, tp.status) == (S.FILLED, S.CANCELED)
    assert [f.last_price for f in trading.fills(r, sl.order_id)] == [95.0]
    assert trading.fills(r, tp.order_id) == []
    assert r.engine.portfolio.cash == pytest.approx(100_000 - 100 * 5)


def test_short_bracket(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 101, 99.5, 100.5), b(2, 99, 99.5, 89, 90)]
    r = trading.run(data, {0: lambda s, d: s.bracket("SPY", SELL, 100, take_profit=90, stop_loss=105)})
    _entry, tp, sl = trading.orders(r)
    assert tp.side is BUY and sl.side is BUY
    assert (tp.status, sl.status) == (S.FILLED, S.CANCELED)
    assert r.engine.portfolio.cash == pytest.approx(100_000 + 100 * 10)


def test_bracket_entry_canceled_without_fill_cancels_children(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 101, 99.5, 100.5), b(2, 100, 101, 80, 100.5)]
    r = trading.run(data, {
        0: lambda s, d: s.bracket("SPY", BUY, 100, take_profit=110, stop_loss=85, entry_price=90),
        1: lambda s, d: s.cancel("O-000001"),
    })
    entry, tp, sl = trading.orders(r)
    assert (entry.status, tp.status, sl.status) == (S.CANCELED, S.CANCELED, S.CANCELED)
    assert trading.fills(r) == []
    assert all("parent" in o.reason for o in (tp, sl))
    # children never reached the broker
    assert not any(isinstance(e, ev.OrderSubmitted) and e.order_id in (tp.order_id, sl.order_id)
                   for e in r.engine.events)


def test_bracket_entry_rejected_cancels_children(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 101, 99.5, 100.5)]
    r = trading.run(data, {0: lambda s, d: s.bracket("SPY", BUY, 100, take_profit=110, stop_loss=95)},
                    starting_cash=1_000)
    entry, tp, sl = trading.orders(r)
    assert entry.status is S.REJECTED
    assert (tp.status, sl.status) == (S.CANCELED, S.CANCELED)


def test_bracket_partial_entry_arms_exits_for_the_filled_quantity(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100, volume=10_000), b(1, 100, 101, 99.5, 100.5, volume=600),
            b(2, 100.5, 112, 100, 111, volume=10_000)]
    r = trading.run(data, {0: lambda s, d: s.bracket("SPY", BUY, 100, take_profit=110, stop_loss=95,
                                                     time_in_force=TimeInForce.IOC)},
                    fill_model=FillModel(max_volume_participation=0.1))
    entry, tp, sl = trading.orders(r)
    assert entry.status is S.CANCELED and entry.filled_quantity == 60
    assert tp.quantity == 60 and sl.quantity == 60
    assert (tp.status, sl.status) == (S.FILLED, S.CANCELED)
    assert r.engine.portfolio.quantity("SPY") == 0


def test_bracket_with_exits_on_the_wrong_sides_raises(trading) -> None:
    errors: list[str] = []

    def attempt(s, d) -> None:
        try:
            s.bracket("SPY", BUY, 100, take_profit=95, stop_loss=110)
        except ValueError as exc:
            errors.append(str(exc))

    r = trading.run([trading.bar(0, 100, 100.5, 99.5, 100)], {0: attempt})
    assert len(errors) == 1 and "wrong sides" in errors[0]
    assert trading.orders(r) == []


# -------------------------------------------------------------------------------------------- OCO
def _long_then_oco(s, d) -> None:
    s.oco("SPY", SELL, 100, limit_price=110, stop_price=95)


def test_oco_limit_fill_cancels_stop(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 101, 99.5, 100.5), b(2, 100.5, 112, 99, 111),
            b(3, 100, 100, 90, 91)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100), 1: _long_then_oco})
    _, limit, stop = trading.orders(r)
    assert (limit.status, stop.status) == (S.FILLED, S.CANCELED)
    assert r.engine.portfolio.quantity("SPY") == 0


def test_oco_partial_fills_shrink_the_sibling_to_the_remaining_quantity(trading) -> None:
    b = trading.bar
    data = [
        b(0, 100, 100.5, 99.5, 100, volume=100_000),
        b(1, 100, 101, 99.5, 100.5, volume=100_000),  # long 100 at 100
        b(2, 100, 100.5, 94, 96, volume=500),  # stop 95 fills 50 (10% of 500): limit shrinks to 50
        b(3, 100, 112, 100, 111, volume=300),  # limit fills 30: 20 left to exit, so the stop keeps 20 leaves
        b(4, 99, 99.5, 94, 95, volume=100_000),  # stop fills its last 20: limit canceled
    ]
    snapshots: list[tuple] = []

    def snap(s, d) -> None:
        _, limit, stop = s.engine.orders.values()
        snapshots.append((limit.quantity, limit.filled_quantity, stop.quantity, stop.filled_quantity))

    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100), 1: _long_then_oco, 2: snap, 3: snap},
                    fill_model=FillModel(max_volume_participation=0.1))
    assert snapshots == [(50.0, 0.0, 100.0, 50.0), (50.0, 30.0, 70.0, 50.0)]
    _, limit, stop = trading.orders(r)
    assert (limit.status, stop.status) == (S.CANCELED, S.FILLED)
    assert limit.filled_quantity + stop.filled_quantity == 100
    assert r.engine.portfolio.quantity("SPY") == 0
    assert r.engine.broker.positions["SPY"][0] == 0


# -------------------------------------------------------------------------------------------- OTO
def _oto(s, d, parent_type: OrderType = OrderType.MARKET) -> None:
    eng = s.engine
    limit = 90.0 if parent_type is OrderType.LIMIT else None
    parent = eng.create_order("SPY", BUY, 100, parent_type, limit_price=limit, strategy_id=s.strategy_id)
    child = eng.create_order("SPY", SELL, 100, OrderType.LIMIT, limit_price=110, strategy_id=s.strategy_id)
    s.oto(parent, child)


def test_oto_child_is_submitted_when_the_parent_fills(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 101, 99.5, 100.5), b(2, 100.5, 112, 100, 111)]
    seen: list = []
    r = trading.run(data, {0: lambda s, d: (_oto(s, d), seen.append(statuses(s))),
                           1: lambda s, d: seen.append(statuses(s))})
    assert seen == [[S.SUBMITTED, S.INITIALIZED], [S.FILLED, S.ACCEPTED]]
    _parent, child = trading.orders(r)
    assert child.status is S.FILLED and child.avg_fill_price == 110.0
    assert r.engine.portfolio.cash == pytest.approx(100_000 + 1_000)


def test_oto_child_canceled_with_unfilled_parent(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 101, 99.5, 100.5)]
    r = trading.run(data, {0: lambda s, d: _oto(s, d, OrderType.LIMIT), 1: lambda s, d: s.cancel("O-000001")})
    parent, child = trading.orders(r)
    assert (parent.status, child.status) == (S.CANCELED, S.CANCELED)


def test_bracket_take_profit_gapped_through_at_the_open_fills_first(trading) -> None:
    """The open comes before anything inside the bar: a gap through the take-profit is not ambiguous."""
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 101, 99.5, 100.5), b(2, 112, 113, 94, 100)]
    r = trading.run(data, {0: lambda s, d: s.bracket("SPY", BUY, 100, take_profit=110, stop_loss=95)})
    _entry, tp, sl = trading.orders(r)
    assert (tp.status, sl.status) == (S.FILLED, S.CANCELED)
    assert tp.avg_fill_price == 112.0  # first look at the exit: marketable at the open
    assert r.engine.portfolio.cash == pytest.approx(100_000 + 100 * 12)
