"""Order state machine: every legal transition works, every other one raises.

The expected table below is written from the issue's list of statuses and the state table in
``workbench.model.orders``' docstring, not read from the code: for each starting status we drive a
fresh order there with events, then apply one event per target status.
"""

from __future__ import annotations

import itertools

import pytest

from workbench.errors import InvalidStateTransition
from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderStatus, OrderType
from workbench.model.orders import Order

S = OrderStatus
OID = "O-1"
SYM = "SPY"
QTY = 100.0

_fill_seq = itertools.count(1)


def new_order(quantity: float = QTY) -> Order:
    return Order(ev.OrderInitialized(ts_event=1, order_id=OID, symbol=SYM, side=OrderSide.BUY,
                                     order_type=OrderType.LIMIT, quantity=quantity, limit_price=10.0))


def fill(quantity: float, price: float = 10.0, commission: float = 0.0) -> ev.OrderFilled:
    return ev.OrderFilled(ts_event=5, order_id=OID, symbol=SYM, fill_id=f"F-{next(_fill_seq)}", side=OrderSide.BUY,
                          last_quantity=quantity, last_price=price, commission=commission)


def event_to(target: OrderStatus, order: Order) -> ev.OrderEvent:
    """The event that asks ``order`` to move to ``target``."""
    k = {"ts_event": 2, "order_id": OID, "symbol": SYM}
    return {
        S.DENIED: lambda: ev.OrderDenied(**k, reason="test"),
        S.SUBMITTED: lambda: ev.OrderSubmitted(**k),
        S.ACCEPTED: lambda: ev.OrderAccepted(**k, broker_order_id="B-1"),
        S.REJECTED: lambda: ev.OrderRejected(**k, reason="test"),
        S.TRIGGERED: lambda: ev.OrderTriggered(**k),
        S.PENDING_CANCEL: lambda: ev.OrderPendingCancel(**k),
        S.PENDING_REPLACE: lambda: ev.OrderPendingReplace(**k),
        S.PARTIALLY_FILLED: lambda: fill(10.0),
        S.FILLED: lambda: fill(order.leaves_quantity),
        S.CANCELED: lambda: ev.OrderCanceled(**k),
        S.EXPIRED: lambda: ev.OrderExpired(**k),
    }[target]()


# How to reach each starting status from INITIALIZED.
PATHS: dict[OrderStatus, list[OrderStatus]] = {
    S.INITIALIZED: [],
    S.DENIED: [S.DENIED],
    S.SUBMITTED: [S.SUBMITTED],
    S.ACCEPTED: [S.SUBMITTED, S.ACCEPTED],
    S.REJECTED: [S.SUBMITTED, S.REJECTED],
    S.TRIGGERED: [S.SUBMITTED, S.ACCEPTED, S.TRIGGERED],
    S.PENDING_CANCEL: [S.SUBMITTED, S.ACCEPTED, S.PENDING_CANCEL],
    S.PENDING_REPLACE: [S.SUBMITTED, S.ACCEPTED, S.PENDING_REPLACE],
    S.PARTIALLY_FILLED: [S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED],
    S.FILLED: [S.SUBMITTED, S.ACCEPTED, S.FILLED],
    S.CANCELED: [S.SUBMITTED, S.ACCEPTED, S.CANCELED],
    S.EXPIRED: [S.SUBMITTED, S.ACCEPTED, S.EXPIRED],
}

OPEN_EXITS = {S.PENDING_CANCEL, S.PENDING_REPLACE, S.CANCELED, S.EXPIRED, S.PARTIALLY_FILLED, S.FILLED}
LEGAL: dict[OrderStatus, set[OrderStatus]] = {
    S.INITIALIZED: {S.DENIED, S.SUBMITTED, S.CANCELED, S.ACCEPTED},  # ACCEPTED: external orders (NautilusTrader)
    S.SUBMITTED: {S.ACCEPTED, S.REJECTED, S.CANCELED, S.PENDING_CANCEL, S.PARTIALLY_FILLED, S.FILLED, S.EXPIRED},
    S.ACCEPTED: OPEN_EXITS | {S.TRIGGERED, S.ACCEPTED},
    S.TRIGGERED: OPEN_EXITS | {S.TRIGGERED},
    # "back to the status before" on a modify / cancel reject: ACCEPTED, TRIGGERED, PARTIALLY_FILLED
    S.PENDING_REPLACE: {S.ACCEPTED, S.TRIGGERED, S.PENDING_CANCEL, S.CANCELED, S.EXPIRED, S.PARTIALLY_FILLED,
                        S.FILLED},
    # a cancel sent before the broker's answer: the answer may still be a rejection
    S.PENDING_CANCEL: {S.CANCELED, S.PARTIALLY_FILLED, S.FILLED, S.EXPIRED, S.ACCEPTED, S.TRIGGERED, S.REJECTED},
    S.PARTIALLY_FILLED: {S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.CANCELED, S.EXPIRED},
    S.DENIED: set(),
    S.REJECTED: set(),
    S.FILLED: set(),
    S.CANCELED: set(),
    S.EXPIRED: set(),
}


def order_in(status: OrderStatus) -> Order:
    order = new_order()
    for step in PATHS[status]:
        order.apply(event_to(step, order))
    assert order.status is status
    return order


def test_every_status_is_covered() -> None:
    assert set(LEGAL) == set(OrderStatus) == set(PATHS)


CASES = [(a, b) for a in OrderStatus for b in OrderStatus if b is not S.INITIALIZED]


@pytest.mark.parametrize(("start", "target"), CASES, ids=[f"{a.value}->{b.value}" for a, b in CASES])
def test_transition(start: OrderStatus, target: OrderStatus) -> None:
    order = order_in(start)
    event = event_to(target, order)
    n_events = len(order.events)
    if target in LEGAL[start]:
        order.apply(event)
        assert order.status is target
        assert order.events[-1] is event
        assert len(order.events) == n_events + 1
    else:
        # A fill on an order with nothing left (FILLED) is refused as an over-fill (ValueError).
        expected = ValueError if (start is S.FILLED and isinstance(event, ev.OrderFilled)) else InvalidStateTransition
        with pytest.raises(expected):
            order.apply(event)
        assert order.status is start, "a refused event must not change the status"
        assert len(order.events) == n_events


def test_reinitializing_and_foreign_events_raise() -> None:
    order = order_in(S.ACCEPTED)
    with pytest.raises(InvalidStateTransition):
        order.apply(order.initialized_event)
    with pytest.raises(ValueError, match="O-2"):
        order.apply(ev.OrderCanceled(ts_event=3, order_id="O-2", symbol=SYM))


def test_is_open_and_is_closed() -> None:
    assert not order_in(S.INITIALIZED).is_open and not order_in(S.INITIALIZED).is_closed
    for s in (S.SUBMITTED, S.ACCEPTED, S.TRIGGERED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.PARTIALLY_FILLED):
        assert order_in(s).is_open and not order_in(s).is_closed
    for s in (S.DENIED, S.REJECTED, S.FILLED, S.CANCELED, S.EXPIRED):
        assert order_in(s).is_closed and not order_in(s).is_open


# ------------------------------------------------------------------------------------------ fills
def test_partial_fills_average_price_and_commission() -> None:
    order = order_in(S.ACCEPTED)
    order.apply(fill(30.0, price=10.00, commission=1.0))
    assert order.status is S.PARTIALLY_FILLED
    assert order.filled_quantity == 30.0 and order.leaves_quantity == 70.0
    order.apply(fill(50.0, price=10.40, commission=1.5))
    assert order.status is S.PARTIALLY_FILLED
    # (30 * 10.00 + 50 * 10.40) / 80 = 820 / 80 = 10.25
    assert order.avg_fill_price == pytest.approx(10.25)
    order.apply(fill(20.0, price=11.00, commission=0.5))
    assert order.status is S.FILLED
    # (820 + 20 * 11) / 100 = 10.40
    assert order.avg_fill_price == pytest.approx(10.40)
    assert order.filled_quantity == 100.0 and order.leaves_quantity == 0.0
    assert order.commission == pytest.approx(3.0)


@pytest.mark.parametrize("start", [S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.TRIGGERED])
def test_fill_beyond_leaves_raises(start: OrderStatus) -> None:
    order = order_in(start)
    before = (order.status, order.filled_quantity, order.avg_fill_price)
    with pytest.raises(ValueError, match="exceeds leaves"):
        order.apply(fill(order.leaves_quantity + 1.0))
    assert (order.status, order.filled_quantity, order.avg_fill_price) == before


@pytest.mark.parametrize("quantity", [0.0, -5.0])
def test_non_positive_fill_raises(quantity: float) -> None:
    order = order_in(S.ACCEPTED)
    with pytest.raises(ValueError, match="last_quantity"):
        order.apply(fill(quantity))


@pytest.mark.parametrize("quantity", [0.0, -1.0])
def test_non_positive_order_quantity_raises(quantity: float) -> None:
    with pytest.raises(ValueError, match="quantity"):
        new_order(quantity)


# --------------------------------------------------------------------------- pending and returns
def _k() -> dict:
    return {"ts_event": 4, "order_id": OID, "symbol": SYM}


@pytest.mark.parametrize("before", [S.ACCEPTED, S.TRIGGERED, S.PARTIALLY_FILLED])
def test_cancel_rejected_returns_to_status_before(before: OrderStatus) -> None:
    order = order_in(before)
    order.apply(ev.OrderPendingCancel(**_k()))
    order.apply(ev.OrderCancelRejected(**_k(), reason="too late"))
    assert order.status is before
    assert order.reason == "too late"


@pytest.mark.parametrize("before", [S.ACCEPTED, S.TRIGGERED, S.PARTIALLY_FILLED])
def test_modify_returns_to_status_before_with_new_terms(before: OrderStatus) -> None:
    order = order_in(before)
    order.apply(ev.OrderPendingReplace(**_k()))
    order.apply(ev.OrderModified(**_k(), quantity=150.0, limit_price=9.5))
    assert order.status is before
    assert order.quantity == 150.0 and order.limit_price == 9.5


def test_modify_rejected_keeps_old_terms() -> None:
    order = order_in(S.ACCEPTED)
    order.apply(ev.OrderPendingReplace(**_k()))
    order.apply(ev.OrderModifyRejected(**_k(), reason="no"))
    assert order.status is S.ACCEPTED and order.quantity == QTY and order.limit_price == 10.0


def test_fill_while_replace_pending_then_modified_stays_partially_filled() -> None:
    """A partial fill that arrives before the modify acknowledgement must not be undone."""
    order = order_in(S.ACCEPTED)
    order.apply(ev.OrderPendingReplace(**_k()))
    order.apply(fill(40.0))
    assert order.status is S.PARTIALLY_FILLED
    order.apply(ev.OrderModified(**_k(), quantity=120.0))
    assert order.status is S.PARTIALLY_FILLED
    assert order.quantity == 120.0 and order.leaves_quantity == 80.0


@pytest.mark.parametrize("status", [S.ACCEPTED, S.TRIGGERED, S.PARTIALLY_FILLED])
def test_unsolicited_modification_keeps_status(status: OrderStatus) -> None:
    """A broker may change an order on its own (an OCO sibling shrunk after a partial fill)."""
    order = order_in(status)
    order.apply(ev.OrderModified(**_k(), quantity=60.0))
    assert order.status is status and order.quantity == 60.0


@pytest.mark.parametrize("status", [S.FILLED, S.CANCELED, S.EXPIRED, S.REJECTED, S.DENIED])
def test_modification_of_closed_order_raises(status: OrderStatus) -> None:
    order = order_in(status)
    with pytest.raises(InvalidStateTransition):
        order.apply(ev.OrderModified(**_k(), quantity=60.0))
    assert order.status is status


def test_cancel_while_pending_cancel_fill_then_cancel() -> None:
    order = order_in(S.ACCEPTED)
    order.apply(ev.OrderPendingCancel(**_k()))
    order.apply(fill(25.0, price=10.0))
    assert order.status is S.PARTIALLY_FILLED
    order.apply(ev.OrderCanceled(**_k()))
    assert order.status is S.CANCELED and order.filled_quantity == 25.0


def test_unsolicited_modification_during_pending_cancel_keeps_the_way_back() -> None:
    order = order_in(S.PARTIALLY_FILLED)
    order.apply(ev.OrderPendingCancel(**_k()))
    order.apply(ev.OrderModified(**_k(), quantity=50.0))
    assert order.status is S.PENDING_CANCEL
    order.apply(ev.OrderCancelRejected(**_k(), reason="too late"))
    assert order.status is S.PARTIALLY_FILLED
