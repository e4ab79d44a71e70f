"""Metrics checked against empyrical-reloaded on real daily returns (AAPL, IBM vs SPY, 1998-2021).

Tolerance: ``rtol=1e-9`` (``atol=1e-12`` for values near zero); both libraries compute the same
formulas in float64, so only summation order differs.
"""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest

from workbench.analytics import metrics, periodic

RTOL = 1e-9
ATOL = 1e-12
SYMBOLS = ["AAPL", "IBM", "USO"]

# empyrical's own series alignment triggers a pandas deprecation warning that is not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Sorting by default when concatenating")


def _returns(adjusted_closes: pd.DataFrame, symbol: str) -> pd.Series:
    return adjusted_closes[symbol].pct_change(fill_method=None).dropna()


@pytest.fixture(scope="module")
def spy(adjusted_closes):
    return _returns(adjusted_closes, "SPY")


@pytest.fixture(scope="module", params=SYMBOLS)
def stock(adjusted_closes, request):
    return _returns(adjusted_closes, request.param)


def _per_day(annual: float) -> float:
    return (1 + annual) ** (1 / 252) - 1


def test_return_and_volatility(stock):
    assert metrics.total_return(stock) == pytest.approx(empyrical.cum_returns_final(stock), rel=RTOL)
    assert metrics.cagr(stock) == pytest.approx(empyrical.annual_return(stock), rel=RTOL)
    assert metrics.annualized_volatility(stock) == pytest.approx(empyrical.annual_volatility(stock), rel=RTOL)


@pytest.mark.parametrize("annual_rate", [0.0, 0.03])
def test_sharpe(stock, annual_rate):
    expected = empyrical.sharpe_ratio(stock, risk_free=_per_day(annual_rate))
    assert metrics.sharpe_ratio(stock, risk_free_rate=annual_rate) == pytest.approx(expected, rel=RTOL)


@pytest.mark.parametrize("annual_rate", [0.0, 0.05])
def test_sortino_and_downside_deviation(stock, annual_rate):
    mar = _per_day(annual_rate)
    assert metrics.downside_deviation(stock, annual_rate) == pytest.approx(
        empyrical.downside_risk(stock, required_return=mar), rel=RTOL
    )
    assert metrics.sortino_ratio(stock, annual_rate) == pytest.approx(
        empyrical.sortino_ratio(stock, required_return=mar), rel=RTOL
    )


def test_drawdown_and_calmar(stock):
    assert metrics.max_drawdown(stock) == pytest.approx(empyrical.max_drawdown(stock), rel=RTOL)
    assert metrics.calmar_ratio(stock) == pytest.approx(empyrical.calmar_ratio(stock), rel=RTOL)
    np.testing.assert_allclose(metrics.underwater(stock), empyrical.stats.drawdown_series(stock), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("annual_rate", [0.0, 0.02])
def test_alpha_beta(stock, spy, annual_rate):
    alpha, beta = metrics.alpha_beta(stock, spy, risk_free_rate=annual_rate)
    expected_alpha, expected_beta = empyrical.alpha_beta(stock, spy, risk_free=_per_day(annual_rate))
    assert beta == pytest.approx(expected_beta, rel=RTOL)
    assert alpha == pytest.approx(expected_alpha, rel=RTOL)


def test_tracking_error_and_information_ratio(stock, spy):
    active = (stock - spy).dropna()
    assert metrics.tracking_error(stock, spy) == pytest.approx(empyrical.annual_volatility(active), rel=RTOL)
    expected = empyrical.excess_sharpe(stock, spy) * np.sqrt(252)
    assert metrics.information_ratio(stock, spy) == pytest.approx(expected, rel=RTOL)


def test_benchmark_metrics_pair_on_dates(stock, spy):
    """Shuffling one input must not change the result: pairing is by date, not position."""
    shuffled = spy.sample(frac=1.0, random_state=7)
    assert metrics.alpha_beta(stock, shuffled) == pytest.approx(metrics.alpha_beta(stock, spy), rel=RTOL)
    assert metrics.information_ratio(stock, shuffled) == pytest.approx(metrics.information_ratio(stock, spy), rel=RTOL)


def test_rolling(stock):
    window = 126
    ours = periodic.rolling_sharpe(stock, window).dropna()
    theirs = empyrical.roll_sharpe_ratio(stock, window=window)
    assert len(ours) == len(theirs) == len(stock) - window + 1
    np.testing.assert_allclose(ours.to_numpy(), np.asarray(theirs), rtol=1e-7)
    ours_vol = periodic.rolling_volatility(stock, window).dropna()
    np.testing.assert_allclose(
        ours_vol.to_numpy(), np.asarray(empyrical.roll_annual_volatility(stock, window=window)), rtol=1e-7
    )


@pytest.mark.parametrize(("frequency", "empyrical_name"), [("monthly", "monthly"), ("yearly", "yearly")])
def test_period_returns(stock, frequency, empyrical_name):
    ours = periodic.period_returns(stock, frequency)
    theirs = empyrical.aggregate_returns(stock, empyrical_name)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=RTOL, atol=ATOL)


def test_monthly_table_matches_aggregate(stock):
    table = periodic.monthly_returns_table(stock)
    theirs = empyrical.aggregate_returns(stock, "monthly")
    for (year, month), value in theirs.items():
        assert table.loc[year, month] == pytest.approx(value, rel=RTOL, abs=ATOL)
    assert table.notna().sum().sum() == len(theirs)
