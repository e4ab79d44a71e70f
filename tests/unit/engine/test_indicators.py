"""Incremental indicators checked against pandas' own rolling/ewm computations on real prices.

Expected values come from pandas (``rolling``, ``ewm(adjust=False)``), numpy, ``math.fsum`` or
hand-worked examples, never from the code under test.
"""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from workbench.engine.indicators import (
    ATR,
    EMA,
    RSI,
    SMA,
    BollingerBands,
    RollingVolatility,
    RollingWindow,
)

SYMBOLS = ["SPY", "AAPL"]  # AAPL: four splits, so the factor scaling matters
PERIODS = [2, 14, 50]
RTOL = 1e-10


@pytest.fixture(scope="module")
def daily() -> dict[str, pd.DataFrame]:
    """Split- and dividend-adjusted daily OHLC of SPY and AAPL from the shipped LEAN file."""
    path = resources.files("workbench") / "sample_data" / "lean_us_equities_daily_1998-2021.csv.gz"
    with resources.as_file(path) as file:
        frame = pd.read_csv(file)
    result = {}
    for symbol in SYMBOLS:
        rows = frame[frame["symbol"] == symbol].reset_index(drop=True)
        factor = rows["split_factor"] * rows["dividend_factor"]
        result[symbol] = pd.DataFrame(
            {
                "high": rows["high"] * factor,
                "low": rows["low"] * factor,
                "close": rows["adj_close"],
            }
        )
        assert len(rows) == 5849
    return result


def feed(indicator, values) -> tuple[np.ndarray, np.ndarray]:
    """Update one value at a time; return (value after each update, ready after each update)."""
    out = np.empty(len(values))
    ready = np.empty(len(values), dtype=bool)
    for i, value in enumerate(values):
        indicator.update(value)
        out[i] = indicator.value
        ready[i] = indicator.ready
    return out, ready


def seeded_ewm(series: pd.Series, period: int, alpha: float) -> np.ndarray:
    """pandas ewm(adjust=False) seeded with the simple mean of the first ``period`` valid values.

    Output is aligned with ``series``: NaN up to the seed position, which holds the seed.
    """
    first = series.first_valid_index()
    valid = series.loc[first:]
    seed = valid.iloc[:period].mean()
    tail = pd.concat([pd.Series([seed]), valid.iloc[period:]], ignore_index=True)
    smoothed = tail.ewm(alpha=alpha, adjust=False).mean().to_numpy()
    expected = np.full(len(series), np.nan)
    expected[first + period - 1 :] = smoothed
    return expected


def exact_rolling_std(values: np.ndarray, period: int, ddof: int) -> np.ndarray:
    """Two-pass standard deviation of every full window (numpy), aligned with ``values``."""
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), np.nan)
    for start in range(0, len(values) - period + 1, 100_000):  # chunks bound the memory
        windows = sliding_window_view(values[start : start + 100_000 + period - 1], period)
        out[start + period - 1 : start + period - 1 + len(windows)] = windows.std(axis=1, ddof=ddof)
    return out


def check(actual: np.ndarray, ready: np.ndarray, expected: np.ndarray, rtol: float = RTOL, atol: float = 0.0) -> None:
    assert np.isnan(expected).sum() > 0, "expected series should include warm-up NaNs"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    np.testing.assert_array_equal(ready, ~np.isnan(expected))


# --- against pandas on real data -------------------------------------------------------------


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("period", [1, *PERIODS, 200])
def test_sma_matches_pandas_rolling_mean(daily, symbol, period):
    close = daily[symbol]["close"]
    if period == 1:  # no warm-up NaN at period 1
        actual, _ = feed(SMA(period), close.tolist())
        np.testing.assert_allclose(actual, close.to_numpy(), rtol=RTOL)
        return
    check(*feed(SMA(period), close.tolist()), close.rolling(period).mean().to_numpy())


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("period", PERIODS)
def test_ema_matches_pandas_ewm_seeded_with_sma(daily, symbol, period):
    close = daily[symbol]["close"]
    expected = seeded_ewm(close, period, alpha=2.0 / (period + 1))
    check(*feed(EMA(period), close.tolist()), expected)


def test_ema_seeded_with_sma_converges_to_pandas_first_value_seed(daily):
    # The seed's weight decays as (1 - alpha)^n: after 300 bars both seedings agree closely.
    close = daily["SPY"]["close"]
    actual, _ = feed(EMA(20), close.tolist())
    first_value_seed = close.ewm(span=20, adjust=False).mean().to_numpy()
    assert abs(actual[19] - first_value_seed[19]) > 1e-3
    np.testing.assert_allclose(actual[300:], first_value_seed[300:], rtol=1e-6)


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("period", PERIODS)
def test_rsi_matches_pandas_wilder_ewm(daily, symbol, period):
    close = daily[symbol]["close"]
    change = close.diff()
    gains = change.clip(lower=0.0)
    losses = (-change).clip(lower=0.0)
    average_gain = seeded_ewm(gains, period, alpha=1.0 / period)
    average_loss = seeded_ewm(losses, period, alpha=1.0 / period)
    with np.errstate(divide="ignore"):
        expected = 100.0 - 100.0 / (1.0 + average_gain / average_loss)
    assert np.isnan(expected[:period]).all() and not np.isnan(expected[period:]).any()
    check(*feed(RSI(period), close.tolist()), expected)


def test_rsi_hand_worked():
    rsi = RSI(2)
    values = []
    for price in [10.0, 11.0, 12.0, 11.0, 11.0, 13.0]:
        rsi.update(price)
        values.append(rsi.value)
    # changes +1 +1 -1 0 +2; seed gain (1+1)/2 = 1, loss 0 -> 100
    # then gain 1 + (0-1)/2 = 0.5, loss 0 + (1-0)/2 = 0.5 -> 50
    # then gain 0.25, loss 0.25 -> 50; then gain 0.25 + (2-0.25)/2 = 1.125, loss 0.125 -> 90
    np.testing.assert_allclose(values, [np.nan, np.nan, 100.0, 50.0, 50.0, 90.0], equal_nan=True)
    assert rsi.average_gain == pytest.approx(1.125) and rsi.average_loss == pytest.approx(0.125)


def test_rsi_is_50_when_the_price_never_moves():
    rsi = RSI(3)
    for _ in range(5):
        rsi.update(100.0)
    assert rsi.ready and rsi.value == 50.0


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("period", PERIODS)
def test_atr_matches_pandas_wilder_ewm(daily, symbol, period):
    bars = daily[symbol]
    previous_close = bars["close"].shift()
    true_range = pd.concat(
        [bars["high"] - bars["low"], (bars["high"] - previous_close).abs(), (bars["low"] - previous_close).abs()],
        axis=1,
    ).max(axis=1, skipna=False)
    expected = seeded_ewm(true_range, period, alpha=1.0 / period)
    atr = ATR(period)
    actual = np.empty(len(bars))
    ready = np.empty(len(bars), dtype=bool)
    for i, (high, low, close) in enumerate(bars[["high", "low", "close"]].itertuples(index=False)):
        atr.update(high, low, close)
        actual[i] = atr.value
        ready[i] = atr.ready
    check(actual, ready, expected)
    assert atr.true_range == pytest.approx(true_range.iloc[-1], rel=1e-12)


def test_atr_hand_worked():
    atr = ATR(2)
    bars = [(10.0, 9.0, 9.5), (10.0, 9.8, 9.9), (12.0, 11.0, 11.5), (11.0, 10.0, 10.5)]
    values = []
    for bar in bars:
        atr.update(*bar)
        values.append(atr.value)
    # TRs: bar 1 max(0.2, 0.5, 0.3) = 0.5 (gap up from 9.5 close); bar 2 max(1, 2.1, 1.1) = 2.1;
    # bar 3 max(1, 0.5, 1.5) = 1.5. ATR seed (0.5 + 2.1)/2 = 1.3, then 1.3 + (1.5 - 1.3)/2 = 1.4
    np.testing.assert_allclose(values, [np.nan, np.nan, 1.3, 1.4], equal_nan=True)


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("period", [*PERIODS, 200])
def test_bollinger_matches_pandas_rolling_population_std(daily, symbol, period):
    close = daily[symbol]["close"]
    k = 2.5
    middle = close.rolling(period).mean().to_numpy()
    std = close.rolling(period).std(ddof=0).to_numpy()
    bands = BollingerBands(period, k)
    columns = {name: np.empty(len(close)) for name in ("middle", "upper", "lower", "std", "value")}
    ready = np.empty(len(close), dtype=bool)
    for i, value in enumerate(close.tolist()):
        bands.update(value)
        for name, column in columns.items():
            column[i] = getattr(bands, name)
        ready[i] = bands.ready
    check(columns["middle"], ready, middle)
    check(columns["value"], ready, middle)
    # pandas' own rolling std is off by up to 6.4e-7 currency for windows of identical closes
    # (SPY rows 925-926 and 5224-5225 with period 2, where the exact answer is 0), so against
    # pandas there is an absolute floor, and an exact two-pass numpy computation gets the tight
    # relative check, including exactly 0 for every window of identical values.
    exact = exact_rolling_std(close.to_numpy(), period, ddof=0)
    check(columns["std"], ready, exact, rtol=1e-9)
    np.testing.assert_array_equal(columns["std"] == 0.0, exact == 0.0)
    check(columns["std"], ready, std, rtol=1e-9, atol=1e-6)
    check(columns["upper"], ready, middle + k * std, rtol=RTOL, atol=k * 1e-6)
    check(columns["lower"], ready, middle - k * std, rtol=RTOL, atol=k * 1e-6)


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize(("period", "annualization"), [(2, None), (20, 252), (63, 252.0), (250, None)])
def test_rolling_volatility_matches_pandas_log_return_std(daily, symbol, period, annualization):
    close = daily[symbol]["close"]
    log_returns = np.log(close / close.shift())  # as computed by the indicator: log of the ratio
    expected = log_returns.rolling(period).std(ddof=1).to_numpy()
    exact = exact_rolling_std(log_returns.to_numpy()[1:], period, ddof=1)
    exact = np.concatenate([[np.nan], exact])
    scale = 1.0 if annualization is None else math.sqrt(annualization)
    assert np.isnan(expected[:period]).all()
    actual, ready = feed(RollingVolatility(period, annualization), close.tolist())
    check(actual, ready, exact * scale, rtol=1e-9)
    # pandas' rolling std of two nearly equal returns is less precise than ours (see above)
    check(actual, ready, expected * scale, rtol=1e-9, atol=1e-12)


# --- no drift over a million updates ---------------------------------------------------------


@pytest.fixture(scope="module")
def million() -> np.ndarray:
    rng = np.random.default_rng(20240601)
    # A random walk far from zero (level ~1000, step 1): large sums, small windowed variance.
    return 1000.0 + np.cumsum(rng.normal(0.0, 1.0, 1_000_000))


def _assert_relative_error_below(actual: np.ndarray, expected: np.ndarray, bound: float) -> None:
    mask = ~np.isnan(expected)
    np.testing.assert_array_equal(mask, ~np.isnan(actual))
    relative = np.abs(actual[mask] - expected[mask]) / np.abs(expected[mask])
    assert relative.max() < bound, relative.max()


def test_sma_does_not_drift_over_a_million_updates(million):
    actual, _ = feed(SMA(20), million.tolist())
    expected = pd.Series(million).rolling(20).mean().to_numpy()
    _assert_relative_error_below(actual, expected, 1e-9)


# pandas' rolling std itself errs by up to 3e-7 relative on this walk (checked below), so the
# 1e-9 bound is checked against an exact two-pass numpy computation, and pandas gets 1e-6.


def test_bollinger_std_does_not_drift_over_a_million_updates(million):
    bands = BollingerBands(20, 2.0)
    std = np.empty(len(million))
    for i, value in enumerate(million.tolist()):
        bands.update(value)
        std[i] = bands.std
    exact = exact_rolling_std(million, 20, ddof=0)
    _assert_relative_error_below(std, exact, 1e-9)
    pandas_std = pd.Series(million).rolling(20).std(ddof=0).to_numpy()
    _assert_relative_error_below(std, pandas_std, 1e-6)
    _assert_relative_error_below(pandas_std, exact, 1e-6)


def test_rolling_volatility_does_not_drift_over_a_million_updates(million):
    prices = 100.0 * np.exp((million - 1000.0) / 1000.0)  # positive, log steps of ~0.001
    actual, _ = feed(RollingVolatility(20, 252), prices.tolist())
    log_returns = np.log(prices[1:] / prices[:-1])
    exact = np.concatenate([[np.nan], exact_rolling_std(log_returns, 20, ddof=1)]) * math.sqrt(252)
    _assert_relative_error_below(actual, exact, 1e-9)
    series = pd.Series(prices)
    expected = np.log(series / series.shift()).rolling(20).std().to_numpy() * math.sqrt(252)
    _assert_relative_error_below(actual, expected, 1e-6)


# --- properties against naive computations ---------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 8), items=st.lists(st.integers(-1000, 1000), max_size=40))
def test_rolling_window_behaves_like_the_tail_of_a_list(size, items):
    window: RollingWindow[int] = RollingWindow(size)
    seen: list[int] = []
    for item in items:
        window.append(item)
        seen.append(item)
        tail = seen[-size:]
        assert window.values == tail
        assert len(window) == len(tail)
        assert window.full == window.ready == (len(seen) >= size)
        assert window.count == len(seen)
        assert [window[i] for i in range(len(window))] == tail[::-1]
        assert list(window) == tail[::-1]
        with pytest.raises(IndexError, match="out of range"):
            window[len(tail)]
        with pytest.raises(IndexError, match="out of range"):
            window[-1]


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(period=st.integers(1, 30), values=st.lists(finite, max_size=200))
def test_sma_equals_naive_mean_of_the_last_period_values(period, values):
    sma = SMA(period)
    scale = max([abs(v) for v in values], default=1.0)
    for i, value in enumerate(values):
        sma.update(value)
        assert sma.count == i + 1
        if i + 1 < period:
            assert not sma.ready and math.isnan(sma.value)
        else:
            expected = math.fsum(values[i + 1 - period : i + 1]) / period
            assert sma.ready
            assert abs(sma.value - expected) <= 1e-12 * scale + 1e-300


@settings(max_examples=200, deadline=None)
@given(period=st.integers(2, 30), values=st.lists(finite, min_size=1, max_size=200))
def test_bollinger_variance_equals_naive_population_variance(period, values):
    bands = BollingerBands(period, 1.0)
    scale = max(abs(v) for v in values)
    for i, value in enumerate(values):
        bands.update(value)
        if i + 1 >= period:
            window = np.array(values[i + 1 - period : i + 1])
            assert abs(bands.std**2 - window.var()) <= 1e-11 * max(scale, 1.0) ** 2
            assert bands.upper - bands.middle == pytest.approx(bands.std, abs=1e-9 * max(scale, 1.0))


# --- reset, validation ------------------------------------------------------------------------

CONSTRUCTORS = {
    "SMA": lambda: SMA(10),
    "EMA": lambda: EMA(10),
    "RSI": lambda: RSI(10),
    "BollingerBands": lambda: BollingerBands(10, 2.0),
    "RollingVolatility": lambda: RollingVolatility(10, 252),
}


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_reset_makes_the_indicator_behave_like_a_new_one(daily, name):
    close = daily["SPY"]["close"].tolist()
    used = CONSTRUCTORS[name]()
    feed(used, close[:1500])  # beyond the 1024-update recomputation point
    used.reset()
    assert used.count == 0 and not used.ready and math.isnan(used.value)
    actual, _ = feed(used, close[2000:2300])
    expected, _ = feed(CONSTRUCTORS[name](), close[2000:2300])
    np.testing.assert_array_equal(actual, expected)


def test_atr_reset(daily):
    bars = list(daily["SPY"][["high", "low", "close"]].itertuples(index=False))
    used, fresh = ATR(10), ATR(10)
    for bar in bars[:50]:
        used.update(*bar)
    used.reset()
    assert used.count == 0 and not used.ready and math.isnan(used.value) and math.isnan(used.true_range)
    for bar in bars[100:130]:
        used.update(*bar)
        fresh.update(*bar)
        assert used.value == fresh.value or (math.isnan(used.value) and math.isnan(fresh.value))


def test_rolling_window_reset():
    window = RollingWindow(3)
    for value in "abcd":
        window.append(value)
    window.reset()
    assert len(window) == 0 and window.values == [] and window.count == 0 and not window.full
    window.append("e")
    assert window[0] == "e" and window.values == ["e"]


@pytest.mark.parametrize("bad", [0, -1, 2.5, "20", True, None])
@pytest.mark.parametrize("factory", [SMA, EMA, RSI, ATR, BollingerBands, RollingVolatility])
def test_invalid_period_raises_naming_it(factory, bad):
    with pytest.raises(ValueError, match="period"):
        factory(bad)


def test_invalid_size_and_other_parameters_raise_naming_them():
    with pytest.raises(ValueError, match="size"):
        RollingWindow(0)
    with pytest.raises(ValueError, match=r"period must be an integer >= 2, got 1"):
        RollingVolatility(1)
    for k in (-1.0, math.nan, math.inf, "2"):
        with pytest.raises(ValueError, match="k must"):
            BollingerBands(20, k)
    for annualization in (0, -252, math.nan, math.inf, "252"):
        with pytest.raises(ValueError, match="annualization"):
            RollingVolatility(20, annualization)
    assert SMA(np.int64(5)).period == 5  # numpy integers are accepted


@pytest.mark.parametrize("name", CONSTRUCTORS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_raises_and_leaves_the_state_untouched(daily, name, bad):
    close = daily["SPY"]["close"].tolist()[:40]
    indicator = CONSTRUCTORS[name]()
    feed(indicator, close[:20])
    with pytest.raises(ValueError, match="value must be"):
        indicator.update(bad)
    actual, _ = feed(indicator, close[20:])
    expected, _ = feed(CONSTRUCTORS[name](), close)
    np.testing.assert_array_equal(actual, expected[20:])


def test_rolling_volatility_refuses_non_positive_prices():
    volatility = RollingVolatility(5)
    for price in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"value must be a finite price > 0"):
            volatility.update(price)
    assert volatility.count == 0


def test_atr_refuses_bad_bars():
    atr = ATR(3)
    with pytest.raises(ValueError, match=r"high must be >= low"):
        atr.update(9.0, 10.0, 9.5)
    with pytest.raises(ValueError, match="low must be"):
        atr.update(10.0, math.nan, 9.5)
    with pytest.raises(ValueError, match="high must be"):
        atr.update(math.inf, 9.0, 9.5)
    with pytest.raises(ValueError, match="close must be"):
        atr.update(10.0, 9.0, math.nan)
    assert atr.count == 0


@pytest.mark.parametrize(
    "indicator",
    [RollingWindow(3), SMA(3), EMA(3), RSI(3), ATR(3), BollingerBands(3), RollingVolatility(3)],
    ids=lambda indicator: type(indicator).__name__,
)
def test_indicators_use_slots_and_have_no_instance_dict(indicator):
    # the hot path relies on __slots__ attribute access; a missing __slots__ in a class of the
    # hierarchy silently adds a __dict__ and slows every update
    assert not hasattr(indicator, "__dict__")
