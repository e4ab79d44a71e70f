"""Shared fixtures: real adjusted closes from the shipped daily file, read with pandas directly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import workbench

DAILY_FILE = Path(workbench.__file__).parent / "sample_data" / "lean_us_equities_daily_1998-2021.csv.gz"


@pytest.fixture(scope="session")
def adjusted_closes() -> pd.DataFrame:
    """date x symbol table of ``adj_close`` (AAPL, IBM, SPY, ...)."""
    table = pd.read_csv(DAILY_FILE, usecols=["date", "symbol", "adj_close"], parse_dates=["date"])
    return table.pivot(index="date", columns="symbol", values="adj_close").sort_index()


def _equity_curve_from_prices(prices: pd.Series, capital: float = 100_000.0, gross: float = 1.0) -> pd.DataFrame:
    prices = prices.dropna()
    index = pd.DatetimeIndex(prices.index).tz_localize("UTC") + pd.Timedelta(hours=21)
    equity = capital * prices.to_numpy() / prices.iloc[0]
    return pd.DataFrame(
        {
            "equity": equity,
            "cash": 0.0,
            "gross_exposure": equity * gross,
            "net_exposure": equity * gross,
            "realized_pnl": 0.0,
            "unrealized_pnl": equity - capital,
        },
        index=index,
    )


@pytest.fixture(scope="session")
def equity_curve_from_prices():
    """Factory: an equity curve worth ``capital * price / first price``, stamped 21:00 UTC (after the NY close)."""
    return _equity_curve_from_prices
