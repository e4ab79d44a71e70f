"""Performance of a session: round trips with MAE/MFE, daily P&L bars, per-symbol results, and the
strategy's parameters with the session's fill and commission models.

Round trips are :func:`workbench.portfolio.trades.round_trips` of every fill of the session.
Maximum adverse / favourable excursion (MAE / MFE, J. Sweeney, *Maximum Adverse Excursion*,
1997) are the worst and best price reached while the trade was open, relative to the entry
price and signed for the trade's direction, in percent: ``MAE = min(low)/entry - 1`` and
``MFE = max(high)/entry - 1`` for a long; ``MAE = 1 - max(high)/entry`` and ``MFE = 1 -
min(low)/entry`` for a short. They need the session's bars (:func:`~workbench.widgets.prices.
session_bars`) and are blank without them. The exit reason is the closing order's ``tag``
(``flatten``, ``kill_switch``, a bracket's ``stop``/``target``...) or ``strategy``.

Daily P&L is the change of equity between the last AccountState of consecutive New York days
(the first day against the first AccountState).
"""

from __future__ import annotations

from html import escape
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.portfolio.trades import round_trips
from workbench.widgets.base import Component
from workbench.widgets.charts import base_layout, figure_view, keep_state, live_figure
from workbench.widgets.html import HtmlPane, money, number, table_html
from workbench.widgets.prices import session_bars
from workbench.widgets.source import DAY_TIMEZONE, Snapshot
from workbench.widgets.tables import FORMATS
from workbench.widgets.trip_book import RoundTripBook

__all__ = ["Performance", "daily_pnl", "day_label", "excursions", "session_round_trips", "symbol_performance"]


def _is_long(direction: Any) -> bool:
    """``"LONG"`` (as :func:`~workbench.portfolio.trades.round_trips` gives) or a positive number."""
    return direction == "LONG" if isinstance(direction, str) else float(direction) > 0


def excursions(trips: pd.DataFrame, bars: pd.DataFrame | None) -> pd.DataFrame:
    """``trips`` with ``mae_percent`` and ``mfe_percent`` (see the module docstring; NaN without bars).

    ``direction`` is ``"LONG"``/``"SHORT"`` (or +1/-1); ``entry_time``/``exit_time`` are tz-aware
    UTC; a bar counts when it starts in
    ``[entry_time - bar length, exit_time]`` (the entry bar itself included).
    """
    out = trips.copy()
    out["mae_percent"] = np.nan
    out["mfe_percent"] = np.nan
    if bars is None or not len(trips):
        return out
    for i, trip in enumerate(out.itertuples()):
        b = bars[bars["symbol"] == trip.symbol]
        if not len(b):
            continue
        step = int(np.median(np.diff(b["ts_event"].to_numpy()))) if len(b) > 1 else 0
        start, end = pd.Timestamp(trip.entry_time).value - step, pd.Timestamp(trip.exit_time).value
        inside = b[(b["ts_event"] >= start) & (b["ts_event"] <= end)]
        if not len(inside):
            continue
        low, high, entry = float(inside["low"].min()), float(inside["high"].max()), float(trip.entry_price)
        if _is_long(trip.direction):
            mae, mfe = low / entry - 1.0, high / entry - 1.0
        else:
            mae, mfe = 1.0 - high / entry, 1.0 - low / entry
        out.iat[i, out.columns.get_loc("mae_percent")] = 100.0 * min(mae, 0.0)
        out.iat[i, out.columns.get_loc("mfe_percent")] = 100.0 * max(mfe, 0.0)
    return out


def session_round_trips(fills: pd.DataFrame, orders: pd.DataFrame, bars: pd.DataFrame | None) -> pd.DataFrame:
    """Closed round trips of a session's fills with ``duration``, ``mae_percent``, ``mfe_percent``,
    ``return_percent`` and ``exit_reason`` (the tag of the order of the trip's last fill)."""
    if not len(fills):
        return pd.DataFrame(columns=["symbol", "direction", "quantity", "entry_time", "exit_time", "entry_price",
                                     "exit_price", "pnl", "return_percent", "duration", "mae_percent",
                                     "mfe_percent", "exit_reason"])
    trips = round_trips(fills)
    trips["duration"] = pd.to_datetime(trips["exit_time"]) - pd.to_datetime(trips["entry_time"])
    trips["return_percent"] = 100.0 * trips["return"]
    tags = dict(zip(orders["order_id"], orders["tag"], strict=True)) if len(orders) and "tag" in orders else {}
    exit_order = []
    for exit_time, symbol in zip(trips["exit_time"], trips["symbol"], strict=True):
        closing = fills[(fills["symbol"] == symbol) & (fills["ts_event"] == exit_time)]
        exit_order.append(closing["order_id"].iloc[-1] if len(closing) else "")
    trips["exit_reason"] = [tags.get(o) or "strategy" for o in exit_order]
    return excursions(trips, bars)


def day_label(day: str) -> str:
    """Bar label of a ``YYYY-mm-dd`` day: weekday and date, e.g. ``"Mon 2013-10-07"``."""
    return f"{pd.Timestamp(day):%a} {day}"


def daily_pnl(equity: pd.DataFrame) -> pd.Series:
    """Equity change per New York day (index: ``YYYY-mm-dd`` strings), see the module docstring."""
    if not len(equity):
        return pd.Series(dtype=float)
    local = equity["ts_event"].dt.tz_convert(DAY_TIMEZONE).dt.strftime("%Y-%m-%d")
    last = equity.groupby(local.to_numpy())["equity"].last()
    return last.diff().fillna(last.iloc[0] - float(equity["equity"].iloc[0]))


def symbol_performance(trips: pd.DataFrame) -> pd.DataFrame:
    """Per symbol: round trips, win rate (percent), net P&L, average return (percent), best, worst."""
    if not len(trips):
        return pd.DataFrame(columns=["symbol", "trades", "win_rate", "pnl", "average_return", "best", "worst"])
    g = trips.groupby("symbol")
    return pd.DataFrame({
        "trades": g.size(),
        "win_rate": 100.0 * g["pnl"].apply(lambda p: float((p > 0).mean())),
        "pnl": g["pnl"].sum(),
        "average_return": g["return_percent"].mean(),
        "best": g["pnl"].max(),
        "worst": g["pnl"].min(),
    }).reset_index()


def _percent(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else number(value, 2) + " %"


def _duration(value: Any) -> str:
    if value is None or value is pd.NaT or pd.isna(value):
        return "-"
    seconds = int(pd.Timedelta(value).total_seconds())
    return f"{seconds // 86400}d {seconds % 86400 // 3600:02d}:{seconds % 3600 // 60:02d}" if seconds >= 86400 \
        else f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Performance(Component):
    """Round trips (newest first), daily P&L bars, per-symbol results, strategy parameters and models.

    Round trips cover every fill of the session, read incrementally (:class:`~workbench.widgets.
    trip_book.RoundTripBook`: only the fills since the last moment every position was flat are read
    again); :attr:`frame` holds the newest 500 final round trips and the open-ended recent ones, the
    per-symbol table all of them.
    """

    deferred = True
    """Left out of the dashboard's first refresh (it reads the session's data and every fill), so the
    page shows first; drawn by the next refresh."""

    title = "Performance"

    def __init__(self, *args: Any, rows: int = 15, height: int = 220, width: int = 900, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.trips = HtmlPane()
        self.symbols = HtmlPane()
        self.setup = HtmlPane()
        base = go.Figure(go.Bar(x=[], y=[], name="daily P&L", marker={"color": []}), layout=base_layout())
        base.update_layout(height=height, width=width, margin={"l": 60, "r": 10, "t": 10, "b": 30},
                           uirevision="keep")
        base.update_xaxes(type="category", title_text=f"day ({DAY_TIMEZONE})")
        base.update_yaxes(title_text="P&L (USD)")
        self.daily = live_figure(base)
        self._shown_fills: tuple = ()
        self._shown_equity: tuple = ()
        self.frame = pd.DataFrame()
        self.book = RoundTripBook(session_round_trips)
        self.children = (self.heading, widgets.HTML("<i>round trips</i>"), self.trips,
                         widgets.HTML("<i>daily P&L</i>"), figure_view(self.daily),
                         widgets.HTML("<i>per symbol</i>"), self.symbols, self.setup)

    def update(self, snapshot: Snapshot) -> None:
        fills_key = (snapshot.session_id, len(snapshot.fills),
                     int(snapshot.fills["seq"].iloc[-1]) if len(snapshot.fills) else -1)
        equity_key = (snapshot.session_id, len(snapshot.equity),
                      int(snapshot.equity["seq"].iloc[-1]) if len(snapshot.equity) else -1)
        if fills_key != self._shown_fills:  # round trips only change with a fill
            self._shown_fills = fills_key
            self._trips(snapshot)
        if equity_key != self._shown_equity:
            self._shown_equity = equity_key
            days = daily_pnl(snapshot.equity)
            with self.daily.batch_update():
                # labels that are not dates ("Mon 2013-10-07"): plotly.js clears an axis' type when a
                # trace's x is restyled (plot_api clearAxisTypes) and would auto-type ISO days as a
                # date axis, drawing one bar on a sub-millisecond time scale
                self.daily.data[0].x = [day_label(day) for day in days.index]
                self.daily.data[0].y = days.to_numpy()
                self.daily.data[0].marker.color = ["#1a7f37" if v >= 0 else "#c62828" for v in days.to_numpy()]
            keep_state(self.daily)
        self.setup.show(setup_html(snapshot.session))

    def _trips(self, snapshot: Snapshot) -> None:
        trips = self.book.update(self.view.journal, snapshot.session_id, snapshot.orders, session_bars(snapshot.session))
        self.frame = trips
        shown = trips.iloc[::-1].head(self.rows)
        formats = {**FORMATS, "entry_time": FORMATS["ts_event"], "exit_time": FORMATS["ts_event"],
                   "entry_price": number, "exit_price": number, "pnl": money, "return_percent": _percent,
                   "mae_percent": _percent, "mfe_percent": _percent, "duration": _duration,
                   "direction": lambda d: "LONG" if _is_long(d) else "SHORT"}
        self.trips.show(table_html(shown, "round-trips", {
            "symbol": "symbol", "direction": "side", "quantity": "quantity", "entry_time": "entry",
            "exit_time": "exit", "entry_price": "entry price", "exit_price": "exit price", "pnl": "P&L",
            "return_percent": "return", "duration": "duration", "mae_percent": "MAE", "mfe_percent": "MFE",
            "exit_reason": "exit reason"}, formats, empty="no closed round trip yet",
            row_class=lambda r: "wb-pos" if r["pnl"] > 0 else "wb-neg" if r["pnl"] < 0 else ""))
        per = self.book.per_symbol()
        self.symbols.show(table_html(per, "symbol-performance", ("symbol", "trades", "win_rate", "pnl",
                                                                 "average_return", "best", "worst"),
                                     {"win_rate": _percent, "pnl": money, "average_return": _percent,
                                      "best": money, "worst": money, "trades": str}, empty="no round trips"))


def setup_html(session: dict[str, Any]) -> str:
    """The strategy, its parameters, the data, and the fill and commission models of a session."""
    parameters = session.get("parameters") or {}
    params = parameters.get("params") or {}
    config = parameters.get("config") or {}
    broker = config.get("broker") or {} if isinstance(config, dict) else {}
    fill = ", ".join(f"{k}={broker[k]}" for k in ("kind", "slippage_bps", "slippage_ticks", "max_volume_participation")
                     if broker.get(k) is not None) or "simulated broker defaults"
    commission = broker.get("commission")
    commission = ", ".join(f"{k}={v}" for k, v in commission.items()) if isinstance(commission, dict) \
        else "simulated broker defaults"
    items = [("strategy", session.get("strategy", "")),
             ("parameters", ", ".join(f"{k}={v}" for k, v in params.items()) or "-"),
             ("data", parameters.get("data", "-")), ("speed", parameters.get("speed", "-")),
             ("starting cash", money(parameters["starting_cash"]) if "starting_cash" in parameters else "-"),
             ("fill model", fill), ("commission model", commission)]
    rows = "".join(f"<tr><th>{escape(k)}</th><td data-column='{escape(k)}'>{escape(str(v))}</td></tr>"
                   for k, v in items)
    return f"<table class='wb-table wb-setup'>{rows}</table>"
