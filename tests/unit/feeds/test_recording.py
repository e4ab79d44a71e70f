"""Recorder -> Recording: the recorded objects come back equal (==, every field) and in the order
they were received, for bars, quotes and trades (with and without aggressor), across flush batches,
even when a feed delivered them out of timestamp order; float64/int64 values survive bit for bit."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from workbench.errors import DataError
from workbench.feeds.recorder import Recorder, Recording
from workbench.feeds.replay import regular_hours
from workbench.feeds.samples import load_demo_spy, load_spy_trade_ticks
from workbench.feeds.stream import MarketDataStream
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import OrderSide


@pytest.fixture(scope="module")
def mixed() -> list:
    """Real SPY bars, quotes (2013-10-07..11, regular hours) and 20,000 trade prints, in delivery order."""
    bars, quotes = (regular_hours(f) for f in load_demo_spy())
    trades, _ = load_spy_trade_ticks(nrows=20_000)
    return list(MarketDataStream(bars, quotes, trades))


def _record(items: list, directory: Path, batch: int = 10_000) -> None:
    with Recorder(directory, batch=batch) as recorder:
        for item in items:
            recorder.record(item)


def test_recording_gives_back_the_same_objects_in_the_same_order(tmp_path: Path, mixed: list) -> None:
    _record(mixed, tmp_path / "rec", batch=997)  # several flushes per kind, at odd boundaries
    replayed = list(Recording(tmp_path / "rec"))
    assert len(replayed) == len(mixed) == len(Recording(tmp_path / "rec"))
    assert {type(x) for x in replayed} == {Bar, QuoteTick, TradeTick}
    assert replayed == mixed
    assert [type(x) for x in replayed] == [type(x) for x in mixed]


def test_arrival_order_is_kept_even_out_of_timestamp_order(tmp_path: Path, mixed: list) -> None:
    shuffled = mixed[:3000]
    random.Random(5).shuffle(shuffled)
    _record(shuffled, tmp_path / "rec")
    recording = Recording(tmp_path / "rec")
    assert list(recording) == shuffled
    assert recording.start_ns == shuffled[0].ts_init


def test_values_survive_bit_for_bit(tmp_path: Path) -> None:
    t = 1_381_152_600_123_456_789
    tricky = [
        Bar("SPY", 0.1 + 0.2, 1e308, 5e-324, 168.17000000000002, 0.0, t, t + 60_000_000_000),
        QuoteTick("AAPL", 482.9999999999999, 483.01, 1.5, 2**53 + 1.0, t + 1, t + 1),
        TradeTick("SPY", 168.1, 100.0, t + 2, t + 3, OrderSide.BUY),
        TradeTick("SPY", 168.1, 100.0, t + 2, t + 3, OrderSide.SELL),
        TradeTick("SPY", 168.1, 100.0, t + 2, t + 3, None),
        QuoteTick("SPY", math.nan, 168.2, 0.0, 300.0, t + 4, t + 4),  # a one-sided quote
    ]
    _record(tricky, tmp_path / "rec")
    back = list(Recording(tmp_path / "rec"))
    assert back[:5] == tricky[:5]
    assert [b.aggressor for b in back[2:5]] == [OrderSide.BUY, OrderSide.SELL, None]
    assert math.isnan(back[5].bid) and (back[5].ask, back[5].ts_init) == (168.2, t + 4)
    for a, b in zip(back[:2], tricky[:2]):
        for name in type(a).__slots__:
            x, y = getattr(a, name), getattr(b, name)
            assert type(x) is type(y) and x == y, name


def test_recorder_refuses_what_is_not_market_data(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec")
    with pytest.raises(DataError, match="not market data: dict"):
        recorder.record({"close": 1.0})  # type: ignore[arg-type]
    recorder.close()


def test_empty_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no recording"):
        Recording(tmp_path)
