"""MarketDataStream: merge order (ts_init, bar < quote < trade, source order), objects, round trips."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import DataError
from workbench.feeds import TRADE_COLUMNS, MarketDataStream, load_demo_spy
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import OrderSide

M = 60_000_000_000  # one minute in ns
T0 = 1_700_000_000_000_000_000


def bars(symbol: str, starts: list[int], close0: float = 10.0) -> pd.DataFrame:
    n = len(starts)
    close = close0 + np.arange(n)
    return pd.DataFrame({
        "ts_event": starts, "ts_init": [s + M for s in starts], "symbol": [symbol] * n,
        "open": close, "high": close + 1, "low": close - 1, "close": close, "volume": np.full(n, 100.0),
    })


def test_two_symbols_with_ties_in_hand_worked_order():
    spy = bars("SPY", [T0, T0 + M, T0 + 2 * M])
    ibm = bars("IBM", [T0 + M, T0 + 2 * M], close0=50.0)
    quotes = pd.DataFrame({
        "ts_event": [T0 + 2 * M, T0 + M], "ts_init": [T0 + 2 * M, T0 + 2 * M],  # second quote came late
        "symbol": ["SPY", "IBM"], "bid": [11.0, 50.5], "ask": [11.1, 50.6], "bid_size": [1.0, 2.0], "ask_size": [3.0, 4.0],
    })
    trades = pd.DataFrame({
        "ts_event": [T0 + M], "ts_init": [T0 + M], "symbol": ["SPY"], "price": [10.5], "size": [7.0], "aggressor": ["BUY"],
    })
    stream = MarketDataStream(trades, quotes, ibm, spy)  # deliberately not in priority order
    got = [(type(x).__name__, x.symbol, x.ts_init) for x in stream]
    assert got == [
        ("Bar", "SPY", T0 + M),          # SPY bar 0 closes at T0+M, before the trade at the same ts_init
        ("TradeTick", "SPY", T0 + M),
        ("Bar", "IBM", T0 + 2 * M),      # bars at T0+2M: IBM before SPY because the IBM frame was given first
        ("Bar", "SPY", T0 + 2 * M),
        ("QuoteTick", "SPY", T0 + 2 * M),  # quotes keep their source order
        ("QuoteTick", "IBM", T0 + 2 * M),
        ("Bar", "IBM", T0 + 3 * M),
        ("Bar", "SPY", T0 + 3 * M),
    ]
    assert len(stream) == 8 and stream.symbols == ("IBM", "SPY")
    assert stream.start_ns == T0 + M and stream.end_ns == T0 + 3 * M
    assert stream.counts == {"bars": 5, "quotes": 2, "trades": 1}


def test_yields_the_right_objects():
    spy = bars("SPY", [T0])
    trades = pd.DataFrame({
        "ts_event": [T0 + 5, T0 + 6], "ts_init": [T0 + 5, T0 + 6], "symbol": ["SPY", "SPY"],
        "price": [10.5, 10.6], "size": [7.0, 8.0], "aggressor": ["SELL", ""],
    })
    quotes = pd.DataFrame({"ts_event": [T0 + 9], "ts_init": [T0 + 10], "symbol": ["SPY"], "bid": [10.4],
                           "ask": [10.7], "bid_size": [1.0], "ask_size": [np.nan]})
    items = list(MarketDataStream(spy, trades, quotes))
    assert items[0] == TradeTick("SPY", 10.5, 7.0, T0 + 5, T0 + 5, OrderSide.SELL)
    assert items[1] == TradeTick("SPY", 10.6, 8.0, T0 + 6, T0 + 6, None)
    assert items[2] == QuoteTick("SPY", 10.4, 10.7, 1.0, float("nan"), T0 + 9, T0 + 10)
    assert items[3] == Bar("SPY", 10.0, 11.0, 9.0, 10.0, 100.0, T0, T0 + M)
    assert type(items[0].price) is float and type(items[0].ts_event) is int and type(items[0].symbol) is str


def test_objects_in_and_frames_out():
    objects = [
        QuoteTick("B", 1.0, 1.1, 5.0, 6.0, T0 + 2, T0 + 2),
        Bar("A", 1.0, 2.0, 0.5, 1.5, 10.0, T0 - M, T0),
        TradeTick("A", 1.2, 3.0, T0, T0, OrderSide.BUY),
        Bar("B", 3.0, 3.0, 3.0, 3.0, 0.0, T0 - M, T0),
    ]
    stream = MarketDataStream.from_objects(objects)
    assert list(stream) == [objects[1], objects[3], objects[2], objects[0]]
    frames = stream.to_frames()
    assert frames["bars"]["symbol"].tolist() == ["A", "B"]
    assert frames["trades"]["aggressor"].tolist() == ["BUY"]
    assert frames["quotes"]["ask_size"].tolist() == [6.0]
    assert list(MarketDataStream(*frames.values())) == list(stream)  # frames -> same stream
    # objects and frames mix; the iterable's items keep their relative order at equal keys
    mixed = MarketDataStream(bars("A", [T0 - M]), objects[1:2])
    assert [x.close for x in mixed] == [10.0, 1.5]


def test_demo_stream_round_trip_and_chunking():
    bar_frame, quote_frame = load_demo_spy()
    big = list(MarketDataStream(bar_frame, quote_frame))
    small = list(MarketDataStream(bar_frame, quote_frame, chunk_size=7))
    assert big == small and len(big) == len(bar_frame) + len(quote_frame)
    assert all(a.ts_init <= b.ts_init for a, b in itertools.pairwise(big))
    frames = MarketDataStream(bar_frame, quote_frame).to_frames()
    pd.testing.assert_frame_equal(frames["bars"], bar_frame.reset_index(drop=True))
    pd.testing.assert_frame_equal(frames["quotes"], quote_frame.reset_index(drop=True))
    assert frames["trades"].empty and list(frames["trades"].columns) == list(TRADE_COLUMNS)


def test_iter_chunks_matches_objects():
    bar_frame, quote_frame = load_demo_spy()
    stream = MarketDataStream(bar_frame, quote_frame, chunk_size=100)
    rows = []
    for kind, columns in stream.iter_chunks():
        assert len({len(v) for v in columns.values()}) == 1
        rows += [(int(kind), s, t) for s, t in zip(columns["symbol"], columns["ts_init"])]
    expected = [(0 if type(x) is Bar else 1, x.symbol, x.ts_init) for x in stream]
    assert rows == expected


def test_empty_and_bad_sources():
    empty = MarketDataStream()
    assert len(empty) == 0 and list(empty) == [] and empty.start_ns is None
    with pytest.raises(DataError):
        MarketDataStream(pd.DataFrame({"x": [1]}))
    with pytest.raises(DataError):
        MarketDataStream(["not market data"])


items = st.lists(
    st.tuples(st.sampled_from(["bar", "quote", "trade"]), st.integers(0, 4), st.sampled_from(["A", "B"])),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(items, min_size=1, max_size=4), st.integers(1, 9))
def test_order_equals_an_independent_sort(sources, chunk_size):
    """Property: iteration order == Python's sorted() on (ts_init, kind priority, source, row)."""
    frames, keyed = [], []
    for source in sources:
        for kind_name in ("bar", "quote", "trade"):  # one frame per kind per source
            rows = [(ts, sym) for k, ts, sym in source if k == kind_name]
            if not rows:
                continue
            frame_index = len(frames)
            ts = [T0 + t for t, _ in rows]
            syms = [s for _, s in rows]
            values = np.arange(len(rows), dtype=float) + 100 * frame_index + 1
            if kind_name == "bar":
                frame = pd.DataFrame({"ts_event": [t - M for t in ts], "ts_init": ts, "symbol": syms, "open": values,
                                      "high": values, "low": values, "close": values, "volume": values})
            elif kind_name == "quote":
                frame = pd.DataFrame({"ts_event": ts, "ts_init": ts, "symbol": syms, "bid": values, "ask": values,
                                      "bid_size": values, "ask_size": values})
            else:
                frame = pd.DataFrame({"ts_event": ts, "ts_init": ts, "symbol": syms, "price": values, "size": values,
                                      "aggressor": [""] * len(rows)})
            frames.append(frame)
            priority = {"bar": 0, "quote": 1, "trade": 2}[kind_name]
            keyed += [((ts[i], priority, frame_index, i), values[i]) for i in range(len(rows))]
    expected = [value for _, value in sorted(keyed)]
    stream = MarketDataStream(*frames, chunk_size=chunk_size)
    got = [getattr(x, "open", None) or getattr(x, "bid", None) or x.price for x in stream]
    assert got == expected


def test_speed_sanity_one_million_bars(capsys):
    n = 1_000_000
    starts = T0 + np.arange(n, dtype=np.int64) * M
    frame = bars("SPY", starts.tolist())
    frame["symbol"] = np.where(np.arange(n) % 2 == 0, "SPY", "IBM")
    t0 = time.perf_counter()
    stream = MarketDataStream(frame)
    t1 = time.perf_counter()
    count = 0
    cpu = time.process_time()
    for _ in stream:
        count += 1
    cpu = time.process_time() - cpu
    t2 = time.perf_counter()
    assert count == n
    with capsys.disabled():
        print(f"\n[feeds] 1M bars: build {t1 - t0:.2f} s, iterate {t2 - t1:.2f} s wall / {cpu:.2f} s CPU")
