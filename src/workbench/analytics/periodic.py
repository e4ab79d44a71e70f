"""Rolling-window and calendar-period views of a return series.

Same conventions as :mod:`workbench.analytics.metrics` (simple returns as fractions, NaN rows
dropped, annual rates converted to per period geometrically, NaN rather than infinity).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from workbench.analytics.metrics import TRADING_DAYS_PER_YEAR, _clean, _per_period

__all__ = ["monthly_returns_table", "period_returns", "rolling_sharpe", "rolling_volatility"]

_FREQUENCIES = {"daily": "D", "weekly": "W-FRI", "monthly": "M", "yearly": "Y"}


def _rolling_constant(r: pd.Series, window: int) -> pd.Series:
    rolling = r.rolling(window, min_periods=window)
    return rolling.max() == rolling.min()


def rolling_sharpe(
    returns: pd.Series,
    window: int = 126,
    risk_free_rate: float = 0.0,
    periods_per_year: float = TRADING_DAYS_PER_YEAR,
) -> pd.Series:
    """:func:`sharpe_ratio` over a trailing window of ``window`` periods (default 126, about 6 months).

    Indexed like ``returns`` (NaN rows dropped); the first ``window - 1`` values are NaN, and
    so is any window whose excess returns are constant.
    """
    r = _clean(returns) - _per_period(risk_free_rate, periods_per_year)
    rolling = r.rolling(window, min_periods=window)
    out = rolling.mean() / rolling.std(ddof=1) * np.sqrt(periods_per_year)
    return out.mask(_rolling_constant(r, window)).rename("rolling_sharpe")


def rolling_volatility(
    returns: pd.Series, window: int = 126, periods_per_year: float = TRADING_DAYS_PER_YEAR
) -> pd.Series:
    """:func:`annualized_volatility` over a trailing window of ``window`` periods (fraction per year).

    The first ``window - 1`` values are NaN; a constant window gives exactly 0.0.
    """
    r = _clean(returns)
    out = r.rolling(window, min_periods=window).std(ddof=1) * np.sqrt(periods_per_year)
    return out.mask(_rolling_constant(r, window), 0.0).rename("rolling_volatility")


def period_returns(
    returns: pd.Series, frequency: Literal["daily", "weekly", "monthly", "yearly"] = "monthly"
) -> pd.Series:
    """Returns compounded within calendar periods: ``prod(1 + r) - 1`` per period (fraction).

    Weeks end on Friday (``W-FRI``). Indexed by a :class:`pandas.PeriodIndex`; periods with no
    observation are absent.

    Raises
    ------
    ValueError
        For an unknown ``frequency`` or a non-datetime index.
    """
    if frequency not in _FREQUENCIES:
        raise ValueError(f"frequency must be one of {list(_FREQUENCIES)}, got {frequency!r}")
    r = _clean(returns)
    if not isinstance(r.index, pd.DatetimeIndex):
        raise ValueError(f"returns.index must be a DatetimeIndex, got {type(r.index).__name__}")
    index = r.index.tz_localize(None) if r.index.tz is not None else r.index
    grouped = (1.0 + r).groupby(index.to_period(_FREQUENCIES[frequency])).prod() - 1.0
    return grouped.rename("return")


def monthly_returns_table(returns: pd.Series) -> pd.DataFrame:
    """Compounded monthly returns as a year x month table (fraction).

    Returns
    -------
    pandas.DataFrame
        Index: year (int); columns: month 1..12 (int); NaN for months without data.
    """
    monthly = period_returns(returns, "monthly")
    table = pd.DataFrame(
        {"year": monthly.index.year, "month": monthly.index.month, "return": monthly.to_numpy()}
    ).pivot_table(index="year", columns="month", values="return", aggfunc="first")
    return table.reindex(columns=range(1, 13)).rename_axis(index="year", columns="month")

