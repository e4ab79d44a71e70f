"""Daily report of a journaled session (P&L, trades, risk events, alerts) as HTML or Markdown.

:func:`daily_report` reads everything from the journal's read models (equity snapshots, fills,
orders, risk events, alerts, positions), so it works on a running session as well as a finished
one and never re-runs anything. Days are exchange-local dates (America/New_York). The command
``workbench report SESSION [--journal URL] [--format html|md] [--output PATH] [--date D]`` writes it.

Daily P&L is the change of the last journaled equity of the day against the last one before the
day (the starting cash before the first), in currency; ``realized_pnl`` is the change of the
journaled realized P&L (net of commissions, as the portfolio books it) over the same span.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.analytics.timeseries import EXCHANGE_TIMEZONE
from workbench.errors import ConfigError

__all__ = ["DailyReport", "cmd_report", "daily_report"]

_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}table{border-collapse:collapse;"
          "margin-bottom:1em}td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #ddd}")


def _dates(times: pd.Series, timezone: str) -> pd.Series:
    return times.dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()


@dataclass
class DailyReport:
    """One session's report for one exchange date (or the whole session).

    Attributes
    ----------
    session : dict
        The journal's ``sessions`` row (id, name, mode, strategy, parameters, status, times).
    day : datetime.date | None
        The date reported; None = the whole session.
    daily_pnl : pandas.DataFrame
        One row per date of the session: ``start_equity``, ``end_equity``, ``pnl``, ``return``
        (fraction), ``realized_pnl``, ``commission`` (currency), ``fills``, ``round_trips``.
    trades : round trips closed in the period (see :func:`workbench.portfolio.trades.round_trips`).
    fills, orders, risk_events, alerts : journal rows of the period (orders: created in it).
    positions : latest position per symbol (at the time of the report).
    """

    session: dict[str, Any]
    day: dt.date | None
    daily_pnl: pd.DataFrame
    trades: pd.DataFrame
    fills: pd.DataFrame
    orders: pd.DataFrame
    risk_events: pd.DataFrame
    alerts: pd.DataFrame
    positions: pd.DataFrame
    timezone: str = EXCHANGE_TIMEZONE
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        when = "all days" if self.day is None else self.day.isoformat()
        return f"Daily report: session {self.session['session_id']} ({when})"

    def headline(self) -> pd.Series:
        """P&L, return, trades, fills, orders, risk events and alerts of the period."""
        rows = self.daily_pnl if self.day is None else self.daily_pnl[self.daily_pnl.index == pd.Timestamp(self.day)]
        start = float(rows["start_equity"].iloc[0]) if len(rows) else np.nan
        end = float(rows["end_equity"].iloc[-1]) if len(rows) else np.nan
        return pd.Series({
            "start_equity": start, "end_equity": end, "pnl": end - start,
            "return": end / start - 1.0 if start else np.nan,
            "realized_pnl": float(rows["realized_pnl"].sum()) if len(rows) else 0.0,
            "commission": float(self.fills["commission"].sum()) if len(self.fills) else 0.0,
            "round_trips": len(self.trades), "winning_round_trips": int((self.trades["pnl"] > 0).sum())
            if len(self.trades) else 0,
            "fills": len(self.fills), "orders": len(self.orders), "risk_events": len(self.risk_events),
            "alerts": len(self.alerts),
        }, dtype=object)

    def _sections(self) -> list[tuple[str, pd.DataFrame]]:
        s = self.session
        when = [_local_text(s.get(k), self.timezone) for k in ("ts_started", "ts_stopped")]
        info = pd.DataFrame({"value": [s.get("name"), s.get("mode"), s.get("strategy"), s.get("parameters"),
                                       s.get("status"), *when]},
                            index=["name", "mode", "strategy", "parameters", "status", "started", "stopped"])
        head = self.headline()
        shown = pd.Series({k: f"{v:.3%}" if k == "return" else f"{v:,.2f}" if isinstance(v, float) else str(v)
                           for k, v in head.items()}, name="value")
        fills = self.fills[[c for c in ("ts_event", "order_id", "symbol", "side", "quantity", "price", "commission")
                            if c in self.fills.columns]]
        orders = self.orders[[c for c in ("ts_init", "order_id", "symbol", "side", "order_type", "quantity", "status",
                                          "filled_quantity", "avg_fill_price", "reason") if c in self.orders.columns]]
        risk = self.risk_events[[c for c in ("ts_event", "kind", "rule", "action", "symbol", "message")
                                 if c in self.risk_events.columns]]
        alerts = self.alerts[[c for c in ("ts_event", "level", "title", "message", "source") if c in self.alerts.columns]]
        positions = self.positions[[c for c in ("symbol", "quantity", "avg_price", "realized_pnl", "status")
                                    if c in self.positions.columns]]
        daily = self.daily_pnl.assign(**{"return": [f"{x:.3%}" for x in self.daily_pnl["return"]]})
        daily.index = [d.date().isoformat() for d in daily.index]
        frames = [("Session", info), ("Summary", shown.to_frame()), ("Daily P&L", daily),
                  ("Round trips closed", self.trades), ("Fills", fills), ("Orders", orders), ("Risk events", risk),
                  ("Alerts", alerts), ("Positions", positions)]
        return [(name, _local_times(frame, self.timezone)) for name, frame in frames]

    def to_markdown(self) -> str:
        """The report as GitHub-flavoured Markdown (tables via pandas/tabulate)."""
        parts = [f"# {self.title}", ""]
        for name, frame in self._sections():
            parts += [f"## {name}", "", frame.to_markdown(floatfmt=",.2f") if len(frame) else "_none_", ""]
        parts += [f"- {n}" for n in self.notes]
        return "\n".join(parts) + "\n"

    def html_body(self) -> str:
        parts = [f"<h1>{html.escape(self.title)}</h1>"]
        for name, frame in self._sections():
            parts.append(f"<h2>{html.escape(name)}</h2>")
            parts.append(frame.to_html(float_format=lambda x: f"{x:,.2f}", border=0) if len(frame) else "<p>none</p>")
        parts += [f"<p>{html.escape(n)}</p>" for n in self.notes]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.html_body()

    def to_html(self) -> str:
        """A standalone HTML page."""
        return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(self.title)}'
                f"</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{self.html_body()}\n</body>\n</html>\n")

    def write(self, path: str | Path, format: str | None = None) -> Path:
        """Write HTML or Markdown (``format`` ``"html"``/``"md"``; default from the suffix, else HTML)."""
        path = Path(path)
        fmt = format or ("md" if path.suffix.lower() in (".md", ".markdown") else "html")
        path.write_text(self.to_markdown() if fmt == "md" else self.to_html(), encoding="utf-8")
        return path


def _local_text(ns: Any, timezone: str) -> str:
    if ns is None or pd.isna(ns):
        return ""
    return pd.Timestamp(int(ns), tz="UTC").tz_convert(timezone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _local_times(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Copy with tz-aware columns shown in exchange time."""
    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.tz_convert(timezone).dt.strftime("%Y-%m-%d %H:%M:%S")
    return out


def _missing_sessions(dates: pd.DatetimeIndex, exchange: str = "XNYS") -> list[dt.date]:
    """Exchange sessions between the first and last date that have no journaled equity."""
    import warnings

    import exchange_calendars as xcals

    if len(dates) < 2:
        return []
    with warnings.catch_warnings():  # the library's own pandas deprecation warnings
        warnings.simplefilter("ignore")
        sessions = xcals.get_calendar(exchange).sessions_in_range(dates[0], dates[-1])
    have = set(dates.date)
    return [d.date() for d in sessions if d.date() not in have]


def _daily_pnl(equity: pd.DataFrame, fills: pd.DataFrame, trades: pd.DataFrame, starting_cash: float,
               timezone: str) -> pd.DataFrame:
    cols = ["start_equity", "end_equity", "pnl", "return", "realized_pnl", "commission", "fills", "round_trips"]
    if equity.empty:
        return pd.DataFrame(columns=cols, index=pd.DatetimeIndex([], name="date"))
    e = equity.assign(date=_dates(equity["ts_event"], timezone))
    last = e.groupby("date").last()
    end = last["equity"].astype(float)
    start = end.shift(1).fillna(starting_cash)
    realized_end = last["realized_pnl"].astype(float).fillna(0.0)
    out = pd.DataFrame({"start_equity": start, "end_equity": end, "pnl": end - start})
    out["return"] = out["pnl"] / out["start_equity"]
    out["realized_pnl"] = realized_end - realized_end.shift(1).fillna(0.0)
    if len(fills):
        f = fills.assign(date=_dates(fills["ts_event"], timezone)).groupby("date")
        out["commission"] = f["commission"].sum().reindex(out.index).fillna(0.0)
        out["fills"] = f.size().reindex(out.index).fillna(0).astype(int)
    else:
        out["commission"], out["fills"] = 0.0, 0
    if len(trades):
        out["round_trips"] = trades.groupby(_dates(trades["exit_time"], timezone)).size().reindex(out.index).fillna(0)
        out["round_trips"] = out["round_trips"].astype(int)
    else:
        out["round_trips"] = 0
    out.index.name = "date"
    return out[cols]


def _on_day(frame: pd.DataFrame, column: str, day: dt.date | None, timezone: str) -> pd.DataFrame:
    if day is None or frame.empty:
        return frame.reset_index(drop=True)
    return frame[_dates(frame[column], timezone) == pd.Timestamp(day)].reset_index(drop=True)


def daily_report(
    session_id: str, journal: Any = None, day: str | dt.date | None = None, timezone: str = EXCHANGE_TIMEZONE
) -> DailyReport:
    """Build the report of ``session_id`` for ``day``.

    Parameters
    ----------
    journal : Journal | str | None
        A Journal, URL or path; default :func:`workbench.session.default_journal_url`.
    day : str | datetime.date | None
        An exchange date (``"2013-10-08"``); None = the session's last date with journaled equity;
        ``"all"`` = the whole session.

    Raises
    ------
    JournalError
        Unknown session.
    ConfigError
        ``day`` is not a date or ``"all"``.
    """
    from workbench.portfolio.trades import round_trips
    from workbench.session import open_journal

    jr = open_journal(journal, create=False)
    session = jr.session(session_id)
    starting_cash = float((session.get("parameters") or {}).get("starting_cash", 100_000.0))
    equity = jr.equity(session_id)
    fills = jr.fills(session_id)
    trades = round_trips(fills.sort_values(["ts_event", "seq"], kind="stable")) if len(fills) else \
        pd.DataFrame(columns=["symbol", "exit_time", "pnl"])
    daily = _daily_pnl(equity, fills, trades, starting_cash, timezone)
    notes: list[str] = []
    gaps = _missing_sessions(daily.index)
    if gaps:
        notes.append(f"no account snapshot journaled on {', '.join(d.isoformat() for d in gaps)}: the P&L of "
                     "such a date is included in the next date's")
    if day is None:
        chosen = daily.index[-1].date() if len(daily) else None
        if chosen is None:
            notes.append("no account snapshots journaled yet: the report covers the whole session")
    elif isinstance(day, str) and day.lower() == "all":
        chosen = None
    else:
        try:
            chosen = pd.Timestamp(day).date()
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"daily_report: day must be a date like 2013-10-08 or 'all', got {day!r}") from exc
        if len(daily) and not daily.index[0].date() <= chosen <= daily.index[-1].date():
            raise ConfigError(f"daily_report: {chosen} is outside session {session_id!r}, which ran from "
                              f"{daily.index[0].date()} to {daily.index[-1].date()}")
        if len(daily) and pd.Timestamp(chosen) not in daily.index:
            notes.append(f"no journaled equity on {chosen}; session dates: "
                         f"{', '.join(d.date().isoformat() for d in daily.index)}")
    orders = jr.orders(session_id)
    return DailyReport(
        session=session, day=chosen, daily_pnl=daily,
        trades=_on_day(trades, "exit_time", chosen, timezone) if len(trades) else trades,
        fills=_on_day(fills, "ts_event", chosen, timezone), orders=_on_day(orders, "ts_init", chosen, timezone),
        risk_events=_on_day(jr.risk_events(session_id), "ts_event", chosen, timezone),
        alerts=_on_day(jr.alerts(session_id), "ts_event", chosen, timezone),
        positions=jr.positions(session_id), timezone=timezone, notes=notes)


# ------------------------------------------------------------------------------------------ CLI
def cmd_report(args: argparse.Namespace) -> int:
    """``workbench report``: write (or print) the daily report of a session."""
    report = daily_report(args.session, args.journal, args.date)
    fmt = args.format or ("md" if args.output and Path(args.output).suffix.lower() == ".md" else
                          "html" if args.output else "md")
    if args.output:
        path = report.write(args.output, fmt)
        print(f"report of session {args.session} written to {path}")
    else:
        print(report.to_markdown() if fmt == "md" else report.to_html())
    return 0
