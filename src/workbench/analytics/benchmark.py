"""Benchmark prices: the shipped daily file, exchange dates, and returns aligned to a strategy's days.

The default benchmark is SPY's dividend- and split-adjusted close (``adj_close``) from
``workbench/sample_data/lean_us_equities_daily_1998-2021.csv.gz`` (QuantConnect LEAN data, see
``sample_data/SOURCES.md``), read with :func:`pandas.read_csv`. Daily series are indexed by
exchange date (see :mod:`workbench.analytics.timeseries`).
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import pandas as pd

from workbench.analytics.timeseries import EXCHANGE_TIMEZONE, daily_last

__all__ = [
    "DAILY_SAMPLE_FILE",
    "align_benchmark_returns",
    "benchmark_prices",
    "load_benchmark_prices",
]

DAILY_SAMPLE_FILE = "lean_us_equities_daily_1998-2021.csv.gz"
"""Name of the shipped daily bar file (in ``workbench/sample_data``) holding the default benchmark."""


@functools.lru_cache(maxsize=1)
def _read_daily_sample_file() -> pd.DataFrame:
    path = resources.files("workbench") / "sample_data" / DAILY_SAMPLE_FILE
    with resources.as_file(path) as file:
        return pd.read_csv(file, usecols=["date", "symbol", "adj_close"], parse_dates=["date"])


def load_benchmark_prices(symbol: str = "SPY") -> pd.Series:
    """Adjusted daily closes of one symbol from the shipped daily file.

    Parameters
    ----------
    symbol : str
        Ticker in the file: SPY, IWM, EEM, USO, AAPL, IBM, BAC or AIG.

    Returns
    -------
    pandas.Series
        ``adj_close`` (currency, USD, adjusted for splits and dividends), indexed by exchange
        date (tz-naive, named ``"date"``), sorted, named ``symbol``. Data run 1998-01-02 to
        2021-03-31.

    Raises
    ------
    ValueError
        If ``symbol`` is not in the file (the message lists the symbols that are).
    """
    table = _read_daily_sample_file()
    rows = table[table["symbol"] == symbol]
    if rows.empty:
        available = sorted(table["symbol"].unique())
        raise ValueError(f"benchmark symbol {symbol!r} is not in {DAILY_SAMPLE_FILE}; available: {available}")
    prices = pd.Series(rows["adj_close"].to_numpy(dtype=float), index=pd.DatetimeIndex(rows["date"]), name=symbol)
    prices.index.name = "date"
    return prices.sort_index()


def benchmark_prices(benchmark: pd.Series | str, timezone: str = EXCHANGE_TIMEZONE) -> pd.Series:
    """Daily benchmark price levels from a symbol of the shipped file or a price series.

    Parameters
    ----------
    benchmark : pandas.Series or str
        A symbol (see :func:`load_benchmark_prices`) or price levels (currency, or any positive
        index level) indexed by dates or timestamps; intraday levels are reduced to the last
        value per exchange date.
    timezone : str
        Zone whose calendar date defines the trading day for tz-aware input.

    Returns
    -------
    pandas.Series
        Price levels indexed by exchange date (tz-naive, named ``"date"``), NaN rows dropped.

    Raises
    ------
    ValueError
        For an unknown symbol, a non-datetime index, or a non-positive price.
    """
    if isinstance(benchmark, str):
        return load_benchmark_prices(benchmark)
    prices = daily_last(benchmark.astype(float), timezone).dropna()
    if (prices <= 0).any():
        first = prices[prices <= 0].index[0]
        raise ValueError(f"benchmark prices must be positive, got {float(prices[first])!r} on {first.date()}")
    return prices


def align_benchmark_returns(returns: pd.Series, prices: pd.Series) -> pd.Series:
    """Benchmark returns over the same intervals as a strategy's daily returns.

    The benchmark return on strategy date ``d[i]`` is ``P(d[i]) / P(d[i-1]) - 1``, where
    ``d[i-1]`` is the strategy's previous date, so a day missing from the strategy's series is
    spanned by the next return in both series alike. For the first date the base is the last
    benchmark price strictly before it. Dates the benchmark does not have give NaN (metrics
    then skip that pair).

    Parameters
    ----------
    returns : pandas.Series
        Strategy returns (fraction per period) indexed by exchange date.
    prices : pandas.Series
        Benchmark price levels indexed by exchange date (see :func:`benchmark_prices`).

    Returns
    -------
    pandas.Series
        Benchmark returns (fraction per period), indexed like ``returns``, named ``"benchmark"``.
    """
    prices = prices.sort_index()
    dates = pd.DatetimeIndex(returns.index)
    at_dates = prices.reindex(dates).to_numpy(dtype=float)
    base = np.empty(len(dates))
    if len(dates):
        before = prices[prices.index < dates[0]]
        base[0] = before.iloc[-1] if len(before) else np.nan
        base[1:] = at_dates[:-1]
    out = pd.Series(at_dates / base - 1.0, index=returns.index, name="benchmark")
    return out
