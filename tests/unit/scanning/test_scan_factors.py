"""Factors on real data (LEAN daily equities) against independent computations.

Each factor's ``compute`` is checked against a pandas expression written here from the formula in
:mod:`workbench.scanning.factors`; Wilder's RSI and ATR against the engine's streaming indicators
(an independent, bar-by-bar implementation); and ``latest`` (the fast path a scan uses) against
``compute(...).iloc[-1]`` on many cut points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.engine import indicators
from workbench.errors import ConfigError
from workbench.feeds.samples import load_lean_daily
from workbench.scanning import FACTORS, Panel, make_factor
from workbench.scanning.factors import (
    ATR,
    RSI,
    DistanceFromMovingAverage,
    DollarVolume,
    Gap,
    Momentum,
    RealizedVolatility,
    RelativeStrength,
    VolumeSurge,
)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    frame, _ = load_lean_daily()
    return frame


@pytest.fixture(scope="module")
def panel(bars: pd.DataFrame) -> Panel:
    return Panel.from_bars(bars)


def _wide(bars: pd.DataFrame, field: str) -> pd.DataFrame:
    dates = pd.to_datetime(bars["ts_event"], utc=True).dt.tz_convert("America/New_York").dt.tz_localize(None)
    return bars.assign(date=dates.dt.normalize()).pivot(index="date", columns="symbol", values=field)


def test_panel_pivots_every_bar(bars: pd.DataFrame, panel: Panel) -> None:
    assert panel.close.notna().sum().sum() == len(bars)
    assert panel.close.equals(_wide(bars, "close").rename_axis(columns=None).rename_axis(index="date"))
    assert (np.diff(panel.known_ns) >= 0).all()


def test_simple_factors_equal_pandas(bars: pd.DataFrame, panel: Panel) -> None:
    close, volume, open_ = _wide(bars, "close"), _wide(bars, "volume"), _wide(bars, "open")
    cases = {
        Momentum(126, skip=5): close.shift(5) / close.shift(131) - 1,
        RelativeStrength("SPY", 63): (close / close.shift(63)).div(close["SPY"] / close["SPY"].shift(63), axis=0) - 1,
        RealizedVolatility(20): close.pct_change(fill_method=None).rolling(20).std() * np.sqrt(252),
        VolumeSurge(20): volume / volume.shift(1).rolling(20).mean(),
        Gap(): open_ / close.shift(1) - 1,
        DistanceFromMovingAverage(50): close / close.rolling(50).mean() - 1,
        DollarVolume(20): (close * volume).rolling(20).mean(),
    }
    for factor, expected in cases.items():
        got = factor.compute(panel)
        pd.testing.assert_frame_equal(got, expected.rename_axis(columns=None), check_names=False, rtol=1e-12,
                                      obj=repr(factor))


@pytest.mark.parametrize("symbol", ["AAPL", "USO", "EEM"])
def test_wilder_factors_equal_the_streaming_indicators(bars: pd.DataFrame, panel: Panel, symbol: str) -> None:
    rows = bars[bars["symbol"] == symbol]
    rsi, atr = indicators.RSI(14), indicators.ATR(14)
    rsi_values, atr_values = [], []
    for high, low, close in zip(rows["high"], rows["low"], rows["close"], strict=True):
        rsi.update(close)
        atr.update(high, low, close)
        rsi_values.append(rsi.value if rsi.ready else np.nan)
        atr_values.append(atr.value if atr.ready else np.nan)
    got_rsi = RSI(14).compute(panel)[symbol].dropna().to_numpy()
    got_atr = ATR(14, normalized=False).compute(panel)[symbol].dropna().to_numpy()
    np.testing.assert_allclose(got_rsi, np.array(rsi_values)[~np.isnan(rsi_values)], rtol=1e-12)
    np.testing.assert_allclose(got_atr, np.array(atr_values)[~np.isnan(atr_values)], rtol=1e-12)
    normalized = ATR(14).compute(panel)[symbol]
    pd.testing.assert_series_equal(normalized, ATR(14, normalized=False).compute(panel)[symbol] / panel.close[symbol])


def test_latest_equals_the_last_row_of_compute(panel: Panel) -> None:
    """The fast path a scan uses, on cut points across the history (symbols listing late included)."""
    factors = [make_factor(kind) for kind in FACTORS]
    for end in (30, 250, 1500, 4000, len(panel)):
        window = panel.tail(len(panel)).until(panel.dates[end - 1]).tail(260)
        for factor in factors:
            np.testing.assert_allclose(factor.latest(window), factor.compute(window).iloc[-1].to_numpy(),
                                       rtol=1e-10, equal_nan=True, err_msg=f"{factor!r} at row {end}")


def test_bad_factor_config_names_the_item() -> None:
    with pytest.raises(ConfigError, match=r"factors\.fast\.factor: unknown factor 'speed'"):
        make_factor("fast", {"factor": "speed"})
    with pytest.raises(ConfigError, match=r"factors\.momentum_x: bad parameter"):
        make_factor("momentum_x", {"factor": "momentum", "window": 3})
    with pytest.raises(ConfigError, match=r"momentum\.lookback: expected an integer >= 1, got 0"):
        make_factor("momentum", {"lookback": 0})


def test_relative_strength_needs_its_benchmark(panel: Panel) -> None:
    with pytest.raises(ConfigError, match=r"relative_strength\.benchmark: 'QQQ' has no data"):
        RelativeStrength("QQQ").compute(panel)
