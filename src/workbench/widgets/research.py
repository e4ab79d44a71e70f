"""Research charts and a parameter grid for backtests (used by ``notebooks/01_research_backtest``).

Figures are plain ``plotly.graph_objects.Figure`` objects (static, cheap in a notebook); times are
shown in the exchange's time zone (New York by default). Session-level tear sheets (daily
returns, monthly table, benchmark) are in :mod:`workbench.analytics.tearsheet`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.engine.backtest import BacktestResult, run_backtest
from workbench.engine.strategy import Strategy
from workbench.errors import ConfigError
from workbench.model import events as ev

__all__ = ["ANNUALIZED_METRICS", "GRID_METRICS", "SHORT_SAMPLE_DAYS", "equity_drawdown_figure", "heatmap_figure",
           "parameter_grid", "price_figure", "short_sample_caveat", "signals_frame"]

EXCHANGE_TIMEZONE = "America/New_York"
CANDLESTICK_MAX_BARS = 3000
"""Above this many bars :func:`price_figure` draws a close line instead of candlesticks."""

GRID_METRICS = ("total_return", "sharpe_ratio", "max_drawdown", "round_trips", "final_equity")
"""Statistics of :attr:`BacktestResult.stats` collected by :func:`parameter_grid` by default."""

ANNUALIZED_METRICS = frozenset({"sharpe_ratio", "sortino_ratio", "cagr", "annualized_volatility", "calmar_ratio",
                                "annual_return"})
"""Statistics scaled to a year (their value from a short sample is mostly noise)."""

SHORT_SAMPLE_DAYS = 252
"""Fewer trading days than this (one year) and an annualised statistic gets a caveat."""


def short_sample_caveat(metric: str, days: float) -> str:
    """A warning when ``metric`` is annualised from fewer than :data:`SHORT_SAMPLE_DAYS` trading days
    (``""`` otherwise). An annualised Sharpe ratio's standard error is about ``sqrt((1 + SR^2 / 2)
    / years)`` (Lo, *The Statistics of Sharpe Ratios*, 2002): over one week that is about 7."""
    if metric not in ANNUALIZED_METRICS or not days or days >= SHORT_SAMPLE_DAYS:
        return ""
    return (f"caveat: {metric} is annualised from {days:g} trading day{'s' if days != 1 else ''} "
            f"(< {SHORT_SAMPLE_DAYS}); its sampling error dwarfs the differences shown")


def _local(times: pd.Series | pd.DatetimeIndex, timezone: str) -> pd.Series | pd.DatetimeIndex:
    """tz-aware UTC (or ns integers) -> tz-naive wall clock of ``timezone`` (what plotly shows)."""
    if not isinstance(times, pd.Series | pd.DatetimeIndex) or not isinstance(
        getattr(times, "dtype", None), pd.DatetimeTZDtype
    ):
        times = pd.to_datetime(times, unit="ns", utc=True)
    if isinstance(times, pd.Series):
        return times.dt.tz_convert(timezone).dt.tz_localize(None)
    return times.tz_convert(timezone).tz_localize(None)


def signals_frame(events: Iterable[ev.Event]) -> pd.DataFrame:
    """The SignalGenerated events of a run as a DataFrame.

    Columns: ``ts_event`` (tz-aware UTC), ``symbol``, ``direction`` (+1 long, -1 short, 0 flat),
    ``entry`` (currency or NaN), ``strategy_id``, ``reason``.
    """
    rows = [(e.ts_event, e.symbol, e.direction, e.entry, e.strategy_id, e.reason)
            for e in events if type(e) is ev.SignalGenerated]
    frame = pd.DataFrame(rows, columns=["ts_event", "symbol", "direction", "entry", "strategy_id", "reason"])
    frame["ts_event"] = pd.to_datetime(frame["ts_event"].astype("int64"), unit="ns", utc=True)
    frame["entry"] = frame["entry"].astype(float)
    return frame


def price_figure(
    bars: pd.DataFrame,
    fills: pd.DataFrame | None = None,
    signals: pd.DataFrame | None = None,
    *,
    symbol: str | None = None,
    timezone: str = EXCHANGE_TIMEZONE,
    title: str | None = None,
    moving_averages: Sequence[int] = (),
) -> go.Figure:
    """Price of one symbol with the strategy's signals and fills, nights and weekends cut out.

    Parameters
    ----------
    bars : DataFrame
        Canonical bars (``ts_event`` bar start ns or tz-aware, ``symbol``, ``open``..``close``).
    fills : DataFrame, optional
        ``BacktestResult.fills`` (``ts_event``, ``symbol``, ``side``, ``price``, ``quantity``):
        BUY as green triangles up, SELL as red triangles down, at the fill price.
    signals : DataFrame, optional
        :func:`signals_frame` output: crosses at the signal's entry price (green long, red short,
        grey flat).
    symbol : str, optional
        Required when ``bars`` holds several symbols.
    moving_averages : sequence of int
        Simple moving averages of the close over these many bars, drawn as lines (e.g. the
        strategy's fast and slow windows).

    Raises
    ------
    ValueError
        ``bars`` holds several symbols and ``symbol`` is None, or none of ``symbol``.
    """
    symbols = sorted(bars["symbol"].unique())
    if symbol is None:
        if len(symbols) != 1:
            raise ValueError(f"symbol: bars hold {symbols}; pass symbol=")
        symbol = symbols[0]
    data = bars[bars["symbol"] == symbol]
    if data.empty:
        raise ValueError(f"symbol: {symbol!r} is not in the bars ({symbols})")
    x = _local(data["ts_event"], timezone)
    figure = go.Figure()
    if len(data) <= CANDLESTICK_MAX_BARS:
        figure.add_trace(go.Candlestick(x=x, open=data["open"], high=data["high"], low=data["low"],
                                        close=data["close"], name=symbol))
    else:
        figure.add_trace(go.Scatter(x=x, y=data["close"], mode="lines", name=f"{symbol} close"))
    for window in moving_averages:
        figure.add_trace(go.Scatter(x=x, y=data["close"].rolling(int(window)).mean(), mode="lines",
                                    name=f"SMA {int(window)}", line={"width": 1.2}))
    if signals is not None and len(signals):
        sig = signals[(signals["symbol"] == symbol) & signals["entry"].notna()]
        colors = sig["direction"].map({1: "#2ca02c", -1: "#d62728"}).fillna("#7f7f7f")
        figure.add_trace(go.Scatter(x=_local(sig["ts_event"], timezone), y=sig["entry"], mode="markers",
                                    name="signal", marker={"symbol": "x", "size": 7, "color": colors},
                                    text=sig["reason"], hovertemplate="%{text}<br>%{y:.2f}<extra>signal</extra>"))
    if fills is not None and len(fills):
        own = fills[fills["symbol"] == symbol]
        for side, marker, color in (("BUY", "triangle-up", "#2ca02c"), ("SELL", "triangle-down", "#d62728")):
            part = own[own["side"].astype(str) == side]
            if len(part):
                figure.add_trace(go.Scatter(
                    x=_local(part["ts_event"], timezone), y=part["price"], mode="markers", name=f"{side.lower()} fill",
                    marker={"symbol": marker, "size": 10, "color": color, "line": {"width": 1, "color": "black"}},
                    customdata=part["quantity"], hovertemplate="%{customdata:g} @ %{y:.2f}<extra>" + side + "</extra>",
                ))
    figure.update_layout(title=title or f"{symbol}: price, signals and fills ({timezone} time)", height=460,
                         xaxis_rangeslider_visible=False, template="plotly_white", yaxis_title="price (USD)",
                         xaxis_title=f"time ({timezone})")
    figure.update_xaxes(rangebreaks=_breaks(x))
    return figure


def _breaks(x: pd.Series | pd.DatetimeIndex) -> list[dict[str, Any]]:
    """Range breaks cutting out gaps of over an hour between consecutive times (nights, weekends)."""
    from workbench.widgets.charts import gap_breaks

    return gap_breaks(pd.Series(x).dt.strftime("%Y-%m-%dT%H:%M:%S.%f").to_numpy())


def equity_drawdown_figure(equity_curve: pd.DataFrame | pd.Series, *, timezone: str = EXCHANGE_TIMEZONE,
                           title: str = "Equity and drawdown", benchmark: pd.Series | None = None,
                           benchmark_name: str = "benchmark") -> go.Figure:
    """Equity (currency) and drawdown from the running peak, ``equity / cummax(equity) - 1``, at
    every timestamp of the curve (intraday; the tear sheet's drawdown uses daily returns).

    ``equity_curve`` is ``BacktestResult.equity_curve`` (an ``equity`` column, tz-aware index) or
    an equity Series. ``benchmark`` (prices, tz-aware index, e.g. the traded symbol's closes) is
    drawn as buy-and-hold from the curve's starting equity: ``equity_0 x price_t / price_0``, the
    last price at or before each time of the curve. Nights and weekends are cut out.
    """
    equity = equity_curve["equity"] if isinstance(equity_curve, pd.DataFrame) else equity_curve
    drawdown = equity / equity.cummax() - 1.0
    x = _local(equity.index, timezone)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05)
    figure.add_trace(go.Scatter(x=x, y=equity.to_numpy(), mode="lines", name="equity"), row=1, col=1)
    if benchmark is not None and len(benchmark) and len(equity):
        prices = benchmark.sort_index().reindex(equity.index, method="ffill")
        first = prices.dropna()
        if len(first):
            hold = float(equity.iloc[0]) * prices / float(first.iloc[0])
            figure.add_trace(go.Scatter(x=x, y=hold.to_numpy(), mode="lines", name=f"{benchmark_name} buy and hold",
                                        line={"color": "#7f7f7f", "dash": "dot"}), row=1, col=1)
    figure.add_trace(go.Scatter(x=x, y=drawdown.to_numpy(), mode="lines", name="drawdown", fill="tozeroy",
                                line={"color": "#d62728"}), row=2, col=1)
    figure.update_yaxes(title_text="equity (USD)", row=1, col=1)
    figure.update_yaxes(title_text="drawdown", tickformat=".2%", row=2, col=1)
    figure.update_xaxes(rangebreaks=_breaks(x))
    figure.update_xaxes(title_text=f"time ({timezone})", row=2, col=1)
    figure.update_layout(title=title, height=460, showlegend=benchmark is not None, template="plotly_white",
                         legend={"orientation": "h", "y": 1.08})
    return figure


def parameter_grid(
    strategy: type[Strategy] | Callable[..., Strategy],
    data: Any,
    grid: Mapping[str, Sequence[Any]],
    *,
    metrics: Sequence[str] = GRID_METRICS,
    skip_invalid: bool = True,
    **engine_options: Any,
) -> pd.DataFrame:
    """Backtest ``strategy(**params)`` for every combination of ``grid`` on the same ``data``.

    Parameters
    ----------
    strategy : Strategy subclass or factory
        Called with one combination of keyword parameters.
    data : MarketDataStream or anything :func:`~workbench.engine.backtest.run_backtest` accepts
        (must be iterable more than once; a MarketDataStream is).
    grid : mapping parameter name -> values
    metrics : names in ``BacktestResult.stats``
        Columns of the result (NaN when a run lacks one).
    skip_invalid : bool
        Combinations the strategy's parameter model rejects (e.g. ``fast >= slow``) give a row of
        NaN metrics and the reason in ``error``; False re-raises.
    **engine_options
        Passed to ``run_backtest`` (starting_cash, commission, ...).

    Returns
    -------
    DataFrame
        One row per combination: the parameters, then ``metrics``, ``days`` (trading days the run
        spans, for :func:`short_sample_caveat`), then ``error``.
    """
    names = list(grid)
    rows = []
    for values in itertools.product(*(grid[name] for name in names)):
        params = dict(zip(names, values))
        row: dict[str, Any] = dict(params)
        try:
            result: BacktestResult = run_backtest(strategy(**params), data, progress=False, **engine_options)
        except (ConfigError, ValueError) as exc:
            if not skip_invalid:
                raise
            row.update({m: float("nan") for m in metrics}, error=str(exc).splitlines()[0])
        else:
            row.update({m: pd.to_numeric(result.stats.get(m, float("nan"))) for m in metrics}, error="")
            curve = result.equity_curve
            if len(curve):
                row["days"] = len(pd.DatetimeIndex(curve.index).tz_convert(EXCHANGE_TIMEZONE).normalize().unique())
        rows.append(row)
    return pd.DataFrame(rows, columns=[*names, *metrics, "days", "error"])


def heatmap_figure(table: pd.DataFrame, x: str, y: str, value: str, *, title: str | None = None,
                   value_format: str = ".3f") -> go.Figure:
    """Heatmap of ``value`` over two parameters of a :func:`parameter_grid` table (cells annotated).

    The red-yellow-green scale is centred on zero (red = loss, green = gain) whenever the values
    have both signs; the colour bar uses ``value_format`` (``".2%"`` shows percent). An
    annualised ``value`` over a short sample (the table's ``days`` column) carries the
    :func:`short_sample_caveat` under the title.
    """
    pivot = table.pivot_table(index=y, columns=x, values=value, aggfunc="mean")
    z = pivot.to_numpy()
    finite = z[pd.notna(z)]
    centred = len(finite) and finite.min() < 0 < finite.max()
    figure = go.Figure(go.Heatmap(
        z=z, x=[str(c) for c in pivot.columns], y=[str(i) for i in pivot.index],
        colorscale="RdYlGn", zmid=0.0 if centred else None,
        colorbar={"title": value, "tickformat": value_format},
        texttemplate="%{z:" + value_format + "}",
        hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{value}=%{{z:{value_format}}}<extra></extra>",
    ))
    caveat = short_sample_caveat(value, float(table["days"].max())) if "days" in table and table["days"].notna().any() \
        else ""
    heading = title or f"{value} by {x} and {y}"
    if caveat:
        heading += f"<br><sup>{caveat}</sup>"
    figure.update_layout(title=heading, xaxis_title=x, yaxis_title=y, height=440, template="plotly_white")
    return figure
