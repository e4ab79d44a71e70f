"""Read models as pandas DataFrames (the dashboard's and the analytics' queries).

Timestamp columns (``ts_*``) come back as tz-aware UTC ``datetime64[ns]`` (exact: the ns integers
are kept), JSON columns (``parameters``, ``args``, ``inputs``) as dicts. An empty result still has
the table's columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa

from workbench.persistence import schema as t
from workbench.persistence.database import translate_errors
from workbench.persistence.serde import from_json_value

__all__ = ["frame", "orders_frame", "positions_frame", "sessions_frame", "table_frame"]

_JSON_COLUMNS = {"parameters", "args", "inputs"}
_HIDDEN = {"status_before_pending", "owner_token"}


def frame(engine: sa.Engine, where: str, query: sa.Select) -> pd.DataFrame:
    """Run ``query`` and return a DataFrame with ts, float and JSON columns converted."""
    types = {col.name: col.type for col in query.selected_columns}
    with translate_errors(where), engine.connect() as conn:
        result = conn.execute(query)
        columns = [name for name in result.keys() if name not in _HIDDEN]  # noqa: SIM118
        rows = [dict(row) for row in result.mappings()]
    data = {}
    for name in columns:
        values = [row[name] for row in rows]
        kind = types.get(name)
        if name.startswith("ts_"):
            data[name] = pd.to_datetime(pd.Series(values, dtype="Int64"), unit="ns", utc=True)
        elif name in _JSON_COLUMNS:
            data[name] = pd.Series([from_json_value(v) for v in values], dtype=object)
        elif isinstance(kind, sa.Float):
            data[name] = pd.Series(values, dtype="float64")
        elif isinstance(kind, sa.Integer):
            data[name] = pd.Series(values, dtype="Int64" if None in values else "int64")
        else:
            data[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data, columns=columns)


def table_frame(
    engine: sa.Engine, where: str, table: sa.Table, session_id: str, limit: int | None, order: str = "seq"
) -> pd.DataFrame:
    """Rows of ``table`` for ``session_id`` in ``order``; with ``limit``, only the last ``limit`` rows."""
    column = table.c[order]
    query = sa.select(table).where(table.c.session_id == session_id)
    if limit is not None:
        inner = query.order_by(column.desc()).limit(int(limit)).subquery()
        query = sa.select(inner).order_by(inner.c[order])
    else:
        query = query.order_by(column)
    return frame(engine, where, query)


def orders_frame(engine: sa.Engine, where: str, session_id: str, status: Sequence[str] | None) -> pd.DataFrame:
    """Latest state per order, ordered by ``ts_init`` then ``seq``."""
    o = t.orders.c
    query = sa.select(t.orders).where(o.session_id == session_id)
    if status is not None:
        query = query.where(o.status.in_([str(x) for x in status]))
    return frame(engine, where, query.order_by(o.ts_init, o.order_id))


def positions_frame(engine: sa.Engine, where: str, session_id: str, open_only: bool) -> pd.DataFrame:
    """Latest position per symbol, ordered by symbol."""
    p = t.positions.c
    query = sa.select(t.positions).where(p.session_id == session_id)
    if open_only:
        query = query.where(p.status == "open")
    return frame(engine, where, query.order_by(p.symbol))


def sessions_frame(engine: sa.Engine, where: str) -> pd.DataFrame:
    """Every session, newest first."""
    s = t.sessions.c
    return frame(engine, where, sa.select(t.sessions).order_by(s.ts_created.desc(), s.session_id))
