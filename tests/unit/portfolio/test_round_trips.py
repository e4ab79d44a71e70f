"""Round trips from fills, hand-worked (partial closes, a flip with a split commission, two symbols)."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.portfolio.trades import TRADE_COLUMNS, round_trips


def fills_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["ts_event", "symbol", "side", "quantity", "price", "commission"])


def test_partial_close_then_flip_then_cover() -> None:
    fills = fills_frame([
        (1, "XYZ", "BUY", 100, 10.0, 1.0),
        (2, "XYZ", "BUY", 100, 12.0, 1.0),
        (3, "XYZ", "SELL", 50, 13.0, 1.0),
        (4, "XYZ", "SELL", 200, 9.0, 1.0),  # closes 150, opens 50 short; commission split 0.75 / 0.25
        (5, "XYZ", "BUY", 50, 8.0, 1.0),
    ])
    trips = round_trips(fills)
    assert list(trips.columns) == TRADE_COLUMNS
    assert len(trips) == 2
    first, second = trips.iloc[0], trips.iloc[1]

    assert first["direction"] == "LONG" and first["quantity"] == 200
    assert (first["entry_time"], first["exit_time"]) == (1, 4)
    assert first["entry_price"] == pytest.approx(11.0)
    assert first["exit_price"] == pytest.approx(10.0)  # (50 * 13 + 150 * 9) / 200
    assert first["gross_pnl"] == pytest.approx(-200.0)
    assert first["commission"] == pytest.approx(3.75)
    assert first["pnl"] == pytest.approx(-203.75)
    assert first["return"] == pytest.approx(-203.75 / 2200.0)

    assert second["direction"] == "SHORT" and second["quantity"] == 50
    assert (second["entry_time"], second["exit_time"]) == (4, 5)
    assert second["entry_price"] == pytest.approx(9.0)
    assert second["exit_price"] == pytest.approx(8.0)
    assert second["gross_pnl"] == pytest.approx(50.0)
    assert second["commission"] == pytest.approx(1.25)
    assert second["pnl"] == pytest.approx(48.75)
    # all round trips together realize what the position realized: -155 (see test_position)
    assert trips["pnl"].sum() == pytest.approx(-155.0)


def test_open_round_trip_is_not_reported_and_symbols_are_independent() -> None:
    fills = fills_frame([
        (1, "AAA", "BUY", 10, 100.0, 0.0),
        (2, "BBB", "SELL", 5, 50.0, 0.0),
        (3, "AAA", "SELL", 10, 105.0, 0.0),
        (4, "AAA", "BUY", 10, 104.0, 0.0),  # still open at the end
    ])
    trips = round_trips(fills)
    assert len(trips) == 1
    row = trips.iloc[0]
    assert row["symbol"] == "AAA" and row["pnl"] == pytest.approx(50.0)


def test_no_fills_gives_empty_frame() -> None:
    trips = round_trips(fills_frame([]))
    assert trips.empty and list(trips.columns) == TRADE_COLUMNS
