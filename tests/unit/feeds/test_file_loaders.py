"""Generic loaders: column mapping, time zones, interval inference, daily bars, file formats."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.errors import DataError
from workbench.feeds import BAR_COLUMNS, QUOTE_COLUMNS, TRADE_COLUMNS, load_bars, load_quotes, load_trades


def ns(text: str, tz: str = "UTC") -> int:
    return int(pd.Timestamp(text, tz=tz).value)


def test_user_file_with_mapping_and_timezone_across_dst(tmp_path: Path):
    # naive New York times either side of the 2024-03-10 DST change; Yahoo-like header spelling
    path = tmp_path / "user.csv"
    path.write_text(
        "When,Open,High,Low,Last,Shares\n"
        "2024-03-08 15:59:00,10,10.5,9.5,10.2,100\n"
        "2024-03-11 09:30:00,10.2,10.4,10.1,10.3,200\n"
        "2024-03-11 09:31:00,10.3,10.6,10.2,10.5,300\n"
    )
    frame, report = load_bars(
        path, symbol="ABC", timezone="America/New_York",
        columns={"ts_event": "When", "close": "Last", "volume": "Shares"},
    )
    assert list(frame.columns) == list(BAR_COLUMNS)
    # hand-worked: 15:59 EST = 20:59Z; 09:30 EDT = 13:30Z
    assert frame["ts_event"].tolist() == [ns("2024-03-08 20:59"), ns("2024-03-11 13:30"), ns("2024-03-11 13:31")]
    minute = 60_000_000_000  # inferred: the most common gap (1 of 2 gaps is 1 min, the other 3 days)
    assert (frame["ts_init"] - frame["ts_event"]).tolist() == [minute] * 3
    assert frame["symbol"].tolist() == ["ABC"] * 3
    assert frame["close"].tolist() == [10.2, 10.3, 10.5]
    assert frame["volume"].tolist() == [100.0, 200.0, 300.0]
    assert report.rows_read == report.rows_kept == 3


def test_naive_timestamps_need_a_timezone(tmp_path: Path):
    path = tmp_path / "naive.csv"
    path.write_text("timestamp,open,high,low,close,volume\n2024-01-02 09:30,1,1,1,1,1\n2024-01-02 09:31,1,1,1,1,1\n")
    with pytest.raises(DataError, match="timezone="):
        load_bars(path, symbol="X")
    with pytest.raises(DataError, match="symbol="):
        load_bars(path, timezone="UTC")


def test_interval_inferred_per_symbol_and_explicit(tmp_path: Path):
    rows = ["timestamp,symbol,open,high,low,close,volume"]
    for minute in (0, 5, 10, 20, 25):  # one gap of 10 min: the mode is still 5 min
        rows.append(f"2024-01-02T14:{minute:02d}:00Z,A,1,1,1,1,1")
    for hour in (14, 15, 16):
        rows.append(f"2024-01-02T{hour}:30:00Z,B,1,1,1,1,1")
    rows.append("2024-01-02T14:00:00Z,C,1,1,1,1,1")  # single bar: the overall mode (5 min, 4 of 6 gaps)
    path = tmp_path / "multi.csv"
    path.write_text("\n".join(rows) + "\n")
    frame, _ = load_bars(path)
    length = (frame["ts_init"] - frame["ts_event"]).groupby(frame["symbol"]).unique()
    assert length["A"].tolist() == [300_000_000_000]
    assert length["B"].tolist() == [3_600_000_000_000]
    assert length["C"].tolist() == [300_000_000_000]
    assert frame["ts_init"].is_monotonic_increasing
    explicit, _ = load_bars(path, interval="1min")
    assert ((explicit["ts_init"] - explicit["ts_event"]) == 60_000_000_000).all()


def test_daily_bars_use_xnys_sessions_with_fallback(tmp_path: Path):
    path = tmp_path / "daily.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "11/27/2013,1,1,1,1,1\n"  # normal day
        "11/29/2013,1,1,1,1,1\n"  # day after Thanksgiving: closes 13:00
        "11/30/2013,1,1,1,1,1\n"  # a Saturday: not a session -> local midnight to midnight
    )
    frame, _ = load_bars(path, symbol="X")
    ny = "America/New_York"
    assert frame["ts_event"].tolist() == [ns("2013-11-27 09:30", ny), ns("2013-11-29 09:30", ny), ns("2013-11-30 00:00", ny)]
    assert frame["ts_init"].tolist() == [ns("2013-11-27 16:00", ny), ns("2013-11-29 13:00", ny), ns("2013-12-01 00:00", ny)]
    plain, _ = load_bars(path, symbol="X", calendar=None, timezone="UTC")
    assert plain["ts_event"].iloc[0] == ns("2013-11-27")
    assert plain["ts_init"].iloc[0] == ns("2013-11-28")
    with pytest.raises(DataError, match="daily"):
        load_bars(path, symbol="X", interval="1h")


def test_parquet_and_gzip_round_trip(tmp_path: Path):
    start = pd.Timestamp("2024-01-02 14:30", tz="UTC")
    table = pd.DataFrame({
        "timestamp": pd.date_range(start, periods=4, freq="1min"),
        "symbol": ["SPY"] * 4,
        "open": [1.0, 2, 3, 4], "high": [1.5, 2.5, 3.5, 4.5], "low": [0.5, 1.5, 2.5, 3.5],
        "close": [1.2, 2.2, 3.2, 4.2], "volume": [10.0, 20, 30, 40],
    })
    table.to_parquet(tmp_path / "bars.parquet")
    with gzip.open(tmp_path / "bars.csv.gz", "wt") as handle:
        table.to_csv(handle, index=False)
    from_parquet, _ = load_bars(tmp_path / "bars.parquet")
    from_gzip, _ = load_bars(tmp_path / "bars.csv.gz")
    pd.testing.assert_frame_equal(from_parquet, from_gzip)
    assert from_parquet["ts_event"].tolist() == [ns("2024-01-02 14:30") + i * 60_000_000_000 for i in range(4)]
    assert from_parquet["open"].tolist() == [1.0, 2, 3, 4]
    # canonical frames written to parquet load back unchanged (ts_init column mapped by name)
    from_parquet.reset_index(drop=True).to_parquet(tmp_path / "canonical.parquet")
    again, _ = load_bars(tmp_path / "canonical.parquet")
    pd.testing.assert_frame_equal(again.reset_index(drop=True), from_parquet.reset_index(drop=True))


def test_symbol_selection(tmp_path: Path):
    path = tmp_path / "two.csv"
    path.write_text(
        "timestamp,symbol,open,high,low,close,volume\n"
        "2024-01-02T14:30:00Z,A,1,1,1,1,1\n2024-01-02T14:30:00Z,B,2,2,2,2,2\n"
        "2024-01-02T14:31:00Z,A,1,1,1,1,1\n2024-01-02T14:31:00Z,B,2,2,2,2,2\n"
    )
    frame, report = load_bars(path, symbol="B")
    assert frame.index.tolist() == [2, 4] and report.rows_read == 2
    with pytest.raises(DataError, match=r"\['Z'\] not in the file"):
        load_bars(path, symbol=["A", "Z"])


def test_trades_with_aggressor_and_epoch_microseconds(tmp_path: Path):
    # Tardis-like layout: integer microseconds, side buy/sell, amount
    path = tmp_path / "trades.csv"
    path.write_text(
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        "binance,BTCUSDT,1582329602418000,1582329602420000,1,sell,9657.59,0.5\n"
        "binance,BTCUSDT,1582329602419000,1582329602421000,2,buy,9657.6,0.25\n"
        "binance,BTCUSDT,1582329602500000,1582329602502000,3,,9657.6,0.25\n"
    )
    frame, _ = load_trades(path, columns={"ts_init": "local_timestamp"})
    assert list(frame.columns) == list(TRADE_COLUMNS)
    assert frame["ts_event"].iloc[0] == 1582329602418000 * 1000
    assert frame["ts_init"].iloc[0] == 1582329602420000 * 1000
    assert frame["aggressor"].tolist() == ["SELL", "BUY", ""]
    assert frame["size"].tolist() == [0.5, 0.25, 0.25]
    path.write_text(path.read_text().replace(",buy,", ",up,"))
    with pytest.raises(DataError, match="data row 2: side='up'"):
        load_trades(path)


def test_quotes_without_size_columns_have_unknown_sizes(tmp_path: Path):
    path = tmp_path / "fx.csv"
    path.write_text("timestamp,symbol,bid,ask\n2014-05-01T00:00:00.123Z,EURUSD,1.3866,1.3867\n")
    frame, report = load_quotes(path)
    assert list(frame.columns) == list(QUOTE_COLUMNS)
    assert np.isnan(frame["bid_size"].iloc[0]) and report.rows_kept == 1
    assert frame["ts_event"].iloc[0] == ns("2014-05-01 00:00:00.123")


def test_missing_required_column_and_bad_mapping(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("timestamp,symbol,open,high,low\n2024-01-02T14:30:00Z,A,1,1,1\n")
    with pytest.raises(DataError, match=r"no column for \['close'\]"):
        load_bars(path)
    with pytest.raises(DataError, match="not in file columns"):
        load_bars(path, columns={"close": "Last"})
    with pytest.raises(DataError, match="not bars columns"):
        load_bars(path, columns={"price": "open"})
    with pytest.raises(FileNotFoundError):
        load_bars(tmp_path / "absent.csv")
