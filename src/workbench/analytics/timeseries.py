"""Time series edges: tz-aware timestamps to exchange dates, equity curves to daily returns.

Daily series in :mod:`workbench.analytics` are indexed by **exchange-local trading date**: a
tz-naive :class:`pandas.DatetimeIndex` at midnight, named ``"date"`` (a date is not an instant,
so it carries no time zone). Tz-aware timestamps are converted to that date in
:data:`EXCHANGE_TIMEZONE` before grouping.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["EXCHANGE_TIMEZONE", "daily_last", "equity_series", "returns_from_equity"]

EXCHANGE_TIMEZONE = "America/New_York"
"""Time zone whose calendar date defines a trading day (US equities)."""


def daily_last(values: pd.Series, timezone: str = EXCHANGE_TIMEZONE) -> pd.Series:
    """Last value of each exchange date.

    Parameters
    ----------
    values : pandas.Series
        Indexed by a tz-aware :class:`pandas.DatetimeIndex` (any zone; converted to ``timezone``)
        or a tz-naive one already holding exchange-local times.
    timezone : str
        IANA zone whose calendar date defines the trading day.

    Returns
    -------
    pandas.Series
        One row per date present, the last value (in index order) of that date, indexed by the
        tz-naive date (midnight), named ``"date"``.

    Raises
    ------
    ValueError
        If the index is not a DatetimeIndex.
    """
    if not isinstance(values.index, pd.DatetimeIndex):
        raise ValueError(f"index must be a pandas DatetimeIndex, got {type(values.index).__name__}")
    index = values.index
    if index.tz is not None:
        index = index.tz_convert(timezone).tz_localize(None)
    dates = index.normalize()
    out = values.groupby(dates, sort=True).last()
    out.index = pd.DatetimeIndex(out.index, name="date")
    return out


def equity_series(equity_curve: pd.DataFrame | pd.Series) -> pd.Series:
    """The validated ``equity`` column of an equity curve.

    Parameters
    ----------
    equity_curve : pandas.DataFrame or pandas.Series
        A frame with an ``equity`` column (currency) or that column itself, indexed by a
        tz-aware, non-decreasing :class:`pandas.DatetimeIndex`.

    Returns
    -------
    pandas.Series
        Equity (currency), float.

    Raises
    ------
    ValueError
        If the ``equity`` column is missing, the index is not tz-aware datetimes, the index is
        not sorted, or an equity value is NaN or not positive (the message names the timestamp).
    """
    if isinstance(equity_curve, pd.DataFrame):
        if "equity" not in equity_curve.columns:
            raise ValueError(f"equity_curve has no 'equity' column; columns are {list(equity_curve.columns)}")
        equity = equity_curve["equity"]
    else:
        equity = equity_curve
    index = equity.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError(f"equity_curve.index must be a tz-aware pandas DatetimeIndex, got {index.dtype}")
    if not index.is_monotonic_increasing:
        raise ValueError("equity_curve.index must be sorted in increasing time order")
    equity = equity.astype(float)
    bad = equity.isna() | (equity <= 0)
    if bad.any():
        ts = equity.index[bad.to_numpy()][0]
        raise ValueError(f"equity_curve.equity must be positive, got {float(equity[ts])!r} at {ts}")
    return equity


def returns_from_equity(equity_curve: pd.DataFrame | pd.Series, timezone: str = EXCHANGE_TIMEZONE) -> pd.Series:
    """Daily simple returns of an equity curve (intraday curves are reduced to daily).

    How: each timestamp is converted to ``timezone`` and grouped by its calendar date; the
    **last** equity value of each date is that day's close. The return of a date is its close
    over the previous date's close, minus 1. The first date's base is the **first** equity value
    of the curve (the starting capital), so the returns compound exactly to
    ``equity[-1] / equity[0] - 1``; when the first date has a single observation its return is
    0 by construction and it is dropped. A date with no observation (a missing day) yields no
    return: the next present date's return spans the gap.

    Parameters
    ----------
    equity_curve : pandas.DataFrame or pandas.Series
        Equity curve with an ``equity`` column (currency), tz-aware index (see
        :func:`equity_series`).
    timezone : str
        IANA zone whose calendar date defines the trading day.

    Returns
    -------
    pandas.Series
        Returns (fraction per day), indexed by exchange date (tz-naive, named ``"date"``),
        named ``"return"``; empty for a curve with fewer than two observations.

    Raises
    ------
    ValueError
        As :func:`equity_series`.
    """
    equity = equity_series(equity_curve)
    if equity.empty:
        return pd.Series([], index=pd.DatetimeIndex([], name="date"), dtype=float, name="return")
    closes = daily_last(equity, timezone)
    base = closes.shift(1)
    base.iloc[0] = equity.iloc[0]
    returns = (closes / base - 1.0).rename("return")
    local = equity.index.tz_convert(timezone).tz_localize(None).normalize()
    if (local == closes.index[0]).sum() == 1:
        returns = returns.iloc[1:]
    return returns


