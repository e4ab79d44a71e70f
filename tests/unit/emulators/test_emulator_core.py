"""The broker-agnostic emulator core: matching by SimulatedBroker, order records, legs, faults.

Expected values are worked by hand from the fill rules documented in
:mod:`workbench.brokers.fills` (a market order fills at the touch of the next quote; a resting
limit fills at its limit when the market trades through it).
"""

from __future__ import annotations

import pytest

from workbench.emulators.core import EmulatorCore, FaultRegistry, OrderRefused, OrderRequest
from workbench.feeds.stream import MarketDataStream
from workbench.model.enums import ContingencyType, OrderSide, OrderStatus, OrderType, TimeInForce


@pytest.fixture
def core(trading):
    quotes = [trading.quote(i, 100.0 + i, 100.02 + i) for i in range(10)]
    c = EmulatorCore(MarketDataStream(quotes), speed=None, regular=False)
    c.items = quotes
    return c


def _updates(account):
    return [(u.kind, u.order.order_id) for u in account.updates]


def test_market_order_fills_at_the_next_quote_with_the_execution_s_own_quantity(core) -> None:
    acct = core.add_account("k", "s")
    seen: list = []
    core.order_listeners.append(lambda a, u: seen.append(u))
    core.publish(core.items[0])
    order = core.submit(acct, OrderRequest("SPY", OrderSide.BUY, 10, client_order_id="O-1"))
    assert order.status is OrderStatus.ACCEPTED and order.created_ns == core.items[0].ts_init
    core.publish(core.items[1])
    assert [u.kind for u in seen] == ["new", "fill"]
    fill = seen[1]
    assert (fill.quantity, fill.price, fill.position_quantity) == (10, 101.02, 10)
    assert order.filled_quantity == 10 and order.avg_fill_price == 101.02
    assert acct.broker.cash == pytest.approx(100_000 - 1010.2)
    assert acct.by_client_id["O-1"] == order.order_id


def test_client_order_id_stays_unique_after_cancel(core) -> None:
    """alpaca-py #260: a client_order_id cannot be reused, even after the order was canceled."""
    acct = core.add_account("k", "s")
    core.publish(core.items[0])
    order = core.submit(acct, OrderRequest("SPY", OrderSide.BUY, 1, OrderType.LIMIT, limit_price=50.0,
                                           client_order_id="dup"))
    core.cancel(acct, order.order_id)
    assert order.status is OrderStatus.CANCELED and order.canceled_ns
    with pytest.raises(OrderRefused) as info:
        core.submit(acct, OrderRequest("SPY", OrderSide.BUY, 1, client_order_id="dup"))
    assert info.value.status == 422
    with pytest.raises(OrderRefused) as again:
        core.cancel(acct, order.order_id)
    assert again.value.status == 422
    with pytest.raises(OrderRefused) as unknown:
        core.cancel(acct, "nope")
    assert unknown.value.status == 404


def test_insufficient_buying_power_is_a_403(core) -> None:
    acct = core.add_account("k", "s", starting_cash=1_000.0)
    core.publish(core.items[0])
    with pytest.raises(OrderRefused) as info:
        core.submit(acct, OrderRequest("SPY", OrderSide.BUY, 100))
    assert info.value.status == 403 and "buying power" in info.value.reason


def test_bracket_legs_are_held_until_the_parent_fills_then_one_cancels_the_other(core, trading) -> None:
    acct = core.add_account("k", "s")
    core.publish(core.items[0])
    parent = core.submit(acct, OrderRequest(
        "SPY", OrderSide.BUY, 5, contingency=ContingencyType.OTO, time_in_force=TimeInForce.GTC,
        legs=[OrderRequest("SPY", OrderSide.SELL, 5, OrderType.LIMIT, TimeInForce.GTC, limit_price=104.0),
              OrderRequest("SPY", OrderSide.SELL, 5, OrderType.STOP, TimeInForce.GTC, stop_price=90.0)]))
    take, stop = (acct.orders[i] for i in parent.leg_ids)
    assert take.held and stop.held
    core.publish(core.items[1])  # parent fills at 101.02; legs go live
    assert parent.status is OrderStatus.FILLED and not take.held and take.status is OrderStatus.ACCEPTED
    for q in core.items[2:6]:  # bid reaches 104.0 at item 4: the take-profit fills, the stop is canceled
        core.publish(q)
    assert take.status is OrderStatus.FILLED and stop.status is OrderStatus.CANCELED
    assert acct.position("SPY") == 0


def test_replace_ends_the_old_order_replaced_and_links_both(core) -> None:
    acct = core.add_account("k", "s")
    core.publish(core.items[0])
    old = core.submit(acct, OrderRequest("SPY", OrderSide.BUY, 3, OrderType.LIMIT, limit_price=50.0))
    new = core.replace(acct, old.order_id, quantity=4, limit_price=51.0)
    assert (old.replaced_by, new.replaces) == (new.order_id, old.order_id)
    assert [k for k, _ in _updates(acct)] == ["new", "replaced", "new"]
    assert new.quantity == 4 and new.limit_price == 51.0 and not old.is_open


def test_reject_next_order_fault_is_used_once(core) -> None:
    acct = core.add_account("k", "s")
    core.faults.arm("reject_next_order", reason="halted")
    with pytest.raises(OrderRefused, match="halted"):
        core.submit(acct, OrderRequest("SPY", OrderSide.BUY, 1))
    core.submit(acct, OrderRequest("SPY", OrderSide.BUY, 1))
    assert core.faults.fired == [("reject_next_order", {"reason": "halted"})]


def test_fault_specs_and_unknown_names() -> None:
    faults = FaultRegistry()
    f = faults.arm_spec("drop_stream:stream=trading,after=5,count=2")
    assert (f.params, f.remaining) == ({"stream": "trading", "after": 5}, 2)
    assert faults.peek("drop_stream", "data") is None
    assert faults.take("drop_stream", "trading") is f and faults.take("drop_stream", "trading") is f
    assert faults.take("drop_stream", "trading") is None
    with pytest.raises(ValueError, match="unknown fault 'explode'"):
        faults.arm("explode")
    with pytest.raises(ValueError, match="key=value"):
        faults.arm_spec("delay:oops")


def test_authentication_compares_key_and_secret(core) -> None:
    acct = core.add_account("key", "secret")
    assert core.authenticate("key", "secret") is acct
    assert core.authenticate("key", "wrong") is None and core.authenticate(None, None) is None
