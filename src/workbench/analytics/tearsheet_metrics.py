"""Full tearsheet numbers: strategy and benchmark side by side over the same span, the worst
drawdowns, calendar-year returns, rolling beta.

Sources of the numbers
----------------------
* Return, risk and drawdown statistics shared with :func:`workbench.analytics.metrics.summary`
  (cumulative return, CAGR, volatility, Sharpe, Sortino, max drawdown, Calmar, alpha, beta) come
  from :mod:`workbench.analytics.metrics`, whose definitions follow empyrical-reloaded (tested
  there to 1e-9).
* The other statistics of a quantstats full report are quantstats' own functions
  (``quantstats.stats``), called on the same daily returns; their conventions, where they
  differ from empyrical's or from a textbook, are:

  - ``skew`` / ``kurtosis``: pandas' bias-corrected sample skewness and **excess** kurtosis
    (normal = 0); the deflated Sharpe ratio uses the biased, non-excess moments instead;
  - ``value_at_risk``: parametric (normal) at 95 %, ``mean + sigma * Phi^-1(0.05)``;
    empyrical's ``value_at_risk`` is the historical 5th percentile;
  - ``conditional_value_at_risk``: quantstats' default (0.0.86), the parametric expected
    shortfall ``mean - sigma * phi(z) / 0.05``; empyrical's ``conditional_value_at_risk`` is the
    mean of the returns at or below the historical 5th percentile;
  - ``win_rate`` (days, months): days with a return > 0 among days with a return != 0
    (**breakeven days are left out**, unlike a share of all days); months compounded first;
  - ``payoff_ratio``: mean positive return / |mean negative return| (breakeven excluded);
  - ``kelly_criterion``: ``p - (1 - p) / payoff`` with ``p`` that win rate;
  - ``recovery_factor``: ``|sum of returns| / |max drawdown|`` (**simple sum**, not compounded);
  - ``ulcer_index``: ``sqrt(sum(drawdown^2) / (n - 1))``;
  - ``omega``: probability-weighted gains over losses around a 0 threshold, as empyrical's
    ``omega_ratio`` (same number);
  - ``tail_ratio``: ``|95th percentile / 5th percentile|``, as empyrical's (same number);
  - ``profit_factor``: sum of positive returns / |sum of negative returns|.

* Trailing returns (MTD, YTD, 3Y, 5Y) count back from the last date of the span: MTD and YTD
  compounded since the first day of the last date's month / year; 3Y and 5Y annualized
  (:func:`~workbench.analytics.metrics.cagr`, n / 252 years) over the dates after the same
  calendar day 3 or 5 years earlier, NaN when the span is shorter.

Same span: the benchmark column is computed on exactly the strategy's dates; when the
benchmark lacks some of them, **both** columns use only the dates both have, and the table's
``attrs["note"]`` says so.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from workbench.analytics import metrics as m
from workbench.analytics.periodic import period_returns

__all__ = ["METRIC_UNITS", "calendar_year_returns", "full_metrics", "rolling_beta", "same_span", "worst_drawdowns"]

METRIC_UNITS = {
    "cumulative_return": "fraction",
    "cagr": "fraction per year",
    "annualized_volatility": "fraction per year",
    "sharpe_ratio": "ratio",
    "sortino_ratio": "ratio",
    "max_drawdown": "fraction",
    "longest_drawdown_days": "trading days",
    "calmar_ratio": "ratio",
    "skew": "ratio",
    "kurtosis": "excess kurtosis",
    "value_at_risk": "fraction per day",
    "conditional_value_at_risk": "fraction per day",
    "omega_ratio": "ratio",
    "tail_ratio": "ratio",
    "payoff_ratio": "ratio",
    "profit_factor": "ratio",
    "kelly_criterion": "fraction of capital",
    "ulcer_index": "fraction",
    "recovery_factor": "ratio",
    "winning_days": "fraction",
    "winning_months": "fraction",
    "best_day": "fraction",
    "worst_day": "fraction",
    "best_month": "fraction",
    "worst_month": "fraction",
    "best_year": "fraction",
    "worst_year": "fraction",
    "mtd": "fraction",
    "ytd": "fraction",
    "3y_annualized": "fraction per year",
    "5y_annualized": "fraction per year",
    "alpha": "fraction per year",
    "beta": "ratio",
    "correlation": "ratio",
}
"""Row -> unit of :func:`full_metrics`, in table order."""


def same_span(returns: pd.Series, benchmark_returns: pd.Series | None) -> tuple[pd.Series, pd.Series | None, str]:
    """Strategy and benchmark returns restricted to the dates both have, and a note ("" when none was dropped)."""
    r = returns.dropna()
    if benchmark_returns is None:
        return r, None, ""
    b = benchmark_returns.reindex(r.index)
    both = b.notna()
    if both.all():
        return r, b, ""
    if not both.any():
        return r, None, "the benchmark has none of the strategy's dates: benchmark column left empty"
    kept = r.index[both]
    note = (f"the benchmark covers {both.sum()} of the strategy's {len(r)} dates: both columns use "
            f"{kept[0]:%Y-%m-%d}..{kept[-1]:%Y-%m-%d} where both exist")
    return r[both], b[both], note


def _quantstats(name: str, returns: pd.Series, **kwargs: object) -> float:
    import quantstats as qs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = getattr(qs.stats, name)(returns, **kwargs)
        except (ZeroDivisionError, ValueError):
            return float("nan")
    value = float(value)
    return value if np.isfinite(value) else float("nan")


def _trailing(returns: pd.Series, years: int) -> float:
    last = returns.index[-1]
    start = last - pd.DateOffset(years=years)
    if returns.index[0] > start:
        return float("nan")
    return m.cagr(returns[returns.index > start])


def _column(returns: pd.Series, benchmark: pd.Series | None, risk_free_rate: float,
            periods_per_year: float) -> dict[str, float]:
    r = returns
    if len(r) == 0:
        return dict.fromkeys(METRIC_UNITS, float("nan"))
    last = r.index[-1]
    monthly, yearly = period_returns(r, "monthly"), period_returns(r, "yearly")
    periods = m.drawdown_periods(r)
    out = {
        "cumulative_return": m.total_return(r),
        "cagr": m.cagr(r, periods_per_year),
        "annualized_volatility": m.annualized_volatility(r, periods_per_year),
        "sharpe_ratio": m.sharpe_ratio(r, risk_free_rate, periods_per_year),
        "sortino_ratio": m.sortino_ratio(r, risk_free_rate, periods_per_year),
        "max_drawdown": m.max_drawdown(r),
        "longest_drawdown_days": float(periods["duration"].max()) if len(periods) else 0.0,
        "calmar_ratio": m.calmar_ratio(r, periods_per_year),
        "skew": _quantstats("skew", r),
        "kurtosis": _quantstats("kurtosis", r),
        "value_at_risk": _quantstats("value_at_risk", r),
        "conditional_value_at_risk": _quantstats("conditional_value_at_risk", r),
        "omega_ratio": _quantstats("omega", r),
        "tail_ratio": _quantstats("tail_ratio", r),
        "payoff_ratio": _quantstats("payoff_ratio", r),
        "profit_factor": _quantstats("profit_factor", r),
        "kelly_criterion": _quantstats("kelly_criterion", r),
        "ulcer_index": _quantstats("ulcer_index", r),
        "recovery_factor": _quantstats("recovery_factor", r),
        "winning_days": _quantstats("win_rate", r),
        "winning_months": _quantstats("win_rate", monthly.to_timestamp()) if len(monthly) else float("nan"),
        "best_day": float(r.max()),
        "worst_day": float(r.min()),
        "best_month": float(monthly.max()),
        "worst_month": float(monthly.min()),
        "best_year": float(yearly.max()),
        "worst_year": float(yearly.min()),
        "mtd": m.total_return(r[r.index >= last.replace(day=1)]),
        "ytd": m.total_return(r[r.index >= last.replace(month=1, day=1)]),
        "3y_annualized": _trailing(r, 3),
        "5y_annualized": _trailing(r, 5),
        "alpha": float("nan"),
        "beta": float("nan"),
        "correlation": float("nan"),
    }
    if benchmark is not None:
        out["alpha"], out["beta"] = m.alpha_beta(r, benchmark, risk_free_rate, periods_per_year)
        out["correlation"] = float(r.corr(benchmark))
    return out


def full_metrics(returns: pd.Series, benchmark_returns: pd.Series | None = None, *, risk_free_rate: float = 0.0,
                 periods_per_year: float = m.TRADING_DAYS_PER_YEAR) -> pd.DataFrame:
    """Every number of a quantstats full report, strategy and benchmark side by side.

    Parameters
    ----------
    returns : pandas.Series
        Daily strategy returns (fraction) indexed by exchange date (see
        :func:`~workbench.analytics.timeseries.returns_from_equity`).
    benchmark_returns : pandas.Series, optional
        Benchmark returns over the same intervals
        (:func:`~workbench.analytics.benchmark.align_benchmark_returns`).
    risk_free_rate : float
        Annual (fraction), for Sharpe, Sortino and alpha.

    Returns
    -------
    pandas.DataFrame
        Rows :data:`METRIC_UNITS` (in that order), columns ``strategy``, ``benchmark`` (NaN
        without one) and ``unit``; ``attrs``: ``start``, ``end`` (dates of the span used),
        ``days`` and ``note`` (see the module docstring).
    """
    r, b, note = same_span(returns, benchmark_returns)
    strategy = _column(r, b, risk_free_rate, periods_per_year)
    bench = _column(b, None, risk_free_rate, periods_per_year) if b is not None else dict.fromkeys(
        METRIC_UNITS, float("nan"))
    table = pd.DataFrame({"strategy": strategy, "benchmark": bench}).reindex(list(METRIC_UNITS))
    table["unit"] = [METRIC_UNITS[name] for name in table.index]
    table.attrs.update(start=r.index[0] if len(r) else None, end=r.index[-1] if len(r) else None, days=len(r),
                       note=note)
    return table


def worst_drawdowns(returns: pd.Series, top: int = 5) -> pd.DataFrame:
    """The ``top`` deepest drawdowns (:func:`~workbench.analytics.metrics.drawdown_periods`), deepest first.

    Columns: ``peak``, ``trough``, ``recovery`` (NaT if not recovered), ``depth`` (fraction),
    ``duration`` (trading days), ``recovered``.
    """
    periods = m.drawdown_periods(returns)
    return periods.sort_values("depth", kind="stable").head(top).reset_index(drop=True)


def calendar_year_returns(returns: pd.Series, benchmark_returns: pd.Series | None = None) -> pd.DataFrame:
    """Compounded return of each calendar year, strategy and benchmark side by side (same span).

    Columns ``strategy``, ``benchmark`` (fractions) and ``difference`` (strategy - benchmark);
    indexed by year (int).
    """
    r, b, _ = same_span(returns, benchmark_returns)
    table = pd.DataFrame({"strategy": period_returns(r, "yearly")})
    table["benchmark"] = period_returns(b, "yearly") if b is not None else np.nan
    table["difference"] = table["strategy"] - table["benchmark"]
    table.index = table.index.year
    table.index.name = "year"
    return table


def rolling_beta(returns: pd.Series, benchmark_returns: pd.Series | None, window: int = 126) -> pd.Series:
    """Beta over a trailing ``window`` of periods: ``cov(r, b) / var(b)`` (NaN until the window is full)."""
    r, b, _ = same_span(returns, benchmark_returns)
    if b is None:
        return pd.Series(np.nan, index=r.index, name="rolling_beta")
    beta = r.rolling(window).cov(b) / b.rolling(window).var()
    return beta.rename("rolling_beta")
