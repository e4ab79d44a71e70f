"""Audit of a session's read model: rebuild the projection tables from its events and compare.

The projection tables (orders, fills, positions, equity snapshots, signals, risk events, alerts)
are written in the same transaction as the events, so they can only differ from a rebuild if
someone edited them (the issue-10 audit changed a price in ``fills``: ``verify`` passed and
``report`` showed the edited price) or the file is damaged. :func:`read_model_differences`
replays the session's events into an in-memory journal (the same projection code) and lists every
row that differs; :meth:`Journal.verify` raises on the first. :func:`quick_check` runs SQLite's
``PRAGMA quick_check`` (a cheap structural check) for the warnings of ``report``, ``journal`` and
the dashboard.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from workbench.persistence import schema as t
from workbench.persistence.database import translate_errors

if TYPE_CHECKING:
    from workbench.persistence.journal import Journal

__all__ = ["PROJECTIONS", "integrity_warning", "quick_check", "read_model_differences"]

PROJECTIONS: tuple[tuple[sa.Table, tuple[str, ...]], ...] = (
    (t.orders, ("order_id",)),
    (t.fills, ("seq",)),
    (t.positions, ("symbol",)),
    (t.equity_snapshots, ("seq",)),
    (t.signals, ("seq",)),
    (t.risk_events, ("seq",)),
    (t.alerts, ("seq",)),
)
"""The projection tables compared, each with the columns identifying a row within a session."""

_BATCH = 2000


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:  # SQLite stores NaN as NULL
            return (a is None or (isinstance(a, float) and math.isnan(a))) and \
                (b is None or (isinstance(b, float) and math.isnan(b)))
        return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return bool(a == b)


def _rows(conn: sa.Connection, table: sa.Table, key: tuple[str, ...], session_id: str) -> dict[tuple, dict]:
    query = sa.select(table).where(table.c.session_id == session_id)
    return {tuple(row[k] for k in key): dict(row) for row in conn.execute(query).mappings()}


def read_model_differences(journal: Journal, session_id: str, limit: int = 20) -> list[str]:
    """Rebuild ``session_id``'s projections from its events and compare them with the stored ones.

    Returns
    -------
    list of str
        Up to ``limit`` differences, each naming the table, the row's key, the column and both
        values (``fills seq=57: price is 171.0 in the table, 170.5 from the events``); empty when
        the read model matches the events.

    Raises
    ------
    JournalError
        The events cannot be read (checksum mismatch and the like).
    """
    from workbench.persistence.journal import Journal as _Journal

    row = journal.session(session_id)
    rebuilt = _Journal("sqlite://")
    try:
        rebuilt.create_session(session_id, mode=row["mode"], strategy=row.get("strategy") or "")
        batch: list[Any] = []
        for event in journal.events(session_id):
            batch.append(event)
            if len(batch) == _BATCH:
                rebuilt.append_many(session_id, batch)
                batch.clear()
        if batch:
            rebuilt.append_many(session_id, batch)
        out: list[str] = []
        with translate_errors(journal.display_url), journal.engine.connect() as stored_conn, \
                rebuilt.engine.connect() as rebuilt_conn:
            for table, key in PROJECTIONS:
                stored = _rows(stored_conn, table, key, session_id)
                expected = _rows(rebuilt_conn, table, key, session_id)
                for k in sorted(set(stored) | set(expected), key=repr):
                    name = f"{table.name} {', '.join(f'{c}={v}' for c, v in zip(key, k))}"
                    if k not in expected:
                        out.append(f"{name}: in the table, not produced by the events")
                    elif k not in stored:
                        out.append(f"{name}: missing from the table")
                    else:
                        for column, value in expected[k].items():
                            if not _same(stored[k].get(column), value):
                                out.append(f"{name}: {column} is {stored[k].get(column)!r} in the table, "
                                           f"{value!r} from the events")
                    if len(out) >= limit:
                        return out
        return out
    finally:
        rebuilt.close()


def quick_check(journal: Journal) -> str:
    """SQLite's ``PRAGMA quick_check`` result (``"ok"`` when the file is sound); ``"ok"`` for PostgreSQL."""
    if journal.dialect != "sqlite":
        return "ok"
    with translate_errors(journal.display_url), journal.engine.connect() as conn:
        return str(conn.exec_driver_sql("PRAGMA quick_check").scalar())


def integrity_warning(journal: Journal) -> str:
    """A one-line HTML warning when the journal file fails SQLite's quick check, else ``""`` (the dashboard's)."""
    from html import escape

    try:
        result = quick_check(journal)
    except Exception as exc:  # a file too damaged to run the check at all
        result = f"{type(exc).__name__}: {exc}"
    if result == "ok":
        return ""
    result = " ".join(result.split())
    return (f"<span class='wb-bad'>warning: journal {escape(journal.display_url)} fails SQLite's quick check "
            f"({escape(result[:200])}): its tables may be damaged; run <code>workbench journal verify</code></span>")
