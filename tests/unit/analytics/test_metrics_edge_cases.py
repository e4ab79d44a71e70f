"""Hand-worked cases for the return metrics: tiny series, flat series, missing data, drawdown periods."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from workbench.analytics import metrics, periodic


def _series(values, start="2021-01-04"):
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values), name="date"), dtype=float)


def test_hand_worked_small_series():
    r = _series([0.10, -0.20, 0.25, 0.0])
    # wealth 1.1, 0.88, 1.1, 1.1
    assert metrics.total_return(r) == pytest.approx(0.1)
    assert metrics.cagr(r, periods_per_year=4) == pytest.approx(0.1)  # exactly one "year" of 4 periods
    assert metrics.cagr(r, periods_per_year=2) == pytest.approx(1.1**0.5 - 1)
    expected_volatility = statistics.stdev([0.10, -0.20, 0.25, 0.0]) * math.sqrt(252)
    assert metrics.annualized_volatility(r) == pytest.approx(expected_volatility)
    assert metrics.sharpe_ratio(r) == pytest.approx(0.0375 / statistics.stdev([0.10, -0.20, 0.25, 0.0]) * math.sqrt(252))
    np.testing.assert_allclose(metrics.underwater(r).to_numpy(), [0.0, -0.2, 0.0, 0.0], atol=1e-15)
    assert metrics.max_drawdown(r) == pytest.approx(-0.2)


def test_sortino_hand_worked():
    r = _series([0.02, -0.01, 0.03, -0.02])
    downside = math.sqrt((0.01**2 + 0.02**2) / 4)  # mean over all four observations
    assert metrics.downside_deviation(r) == pytest.approx(downside * math.sqrt(252))
    assert metrics.sortino_ratio(r) == pytest.approx(0.005 * 252 / (downside * math.sqrt(252)))


def test_flat_series_gives_nan_ratios_not_inf():
    flat = _series([0.0] * 10)
    assert metrics.annualized_volatility(flat) == 0.0
    assert math.isnan(metrics.sharpe_ratio(flat))
    assert math.isnan(metrics.sortino_ratio(flat))
    assert metrics.max_drawdown(flat) == 0.0
    assert math.isnan(metrics.calmar_ratio(flat))
    assert metrics.total_return(flat) == 0.0
    assert metrics.cagr(flat) == 0.0
    assert metrics.drawdown_periods(flat).empty
    assert metrics.max_drawdown_duration(flat) == 0


def test_constant_positive_return_sharpe_is_nan():
    steady = _series([0.001] * 300)
    assert metrics.annualized_volatility(steady) == 0.0
    assert math.isnan(metrics.sharpe_ratio(steady))
    assert math.isnan(metrics.sortino_ratio(steady))  # no downside at all
    rolling = periodic.rolling_sharpe(steady, window=20)
    assert rolling.isna().all()
    assert (periodic.rolling_volatility(steady, window=20).dropna() == 0.0).all()


def test_empty_and_single_observation():
    empty = _series([])
    for func in (metrics.total_return, metrics.cagr, metrics.sharpe_ratio, metrics.max_drawdown):
        assert math.isnan(func(empty))
    one = _series([0.05])
    assert metrics.total_return(one) == pytest.approx(0.05)
    assert math.isnan(metrics.annualized_volatility(one))
    assert math.isnan(metrics.sharpe_ratio(one))
    assert math.isnan(metrics.sortino_ratio(one))
    assert metrics.max_drawdown(one) == 0.0


def test_nan_returns_are_dropped_as_missing_days():
    with_gap = _series([0.01, np.nan, -0.02, 0.03])
    without = with_gap.dropna()
    assert metrics.sharpe_ratio(with_gap) == metrics.sharpe_ratio(without)
    assert metrics.cagr(with_gap) == metrics.cagr(without)
    assert len(metrics.underwater(with_gap)) == 3


def test_total_loss_cagr_is_minus_one():
    assert metrics.cagr(_series([0.1, -1.0, 0.0])) == -1.0


def test_drawdown_periods_recovered_and_open():
    # wealth: 1.0, 0.9 (peak = start), 1.08 (recovered, new peak), 0.972, 1.0206 (still below 1.08)
    r = _series([0.0, -0.1, 0.2, -0.1, 0.05])
    periods = metrics.drawdown_periods(r)
    dates = r.index
    assert len(periods) == 2
    first, second = periods.iloc[0], periods.iloc[1]
    assert first["peak"] == dates[0] and first["trough"] == dates[1] and first["recovery"] == dates[2]
    assert first["depth"] == pytest.approx(-0.1) and first["duration"] == 2 and first["recovered"]
    assert second["peak"] == dates[2] and second["trough"] == dates[3] and pd.isna(second["recovery"])
    assert second["depth"] == pytest.approx(-0.1) and second["duration"] == 2 and not second["recovered"]


def test_drawdown_from_the_start_has_no_peak_date():
    r = _series([-0.1, 0.2])
    periods = metrics.drawdown_periods(r)
    assert pd.isna(periods.loc[0, "peak"])
    assert periods.loc[0, "recovery"] == r.index[1]
    assert periods.loc[0, "duration"] == 2


def test_deepest_and_longest_drawdown_differ():
    # deep but short: -30 % recovered in 2 periods; shallow but long: -5 % for 6 periods, then recovered.
    deep = [-0.3, 1 / 0.7 - 1]
    shallow = [-0.05, 0.0, 0.0, 0.0, 0.0, 1 / 0.95 - 1]
    r = _series([0.01, *deep, 0.01, *shallow, 0.01])
    assert metrics.max_drawdown(r) == pytest.approx(-0.3)
    assert metrics.max_drawdown_duration(r) == 2
    assert metrics.longest_drawdown_duration(r) == 6


def test_calmar_hand_worked():
    r = _series([0.10, -0.20, 0.25, 0.0])
    assert metrics.calmar_ratio(r, periods_per_year=4) == pytest.approx(0.1 / 0.2)


def test_alpha_beta_hand_worked():
    benchmark = _series([0.01, -0.02, 0.03, 0.005])
    strategy = 2.0 * benchmark + 0.001
    alpha, beta = metrics.alpha_beta(strategy, benchmark)
    assert beta == pytest.approx(2.0)
    assert alpha == pytest.approx(1.001**252 - 1)


def test_identical_to_benchmark_has_zero_tracking_error():
    r = _series([0.01, -0.02, 0.03])
    assert metrics.tracking_error(r, r) == 0.0
    assert math.isnan(metrics.information_ratio(r, r))
    assert metrics.alpha_beta(r, r)[1] == pytest.approx(1.0)


def test_flat_benchmark_gives_nan_alpha_beta():
    r = _series([0.01, -0.02, 0.03])
    alpha, beta = metrics.alpha_beta(r, _series([0.0, 0.0, 0.0]))
    assert math.isnan(alpha) and math.isnan(beta)


def test_benchmark_without_common_dates():
    r = _series([0.01, -0.02, 0.03])
    other = _series([0.01, 0.02, 0.03], start="2030-01-01")
    assert all(math.isnan(v) for v in metrics.alpha_beta(r, other))
    assert math.isnan(metrics.tracking_error(r, other))
    assert math.isnan(metrics.information_ratio(r, other))


def test_period_returns_weekly_compounds_within_friday_weeks():
    r = _series([0.01, 0.02, -0.01, 0.0, 0.03, 0.05], start="2021-01-04")  # Mon..Fri, next Mon
    weekly = periodic.period_returns(r, "weekly")
    assert list(weekly.to_numpy()) == pytest.approx([1.01 * 1.02 * 0.99 * 1.0 * 1.03 - 1, 0.05])
    with pytest.raises(ValueError, match="frequency"):
        periodic.period_returns(r, "hourly")


def test_monthly_table_shape():
    r = _series([0.01] * 30, start="2021-01-25")
    table = periodic.monthly_returns_table(r)
    assert list(table.columns) == list(range(1, 13))
    assert list(table.index) == [2021]
    assert table.loc[2021, 1] == pytest.approx(1.01**5 - 1)  # 25..29 January
    assert math.isnan(table.loc[2021, 12])
