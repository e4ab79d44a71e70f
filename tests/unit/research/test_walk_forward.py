"""Walk-forward windows against a hand-worked example; the walk-forward run against an
independent grid (widgets.research.parameter_grid) and plain backtests of each window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.engine.backtest import run_backtest
from workbench.errors import ConfigError
from workbench.feeds.replay import regular_hours
from workbench.feeds.samples import load_demo_spy
from workbench.research.walk_forward import walk_forward, walk_forward_windows
from workbench.strategies import SmaCrossover
from workbench.widgets.research import parameter_grid

DATES = pd.bdate_range("2024-01-01", periods=10)  # Mon 1 Jan .. Fri 12 Jan 2024: d0..d9


def _spans(windows):
    index = {d: i for i, d in enumerate(DATES)}
    return [(index[w.in_sample_start], index[w.in_sample_end], index[w.out_of_sample_start],
             index[w.out_of_sample_end]) for w in windows]


def test_rolling_windows_hand_worked() -> None:
    """10 dates, 4 in sample, 2 out of sample, step 2: IS d0-d3 -> OOS d4-d5; IS d2-d5 -> OOS
    d6-d7; IS d4-d7 -> OOS d8-d9. Out-of-sample windows tile d4..d9 without overlap."""
    assert _spans(walk_forward_windows(DATES, 4, 2)) == [(0, 3, 4, 5), (2, 5, 6, 7), (4, 7, 8, 9)]


def test_anchored_windows_and_a_short_last_window() -> None:
    """Anchored, 3 in sample, 3 out: IS d0-d2 -> d3-d5; IS d0-d5 -> d6-d8; IS d0-d8 -> d9 (the one date left)."""
    assert _spans(walk_forward_windows(DATES, 3, 3, anchored=True)) == [(0, 2, 3, 5), (0, 5, 6, 8), (0, 8, 9, 9)]


def test_step_smaller_than_out_of_sample_overlaps_and_duplicates_are_ignored() -> None:
    dates = list(DATES[:6]) + list(DATES[:6])  # repeated timestamps of the same dates
    assert _spans(walk_forward_windows(dates, 2, 2, step=1)) == [(0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 5)]


def test_bad_windows() -> None:
    with pytest.raises(ConfigError, match="in_sample"):
        walk_forward_windows(DATES, 10, 1)
    with pytest.raises(ConfigError, match="out_of_sample"):
        walk_forward_windows(DATES, 2, 0)


def _day(frame: pd.DataFrame, first: str, last: str) -> pd.DataFrame:
    dates = pd.to_datetime(frame["ts_event"], unit="ns", utc=True).dt.tz_convert("America/New_York").dt.tz_localize(
        None).dt.normalize()
    return frame[(dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(last))]


def test_walk_forward_on_the_demo_week_against_independent_runs() -> None:
    bars, quotes = (regular_hours(f) for f in load_demo_spy())
    space = {"fast": [5, 10, 20], "slow": [30, 60]}
    result = walk_forward(SmaCrossover, (bars, quotes), space, "total_return", in_sample=2, out_of_sample=1,
                          executor="serial")
    windows = result.windows
    assert [str(d.date()) for d in windows["out_of_sample_start"]] == ["2013-10-09", "2013-10-10", "2013-10-11"]
    chained = 1.0
    for row in windows.itertuples():
        start, end = str(row.in_sample_start.date()), str(row.in_sample_end.date())
        grid = parameter_grid(SmaCrossover, (_day(bars, start, end), _day(quotes, start, end)), space)
        top = grid.sort_values("total_return", ascending=False, kind="stable").iloc[0]
        assert (row.fast, row.slow) == (top["fast"], top["slow"])
        span = run_backtest(SmaCrossover(fast=row.fast, slow=row.slow),
                            (_day(bars, start, str(row.out_of_sample_end.date())),
                             _day(quotes, start, str(row.out_of_sample_end.date()))))
        equity = span.equity_curve["equity"]
        dates = equity.index.tz_convert("America/New_York").tz_localize(None).normalize()
        base = equity[dates <= row.in_sample_end].iloc[-1]
        expected = equity.iloc[-1] / base - 1.0
        assert row.out_of_sample_return == pytest.approx(expected, rel=1e-12, abs=1e-15)
        chained *= 1.0 + expected
    assert result.equity["equity"].iloc[0] == 100_000.0
    assert result.equity["equity"].iloc[-1] == pytest.approx(100_000.0 * chained, rel=1e-12)
    assert result.stats["total_return"] == pytest.approx(chained - 1.0, rel=1e-9)
    assert np.isfinite(result.stats["sharpe_ratio"])
