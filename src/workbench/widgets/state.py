"""What state a session is in, read from the journal, and the banner that shows it.

:func:`session_state` answers the operator's first question from a
:class:`~workbench.widgets.source.Snapshot` alone (DESIGN rule 8: the dashboard reads the journal):

=========  ====================================================================================
state      when (checked in this order)
=========  ====================================================================================
STOPPED    the session row is ``stopped`` (a ``SessionStopped`` was journaled)
FAILED     the row says ``running`` but no process holds the session lock (the engine died
           without journaling ``SessionStopped``), the holder is a dead process on this host, or
           the holder's heartbeat is older than
           ``stale_after`` seconds (the engine stopped responding)
HALTED     the latest ``TradingStateChanged`` is HALTED (kill switch or a breaker);
           ``reason`` is its reason, ``since`` its time, ``by`` the source of the ``kill``
           command that caused it (``"dashboard"``, ``"cli"``, ...) or ``"risk engine"``
PAUSED     the latest acknowledged ``pause``/``resume`` command is ``pause``
REDUCE_ONLY the latest ``TradingStateChanged`` is REDUCE_ONLY (a breaker)
RUNNING    otherwise, for a session whose row is ``running``; a session never started is
           CREATED
=========  ====================================================================================

The banner (:class:`StateBanner`) shows the state in colour with reason, since when and by whom,
the data time and, for a replay, the share of its data consumed (:func:`banner_progress`), the
heartbeat age, the feed and broker connections and today's counts of orders, fills, rejections
and denials.
"""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from workbench.widgets.base import Component
from workbench.widgets.html import HtmlPane
from workbench.widgets.source import Snapshot

__all__ = ["STATE_COLOURS", "STALE_HEARTBEAT_SECONDS", "SessionState", "StateBanner", "session_state"]

STALE_HEARTBEAT_SECONDS = 30.0
"""Heartbeat age (s) beyond which a running session is shown as FAILED (the session lock's
take-over age, :meth:`Journal.acquire_session`)."""

STATE_COLOURS: dict[str, str] = {
    "RUNNING": "#1a7f37",
    "PAUSED": "#b26a00",
    "REDUCE_ONLY": "#b26a00",
    "HALTED": "#c62828",
    "FAILED": "#7b1fa2",
    "STOPPED": "#546e7a",
    "CREATED": "#546e7a",
}
"""Background colour of the banner per state."""


@dataclass(frozen=True, slots=True)
class SessionState:
    """State of a session (see the module docstring for the rules).

    ``since`` is when the state began (tz-aware UTC, None if unknown); ``by`` who caused it
    (command source, ``"risk engine"``, or ``""``).
    """

    state: str
    reason: str = ""
    since: pd.Timestamp | None = None
    by: str = ""

    @property
    def trading_allowed(self) -> bool:
        """True when a new (non-reducing) order could be accepted: RUNNING only."""
        return self.state == "RUNNING"


def _paused(commands: pd.DataFrame) -> tuple[bool, pd.Timestamp | None, str]:
    """(paused, since, by) from the latest acknowledged pause/resume command."""
    if commands is None or not len(commands):
        return False, None, ""
    done = commands[commands["name"].isin(["pause", "resume"]) & commands["status"].eq("acknowledged")]
    if not len(done):
        return False, None, ""
    key = "ack_seq" if "ack_seq" in done else "command_id"
    last = done.sort_values(key).iloc[-1]
    if last["name"] != "pause":
        return False, None, ""
    since = last.get("ts_acknowledged")
    return True, (None if since is None or pd.isna(since) else pd.Timestamp(since)), str(last.get("source") or "")


def _halted_by(snapshot: Snapshot) -> str:
    """Source of the command that halted trading (e.g. ``"dashboard (kill command #3)"``), else
    ``"risk engine"``."""
    return snapshot.trading_state_by or "risk engine"


def session_state(snapshot: Snapshot, *, stale_after: float = STALE_HEARTBEAT_SECONDS) -> SessionState:
    """The state of the snapshot's session (rules in the module docstring)."""
    session = snapshot.session
    status = str(session.get("status") or "")
    stopped_at = session.get("ts_stopped")
    if status == "stopped":
        reason = snapshot.stop_reason
        return SessionState("STOPPED", reason, _ts(stopped_at), "")
    if status != "running":
        return SessionState("CREATED", "not started yet", _ts(session.get("ts_created")))
    health = snapshot.health
    if _dead(session):
        last = snapshot.data_time
        return SessionState("FAILED", "the engine ended without stopping the session (crash?); resume it with "
                            "workbench paper --resume", _ts(session.get("ts_heartbeat")) or last, "")
    if health.heartbeat_age is not None and health.heartbeat_age > stale_after:
        return SessionState("FAILED", f"engine not responding: no heartbeat for {health.heartbeat_age:,.0f} s",
                            _ts(session.get("ts_heartbeat")), health.owner)
    state, reason = snapshot.trading_state
    if state == "HALTED":
        return SessionState("HALTED", reason, snapshot.trading_state_since, _halted_by(snapshot))
    paused, since, by = _paused(snapshot.commands)
    if paused:
        return SessionState("PAUSED", "strategies receive no data; working orders stay", since, by)
    if state == "REDUCE_ONLY":
        return SessionState("REDUCE_ONLY", reason, snapshot.trading_state_since, "risk engine")
    return SessionState("RUNNING", "", _ts(session.get("ts_started")), health.owner)


def _dead(session: dict[str, Any]) -> bool:
    """No process holds the session lock, or its holder runs on this host and is gone."""
    if session.get("owner_pid") is None:
        return True
    if session.get("owner_host") != socket.gethostname():
        return False
    from workbench.persistence.locking import pid_alive

    return not pid_alive(int(session["owner_pid"]))


def _ts(value: Any) -> pd.Timestamp | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, int | float):
        return pd.Timestamp(int(value), unit="ns", tz="UTC")
    return pd.Timestamp(value)


def _when(ts: pd.Timestamp | None) -> str:
    return "-" if ts is None else ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def banner_progress(snapshot: Snapshot) -> float | None:
    """Share (0..1) of a paper session's replayed data consumed at its data time, from the checkpoints
    journaled with the session (:mod:`workbench.feeds.progress`); 1 once the session stopped at the
    end of its data; None for a session without them (live data, an older journal)."""
    parameters = snapshot.session.get("parameters")
    checkpoints = parameters.get("replay") if isinstance(parameters, dict) else None
    if not checkpoints:
        return None
    from workbench.feeds.progress import replay_progress  # the feeds package loads exchange_calendars

    data_time = None if snapshot.data_time is None else int(snapshot.data_time.value)
    share = replay_progress(checkpoints, data_time)
    if share is not None and snapshot.session.get("status") == "stopped" and snapshot.stop_reason == "end of data":
        return 1.0
    return share


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:,.0f} s ago" if seconds >= 10 else f"{seconds:,.1f} s ago"


class StateBanner(Component):
    """A coloured banner across the top: state, reason, since when and by whom; data time, heartbeat,
    connections and today's counts.

    The state text has class ``wb-state wb-state-<STATE>``; the reason ``wb-state-reason``; the
    counts ``wb-count-<name>`` (orders, fills, rejections, denials).
    """

    volatile = True

    def __init__(self, *args: Any, stale_after: float = STALE_HEARTBEAT_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stale_after = stale_after
        self.pane = HtmlPane()
        self.state: SessionState | None = None
        self.children = (self.pane,)

    def update(self, snapshot: Snapshot) -> None:
        st = session_state(snapshot, stale_after=self.stale_after)
        self.state = st
        colour = STATE_COLOURS.get(st.state, "#546e7a")
        details = []
        if st.reason:
            details.append(f"<span class='wb-state-reason'>{escape(st.reason)}</span>")
        if st.since is not None:
            details.append(f"since <span class='wb-state-since'>{escape(_when(st.since))}</span>")
        if st.by:
            details.append(f"by <span class='wb-state-by'>{escape(st.by)}</span>")
        h = snapshot.health
        links = []
        for name, (ok, detail, _) in sorted(h.connections.items()):
            tone = "wb-link-up" if ok else "wb-link-down"
            links.append(f"<span class='wb-link {tone}' title='{escape(detail)}'>{escape(name)}: "
                         f"{'up' if ok else 'DOWN'}</span>")
        counts = snapshot.counts_today
        count_html = " ".join(
            f"{label} <b class='wb-count-{key}'>{counts.get(key, 0)}</b>"
            for key, label in (("orders", "orders"), ("fills", "fills"), ("rejections", "rejected"),
                               ("denials", "denied")))
        session = snapshot.session
        data_time = "-" if snapshot.data_time is None else snapshot.data_time.strftime("%Y-%m-%d %H:%M:%S UTC")
        share = banner_progress(snapshot)
        progress = "" if share is None else (
            f" &middot; replay <b class='wb-replay-progress'>{share:.0%}</b>"
            f"<span class='wb-replay-bar'><span style='width:{share * 100:.0f}%'></span></span>")
        self.pane.show(
            f"<div class='wb-banner' style='background:{colour}' data-state='{escape(st.state)}'>"
            f"<div class='wb-banner-main'><span class='wb-state wb-state-{escape(st.state)}'>{escape(st.state)}</span>"
            f" <span class='wb-banner-session'>{escape(str(session.get('session_id', '')))} "
            f"({escape(str(session.get('mode', '')))}, {escape(str(session.get('strategy', '')))})</span>"
            f"<span class='wb-banner-details'>{' &middot; '.join(details)}</span></div>"
            f"<div class='wb-banner-info'>data time <b class='wb-data-time'>{escape(data_time)}</b>{progress}"
            f" &middot; heartbeat <b class='wb-heartbeat'>{escape(_age(h.heartbeat_age))}</b>"
            f" &middot; {' '.join(links) or 'no connection events'}"
            f" &middot; today ({escape(snapshot.day)}): {count_html}</div></div>"
        )
