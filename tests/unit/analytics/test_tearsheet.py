"""Tearsheet: figure data equals independently computed series; one self-contained HTML file."""

from __future__ import annotations

import importlib
import re

import empyrical
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

# The package exports the function ``tearsheet``, which shadows the submodule as an attribute.
ts = importlib.import_module("workbench.analytics.tearsheet")

RTOL = 1e-9


@pytest.fixture(scope="module")
def aapl_prices(adjusted_closes):
    return adjusted_closes["AAPL"].loc["2017":"2019"]


@pytest.fixture(scope="module")
def curve(aapl_prices, equity_curve_from_prices):
    return equity_curve_from_prices(aapl_prices, gross=0.5)


@pytest.fixture(scope="module")
def sheet(curve):
    return ts.tearsheet(curve, benchmark="SPY", title="AAPL buy and hold")


@pytest.fixture(scope="module")
def aapl_returns(aapl_prices):
    return aapl_prices.pct_change(fill_method=None).dropna()


def test_every_figure_is_a_plotly_figure_with_its_title(sheet):
    assert list(sheet.figures) == list(ts.FIGURE_TITLES)
    for key, figure in sheet.figures.items():
        assert isinstance(figure, go.Figure)
        assert figure.layout.title.text.startswith(ts.FIGURE_TITLES[key])


def test_equity_figure_data(sheet, curve, adjusted_closes):
    strategy, benchmark = sheet.figures["equity"].data
    np.testing.assert_array_equal(strategy.y, curve["equity"].to_numpy())
    # benchmark rebased by hand from the file: start * SPY(d) / SPY(first day)
    spy = adjusted_closes["SPY"].loc["2017":"2019"]
    expected = 100_000.0 * spy.to_numpy() / spy.iloc[0]
    np.testing.assert_allclose(np.asarray(benchmark.y, dtype=float), expected, rtol=RTOL)
    assert pd.Timestamp(benchmark.x[1]) == pd.Timestamp(spy.index[1]) + pd.Timedelta(hours=16)


def test_underwater_figure_data(sheet, aapl_returns):
    (trace,) = sheet.figures["underwater"].data
    np.testing.assert_allclose(trace.y, empyrical.stats.drawdown_series(aapl_returns).to_numpy(), rtol=RTOL, atol=1e-12)


def test_monthly_heatmap_data(sheet, aapl_returns):
    (trace,) = sheet.figures["monthly_returns"].data
    monthly = empyrical.aggregate_returns(aapl_returns, "monthly")
    z = np.asarray(trace.z, dtype=float)
    assert list(trace.y) == ["2017", "2018", "2019"]
    for (year, month), value in monthly.items():
        assert z[year - 2017, month - 1] == pytest.approx(value, rel=RTOL)


def test_distribution_and_rolling_sharpe_data(sheet, aapl_returns):
    strategy, benchmark = sheet.figures["return_distribution"].data
    np.testing.assert_allclose(strategy.x, aapl_returns.to_numpy(), rtol=RTOL)
    assert len(benchmark.x) == len(aapl_returns)
    (rolling,) = sheet.figures["rolling_sharpe"].data
    ours = np.asarray(rolling.y, dtype=float)
    expected = np.asarray(empyrical.roll_sharpe_ratio(aapl_returns, window=126))
    np.testing.assert_allclose(ours[~np.isnan(ours)], expected, rtol=1e-7)


def test_exposure_figure_data(sheet):
    gross, net = sheet.figures["exposure"].data
    np.testing.assert_allclose(gross.y, 0.5)
    np.testing.assert_allclose(net.y, 0.5)


def test_html_file_is_standalone(sheet, tmp_path):
    path = sheet.to_html(tmp_path / "report.html")
    assert path.exists()
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count(get_plotlyjs()[:500]) == 1  # plotly.js embedded exactly once
    assert page.count("Plotly.newPlot") == len(ts.FIGURE_TITLES)
    assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", page)
    outside_bundle = page.replace(get_plotlyjs(), "")
    assert len(outside_bundle) < len(page) - 1_000_000
    assert "cdn.plot.ly" not in outside_bundle  # (the bundle itself names it as its topojson default)
    assert not re.search(r"src\s*=\s*[\"']https?:", outside_bundle)
    for title in ts.FIGURE_TITLES.values():
        assert title in page
    assert "AAPL buy and hold" in page
    assert "sharpe_ratio" in page


def test_repr_html_embeds_plotly_once(sheet):
    fragment = sheet._repr_html_()
    assert fragment.count(get_plotlyjs()[:500]) == 1
    assert fragment.count("Plotly.newPlot") == len(ts.FIGURE_TITLES)


def test_summary_is_attached(sheet):
    assert sheet.summary["total_return"] == pytest.approx(
        sheet.figures["equity"].data[0].y[-1] / 100_000.0 - 1, rel=RTOL
    )
    assert list(sheet.summary_table().columns) == ["value", "unit"]


def test_without_benchmark_and_exposure(curve):
    sheet = ts.tearsheet(curve["equity"], benchmark=None)
    assert len(sheet.figures["equity"].data) == 1
    assert len(sheet.figures["return_distribution"].data) == 1
    assert len(sheet.figures["exposure"].data) == 0
    assert "no exposure" in sheet.figures["exposure"].layout.annotations[0].text


def test_long_intraday_curve_is_plotted_daily(monkeypatch):
    monkeypatch.setattr(ts, "MAX_POINTS", 10)
    stamps = pd.date_range("2021-03-01 14:30", periods=390 * 3, freq="min", tz="America/New_York")
    stamps = stamps[stamps.indexer_between_time("09:30", "15:59")][:390 * 3]
    equity = pd.Series(np.linspace(100.0, 110.0, len(stamps)), index=stamps.tz_convert("UTC"))
    figure = ts.equity_figure(equity, benchmark=None)
    (trace,) = figure.data
    days = pd.Series(equity.to_numpy(), index=stamps).groupby(stamps.date).last()
    np.testing.assert_array_equal(trace.y, days.to_numpy())


def test_flat_curve_tearsheet_does_not_fail(tmp_path):
    index = pd.date_range("2021-01-04 21:00", periods=5, freq="B", tz="UTC")
    curve = pd.DataFrame({"equity": 1000.0, "gross_exposure": 0.0, "net_exposure": 0.0}, index=index)
    sheet = ts.tearsheet(curve, trades=pd.DataFrame(), benchmark=None)
    assert sheet.to_html(tmp_path / "flat.html").stat().st_size > 0
    assert len(sheet.figures["rolling_sharpe"].layout.shapes) == 0  # no full-period line: Sharpe is NaN
