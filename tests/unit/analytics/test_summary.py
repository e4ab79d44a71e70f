"""summary(): end to end from an equity curve, checked against empyrical and against invariants."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pandas as pd
import pytest

from workbench.analytics import SUMMARY_UNITS, summary, summary_table

RTOL = 1e-9


@pytest.fixture(scope="module")
def aapl_curve(adjusted_closes, equity_curve_from_prices):
    return equity_curve_from_prices(adjusted_closes["AAPL"].loc["2010":"2015"])


def test_summary_matches_empyrical_on_a_real_equity_curve(aapl_curve, adjusted_closes):
    result = summary(aapl_curve, benchmark="SPY")
    returns = adjusted_closes["AAPL"].loc["2010":"2015"].pct_change(fill_method=None).dropna()
    spy = adjusted_closes["SPY"].pct_change(fill_method=None).loc[returns.index]
    assert result["days"] == len(returns)
    assert result["sharpe_ratio"] == pytest.approx(empyrical.sharpe_ratio(returns), rel=RTOL)
    assert result["sortino_ratio"] == pytest.approx(empyrical.sortino_ratio(returns), rel=RTOL)
    assert result["cagr"] == pytest.approx(empyrical.annual_return(returns), rel=RTOL)
    assert result["max_drawdown"] == pytest.approx(empyrical.max_drawdown(returns), rel=RTOL)
    assert result["calmar_ratio"] == pytest.approx(empyrical.calmar_ratio(returns), rel=RTOL)
    alpha, beta = empyrical.alpha_beta(returns, spy)
    assert result["alpha"] == pytest.approx(alpha, rel=RTOL)
    assert result["beta"] == pytest.approx(beta, rel=RTOL)
    assert result["total_return"] == pytest.approx(aapl_curve["equity"].iloc[-1] / 100_000 - 1, rel=RTOL)
    assert result["exposure_time"] == 1.0


def test_summary_of_the_benchmark_itself(adjusted_closes, equity_curve_from_prices):
    curve = equity_curve_from_prices(adjusted_closes["SPY"].loc["2019"])
    result = summary(curve)  # SPY by default
    assert result["beta"] == pytest.approx(1.0, rel=1e-12)
    assert result["alpha"] == pytest.approx(0.0, abs=1e-12)
    assert result["tracking_error"] == pytest.approx(0.0, abs=1e-12)
    assert result["benchmark_total_return"] == pytest.approx(result["total_return"], rel=1e-12)


def test_missing_days_keep_the_benchmark_aligned(adjusted_closes, equity_curve_from_prices):
    prices = adjusted_closes["SPY"].loc["2019"]
    curve = equity_curve_from_prices(prices).iloc[np.r_[0:50, 60:120, 121:len(prices)]]  # drop 11 days
    result = summary(curve)
    assert result["days"] == len(curve) - 1
    assert result["beta"] == pytest.approx(1.0, rel=1e-12)
    assert result["tracking_error"] == pytest.approx(0.0, abs=1e-12)


def test_summary_names_units_and_no_benchmark(aapl_curve):
    result = summary(aapl_curve, benchmark=None)
    assert list(result.index) == list(SUMMARY_UNITS)
    assert result.attrs["units"] == SUMMARY_UNITS
    for name in ("alpha", "beta", "tracking_error", "information_ratio", "benchmark_total_return"):
        assert math.isnan(result[name])
    table = summary_table(result)
    assert list(table.columns) == ["value", "unit"]
    assert table.loc["cagr", "unit"] == "fraction per year"


def test_benchmark_outside_the_data_range_gives_nan():
    index = pd.date_range("2024-01-02 21:00", periods=5, freq="B", tz="UTC")
    curve = pd.DataFrame({"equity": [100.0, 101.0, 99.0, 102.0, 103.0]}, index=index)
    result = summary(curve)
    assert math.isnan(result["beta"])
    assert result["total_return"] == pytest.approx(0.03)


def test_flat_curve_without_trades():
    index = pd.date_range("2021-01-04 21:00", periods=10, freq="B", tz="UTC")
    curve = pd.DataFrame({"equity": 1000.0, "gross_exposure": 0.0}, index=index)
    result = summary(curve, trades=pd.DataFrame(columns=["pnl"]), benchmark=None)
    assert result["total_return"] == 0.0
    assert result["annualized_volatility"] == 0.0
    assert math.isnan(result["sharpe_ratio"])
    assert result["max_drawdown"] == 0.0
    assert result["exposure_time"] == 0.0
    assert result["trade_count"] == 0
    assert result["trades_per_year"] == 0.0
    assert math.isnan(result["win_rate"])
    assert result["turnover"] == 0.0


def test_summary_with_trades_and_fills():
    index = pd.date_range("2021-01-04 21:00", periods=3, freq="B", tz="UTC")
    curve = pd.DataFrame({"equity": [1000.0, 1050.0, 1020.0], "gross_exposure": [0.0, 500.0, 0.0]}, index=index)
    trades = pd.DataFrame({"pnl": [50.0, -30.0]})
    fills = pd.DataFrame({"quantity": [5.0, 5.0], "price": [100.0, 110.0]})
    result = summary(curve, trades=trades, fills=fills, benchmark=None)
    assert result["win_rate"] == 0.5
    assert result["profit_factor"] == pytest.approx(50 / 30)
    assert result["expectancy"] == pytest.approx(10.0)
    years = 2 / 365.25
    assert result["trades_per_year"] == pytest.approx(2 / years)
    assert result["turnover"] == pytest.approx(1050.0 / np.mean([1000.0, 1050.0, 1020.0]) / years)
    assert result["exposure_time"] == pytest.approx(1 / 3)
    assert result["net_pnl"] == 20.0


def test_unknown_benchmark_symbol_raises(aapl_curve):
    with pytest.raises(ValueError, match="'NOPE'"):
        summary(aapl_curve, benchmark="NOPE")
