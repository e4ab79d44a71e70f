"""What the widgets read: one session of a journal, as bounded DataFrames refreshed cheaply.

:class:`JournalView` wraps a :class:`~workbench.persistence.Journal` and a session id. Its
:meth:`~JournalView.snapshot` returns a :class:`Snapshot` (the latest rows of every read model,
system-health numbers and the tail of the event log). Between two calls it asks the database one
cheap question first (the session's ``last_seq``); when nothing was appended it reuses the frames
of the previous snapshot and only re-reads the command queue and the clock-dependent health
numbers. Every frame is limited to a fixed number of rows, so memory stays bounded however long a
session runs.

The view only reads (and, through :meth:`JournalView.submit_command`, queues commands); it never
runs an engine (DESIGN rule 8).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench.persistence import Journal
from workbench.persistence import schema as t

__all__ = ["HEALTH_WINDOW_SECONDS", "ROW_LIMITS", "Health", "JournalView", "Snapshot", "event_summary"]

ROW_LIMITS: dict[str, int] = {
    "orders": 200,
    "denied": 50,
    "fills": 200,
    "equity": 5000,
    "signals": 100,
    "risk_events": 100,
    "alerts": 100,
    "commands": 20,
    "log": 60,
}
"""Most rows kept per frame of a :class:`Snapshot` (the newest ones)."""

HEALTH_WINDOW_SECONDS = 10.0
"""Window (s) over which :attr:`Health.event_rate` counts journaled events."""

_CONNECTION = "ConnectionStatusChanged"
CONNECTION_EVENTS = 200
"""Newest ConnectionStatusChanged events read for the connection states and reconnect counts."""
DAY_TIMEZONE = "America/New_York"
"""Time zone whose calendar day defines "today" (the exchange's)."""


def _day(ts: pd.Timestamp | None) -> str:
    return "" if ts is None else ts.tz_convert(DAY_TIMEZONE).strftime("%Y-%m-%d")

_MAX_LATENCY_MS = 3_600_000.0  # a larger ts_written - ts_event gap means replayed (historical) event times

LOG_CATEGORIES: dict[str, tuple[str, ...] | None] = {
    "all": None,
    "orders": (
        "OrderInitialized", "OrderDenied", "OrderSubmitted", "OrderAccepted", "OrderRejected", "OrderTriggered",
        "OrderPendingCancel", "OrderCanceled", "OrderCancelRejected", "OrderPendingReplace", "OrderModified",
        "OrderModifyRejected", "OrderExpired", "OrderFilled",
    ),
    "positions": ("PositionOpened", "PositionChanged", "PositionClosed", "AccountState"),
    "risk": ("RiskEvent", "TradingStateChanged", "OrderDenied", "AlertRaised"),
    "commands": ("CommandReceived", "CommandAcknowledged"),
    "session": ("SessionStarted", "SessionStopped", _CONNECTION, "ReconciliationCorrected"),
}
"""Event-type groups selectable in the log view (None = every type)."""


@dataclass(frozen=True, slots=True)
class Health:
    """System health of a session, computed from the journal.

    Attributes
    ----------
    last_seq : int
        Highest seq journaled (0 if none).
    last_event_age : float | None
        Seconds since the newest event was written (wall clock), None without events.
    event_rate : float
        Events written per second over the last :data:`HEALTH_WINDOW_SECONDS` seconds.
    latency_ms : float | None
        ``ts_written - ts_event`` of the newest event in milliseconds (how late the engine
        journals what happened); None for backtests and for replays whose event times are
        historical (gap over an hour).
    heartbeat_age : float | None
        Seconds since the engine holding the session lock last sent a heartbeat; None when no
        process holds the session.
    owner : str
        ``"<owner label> pid <pid> on <host>"`` of the lock holder, or ``""``.
    connections : dict[str, tuple[bool, str, pd.Timestamp]]
        Latest ConnectionStatusChanged per component (e.g. ``"feed"``, ``"broker"``):
        ``(connected, detail, when)``.
    reconnects : dict[str, int]
        Per component, how many times it came back up after being down (among the newest
        :data:`CONNECTION_EVENTS` ConnectionStatusChanged events).
    last_event_time : pd.Timestamp | None
        ``ts_event`` of the newest event (the session's data time), tz-aware UTC.
    link_health : dict[str, tuple[str, float | None]]
        Latest ConnectionHealthReported per live adapter component: ``(detail, last_message_age)``
        (e.g. IB's client id, pacing and message age; seconds).
    """

    last_seq: int = 0
    last_event_age: float | None = None
    event_rate: float = 0.0
    latency_ms: float | None = None
    heartbeat_age: float | None = None
    owner: str = ""
    connections: dict[str, tuple[bool, str, pd.Timestamp]] = field(default_factory=dict)
    reconnects: dict[str, int] = field(default_factory=dict)
    last_event_time: pd.Timestamp | None = None
    link_health: dict[str, tuple[str, float | None]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the widgets show for one session at one moment.

    Frames come from the journal's read models (see :class:`~workbench.persistence.Journal`),
    limited to the newest :data:`ROW_LIMITS` rows; times are tz-aware UTC. ``live_positions`` is
    the running engine's positions frame (with marks and unrealized P&L) when a live session
    object was given, else None. ``log`` has columns ``seq``, ``ts_event``, ``type``, ``summary``
    (newest first). ``trading_state`` is ``(state, reason)`` of the latest TradingStateChanged
(``("ACTIVE", "")`` when there is none); ``trading_state_since`` / ``trading_state_seq`` are its
    time and seq (None when there is none), ``trading_state_by`` the source of the command being
    carried out when it changed (``""``: a risk rule or the engine). ``changed`` is False when no event was appended since
    the previous snapshot. ``stop_reason`` is the reason of the latest SessionStopped (``""``).
    ``counts_today`` counts ``orders`` created, ``fills``, ``rejections`` (REJECTED orders) and
    ``denials`` (DENIED orders) on ``day``, the New York calendar day of the session's data time.
    """

    session_id: str
    session: dict[str, Any]
    positions: pd.DataFrame
    orders: pd.DataFrame
    fills: pd.DataFrame
    equity: pd.DataFrame
    signals: pd.DataFrame
    risk_events: pd.DataFrame
    alerts: pd.DataFrame
    commands: pd.DataFrame
    log: pd.DataFrame
    health: Health
    trading_state: tuple[str, str] = ("ACTIVE", "")
    live_positions: pd.DataFrame | None = None
    changed: bool = True
    trading_state_since: pd.Timestamp | None = None
    trading_state_seq: int | None = None
    trading_state_by: str = ""
    stop_reason: str = ""
    counts_today: dict[str, int] = field(default_factory=dict)
    day: str = ""

    @property
    def data_time(self) -> pd.Timestamp | None:
        """``ts_event`` of the session's newest event (tz-aware UTC), None without events."""
        return self.health.last_event_time
    ts_taken: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC"))


def event_summary(event: Any, limit: int = 160) -> str:
    """One line ``field=value ...`` describing an event (``ts_event`` left out), at most ``limit`` chars."""
    parts = []
    for f in dataclasses.fields(event):
        if f.name == "ts_event":
            continue
        value = getattr(event, f.name)
        if value in (None, "", (), {}):
            continue
        if isinstance(value, float):
            value = f"{value:,.4f}".rstrip("0").rstrip(".")
        parts.append(f"{f.name}={value}")
    text = " ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class JournalView:
    """Read access to one session of a journal for the widgets.

    Parameters
    ----------
    journal : Journal | str | os.PathLike
        An open journal, or its URL/path (opened here).
    session_id : str | None
        The session shown; None until one is chosen (snapshots are then empty).
    live : object, optional
        A running paper/live session object (``workbench.engine.live``); when it has an
        ``engine`` attribute, positions are taken from its portfolio (with marks) and the order
        ticket submits through its engine.
    """

    def __init__(self, journal: Journal | str | os.PathLike[str], session_id: str | None = None, *,
                 live: Any = None) -> None:
        self.journal = journal if isinstance(journal, Journal) else Journal(journal)
        self.live = live
        self._session_id = session_id
        self._cache: Snapshot | None = None
        self.log_types: tuple[str, ...] | None = None
        self.commands_every = 2.0
        self._commands_dirty = True
        self._commands_read = 0.0

    # ---------------------------------------------------------------------------- session
    @property
    def session_id(self) -> str | None:
        return self._session_id

    @session_id.setter
    def session_id(self, value: str | None) -> None:
        if value != self._session_id:
            self._session_id = value
            self._cache = None

    def set_log_types(self, types: tuple[str, ...] | None) -> None:
        """Show only these event types in the log (None: all); takes effect at the next snapshot."""
        if types != self.log_types:
            self.log_types = types
            self._cache = None

    def sessions(self) -> pd.DataFrame:
        """The journal's sessions, newest first."""
        return self.journal.sessions()

    def submit_command(self, name: str, args: Mapping[str, Any] | None = None, source: str = "dashboard") -> int:
        """Queue a control command for the shown session; return its command id.

        Raises
        ------
        ValueError
            No session is selected.
        CommandError
            Unknown command or bad args (see :func:`workbench.persistence.validate_command`).
        """
        if self._session_id is None:
            raise ValueError("no session selected: choose a session before sending a command")
        command_id = self.journal.submit_command(self._session_id, name, args, source=source)
        self._commands_dirty = True
        return command_id

    # ---------------------------------------------------------------------------- snapshot
    def snapshot(self) -> Snapshot:
        """Read the session's current state.

        Only the frames touched by the event types appended since the previous snapshot are
        re-read (e.g. a fill re-reads orders, fills, positions, equity and the log, not signals
        or alerts). The command queue is re-read when a command event was journaled, after
        :meth:`submit_command`, and at least every :attr:`commands_every` seconds (commands
        queued by other processes). Health is recomputed every time.

        Raises
        ------
        ValueError
            No session is selected.
        JournalError
            Unknown session or a database failure.
        """
        sid = self._session_id
        if sid is None:
            raise ValueError("no session selected")
        j = self.journal
        session = j.session(sid)
        last_seq = int(session["last_seq"])
        health = self._health(sid, session)
        cached = self._cache
        if cached is None:
            stale = set(_FRAMES) | {"commands", "log", "trading_state", "counts", "stop_reason"}
        elif cached.health.last_seq == last_seq:
            stale = set()
        else:
            stale = self._stale(sid, cached.health.last_seq)
        now = time.monotonic()
        if self._commands_dirty or now - self._commands_read >= self.commands_every:
            stale.add("commands")
        values: dict[str, Any] = {}
        for name in stale & set(_FRAMES):
            if name == "equity" and cached is not None:
                values[name] = _append_equity(j, sid, cached.equity)
            else:
                values[name] = _FRAMES[name](j, sid)
        if "commands" in stale:
            values["commands"] = j.commands(sid, limit=ROW_LIMITS["commands"])
            self._commands_dirty = False
            self._commands_read = now
        if "log" in stale:
            values["log"] = self._log(sid)
        if "trading_state" in stale:
            values["trading_state"], values["trading_state_since"], values["trading_state_seq"] = (
                self._trading_state(sid))
            values["trading_state_by"] = self._state_changed_by(sid, values["trading_state_seq"])
        day = _day(health.last_event_time)
        if "counts" in stale or cached is None or cached.day != day:
            values["counts_today"] = self._counts(sid, health.last_event_time)
            values["day"] = day
        if "stop_reason" in stale:
            values["stop_reason"] = self._stop_reason(sid)
        common = {"session": session, "health": health, "live_positions": self._live_positions(),
                  "changed": bool(stale - {"commands"}), "ts_taken": pd.Timestamp.now(tz="UTC")}
        if cached is None:
            snap = Snapshot(session_id=sid, **values, **common)
        else:
            snap = dataclasses.replace(cached, **values, **common)
        self._cache = snap
        return snap

    def _stale(self, sid: str, after_seq: int) -> set[str]:
        """Names of the snapshot parts changed by the event types appended after ``after_seq``."""
        e = t.events.c
        with self.journal.engine.connect() as conn:
            types = set(conn.execute(
                sa.select(e.type).where(e.session_id == sid, e.seq > after_seq).distinct()
            ).scalars())
        stale = {"log"}
        for name, changing in _CHANGED_BY.items():
            if types & changing:
                stale.add(name)
        return stale

    def _trading_state(self, sid: str) -> tuple[tuple[str, str], pd.Timestamp | None, int | None]:
        r = t.risk_events.c
        with self.journal.engine.connect() as conn:
            row = conn.execute(
                sa.select(r.state, r.message, r.ts_event, r.seq)
                .where(r.session_id == sid, r.kind == "trading_state")
                .order_by(r.seq.desc())
                .limit(1)
            ).first()
        if row is None:
            return ("ACTIVE", ""), None, None
        return (str(row.state), str(row.message)), pd.Timestamp(int(row.ts_event), unit="ns", tz="UTC"), int(row.seq)

    def _state_changed_by(self, sid: str, seq: int | None) -> str:
        """``"<source> (command #<id>)"`` when the trading-state change at ``seq`` happened while a
        command was being carried out (its CommandReceived is the newest before ``seq`` and was not
        acknowledged before it), else ``""`` (a risk rule or the engine itself)."""
        if seq is None:
            return ""
        e = t.events.c
        with self.journal.engine.connect() as conn:
            rows = conn.execute(
                sa.select(e.type, e.payload).where(
                    e.session_id == sid, e.seq < seq, e.type.in_(("CommandReceived", "CommandAcknowledged")))
                .order_by(e.seq.desc()).limit(1)
            ).all()
        if not rows or rows[0].type != "CommandReceived":
            return ""
        received = self.journal.codec.loads(rows[0].payload)
        return f"{received.source or 'command'} ({received.name} command #{received.command_id})"

    def _stop_reason(self, sid: str) -> str:
        e = t.events.c
        with self.journal.engine.connect() as conn:
            payload = conn.execute(
                sa.select(e.payload).where(e.session_id == sid, e.type == "SessionStopped")
                .order_by(e.seq.desc()).limit(1)
            ).scalar()
        return "" if payload is None else str(getattr(self.journal.codec.loads(payload), "reason", ""))

    def _counts(self, sid: str, data_time: pd.Timestamp | None) -> dict[str, int]:
        """Orders created, fills, rejections and denials on the New York day of ``data_time``."""
        if data_time is None:
            return {"orders": 0, "fills": 0, "rejections": 0, "denials": 0}
        start = data_time.tz_convert(DAY_TIMEZONE).normalize().tz_convert("UTC").value
        o, f = t.orders.c, t.fills.c
        with self.journal.engine.connect() as conn:
            by_status = dict(conn.execute(
                sa.select(o.status, sa.func.count()).where(o.session_id == sid, o.ts_init >= start).group_by(o.status)
            ).all())
            fills = conn.execute(
                sa.select(sa.func.count()).where(f.session_id == sid, f.ts_event >= start)
            ).scalar_one()
        return {"orders": int(sum(by_status.values())), "fills": int(fills),
                "rejections": int(by_status.get("REJECTED", 0)), "denials": int(by_status.get("DENIED", 0))}

    def _live_positions(self) -> pd.DataFrame | None:
        engine = getattr(self.live, "engine", None)
        portfolio = getattr(engine, "portfolio", None)
        if portfolio is None or not hasattr(portfolio, "positions_frame"):
            return None
        return portfolio.positions_frame()

    def _health(self, sid: str, session: dict[str, Any]) -> Health:
        e = t.events.c
        now = time.time_ns()
        since = now - int(HEALTH_WINDOW_SECONDS * 1e9)
        with self.journal.engine.connect() as conn:
            newest = conn.execute(
                sa.select(e.ts_event, e.ts_written).where(e.session_id == sid).order_by(e.seq.desc()).limit(1)
            ).first()
            recent = conn.execute(
                sa.select(sa.func.count()).where(e.session_id == sid, e.ts_written >= since)
            ).scalar_one()
            links = conn.execute(
                sa.select(e.seq, e.type, e.payload)
                .where(e.session_id == sid, e.type == _CONNECTION)
                .order_by(e.seq.desc())
                .limit(CONNECTION_EVENTS)
            ).all()
            reports = conn.execute(
                sa.select(e.payload).where(e.session_id == sid, e.type == "ConnectionHealthReported")
                .order_by(e.seq.desc()).limit(20)
            ).all()
        connections: dict[str, tuple[bool, str, pd.Timestamp]] = {}
        reconnects: dict[str, int] = {}
        was_up: dict[str, bool] = {}
        for _, _, payload in reversed(links):  # oldest first
            event = self.journal.codec.loads(payload)
            name, up = event.component, bool(event.connected)
            if up and was_up.get(name) is False:
                reconnects[name] = reconnects.get(name, 0) + 1
            was_up[name] = up
            reconnects.setdefault(name, 0)
            connections[name] = (up, event.detail, pd.Timestamp(event.ts_event, unit="ns", tz="UTC"))
        link_health: dict[str, tuple[str, float | None]] = {}
        for (payload,) in reports:  # newest first: keep the newest per component
            report = self.journal.codec.loads(payload)
            link_health.setdefault(report.component, (report.detail, report.last_message_age))
        heartbeat = session.get("ts_heartbeat")
        owner = ""
        if session.get("owner_pid") is not None:
            label, pid = session.get("owner_name") or "engine", str(session["owner_pid"])
            owner = f"{label}{'' if pid in label else ' pid ' + pid} on {session.get('owner_host')}"
        lag = None if newest is None else (newest.ts_written - newest.ts_event) / 1e6
        if session.get("mode") not in ("paper", "live") or lag is None or abs(lag) > _MAX_LATENCY_MS:
            lag = None  # a backtest, or a replay whose event times are historical
        return Health(
            last_seq=int(session["last_seq"]),
            last_event_age=None if newest is None else max(0.0, (now - newest.ts_written) / 1e9),
            event_rate=recent / HEALTH_WINDOW_SECONDS,
            latency_ms=lag,
            heartbeat_age=None if heartbeat is None else max(0.0, (now - heartbeat) / 1e9),
            owner=owner,
            connections=connections,
            reconnects=reconnects,
            last_event_time=None if newest is None else pd.Timestamp(int(newest.ts_event), unit="ns", tz="UTC"),
            link_health=link_health,
        )

    def _log(self, sid: str) -> pd.DataFrame:
        e = t.events.c
        query = sa.select(e.seq, e.ts_event, e.type, e.payload).where(e.session_id == sid)
        if self.log_types is not None:
            query = query.where(e.type.in_(self.log_types))
        with self.journal.engine.connect() as conn:
            rows = conn.execute(query.order_by(e.seq.desc()).limit(ROW_LIMITS["log"])).all()
        loads = self.journal.codec.loads
        return pd.DataFrame(
            {
                "seq": [r.seq for r in rows],
                "ts_event": pd.to_datetime(pd.Series([r.ts_event for r in rows], dtype="int64"), unit="ns", utc=True),
                "type": [r.type for r in rows],
                "summary": [event_summary(loads(r.payload)) for r in rows],
            }
        )


_ORDER_TYPES = frozenset(LOG_CATEGORIES["orders"] or ())


def _orders(j: Journal, sid: str) -> pd.DataFrame:
    """The newest ``ROW_LIMITS["orders"]`` orders that were not denied plus the newest
    ``ROW_LIMITS["denied"]`` denied ones, by ``ts_init``: a flood of denials (a halted strategy)
    cannot push the real trades out of the blotter."""
    from workbench.persistence import queries

    o = t.orders
    frames = []
    for where, limit in ((o.c.status != "DENIED", ROW_LIMITS["orders"]), (o.c.status == "DENIED", ROW_LIMITS["denied"])):
        query = _ORDERS_QUERY.where(o.c.session_id == sid, where).order_by(
            o.c.ts_init.desc(), o.c.order_id.desc()).limit(limit)
        frames.append(queries.frame(j.engine, "the journal", query))
    both = [f for f in frames if len(f)]
    if not both:
        return frames[0]
    return pd.concat(both, ignore_index=True).sort_values(["ts_init", "order_id"], kind="stable").reset_index(drop=True)


_ORDERS_QUERY = sa.select(t.orders)


def _append_equity(journal: Journal, sid: str, shown: pd.DataFrame) -> pd.DataFrame:
    """The newest ``ROW_LIMITS["equity"]`` account snapshots: ``shown`` plus the rows journaled after
    its last seq (the table only grows; re-reading all 5,000 rows at every fill churned the heap)."""
    from workbench.persistence.queries import frame

    if not len(shown):
        return _FRAMES["equity"](journal, sid)
    e = t.equity_snapshots
    query = sa.select(e).where(e.c.session_id == sid, e.c.seq > int(shown["seq"].iloc[-1])).order_by(e.c.seq)
    new = frame(journal.engine, journal.display_url, query)
    if not len(new):
        return shown
    both = pd.concat([shown, new], ignore_index=True)
    return both.iloc[-ROW_LIMITS["equity"]:].reset_index(drop=True)


_FRAMES: dict[str, Any] = {
    "positions": lambda j, sid: j.positions(sid),
    "orders": lambda j, sid: _orders(j, sid),
    "fills": lambda j, sid: j.fills(sid, limit=ROW_LIMITS["fills"]),
    "equity": lambda j, sid: j.equity(sid, limit=ROW_LIMITS["equity"]),
    "signals": lambda j, sid: j.signals(sid, limit=ROW_LIMITS["signals"]),
    "risk_events": lambda j, sid: j.risk_events(sid, limit=ROW_LIMITS["risk_events"]),
    "alerts": lambda j, sid: j.alerts(sid, limit=ROW_LIMITS["alerts"]),
}
"""How each frame of a snapshot is read."""

_CHANGED_BY: dict[str, frozenset[str]] = {
    "positions": frozenset({"PositionOpened", "PositionChanged", "PositionClosed", "ReconciliationCorrected"}),
    "orders": _ORDER_TYPES | {"ReconciliationCorrected"},
    "fills": frozenset({"OrderFilled", "ReconciliationCorrected"}),
    "equity": frozenset({"AccountState"}),
    "signals": frozenset({"SignalGenerated"}),
    "risk_events": frozenset({"RiskEvent", "OrderDenied", "TradingStateChanged"}),
    "alerts": frozenset({"AlertRaised"}),
    "trading_state": frozenset({"TradingStateChanged"}),
    "counts": _ORDER_TYPES,
    "stop_reason": frozenset({"SessionStopped", "SessionStarted"}),
    "commands": frozenset({"CommandReceived", "CommandAcknowledged"}),
}
"""Event types whose arrival makes each part of a snapshot stale."""
