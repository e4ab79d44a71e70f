"""Plotly figures of a backtest-vs-live :class:`~workbench.analytics.compare.Comparison`.

Times are shown in the exchange time zone (America/New_York, tz-naive on the axis). Each figure
plots the comparison's DataFrames unchanged (bps stay bps, currency stays currency).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from workbench.analytics.timeseries import EXCHANGE_TIMEZONE

__all__ = ["COMPARISON_FIGURE_TITLES", "comparison_figures"]

COMPARISON_FIGURE_TITLES = {
    "equity": "Equity: live vs backtest",
    "signals": "Signals by agreement status",
    "fill_prices": "Fill price difference, live minus backtest (bps)",
    "attribution": "P&L gap attribution (currency)",
    "time_to_fill": "Time to fill (seconds)",
}
"""Figure key -> title, in display order."""

_STATUS_COLORS = {"matched": "#2ca02c", "missing": "#d62728", "extra": "#ff7f0e", "differs": "#9467bd"}


def _local(times: Any, timezone: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(times).tz_convert(timezone).tz_localize(None)


def _layout(figure: go.Figure, key: str, **layout: Any) -> go.Figure:
    layout.setdefault("height", 360)
    figure.update_layout(title=COMPARISON_FIGURE_TITLES[key], template="plotly_white", **layout)
    return figure


def equity_comparison_figure(comparison: Any, timezone: str = EXCHANGE_TIMEZONE) -> go.Figure:
    """Live equity (journaled account snapshots) and the backtest's equity curve (currency)."""
    figure = go.Figure()
    curve = comparison.backtest_result.equity_curve["equity"] if comparison.backtest_result is not None else None
    if curve is not None and len(curve):
        figure.add_trace(go.Scatter(x=_local(curve.index, timezone), y=curve.to_numpy(), name="backtest", mode="lines"))
    live = comparison.live.equity
    if len(live):
        times = pd.to_datetime(live.index.to_numpy(), unit="ns", utc=True)
        figure.add_trace(go.Scatter(x=_local(times, timezone), y=live.to_numpy(), name="live (snapshots)",
                                    mode="lines+markers", marker={"size": 4}))
    return _layout(figure, "equity", yaxis_title="equity (currency)")


def signals_figure(comparison: Any, timezone: str = EXCHANGE_TIMEZONE) -> go.Figure:
    """One marker per signal at its time, one row per status; hover shows the explanation."""
    figure = go.Figure()
    s = comparison.signals
    for status, group in s.groupby("status", sort=False):
        figure.add_trace(go.Scatter(
            x=_local(group["ts_event"], timezone), y=[f"{status} ({len(group)})"] * len(group), mode="markers",
            name=str(status), marker={"color": _STATUS_COLORS.get(str(status)), "size": 8},
            text=[f"{sym} live {dl} / backtest {db}<br>{e}" for sym, dl, db, e in
                  zip(group["symbol"], group["direction_live"], group["direction_backtest"], group["explanation"])],
            hoverinfo="x+text"))
    if s.empty:
        figure.add_annotation(text="no signals recorded", showarrow=False)
    return _layout(figure, "signals", height=260)


def fill_prices_figure(comparison: Any, timezone: str = EXCHANGE_TIMEZONE) -> go.Figure:
    """Price difference (bps) of every matched fill, by the live fill's time."""
    f = comparison.fills
    m = f[f["status"] == "matched"] if len(f) else f
    figure = go.Figure()
    if len(m):
        figure.add_trace(go.Scatter(x=_local(m["ts_live"], timezone), y=m["price_difference_bps"].to_numpy(float),
                                    mode="markers", name="matched fills",
                                    text=[f"{a} / {b} {side}" for a, b, side in
                                          zip(m["order_id_live"], m["order_id_backtest"], m["side"])]))
    else:
        figure.add_annotation(text="no matched fills", showarrow=False)
    return _layout(figure, "fill_prices", yaxis_title="bps")


def attribution_figure(comparison: Any) -> go.Figure:
    """Waterfall from the backtest's P&L through each gap component to the live P&L (currency)."""
    a = comparison.attribution["pnl_gap"]
    parts = [k for k in a.index if k != "total"]
    summary = comparison.summary
    figure = go.Figure(go.Waterfall(
        x=["backtest P&L", *[p.replace("_", " ") for p in parts], "live P&L"],
        y=[float(summary["pnl_backtest"]), *[float(a[p]) for p in parts], float(summary["pnl_live"])],
        measure=["absolute", *["relative"] * len(parts), "total"],
        texttemplate="%{y:,.2f}", textposition="outside"))
    return _layout(figure, "attribution", yaxis_title="currency", showlegend=False)


def time_to_fill_figure(comparison: Any) -> go.Figure:
    """Histogram of time from submission to fill (seconds), live and backtest."""
    f = comparison.fills
    figure = go.Figure()
    for name in ("live", "backtest"):
        column = f"time_to_fill_{name}"
        if column in f.columns:
            values = f[column].dropna().to_numpy(float)
            figure.add_trace(go.Histogram(x=values, name=name, opacity=0.6, bingroup=1))
    return _layout(figure, "time_to_fill", barmode="overlay", xaxis_title="seconds", yaxis_title="fills")


def comparison_figures(comparison: Any, timezone: str = EXCHANGE_TIMEZONE) -> dict[str, go.Figure]:
    """Every figure, keyed as :data:`COMPARISON_FIGURE_TITLES`."""
    return {
        "equity": equity_comparison_figure(comparison, timezone),
        "signals": signals_figure(comparison, timezone),
        "fill_prices": fill_prices_figure(comparison, timezone),
        "attribution": attribution_figure(comparison),
        "time_to_fill": time_to_fill_figure(comparison),
    }
