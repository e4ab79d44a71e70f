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
p = t.positions.c
_B = sa.bindparam


def _float(name: str) -> sa.BindParameter:
    return sa.bindparam(name, type_=sa.Float)


# Statements are built once with bind parameters: building and cache-keying a statement per event
# costs more than executing it.
def _order_update(**values: Any) -> sa.Update:
    return (
        sa.update(t.orders)
        .where(o.session_id == _B("b_session"), o.order_id == _B("b_order"))
        .values(ts_last=_B("b_ts"), seq=_B("b_seq"), **values)
    )


def _order_handler(stmt: sa.Update, **fields: str) -> _Handler:
    """Handler running ``stmt`` with the event's ``fields`` (bind name -> event attribute)."""
    items = tuple(fields.items())

    def handler(conn: sa.Connection, session_id: str, seq: int, event: Any, pending: Pending) -> None:
        params = {"b_session": session_id, "b_order": event.order_id, "b_ts": event.ts_event, "b_seq": seq}
        for bind, attribute in items:
            params[bind] = getattr(event, attribute)
        if conn.execute(stmt, params).rowcount == 0:
            log.warning(
                "journal: %s for order %s of session %s has no OrderInitialized; orders table not updated",
                type(event).__name__,
                event.order_id,
                session_id,
            )

    return handler


def _status(status: OrderStatus, **fields: str) -> _Handler:
    """Move to ``status``; ``fields`` are extra columns copied from the event (column -> attribute)."""
    stmt = _order_update(status=status.value, **{column: _B(f"b_{column}") for column in fields})
    return _order_handler(stmt, **{f"b_{column}": attribute for column, attribute in fields.items()})


_INSERT_ORDER = sa.insert(t.orders)


def _initialized(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderInitialized, pending: Pending) -> None:
    conn.execute(
        _INSERT_ORDER,
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


def _pending(status: OrderStatus) -> _Handler:
    """Enter a pending state, remembering the status to return to (unless already pending)."""
    already = o.status.in_(_PENDING)
    stmt = _order_update(
        status=status.value, status_before_pending=sa.case((already, o.status_before_pending), else_=o.status)
    )
    return _order_handler(stmt)


_in_pending = o.status.in_(_PENDING)
_restored = sa.func.coalesce(o.status_before_pending, OrderStatus.ACCEPTED.value)

# Cancel/modify rejected: back to the status before the pending state (as Order.apply).
_back_from_pending = _order_handler(
    _order_update(
        status=sa.case((_in_pending, _restored), else_=o.status),
        status_before_pending=sa.case((_in_pending, None), else_=o.status_before_pending),
        reason=_B("b_reason"),
    ),
    b_reason="reason",
)

# Modified: new terms; back to the status before pending; a None price keeps the old one.
_modified = _order_handler(
    _order_update(
        status=_restored,
        status_before_pending=None,
        quantity=_float("b_quantity"),
        limit_price=sa.func.coalesce(_float("b_limit"), o.limit_price),
        stop_price=sa.func.coalesce(_float("b_stop"), o.stop_price),
    ),
    b_quantity="quantity",
    b_limit="limit_price",
    b_stop="stop_price",
)

_new_filled = o.filled_quantity + _float("b_quantity")
_done = _new_filled >= o.quantity - _EPS
_fill_order = _order_handler(
    _order_update(
        status=sa.case((_done, OrderStatus.FILLED.value), else_=OrderStatus.PARTIALLY_FILLED.value),
        filled_quantity=sa.case((_done, o.quantity), else_=_new_filled),
        avg_fill_price=(o.avg_fill_price * o.filled_quantity + _float("b_price") * _float("b_quantity"))
        / _new_filled,
        commission=o.commission + _float("b_commission"),
    ),
    b_quantity="last_quantity",
    b_price="last_price",
    b_commission="commission",
)


def _filled(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderFilled, pending: Pending) -> None:
    _fill_order(conn, session_id, seq, event, pending)
    _copy_fill(conn, session_id, seq, event, pending)


def _denied(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderDenied, pending: Pending) -> None:
    _deny_order(conn, session_id, seq, event, pending)
    _risk_row(pending, session_id, seq, event, kind="order_denied", rule=event.rule, message=event.reason,
              action="deny", symbol=event.symbol, order_id=event.order_id)


_POSITION_VALUES = {
    name: _B(f"b_{name}") for name in ("quantity", "avg_price", "realized_pnl", "status", "last_fill_id", "ts_last", "seq")
}
_position_where = (p.session_id == _B("b_session_id"), p.symbol == _B("b_symbol"))
_UPDATE_POSITION = sa.update(t.positions).where(*_position_where).values(**_POSITION_VALUES)
_REOPEN_POSITION = sa.update(t.positions).where(*_position_where).values(ts_opened=_B("b_ts_opened"), **_POSITION_VALUES)
_INSERT_POSITION = sa.insert(t.positions)


def _position(conn: sa.Connection, session_id: str, seq: int, event: ev.PositionEvent, pending: Pending) -> None:
    values: dict[str, Any] = {
        "session_id": session_id,
        "symbol": event.symbol,
        "quantity": event.quantity,
        "avg_price": event.avg_price,
        "realized_pnl": event.realized_pnl,
        "status": "closed" if isinstance(event, ev.PositionClosed) else "open",
        "last_fill_id": event.last_fill_id,
        "ts_last": event.ts_event,
        "ts_opened": event.ts_event,
        "seq": seq,
    }
    stmt = _REOPEN_POSITION if isinstance(event, ev.PositionOpened) else _UPDATE_POSITION
    if conn.execute(stmt, {f"b_{key}": value for key, value in values.items()}).rowcount == 0:
        conn.execute(_INSERT_POSITION, values)


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


_c = t.commands.c
_ACKNOWLEDGE = (
    sa.update(t.commands)
    .where(_c.command_id == _B("b_command_id"), _c.session_id == _B("b_session_id"), _c.status == "pending")
    .values(status=_B("b_status"), ts_acknowledged=_B("b_ts"), detail=_B("b_detail"), ack_seq=_B("b_seq"))
)


def _command_acknowledged(
    conn: sa.Connection, session_id: str, seq: int, event: ev.CommandAcknowledged, pending: Pending
) -> None:
    conn.execute(
        _ACKNOWLEDGE,
        {
            "b_command_id": event.command_id,
            "b_session_id": session_id,
            "b_status": "acknowledged" if event.ok else "rejected",
            "b_ts": event.ts_event,
            "b_detail": event.detail,
            "b_seq": seq,
        },
    )


_s = t.sessions.c
_SESSION_STARTED = (
    sa.update(t.sessions)
    .where(_s.session_id == _B("b_session_id"))
    .values(status="running", ts_started=sa.func.coalesce(_s.ts_started, _B("b_ts", type_=sa.BigInteger)),
            ts_stopped=None)
)
_SESSION_STOPPED = (
    sa.update(t.sessions).where(_s.session_id == _B("b_session_id")).values(status="stopped", ts_stopped=_B("b_ts"))
)


def _session_started(conn: sa.Connection, session_id: str, seq: int, event: ev.SessionStarted, pending: Pending) -> None:
    conn.execute(_SESSION_STARTED, {"b_session_id": session_id, "b_ts": event.ts_event})


def _session_stopped(conn: sa.Connection, session_id: str, seq: int, event: ev.SessionStopped, pending: Pending) -> None:
    conn.execute(_SESSION_STOPPED, {"b_session_id": session_id, "b_ts": event.ts_event})


_copy_fill = _copy(t.fills, quantity="last_quantity", price="last_price")
_deny_order = _status(OrderStatus.DENIED, reason="reason")

_HANDLERS: dict[type, _Handler] = {
    ev.OrderInitialized: _initialized,
    ev.OrderDenied: _denied,
    ev.OrderSubmitted: _status(OrderStatus.SUBMITTED),
    ev.OrderAccepted: _status(OrderStatus.ACCEPTED, broker_order_id="broker_order_id"),
    ev.OrderRejected: _status(OrderStatus.REJECTED, reason="reason"),
    ev.OrderTriggered: _status(OrderStatus.TRIGGERED),
    ev.OrderPendingCancel: _pending(OrderStatus.PENDING_CANCEL),
    ev.OrderPendingReplace: _pending(OrderStatus.PENDING_REPLACE),
    ev.OrderCanceled: _status(OrderStatus.CANCELED, reason="reason"),
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


_INSERTS = {table: sa.insert(table) for table in (t.fills, t.equity_snapshots, t.signals, t.risk_events, t.alerts)}


def flush(conn: sa.Connection, pending: Pending) -> None:
    """Write the collected insert-only rows (one ``executemany`` per table) and clear ``pending``."""
    for table, rows in pending.items():
        if rows:
            conn.execute(_INSERTS[table], rows)
    pending.clear()
