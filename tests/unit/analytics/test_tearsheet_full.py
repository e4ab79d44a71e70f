"""Full tearsheet numbers against empyrical, quantstats and hand formulas, on a fixed series and
on a real backtest; conventions that differ are asserted as such (see tearsheet_metrics)."""

from __future__ import annotations

import importlib
import warnings

import empyrical
import numpy as np
import pandas as pd
import pytest
import quantstats as qs
from scipy import stats

from workbench.analytics.benchmark import align_benchmark_returns, benchmark_prices
from workbench.analytics.tearsheet_metrics import (
    METRIC_UNITS,
    calendar_year_returns,
    full_metrics,
    rolling_beta,
    worst_drawdowns,
)
from workbench.analytics.timeseries import returns_from_equity

ts = importlib.import_module("workbench.analytics.tearsheet")
RTOL = 1e-9


@pytest.fixture(scope="module")
def fixed() -> tuple[pd.Series, pd.Series]:
    """1,600 business days from 2014 with fat tails, 40 breakeven (zero) days, and a benchmark."""
    rng = np.random.default_rng(42)
    index = pd.bdate_range("2014-01-02", periods=1600)
    benchmark = pd.Series(rng.standard_t(4, len(index)) * 0.008 + 0.0003, index=index)
    strategy = 0.6 * benchmark + pd.Series(rng.standard_t(3, len(index)) * 0.006 + 0.0002, index=index)
    strategy.iloc[rng.choice(len(index), 40, replace=False)] = 0.0
    return strategy, benchmark


@pytest.fixture(scope="module")
def table(fixed) -> pd.DataFrame:
    return full_metrics(*fixed)


def test_rows_and_units(table) -> None:
    assert list(table.index) == list(METRIC_UNITS) and list(table.columns) == ["strategy", "benchmark", "unit"]


def test_shared_statistics_equal_empyrical(fixed, table) -> None:
    r, b = fixed
    for column, series in (("strategy", r), ("benchmark", b)):
        col = table[column]
        assert col["cumulative_return"] == pytest.approx(empyrical.cum_returns_final(series), rel=RTOL)
        assert col["cagr"] == pytest.approx(empyrical.annual_return(series), rel=RTOL)
        assert col["annualized_volatility"] == pytest.approx(empyrical.annual_volatility(series), rel=RTOL)
        assert col["sharpe_ratio"] == pytest.approx(empyrical.sharpe_ratio(series), rel=RTOL)
        assert col["sortino_ratio"] == pytest.approx(empyrical.sortino_ratio(series), rel=RTOL)
        assert col["max_drawdown"] == pytest.approx(empyrical.max_drawdown(series), rel=RTOL)
        assert col["calmar_ratio"] == pytest.approx(empyrical.calmar_ratio(series), rel=RTOL)
        assert col["omega_ratio"] == pytest.approx(empyrical.omega_ratio(series), rel=RTOL)
        assert col["tail_ratio"] == pytest.approx(empyrical.tail_ratio(series), rel=RTOL)
        months = empyrical.aggregate_returns(series, "monthly")
        years = empyrical.aggregate_returns(series, "yearly")
        assert (col["best_month"], col["worst_month"]) == pytest.approx((months.max(), months.min()), rel=RTOL)
        assert (col["best_year"], col["worst_year"]) == pytest.approx((years.max(), years.min()), rel=RTOL)
    alpha, beta = empyrical.alpha_beta(r, b)
    assert table.loc["alpha", "strategy"] == pytest.approx(alpha, rel=RTOL)
    assert table.loc["beta", "strategy"] == pytest.approx(beta, rel=RTOL)
    assert table.loc["correlation", "strategy"] == pytest.approx(np.corrcoef(r, b)[0, 1], rel=RTOL)
    assert np.isnan(table.loc["alpha", "benchmark"])


def test_quantstats_statistics_and_their_conventions(fixed, table) -> None:
    r, _ = fixed
    col = table["strategy"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row, name in [("skew", "skew"), ("kurtosis", "kurtosis"), ("value_at_risk", "value_at_risk"),
                          ("conditional_value_at_risk", "conditional_value_at_risk"), ("omega_ratio", "omega"),
                          ("tail_ratio", "tail_ratio"), ("payoff_ratio", "payoff_ratio"),
                          ("profit_factor", "profit_factor"), ("kelly_criterion", "kelly_criterion"),
                          ("ulcer_index", "ulcer_index"), ("recovery_factor", "recovery_factor"),
                          ("winning_days", "win_rate")]:
            assert col[row] == pytest.approx(float(getattr(qs.stats, name)(r)), rel=RTOL), row
        assert col["winning_months"] == pytest.approx(float(qs.stats.win_rate(r, aggregate="ME")), rel=RTOL)
    # the same numbers by hand, stating each convention
    assert col["skew"] == pytest.approx(stats.skew(r, bias=False), rel=RTOL)
    assert col["kurtosis"] == pytest.approx(stats.kurtosis(r, fisher=True, bias=False), rel=RTOL)  # excess
    mu, sigma = r.mean(), r.std(ddof=1)
    assert col["value_at_risk"] == pytest.approx(stats.norm.ppf(0.05, mu, sigma), rel=RTOL)  # parametric
    assert col["value_at_risk"] != pytest.approx(empyrical.value_at_risk(r), rel=1e-3)  # empyrical: historical
    z = stats.norm.ppf(0.05)
    assert col["conditional_value_at_risk"] == pytest.approx(mu - sigma * stats.norm.pdf(z) / 0.05, rel=1e-9)
    wins, losses = r[r > 0], r[r < 0]
    win_rate = len(wins) / len(r[r != 0])  # the 40 breakeven days are left out
    assert col["winning_days"] == pytest.approx(win_rate, rel=RTOL)
    assert col["winning_days"] != pytest.approx(len(wins) / len(r), rel=1e-3)
    payoff = wins.mean() / -losses.mean()
    assert col["payoff_ratio"] == pytest.approx(payoff, rel=RTOL)
    assert col["kelly_criterion"] == pytest.approx(win_rate - (1 - win_rate) / payoff, rel=RTOL)
    assert col["profit_factor"] == pytest.approx(wins.sum() / -losses.sum(), rel=RTOL)
    assert col["recovery_factor"] == pytest.approx(abs(r.sum()) / abs(empyrical.max_drawdown(r)), rel=RTOL)  # sum
    wealth = (1 + r).cumprod()
    drawdown = wealth / wealth.cummax() - 1
    assert col["ulcer_index"] == pytest.approx(np.sqrt((drawdown**2).sum() / (len(r) - 1)), rel=RTOL)


def test_trailing_returns_by_hand(fixed, table) -> None:
    r, _ = fixed
    last = r.index[-1]
    col = table["strategy"]
    assert col["mtd"] == pytest.approx((1 + r[r.index >= last.replace(day=1)]).prod() - 1, rel=RTOL)
    assert col["ytd"] == pytest.approx((1 + r[str(last.year)]).prod() - 1, rel=RTOL)
    three = r[r.index > last - pd.DateOffset(years=3)]
    assert col["3y_annualized"] == pytest.approx(empyrical.annual_return(three), rel=RTOL)
    five = r[r.index > last - pd.DateOffset(years=5)]
    assert col["5y_annualized"] == pytest.approx(empyrical.annual_return(five), rel=RTOL)
    assert np.isnan(full_metrics(r["2019":])["strategy"]["3y_annualized"])  # span shorter than 3 years


def test_benchmark_with_a_shorter_span_uses_the_common_dates_for_both(fixed) -> None:
    r, b = fixed
    short = b["2016":]
    out = full_metrics(r, short)
    assert "covers" in out.attrs["note"] and out.attrs["start"] == r["2016":].index[0]
    assert out.loc["cumulative_return", "strategy"] == pytest.approx(empyrical.cum_returns_final(r["2016":]), rel=RTOL)
    years = calendar_year_returns(r, short)
    assert list(years.index) == sorted(set(r["2016":].index.year))
    assert full_metrics(r, b).attrs["note"] == ""


def test_worst_drawdowns_and_rolling_beta(fixed) -> None:
    r, b = fixed
    worst = worst_drawdowns(r, top=3)
    assert len(worst) == 3 and worst["depth"].is_monotonic_increasing
    assert worst["depth"].iloc[0] == pytest.approx(empyrical.max_drawdown(r), rel=RTOL)
    beta = rolling_beta(r, b, 126)
    expected = empyrical.roll_beta(r, b, window=126)
    np.testing.assert_allclose(beta.dropna().to_numpy(), expected.dropna().to_numpy(), rtol=1e-9)


def test_on_a_real_backtest_and_in_the_tearsheet() -> None:
    """SMA crossover on the shipped LEAN daily SPY 2010-2015, against empyrical and quantstats."""
    from workbench.engine.backtest import run_backtest
    from workbench.feeds.samples import load_lean_daily
    from workbench.strategies import SmaCrossover

    bars = load_lean_daily(["SPY"])[0]
    dates = pd.to_datetime(bars["ts_event"], unit="ns", utc=True)
    bars = bars[(dates >= "2010-01-01") & (dates < "2016-01-01")]
    result = run_backtest(SmaCrossover(fast=20, slow=100), bars)
    returns = returns_from_equity(result.equity_curve)
    bench = align_benchmark_returns(returns, benchmark_prices("SPY"))
    table = full_metrics(returns, bench)
    col = table["strategy"]
    assert col["sharpe_ratio"] == pytest.approx(empyrical.sharpe_ratio(returns), rel=RTOL)
    assert col["max_drawdown"] == pytest.approx(empyrical.max_drawdown(returns), rel=RTOL)
    assert col["sharpe_ratio"] == pytest.approx(float(qs.stats.sharpe(returns)), rel=RTOL)  # same convention
    assert col["max_drawdown"] == pytest.approx(float(qs.stats.max_drawdown(returns)), rel=1e-9)
    alpha, beta = empyrical.alpha_beta(returns, bench)
    assert (col["alpha"], col["beta"]) == pytest.approx((alpha, beta), rel=RTOL)
    # alpha: compounded annualization (empyrical); quantstats' greeks annualize arithmetically (x 252)
    greeks = qs.stats.greeks(returns, bench)
    assert greeks["beta"] == pytest.approx(beta, rel=1e-9)
    daily_alpha = (1 + alpha) ** (1 / 252) - 1
    assert greeks["alpha"] == pytest.approx(daily_alpha * 252, rel=1e-6)
    # CAGR: quantstats 0.0.86 counts n / 252 years, as empyrical (older quantstats used calendar days / 365)
    assert float(qs.stats.cagr(returns)) == pytest.approx(col["cagr"], rel=1e-9)
    sheet = ts.tearsheet(result.equity_curve, result.trades, benchmark="SPY", title="SMA on SPY daily")
    assert list(sheet.tables) == list(ts.TABLE_TITLES)
    pd.testing.assert_frame_equal(sheet.tables["metrics"], table)
    page = sheet.html_body(include_plotlyjs=False)
    for heading in ts.TABLE_TITLES.values():
        assert heading in page
    assert list(sheet.figures) == list(ts.FIGURE_TITLES)
    log_figure = sheet.figures["log_cumulative_returns"]
    assert log_figure.layout.yaxis.type == "log"
    np.testing.assert_allclose(log_figure.data[0].y, (1 + returns).cumprod().to_numpy(), rtol=RTOL)
    matched = sheet.figures["volatility_matched"].data[0].y
    scaled = returns * bench.std() / returns.std()
    np.testing.assert_allclose(matched, ((1 + scaled).cumprod() - 1).to_numpy(), rtol=RTOL)
