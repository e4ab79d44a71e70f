"""Matching by time and the explanations of mismatches, on hand-made events."""

from __future__ import annotations

import pandas as pd

from workbench.analytics.matching import MismatchContext, match_by_sequence, match_by_time
from workbench.analytics.session_frames import run_record
from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderType, TradingState

SECOND = 1_000_000_000


def test_match_by_time_pairs_within_tolerance_and_in_order():
    live = pd.DataFrame({"symbol": ["A", "A", "A", "B"], "ts": [10, 20, 50, 10]})
    backtest = pd.DataFrame({"symbol": ["A", "A", "B", "B"], "ts": [11, 40, 10, 12]})
    assert match_by_time(live, backtest, ["symbol"], "ts", tolerance=0) == [
        (0, None), (None, 0), (1, None), (None, 1), (2, None), (3, 2), (None, 3)]
    assert match_by_time(live, backtest, ["symbol"], "ts", tolerance=1) == [
        (0, 0), (1, None), (None, 1), (2, None), (3, 2), (None, 3)]
    # equal timestamps pair in their original order
    same = pd.DataFrame({"symbol": ["A", "A"], "ts": [5, 5]})
    assert match_by_time(same, same, ["symbol"], "ts") == [(0, 0), (1, 1)]


def _order_events(order_id: str, ts: int, price: float, side: OrderSide = OrderSide.BUY) -> list[ev.Event]:
    return [
        ev.OrderInitialized(ts_event=ts, order_id=order_id, symbol="SPY", side=side, order_type=OrderType.MARKET,
                            quantity=100, strategy_id="S"),
        ev.OrderSubmitted(ts_event=ts, order_id=order_id, symbol="SPY"),
        ev.OrderAccepted(ts_event=ts, order_id=order_id, symbol="SPY"),
        ev.OrderFilled(ts_event=ts + SECOND, order_id=order_id, symbol="SPY", fill_id=f"F{order_id}", side=side,
                       last_quantity=100, last_price=price, commission=1.0),
    ]


def test_run_record_extracts_orders_fills_and_controls():
    events = [
        ev.SignalGenerated(ts_event=0, symbol="SPY", direction=1, entry=100.0),
        *_order_events("O1", 0, 100.5),
        ev.CommandReceived(ts_event=5 * SECOND, command_id=1, name="pause"),
        ev.TradingStateChanged(ts_event=6 * SECOND, state=TradingState.HALTED, reason="kill switch"),
        ev.AccountState(ts_event=7 * SECOND, cash=1.0, equity=99_999.0),
    ]
    record = run_record(events)
    order = record.orders.iloc[0]
    assert order["status"] == "FILLED" and order["ts_submitted"] == 0 and order["ts_first_fill"] == SECOND
    assert record.fills.iloc[0]["price"] == 100.5 and record.fills.iloc[0]["fill_number"] == 1
    assert list(record.controls["name"]) == ["pause", "HALTED"]
    assert record.final_equity == 99_999.0 and record.commissions == 1.0
    assert record.position_before("SPY", SECOND) == 0 and record.position_before("SPY", SECOND + 1) == 100


def test_explanations_name_pause_halt_restart_and_positions():
    live = run_record([
        *_order_events("O1", 0, 100.0),
        ev.CommandReceived(ts_event=10 * SECOND, command_id=1, name="pause"),
        ev.CommandReceived(ts_event=20 * SECOND, command_id=2, name="resume"),
        ev.SessionStarted(ts_event=30 * SECOND, session_id="s", mode="paper", resumed=True),
        ev.TradingStateChanged(ts_event=40 * SECOND, state=TradingState.HALTED, reason="kill switch"),
    ])
    backtest = run_record([])
    ctx = MismatchContext(live, backtest, data_start=0, data_end=100 * SECOND)
    assert "paused since" in ctx.explain("SPY", 15 * SECOND, "missing")
    assert "paused" not in ctx.explain("SPY", 25 * SECOND, "missing")
    assert "restart" in ctx.explain("SPY", 35 * SECOND, "missing")
    assert "HALTED (kill switch)" in ctx.explain("SPY", 45 * SECOND, "missing", order={"strategy_id": "S"})
    assert "positions differed" in ctx.explain("SPY", 15 * SECOND, "missing")
    assert "outside the recorded data" in ctx.explain("SPY", 200 * SECOND, "extra")
    assert "control command" in ctx.explain("SPY", 45 * SECOND, "extra", order={"strategy_id": "", "tag": "flatten"})
    assert ctx.explain("SPY", 15 * SECOND, "matched") == ""
    quiet = MismatchContext(run_record([]), run_record([]))
    assert quiet.explain("SPY", 0, "missing").startswith("no cause found")


def test_match_by_sequence_aligns_content_not_time():
    """The live run has one more entry/exit pair (positions 2 and 3); times are not comparable."""
    live = pd.DataFrame({"symbol": "A", "ts": [100, 200, 300, 400, 500, 600], "direction": [1, 0, 1, -1, 1, 0]})
    backtest = pd.DataFrame({"symbol": "A", "ts": [1, 2, 5, 6], "direction": [1, 0, 1, 0]})
    pairs = match_by_sequence(live, backtest, ["symbol"], "ts", ["direction"])
    matched = sorted(p for p in pairs if None not in p)
    assert len(matched) == 4 and [j for _, j in matched] == [0, 1, 2, 3]
    assert all(live["direction"][i] == backtest["direction"][j] for i, j in matched)
    assert [i for i, _ in matched] == sorted(i for i, _ in matched)  # order preserved
    assert len([i for i, j in pairs if j is None]) == 2 and all(i is not None for i, _ in pairs)
