"""Projection tables after a hand-worked sequence of events (SQLite and PostgreSQL).

Expected values are worked out by hand in the comments and cross-checked against the domain
model's own state machine (:class:`workbench.model.orders.Order`), an independent implementation.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderType, TimeInForce, TradingState
from workbench.model.orders import Order
from workbench.persistence import Journal

S = "SPY"


def _init(ts: int, order_id: str, side: OrderSide, order_type: OrderType, quantity: float, **kw: object) -> ev.OrderInitialized:
    return ev.OrderInitialized(ts_event=ts, order_id=order_id, symbol=S, side=side, order_type=order_type,
                               quantity=quantity, **kw)


def _o(cls: type, ts: int, order_id: str, **kw: object) -> ev.OrderEvent:
    return cls(ts_event=ts, order_id=order_id, symbol=S, **kw)


ORDER_EVENTS: list[ev.OrderEvent] = [
    # o1: limit buy 100 @ 10.00; fill 30 @ 10.00 (comm 0.50); replace to 80 @ 10.50 while partially filled;
    # fill 50 @ 10.30 (comm 0.70) -> FILLED 80, avg (30*10 + 50*10.3) / 80 = 815 / 80 = 10.1875, comm 1.20
    _init(1, "o1", OrderSide.BUY, OrderType.LIMIT, 100.0, limit_price=10.0, strategy_id="sma", tag="entry"),
    _o(ev.OrderSubmitted, 2, "o1"),
    _o(ev.OrderAccepted, 3, "o1", broker_order_id="B-1"),
    _o(ev.OrderFilled, 4, "o1", fill_id="f1", side=OrderSide.BUY, last_quantity=30.0, last_price=10.0, commission=0.5),
    _o(ev.OrderPendingReplace, 5, "o1"),
    _o(ev.OrderModified, 6, "o1", quantity=80.0, limit_price=10.5),
    _o(ev.OrderFilled, 7, "o1", fill_id="f2", side=OrderSide.BUY, last_quantity=50.0, last_price=10.3, commission=0.7),
    # o2: stop sell 50 @ 9; cancel rejected -> back to ACCEPTED; triggered; canceled
    _init(10, "o2", OrderSide.SELL, OrderType.STOP, 50.0, stop_price=9.0, time_in_force=TimeInForce.DAY),
    _o(ev.OrderSubmitted, 11, "o2"),
    _o(ev.OrderAccepted, 12, "o2", broker_order_id="B-2"),
    _o(ev.OrderPendingCancel, 13, "o2"),
    _o(ev.OrderCancelRejected, 14, "o2", reason="too late to cancel"),
    _o(ev.OrderTriggered, 15, "o2"),
    _o(ev.OrderPendingCancel, 16, "o2"),
    _o(ev.OrderCanceled, 17, "o2", reason="user"),
    # o3: denied by risk
    _init(20, "o3", OrderSide.BUY, OrderType.MARKET, 5000.0),
    _o(ev.OrderDenied, 21, "o3", reason="max position 1000 shares exceeded", rule="max_position"),
    # o4: rejected by the broker
    _init(30, "o4", OrderSide.SELL, OrderType.MARKET, 10.0),
    _o(ev.OrderSubmitted, 31, "o4"),
    _o(ev.OrderRejected, 32, "o4", reason="no shares to borrow"),
    # o5: GTD limit; modify rejected -> ACCEPTED with old terms; expired
    _init(40, "o5", OrderSide.BUY, OrderType.LIMIT, 20.0, limit_price=9.5, time_in_force=TimeInForce.GTD,
          expire_time_ns=99),
    _o(ev.OrderSubmitted, 41, "o5"),
    _o(ev.OrderAccepted, 42, "o5"),
    _o(ev.OrderPendingReplace, 43, "o5"),
    _o(ev.OrderModifyRejected, 44, "o5", reason="price outside band"),
    _o(ev.OrderExpired, 45, "o5"),
    # o6: still working, partially filled 4 of 10 @ 10.2
    _init(50, "o6", OrderSide.BUY, OrderType.LIMIT, 10.0, limit_price=10.2),
    _o(ev.OrderSubmitted, 51, "o6"),
    _o(ev.OrderAccepted, 52, "o6"),
    _o(ev.OrderFilled, 53, "o6", fill_id="f3", side=OrderSide.BUY, last_quantity=4.0, last_price=10.2),
]

EXPECTED = {  # order_id: (status, quantity, filled, avg_fill_price, commission, limit, reason, ts_last)
    "o1": ("FILLED", 80.0, 80.0, 10.1875, 1.2, 10.5, "", 7),
    "o2": ("CANCELED", 50.0, 0.0, 0.0, 0.0, None, "user", 17),
    "o3": ("DENIED", 5000.0, 0.0, 0.0, 0.0, None, "max position 1000 shares exceeded", 21),
    "o4": ("REJECTED", 10.0, 0.0, 0.0, 0.0, None, "no shares to borrow", 32),
    "o5": ("EXPIRED", 20.0, 0.0, 0.0, 0.0, 9.5, "price outside band", 45),
    "o6": ("PARTIALLY_FILLED", 10.0, 4.0, 10.2, 0.0, 10.2, "", 53),
}

OTHER_EVENTS: list[ev.Event] = [
    ev.PositionOpened(ts_event=4, symbol=S, quantity=30.0, avg_price=10.0, realized_pnl=-0.5, last_fill_id="f1"),
    ev.PositionChanged(ts_event=7, symbol=S, quantity=80.0, avg_price=10.1875, realized_pnl=-1.2, last_fill_id="f2"),
    ev.PositionOpened(ts_event=8, symbol="QQQ", quantity=-10.0, avg_price=80.0, realized_pnl=0.0),
    ev.PositionClosed(ts_event=9, symbol="QQQ", quantity=0.0, avg_price=0.0, realized_pnl=12.5),
    ev.AccountState(ts_event=8, cash=99_184.0, equity=100_000.0, gross_exposure=816.0, net_exposure=816.0),
    ev.AccountState(ts_event=9, cash=99_200.0, equity=math.nan),
    ev.SignalGenerated(ts_event=1, symbol=S, direction=1, strategy_id="sma", confidence=0.8, entry=10.0, stop=9.0,
                       inputs={"fast": 10.1, "slow": 9.9}),
    ev.RiskEvent(ts_event=60, rule="daily_loss", message="loss 2.1% > 2%", action="halt", value=-2.1, limit=-2.0),
    ev.TradingStateChanged(ts_event=61, state=TradingState.HALTED, reason="daily loss"),
    ev.AlertRaised(ts_event=62, level="critical", title="halted", message="daily loss limit", source="risk"),
]


@pytest.fixture
def filled_journal(journal: Journal) -> tuple[Journal, str]:
    sid = journal.create_session("proj", mode="paper")
    for event in ORDER_EVENTS[:10]:  # single appends, then one batch: both paths must project alike
        journal.append(sid, event)
    journal.append_many(sid, ORDER_EVENTS[10:] + OTHER_EVENTS)
    return journal, sid


def test_orders_projection_matches_hand_worked_values(filled_journal: tuple[Journal, str]) -> None:
    journal, sid = filled_journal
    orders = journal.orders(sid).set_index("order_id")
    assert list(orders.index) == ["o1", "o2", "o3", "o4", "o5", "o6"]  # by ts_init
    for order_id, (status, quantity, filled, avg, commission, limit, reason, ts_last) in EXPECTED.items():
        row = orders.loc[order_id]
        assert row["status"] == status, order_id
        assert row["quantity"] == quantity and row["filled_quantity"] == filled, order_id
        assert row["avg_fill_price"] == pytest.approx(avg, abs=1e-12), order_id
        assert row["commission"] == pytest.approx(commission, abs=1e-12), order_id
        assert (None if pd.isna(row["limit_price"]) else row["limit_price"]) == limit, order_id
        assert row["reason"] == reason and row["ts_last"].value == ts_last, order_id
    assert orders.loc["o2", "stop_price"] == 9.0 and orders.loc["o2", "time_in_force"] == "DAY"
    assert orders.loc["o1", "broker_order_id"] == "B-1" and orders.loc["o1", "tag"] == "entry"
    assert orders.loc["o1", "ts_init"] == pd.Timestamp(1, unit="ns", tz="UTC")
    assert list(journal.orders(sid, status=["PARTIALLY_FILLED", "ACCEPTED"]).order_id) == ["o6"]


def test_orders_projection_agrees_with_the_order_state_machine(filled_journal: tuple[Journal, str]) -> None:
    journal, sid = filled_journal
    models: dict[str, Order] = {}
    for event in ORDER_EVENTS:
        if isinstance(event, ev.OrderInitialized):
            models[event.order_id] = Order.from_initialized(event)
        else:
            models[event.order_id].apply(event)
    orders = journal.orders(sid).set_index("order_id")
    for order_id, model in models.items():
        row = orders.loc[order_id]
        assert row["status"] == model.status.value, order_id
        assert row["filled_quantity"] == pytest.approx(model.filled_quantity)
        assert row["avg_fill_price"] == pytest.approx(model.avg_fill_price)
        assert row["commission"] == pytest.approx(model.commission)
        assert row["quantity"] == model.quantity and row["ts_last"].value == model.ts_last


def test_fills_positions_and_the_rest(filled_journal: tuple[Journal, str]) -> None:
    journal, sid = filled_journal
    fills = journal.fills(sid)
    assert list(fills.fill_id) == ["f1", "f2", "f3"]
    assert list(fills.quantity) == [30.0, 50.0, 4.0] and list(fills.price) == [10.0, 10.3, 10.2]
    assert list(fills.side) == ["BUY"] * 3 and fills.commission.sum() == pytest.approx(1.2)
    assert list(journal.fills(sid, limit=2).fill_id) == ["f2", "f3"]  # the latest two, oldest first

    positions = journal.positions(sid).set_index("symbol")
    assert positions.loc[S, ["quantity", "avg_price", "realized_pnl"]].tolist() == [80.0, 10.1875, -1.2]
    assert positions.loc[S, "status"] == "open" and positions.loc[S, "ts_opened"].value == 4
    assert positions.loc["QQQ", "status"] == "closed" and positions.loc["QQQ", "realized_pnl"] == 12.5
    assert list(journal.positions(sid, open_only=True).symbol) == [S]

    equity = journal.equity(sid)
    assert list(equity.cash) == [99_184.0, 99_200.0] and equity.equity.iloc[0] == 100_000.0
    assert math.isnan(equity.equity.iloc[1])  # NaN (NULL in SQLite) -> NaN in the frame

    signals = journal.signals(sid)
    assert signals.loc[0, "inputs"] == {"fast": 10.1, "slow": 9.9} and signals.loc[0, "direction"] == 1
    assert math.isnan(signals.loc[0, "target"]) and signals.loc[0, "stop"] == 9.0

    risk = journal.risk_events(sid)
    assert list(risk.kind) == ["order_denied", "risk", "trading_state"]
    assert risk.loc[0, "order_id"] == "o3" and risk.loc[0, "rule"] == "max_position"
    assert risk.loc[1, "value"] == -2.1 and risk.loc[1, "limit"] == -2.0
    assert risk.loc[2, "state"] == "HALTED"

    alerts = journal.alerts(sid)
    assert alerts.loc[0, ["level", "title", "source"]].tolist() == ["critical", "halted", "risk"]


def test_empty_frames_keep_their_columns(journal: Journal) -> None:
    sid = journal.create_session(mode="paper")
    assert {"order_id", "status", "avg_fill_price"} <= set(journal.orders(sid).columns)
    assert journal.fills(sid).empty and "fill_id" in journal.fills(sid).columns


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_batch_boundaries_do_not_change_the_projection(journal: Journal, chunk: int) -> None:
    """Orders and positions are folded in memory per batch: any split of the stream gives the same rows."""
    stream = ORDER_EVENTS + OTHER_EVENTS
    reference = journal.create_session("one-by-one", mode="paper")
    split = journal.create_session("split", mode="paper")
    for event in stream:
        journal.append(reference, event)
    for start in range(0, len(stream), chunk):
        journal.append_many(split, stream[start : start + chunk])
    for frame in ("orders", "positions"):
        expected = getattr(journal, frame)(reference).drop(columns="session_id")
        actual = getattr(journal, frame)(split).drop(columns="session_id")
        pd.testing.assert_frame_equal(actual, expected)


def test_orphan_order_events_and_duplicate_orders(journal: Journal, caplog: pytest.LogCaptureFixture) -> None:
    from workbench.errors import JournalError

    sid = journal.create_session(mode="paper")
    journal.append(sid, _o(ev.OrderCanceled, 1, "ghost", reason="reconciled"))  # journaled, not projected
    assert "no OrderInitialized" in caplog.text
    assert journal.orders(sid).empty and journal.last_seq(sid) == 1
    init = _init(2, "o1", OrderSide.BUY, OrderType.MARKET, 1.0)
    with pytest.raises(JournalError, match="duplicate OrderInitialized for order 'o1'"):
        journal.append_many(sid, [init, _o(ev.OrderSubmitted, 3, "o1"), init])
    assert journal.last_seq(sid) == 1 and journal.orders(sid).empty  # the whole batch was rolled back
