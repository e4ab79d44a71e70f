"""Orders and their state machine.

An :class:`Order` is mutated only by :meth:`Order.apply`, which takes an order event and moves the
order to its next status. A transition the table below does not list raises
:class:`~workbench.errors.InvalidStateTransition`.

State table (``from -> allowed to``)::

    INITIALIZED      -> DENIED, SUBMITTED, CANCELED, ACCEPTED (an external order, reported by the
                        broker: NautilusTrader's FSM has the same transition for them)
    SUBMITTED        -> ACCEPTED, REJECTED, CANCELED, PENDING_CANCEL, PARTIALLY_FILLED, FILLED, EXPIRED
    ACCEPTED         -> TRIGGERED, PENDING_CANCEL, PENDING_REPLACE, CANCELED, EXPIRED,
                        PARTIALLY_FILLED, FILLED, ACCEPTED (modified)
    TRIGGERED        -> PENDING_CANCEL, PENDING_REPLACE, CANCELED, EXPIRED, PARTIALLY_FILLED, FILLED, TRIGGERED
    PENDING_REPLACE  -> ACCEPTED/TRIGGERED/PARTIALLY_FILLED (modified or modify rejected: back to
                        the status before), PENDING_CANCEL, CANCELED, EXPIRED, PARTIALLY_FILLED, FILLED
    PENDING_CANCEL   -> CANCELED, PARTIALLY_FILLED, FILLED, EXPIRED, (cancel rejected: back to before),
                        REJECTED (the broker refused the order before the cancel request reached it)
    PARTIALLY_FILLED -> PARTIALLY_FILLED, FILLED, PENDING_CANCEL, PENDING_REPLACE, CANCELED, EXPIRED
    DENIED, REJECTED, FILLED, CANCELED, EXPIRED: terminal

An ``OrderModified`` that arrives when no replace is pending (the broker shrank an OCO sibling, or
a fill came in while the replace was pending) changes the terms and leaves the status as it is.
An ``OrderUpdated`` (the engine resized an order it still holds, e.g. a bracket exit) changes the
terms of an INITIALIZED order and leaves its status as it is.
"""

from __future__ import annotations

from workbench.errors import InvalidStateTransition
from workbench.model import events as ev
from workbench.model.enums import (
    ContingencyType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)

S = OrderStatus

_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.INITIALIZED: frozenset({S.DENIED, S.SUBMITTED, S.CANCELED, S.ACCEPTED}),
    S.SUBMITTED: frozenset(
        {S.ACCEPTED, S.REJECTED, S.CANCELED, S.PENDING_CANCEL, S.PARTIALLY_FILLED, S.FILLED, S.EXPIRED}
    ),
    S.ACCEPTED: frozenset(
        {
            S.TRIGGERED,
            S.PENDING_CANCEL,
            S.PENDING_REPLACE,
            S.CANCELED,
            S.EXPIRED,
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.ACCEPTED,
        }
    ),
    S.TRIGGERED: frozenset(
        {S.PENDING_CANCEL, S.PENDING_REPLACE, S.CANCELED, S.EXPIRED, S.PARTIALLY_FILLED, S.FILLED, S.TRIGGERED}
    ),
    S.PENDING_REPLACE: frozenset(
        {
            S.ACCEPTED,
            S.TRIGGERED,
            S.PENDING_CANCEL,
            S.CANCELED,
            S.EXPIRED,
            S.PARTIALLY_FILLED,
            S.FILLED,
        }
    ),
    S.PENDING_CANCEL: frozenset(
        {S.CANCELED, S.PARTIALLY_FILLED, S.FILLED, S.EXPIRED, S.ACCEPTED, S.TRIGGERED, S.REJECTED}
    ),
    S.PARTIALLY_FILLED: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.CANCELED, S.EXPIRED}
    ),
    S.DENIED: frozenset(),
    S.REJECTED: frozenset(),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.EXPIRED: frozenset(),
}

_EPS = 1e-9
# statuses in which a broker-initiated OrderModified (no pending replace) leaves the status unchanged
_MODIFIABLE = frozenset({S.SUBMITTED, S.ACCEPTED, S.TRIGGERED, S.PARTIALLY_FILLED, S.PENDING_CANCEL})


class Order:
    """An order and its fill state.

    Quantities are in shares (or contracts/units), always positive; ``side`` gives the
    direction. Prices are in the instrument's currency. ``expire_time_ns`` (GTD, or the session
    close for DAY orders once accepted) is ns since epoch UTC.

    Create orders through :class:`~workbench.engine.strategy.Strategy` helpers or
    :meth:`Order.from_initialized`; change them only through :meth:`apply`.
    """

    __slots__ = (
        "_status_before_pending",
        "avg_fill_price",
        "broker_order_id",
        "commission",
        "contingency",
        "events",
        "expire_time_ns",
        "filled_quantity",
        "is_triggered",
        "limit_price",
        "linked_order_ids",
        "order_id",
        "order_type",
        "parent_order_id",
        "quantity",
        "reason",
        "reduce_only",
        "side",
        "status",
        "stop_price",
        "strategy_id",
        "symbol",
        "tag",
        "time_in_force",
        "trailing_offset",
        "trailing_offset_type",
        "trigger_price_seen",
        "ts_init",
        "ts_last",
    )

    def __init__(self, init: ev.OrderInitialized) -> None:
        if not init.quantity > 0:
            raise ValueError(f"Order.quantity must be positive, got {init.quantity!r}")
        self.order_id = init.order_id
        self.symbol = init.symbol
        self.side: OrderSide = init.side
        self.order_type: OrderType = init.order_type
        self.quantity = float(init.quantity)
        self.time_in_force: TimeInForce = init.time_in_force
        self.limit_price = init.limit_price
        self.stop_price = init.stop_price
        self.trailing_offset = init.trailing_offset
        self.trailing_offset_type: TrailingOffsetType | None = init.trailing_offset_type
        self.expire_time_ns = init.expire_time_ns
        self.reduce_only = init.reduce_only
        self.parent_order_id = init.parent_order_id
        self.contingency: ContingencyType = init.contingency
        self.linked_order_ids: tuple[str, ...] = init.linked_order_ids
        self.strategy_id = init.strategy_id
        self.tag = init.tag
        self.status = S.INITIALIZED
        self.filled_quantity = 0.0
        self.avg_fill_price = 0.0
        self.commission = 0.0
        self.broker_order_id = ""
        self.ts_init = init.ts_event
        self.ts_last = init.ts_event
        self.reason = ""
        self.events: list[ev.OrderEvent] = [init]
        self._status_before_pending: OrderStatus | None = None
        # Best price seen since acceptance, used by trailing stops (high for sells, low for buys).
        self.trigger_price_seen: float | None = None
        self.is_triggered = False

    @classmethod
    def from_initialized(cls, init: ev.OrderInitialized) -> Order:
        """Rebuild an order from its :class:`OrderInitialized` event (e.g. from the journal)."""
        return cls(init)

    # --------------------------------------------------------------------------------- queries
    @property
    def leaves_quantity(self) -> float:
        """Quantity still to fill (shares)."""
        return max(self.quantity - self.filled_quantity, 0.0)

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def is_closed(self) -> bool:
        return self.status.is_closed

    @property
    def signed_quantity(self) -> float:
        return self.quantity if self.side is OrderSide.BUY else -self.quantity

    @property
    def initialized_event(self) -> ev.OrderInitialized:
        return self.events[0]  # type: ignore[return-value]

    def __repr__(self) -> str:
        price = ""
        if self.limit_price is not None:
            price += f" limit={self.limit_price}"
        if self.stop_price is not None:
            price += f" stop={self.stop_price}"
        return (
            f"Order({self.order_id} {self.side} {self.quantity:g} {self.symbol} {self.order_type}"
            f"{price} {self.time_in_force} status={self.status} filled={self.filled_quantity:g})"
        )

    def _repr_html_(self) -> str:
        from workbench.model.display import order_html

        return order_html(self)

    # ------------------------------------------------------------------------------ transitions
    def _move(self, new: OrderStatus, event: ev.OrderEvent) -> None:
        if new not in _TRANSITIONS[self.status]:
            raise InvalidStateTransition(
                f"order {self.order_id}: {type(event).__name__} not allowed in status {self.status}"
            )
        self.status = new
        self.ts_last = event.ts_event
        self.events.append(event)

    def apply(self, event: ev.OrderEvent) -> None:
        """Apply an order event, moving the state machine.

        Raises
        ------
        InvalidStateTransition
            If the event is not allowed in the current status.
        ValueError
            If the event belongs to another order or a fill exceeds the leaves quantity.
        """
        if event.order_id != self.order_id:
            raise ValueError(f"event for order {event.order_id} applied to order {self.order_id}")
        t = type(event)
        if t is ev.OrderFilled:
            self._apply_fill(event)  # type: ignore[arg-type]
        elif t is ev.OrderSubmitted:
            self._move(S.SUBMITTED, event)
        elif t is ev.OrderAccepted:
            self._move(S.ACCEPTED, event)
            self.broker_order_id = event.broker_order_id  # type: ignore[attr-defined]
        elif t is ev.OrderDenied or t is ev.OrderRejected:
            self._move(S.DENIED if t is ev.OrderDenied else S.REJECTED, event)
            self.reason = event.reason  # type: ignore[attr-defined]
        elif t is ev.OrderCanceled:
            self._move(S.CANCELED, event)
            self.reason = event.reason  # type: ignore[attr-defined]
        elif t is ev.OrderExpired:
            self._move(S.EXPIRED, event)
        elif t is ev.OrderTriggered:
            self._move(S.TRIGGERED, event)
            self.is_triggered = True
        elif t is ev.OrderPendingCancel or t is ev.OrderPendingReplace:
            before = self.status
            self._move(S.PENDING_CANCEL if t is ev.OrderPendingCancel else S.PENDING_REPLACE, event)
            if before not in (S.PENDING_CANCEL, S.PENDING_REPLACE):
                self._status_before_pending = before
        elif t is ev.OrderModified:
            if self.status is S.PENDING_REPLACE:
                self._move(self._status_before_pending or S.ACCEPTED, event)
                self._status_before_pending = None
            elif self.status in _MODIFIABLE:
                # the broker changed the order without a pending request (an OCO sibling shrunk after a
                # partial fill) or a fill arrived while the replace was pending: the status stays.
                self.ts_last = event.ts_event
                self.events.append(event)
            else:
                raise InvalidStateTransition(
                    f"order {self.order_id}: OrderModified not allowed in status {self.status}"
                )
            self.quantity = event.quantity  # type: ignore[attr-defined]
            if event.limit_price is not None:  # type: ignore[attr-defined]
                self.limit_price = event.limit_price  # type: ignore[attr-defined]
            if event.stop_price is not None:  # type: ignore[attr-defined]
                self.stop_price = event.stop_price  # type: ignore[attr-defined]
        elif t is ev.OrderUpdated:
            if self.status is not S.INITIALIZED:
                raise InvalidStateTransition(
                    f"order {self.order_id}: OrderUpdated not allowed in status {self.status} (only held orders)"
                )
            self.ts_last = event.ts_event
            self.events.append(event)
            self.quantity = event.quantity  # type: ignore[attr-defined]
            if event.limit_price is not None:  # type: ignore[attr-defined]
                self.limit_price = event.limit_price  # type: ignore[attr-defined]
            if event.stop_price is not None:  # type: ignore[attr-defined]
                self.stop_price = event.stop_price  # type: ignore[attr-defined]
        elif t is ev.OrderCancelRejected or t is ev.OrderModifyRejected:
            if self.status in (S.PENDING_CANCEL, S.PENDING_REPLACE):
                self._move(self._status_before_pending or S.ACCEPTED, event)
                self._status_before_pending = None
            else:
                self.events.append(event)
            self.reason = event.reason  # type: ignore[attr-defined]
        elif t is ev.OrderInitialized:
            raise InvalidStateTransition(f"order {self.order_id} is already initialized")
        else:
            raise InvalidStateTransition(f"unknown order event {t.__name__}")

    def _apply_fill(self, fill: ev.OrderFilled) -> None:
        if fill.last_quantity <= 0:
            raise ValueError(f"fill {fill.fill_id}: last_quantity must be positive, got {fill.last_quantity}")
        if fill.last_quantity > self.leaves_quantity + _EPS:
            raise ValueError(
                f"fill {fill.fill_id}: last_quantity {fill.last_quantity} exceeds leaves "
                f"{self.leaves_quantity} of order {self.order_id}"
            )
        new_filled = self.filled_quantity + fill.last_quantity
        done = new_filled >= self.quantity - _EPS
        self._move(S.FILLED if done else S.PARTIALLY_FILLED, fill)
        self.avg_fill_price = (
            self.avg_fill_price * self.filled_quantity + fill.last_price * fill.last_quantity
        ) / new_filled
        self.filled_quantity = self.quantity if done else new_filled
        self.commission += fill.commission
