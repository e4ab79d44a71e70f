"""Alpaca <-> domain mapping on recorded payloads (``/work/shared/protocols/alpaca.md``, captured from
alpaca-py 0.44 on 127.0.0.1), checked against hand-worked values.

* a partial fill books the event's own ``qty``/``price``, never the order's cumulative
  ``filled_qty``/``filled_avg_price`` (Alpaca-API #103, LEAN #4014);
* unknown trade-update events map to nothing (alpaca-py #629);
* replace chains fold into one engine order (alpaca-py #260: client order ids stay unique);
* the request bodies alpaca-py sends for our orders are the ones documented (§3.1).
"""

from __future__ import annotations

import copy

import msgpack
import pytest

pytest.importorskip("alpaca")

from workbench.adapters.alpaca import parsing
from workbench.model import events as ev
from workbench.model.enums import ContingencyType, OrderSide, OrderStatus, OrderType, TimeInForce
from workbench.model.orders import Order

ORDER = {"id": "d22ed108-c496-4899-9f0a-151cf0080f25", "client_order_id": "O-000007",
         "created_at": "2024-01-02T15:30:00.411461Z", "updated_at": "2024-01-02T15:30:00.411461Z",
         "submitted_at": "2024-01-02T15:30:00.411461Z", "filled_at": None, "expired_at": None, "expires_at": None,
         "canceled_at": None, "failed_at": None, "replaced_at": None, "replaced_by": None, "replaces": None,
         "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415", "symbol": "AAPL", "asset_class": "us_equity",
         "notional": None, "qty": "10", "filled_qty": "4", "filled_avg_price": "150.12", "order_class": "",
         "order_type": "limit", "type": "limit", "side": "buy", "position_intent": None, "time_in_force": "day",
         "limit_price": "150.12", "stop_price": None, "status": "partially_filled", "extended_hours": False,
         "legs": None, "trail_percent": None, "trail_price": None, "hwm": None}
PARTIAL = {"event": "partial_fill", "execution_id": "193c49f6-e78c-4645-b58a-fafe9c3e84b5", "order": ORDER,
           "timestamp": "2024-01-02T15:30:01.123456Z", "position_qty": "4", "price": "150.12", "qty": "4"}
NS_1530_01 = 1704209401123456000


def test_a_partial_fill_books_the_execution_not_the_cumulative_fields() -> None:
    data = copy.deepcopy(PARTIAL)
    data["order"]["filled_qty"], data["order"]["filled_avg_price"] = "9", "150.50"  # cumulative, after a 2nd fill
    data["qty"], data["price"] = "5", "150.80"
    event = parsing.update_event(parsing.trade_update(data), "O-000007")
    assert event == ev.OrderFilled(ts_event=NS_1530_01, order_id="O-000007", symbol="AAPL",
                                   fill_id="193c49f6-e78c-4645-b58a-fafe9c3e84b5", side=OrderSide.BUY,
                                   last_quantity=5.0, last_price=150.80)


def test_a_fill_without_its_own_quantity_is_refused() -> None:
    data = copy.deepcopy(PARTIAL)
    del data["qty"]
    with pytest.raises(parsing.ParseError, match="qty/price"):
        parsing.update_event(parsing.trade_update(data), "O-000007")


@pytest.mark.parametrize(("kind", "expected"), [
    ("new", ev.OrderAccepted), ("pending_new", ev.OrderAccepted), ("canceled", ev.OrderCanceled),
    ("expired", ev.OrderExpired), ("done_for_day", ev.OrderExpired), ("rejected", ev.OrderRejected),
    ("order_replace_rejected", ev.OrderModifyRejected), ("order_cancel_rejected", ev.OrderCancelRejected),
    ("replaced", None), ("pending_cancel", None), ("a_new_kind_of_event", None),
])
def test_event_table(kind: str, expected: type | None) -> None:
    data = {**copy.deepcopy(PARTIAL), "event": kind}
    event = parsing.update_event(parsing.trade_update(data), "O-000007")
    assert (None if event is None else type(event)) is expected


def test_invalid_trade_update_names_the_field() -> None:
    data = copy.deepcopy(PARTIAL)
    data["order"]["id"] = "not-a-uuid"
    with pytest.raises(parsing.ParseError, match=r"order\.id"):
        parsing.trade_update(data)


def test_market_data_messages() -> None:
    t = msgpack.Timestamp.from_unix_nano(1704209400123456000)
    q = parsing.quote({"T": "q", "S": "AAPL", "bx": "V", "bp": 150.10, "bs": 3, "ax": "V", "ap": 150.12, "as": 2,
                       "t": t, "c": ["R"], "z": "C"})
    assert (q.symbol, q.bid, q.ask, q.bid_size, q.ask_size, q.ts_event) == ("AAPL", 150.10, 150.12, 3, 2,
                                                                           1704209400123456000)
    b = parsing.bar({"T": "b", "S": "AAPL", "o": 150.0, "h": 150.2, "l": 149.9, "c": 150.11, "v": 12345, "t": t,
                     "n": 120, "vw": 150.05})
    assert (b.ts_event, b.ts_init - b.ts_event) == (1704209400123456000, 60_000_000_000)  # t is the bar's start
    tr = parsing.trade({"T": "t", "S": "AAPL", "i": 52983525029461, "x": "V", "p": 150.11, "s": 100, "t": t})
    assert (tr.price, tr.size) == (150.11, 100)
    with pytest.raises(parsing.ParseError, match="bad quote"):
        parsing.quote({"T": "q", "S": "AAPL", "bp": 1, "bs": 1, "ap": 1, "as": 1, "t": "2024-01-02T15:30:00Z"})


def test_replace_chain_folds_into_one_engine_order() -> None:
    from alpaca.trading.models import Order as AlpacaOrder

    first = AlpacaOrder(**{**ORDER, "status": "replaced", "filled_qty": "4", "filled_avg_price": "150.00",
                           "replaced_by": "e1b7c3a4-0000-4000-8000-000000000001"})
    second = AlpacaOrder(**{**ORDER, "id": "e1b7c3a4-0000-4000-8000-000000000001",
                            "client_order_id": parsing.replacement_id("O-000007", 1), "qty": "8", "filled_qty": "2",
                            "filled_avg_price": "151.50", "status": "partially_filled",
                            "replaces": ORDER["id"], "updated_at": "2024-01-02T15:31:00Z"})
    [report] = parsing.order_status_reports([first, second])
    assert report.order_id == "O-000007" and report.status is OrderStatus.PARTIALLY_FILLED
    assert (report.quantity, report.filled_quantity) == (12.0, 6.0)  # 4 filled before + the new order's 8
    assert report.avg_fill_price == pytest.approx((4 * 150.00 + 2 * 151.50) / 6)
    assert report.broker_order_id == "e1b7c3a4-0000-4000-8000-000000000001"


def test_fill_activity_uses_the_execution_id_and_maps_the_order() -> None:
    activity = {"id": "20240102153001123::193c49f6-e78c-4645-b58a-fafe9c3e84b5", "activity_type": "FILL",
                "transaction_time": "2024-01-02T15:30:01.123456Z", "type": "partial_fill", "price": "150.12",
                "qty": "4", "side": "buy", "symbol": "AAPL", "leaves_qty": "6", "order_id": ORDER["id"],
                "cum_qty": "4", "order_status": "partially_filled"}
    report = parsing.fill_report(activity, {ORDER["id"]: "O-000007"})
    assert (report.fill_id, report.order_id, report.quantity, report.price, report.ts_event) == (
        "193c49f6-e78c-4645-b58a-fafe9c3e84b5", "O-000007", 4.0, 150.12, NS_1530_01)


def _order(order_type: OrderType, **kw) -> Order:
    init = ev.OrderInitialized(ts_event=0, order_id=kw.pop("order_id", "O-000001"), symbol="AAPL",
                               side=kw.pop("side", OrderSide.BUY), order_type=order_type,
                               quantity=kw.pop("quantity", 10.0), time_in_force=kw.pop("tif", TimeInForce.DAY), **kw)
    return Order(init)


def test_request_bodies_are_alpaca_s() -> None:
    body = parsing.order_request(_order(OrderType.LIMIT, limit_price=150.12)).to_request_fields()
    assert body == {"symbol": "AAPL", "qty": 10.0, "side": "buy", "type": "limit", "time_in_force": "day",
                    "client_order_id": "O-000001", "limit_price": 150.12}
    stop = _order(OrderType.STOP, order_id="O-2", side=OrderSide.SELL, stop_price=140.0, tif=TimeInForce.GTC,
                  contingency=ContingencyType.OCO, linked_order_ids=("O-3",))
    take = _order(OrderType.LIMIT, order_id="O-3", side=OrderSide.SELL, limit_price=160.0, tif=TimeInForce.GTC,
                  contingency=ContingencyType.OCO, linked_order_ids=("O-2",))
    oco = parsing.order_request(stop, take_profit=take).to_request_fields()
    assert oco["order_class"] == "oco" and oco["client_order_id"] == "O-3"
    assert oco["take_profit"] == {"limit_price": 160.0} and oco["stop_loss"] == {"stop_price": 140.0}
    moo = parsing.order_request(_order(OrderType.MARKET_ON_OPEN)).to_request_fields()
    assert (moo["type"], moo["time_in_force"]) == ("market", "opg")
    with pytest.raises(parsing.UnsupportedOrder, match="GTD"):
        parsing.order_request(_order(OrderType.MARKET, tif=TimeInForce.GTD))


def test_engine_order_id_of_replacements() -> None:
    assert parsing.engine_order_id(parsing.replacement_id("O-000009", 3)) == "O-000009"
    assert parsing.engine_order_id("O-000009") == "O-000009"
