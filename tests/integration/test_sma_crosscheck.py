"""Independent cross-check of the event-driven engine against a plain pandas computation.

Rule (the issue's): SMA crossover long-only on SPY daily bars (raw OHLC of the shipped LEAN file),
fast 10 / slow 30 closes, hold 100 shares while SMA10 > SMA30, flat otherwise; decide at each
close, market orders filled at the next bar's open, zero commission, 100,000 starting cash.

pandas: the regime series is ``SMA10 > SMA30`` (flat until SMA30 exists); a change of regime on
day t trades 100 shares at the open of day t+1 (a change on the last day never trades). Round
trips are completed entry/exit pairs; final equity is cash plus the open position at the last close.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.engine.backtest import run_backtest
from workbench.model.data import Bar
from workbench.strategies import SmaCrossover

DAILY_FILE = Path(workbench.__file__).parent / "sample_data" / "lean_us_equities_daily_1998-2021.csv.gz"
FAST, SLOW, QUANTITY, CASH = 10, 30, 100, 100_000.0


@pytest.fixture(scope="module")
def spy() -> pd.DataFrame:
    table = pd.read_csv(DAILY_FILE, usecols=["date", "symbol", "open", "high", "low", "close", "volume"])
    spy = table[table["symbol"] == "SPY"].sort_values("date").reset_index(drop=True)
    day = pd.to_datetime(spy["date"])
    spy["ts_event"] = (day + pd.Timedelta(hours=9, minutes=30)).dt.tz_localize("America/New_York").astype("int64")
    spy["ts_init"] = (day + pd.Timedelta(hours=16)).dt.tz_localize("America/New_York").astype("int64")
    return spy


@pytest.fixture(scope="module")
def expected(spy: pd.DataFrame) -> dict[str, float]:
    """The rule computed with pandas only."""
    close, open_ = spy["close"], spy["open"]
    fast = close.rolling(FAST).mean()
    slow = close.rolling(SLOW).mean()
    regime = ((fast > slow) & slow.notna()).astype(int)
    change = regime.diff().fillna(regime.iloc[0]).astype(int)
    trades = change[change != 0]
    trades = trades[trades.index < len(spy) - 1]  # a change on the last day never reaches an open
    fill_price = open_.shift(-1).loc[trades.index]
    entries = fill_price[trades > 0].to_numpy()
    exits = fill_price[trades < 0].to_numpy()
    n_closed = len(exits)
    assert len(entries) in (n_closed, n_closed + 1)
    pnl = float(np.sum(exits - entries[:n_closed])) * QUANTITY
    open_pnl = (close.iloc[-1] - entries[-1]) * QUANTITY if len(entries) > n_closed else 0.0
    return {
        "round_trips": n_closed,
        "final_equity": CASH + pnl + open_pnl,
        "fills": len(entries) + len(exits),
        "final_position": QUANTITY * (len(entries) - n_closed),
    }


def _check(result, expected: dict[str, float]) -> None:
    assert len(result.trades) == expected["round_trips"]
    assert len(result.fills) == expected["fills"]
    assert result.engine.portfolio.quantity("SPY") == expected["final_position"]
    assert result.final_equity == pytest.approx(expected["final_equity"], abs=1e-6)
    assert float(result.equity_curve["equity"].iloc[-1]) == pytest.approx(expected["final_equity"], abs=1e-6)
    assert result.engine.portfolio.ledger.commissions == 0.0


def test_sma_crossover_matches_pandas_on_hand_built_bars(spy: pd.DataFrame, expected: dict[str, float]) -> None:
    bars = [
        Bar("SPY", o, h, l, c, v, te, ti)
        for o, h, l, c, v, te, ti in zip(
            spy["open"].tolist(), spy["high"].tolist(), spy["low"].tolist(), spy["close"].tolist(),
            spy["volume"].astype(float).tolist(), spy["ts_event"].tolist(), spy["ts_init"].tolist(),
        )
    ]
    result = run_backtest(SmaCrossover(fast=FAST, slow=SLOW, quantity=QUANTITY), bars, starting_cash=CASH,
                          progress=False)
    assert expected["round_trips"] > 50  # the check is not vacuous: 23 years of crossovers
    _check(result, expected)
    # every fill is at the open of the bar after the decision
    opens = dict(zip(spy["ts_event"].tolist(), spy["open"].tolist()))
    fill_ns = result.fills["ts_event"].astype("int64").tolist()
    assert result.fills["price"].tolist() == [opens[t] for t in fill_ns]


def test_sma_crossover_matches_pandas_on_the_feeds_loader(expected: dict[str, float]) -> None:
    samples = pytest.importorskip("workbench.feeds.samples")
    frame, report = samples.load_lean_daily("SPY", adjusted=False)
    assert report.rows_kept == 5_849 and len(frame) == 5_849  # the same SPY days as the pandas side
    result = run_backtest(SmaCrossover(fast=FAST, slow=SLOW, quantity=QUANTITY), frame, starting_cash=CASH,
                          progress=False)
    _check(result, expected)
