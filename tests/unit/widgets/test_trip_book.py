"""Incremental round trips of the Performance panel (issue 13: a long session's page must keep up).

Independent source: the batch computation over every fill (``session_round_trips`` and
``symbol_performance`` of ``journal.fills``), which the panel used before; the incremental book must
give the same round trips and per-symbol table after every fill, with two symbols, partial exits
and flips through zero (which close one round trip and open another inside one fill).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.persistence import Journal
from workbench.widgets.performance import session_round_trips, symbol_performance
from workbench.widgets.testing import ScriptedSession
from workbench.widgets.trip_book import RoundTripBook, last_flat_row

COLUMNS = ["symbol", "direction", "quantity", "entry_time", "exit_time", "entry_price", "exit_price", "pnl",
           "return_percent", "exit_reason"]


def test_last_flat_row_by_hand():
    fills = pd.DataFrame({"symbol": ["A", "B", "A", "B", "A", "A"], "side": ["BUY", "SELL", "SELL", "BUY", "BUY", "SELL"],
                          "quantity": [10, 5, 10, 5, 3, 1]})
    # positions after each row: A 10 / B -5 / A 0 / B 0 -> all flat at row 3; then A 3, A 2: open
    assert last_flat_row(fills) == 3
    assert last_flat_row(fills.iloc[:3]) == -1
    assert last_flat_row(fills.iloc[:0]) == -1


def test_the_book_equals_the_batch_computation_after_every_fill(tmp_path):
    rng = np.random.default_rng(11)
    plan = [("SPY", "BUY", 100), ("IBM", "SELL", 50), ("SPY", "SELL", 40), ("SPY", "SELL", 60), ("IBM", "BUY", 50),
            ("SPY", "BUY", 100), ("SPY", "SELL", 200),  # flip: long 100 -> short 100 in one fill
            ("IBM", "BUY", 10), ("SPY", "BUY", 100), ("IBM", "SELL", 10)]
    plan += [(str(rng.choice(["SPY", "IBM"])), str(rng.choice(["BUY", "SELL"])), int(rng.integers(1, 4)) * 10)
             for _ in range(40)]
    with Journal(tmp_path / "j.sqlite") as journal:
        session = ScriptedSession(journal, "trips")
        book = RoundTripBook(session_round_trips, keep=1_000)
        small = RoundTripBook(session_round_trips, keep=3)
        for i, (symbol, side, quantity) in enumerate(plan):
            session.trade(symbol, side, quantity, 100.0 + rng.normal(0, 2.0))
            orders = journal.orders("trips")
            fills = journal.fills("trips")
            expected = session_round_trips(fills, orders, None)
            got = book.update(journal, "trips", orders, None)
            assert len(got) == len(expected), i
            if len(expected):
                pd.testing.assert_frame_equal(got[COLUMNS].reset_index(drop=True), expected[COLUMNS].reset_index(drop=True),
                                              check_dtype=False)
                want = symbol_performance(expected).reset_index(drop=True)
                pd.testing.assert_frame_equal(book.per_symbol(), want, check_dtype=False)
                newest = small.update(journal, "trips", orders, None)[COLUMNS].tail(3).reset_index(drop=True)
                pd.testing.assert_frame_equal(newest, expected[COLUMNS].tail(3).reset_index(drop=True), check_dtype=False)
                pd.testing.assert_frame_equal(small.per_symbol(), want, check_dtype=False)
        assert book.cursor_seq > 0  # some flat moments were passed: not everything was read again
        assert len(small.closed) <= 3


def test_a_new_session_starts_a_new_book(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        a = ScriptedSession(journal, "a")
        a.trade("SPY", "BUY", 10, 100.0)
        a.trade("SPY", "SELL", 10, 101.0)
        b = ScriptedSession(journal, "b")
        b.trade("SPY", "BUY", 5, 100.0)
        book = RoundTripBook(session_round_trips)
        assert len(book.update(journal, "a", journal.orders("a"), None)) == 1
        assert book.update(journal, "b", journal.orders("b"), None).empty
        assert book.per_symbol().empty
        assert book.update(journal, "a", journal.orders("a"), None)["pnl"].iloc[0] == pytest.approx(10.0)
