"""Equity curve -> daily returns (intraday, missing days, NY dates), validation, benchmark loading and alignment."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.analytics import benchmark, timeseries


def _curve(stamps, values, tz="UTC"):
    return pd.DataFrame({"equity": values}, index=pd.DatetimeIndex(stamps).tz_localize(tz))


def test_intraday_curve_uses_last_value_per_new_york_date():
    curve = _curve(
        [
            "2021-03-01 14:30",  # first value: the base of day 1
            "2021-03-01 20:59",
            "2021-03-02 02:00",  # still 1 March in New York (21:00 EST)
            "2021-03-02 15:00",
            "2021-03-02 21:00",
            "2021-03-03 16:00",
        ],
        [100.0, 101.0, 102.0, 99.0, 103.0, 100.0],
    )
    returns = timeseries.returns_from_equity(curve)
    assert list(returns.index) == list(pd.to_datetime(["2021-03-01", "2021-03-02", "2021-03-03"]))
    assert returns.index.tz is None
    np.testing.assert_allclose(returns.to_numpy(), [102 / 100 - 1, 103 / 102 - 1, 100 / 103 - 1])
    assert np.prod(1 + returns) == pytest.approx(100.0 / 100.0)


def test_daily_curve_drops_the_zero_first_day_and_spans_missing_days():
    curve = _curve(
        ["2021-03-01 21:00", "2021-03-02 21:00", "2021-03-04 21:00"],  # 3 March missing
        [100.0, 110.0, 99.0],
    )
    returns = timeseries.returns_from_equity(curve)
    assert list(returns.index) == list(pd.to_datetime(["2021-03-02", "2021-03-04"]))
    np.testing.assert_allclose(returns.to_numpy(), [0.1, 99 / 110 - 1])


def test_short_curves_give_empty_returns():
    assert timeseries.returns_from_equity(_curve([], [])).empty
    assert timeseries.returns_from_equity(_curve(["2021-03-01 21:00"], [100.0])).empty


@pytest.mark.parametrize(
    ("curve", "message"),
    [
        (pd.DataFrame({"cash": [1.0]}, index=pd.DatetimeIndex(["2021-01-04"], tz="UTC")), "no 'equity' column"),
        (pd.DataFrame({"equity": [1.0]}, index=pd.DatetimeIndex(["2021-01-04"])), "tz-aware"),
        (_curve(["2021-01-04", "2021-01-05"], [100.0, -5.0]), "positive, got -5.0"),
        (_curve(["2021-01-04", "2021-01-05"], [100.0, np.nan]), "positive, got nan"),
        (_curve(["2021-01-05", "2021-01-04"], [100.0, 100.0]), "sorted"),
    ],
)
def test_bad_equity_curve_raises_naming_the_field(curve, message):
    with pytest.raises(ValueError, match=message):
        timeseries.returns_from_equity(curve)


def test_load_benchmark_prices_matches_file(adjusted_closes):
    spy = benchmark.load_benchmark_prices("SPY")
    expected = adjusted_closes["SPY"].dropna()
    assert spy.index.equals(pd.DatetimeIndex(expected.index))
    np.testing.assert_array_equal(spy.to_numpy(), expected.to_numpy())
    assert spy.index[0] == pd.Timestamp("1998-01-02")


def test_unknown_benchmark_symbol():
    with pytest.raises(ValueError, match=r"'XYZ' is not in .*available: .*SPY"):
        benchmark.load_benchmark_prices("XYZ")


def test_aligned_benchmark_spans_the_strategy_gaps():
    prices = pd.Series(
        [100.0, 101.0, 103.0, 102.0, 106.0],
        index=pd.to_datetime(["2021-03-01", "2021-03-02", "2021-03-03", "2021-03-04", "2021-03-05"]),
    )
    strategy = pd.Series([0.01, 0.02, 0.03], index=pd.to_datetime(["2021-03-02", "2021-03-04", "2021-03-08"]))
    aligned = benchmark.align_benchmark_returns(strategy, prices)
    assert aligned.iloc[0] == pytest.approx(101 / 100 - 1)  # base: last price before the first date
    assert aligned.iloc[1] == pytest.approx(102 / 101 - 1)  # 3 March skipped by the strategy: spans it
    assert math.isnan(aligned.iloc[2])  # benchmark has no 8 March


def test_benchmark_prices_from_intraday_series():
    stamps = pd.DatetimeIndex(["2021-03-01 15:00", "2021-03-01 20:00", "2021-03-02 20:00"], tz="UTC")
    prices = benchmark.benchmark_prices(pd.Series([10.0, 11.0, 12.0], index=stamps))
    assert list(prices.to_numpy()) == [11.0, 12.0]
    with pytest.raises(ValueError, match="positive"):
        benchmark.benchmark_prices(pd.Series([10.0, 0.0], index=stamps[:2]))
