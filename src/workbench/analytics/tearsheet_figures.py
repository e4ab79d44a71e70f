"""The tearsheet's comparison figures: cumulative returns (linear, log scale, volatility-matched),
rolling beta and volatility, return quantiles, calendar-year returns; strategy and benchmark on
the same dates (:func:`~workbench.analytics.tearsheet_metrics.same_span`).

Each function takes daily returns (fractions, indexed by exchange date) and returns a
:class:`plotly.graph_objects.Figure` whose traces hold the computed series unchanged.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from workbench.analytics.periodic import period_returns, rolling_volatility
from workbench.analytics.tearsheet_metrics import rolling_beta, same_span

__all__ = [
    "COMPARISON_TITLES",
    "cumulative_returns_figure",
    "return_quantiles_figure",
    "rolling_beta_figure",
    "rolling_volatility_figure",
    "volatility_matched_figure",
    "yearly_returns_figure",
]

COMPARISON_TITLES = {
    "cumulative_returns": "Cumulative returns",
    "log_cumulative_returns": "Cumulative returns (log scale)",
    "volatility_matched": "Cumulative returns, volatility matched to the benchmark",
    "yearly_returns": "Calendar-year returns",
    "rolling_volatility": "Rolling volatility",
    "rolling_beta": "Rolling beta to the benchmark",
    "return_quantiles": "Return quantiles",
}


def _layout(figure: go.Figure, key: str, title: str | None = None, **layout: object) -> go.Figure:
    layout.setdefault("height", 380)
    figure.update_layout(title=title or COMPARISON_TITLES[key], template="plotly_white", **layout)
    return figure


def _wealth(returns: pd.Series) -> pd.Series:
    return (1.0 + returns).cumprod()


def cumulative_returns_figure(returns: pd.Series, benchmark_returns: pd.Series | None = None, *,
                              log_scale: bool = False) -> go.Figure:
    """Compounded wealth of 1 (``cumprod(1 + r)``) of the strategy and the benchmark; on a log
    axis when ``log_scale`` (equal slopes = equal growth rates), else as a return (wealth - 1)."""
    r, b, note = same_span(returns, benchmark_returns)
    figure = go.Figure()
    for name, series in (("strategy", r), ("benchmark", b)):
        if series is not None:
            wealth = _wealth(series)
            y = wealth if log_scale else wealth - 1.0
            figure.add_trace(go.Scatter(x=series.index, y=y.to_numpy(), name=name, mode="lines"))
    if log_scale:
        return _layout(figure, "log_cumulative_returns", yaxis_type="log", yaxis_title="wealth of 1")
    return _layout(figure, "cumulative_returns", title=COMPARISON_TITLES["cumulative_returns"]
                   + (f" ({note})" if note else ""), yaxis_tickformat=".0%")


def volatility_matched_figure(returns: pd.Series, benchmark_returns: pd.Series | None) -> go.Figure:
    """Strategy returns scaled by ``std(benchmark) / std(strategy)`` (ddof=1), compounded, against
    the benchmark: the same risk, so the lines compare return per unit of volatility (as
    quantstats' ``returns(match_volatility=True)``)."""
    r, b, _ = same_span(returns, benchmark_returns)
    figure = go.Figure()
    if b is not None and r.std() > 0:
        scaled = r * (b.std() / r.std())
        figure.add_trace(go.Scatter(x=r.index, y=(_wealth(scaled) - 1.0).to_numpy(), name="strategy (matched)",
                                    mode="lines"))
        figure.add_trace(go.Scatter(x=b.index, y=(_wealth(b) - 1.0).to_numpy(), name="benchmark", mode="lines"))
    else:
        figure.add_annotation(text="needs a benchmark and a strategy with non-zero volatility", showarrow=False)
    return _layout(figure, "volatility_matched", yaxis_tickformat=".0%")


def rolling_volatility_figure(returns: pd.Series, benchmark_returns: pd.Series | None = None,
                              window: int = 126) -> go.Figure:
    """Annualized volatility over a trailing ``window`` (:func:`~workbench.analytics.periodic.rolling_volatility`)."""
    r, b, _ = same_span(returns, benchmark_returns)
    figure = go.Figure()
    for name, series in (("strategy", r), ("benchmark", b)):
        if series is not None:
            rolling = rolling_volatility(series, window)
            figure.add_trace(go.Scatter(x=rolling.index, y=rolling.to_numpy(), name=name, mode="lines"))
    return _layout(figure, "rolling_volatility", title=f"{COMPARISON_TITLES['rolling_volatility']} ({window} days)",
                   yaxis_tickformat=".0%")


def rolling_beta_figure(returns: pd.Series, benchmark_returns: pd.Series | None, window: int = 126) -> go.Figure:
    """Beta to the benchmark over a trailing ``window`` (:func:`~workbench.analytics.tearsheet_metrics.rolling_beta`)."""
    beta = rolling_beta(returns, benchmark_returns, window)
    figure = go.Figure(go.Scatter(x=beta.index, y=beta.to_numpy(), name=f"{window}-day beta", mode="lines"))
    return _layout(figure, "rolling_beta", title=f"{COMPARISON_TITLES['rolling_beta']} ({window} days)")


def return_quantiles_figure(returns: pd.Series, benchmark_returns: pd.Series | None = None) -> go.Figure:
    """Box plots of daily, weekly, monthly and yearly compounded returns (quartiles, whiskers,
    outliers), strategy and benchmark side by side."""
    r, b, _ = same_span(returns, benchmark_returns)
    figure = go.Figure()
    for name, series in (("strategy", r), ("benchmark", b)):
        if series is None:
            continue
        xs, ys = [], []
        for frequency in ("daily", "weekly", "monthly", "yearly"):
            values = period_returns(series, frequency).to_numpy()  # type: ignore[arg-type]
            xs.extend([frequency] * len(values))
            ys.extend(values.tolist())
        figure.add_trace(go.Box(x=xs, y=ys, name=name, boxpoints="outliers"))
    return _layout(figure, "return_quantiles", boxmode="group", yaxis_tickformat=".0%")


def yearly_returns_figure(table: pd.DataFrame) -> go.Figure:
    """Bars of :func:`~workbench.analytics.tearsheet_metrics.calendar_year_returns`."""
    figure = go.Figure()
    for column in ("strategy", "benchmark"):
        if column in table and table[column].notna().any():
            figure.add_trace(go.Bar(x=[str(y) for y in table.index], y=table[column].to_numpy(dtype=float),
                                    name=column))
    return _layout(figure, "yearly_returns", barmode="group", yaxis_tickformat=".0%")


