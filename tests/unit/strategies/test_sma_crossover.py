"""SmaCrossover: float ties between the averages, and the pandas cross-check on real bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.engine.backtest import run_backtest
from workbench.model.data import Bar
from workbench.strategies import SmaCrossover
from workbench.strategies.sma_crossover import TIE_TOLERANCE

HOUR = 3_600_000_000_000


def flat_bars(price: float, n: int = 120, symbol: str = "FLAT") -> list[Bar]:
    return [Bar(symbol, price, price, price, price, 1_000.0, i * HOUR, (i + 1) * HOUR) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(price=st.floats(min_value=0.01, max_value=10_000.0, allow_nan=False, allow_infinity=False))
def test_flat_prices_never_cross(price: float) -> None:
    # With constant prices SMA(fast) == SMA(slow) exactly; only rounding noise can tell them apart.
    result = run_backtest(SmaCrossover(fast=10, slow=30, quantity=100), flat_bars(price), progress=False)
    assert len(result.orders) == 0


def test_without_tolerance_rounding_noise_trades() -> None:
    # The reason for the tolerance: 0.7 summed in a running sum makes SMA10 > SMA30 by noise.
    naive = run_backtest(SmaCrossover(fast=10, slow=30, quantity=100, tie_tolerance=0.0), flat_bars(0.7),
                         progress=False)
    assert len(naive.orders) == 1
    assert naive.orders["side"].iloc[0] == "BUY"


def test_long_short_ties_count_as_below() -> None:
    # long/short: a tie is "not above", so the strategy is short from the first full window.
    result = run_backtest(SmaCrossover(fast=10, slow=30, quantity=100, long_short=True), flat_bars(0.7),
                          progress=False)
    assert result.orders["side"].tolist() == ["SELL"]


def pandas_rule(bars: pd.DataFrame, fast: int, slow: int, quantity: float, cash: float) -> tuple[int, float]:
    """Round trips and final equity of the long-only rule computed with pandas alone."""
    trips, equity = 0, cash
    for _, g in bars.sort_values(["symbol", "ts_init"], kind="stable").groupby("symbol"):
        close, opens = g["close"], g["open"].to_numpy()
        f, s = close.rolling(fast).mean(), close.rolling(slow).mean()
        regime = ((f - s) > TIE_TOLERANCE * s.abs()).astype(int).where(s.notna(), 0).to_numpy()
        change = np.flatnonzero(np.diff(np.concatenate([[0], regime])) != 0)
        change = change[change + 1 < len(g)]
        prices, sides = opens[change + 1], regime[change]
        entries, exits = prices[sides == 1], prices[sides == 0]
        trips += len(exits)
        equity += float(((exits - entries[: len(exits)]) * quantity).sum())
        if len(entries) > len(exits):
            equity += (close.iloc[-1] - entries[-1]) * quantity
    return trips, equity


@pytest.mark.parametrize("symbols", [["AAPL", "BAC"], ["AIG", "IBM"]])
def test_matches_pandas_on_real_hourly_bars(symbols: list[str]) -> None:
    # These symbols contain exact ties of the split-adjusted averages (found at float noise level).
    from workbench.feeds.samples import load_lean_hourly

    bars, _ = load_lean_hourly(symbols)
    cash = 10_000_000.0
    result = run_backtest(SmaCrossover(fast=10, slow=30, quantity=100), bars, starting_cash=cash, progress=False)
    trips, equity = pandas_rule(bars, 10, 30, 100, cash)
    assert len(result.trades) == trips
    assert result.final_equity == pytest.approx(equity, abs=1e-6)
