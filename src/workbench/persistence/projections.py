"""Projection tables: each journaled event updates its read model in the append transaction.

:func:`project` maps one event to the SQL that brings ``orders``, ``fills``, ``positions``,
``equity_snapshots``, ``signals``, ``risk_events``, ``alerts``, ``sessions`` and ``commands`` up
to date. Order updates are single ``UPDATE`` statements whose ``CASE`` expressions mirror the
state machine of :class:`workbench.model.orders.Order` (no read-modify-write round trip); the
projection is lenient: it records what the journal says and never refuses an event, since the
engine already validated it and the ``events`` table stays the source of truth.

Rows for the insert-only tables are collected in ``pending`` and written with one
``executemany`` per table by :func:`flush` (at the end of the transaction), which keeps batch
appends fast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from workbench.model import events as ev
from workbench.model.enums import OrderStatus
from workbench.persistence import schema as t
from workbench.persistence.serde import json_value

__all__ = ["flush", "project"]

log = logging.getLogger(__name__)

_EPS = 1e-9
_PENDING = (OrderStatus.PENDING_CANCEL.value, OrderStatus.PENDING_REPLACE.value)

Pending = dict[sa.Table, list[dict[str, Any]]]
_Handler = Callable[[sa.Connection, str, int, Any, Pending], None]

o = t.orders.c


def _order_update(conn: sa.Connection, session_id: str, event: ev.OrderEvent, seq: int, **values: Any) -> None:
    stmt = (
        sa.update(t.orders)
        .where(o.session_id == session_id, o.order_id == event.order_id)
        .values(ts_last=event.ts_event, seq=seq, **values)
    )
    if conn.execute(stmt).rowcount == 0:
        log.warning(
            "journal: %s for order %s of session %s has no OrderInitialized; orders table not updated",
            type(event).__name__,
            event.order_id,
            session_id,
        )


def _status(status: OrderStatus) -> Callable[..., None]:
    def handler(conn: sa.Connection, session_id: str, seq: int, event: Any, pending: Pending) -> None:
        values: dict[str, Any] = {"status": status.value}
        if hasattr(event, "reason"):
            values["reason"] = event.reason
        if isinstance(event, ev.OrderAccepted):
            values["broker_order_id"] = event.broker_order_id
        _order_update(conn, session_id, event, seq, **values)

    return handler


def _initialized(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderInitialized, pending: Pending) -> None:
    conn.execute(
        sa.insert(t.orders),
        {
            "session_id": session_id,
            "order_id": event.order_id,
            "symbol": event.symbol,
            "side": event.side.value,
            "order_type": event.order_type.value,
            "quantity": event.quantity,
            "limit_price": event.limit_price,
            "stop_price": event.stop_price,
            "time_in_force": event.time_in_force.value,
            "status": OrderStatus.INITIALIZED.value,
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
        },
    )


def _pending(status: OrderStatus) -> Callable[..., None]:
    def handler(conn: sa.Connection, session_id: str, seq: int, event: Any, pending: Pending) -> None:
        already = o.status.in_(_PENDING)
        _order_update(
            conn,
            session_id,
            event,
            seq,
            status=status.value,
            status_before_pending=sa.case((already, o.status_before_pending), else_=o.status),
        )

    return handler


def _back_from_pending(conn: sa.Connection, session_id: str, seq: int, event: Any, pending: Pending) -> None:
    """Cancel/modify rejected: back to the status before the pending state (as Order.apply)."""
    in_pending = o.status.in_(_PENDING)
    restored = sa.func.coalesce(o.status_before_pending, OrderStatus.ACCEPTED.value)
    _order_update(
        conn,
        session_id,
        event,
        seq,
        status=sa.case((in_pending, restored), else_=o.status),
        status_before_pending=sa.case((in_pending, None), else_=o.status_before_pending),
        reason=event.reason,
    )


def _modified(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderModified, pending: Pending) -> None:
    values: dict[str, Any] = {
        "status": sa.func.coalesce(o.status_before_pending, OrderStatus.ACCEPTED.value),
        "status_before_pending": None,
        "quantity": event.quantity,
    }
    if event.limit_price is not None:
        values["limit_price"] = event.limit_price
    if event.stop_price is not None:
        values["stop_price"] = event.stop_price
    _order_update(conn, session_id, event, seq, **values)


def _filled(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderFilled, pending: Pending) -> None:
    new_filled = o.filled_quantity + event.last_quantity
    done = new_filled >= o.quantity - _EPS
    _order_update(
        conn,
        session_id,
        event,
        seq,
        status=sa.case((done, OrderStatus.FILLED.value), else_=OrderStatus.PARTIALLY_FILLED.value),
        filled_quantity=sa.case((done, o.quantity), else_=new_filled),
        avg_fill_price=(o.avg_fill_price * o.filled_quantity + event.last_price * event.last_quantity) / new_filled,
        commission=o.commission + event.commission,
    )
    _copy_fill(conn, session_id, seq, event, pending)


def _denied(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderDenied, pending: Pending) -> None:
    _status(OrderStatus.DENIED)(conn, session_id, seq, event, pending)
    _risk_row(pending, session_id, seq, event, kind="order_denied", rule=event.rule, message=event.reason,
              action="deny", symbol=event.symbol, order_id=event.order_id)


def _position(conn: sa.Connection, session_id: str, seq: int, event: ev.PositionEvent, pending: Pending) -> None:
    p = t.positions.c
    values: dict[str, Any] = {
        "quantity": event.quantity,
        "avg_price": event.avg_price,
        "realized_pnl": event.realized_pnl,
        "status": "closed" if isinstance(event, ev.PositionClosed) else "open",
        "last_fill_id": event.last_fill_id,
        "ts_last": event.ts_event,
        "seq": seq,
    }
    if isinstance(event, ev.PositionOpened):
        values["ts_opened"] = event.ts_event
    stmt = sa.update(t.positions).where(p.session_id == session_id, p.symbol == event.symbol).values(**values)
    if conn.execute(stmt).rowcount == 0:
        values.setdefault("ts_opened", event.ts_event)
        conn.execute(sa.insert(t.positions), {"session_id": session_id, "symbol": event.symbol, **values})


def _copy(table: sa.Table, **renamed: str) -> _Handler:
    """Handler inserting one ``table`` row whose columns are the event's fields of the same name
    (or ``column=field`` in ``renamed``); JSON columns go through :func:`json_value`."""
    columns = [col for col in table.columns if col.name not in ("session_id", "seq")]

    def handler(conn: sa.Connection, session_id: str, seq: int, event: Any, pending: Pending) -> None:
        row: dict[str, Any] = {"session_id": session_id, "seq": seq}
        for col in columns:
            value = getattr(event, renamed.get(col.name, col.name))
            if isinstance(col.type, sa.JSON):
                value = json_value(value, f"{type(event).__name__}.{col.name}")
            row[col.name] = value
        pending.setdefault(table, []).append(row)

    return handler


def _risk_row(pending: Pending, session_id: str, seq: int, event: ev.Event, **values: Any) -> None:
    row = {"rule": "", "message": "", "action": "", "symbol": "", "order_id": "", "value": None, "limit": None,
           "state": None}
    row.update(values)
    pending.setdefault(t.risk_events, []).append(
        {"session_id": session_id, "seq": seq, "ts_event": event.ts_event, **row}
    )


def _risk(conn: sa.Connection, session_id: str, seq: int, event: ev.RiskEvent, pending: Pending) -> None:
    _risk_row(pending, session_id, seq, event, kind="risk", rule=event.rule, message=event.message,
              action=event.action, symbol=event.symbol, value=event.value, limit=event.limit)


def _trading_state(
    conn: sa.Connection, session_id: str, seq: int, event: ev.TradingStateChanged, pending: Pending
) -> None:
    _risk_row(pending, session_id, seq, event, kind="trading_state", message=event.reason,
              action=event.state.value, state=event.state.value)


def _command_acknowledged(
    conn: sa.Connection, session_id: str, seq: int, event: ev.CommandAcknowledged, pending: Pending
) -> None:
    c = t.commands.c
    conn.execute(
        sa.update(t.commands)
        .where(c.command_id == event.command_id, c.session_id == session_id, c.status == "pending")
        .values(
            status="acknowledged" if event.ok else "rejected",
            ts_acknowledged=event.ts_event,
            detail=event.detail,
            ack_seq=seq,
        )
    )


def _session_started(conn: sa.Connection, session_id: str, seq: int, event: ev.SessionStarted, pending: Pending) -> None:
    s = t.sessions.c
    conn.execute(
        sa.update(t.sessions)
        .where(s.session_id == session_id)
        .values(status="running", ts_started=sa.func.coalesce(s.ts_started, event.ts_event), ts_stopped=None)
    )


def _session_stopped(conn: sa.Connection, session_id: str, seq: int, event: ev.SessionStopped, pending: Pending) -> None:
    s = t.sessions.c
    conn.execute(
        sa.update(t.sessions).where(s.session_id == session_id).values(status="stopped", ts_stopped=event.ts_event)
    )


_copy_fill = _copy(t.fills, quantity="last_quantity", price="last_price")

_HANDLERS: dict[type, _Handler] = {
    ev.OrderInitialized: _initialized,
    ev.OrderDenied: _denied,
    ev.OrderSubmitted: _status(OrderStatus.SUBMITTED),
    ev.OrderAccepted: _status(OrderStatus.ACCEPTED),
    ev.OrderRejected: _status(OrderStatus.REJECTED),
    ev.OrderTriggered: _status(OrderStatus.TRIGGERED),
    ev.OrderPendingCancel: _pending(OrderStatus.PENDING_CANCEL),
    ev.OrderPendingReplace: _pending(OrderStatus.PENDING_REPLACE),
    ev.OrderCanceled: _status(OrderStatus.CANCELED),
    ev.OrderCancelRejected: _back_from_pending,
    ev.OrderModified: _modified,
    ev.OrderModifyRejected: _back_from_pending,
    ev.OrderExpired: _status(OrderStatus.EXPIRED),
    ev.OrderFilled: _filled,
    ev.PositionOpened: _position,
    ev.PositionChanged: _position,
    ev.PositionClosed: _position,
    ev.AccountState: _copy(t.equity_snapshots),
    ev.SignalGenerated: _copy(t.signals),
    ev.RiskEvent: _risk,
    ev.TradingStateChanged: _trading_state,
    ev.AlertRaised: _copy(t.alerts),
    ev.CommandAcknowledged: _command_acknowledged,
    ev.SessionStarted: _session_started,
    ev.SessionStopped: _session_stopped,
}
"""Event class -> projection handler. Events not listed (CommandReceived, ConnectionStatusChanged,
ReconciliationCorrected) live only in the ``events`` table."""


def project(conn: sa.Connection, session_id: str, seq: int, event: ev.Event, pending: Pending) -> None:
    """Apply ``event`` (journaled as ``seq``) to the projection tables inside the open transaction."""
    handler = _HANDLERS.get(type(event))
    if handler is not None:
        handler(conn, session_id, seq, event, pending)


def flush(conn: sa.Connection, pending: Pending) -> None:
    """Write the collected insert-only rows (one ``executemany`` per table) and clear ``pending``."""
    for table, rows in pending.items():
        if rows:
            conn.execute(sa.insert(table), rows)
    pending.clear()
