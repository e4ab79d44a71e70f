"""A signal's fate in one query: selected by which scan, traded, filled, exited, why, with what P&L.

Reads the journal's read model: ``signals`` (entry signals carry a ``signal_id``; the flat signal
journaled when the position closed carries the same id and ``reason = "exit: <why>"``) joined to
``orders`` by tag (every order of a signal is tagged ``scan:<signal_id>:<role>``, see
:mod:`workbench.strategies.scan_strategy`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench.persistence import schema as t

__all__ = ["FATE_COLUMNS", "signal_fates", "signal_fates_query"]

FATE_COLUMNS = [
    "signal_id", "scan_id", "symbol", "ts_signal", "direction", "confidence", "planned_entry", "stop", "target",
    "size", "reason", "entry_status", "entry_quantity", "entry_price", "exit_reason", "ts_exit", "exit_quantity",
    "exit_price", "commission", "realized_pnl",
]


def signal_fates_query(session_id: str) -> sa.Select:
    """The one SQLAlchemy Core query behind :func:`signal_fates` (one row per entry signal)."""
    s, o = t.signals, t.orders
    entry = o.alias("entry")
    exit_orders = o.alias("exit_orders")
    exit_signal = s.alias("exit_signal")
    entry_tag = sa.literal("scan:") + s.c.signal_id + sa.literal(":entry")
    exit_like = sa.literal("scan:") + s.c.signal_id + sa.literal(":exit%")

    def exits(column: Any) -> Any:
        leg = sa.or_(exit_orders.c.tag == sa.literal("scan:") + s.c.signal_id + sa.literal(":take_profit"),
                     exit_orders.c.tag == sa.literal("scan:") + s.c.signal_id + sa.literal(":stop_loss"),
                     exit_orders.c.tag.like(exit_like))
        return (sa.select(column).where(exit_orders.c.session_id == s.c.session_id, leg,
                                        exit_orders.c.filled_quantity > 0).scalar_subquery())

    exit_quantity = exits(sa.func.sum(exit_orders.c.filled_quantity))
    exit_value = exits(sa.func.sum(exit_orders.c.filled_quantity * exit_orders.c.avg_fill_price))
    exit_commission = exits(sa.func.sum(exit_orders.c.commission))
    return (
        sa.select(
            s.c.signal_id, s.c.scan_id, s.c.symbol, s.c.ts_event.label("ts_signal"), s.c.direction, s.c.confidence,
            s.c.entry.label("planned_entry"), s.c.stop, s.c.target, s.c.size, s.c.reason,
            entry.c.status.label("entry_status"), entry.c.filled_quantity.label("entry_quantity"),
            entry.c.avg_fill_price.label("entry_price"), entry.c.commission.label("entry_commission"),
            exit_signal.c.reason.label("exit_reason"), exit_signal.c.ts_event.label("ts_exit"),
            exit_quantity.label("exit_quantity"), exit_value.label("exit_value"),
            exit_commission.label("exit_commission"),
        )
        .select_from(
            s.outerjoin(entry, sa.and_(entry.c.session_id == s.c.session_id, entry.c.tag == entry_tag))
            .outerjoin(exit_signal, sa.and_(exit_signal.c.session_id == s.c.session_id,
                                            exit_signal.c.signal_id == s.c.signal_id, exit_signal.c.direction == 0))
        )
        .where(s.c.session_id == session_id, s.c.signal_id != "", s.c.direction != 0)
        .order_by(s.c.seq)
    )


def signal_fates(connection: Any, session_id: str) -> pd.DataFrame:
    """Every scan signal of ``session_id`` with its fate (columns :data:`FATE_COLUMNS`).

    ``connection`` is a SQLAlchemy engine or connection on the journal (``Journal.engine``).
    Prices in currency, quantities in shares, ``realized_pnl`` in currency net of the entry's and
    exits' commissions (NaN while the position is open).
    """
    query = signal_fates_query(session_id)
    if isinstance(connection, sa.Engine):
        with connection.connect() as conn:
            rows = conn.execute(query).mappings().all()
    else:
        rows = connection.execute(query).mappings().all()
    out = []
    for row in rows:
        r = dict(row)
        quantity = r.pop("exit_quantity") or 0.0
        value = r.pop("exit_value") or 0.0
        reason = r.pop("exit_reason")
        r["exit_reason"] = reason.removeprefix("exit: ") if reason else None
        r["exit_quantity"] = quantity
        r["exit_price"] = value / quantity if quantity else None
        r["commission"] = (r.pop("entry_commission") or 0.0) + (r.pop("exit_commission") or 0.0)
        closed = r["exit_reason"] is not None and quantity and r["entry_price"]
        r["realized_pnl"] = ((r["exit_price"] - r["entry_price"]) * quantity * r["direction"] - r["commission"]) \
            if closed else float("nan")
        out.append(r)
    return pd.DataFrame(out, columns=FATE_COLUMNS)
