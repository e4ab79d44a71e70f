"""Composite score against a pandas computation, filters at their boundaries, change detection on
hand-built scan pairs, bad input naming the item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.errors import ConfigError, DataError
from workbench.feeds.samples import load_lean_daily
from workbench.scanning import Panel, ScanConfig, Scanner, Universe, composite_score, detect_changes
from workbench.scanning.filters import (
    CorrelationFilter,
    EarningsFilter,
    LiquidityFilter,
    RegimeFilter,
    ScanContext,
    load_earnings_calendar,
)


@pytest.fixture(scope="module")
def panel() -> Panel:
    frame, _ = load_lean_daily()
    return Panel.from_bars(frame)


# ------------------------------------------------------------------------------------ score
def test_composite_score_equals_a_pandas_computation(panel: Panel) -> None:
    cfg = ScanConfig(filters=[], top=3, exclude=())
    result = Scanner(cfg).run(panel, date="2019-06-28")
    values = result.table[list(cfg.weights)].sort_index()
    z = ((values - values.mean()) / values.std(ddof=0)).clip(-3, 3)
    expected = (z * pd.Series(cfg.weights)).sum(axis=1)
    pd.testing.assert_series_equal(result.table["score"].sort_index().astype(float), expected, check_names=False,
                                   rtol=1e-12)
    contributions = result.table[[f"contribution_{n}" for n in cfg.weights]].sum(axis=1)
    np.testing.assert_allclose(contributions.astype(float), result.table["score"].astype(float), rtol=1e-12)
    ranked = result.ranked
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["score"].is_monotonic_decreasing
    assert result.selected == list(ranked.index[:3])


def test_winsorizing_caps_an_outlier() -> None:
    values = pd.DataFrame({"f": [0.0] * 20 + [100.0]}, index=[f"S{i}" for i in range(21)])
    score, _ = composite_score(values, {"f": 1.0}, winsor=3.0)
    assert score.max() == 3.0
    unclipped, _ = composite_score(values, {"f": 1.0}, winsor=None)
    assert unclipped.max() == pytest.approx(np.sqrt(20))  # (100 - mean) / std(ddof=0) with 20 zeros


def test_unknown_weight_is_a_config_error(panel: Panel) -> None:
    with pytest.raises(ConfigError, match=r"weights: unknown factor\(s\) \['momentum_999'\]"):
        Scanner(ScanConfig(weights={"momentum_999": 1.0}))
    with pytest.raises(ConfigError, match=r"filters\[0\]\.filter: unknown filter 'sector'"):
        Scanner(ScanConfig(filters=[{"filter": "sector"}]))


def test_universe_symbol_without_data_is_named(panel: Panel, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"universe: no data for symbol\(s\) \['MSFT'\]"):
        Scanner(universe=["SPY", "AAPL", "MSFT"]).run(panel, date="2019-06-28")
    path = tmp_path / "universe.txt"
    path.write_text("# my list\nspy\nAAPL  # a comment\n\nIBM\n")
    assert Universe.from_file(path).symbols == ("SPY", "AAPL", "IBM")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(DataError, match=r"empty\.txt: the universe file lists no symbols"):
        Universe.from_file(tmp_path / "empty.txt")


# ---------------------------------------------------------------------------------- filters
def _panel(closes: dict[str, list[float]], start: str = "2020-01-02") -> Panel:
    dates = pd.bdate_range(start, periods=len(next(iter(closes.values()))))
    rows = []
    for symbol, series in closes.items():
        for date, close in zip(dates, series, strict=True):
            ts = pd.Timestamp(date).tz_localize("America/New_York") + pd.Timedelta(hours=9, minutes=30)
            rows.append({"ts_event": ts.value, "ts_init": ts.value + 23_400_000_000_000, "symbol": symbol,
                         "open": close, "high": close, "low": close, "close": close, "volume": 1e6})
    return Panel.from_bars(pd.DataFrame(rows))


def test_regime_filter_needs_the_close_strictly_above_its_average() -> None:
    flat = _panel({"SPY": [100.0] * 5, "AAA": [10.0] * 5})
    context = ScanContext(flat, ["AAA"])
    refused = RegimeFilter("SPY", moving_average=5).reasons(context)["AAA"]
    assert refused.startswith("regime: SPY 100.00 <= 5-session average 100.00")
    up = _panel({"SPY": [100.0, 100, 100, 100, 100.05], "AAA": [10.0] * 5})
    assert RegimeFilter("SPY", moving_average=5).reasons(ScanContext(up, ["AAA"]))["AAA"] == ""
    short = _panel({"SPY": [100.0] * 4, "AAA": [10.0] * 4})
    assert "under 5 sessions" in RegimeFilter("SPY", moving_average=5).reasons(ScanContext(short, ["AAA"]))["AAA"]


def test_regime_volatility_ceiling_boundary() -> None:
    closes = [100.0, 101, 100, 101, 100, 101, 102]
    p = _panel({"SPY": closes, "AAA": [10.0] * 7})
    returns = pd.Series(closes).pct_change().iloc[-5:]
    vol = returns.std(ddof=1) * np.sqrt(252)
    at = RegimeFilter("SPY", moving_average=2, max_volatility=vol * (1 + 1e-9), volatility_window=5)
    assert at.reasons(ScanContext(p, ["AAA"]))["AAA"] == ""
    below = RegimeFilter("SPY", moving_average=2, max_volatility=vol * 0.999, volatility_window=5)
    assert below.reasons(ScanContext(p, ["AAA"]))["AAA"].startswith("regime: SPY volatility")


def test_correlation_filter_boundary() -> None:
    base = [100.0, 101, 99, 102, 98, 103, 97, 104]
    p = _panel({"HELD": base, "SAME": [x * 2 for x in base], "OPPO": [200 - x for x in base]})
    corr = p.returns().corr()
    context = ScanContext(p, ["HELD", "SAME", "OPPO"], held=["HELD"])
    reasons = CorrelationFilter(max_correlation=0.8, lookback=8).reasons(context)
    assert reasons["SAME"].startswith("correlation: 1.00 with held HELD")
    assert reasons["OPPO"] == "" and reasons["HELD"] == ""
    exactly = CorrelationFilter(max_correlation=float(corr.loc["SAME", "HELD"]), lookback=8).reasons(context)
    assert exactly["SAME"] == ""  # at the maximum passes; only above it is refused


def test_earnings_filter_window_and_bad_file(tmp_path: Path) -> None:
    p = _panel({"AAA": [10.0] * 3, "BBB": [10.0] * 3, "CCC": [10.0] * 3})  # last session 2020-01-06
    calendar = tmp_path / "earnings.csv"
    calendar.write_text("symbol,date\nAAA,2020-01-11\nbbb,2020-01-12\nCCC,2020-01-05\n")
    reasons = EarningsFilter(calendar, days=5).reasons(ScanContext(p, ["AAA", "BBB", "CCC"]))
    assert reasons["AAA"] == "earnings: 2020-01-11 within 5 days"  # exactly 5 days ahead: refused
    assert reasons["BBB"] == ""  # 6 days ahead
    assert reasons["CCC"] == ""  # already reported
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,date\nAAA,2020-01-11\nBBB,2020-13-45\n")
    with pytest.raises(DataError, match=r"bad\.csv: line 3: field 'date': '2020-13-45' is not a date"):
        load_earnings_calendar(bad)
    with pytest.raises(DataError, match=r"lacks column\(s\) \['date'\]"):
        (tmp_path / "nodate.csv").write_text("symbol,when\nAAA,2020-01-01\n")
        load_earnings_calendar(tmp_path / "nodate.csv")


def test_liquidity_filter_boundaries() -> None:
    p = _panel({"CHEAP": [4.99] * 3, "EDGE": [5.0] * 3, "THIN": [20.0] * 3})
    p = Panel(p.open, p.high, p.low, p.close, p.volume.assign(THIN=1000.0), p.known_ns)
    context = ScanContext(p, ["CHEAP", "EDGE", "THIN"], spreads_bps={"EDGE": 12.0})
    reasons = LiquidityFilter(min_price=5.0, min_dollar_volume=1e6, window=3).reasons(context)
    assert reasons["CHEAP"] == "liquidity: price 4.99 < 5.00"
    assert reasons["EDGE"] == ""  # exactly the minimum price passes
    assert reasons["THIN"].startswith("liquidity: 3-session dollar volume 20,000 < 1,000,000")
    spread = LiquidityFilter(min_price=1.0, min_dollar_volume=0, window=3, max_spread_bps=10.0).reasons(context)
    assert spread["EDGE"] == "liquidity: spread 12.0 bps > 10.0"


# ---------------------------------------------------------------------------------- changes
def _table(rows: dict[str, tuple[float, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame([{"rank": r, "score": s, "selected": sel} for r, s, sel in rows.values()], index=list(rows))


def test_change_detection_on_hand_built_scans() -> None:
    nan = float("nan")
    before = _table({"A": (1, 2.0, True), "B": (2, 1.5, True), "C": (3, 1.0, False), "D": (4, 0.5, False),
                     "E": (nan, 3.0, False)})
    after = _table({"A": (2, 1.8, True), "C": (1, 2.5, True), "B": (3, 1.2, False), "D": (nan, 0.1, False),
                    "E": (4, 0.2, False)})
    changes = detect_changes(before, after)
    assert changes.loc["C", "change"] == "new"
    assert changes.loc["B", "change"] == "dropped"
    assert changes.loc["A", "change"] == "down" and changes.loc["A", "rank_change"] == -1
    assert changes.loc["D", "change"] == "unranked"
    assert changes.loc["E", "change"] == "ranked"
    assert changes.loc["C", "score_change"] == pytest.approx(1.5)
    first = detect_changes(None, after)
    assert set(first.index[first["change"] == "new"]) == {"A", "C"}
