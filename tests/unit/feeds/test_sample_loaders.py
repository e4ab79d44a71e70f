"""Loaders of the shipped real data, checked against the counts and identities stated in SOURCES.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.feeds import (
    load_demo_spy,
    load_lean_daily,
    load_lean_hourly,
    load_spy_trade_ticks,
    sample_path,
)

NY = "America/New_York"
MINUTE = 60_000_000_000


def local(ns_values: pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(ns_values.to_numpy(), utc=True)).tz_convert(NY)


def regular_session(times: pd.DatetimeIndex) -> np.ndarray:
    minutes = times.hour * 60 + times.minute
    return np.asarray((minutes >= 9 * 60 + 30) & (minutes < 16 * 60))


def test_demo_spy_counts_match_sources_notes():
    bars, quotes, bar_report, quote_report = load_demo_spy(return_reports=True)
    # SOURCES.md: 4,583 rows; 455 have a quote but no trade; 26 a trade but no quote
    assert bar_report.rows_read == quote_report.rows_read == 4583
    assert bar_report.skipped == {"missing": 455} and len(bars) == 4583 - 455
    assert quote_report.skipped == {"missing": 26} and len(quotes) == 4583 - 26
    # 1,950 regular-session rows (5 x 390), each with both a bar and a quote
    bar_starts = local(bars["ts_event"])
    quote_minutes = local(quotes["ts_event"] - MINUTE)  # quotes are at the END of the minute
    assert regular_session(bar_starts).sum() == 1950
    assert regular_session(quote_minutes).sum() == 1950
    # the rows lacking OHLCV or bid/ask are all outside the regular session
    raw = pd.read_csv(sample_path("spy_minute_bars"))
    raw_times = pd.DatetimeIndex(pd.to_datetime(raw["timestamp"], utc=True)).tz_convert(NY)
    incomplete = raw[["open", "bid"]].isna().any(axis=1).to_numpy()
    assert not (incomplete & regular_session(raw_times)).any()


def test_demo_spy_timing():
    bars, quotes = load_demo_spy()
    assert ((bars["ts_init"] - bars["ts_event"]) == MINUTE).all()
    assert (quotes["ts_event"] == quotes["ts_init"]).all()
    first = pd.Timestamp("2013-10-07 04:00", tz=NY).value
    assert bars["ts_event"].iloc[0] == first
    assert quotes["ts_event"].iloc[0] == first + MINUTE  # quote of the 04:00 row, known at 04:01
    assert quotes.loc[1, ["bid", "ask"]].tolist() == [167.25, 167.27]  # file row 1 values


def test_lean_daily_adjusted_close_matches_file_adj_close():
    raw = pd.read_csv(sample_path("lean_us_equities_daily"))
    raw.index += 1  # frames are indexed by the 1-based data-row number
    adjusted, report = load_lean_daily()
    assert report.rows_read == report.rows_kept == 42782
    expected = raw.loc[adjusted.index, "adj_close"].to_numpy()  # the file's own adj_close (rounded to 6 dp)
    np.testing.assert_allclose(adjusted["close"].to_numpy(), expected, rtol=0, atol=6e-6)
    raw_frame, _ = load_lean_daily(adjusted=False)
    split = raw.loc[raw_frame.index, "split_factor"].to_numpy()
    np.testing.assert_allclose(adjusted["volume"].to_numpy() * split, raw_frame["volume"].to_numpy(), rtol=1e-12)
    # AAPL's 4:1 split on 2020-08-31 looks like a -75% move raw but not adjusted
    aapl_raw = raw_frame[raw_frame["symbol"] == "AAPL"].set_index("ts_event")["close"]
    aapl_adj = adjusted[adjusted["symbol"] == "AAPL"].set_index("ts_event")["close"]
    day = pd.Timestamp("2020-08-31 09:30", tz=NY).value
    assert aapl_raw.pct_change()[day] < -0.7
    assert abs(aapl_adj.pct_change()[day]) < 0.1


def test_lean_daily_symbols_and_sessions():
    frame, report = load_lean_daily(["SPY", "IWM"])
    assert set(frame["symbol"]) == {"SPY", "IWM"} and report.rows_read == 5849 + 5244
    opens = local(frame["ts_event"])
    assert set(zip(opens.hour, opens.minute)) == {(9, 30)}
    closes = local(frame["ts_init"])
    assert set(zip(closes.hour, closes.minute)) == {(16, 0), (13, 0)}  # 13:00 on half days
    half_day = pd.Timestamp("2013-11-29 13:00", tz=NY).value
    assert (frame["ts_init"] == half_day).sum() == 2


def test_lean_hourly_first_bar_and_volume_identity():
    hourly, report = load_lean_hourly("IBM", adjusted=False)
    assert report.rows_read == report.rows_kept
    starts, ends = local(hourly["ts_event"]), local(hourly["ts_init"])
    first = starts.hour == 9
    assert set(zip(starts[first].hour, starts[first].minute)) == {(9, 30)}
    assert set(zip(ends[first].hour, ends[first].minute)) == {(10, 0)}
    assert ((ends - starts)[~first] == pd.Timedelta("1h")).all()
    # SOURCES.md: per symbol and day the hourly volumes add up exactly to the daily volume
    daily, _ = load_lean_daily("IBM", adjusted=False)
    hourly_sum = hourly.groupby(starts.date)["volume"].sum()
    daily_volume = pd.Series(daily["volume"].to_numpy(), index=local(daily["ts_event"]).date)
    common = hourly_sum.index.intersection(daily_volume.index)
    assert len(common) > 5000
    np.testing.assert_array_equal(hourly_sum[common].to_numpy(), daily_volume[common].to_numpy())


def test_spy_trade_ticks_head_and_suspicious():
    ticks, report = load_spy_trade_ticks(nrows=1000)
    assert len(ticks) == 1000 == report.rows_read
    assert ticks["price"].iloc[0] == 167.41 and ticks["size"].iloc[1] == 1400.0
    assert ticks["ts_event"].iloc[0] == pd.Timestamp("2013-10-07 04:00:00.464", tz=NY).value
    assert set(ticks["aggressor"]) == {""}


def test_sample_path_errors():
    assert sample_path("lean_us_equities_hourly").name == "lean_us_equities_hourly_1998-2021.csv.gz"
    with pytest.raises(FileNotFoundError, match="shipped samples"):
        sample_path("lean")  # ambiguous
    with pytest.raises(FileNotFoundError):
        sample_path("nope")
