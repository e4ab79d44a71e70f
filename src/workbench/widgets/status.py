"""Status components: overview numbers, risk status, system health."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from workbench.widgets.base import Component
from workbench.widgets.html import HtmlPane, money, number, stat_cards, table_html, timestamp
from workbench.widgets.limits import configured_limits, limit_bars_html
from workbench.widgets.source import Snapshot
from workbench.widgets.tables import FORMATS, positions_rows

__all__ = ["DAY_TIMEZONE", "Overview", "OverviewNumbers", "RiskStatus", "SystemHealth", "limits_used",
           "overview_numbers"]

DAY_TIMEZONE = "America/New_York"
"""Time zone whose calendar day defines "day P&L" (the exchange's)."""


@dataclass(frozen=True, slots=True)
class OverviewNumbers:
    """Headline numbers of a session (currency amounts; NaN when the journal has no snapshot yet).

    ``pnl`` is realized + unrealized P&L of the latest AccountState; ``day_pnl`` is ``pnl`` minus
    its value at the last AccountState of the previous New York calendar day (or all of ``pnl``
    when the session has no earlier day within the snapshot's equity rows). ``day`` is the New
    York date of the latest AccountState.
    """

    equity: float
    cash: float
    pnl: float
    day_pnl: float
    gross_exposure: float
    net_exposure: float
    open_positions: int
    day: str


def overview_numbers(snapshot: Snapshot) -> OverviewNumbers:
    """Compute :class:`OverviewNumbers` from a snapshot's equity rows and positions."""
    open_positions = len(positions_rows(snapshot))
    eq = snapshot.equity
    nan = float("nan")
    if len(eq) == 0:
        return OverviewNumbers(nan, nan, nan, nan, nan, nan, open_positions, "")
    last = eq.iloc[-1]
    pnl_series = eq["realized_pnl"].fillna(0.0) + eq["unrealized_pnl"].fillna(0.0)
    local = eq["ts_event"].dt.tz_convert(DAY_TIMEZONE)
    day = local.iloc[-1].normalize()
    before = pnl_series[(local < day).to_numpy()]
    day_pnl = float(pnl_series.iloc[-1] - (before.iloc[-1] if len(before) else 0.0))
    return OverviewNumbers(
        equity=float(last["equity"]),
        cash=float(last["cash"]),
        pnl=float(pnl_series.iloc[-1]),
        day_pnl=day_pnl,
        gross_exposure=float(last["gross_exposure"]),
        net_exposure=float(last["net_exposure"]),
        open_positions=open_positions,
        day=day.strftime("%Y-%m-%d"),
    )


def _signed(value: float) -> str:
    text = money(value)
    return text if text == "-" or text.startswith("-") else "+" + text


class Overview(Component):
    """Stat cards: equity, day P&L, total P&L, exposures, cash, open positions, trading state, session."""

    title = "Overview"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cards = HtmlPane()
        self.children = (self.heading, self.cards)

    def update(self, snapshot: Snapshot) -> None:
        n = overview_numbers(snapshot)
        session = snapshot.session
        state, _ = snapshot.trading_state
        self.cards.show(stat_cards("overview", [
            ("equity", "equity", money(n.equity)),
            ("day-pnl", f"day P&L {n.day}".strip(), _signed(n.day_pnl)),
            ("pnl", "total P&L", _signed(n.pnl)),
            ("gross-exposure", "gross exposure", money(n.gross_exposure)),
            ("net-exposure", "net exposure", money(n.net_exposure)),
            ("cash", "cash", money(n.cash)),
            ("open-positions", "open positions", str(n.open_positions)),
            ("trading-state", "trading", state),
            ("session", f"{session.get('mode', '')} session", str(session.get("status", ""))),
        ]))


def limits_used(snapshot: Snapshot, live: Any = None) -> pd.DataFrame:
    """Risk limits and how much of each is used.

    From the running engine when ``live.engine.risk.limits_used()`` exists (a DataFrame with
    ``rule``, ``value``, ``limit``), else from the latest journaled RiskEvent of each rule that
    carried a value and a limit (limit changes by ``set_limit`` excluded). Columns: ``rule``,
    ``value``, ``limit``, ``used_percent`` (= 100 x |value| / |limit|), ``ts_event`` (NaT for
    live values).
    """
    risk = getattr(getattr(live, "engine", None), "risk", None)
    source = getattr(risk, "limits_used", None)
    if callable(source):
        frame = pd.DataFrame(source())
        if "ts_event" not in frame:
            frame["ts_event"] = pd.NaT
    else:
        ev = snapshot.risk_events
        if len(ev):  # set_limit events carry (new value, old limit), not a reading
            ev = ev[ev["kind"].eq("risk") & ev["action"].ne("set_limit") & ev["value"].notna() & ev["limit"].notna()]
        frame = ev.groupby("rule", as_index=False).last()[["rule", "value", "limit", "ts_event"]] if len(ev) else (
            pd.DataFrame(columns=["rule", "value", "limit", "ts_event"]))
    frame = frame.copy()
    limit = frame["limit"].astype(float).abs()
    frame["used_percent"] = 100.0 * frame["value"].astype(float).abs() / limit.where(limit > 0)
    return frame[["rule", "value", "limit", "used_percent", "ts_event"]].reset_index(drop=True)


class RiskStatus(Component):
    """Trading state (ACTIVE / REDUCE_ONLY / HALTED and why), the configured limits with how much of
    each is used (bars, :func:`~workbench.widgets.limits.configured_limits`; the rules that fired
    when the session has no journaled risk configuration), and recent risk events. Order denials
    are counted in one line, not listed (a halted strategy would otherwise hide every other event)."""

    title = "Risk"

    def __init__(self, *args: Any, rows: int = 10, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.state = HtmlPane()
        self.limits = HtmlPane()
        self.events = HtmlPane()
        self.children = (self.heading, self.state, self.limits, self.events)

    def update(self, snapshot: Snapshot) -> None:
        state, reason = snapshot.trading_state
        risk = getattr(getattr(self.view.live, "engine", None), "risk", None)
        if risk is not None and getattr(risk, "state", None) is not None:
            state, reason = str(risk.state), str(getattr(risk, "state_reason", reason))
        tone = {"ACTIVE": "wb-ok", "HALTED": "wb-bad"}.get(state, "wb-warn")
        why = f" ({reason})" if reason else ""
        self.state.show(f"<div class='wb-trading-state'>trading: <span class='{tone}'>{state}</span>{why}</div>")
        configured = configured_limits(snapshot)
        if configured is not None:
            self.limits.show(limit_bars_html(configured))
        else:
            limits = limits_used(snapshot, self.view.live)
            self.limits.show(
                "<div class='wb-note'>no risk configuration journaled with this session; rules that fired:</div>"
                + table_html(limits, "limits", ("rule", "value", "limit", "used_percent", "ts_event"),
                             {**FORMATS, "used_percent": lambda v: number(v, 1) + " %"}, empty="no limit readings yet"))
        ev = snapshot.risk_events
        denied = ev["kind"].eq("order_denied") if len(ev) and "kind" in ev else pd.Series(False, index=ev.index)
        events = ev[~denied].iloc[::-1].head(self.rows)
        note = ""
        if denied.any():
            last = ev[denied].iloc[-1]
            note = (f"<div class='wb-denials'>{int(denied.sum())} order denials among the latest risk events; "
                    f"latest: {escape(str(last['message']))}</div>")
        self.events.show(note + table_html(events, "risk-events", ("ts_event", "kind", "rule", "action", "symbol",
                                                                    "message"), FORMATS, empty="no risk events"))


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:,.1f} s"


class SystemHealth(Component):
    """Engine heartbeat, last event age, event rate, journaling latency, feed/broker connections.

    Parameters
    ----------
    stale_after : float
        Seconds without a heartbeat after which the engine is shown as not responding.
    """

    title = "System health"
    volatile = True

    def __init__(self, *args: Any, stale_after: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stale_after = stale_after
        self.cards = HtmlPane()
        self.links = HtmlPane()
        self.children = (self.heading, self.cards, self.links)

    def update(self, snapshot: Snapshot) -> None:
        h = snapshot.health
        if h.heartbeat_age is None:
            engine = "not running"
        elif h.heartbeat_age > self.stale_after:
            engine = f"no heartbeat for {h.heartbeat_age:,.0f} s"
        else:
            engine = "running"
        self.cards.show(stat_cards("health", [
            ("engine", "engine", engine),
            ("last-event-age", "last event", _age(h.last_event_age)),
            ("event-rate", "events / s", number(h.event_rate, 1)),
            ("latency", "journal latency", "-" if h.latency_ms is None else f"{h.latency_ms:,.0f} ms"),
            ("last-seq", "last seq", str(h.last_seq)),
        ]) + (f"<div class='wb-owner'>{escape(h.owner)}</div>" if h.owner else ""))
        now = h.last_event_time or snapshot.ts_taken  # data time: replays stamp historical times
        rows = pd.DataFrame(
            [(name, "connected" if ok else "DISCONNECTED", _link_detail(detail, h.link_health.get(name)), when,
              h.reconnects.get(name, 0), _age(max(0.0, (now - when).total_seconds())),
              _age((h.link_health.get(name) or ("", None))[1])) for name, (ok, detail, when) in
             sorted(h.connections.items())],
            columns=["component", "status", "detail", "ts_event", "reconnects", "age", "last_message"],
        )
        self.links.show(table_html(rows, "connections", {"component": "component", "status": "status",
                                                         "detail": "detail", "ts_event": "since",
                                                         "reconnects": "reconnects", "age": "age (data time)",
                                                         "last_message": "last message (adapter)"},
                                   {"ts_event": timestamp, "reconnects": str}, empty="no connection events",
                                   row_class=lambda r: "wb-ok" if r["status"] == "connected" else "wb-bad"))


def _link_detail(detail: str, health: tuple[str, float | None] | None) -> str:
    """The connection's status detail, plus its adapter's latest health line (IB: client id, pacing,
    last message age)."""
    if not health or not health[0]:
        return detail
    return f"{detail} | {health[0]}"
