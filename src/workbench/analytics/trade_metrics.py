"""Trade, exposure, turnover and P&L metrics on a backtest's trades, fills and equity curve.

Inputs (pandas DataFrames, as a backtest result exposes them):

* ``trades`` (round trips): at least a ``pnl`` column (net P&L per trade, currency); for
  turnover without fills also ``quantity``, ``entry_price``, ``exit_price``.
* ``fills``: at least ``quantity`` (shares) and ``price`` (currency per share).
* ``equity_curve``: tz-aware UTC index, ``equity`` (currency) and, for exposure,
  ``gross_exposure`` (currency).

An empty frame (even without columns) means "no trades" / "no fills". A trade with
``pnl > 0`` is a win, ``pnl < 0`` a loss; a trade with ``pnl == 0`` (breakeven)
counts in the number of trades but is neither.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from workbench.analytics.timeseries import EXCHANGE_TIMEZONE, daily_last, equity_series

__all__ = [
    "average_loss",
    "average_win",
    "expectancy",
    "exposure_time",
    "pnl_table",
    "profit_factor",
    "trade_count",
    "traded_notional",
    "trades_per_year",
    "turnover",
    "win_rate",
    "years_spanned",
]

_DAYS_PER_YEAR = 365.25
_PERIODS = {"daily": "D", "weekly": "W-FRI", "monthly": "M"}


def _column(frame: pd.DataFrame, name: str, what: str) -> np.ndarray:
    if len(frame) == 0:  # no trades / no fills: any columns (even none) will do
        return np.empty(0)
    if name not in frame.columns:
        raise ValueError(f"{what} has no {name!r} column; columns are {list(frame.columns)}")
    values = frame[name].to_numpy(dtype=float)
    if np.isnan(values).any():
        row = frame.index[np.isnan(values)][0]
        raise ValueError(f"{what}.{name} is NaN in row {row!r}")
    return values


def _pnl(trades: pd.DataFrame) -> np.ndarray:
    return _column(trades, "pnl", "trades")


def trade_count(trades: pd.DataFrame) -> int:
    """Number of round-trip trades (rows of ``trades``)."""
    return len(trades)


def win_rate(trades: pd.DataFrame) -> float:
    """Fraction of trades with positive net P&L: ``wins / trades``; NaN with no trades.

    Breakeven trades count in the denominator. Source: the "percent profitable" of Tharp, V. K.
    (1998), *Trade Your Way to Financial Freedom*, ch. 7.

    Raises
    ------
    ValueError
        If ``trades`` has no ``pnl`` column or a NaN ``pnl``.
    """
    pnl = _pnl(trades)
    return float(np.mean(pnl > 0)) if len(pnl) else float("nan")


def profit_factor(trades: pd.DataFrame) -> float:
    """Gross profit over gross loss: ``sum(pnl > 0) / |sum(pnl < 0)|`` (ratio).

    Source: Kaufman, P. J. (2013), *Trading Systems and Methods*, 5th ed., ch. 21. Results at
    the edges: 0.0 when every trade loses; ``inf`` when there are wins and no loss; NaN with no
    trades or only breakeven trades.
    """
    pnl = _pnl(trades)
    gross_profit = pnl[pnl > 0].sum()
    gross_loss = -pnl[pnl < 0].sum()
    if gross_loss == 0:
        return float("inf") if gross_profit > 0 else float("nan")
    return float(gross_profit / gross_loss)


def expectancy(trades: pd.DataFrame) -> float:
    """Mean net P&L per trade (currency per trade); NaN with no trades.

    Equals Tharp's (1998) expectancy ``P(win) * average_win + P(loss) * average_loss`` (with
    ``average_loss`` negative), breakeven trades contributing 0.
    """
    pnl = _pnl(trades)
    return float(np.mean(pnl)) if len(pnl) else float("nan")


def average_win(trades: pd.DataFrame) -> float:
    """Mean net P&L of winning trades (currency, > 0); NaN without a winning trade."""
    pnl = _pnl(trades)
    wins = pnl[pnl > 0]
    return float(np.mean(wins)) if len(wins) else float("nan")


def average_loss(trades: pd.DataFrame) -> float:
    """Mean net P&L of losing trades (currency, < 0); NaN without a losing trade."""
    pnl = _pnl(trades)
    losses = pnl[pnl < 0]
    return float(np.mean(losses)) if len(losses) else float("nan")


def years_spanned(equity_curve: pd.DataFrame | pd.Series) -> float:
    """Calendar time from the first to the last equity timestamp, in years of 365.25 days."""
    index = equity_series(equity_curve).index
    if len(index) < 2:
        return 0.0
    return float((index[-1] - index[0]) / pd.Timedelta(days=1) / _DAYS_PER_YEAR)


def trades_per_year(trades: pd.DataFrame, equity_curve: pd.DataFrame | pd.Series) -> float:
    """Trade frequency: number of trades divided by :func:`years_spanned` of the equity curve.

    Short sessions are extrapolated (5 trades in one week -> about 261 per year). NaN when the
    curve spans no time.
    """
    years = years_spanned(equity_curve)
    return len(trades) / years if years > 0 else float("nan")


def exposure_time(equity_curve: pd.DataFrame) -> float:
    """Fraction of equity-curve observations with a nonzero gross exposure (0..1).

    Counted per observation (per bar), as backtesting.py's "Exposure Time [%]"; for a curve
    sampled at regular bars this is the fraction of time in the market. NaN for an empty curve.

    Raises
    ------
    ValueError
        If ``gross_exposure`` is missing or NaN.
    """
    gross = _column(equity_curve, "gross_exposure", "equity_curve")
    return float(np.mean(np.abs(gross) > 0)) if len(gross) else float("nan")


def traded_notional(fills: pd.DataFrame | None = None, trades: pd.DataFrame | None = None) -> float:
    """Total traded value, buys plus sells (currency).

    From ``fills`` as ``sum(|quantity * price|)``; without fills, from round trips as
    ``sum(|quantity| * (entry_price + exit_price))`` (both legs). 0.0 when neither is given.
    """
    if fills is not None:
        return float(np.abs(_column(fills, "quantity", "fills") * _column(fills, "price", "fills")).sum())
    if trades is not None:
        quantity = np.abs(_column(trades, "quantity", "trades"))
        prices = _column(trades, "entry_price", "trades") + _column(trades, "exit_price", "trades")
        return float((quantity * prices).sum())
    return 0.0


def turnover(
    equity_curve: pd.DataFrame | pd.Series,
    fills: pd.DataFrame | None = None,
    trades: pd.DataFrame | None = None,
    annualize: bool = True,
) -> float:
    """Traded notional (buys + sells) over mean equity; per year when ``annualize``.

    ``traded_notional / mean(equity)``, divided by :func:`years_spanned` when ``annualize``
    (times per year; otherwise times over the whole period). Buying and later selling the whole
    equity once counts 2.0. The ratio of traded value to portfolio value follows pyfolio's
    ``get_turnover`` (here over the whole period, with the mean equity as the denominator).
    NaN when annualizing a curve that spans no time or an empty curve.
    """
    equity = equity_series(equity_curve)
    if equity.empty:
        return float("nan")
    ratio = traded_notional(fills, trades) / float(equity.mean())
    if not annualize:
        return ratio
    years = years_spanned(equity)
    return ratio / years if years > 0 else float("nan")


def pnl_table(
    equity_curve: pd.DataFrame | pd.Series,
    frequency: Literal["daily", "weekly", "monthly"] = "daily",
    timezone: str = EXCHANGE_TIMEZONE,
) -> pd.DataFrame:
    """Profit and loss per day, week (ending Friday) or month, from the equity curve.

    Each period ends at its last equity value (periods by exchange date in ``timezone``) and
    starts at the previous period's end; the first period starts at the first equity value.

    Returns
    -------
    pandas.DataFrame
        Indexed by :class:`pandas.PeriodIndex` (named ``"period"``), columns ``start_equity``,
        ``end_equity``, ``pnl`` (currency) and ``return`` (fraction). Periods with no
        observation are absent.

    Raises
    ------
    ValueError
        For an unknown ``frequency`` or an invalid equity curve.
    """
    if frequency not in _PERIODS:
        raise ValueError(f"frequency must be one of {list(_PERIODS)}, got {frequency!r}")
    equity = equity_series(equity_curve)
    closes = daily_last(equity, timezone)
    ends = closes.groupby(closes.index.to_period(_PERIODS[frequency])).last()
    starts = ends.shift(1)
    if len(starts):
        starts.iloc[0] = equity.iloc[0]
    table = pd.DataFrame({"start_equity": starts, "end_equity": ends})
    table["pnl"] = table["end_equity"] - table["start_equity"]
    table["return"] = table["end_equity"] / table["start_equity"] - 1.0
    table.index.name = "period"
    return table
