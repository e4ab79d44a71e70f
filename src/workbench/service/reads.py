"""The API's read queries: pages of the journal's projection tables, P&L, risk and health.

Rows come straight from the projection tables of :mod:`workbench.persistence.schema` (written in
the same transaction as the events, so a page never shows an event without its effect). Times
stay ``int`` ns since epoch UTC, money in the session's currency, quantities in shares (signed
for positions). NaN floats are stored as NULL by SQLite and come back as ``None``.

Pagination is by sequence number: a page holds the rows with ``seq > after_seq`` (and
``ts >= since`` when given) in ``seq`` order, at most ``limit`` of them; ``next_after_seq`` is
the ``seq`` of its last row when more rows follow, else None. For the latest-state tables
(``orders``, ``positions``) ``seq`` is the seq of the event that last changed the row, so
``after_seq`` also reads "changed since".
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench.persistence import Journal
from workbench.persistence import schema as t
from workbench.persistence.database import translate_errors
from workbench.persistence.serde import from_json_value

__all__ = ["PAGE_LIMIT", "TABLES", "Page", "health", "page", "pnl", "risk", "session_row", "sessions"]

PAGE_LIMIT = 1000
"""Most rows one page may hold."""

TABLES: dict[str, tuple[sa.Table, str]] = {
    "positions": (t.positions, "ts_last"),
    "orders": (t.orders, "ts_last"),
    "fills": (t.fills, "ts_event"),
    "signals": (t.signals, "ts_event"),
    "alerts": (t.alerts, "ts_event"),
    "risk_events": (t.risk_events, "ts_event"),
    "equity": (t.equity_snapshots, "ts_event"),
}
"""Route name -> (projection table, the time column ``since`` filters on)."""

_HIDDEN = frozenset({"session_id", "status_before_pending", "owner_token"})
_SESSION_HIDDEN = frozenset({"owner_token"})
_JSON = frozenset({"inputs", "parameters", "args"})
_NEW_YORK = "America/New_York"


@dataclass(frozen=True, slots=True)
class Page:
    """Rows of one page and the cursor of the next (None at the end)."""

    items: list[dict[str, Any]]
    next_after_seq: int | None


def _where(journal: Journal) -> str:
    return _safe_url(journal.url)


@functools.lru_cache(maxsize=16)
def _safe_url(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def _value(key: str, value: Any) -> Any:
    if key in _JSON:
        return from_json_value(value)
    if isinstance(value, float) and value != value:  # NaN (PostgreSQL keeps it; SQLite stores NULL): null
        return None
    return value


def _row(mapping: Mapping[str, Any], hidden: frozenset[str] = _HIDDEN) -> dict[str, Any]:
    return {k: _value(k, v) for k, v in mapping.items() if k not in hidden}


def session_row(journal: Journal, session_id: str) -> dict[str, Any]:
    """The ``sessions`` row (lock token hidden); JournalError if the session is unknown."""
    return _row(journal.session(session_id), _SESSION_HIDDEN)


def sessions(journal: Journal, after: str | None, since: int | None, limit: int) -> Page:
    """Sessions in creation order (``ts_created`` ns, then id); ``after`` is the last id of the previous page."""
    s = t.sessions.c
    query = sa.select(t.sessions)
    if since is not None:
        query = query.where(s.ts_created >= since)
    if after is not None:
        anchor = sa.select(s.ts_created).where(s.session_id == after).scalar_subquery()
        query = query.where(sa.or_(s.ts_created > anchor, sa.and_(s.ts_created == anchor, s.session_id > after)))
    query = query.order_by(s.ts_created, s.session_id).limit(limit + 1)
    with translate_errors(_where(journal)), journal.engine.connect() as conn:
        rows = [_row(r, _SESSION_HIDDEN) for r in conn.execute(query).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1]["session_id"] if more and rows else None)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=256)
def _page_query(name: str, with_since: bool, filters: tuple[str, ...]) -> sa.Select:
    """The page statement of table ``name`` with bind parameters (built once per shape: SQLAlchemy
    then reuses its compiled form)."""
    table, ts_column = TABLES[name]
    c = table.c
    query = sa.select(table).where(c.session_id == sa.bindparam("b_session_id"), c.seq > sa.bindparam("b_after"))
    if with_since:
        query = query.where(c[ts_column] >= sa.bindparam("b_since"))
    for column in filters:
        query = query.where(c[column] == sa.bindparam(f"b_where_{column}"))
    return query.order_by(c.seq).limit(sa.bindparam("b_limit"))


def page(journal: Journal, name: str, session_id: str, *, after_seq: int = 0, since: int | None = None,
         limit: int = 100, where: Mapping[str, Any] | None = None) -> Page:
    """One page of the projection table ``name`` (a key of :data:`TABLES`) for ``session_id``.

    ``where`` adds equality filters on columns (e.g. ``{"status": "open"}``).
    """
    filters = dict(where or {})
    query = _page_query(name, since is not None, tuple(sorted(filters)))
    params = {"b_session_id": session_id, "b_after": after_seq, "b_limit": limit + 1}
    if since is not None:
        params["b_since"] = since
    params.update({f"b_where_{k}": v for k, v in filters.items()})
    with translate_errors(_where(journal)), journal.engine.connect() as conn:
        rows = [_row(r) for r in conn.execute(query, params).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, int(rows[-1]["seq"]) if more and rows else None)


def _equity_row(conn: sa.Connection, session_id: str, *conditions: Any, newest: bool = True) -> Any:
    q = t.equity_snapshots.c
    order = q.seq.desc() if newest else q.seq
    return conn.execute(
        sa.select(t.equity_snapshots).where(q.session_id == session_id, *conditions).order_by(order).limit(1)
    ).mappings().first()


def _day_start_ns(ts_ns: int) -> int:
    """Midnight in New York (the US equity exchanges' time zone) of the day holding ``ts_ns``, in ns UTC."""
    local = pd.Timestamp(ts_ns, unit="ns", tz="UTC").tz_convert(_NEW_YORK).normalize()
    return int(local.tz_convert("UTC").value)


def pnl(journal: Journal, session_id: str) -> dict[str, Any]:
    """Profit and loss from the session's journaled account states (``AccountState`` events).

    ``equity``, ``cash``, ``realized``, ``unrealized`` and ``commissions`` are those of the
    latest account state. ``total`` = equity - starting equity (the session's ``starting_cash``
    parameter, else the first account state's equity). ``day`` = equity - the equity of the last
    account state before midnight New York time of the latest state's day (the starting equity
    when there is none). All in ``currency``; ``seq``/``ts_event`` identify the latest state
    (None and zeros before the first one).
    """
    session = journal.session(session_id)
    params = from_json_value(session["parameters"]) or {}
    q = t.equity_snapshots.c
    with translate_errors(_where(journal)), journal.engine.connect() as conn:
        latest = _equity_row(conn, session_id)
        first = _equity_row(conn, session_id, newest=False)
        before = None if latest is None else _equity_row(conn, session_id, q.ts_event < _day_start_ns(latest["ts_event"]))
    start = params.get("starting_cash") if isinstance(params, dict) else None
    if start is None:
        start = first["equity"] if first is not None else 0.0
    start = float(start)
    if latest is None:
        return {"session_id": session_id, "seq": None, "ts_event": None, "currency": "USD", "equity": start,
                "cash": start, "realized": 0.0, "unrealized": 0.0, "commissions": 0.0, "total": 0.0, "day": 0.0,
                "starting_equity": start, "day_start_equity": start}
    day_start = float(before["equity"]) if before is not None else start
    equity = float(latest["equity"])
    return {
        "session_id": session_id, "seq": int(latest["seq"]), "ts_event": int(latest["ts_event"]),
        "currency": latest["currency"], "equity": equity, "cash": float(latest["cash"]),
        "realized": float(latest["realized_pnl"]), "unrealized": float(latest["unrealized_pnl"]),
        "commissions": float(latest["commissions"]), "total": equity - start, "day": equity - day_start,
        "starting_equity": start, "day_start_equity": day_start,
    }


def risk(journal: Journal, session_id: str) -> dict[str, Any]:
    """Trading state and risk limits with their usage.

    ``trading_state``/``reason``: the latest ``TradingStateChanged`` (``ACTIVE`` when none).
    ``limits``: per rule, the latest journaled ``RiskEvent`` that carried a value and a limit
    (``set_limit`` changes excluded: they carry the new and the old limit, not a reading), with
    ``used_percent`` = 100 x |value| / |limit| (the dashboard's definition,
    :func:`workbench.widgets.status.limits_used`). ``configured``: the risk section of the
    session's config when it was started from one, else None.
    """
    session = journal.session(session_id)
    r = t.risk_events.c
    with translate_errors(_where(journal)), journal.engine.connect() as conn:
        state = conn.execute(
            sa.select(r.state, r.message, r.seq).where(r.session_id == session_id, r.kind == "trading_state")
            .order_by(r.seq.desc()).limit(1)
        ).first()
        newest = (
            sa.select(r.rule, sa.func.max(r.seq).label("seq"))
            .where(r.session_id == session_id, r.kind == "risk", r.action != "set_limit", r.value.is_not(None),
                   r.limit.is_not(None))
            .group_by(r.rule).subquery()
        )
        rows = conn.execute(
            sa.select(r.rule, r.value, r.limit, r.ts_event, r.seq)
            .join(newest, sa.and_(r.seq == newest.c.seq, r.rule == newest.c.rule))
            .where(r.session_id == session_id).order_by(r.rule)
        ).mappings().all()
    limits = []
    for row in rows:
        limit = abs(float(row["limit"]))
        used = 100.0 * abs(float(row["value"])) / limit if limit > 0 else None
        limits.append({**row, "used_percent": used})
    params = from_json_value(session["parameters"]) or {}
    config = params.get("config") if isinstance(params, dict) else None
    return {
        "session_id": session_id,
        "trading_state": "ACTIVE" if state is None else str(state.state),
        "reason": "" if state is None else str(state.message),
        "state_seq": None if state is None else int(state.seq),
        "limits": limits,
        "configured": config.get("risk") if isinstance(config, dict) else None,
    }


def health(journal: Journal, session_id: str, window_seconds: float = 10.0) -> dict[str, Any]:
    """Health of a session from the journal: last seq, event age and rate, engine heartbeat, connections.

    ``connections`` maps each component (``feed``, ``broker``, ...) to its latest
    ``ConnectionStatusChanged`` (``connected``, ``detail``, ``ts_event``); the seconds are wall
    clock (``ts_written``/heartbeat vs now).
    """
    session = journal.session(session_id)
    e = t.events.c
    now = time.time_ns()
    with translate_errors(_where(journal)), journal.engine.connect() as conn:
        newest = conn.execute(
            sa.select(e.ts_written).where(e.session_id == session_id).order_by(e.seq.desc()).limit(1)
        ).first()
        recent = conn.execute(
            sa.select(sa.func.count()).where(e.session_id == session_id, e.ts_written >= now - int(window_seconds * 1e9))
        ).scalar_one()
        links = conn.execute(
            sa.select(e.payload).where(e.session_id == session_id, e.type == "ConnectionStatusChanged")
            .order_by(e.seq.desc()).limit(50)
        ).scalars().all()
    connections: dict[str, dict[str, Any]] = {}
    for payload in links:
        event = journal.codec.loads(payload)
        connections.setdefault(event.component, {"connected": bool(event.connected), "detail": event.detail,
                                                 "ts_event": event.ts_event})
    heartbeat = session.get("ts_heartbeat")
    return {
        "session_id": session_id,
        "status": session["status"],
        "mode": session["mode"],
        "last_seq": int(session["last_seq"]),
        "last_event_age": None if newest is None else max(0.0, (now - newest.ts_written) / 1e9),
        "event_rate": recent / window_seconds,
        "heartbeat_age": None if heartbeat is None else max(0.0, (now - heartbeat) / 1e9),
        "owner_pid": session.get("owner_pid"),
        "owner_host": session.get("owner_host"),
        "connections": connections,
    }
