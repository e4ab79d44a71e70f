"""One table of every headline metric of a run: :func:`summary`.

Computed on the run's daily returns (:func:`~workbench.analytics.timeseries.returns_from_equity`)
with the functions of :mod:`workbench.analytics.metrics` and
:mod:`workbench.analytics.trade_metrics`, against a benchmark from
:mod:`workbench.analytics.benchmark`.
"""

from __future__ import annotations

import pandas as pd

from workbench.analytics import trade_metrics as tm
from workbench.analytics.benchmark import align_benchmark_returns, benchmark_prices
from workbench.analytics.metrics import (
    TRADING_DAYS_PER_YEAR,
    alpha_beta,
    annualized_volatility,
    cagr,
    calmar_ratio,
    information_ratio,
    longest_drawdown_duration,
    max_drawdown,
    max_drawdown_duration,
    sharpe_ratio,
    sortino_ratio,
    total_return,
    tracking_error,
)
from workbench.analytics.timeseries import EXCHANGE_TIMEZONE, equity_series, returns_from_equity

__all__ = ["SUMMARY_UNITS", "summary", "summary_table"]

SUMMARY_UNITS: dict[str, str] = {
    "start_equity": "currency",
    "end_equity": "currency",
    "net_pnl": "currency",
    "days": "trading days (return observations)",
    "total_return": "fraction",
    "cagr": "fraction per year",
    "annualized_volatility": "fraction per year",
    "sharpe_ratio": "ratio, annualized",
    "sortino_ratio": "ratio, annualized",
    "calmar_ratio": "ratio",
    "max_drawdown": "fraction (negative)",
    "max_drawdown_duration": "trading days, peak to recovery",
    "longest_drawdown_duration": "trading days, peak to recovery",
    "best_day": "fraction",
    "worst_day": "fraction",
    "exposure_time": "fraction of observations",
    "turnover": "traded notional / mean equity, per year",
    "trade_count": "trades",
    "trades_per_year": "trades per year",
    "win_rate": "fraction",
    "profit_factor": "ratio",
    "expectancy": "currency per trade",
    "average_win": "currency per trade",
    "average_loss": "currency per trade",
    "benchmark_total_return": "fraction",
    "alpha": "fraction per year",
    "beta": "ratio",
    "tracking_error": "fraction per year",
    "information_ratio": "ratio, annualized",
}
"""Unit of every entry of :func:`summary`, in its order."""


def summary(
    equity_curve: pd.DataFrame | pd.Series,
    trades: pd.DataFrame | None = None,
    benchmark: pd.Series | str | None = "SPY",
    fills: pd.DataFrame | None = None,
    risk_free_rate: float = 0.0,
    periods_per_year: float = TRADING_DAYS_PER_YEAR,
    timezone: str = EXCHANGE_TIMEZONE,
) -> pd.Series:
    """Every headline metric of a run, computed on its daily returns (see :func:`returns_from_equity`).

    Parameters
    ----------
    equity_curve : pandas.DataFrame or pandas.Series
        Tz-aware index; ``equity`` (currency) and optionally ``gross_exposure`` (currency).
    trades : pandas.DataFrame, optional
        Round trips with a ``pnl`` column (currency). ``None``: trade metrics are NaN; an empty
        frame: ``trade_count`` 0 and the other trade metrics NaN.
    benchmark : pandas.Series, str or None
        Benchmark price levels (indexed by date or timestamp) or a symbol of the shipped daily
        file; default SPY ``adj_close``. ``None``: benchmark metrics are NaN, as they are when
        the benchmark has no date in common with the run.
    fills : pandas.DataFrame, optional
        Fills with ``quantity`` and ``price`` for turnover; without them turnover is computed
        from ``trades`` (both legs), and is 0.0 with neither.
    risk_free_rate : float
        Annual risk-free rate (fraction) for Sharpe and alpha.
    periods_per_year : float
        Annualization factor of the daily returns.
    timezone : str
        Zone whose calendar date defines the trading day.

    Returns
    -------
    pandas.Series
        float values indexed by the names of :data:`SUMMARY_UNITS` (in that order);
        ``series.attrs["units"]`` holds that mapping. Undefined entries are NaN.

    Raises
    ------
    ValueError
        For an invalid equity curve, trades or fills (see the functions used), or an unknown
        benchmark symbol.
    """
    equity = equity_series(equity_curve)
    returns = returns_from_equity(equity, timezone)
    nan = float("nan")
    values: dict[str, float] = dict.fromkeys(SUMMARY_UNITS, nan)
    if len(equity):
        values["start_equity"] = float(equity.iloc[0])
        values["end_equity"] = float(equity.iloc[-1])
        values["net_pnl"] = float(equity.iloc[-1] - equity.iloc[0])
    values.update(
        days=float(len(returns)),
        total_return=total_return(returns),
        cagr=cagr(returns, periods_per_year),
        annualized_volatility=annualized_volatility(returns, periods_per_year),
        sharpe_ratio=sharpe_ratio(returns, risk_free_rate, periods_per_year),
        sortino_ratio=sortino_ratio(returns, 0.0, periods_per_year),
        calmar_ratio=calmar_ratio(returns, periods_per_year),
        max_drawdown=max_drawdown(returns),
        max_drawdown_duration=float(max_drawdown_duration(returns)),
        longest_drawdown_duration=float(longest_drawdown_duration(returns)),
        best_day=float(returns.max()) if len(returns) else nan,
        worst_day=float(returns.min()) if len(returns) else nan,
        turnover=tm.turnover(equity, fills, trades),
    )
    if isinstance(equity_curve, pd.DataFrame) and "gross_exposure" in equity_curve.columns:
        values["exposure_time"] = tm.exposure_time(equity_curve)
    if trades is not None:
        values.update(
            trade_count=float(tm.trade_count(trades)),
            trades_per_year=tm.trades_per_year(trades, equity),
            win_rate=tm.win_rate(trades),
            profit_factor=tm.profit_factor(trades),
            expectancy=tm.expectancy(trades),
            average_win=tm.average_win(trades),
            average_loss=tm.average_loss(trades),
        )
    if benchmark is not None and len(returns):
        bench = align_benchmark_returns(returns, benchmark_prices(benchmark, timezone))
        if bench.notna().any():
            alpha, beta = alpha_beta(returns, bench, risk_free_rate, periods_per_year)
            values.update(
                benchmark_total_return=total_return(bench),
                alpha=alpha,
                beta=beta,
                tracking_error=tracking_error(returns, bench, periods_per_year),
                information_ratio=information_ratio(returns, bench, periods_per_year),
            )
    out = pd.Series(values, name="value", dtype=float)
    out.attrs["units"] = dict(SUMMARY_UNITS)
    return out


def summary_table(metrics: pd.Series) -> pd.DataFrame:
    """:func:`summary` as a two-column table (``value``, ``unit``) for display."""
    units = metrics.attrs.get("units", SUMMARY_UNITS)
    return pd.DataFrame({"value": metrics, "unit": [units.get(name, "") for name in metrics.index]})
