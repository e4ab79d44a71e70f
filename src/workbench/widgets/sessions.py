"""The session list: every session of the journal with its state, P&L and health at a glance.

:func:`session_rows` reads, for the newest ``limit`` sessions, the session row, the latest
AccountState, the latest trading-state change and the command queue, and derives each session's
state with the same rules as the banner (:func:`workbench.widgets.state.session_state`). A
finished session picked from the list opens as a post-mortem with the same panels.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench.persistence import Journal
from workbench.persistence import schema as t
from workbench.widgets.html import money, table_html
from workbench.widgets.source import Health, Snapshot
from workbench.widgets.state import STATE_COLOURS, session_state

__all__ = ["SESSION_COLUMNS", "session_rows", "sessions_html"]

SESSION_COLUMNS = ("session_id", "mode", "strategy", "state", "reason", "pnl", "equity", "heartbeat_age",
                   "ts_created")
_EMPTY = pd.DataFrame()


def _latest(conn: sa.Connection, table: sa.Table, sid: str, *where: Any) -> Any:
    return conn.execute(sa.select(table).where(table.c.session_id == sid, *where)
                        .order_by(table.c.seq.desc()).limit(1)).mappings().first()


def session_rows(journal: Journal, limit: int = 20) -> pd.DataFrame:
    """The newest ``limit`` sessions with :data:`SESSION_COLUMNS` (``pnl`` = realized + unrealized
    of the latest AccountState, currency; ``heartbeat_age`` in seconds, NaN without a holder)."""
    sessions = journal.sessions().head(limit)
    now = time.time_ns()
    rows = []
    records = sessions.to_dict("records")
    with journal.engine.connect() as conn:  # one connection (an in-memory SQLite has only one)
        latest = {s["session_id"]: (_latest(conn, t.equity_snapshots, s["session_id"]),
                                    _latest(conn, t.risk_events, s["session_id"],
                                            t.risk_events.c.kind == "trading_state")) for s in records}
    for s in records:
        sid = s["session_id"]
        account, halt = latest[sid]
        commands = journal.commands(sid, limit=20)
        raw = journal.session(sid)
        heartbeat = raw.get("ts_heartbeat")
        age = None if heartbeat is None else max(0.0, (now - heartbeat) / 1e9)
        snap = Snapshot(
            session_id=sid, session=raw, positions=_EMPTY, orders=_EMPTY, fills=_EMPTY, equity=_EMPTY,
            signals=_EMPTY, risk_events=_EMPTY, alerts=_EMPTY, commands=commands, log=_EMPTY,
            health=Health(last_seq=int(raw["last_seq"]), heartbeat_age=age),
            trading_state=("ACTIVE", "") if halt is None else (str(halt["state"]), str(halt["message"])),
            trading_state_since=None if halt is None else pd.Timestamp(int(halt["ts_event"]), unit="ns", tz="UTC"),
            trading_state_seq=None if halt is None else int(halt["seq"]),
        )
        st = session_state(snap)
        pnl = equity = float("nan")
        if account is not None:
            pnl = float(account["realized_pnl"] or 0.0) + float(account["unrealized_pnl"] or 0.0)
            equity = float(account["equity"])
        rows.append((sid, s["mode"], s["strategy"], st.state, st.reason, pnl, equity,
                     float("nan") if age is None else age, s["ts_created"]))
    return pd.DataFrame(rows, columns=list(SESSION_COLUMNS))


def sessions_html(frame: pd.DataFrame, current: str | None) -> str:
    """The session list as a table (class ``wb-sessions``); the shown session's row has class
    ``wb-current``, the state cell the state's colour."""
    def state_cell(row: dict[str, Any]) -> str:
        return "wb-current" if row["session_id"] == current else ""

    html = table_html(frame, "sessions", {"session_id": "session", "mode": "mode", "strategy": "strategy",
                                          "state": "state", "pnl": "P&L", "equity": "equity",
                                          "heartbeat_age": "heartbeat", "ts_created": "created"},
                      {"pnl": money, "equity": money,
                       "heartbeat_age": lambda v: "-" if pd.isna(v) else f"{v:,.0f} s ago"},
                      empty="no sessions", row_class=state_cell)
    for state, colour in STATE_COLOURS.items():
        html = html.replace(f"<td data-column='state'>{state}</td>",
                            f"<td data-column='state' style='color:{colour};font-weight:600'>{state}</td>")
    return html
