"""Alerts: which events raise an alert, at what level, with what suggested action; dedupe and rate limit.

:class:`AlertManager` listens to every event the engine records (its message bus), turns the ones a
rule covers into an :class:`Alert`, drops duplicates (same key within ``dedupe_seconds``) and
alerts beyond the rate limit (``max_alerts`` per ``per_seconds``; the next alert delivered says
how many were suppressed), journals what is left as an ``AlertRaised`` event (through
``engine.record``) and hands it to the sinks (:mod:`workbench.alerts.sinks`) whose filters accept
it.

Journal first (DESIGN rule 4): an alert leaves the process only after the journal has committed the
event it reports. Alerts wait in :attr:`AlertManager.outbox` and go out when the engine's journal
writer reports a commit (``engine.after_commit``, called by the live runner's writer); when nothing
defers delivery (a backtest, an engine journaling each event synchronously) they go out at once.
This is the transactional outbox pattern (C. Richardson, *Microservices Patterns*, ch. 3).

Times are the events' ``ts_event`` (ns since epoch UTC), so a backtest alerts deterministically.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from workbench.model import events as ev
from workbench.model.enums import TradingState

if TYPE_CHECKING:
    from workbench.engine.engine import TradingEngine

NS_PER_SECOND = 1_000_000_000
_log = logging.getLogger(__name__)


class AlertLevel(StrEnum):
    """Severity of an alert."""

    CRITICAL = "CRITICAL"
    WARNING = "WARNING"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """2 for CRITICAL, 1 for WARNING, 0 for INFO."""
        return {"CRITICAL": 2, "WARNING": 1, "INFO": 0}[self.value]


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert: ``level``, ``title``, ``message``, suggested ``action``; ``source`` is the event type
    name and ``key`` identifies duplicates."""

    level: AlertLevel
    title: str
    message: str
    action: str = ""
    source: str = ""
    key: str = ""
    ts_event: int = 0


class AlertSink(Protocol):
    """Delivers alerts; ``accepts`` filters by level and source."""

    def accepts(self, alert: Alert) -> bool: ...

    def send(self, alert: Alert) -> Any: ...


AlertRule = Callable[[Any], Alert | None]


def _risk(e: ev.RiskEvent) -> Alert:
    if e.action == "hold":  # broker_disconnect: orders held until the connection is back (automatic)
        return Alert(AlertLevel.WARNING, f"New orders held ({e.rule})", e.message,
                     "Trading resumes by itself after reconnect and reconciliation; a long outage halts.",
                     key=f"risk:{e.rule}:hold")
    if e.action == "resume":
        return Alert(AlertLevel.INFO, f"Orders allowed again ({e.rule})", e.message, "", key=f"risk:{e.rule}:resume")
    level = AlertLevel.CRITICAL if e.action in ("halt", "kill") else AlertLevel.WARNING
    return Alert(level, f"Risk limit {e.rule} fired ({e.action})", e.message,
                 "Review positions and the limit; trading resumes only with the Resume command.",
                 key=f"risk:{e.rule}:{e.symbol}")


def _denied(e: ev.OrderDenied) -> Alert:
    return Alert(AlertLevel.WARNING, f"Order {e.order_id} {e.symbol} denied by {e.rule or 'risk'}", e.reason,
                 "Check the strategy's sizing or the limit in the risk config.", key=f"denied:{e.rule}:{e.symbol}")


def _rejected(e: ev.OrderRejected) -> Alert:
    return Alert(AlertLevel.WARNING, f"Order {e.order_id} {e.symbol} rejected by the broker", e.reason,
                 "Read the broker's reason; repeated rejections trip the reject_streak breaker.",
                 key=f"rejected:{e.symbol}:{e.reason}")


def _filled(e: ev.OrderFilled) -> Alert:
    return Alert(AlertLevel.INFO, f"Filled {e.side} {e.last_quantity:g} {e.symbol} @ {e.last_price:g}",
                 f"order {e.order_id}, fill {e.fill_id}, commission {e.commission:g} {e.currency}", "",
                 key=f"fill:{e.fill_id}")


def _state(e: ev.TradingStateChanged) -> Alert:
    if e.state is TradingState.HALTED:
        level, action = AlertLevel.CRITICAL, ("Trading is halted: investigate, then send Resume (a kill switch needs "
                                              "reset_kill_switch --confirm --reason ...).")
    elif e.state is TradingState.REDUCE_ONLY:
        level, action = AlertLevel.WARNING, "Only position-reducing orders pass until Resume."
    else:
        level, action = AlertLevel.INFO, ""
    return Alert(level, f"Trading state {e.state}", e.reason, action, key=f"state:{e.state}")


def _connection(e: ev.ConnectionStatusChanged) -> Alert:
    if e.connected:
        return Alert(AlertLevel.INFO, f"{e.component} connected", e.detail, "", key=f"conn:{e.component}:up")
    return Alert(AlertLevel.CRITICAL, f"{e.component} disconnected", e.detail,
                 "Check the network and the broker gateway; new orders are held until it is back (a long outage halts).",
                 key=f"conn:{e.component}:down")


def _started(e: ev.SessionStarted) -> Alert:
    return Alert(AlertLevel.INFO, f"Session {e.session_id} started ({e.mode})",
                 f"strategy {e.strategy}" + (" (resumed)" if e.resumed else ""), "", key=f"start:{e.session_id}")


def _stopped(e: ev.SessionStopped) -> Alert:
    return Alert(AlertLevel.INFO, f"Session {e.session_id} stopped", e.reason, "", key=f"stop:{e.session_id}")


def _external(e: ev.ExternalFillBooked) -> Alert:
    return Alert(AlertLevel.CRITICAL, f"External fill: {e.side} {e.last_quantity:g} {e.symbol} @ {e.last_price:g}",
                 f"broker order {e.broker_order_id} (fill {e.fill_id}) was not placed by this session; booked as "
                 f"order {e.order_id} under strategy EXTERNAL",
                 "Find who traded the account (broker app, another process); review positions and limits.",
                 key=f"external:{e.fill_id}")


def _duplicate(e: ev.DuplicateFillIgnored) -> Alert:
    return Alert(AlertLevel.INFO, f"Duplicate fill {e.fill_id} ignored", f"order {e.order_id} {e.symbol}: "
                 f"{e.last_quantity:g} @ {e.last_price:g} was already booked", "", key=f"duplicate:{e.fill_id}")


def _strategy_failed(e: ev.StrategyFailed) -> Alert:
    return Alert(AlertLevel.CRITICAL, f"Strategy {e.strategy_id} failed in {e.handler} ({e.action})", e.error,
                 "Read the traceback in the journal (StrategyFailed); fix the strategy and restart the session.",
                 key=f"strategy_failed:{e.strategy_id}")


def _kill_switch_reset(e: ev.KillSwitchReset) -> Alert:
    return Alert(AlertLevel.WARNING, "Kill switch reset", f"by {e.by or '?'} ({e.source or '?'}): {e.reason}",
                 "", key=f"kill_switch_reset:{e.ts_event}")


DEFAULT_RULES: dict[type[ev.Event], AlertRule] = {
    ev.RiskEvent: _risk,
    ev.OrderDenied: _denied,
    ev.OrderRejected: _rejected,
    ev.OrderFilled: _filled,
    ev.TradingStateChanged: _state,
    ev.ConnectionStatusChanged: _connection,
    ev.SessionStarted: _started,
    ev.SessionStopped: _stopped,
    ev.ExternalFillBooked: _external,
    ev.DuplicateFillIgnored: _duplicate,
    ev.StrategyFailed: _strategy_failed,
    ev.KillSwitchReset: _kill_switch_reset,
}
"""Event type -> rule making its alert; the event types that alert by default."""


class AlertManager:
    """Turns recorded events into alerts, dedupes, rate-limits, journals and delivers them.

    Parameters
    ----------
    sinks : Iterable[AlertSink]
        Where alerts go (each filters by level/source itself).
    rules : Mapping[type, AlertRule] | None
        Event type -> alert rule; default :data:`DEFAULT_RULES`.
    events : Iterable[str] | None
        Names of the event types that alert (e.g. ``["RiskEvent", "OrderDenied"]``); default all
        types ``rules`` covers.
    min_level : AlertLevel
        Alerts below this level are dropped (not journaled).
    dedupe_seconds : float
        An alert with the same key as one delivered less than this long ago is dropped.
    max_alerts, per_seconds : int, float
        Rate limit over all alerts.

    Attributes
    ----------
    delivered : list[Alert]
        Alerts journaled and delivered, in order (last 1000).
    outbox : deque[Alert]
        Alerts journaled (recorded) but not delivered yet: waiting for the journal's commit.
    suppressed : int
        Alerts dropped by dedupe or rate limit since the last delivered alert.
    """

    def __init__(
        self,
        sinks: Iterable[AlertSink] = (),
        rules: Mapping[type, AlertRule] | None = None,
        *,
        events: Iterable[str] | None = None,
        min_level: AlertLevel | str = AlertLevel.INFO,
        dedupe_seconds: float = 60.0,
        max_alerts: int = 30,
        per_seconds: float = 60.0,
    ) -> None:
        self.sinks = list(sinks)
        rules = dict(DEFAULT_RULES if rules is None else rules)
        if events is not None:
            wanted = set(events)
            unknown = wanted - {t.__name__ for t in rules}
            if unknown:
                known = sorted(t.__name__ for t in rules)
                raise ValueError(f"AlertManager.events: no alert rule for {sorted(unknown)}; known {known}")
            rules = {t: r for t, r in rules.items() if t.__name__ in wanted}
        self.rules = rules
        self.min_level = AlertLevel(min_level)
        self.dedupe_ns = int(dedupe_seconds * NS_PER_SECOND)
        self.max_alerts = max_alerts
        self.per_ns = int(per_seconds * NS_PER_SECOND)
        self.engine: TradingEngine | None = None
        self.delivered: deque[Alert] = deque(maxlen=1000)
        self.suppressed = 0
        self._last_by_key: dict[str, int] = {}
        self._recent: deque[int] = deque()
        self.outbox: deque[Alert] = deque()

    def attach(self, engine: TradingEngine) -> AlertManager:
        """Listen to every event ``engine`` records; alerts are journaled through ``engine.record``."""
        self.engine = engine
        engine.bus.subscribe("events", self.on_event)
        engine.after_commit.append(self.deliver)
        return self

    def on_event(self, event: ev.Event) -> Alert | None:
        rule = self.rules.get(type(event))
        if rule is None:
            return None
        alert = rule(event)
        if alert is None:
            return None
        return self.raise_alert(replace(alert, source=type(event).__name__, ts_event=event.ts_event))

    def raise_alert(self, alert: Alert) -> Alert | None:
        """Dedupe, rate-limit, journal (``AlertRaised``) and deliver ``alert``; returns it, or None if dropped."""
        if alert.level.rank < self.min_level.rank:
            return None
        ts = alert.ts_event
        key = alert.key or f"{alert.source}:{alert.title}"
        last = self._last_by_key.get(key)
        if last is not None and ts - last < self.dedupe_ns:
            self.suppressed += 1
            return None
        recent = self._recent
        while recent and recent[0] <= ts - self.per_ns:
            recent.popleft()
        if len(recent) >= self.max_alerts:
            self.suppressed += 1
            return None
        recent.append(ts)
        self._last_by_key[key] = ts
        if self.suppressed:
            alert = replace(alert, message=f"{alert.message} ({self.suppressed} alerts suppressed before this one)")
            self.suppressed = 0
        if self.engine is not None:
            self.engine.record(ev.AlertRaised(ts_event=ts, level=alert.level.value, title=alert.title,
                                              message=alert.message, action=alert.action, source=alert.source))
        self.outbox.append(alert)
        if self.engine is None or not self.engine.defer_delivery:
            self.deliver()
        return alert

    def deliver(self) -> int:
        """Send the alerts waiting in the outbox (their events are committed); returns how many.

        A sink that raises is logged and does not stop the others (nor the session).
        """
        n = 0
        outbox = self.outbox
        while outbox:
            alert = outbox.popleft()
            self.delivered.append(alert)
            n += 1
            for sink in self.sinks:
                if sink.accepts(alert):
                    try:
                        sink.send(alert)
                    except Exception:
                        _log.exception("alert sink %r failed on %r", sink, alert.title)
        return n
