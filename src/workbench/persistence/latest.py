"""Latest-state read models (``orders``, ``positions``) folded in memory over one append batch.

An append batch touches an order several times (initialized, submitted, accepted, filled...).
Rather than one ``UPDATE`` per event, :class:`LatestState` loads the rows the batch needs in one
query, applies the events in Python and writes each changed row once (``executemany``), so a
batch costs a fixed number of statements whatever its length.

The order transitions mirror :meth:`workbench.model.orders.Order.apply` but are lenient: the
projection records what the journal says and never refuses an event (the engine validated it;
the ``events`` table stays the source of truth), except that a second ``OrderInitialized`` for an
order id raises :class:`~workbench.errors.JournalError`. An order event whose order has no
``OrderInitialized`` in the journal leaves the ``orders`` table unchanged (logged).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from workbench.errors import JournalError
from workbench.model import events as ev
from workbench.model.enums import OrderStatus
from workbench.persistence import schema as t

__all__ = ["LatestState"]

log = logging.getLogger(__name__)

_EPS = 1e-9
S = OrderStatus
_PENDING = frozenset({S.PENDING_CANCEL.value, S.PENDING_REPLACE.value})
_SIMPLE_STATUS = {
    ev.OrderSubmitted: S.SUBMITTED,
    ev.OrderAccepted: S.ACCEPTED,
    ev.OrderDenied: S.DENIED,
    ev.OrderRejected: S.REJECTED,
    ev.OrderTriggered: S.TRIGGERED,
    ev.OrderCanceled: S.CANCELED,
    ev.OrderExpired: S.EXPIRED,
}
_ORDER_MUTABLE = (
    "status", "status_before_pending", "quantity", "limit_price", "stop_price", "filled_quantity",
    "avg_fill_price", "commission", "broker_order_id", "reason", "ts_last", "seq",
)
_POSITION_MUTABLE = ("quantity", "avg_price", "realized_pnl", "status", "last_fill_id", "ts_last", "seq")
_CHUNK = 500  # order ids per IN (...) query

o = t.orders.c
p = t.positions.c
_B = sa.bindparam


def _update(table: sa.Table, key: str, columns: Sequence[str]) -> sa.Update:
    return (
        sa.update(table)
        .where(table.c.session_id == _B("b_session_id"), table.c[key] == _B(f"b_{key}"))
        .values(**{name: _B(f"b_{name}") for name in columns})
    )


_INSERT_ORDER = sa.insert(t.orders)
_SELECT_ORDER = sa.select(t.orders).where(o.session_id == _B("b_session_id"), o.order_id == _B("b_order_id"))
_SELECT_ORDERS = sa.select(t.orders).where(
    o.session_id == _B("b_session_id"), o.order_id.in_(_B("b_order_ids", expanding=True))
)
_UPDATE_ORDER = _update(t.orders, "order_id", _ORDER_MUTABLE)
_INSERT_POSITION = sa.insert(t.positions)
_UPDATE_POSITION = _update(t.positions, "symbol", _POSITION_MUTABLE)
_REOPEN_POSITION = _update(t.positions, "symbol", (*_POSITION_MUTABLE, "ts_opened"))


def _number(value: float | None) -> float:
    """A float column read back: SQLite stores NaN as NULL."""
    return math.nan if value is None else value


def _new_order(session_id: str, seq: int, event: ev.OrderInitialized) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "order_id": event.order_id,
        "symbol": event.symbol,
        "side": event.side.value,
        "order_type": event.order_type.value,
        "quantity": event.quantity,
        "limit_price": event.limit_price,
        "stop_price": event.stop_price,
        "time_in_force": event.time_in_force.value,
        "status": S.INITIALIZED.value,
        "status_before_pending": None,
        "filled_quantity": 0.0,
        "avg_fill_price": 0.0,
        "commission": 0.0,
        "broker_order_id": "",
        "reason": "",
        "strategy_id": event.strategy_id,
        "tag": event.tag,
        "ts_init": event.ts_event,
        "ts_last": event.ts_event,
        "seq": seq,
    }


def apply_order_event(row: dict[str, Any], event: ev.OrderEvent) -> None:
    """Move an ``orders`` row (dict) by one order event, as ``Order.apply`` would (leniently)."""
    kind = type(event)
    status = row["status"]
    if kind is ev.OrderFilled:
        quantity = _number(row["quantity"])
        filled = _number(row["filled_quantity"])
        new_filled = filled + event.last_quantity
        done = new_filled >= quantity - _EPS
        if new_filled:
            notional = _number(row["avg_fill_price"]) * filled + event.last_price * event.last_quantity
            row["avg_fill_price"] = notional / new_filled
        row["filled_quantity"] = quantity if done else new_filled
        row["commission"] = _number(row["commission"]) + event.commission
        row["status"] = (S.FILLED if done else S.PARTIALLY_FILLED).value
    elif kind in _SIMPLE_STATUS:
        row["status"] = _SIMPLE_STATUS[kind].value
        if hasattr(event, "reason"):
            row["reason"] = event.reason
        if kind is ev.OrderAccepted:
            row["broker_order_id"] = event.broker_order_id
    elif kind is ev.OrderPendingCancel or kind is ev.OrderPendingReplace:
        if status not in _PENDING:
            row["status_before_pending"] = status
        row["status"] = (S.PENDING_CANCEL if kind is ev.OrderPendingCancel else S.PENDING_REPLACE).value
    elif kind is ev.OrderModified or kind is ev.OrderUpdated:
        if status == S.PENDING_REPLACE.value:  # else (a broker-side change, a held order resized) the status stays
            row["status"] = row["status_before_pending"] or S.ACCEPTED.value
            row["status_before_pending"] = None
        row["quantity"] = event.quantity
        if event.limit_price is not None:
            row["limit_price"] = event.limit_price
        if event.stop_price is not None:
            row["stop_price"] = event.stop_price
    elif kind is ev.OrderCancelRejected or kind is ev.OrderModifyRejected:
        if status in _PENDING:
            row["status"] = row["status_before_pending"] or S.ACCEPTED.value
            row["status_before_pending"] = None
        row["reason"] = event.reason
    row["ts_last"] = event.ts_event


class LatestState:
    """Orders and positions of one session as changed by one append batch.

    Parameters
    ----------
    conn : Connection
        The append transaction's connection.
    session_id : str
    events : sequence of Event
        The whole batch, so the orders it touches can be loaded in one query up front.
    """

    def __init__(self, conn: sa.Connection, session_id: str, events: Sequence[ev.Event]) -> None:
        self.session_id = session_id
        self._orders: dict[str, dict[str, Any]] = {}
        self._new_orders: list[str] = []
        self._changed_orders: set[str] = set()
        self._positions: dict[str, tuple[dict[str, Any], bool]] = {}  # symbol -> (values, reopened)
        needed = {e.order_id for e in events if isinstance(e, ev.OrderEvent) and not isinstance(e, ev.OrderInitialized)}
        needed -= {e.order_id for e in events if isinstance(e, ev.OrderInitialized)}
        ids = sorted(needed)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            if len(chunk) == 1:
                result = conn.execute(_SELECT_ORDER, {"b_session_id": session_id, "b_order_id": chunk[0]})
            else:
                result = conn.execute(_SELECT_ORDERS, {"b_session_id": session_id, "b_order_ids": chunk})
            for row in result.mappings():
                self._orders[row["order_id"]] = dict(row)

    def order_initialized(self, seq: int, event: ev.OrderInitialized) -> None:
        if event.order_id in self._orders:
            raise JournalError(f"duplicate OrderInitialized for order {event.order_id!r} (seq {seq})")
        self._orders[event.order_id] = _new_order(self.session_id, seq, event)
        self._new_orders.append(event.order_id)

    def order_event(self, seq: int, event: ev.OrderEvent) -> None:
        row = self._orders.get(event.order_id)
        if row is None:
            log.warning(
                "journal: %s for order %s of session %s has no OrderInitialized; orders table not updated",
                type(event).__name__, event.order_id, self.session_id,
            )
            return
        apply_order_event(row, event)
        row["seq"] = seq
        self._changed_orders.add(event.order_id)

    def position_event(self, seq: int, event: ev.PositionEvent) -> None:
        values = {
            "quantity": event.quantity,
            "avg_price": event.avg_price,
            "realized_pnl": event.realized_pnl,
            "status": "closed" if isinstance(event, ev.PositionClosed) else "open",
            "last_fill_id": event.last_fill_id,
            "ts_last": event.ts_event,
            "seq": seq,
        }
        previous = self._positions.get(event.symbol)
        if isinstance(event, ev.PositionOpened):
            values["ts_opened"] = event.ts_event
            reopened = True
        else:
            reopened = previous is not None and previous[1]
            values["ts_opened"] = previous[0]["ts_opened"] if previous is not None else event.ts_event
        self._positions[event.symbol] = (values, reopened)

    def flush(self, conn: sa.Connection) -> None:
        """Write new and changed rows: at most one INSERT and one UPDATE executemany per table."""
        new = set(self._new_orders)
        if self._new_orders:
            conn.execute(_INSERT_ORDER, [self._orders[order_id] for order_id in self._new_orders])
        changed = [self._orders[order_id] for order_id in sorted(self._changed_orders - new)]
        if changed:
            conn.execute(_UPDATE_ORDER, [{f"b_{k}": row[k] for k in ("session_id", "order_id", *_ORDER_MUTABLE)}
                                         for row in changed])
        for symbol, (values, reopened) in self._positions.items():
            params = {f"b_{k}": v for k, v in values.items()} | {"b_session_id": self.session_id, "b_symbol": symbol}
            if not reopened:
                params.pop("b_ts_opened")
            if conn.execute(_REOPEN_POSITION if reopened else _UPDATE_POSITION, params).rowcount == 0:
                conn.execute(_INSERT_POSITION, {"session_id": self.session_id, "symbol": symbol, **values})
        self._new_orders.clear()
        self._changed_orders.clear()
        self._positions.clear()
