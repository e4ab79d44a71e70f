"""Performance metrics on a series of periodic (normally daily) returns.

Conventions, shared by every function here:

* ``returns`` is a :class:`pandas.Series` of simple, non-cumulative returns (fractions: 0.01 =
  +1 %), one per period, in time order. NaN entries are treated as missing observations and
  dropped before computing (so they neither count as a period nor as a zero return).
* ``periods_per_year`` annualizes; 252 trading days per year by default, as in empyrical.
* Rates given as arguments (``risk_free_rate``, ``minimum_acceptable_return``) are **annual**
  and converted to a per-period rate geometrically: ``(1 + rate) ** (1 / periods_per_year) - 1``.
* A ratio whose denominator is zero (a flat series, no downside, no tracking error) is NaN,
  never infinite; so is any statistic with too few observations (fewer than 2 for
  dispersion-based ones, fewer than 1 otherwise).

The definitions follow empyrical-reloaded (the test suite checks agreement to ``rtol=1e-9``);
each docstring names the original source.

Daily returns from a backtest's equity curve come from
:func:`~workbench.analytics.timeseries.returns_from_equity` (re-exported here); trade-level
metrics are in :mod:`workbench.analytics.trade_metrics`, rolling and calendar-period views in
:mod:`workbench.analytics.periodic`; :func:`summary` collects the headline numbers in one table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.analytics import trade_metrics as _trade_metrics
from workbench.analytics.benchmark import align_benchmark_returns, benchmark_prices
from workbench.analytics.timeseries import EXCHANGE_TIMEZONE, equity_series, returns_from_equity

__all__ = [
    "SUMMARY_UNITS",
    "TRADING_DAYS_PER_YEAR",
    "alpha_beta",
    "annualized_volatility",
    "cagr",
    "calmar_ratio",
    "downside_deviation",
    "drawdown_periods",
    "information_ratio",
    "longest_drawdown_duration",
    "max_drawdown",
    "max_drawdown_duration",
    "returns_from_equity",
    "sharpe_ratio",
    "sortino_ratio",
    "summary",
    "summary_table",
    "total_return",
    "tracking_error",
    "underwater",
]

TRADING_DAYS_PER_YEAR = 252
"""Default annualization factor for daily returns (as in empyrical)."""



def _clean(returns: pd.Series) -> pd.Series:
    if not isinstance(returns, pd.Series):
        returns = pd.Series(np.asarray(returns, dtype=float))
    return returns.astype(float).dropna()


def _per_period(annual_rate: float, periods_per_year: float) -> float:
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0)


def _is_constant(values: np.ndarray) -> bool:
    return bool(values.max() == values.min())


# ---------------------------------------------------------------------------------------------
# Return and risk


def total_return(returns: pd.Series) -> float:
    """Compounded return over the whole series: ``prod(1 + r) - 1`` (fraction); NaN if empty."""
    r = _clean(returns)
    if r.empty:
        return float("nan")
    return float(np.prod(1.0 + r.to_numpy()) - 1.0)


def cagr(returns: pd.Series, periods_per_year: float = TRADING_DAYS_PER_YEAR) -> float:
    """Compound annual growth rate (fraction per year).

    ``(1 + total_return) ** (1 / years) - 1`` with ``years = n / periods_per_year``, ``n`` the
    number of observations -- the definition of empyrical's ``annual_return``. Missing days
    therefore shorten the assumed span. A total loss (wealth <= 0) gives -1.0; empty gives NaN.
    """
    r = _clean(returns)
    if r.empty:
        return float("nan")
    wealth = 1.0 + total_return(r)
    if wealth <= 0:
        return -1.0
    return float(wealth ** (periods_per_year / len(r)) - 1.0)


def annualized_volatility(returns: pd.Series, periods_per_year: float = TRADING_DAYS_PER_YEAR) -> float:
    """Sample standard deviation (ddof=1) times ``sqrt(periods_per_year)`` (fraction per year).

    Square-root-of-time scaling, valid for serially uncorrelated returns (Lo 2002, see
    :func:`sharpe_ratio`). Exactly 0.0 for a constant series; NaN for fewer than 2 observations.
    """
    r = _clean(returns).to_numpy()
    if len(r) < 2:
        return float("nan")
    if _is_constant(r):
        return 0.0
    return float(np.std(r, ddof=1) * np.sqrt(periods_per_year))


def sharpe_ratio(
    returns: pd.Series, risk_free_rate: float = 0.0, periods_per_year: float = TRADING_DAYS_PER_YEAR
) -> float:
    """Annualized Sharpe ratio: ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``.

    Source: Sharpe, W. F. (1994), "The Sharpe Ratio", *Journal of Portfolio Management* 21(1),
    49-58 (ex-post ratio of mean excess return to its standard deviation); annualization by
    ``sqrt(periods_per_year)`` as in Lo, A. W. (2002), "The Statistics of Sharpe Ratios",
    *Financial Analysts Journal* 58(4), 36-52, which holds for IID returns. ``risk_free_rate``
    is annual, converted to per period geometrically. NaN when the excess returns are constant
    (zero volatility) or there are fewer than 2 observations -- never infinite.
    """
    r = _clean(returns).to_numpy() - _per_period(risk_free_rate, periods_per_year)
    if len(r) < 2 or _is_constant(r):
        return float("nan")
    return float(np.mean(r) / np.std(r, ddof=1) * np.sqrt(periods_per_year))


def downside_deviation(
    returns: pd.Series, minimum_acceptable_return: float = 0.0, periods_per_year: float = TRADING_DAYS_PER_YEAR
) -> float:
    """Annualized downside deviation below a minimum acceptable return (fraction per year).

    ``sqrt(mean(min(r - mar, 0) ** 2)) * sqrt(periods_per_year)``, the mean taken over **all**
    observations (those above the threshold count as 0), as in Sortino & Price (1994) and
    empyrical's ``downside_risk``. ``minimum_acceptable_return`` is annual, converted to per
    period geometrically. NaN if empty.
    """
    r = _clean(returns).to_numpy()
    if len(r) < 1:
        return float("nan")
    below = np.minimum(r - _per_period(minimum_acceptable_return, periods_per_year), 0.0)
    return float(np.sqrt(np.mean(below**2)) * np.sqrt(periods_per_year))


def sortino_ratio(
    returns: pd.Series, minimum_acceptable_return: float = 0.0, periods_per_year: float = TRADING_DAYS_PER_YEAR
) -> float:
    """Annualized Sortino ratio: ``mean(r - mar) * periods_per_year / downside_deviation``.

    Source: Sortino, F. A. & Price, L. N. (1994), "Performance Measurement in a Downside Risk
    Framework", *Journal of Investing* 3(3), 59-64; the downside deviation is
    :func:`downside_deviation` (empyrical's definition). NaN when there is no return below the
    threshold (zero downside deviation) or fewer than 2 observations.
    """
    r = _clean(returns).to_numpy()
    if len(r) < 2:
        return float("nan")
    risk = downside_deviation(r, minimum_acceptable_return, periods_per_year)
    if risk == 0:
        return float("nan")
    mar = _per_period(minimum_acceptable_return, periods_per_year)
    return float(np.mean(r - mar) * periods_per_year / risk)


# ---------------------------------------------------------------------------------------------
# Drawdowns


_RECOVERY_TOLERANCE = 1e-12


def _underwater_values(r: np.ndarray) -> np.ndarray:
    """Underwater values at positions 0..n, position 0 being the starting wealth 1."""
    wealth = np.concatenate([[1.0], np.cumprod(1.0 + r)])
    return wealth / np.maximum.accumulate(wealth) - 1.0


def underwater(returns: pd.Series) -> pd.Series:
    """Drawdown from the running peak of compounded wealth after each period (fraction, <= 0).

    ``W_t / max(W_0..W_t) - 1`` with ``W_0 = 1`` the starting wealth and ``W_t = prod(1 + r)``
    (the drawdown of Magdon-Ismail & Atiya (2004), "Maximum drawdown", *Risk* 17(10), as a
    series; empyrical's ``drawdown_series``). Indexed like ``returns`` (NaN rows dropped).
    """
    r = _clean(returns)
    return pd.Series(_underwater_values(r.to_numpy())[1:], index=r.index, name="drawdown")


def max_drawdown(returns: pd.Series) -> float:
    """Largest peak-to-trough decline of compounded wealth (fraction, <= 0; -0.25 = 25 % down).

    Source: Magdon-Ismail, M. & Atiya, A. (2004), "Maximum drawdown", *Risk* 17(10), 99-102;
    the starting wealth counts as a peak (as in empyrical). NaN if empty.
    """
    r = _clean(returns).to_numpy()
    if len(r) < 1:
        return float("nan")
    return float(_underwater_values(r).min())


def drawdown_periods(returns: pd.Series) -> pd.DataFrame:
    """Every drawdown: peak, trough, recovery, depth and duration.

    A drawdown starts after a high-water mark and ends on the first period whose wealth is back
    at (or above) it; wealth within a relative 1e-12 of the mark counts as back (so that
    ``100 -> 99 -> 100`` recovers despite rounding in compounding). Durations count return
    periods; the starting wealth is position 0.

    Returns
    -------
    pandas.DataFrame
        One row per drawdown, in time order, columns:

        - ``peak``: date of the close at the high-water mark; NaT when the high-water mark is
          the starting wealth (before the first return).
        - ``trough``: date of the lowest wealth.
        - ``recovery``: date wealth regained the peak; NaT if not recovered by the end.
        - ``depth``: drawdown at the trough (fraction, < 0).
        - ``duration``: periods from peak to recovery, or to the last period if unrecovered
          (trading days for daily returns), int.
        - ``recovered``: bool.
    """
    r = _clean(returns)
    values = _underwater_values(r.to_numpy())
    labels = [pd.NaT, *r.index]
    rows = []
    below = values < -_RECOVERY_TOLERANCE
    position = 1
    n = len(values)
    while position < n:
        if not below[position]:
            position += 1
            continue
        start = position
        while position < n and below[position]:
            position += 1
        trough = start + int(np.argmin(values[start:position]))
        recovered = position < n
        rows.append(
            {
                "peak": labels[start - 1],
                "trough": labels[trough],
                "recovery": labels[position] if recovered else pd.NaT,
                "depth": float(values[trough]),
                "duration": (position if recovered else n - 1) - (start - 1),
                "recovered": recovered,
            }
        )
    columns = ["peak", "trough", "recovery", "depth", "duration", "recovered"]
    return pd.DataFrame(rows, columns=columns).astype({"duration": int, "recovered": bool, "depth": float})


def max_drawdown_duration(returns: pd.Series) -> int:
    """Duration (periods, peak to recovery or to the end) of the deepest drawdown; 0 if none."""
    periods = drawdown_periods(returns)
    if periods.empty:
        return 0
    return int(periods.loc[periods["depth"].idxmin(), "duration"])


def longest_drawdown_duration(returns: pd.Series) -> int:
    """Longest time underwater (periods, peak to recovery or to the end) of any drawdown; 0 if none."""
    periods = drawdown_periods(returns)
    return int(periods["duration"].max()) if len(periods) else 0


def calmar_ratio(returns: pd.Series, periods_per_year: float = TRADING_DAYS_PER_YEAR) -> float:
    """CAGR divided by the absolute maximum drawdown.

    Source: Young, T. W. (1991), "Calmar Ratio: A Smoother Tool", *Futures* 20(1), 40. Young
    uses the trailing 36 months; like empyrical we use the whole series. NaN when there is no
    drawdown.
    """
    depth = max_drawdown(returns)
    if not depth < 0:
        return float("nan")
    return float(cagr(returns, periods_per_year) / abs(depth))


# ---------------------------------------------------------------------------------------------
# Against a benchmark


def _paired(returns: pd.Series, benchmark_returns: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    joined = pd.concat([returns.astype(float), benchmark_returns.astype(float)], axis=1, join="inner", sort=True).dropna()
    return joined.iloc[:, 0].to_numpy(), joined.iloc[:, 1].to_numpy()


def alpha_beta(
    returns: pd.Series,
    benchmark_returns: pd.Series,
    risk_free_rate: float = 0.0,
    periods_per_year: float = TRADING_DAYS_PER_YEAR,
) -> tuple[float, float]:
    """CAPM alpha (annualized) and beta against a benchmark.

    ``beta = cov(r - rf, b - rf) / var(b - rf)``; ``alpha = (1 + mean((r - rf) - beta * (b - rf)))
    ** periods_per_year - 1`` (fraction per year), as empyrical annualizes it. Sources: Sharpe,
    W. F. (1964), "Capital Asset Prices", *Journal of Finance* 19(3), 425-442; Jensen, M. C.
    (1968), "The Performance of Mutual Funds in the Period 1945-1964", *Journal of Finance*
    23(2), 389-416. The series are paired on their index (inner join, NaN pairs dropped).
    ``(nan, nan)`` with fewer than 2 pairs or a flat benchmark.
    """
    r, b = _paired(returns, benchmark_returns)
    if len(r) < 2:
        return float("nan"), float("nan")
    rf = _per_period(risk_free_rate, periods_per_year)
    r, b = r - rf, b - rf
    centered = b - b.mean()
    variance = np.mean(centered**2)
    if variance < 1e-30:
        return float("nan"), float("nan")
    beta = float(np.mean(centered * r) / variance)
    alpha = float((1.0 + np.mean(r - beta * b)) ** periods_per_year - 1.0)
    return alpha, beta


def tracking_error(
    returns: pd.Series, benchmark_returns: pd.Series, periods_per_year: float = TRADING_DAYS_PER_YEAR
) -> float:
    """Annualized tracking error: ``std(r - b, ddof=1) * sqrt(periods_per_year)`` (fraction per year).

    Source: Grinold, R. C. & Kahn, R. N. (2000), *Active Portfolio Management*, 2nd ed., ch. 5
    (active risk). Paired on the index; 0.0 when the active return is constant, NaN with fewer
    than 2 pairs.
    """
    r, b = _paired(returns, benchmark_returns)
    return annualized_volatility(pd.Series(r - b), periods_per_year)


def information_ratio(
    returns: pd.Series, benchmark_returns: pd.Series, periods_per_year: float = TRADING_DAYS_PER_YEAR
) -> float:
    """Annualized information ratio: ``mean(r - b) * periods_per_year / tracking_error``.

    Equals empyrical's (unannualized) ``excess_sharpe`` times ``sqrt(periods_per_year)``.
    Source: Grinold & Kahn (2000), ch. 5; Goodwin, T. H. (1998), "The Information Ratio",
    *Financial Analysts Journal* 54(4), 34-43. NaN when the tracking error is zero or there are
    fewer than 2 pairs.
    """
    r, b = _paired(returns, benchmark_returns)
    active = r - b
    if len(active) < 2 or _is_constant(active):
        return float("nan")
    return float(np.mean(active) / np.std(active, ddof=1) * np.sqrt(periods_per_year))


# ---------------------------------------------------------------------------------------------
# Summary

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
        turnover=_trade_metrics.turnover(equity, fills, trades),
    )
    if isinstance(equity_curve, pd.DataFrame) and "gross_exposure" in equity_curve.columns:
        values["exposure_time"] = _trade_metrics.exposure_time(equity_curve)
    if trades is not None:
        values.update(
            trade_count=float(_trade_metrics.trade_count(trades)),
            trades_per_year=_trade_metrics.trades_per_year(trades, equity),
            win_rate=_trade_metrics.win_rate(trades),
            profit_factor=_trade_metrics.profit_factor(trades),
            expectancy=_trade_metrics.expectancy(trades),
            average_win=_trade_metrics.average_win(trades),
            average_loss=_trade_metrics.average_loss(trades),
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
