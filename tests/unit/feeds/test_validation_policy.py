"""Each validation rule under each policy, on small hand-made CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import DataError
from workbench.feeds import DataKind, ValidationPolicy, load_bars, load_quotes, load_trades, validate

HEADER = "timestamp,symbol,open,high,low,close,volume\n"
GOOD = [
    "2024-01-02T09:30:00-05:00,SPY,10,11,9,10.5,100",
    "2024-01-02T09:31:00-05:00,SPY,10.5,11,10,10.8,200",
    "2024-01-02T09:32:00-05:00,SPY,10.8,11.2,10.7,11,300",
    "2024-01-02T09:33:00-05:00,SPY,11,11.5,10.9,11.4,400",
    "2024-01-02T09:34:00-05:00,SPY,11.4,11.6,11.1,11.2,500",
]


def write(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def with_row(row_number: int, text: str) -> list[str]:
    """GOOD with 1-based data row ``row_number`` replaced by ``text``."""
    rows = list(GOOD)
    rows[row_number - 1] = text
    return rows


# (check name, 1-based bad row, replacement row, field named in the message, value shown in the message)
CASES = [
    ("missing", 3, "2024-01-02T09:32:00-05:00,SPY,10.8,11.2,10.7,,300", "close", "None"),
    ("non_positive_price", 2, "2024-01-02T09:31:00-05:00,SPY,0,11,10,10.8,200", "open", "0.0"),
    ("negative_size", 4, "2024-01-02T09:33:00-05:00,SPY,11,11.5,10.9,11.4,-5", "volume", "-5.0"),
    ("inconsistent_ohlc", 4, "2024-01-02T09:33:00-05:00,SPY,11,10.8,10.9,10.85,400", "high", "10.8"),
    ("inconsistent_ohlc", 5, "2024-01-02T09:34:00-05:00,SPY,11.7,11.6,11.1,11.2,500", "open", "11.7"),
    ("duplicate", 3, "2024-01-02T09:31:00-05:00,SPY,10.8,11.2,10.7,11,300", "timestamp", "2024-01-02T14:31:00"),
    ("out_of_order", 4, "2024-01-02T09:29:00-05:00,SPY,11,11.5,10.9,11.4,400", "timestamp", "2024-01-02T14:29:00"),
]


@pytest.mark.parametrize(("check", "row", "text", "field", "value"), CASES)
def test_raise_names_file_row_field_and_value(tmp_path, check, row, text, field, value):
    path = write(tmp_path, with_row(row, text))
    with pytest.raises(DataError) as info:
        load_bars(path, interval="1min", policy=ValidationPolicy.strict())
    message = str(info.value)
    assert str(path) in message
    assert f"data row {row}:" in message
    assert f"{field}=" in message and value in message
    assert check in message
    assert "1-based" in message


@pytest.mark.parametrize(("check", "row", "text", "field", "value"), CASES)
def test_skip_drops_and_counts(tmp_path, check, row, text, field, value):
    path = write(tmp_path, with_row(row, text))
    frame, report = load_bars(path, interval="1min", policy=ValidationPolicy.lenient())
    assert report.rows_read == 5
    assert report.rows_kept == 4 == len(frame)
    assert report.skipped == {check: 1}
    assert row not in frame.index  # the index is the source data-row number
    assert [issue.row for issue in report.examples] == [row]
    assert report.examples[0].field == field


def test_defaults_skip_missing_but_raise_on_impossible_bars(tmp_path):
    missing = write(tmp_path, with_row(2, "2024-01-02T09:31:00-05:00,SPY,,,,,"), name="a.csv")
    frame, report = load_bars(missing, interval="1min")
    assert report.skipped == {"missing": 1} and len(frame) == 4
    for check, row, text, _, _ in CASES[1:]:
        with pytest.raises(DataError, match=check):
            load_bars(write(tmp_path, with_row(row, text), name="b.csv"), interval="1min")


def test_keep_flags_without_dropping(tmp_path):
    path = write(tmp_path, with_row(4, CASES[3][2]))
    frame, report = load_bars(path, interval="1min", policy=ValidationPolicy(inconsistent_ohlc="keep"))
    assert len(frame) == 5
    assert report.flagged == {"inconsistent_ohlc": 1} and report.skipped == {}


def test_error_uses_the_files_column_name(tmp_path):
    header = "Date,Ticker,Open,High,Low,Last,Vol\n"
    path = write(tmp_path, with_row(4, CASES[3][2]), header=header)
    with pytest.raises(DataError, match=r"data row 4: High=10\.8"):
        load_bars(path, columns={"ts_event": "Date", "symbol": "Ticker", "close": "Last", "volume": "Vol"})


def test_out_of_order_is_per_symbol(tmp_path):
    rows = [
        "2024-01-02T09:31:00-05:00,SPY,10,11,9,10,1",
        "2024-01-02T09:30:00-05:00,IBM,10,11,9,10,1",  # earlier than the SPY row but first IBM row: fine
        "2024-01-02T09:31:00-05:00,IBM,10,11,9,10,1",
        "2024-01-02T09:30:00-05:00,SPY,10,11,9,10,1",  # SPY goes back: data row 4
    ]
    path = write(tmp_path, rows)
    with pytest.raises(DataError, match=r"data row 4: timestamp="):
        load_bars(path, interval="1min")
    frame, report = load_bars(path, interval="1min", policy=ValidationPolicy(out_of_order="skip"))
    assert report.skipped == {"out_of_order": 1}
    assert sorted(frame.index) == [1, 2, 3]


def test_duplicates_are_allowed_for_trades_and_quotes(tmp_path):
    trades = write(tmp_path, ["2024-01-02T09:30:00Z,SPY,10,100", "2024-01-02T09:30:00Z,SPY,10.01,200"],
                   header="timestamp,symbol,price,size\n", name="t.csv")
    frame, report = load_trades(trades)
    assert len(frame) == 2 and report.skipped == {}


def test_crossed_quotes_kept_and_flagged_by_default(tmp_path):
    path = write(tmp_path, ["2024-01-02T09:30:00Z,SPY,10.02,10.01,5,5", "2024-01-02T09:30:01Z,SPY,10.0,10.01,5,5"],
                 header="timestamp,symbol,bid,ask,bid_size,ask_size\n", name="q.csv")
    frame, report = load_quotes(path)
    assert len(frame) == 2 and report.flagged == {"crossed_quote": 1}
    with pytest.raises(DataError, match=r"data row 1: bid=10\.02"):
        load_quotes(path, policy=ValidationPolicy(crossed_quote="raise"))
    frame, report = load_quotes(path, policy=ValidationPolicy(crossed_quote="skip"))
    assert list(frame.index) == [2]


def test_bad_number_and_bad_timestamp_name_row(tmp_path):
    path = write(tmp_path, with_row(3, "2024-01-02T09:32:00-05:00,SPY,10.8,abc,10.7,11,300"), name="n.csv")
    with pytest.raises(DataError, match=r"data row 3: high='abc' is not a number"):
        load_bars(path, interval="1min")
    path = write(tmp_path, with_row(2, "not-a-time,SPY,10.5,11,10,10.8,200"), name="t.csv")
    with pytest.raises(DataError, match=r"data row 2: timestamp='not-a-time' is not a timestamp"):
        load_bars(path, interval="1min")


prices = st.one_of(st.just(np.nan), st.just(-1.0), st.floats(1.0, 2.0))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), prices, prices), min_size=1, max_size=30))
def test_lenient_never_loses_rows_silently(rows):
    """Property: kept + skipped == read, kept rows pass every check, and their order is preserved."""
    frame = pd.DataFrame(
        {
            "ts_event": [t for t, _, _ in rows],
            "ts_init": 0,
            "symbol": "X",
            "open": [a for _, a, _ in rows],
            "high": [max(a, b) if a == a and b == b else np.nan for _, a, b in rows],
            "low": [min(a, b) if a == a and b == b else np.nan for _, a, b in rows],
            "close": [b for _, _, b in rows],
            "volume": 1.0,
        },
        index=pd.RangeIndex(1, len(rows) + 1),
    )
    kept, report = validate(frame, DataKind.BAR, policy=ValidationPolicy.lenient())
    assert report.rows_kept + report.rows_skipped == report.rows_read == len(rows)
    assert len(kept) == report.rows_kept
    prices_kept = kept[["open", "high", "low", "close"]].to_numpy()
    assert np.isfinite(prices_kept).all() and (prices_kept > 0).all()
    assert (np.diff(kept["ts_event"].to_numpy()) > 0).all()  # no duplicates, no going back
    assert list(kept.index) == sorted(kept.index)
