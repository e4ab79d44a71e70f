"""Connection health of a session's live adapters, read from the journal (the dashboard's health panel).

Live clients journal ``ConnectionStatusChanged`` on every state change and
``ConnectionHealthReported`` every few seconds (see :mod:`workbench.adapters.base`); this module
turns them into one row per connection, for any reader of the journal (Voila dashboard, CLI,
service). It never talks to a broker.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.model import events as ev

COLUMNS = ["component", "state", "connected", "since", "reconnects", "messages", "last_message_age",
           "rate_limit_hits", "errors", "detail", "reported_at"]
"""Columns of :func:`connection_health`: ``since`` / ``reported_at`` tz-aware UTC (the session's
event time); ``last_message_age`` seconds, as of the latest health report (``reported_at``)."""


def connection_health(journal: Any, session_id: str) -> pd.DataFrame:
    """Latest state and health per live connection of ``session_id`` (empty without live adapters).

    Parameters
    ----------
    journal : Journal
    session_id : str
    """
    status: dict[str, ev.ConnectionStatusChanged] = {}
    health: dict[str, ev.ConnectionHealthReported] = {}
    for event in journal.events(session_id, types=["ConnectionStatusChanged", "ConnectionHealthReported"]):
        if type(event) is ev.ConnectionStatusChanged and event.state:
            status[event.component] = event
        elif type(event) is ev.ConnectionHealthReported:
            health[event.component] = event
    rows = []
    for component in sorted(set(status) | set(health)):
        s = status.get(component)
        h = health.get(component)
        age = h.last_message_age if h is not None else None
        rows.append({
            "component": component, "state": s.state if s else (h.state if h else ""),
            "connected": bool(s.connected) if s else (h is not None and h.state == "CONNECTED"),
            "since": pd.Timestamp(s.ts_event, unit="ns", tz="UTC") if s else pd.NaT,
            "reconnects": h.reconnects if h else 0, "messages": h.messages if h else 0, "last_message_age": age,
            "rate_limit_hits": h.rate_limit_hits if h else 0, "errors": h.errors if h else 0,
            "detail": (s.detail if s else "") or (h.detail if h else ""),
            "reported_at": pd.Timestamp(h.ts_event, unit="ns", tz="UTC") if h else pd.NaT,
        })
    return pd.DataFrame(rows, columns=COLUMNS)

