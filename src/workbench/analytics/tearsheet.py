"""Tearsheet: plotly figures of a run and one standalone HTML file.

Each ``*_figure`` function returns a :class:`plotly.graph_objects.Figure` whose traces hold the
series computed by :mod:`workbench.analytics.metrics` / :mod:`~workbench.analytics.periodic`
unchanged (fractions stay fractions; axes format them as percentages). :func:`tearsheet`
collects them with the :func:`~workbench.analytics.metrics.summary` table in a
:class:`Tearsheet`, which renders in a notebook (``_repr_html_``) and writes one self-contained
HTML file (:meth:`Tearsheet.to_html`): plotly.js is embedded once, nothing is fetched from the
network.

Times are shown in the exchange time zone (America/New_York, tz-naive on the axis); daily
points are placed at the 16:00 close of their date.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.analytics.benchmark import align_benchmark_returns, benchmark_prices
from workbench.analytics.metrics import sharpe_ratio, summary, summary_table, underwater
from workbench.analytics.periodic import monthly_returns_table, rolling_sharpe
from workbench.analytics.tearsheet_figures import (
    COMPARISON_TITLES,
    cumulative_returns_figure,
    return_quantiles_figure,
    rolling_beta_figure,
    rolling_volatility_figure,
    volatility_matched_figure,
    yearly_returns_figure,
)
from workbench.analytics.tearsheet_metrics import calendar_year_returns, full_metrics, worst_drawdowns
from workbench.analytics.timeseries import EXCHANGE_TIMEZONE, daily_last, equity_series, returns_from_equity

__all__ = [
    "FIGURE_TITLES",
    "TABLE_TITLES",
    "Tearsheet",
    "equity_figure",
    "exposure_figure",
    "monthly_returns_figure",
    "return_distribution_figure",
    "rolling_sharpe_figure",
    "tearsheet",
    "underwater_figure",
]

FIGURE_TITLES = {
    "equity": "Equity against benchmark",
    "underwater": "Underwater (drawdown from peak)",
    "monthly_returns": "Monthly returns",
    "return_distribution": "Distribution of daily returns",
    "rolling_sharpe": "Rolling Sharpe ratio",
    "exposure": "Exposure (fraction of equity)",
    **COMPARISON_TITLES,
}
"""Figure key -> title, in tearsheet order."""

TABLE_TITLES = {
    "metrics": "Strategy and benchmark (same span)",
    "worst_drawdowns": "Worst drawdowns",
    "yearly_returns": "Calendar-year returns",
}
"""Table key -> heading, in tearsheet order (see :mod:`workbench.analytics.tearsheet_metrics`)."""

MAX_POINTS = 20_000
"""Equity curves longer than this are plotted as daily closes to keep the HTML small."""

_CLOSE = pd.Timedelta(hours=16)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _layout(figure: go.Figure, key: str, title: str | None = None, **layout: object) -> go.Figure:
    layout.setdefault("height", 380)
    figure.update_layout(title=title or FIGURE_TITLES[key], template="plotly_white", **layout)
    return figure


def _local_times(series: pd.Series, timezone: str) -> pd.Series:
    """Plot-ready copy: exchange-local tz-naive times; daily closes when there are too many points."""
    if len(series) > MAX_POINTS:
        daily = daily_last(series, timezone)
        daily.index = daily.index + _CLOSE
        return daily
    out = series.copy()
    out.index = out.index.tz_convert(timezone).tz_localize(None)
    return out


def equity_figure(
    equity_curve: pd.DataFrame | pd.Series,
    benchmark: pd.Series | str | None = "SPY",
    timezone: str = EXCHANGE_TIMEZONE,
) -> go.Figure:
    """Equity (currency) over time, with the benchmark rebased to the starting equity.

    The benchmark trace is ``equity[0] * cumprod(1 + b)`` with ``b`` the benchmark returns
    aligned to the run's daily returns (:func:`~workbench.analytics.benchmark.align_benchmark_returns`),
    starting at the first equity timestamp; it is omitted when ``benchmark`` is None or shares no
    date with the run.
    """
    equity = equity_series(equity_curve)
    shown = _local_times(equity, timezone)
    figure = go.Figure(go.Scatter(x=shown.index, y=shown.to_numpy(), name="strategy", mode="lines"))
    returns = returns_from_equity(equity, timezone)
    if benchmark is not None and len(returns):
        bench = align_benchmark_returns(returns, benchmark_prices(benchmark, timezone))
        if bench.notna().any():
            start = float(equity.iloc[0])
            x = [shown.index[0], *(bench.index + _CLOSE)]
            y = [start, *(start * (1.0 + bench).cumprod().to_numpy())]
            name = benchmark if isinstance(benchmark, str) else (benchmark.name or "benchmark")
            figure.add_trace(go.Scatter(x=x, y=y, name=f"{name} (rebased)", mode="lines"))
    return _layout(figure, "equity", yaxis_title="equity (currency)")


def underwater_figure(returns: pd.Series) -> go.Figure:
    """Drawdown from the running peak after each period (:func:`~workbench.analytics.metrics.underwater`)."""
    drawdown = underwater(returns)
    figure = go.Figure(
        go.Scatter(x=drawdown.index, y=drawdown.to_numpy(), name="drawdown", fill="tozeroy", mode="lines")
    )
    return _layout(figure, "underwater", yaxis_tickformat=".1%", yaxis_title="drawdown")


def monthly_returns_figure(returns: pd.Series) -> go.Figure:
    """Heatmap of compounded monthly returns, year x month (:func:`~workbench.analytics.periodic.monthly_returns_table`)."""
    table = monthly_returns_table(returns)
    z = table.to_numpy()
    text = [["" if np.isnan(v) else f"{v:.1%}" for v in row] for row in z]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=_MONTHS,
            y=[str(year) for year in table.index],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0.0,
            colorbar={"tickformat": ".0%"},
            hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>",
        )
    )
    return _layout(figure, "monthly_returns", height=max(260, 120 + 30 * len(table)), yaxis_autorange="reversed")


def return_distribution_figure(returns: pd.Series, benchmark_returns: pd.Series | None = None) -> go.Figure:
    """Histogram of daily returns (fraction), with the benchmark's overlaid when given."""
    figure = go.Figure(go.Histogram(x=returns.dropna().to_numpy(), name="strategy", opacity=0.75, nbinsx=60, bingroup=1))
    if benchmark_returns is not None and benchmark_returns.notna().any():
        figure.add_trace(
            go.Histogram(x=benchmark_returns.dropna().to_numpy(), name="benchmark", opacity=0.5, bingroup=1)
        )
    return _layout(figure, "return_distribution", barmode="overlay", xaxis_tickformat=".1%", yaxis_title="days")


def rolling_sharpe_figure(returns: pd.Series, window: int = 126, risk_free_rate: float = 0.0) -> go.Figure:
    """Rolling annualized Sharpe ratio over ``window`` periods, with the full-period value as a line."""
    rolling = rolling_sharpe(returns, window, risk_free_rate)
    figure = go.Figure(go.Scatter(x=rolling.index, y=rolling.to_numpy(), name=f"{window}-day Sharpe", mode="lines"))
    overall = sharpe_ratio(returns, risk_free_rate)
    if np.isfinite(overall):
        figure.add_hline(y=overall, line_dash="dash", annotation_text=f"full period {overall:.2f}")
    return _layout(figure, "rolling_sharpe", title=f"{FIGURE_TITLES['rolling_sharpe']} ({window} days)")


def exposure_figure(equity_curve: pd.DataFrame, timezone: str = EXCHANGE_TIMEZONE) -> go.Figure:
    """Gross and net exposure divided by equity over time (fraction; 1.0 = fully invested).

    Without ``gross_exposure`` / ``net_exposure`` columns the figure is empty with a note.
    """
    figure = go.Figure()
    equity = equity_series(equity_curve)
    columns = [c for c in ("gross_exposure", "net_exposure") if isinstance(equity_curve, pd.DataFrame)
               and c in equity_curve.columns]  # fmt: skip
    for column in columns:
        ratio = _local_times(equity_curve[column].astype(float) / equity, timezone)
        figure.add_trace(go.Scatter(x=ratio.index, y=ratio.to_numpy(), name=column.replace("_", " "), mode="lines"))
    if not columns:
        figure.add_annotation(text="no exposure columns in the equity curve", showarrow=False)
    return _layout(figure, "exposure", yaxis_tickformat=".0%")


def _format_value(value: float, unit: str) -> str:
    if pd.isna(value):
        return "n/a"
    if unit.startswith("fraction"):
        return f"{value:.2%}"
    if unit.startswith("currency"):
        return f"{value:,.2f}"
    if unit.startswith(("trading days", "trades")) and float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3f}"


@dataclass
class Tearsheet:
    """Figures and summary of one run; shows itself in a notebook and writes standalone HTML.

    Attributes
    ----------
    summary : pandas.Series
        :func:`~workbench.analytics.metrics.summary` of the run (units in ``summary.attrs``).
    figures : dict[str, plotly.graph_objects.Figure]
        Keyed as :data:`FIGURE_TITLES`, in that order.
    title : str
    tables : dict[str, pandas.DataFrame]
        Keyed as :data:`TABLE_TITLES`: the full metrics of strategy and benchmark over the same
        span (``attrs["note"]`` says when the benchmark's span was shorter), the worst
        drawdowns and the calendar-year returns.
    """

    summary: pd.Series
    figures: dict[str, go.Figure] = field(default_factory=dict)
    title: str = "Tearsheet"
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def summary_table(self) -> pd.DataFrame:
        """The summary as a ``value`` / ``unit`` table."""
        return summary_table(self.summary)

    def _summary_html(self) -> str:
        table = self.summary_table()
        table["value"] = [_format_value(v, unit) for v, unit in zip(table["value"], table["unit"])]
        return table.to_html(classes="summary", border=0)

    def html_body(self, include_plotlyjs: bool = True) -> str:
        """HTML fragment: title, summary table, then each figure (its title inside the plot).

        ``include_plotlyjs=True`` embeds plotly.js (about 4.5 MB) once, before the first figure.
        """
        parts = [f"<h1>{html.escape(self.title)}</h1>", "<h2>Summary</h2>", self._summary_html()]
        for key, table in self.tables.items():
            parts.append(f"<h2>{html.escape(TABLE_TITLES.get(key, key))}</h2>")
            note = table.attrs.get("note")
            if note:
                parts.append(f"<p><em>{html.escape(note)}</em></p>")
            parts.append(table.to_html(classes="summary", border=0, float_format=lambda v: f"{v:,.4f}"))
        for i, figure in enumerate(self.figures.values()):
            parts.append(figure.to_html(full_html=False, include_plotlyjs=include_plotlyjs and i == 0))
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.html_body(include_plotlyjs=True)

    def to_html(self, path: str | Path) -> Path:
        """Write one self-contained HTML file (plotly.js embedded once, no network access needed).

        Returns
        -------
        pathlib.Path
            The path written.
        """
        path = Path(path)
        style = (
            "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
            "table.summary{border-collapse:collapse}table.summary td,table.summary th{padding:2px 10px;"
            "text-align:right}table.summary tr:nth-child(even){background:#f4f4f4}"
        )
        page = (
            f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{style}</style>\n</head>\n<body>\n"
            f"{self.html_body(include_plotlyjs=True)}\n</body>\n</html>\n"
        )
        path.write_text(page, encoding="utf-8")
        return path


def tearsheet(
    equity_curve: pd.DataFrame | pd.Series,
    trades: pd.DataFrame | None = None,
    benchmark: pd.Series | str | None = "SPY",
    fills: pd.DataFrame | None = None,
    rolling_window: int = 126,
    risk_free_rate: float = 0.0,
    title: str = "Tearsheet",
    timezone: str = EXCHANGE_TIMEZONE,
) -> Tearsheet:
    """Summary and every figure of a run.

    Parameters
    ----------
    equity_curve : pandas.DataFrame or pandas.Series
        Tz-aware index; ``equity`` (currency), optionally ``gross_exposure`` and
        ``net_exposure`` (currency).
    trades, fills : pandas.DataFrame, optional
        Round trips and fills (see :func:`~workbench.analytics.metrics.summary`).
    benchmark : pandas.Series, str or None
        Benchmark price levels or a symbol of the shipped daily file (default SPY); None for none.
    rolling_window : int
        Window of the rolling Sharpe ratio, in trading days.
    risk_free_rate : float
        Annual risk-free rate (fraction).
    title : str
        Heading of the report.
    timezone : str
        Exchange time zone (trading dates and axis times).

    Returns
    -------
    Tearsheet

    Raises
    ------
    ValueError
        For an invalid equity curve, trades or fills, or an unknown benchmark symbol.
    """
    metrics = summary(equity_curve, trades, benchmark, fills, risk_free_rate, timezone=timezone)
    returns = returns_from_equity(equity_curve, timezone)
    bench = None
    if benchmark is not None and len(returns):
        bench = align_benchmark_returns(returns, benchmark_prices(benchmark, timezone))
    frame = equity_curve if isinstance(equity_curve, pd.DataFrame) else equity_curve.to_frame("equity")
    figures = {
        "equity": equity_figure(equity_curve, benchmark, timezone),
        "underwater": underwater_figure(returns),
        "monthly_returns": monthly_returns_figure(returns),
        "return_distribution": return_distribution_figure(returns, bench),
        "rolling_sharpe": rolling_sharpe_figure(returns, rolling_window, risk_free_rate),
        "exposure": exposure_figure(frame, timezone),
        "cumulative_returns": cumulative_returns_figure(returns, bench),
        "log_cumulative_returns": cumulative_returns_figure(returns, bench, log_scale=True),
        "volatility_matched": volatility_matched_figure(returns, bench),
        "yearly_returns": yearly_returns_figure(calendar_year_returns(returns, bench)),
        "rolling_volatility": rolling_volatility_figure(returns, bench, rolling_window),
        "rolling_beta": rolling_beta_figure(returns, bench, rolling_window),
        "return_quantiles": return_quantiles_figure(returns, bench),
    }
    tables = {
        "metrics": full_metrics(returns, bench, risk_free_rate=risk_free_rate),
        "worst_drawdowns": worst_drawdowns(returns),
        "yearly_returns": calendar_year_returns(returns, bench),
    }
    return Tearsheet(summary=metrics, figures=figures, title=title, tables=tables)
