"""Projection tables: each journaled event updates its read model in the append transaction.

:func:`project` routes one event to the read model it changes: ``orders`` and ``positions``
(latest state, folded in memory over the batch by :class:`~workbench.persistence.latest.LatestState`),
the insert-only ``fills``, ``equity_snapshots``, ``signals``, ``risk_events`` and ``alerts``
(rows collected in the :class:`Batch`), and ``sessions``/``commands`` (updated at once).
:func:`flush` writes the collected rows with one ``executemany`` per table at the end of the
transaction, so a batch append costs a fixed number of statements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from workbench.model import events as ev
from workbench.persistence import schema as t
from workbench.persistence.latest import LatestState
from workbench.persistence.serde import json_value

__all__ = ["Batch", "flush", "project"]

_B = sa.bindparam


class Batch:
    """Projection work of one append transaction: insert-only ``rows`` per table, and the
    :class:`~workbench.persistence.latest.LatestState` of orders and positions."""

    def __init__(self, conn: sa.Connection, session_id: str, events: Sequence[ev.Event]) -> None:
        self.rows: dict[sa.Table, list[dict[str, Any]]] = {}
        self.latest = LatestState(conn, session_id, events)


_Handler = Callable[[sa.Connection, str, int, Any, Batch], None]


def _initialized(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderInitialized, batch: Batch) -> None:
    batch.latest.order_initialized(seq, event)


def _order(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderEvent, batch: Batch) -> None:
    batch.latest.order_event(seq, event)


def _filled(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderFilled, batch: Batch) -> None:
    batch.latest.order_event(seq, event)
    _copy_fill(conn, session_id, seq, event, batch)


def _denied(conn: sa.Connection, session_id: str, seq: int, event: ev.OrderDenied, batch: Batch) -> None:
    batch.latest.order_event(seq, event)
    _risk_row(batch, session_id, seq, event, kind="order_denied", rule=event.rule, message=event.reason,
              action="deny", symbol=event.symbol, order_id=event.order_id)


def _position(conn: sa.Connection, session_id: str, seq: int, event: ev.PositionEvent, batch: Batch) -> None:
    batch.latest.position_event(seq, event)


def _copy(table: sa.Table, **renamed: str) -> _Handler:
    """Handler inserting one ``table`` row whose columns are the event's fields of the same name
    (or ``column=field`` in ``renamed``); JSON columns go through :func:`json_value`."""
    columns = [col for col in table.columns if col.name not in ("session_id", "seq")]

    def handler(conn: sa.Connection, session_id: str, seq: int, event: Any, batch: Batch) -> None:
        row: dict[str, Any] = {"session_id": session_id, "seq": seq}
        for col in columns:
            value = getattr(event, renamed.get(col.name, col.name))
            if isinstance(col.type, sa.JSON):
                value = json_value(value, f"{type(event).__name__}.{col.name}")
            row[col.name] = value
        batch.rows.setdefault(table, []).append(row)

    return handler


def _risk_row(batch: Batch, session_id: str, seq: int, event: ev.Event, **values: Any) -> None:
    row = {"rule": "", "message": "", "action": "", "symbol": "", "order_id": "", "value": None, "limit": None,
           "state": None}
    row.update(values)
    batch.rows.setdefault(t.risk_events, []).append(
        {"session_id": session_id, "seq": seq, "ts_event": event.ts_event, **row}
    )


def _risk(conn: sa.Connection, session_id: str, seq: int, event: ev.RiskEvent, batch: Batch) -> None:
    _risk_row(batch, session_id, seq, event, kind="risk", rule=event.rule, message=event.message,
              action=event.action, symbol=event.symbol, value=event.value, limit=event.limit)


def _trading_state(
    conn: sa.Connection, session_id: str, seq: int, event: ev.TradingStateChanged, batch: Batch
) -> None:
    _risk_row(batch, session_id, seq, event, kind="trading_state", message=event.reason,
              action=event.state.value, state=event.state.value)


_c = t.commands.c
_ACKNOWLEDGE = (
    sa.update(t.commands)
    .where(_c.command_id == _B("b_command_id"), _c.session_id == _B("b_session_id"),
           _c.status.in_(["pending", "received"]))
    .values(status=_B("b_status"), ts_acknowledged=_B("b_ts"), detail=_B("b_detail"), ack_seq=_B("b_seq"))
)
_RECEIVED = (
    sa.update(t.commands)
    .where(_c.command_id == _B("b_command_id"), _c.session_id == _B("b_session_id"), _c.status == "pending")
    .values(status="received")
)


def _command_received(
    conn: sa.Connection, session_id: str, seq: int, event: ev.CommandReceived, batch: Batch
) -> None:
    """A queued command the engine took: never handed out again (a crash mid-command must not run it twice)."""
    if event.command_id >= 0:
        conn.execute(_RECEIVED, {"b_command_id": event.command_id, "b_session_id": session_id})


def _command_acknowledged(
    conn: sa.Connection, session_id: str, seq: int, event: ev.CommandAcknowledged, batch: Batch
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


def _session_started(conn: sa.Connection, session_id: str, seq: int, event: ev.SessionStarted, batch: Batch) -> None:
    conn.execute(_SESSION_STARTED, {"b_session_id": session_id, "b_ts": event.ts_event})


def _session_stopped(conn: sa.Connection, session_id: str, seq: int, event: ev.SessionStopped, batch: Batch) -> None:
    conn.execute(_SESSION_STOPPED, {"b_session_id": session_id, "b_ts": event.ts_event})


_copy_fill = _copy(t.fills, quantity="last_quantity", price="last_price")

_HANDLERS: dict[type, _Handler] = {
    ev.OrderInitialized: _initialized,
    ev.OrderDenied: _denied,
    ev.OrderSubmitted: _order,
    ev.OrderAccepted: _order,
    ev.OrderRejected: _order,
    ev.OrderTriggered: _order,
    ev.OrderPendingCancel: _order,
    ev.OrderPendingReplace: _order,
    ev.OrderCanceled: _order,
    ev.OrderCancelRejected: _order,
    ev.OrderModified: _order,
    ev.OrderUpdated: _order,
    ev.OrderModifyRejected: _order,
    ev.OrderExpired: _order,
    ev.OrderFilled: _filled,
    ev.PositionOpened: _position,
    ev.PositionChanged: _position,
    ev.PositionClosed: _position,
    ev.AccountState: _copy(t.equity_snapshots),
    ev.SignalGenerated: _copy(t.signals),
    ev.ScanCompleted: _copy(t.scan_runs),
    ev.RiskEvent: _risk,
    ev.TradingStateChanged: _trading_state,
    ev.AlertRaised: _copy(t.alerts),
    ev.CommandAcknowledged: _command_acknowledged,
    ev.CommandReceived: _command_received,
    ev.SessionStarted: _session_started,
    ev.SessionStopped: _session_stopped,
}
"""Event class -> projection handler. Events not listed (ConnectionStatusChanged,
ReconciliationCorrected) live only in the ``events`` table."""


def project(conn: sa.Connection, session_id: str, seq: int, event: ev.Event, batch: Batch) -> None:
    """Apply ``event`` (journaled as ``seq``) to the projection tables inside the open transaction."""
    handler = _HANDLERS.get(type(event))
    if handler is not None:
        handler(conn, session_id, seq, event, batch)


_INSERTS = {table: sa.insert(table) for table in (t.fills, t.equity_snapshots, t.signals, t.scan_runs, t.risk_events,
                                                  t.alerts)}


def flush(conn: sa.Connection, batch: Batch) -> None:
    """Write the batch's projection rows (one ``executemany`` per table) and clear it."""
    batch.latest.flush(conn)
    for table, rows in batch.rows.items():
        if rows:
            conn.execute(_INSERTS[table], rows)
    batch.rows.clear()
