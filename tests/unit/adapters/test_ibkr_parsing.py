"""IB adapter's pure parts: parsing on recorded TWS messages, config, ids, pacing, bar aggregation.

Recorded messages are the field lists of ``tws.md`` section 7 (a real ib_async session against a
fake TWS), decoded by ib_async's own decoder into its objects before our mapping sees them. Rules
checked against IB's documentation: execution corrections differ only after the last period of
the execId; codes 2100-2199 and 10349 are informational; IB's historical pacing is 60 requests per
10 minutes; real-time bars are 5 s. Aggregation is checked against pandas' resample.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

pytest.importorskip("ib_async")

from workbench.adapters.ibkr import parsing
from workbench.adapters.ibkr.config import IbkrConfig
from workbench.adapters.ibkr.connection import HistoricalPacer
from workbench.adapters.ibkr.data import BarAggregator, _timeframe_seconds
from workbench.adapters.ibkr.ids import OrderIdAllocator
from workbench.adapters.ibkr.parsing import ErrorKind
from workbench.model import events as ev
from workbench.model.data import Bar
from workbench.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce, TrailingOffsetType
from workbench.model.orders import Order

# tws.md section 7, a partial fill of order 5 (permId 5001, client 7): execDetails and commissionReport
EXEC_DETAILS = ["11", "-1", "5", "265598", "AAPL", "STK", "", "0", "", "", "SMART", "USD", "AAPL", "NMS",
                "0000e0d5.659c1c2b.01.01", "20240102 15:30:00 UTC", "DU123", "ISLAND", "BOT", "50", "150.12", "5001",
                "7", "0", "50", "150.12", "O-1", "", "", "", "2", "0"]
COMMISSION = ["59", "1", "0000e0d5.659c1c2b.01.01", "1.0", "USD", "1.7976931348623157E308",
              "1.7976931348623157E308", ""]
POSITION = ["61", "3", "DU123", "265598", "AAPL", "STK", "", "0", "", "", "SMART", "USD", "AAPL", "NMS", "50", "150.12"]


def _decoded():
    import ib_async

    ib = ib_async.IB()
    ib.client.decoder.serverVersion = 178
    for fields in (COMMISSION, EXEC_DETAILS, POSITION):
        ib.client.decoder.interpret(list(fields))
    return ib


def _order(order_type: OrderType, **kw) -> Order:
    return Order(ev.OrderInitialized(ts_event=0, order_id="O-1", symbol="AAPL", side=kw.pop("side", OrderSide.SELL),
                                     order_type=order_type, quantity=100, **kw))


def test_recorded_execution_maps_to_one_fill_of_its_own_quantity():
    ib = _decoded()
    [fill] = ib.fills()
    event = parsing.fill_event("O-1", "AAPL", fill.execution, fill.commissionReport)
    assert (event.side, event.last_quantity, event.last_price) == (OrderSide.BUY, 50.0, 150.12)
    assert event.fill_id == "0000e0d5.659c1c2b.01"
    assert event.ts_event == int(dt.datetime(2024, 1, 2, 15, 30, tzinfo=dt.UTC).timestamp()) * 10**9
    report = parsing.fill_report("O-1", "AAPL", fill.execution, fill.commissionReport)
    assert (report.order_id, report.quantity, report.commission) == ("O-1", 50.0, 0.0)  # report preceded: ib_async lost it
    [position] = ib.positions()
    assert parsing.position_report(position, 1) .quantity == 50.0


def test_execution_corrections_share_a_key():
    assert parsing.execution_key("0000e0d5.659c1c2b.01.01") == parsing.execution_key("0000e0d5.659c1c2b.01.02")
    assert parsing.execution_key("0000e0d5.659c1c2b.01.01") != parsing.execution_key("0000e0d5.659c1c2c.01.01")


@pytest.mark.parametrize(("order_type", "kw", "expected"), [
    (OrderType.MARKET, {"time_in_force": TimeInForce.DAY}, {"orderType": "MKT", "tif": "DAY"}),
    (OrderType.LIMIT, {"limit_price": 10.5}, {"orderType": "LMT", "lmtPrice": 10.5}),
    (OrderType.STOP, {"stop_price": 9.0}, {"orderType": "STP", "auxPrice": 9.0}),
    (OrderType.STOP_LIMIT, {"stop_price": 9.0, "limit_price": 8.9}, {"orderType": "STP LMT", "auxPrice": 9.0,
                                                                    "lmtPrice": 8.9}),
    (OrderType.TRAILING_STOP, {"trailing_offset": 0.5, "trailing_offset_type": TrailingOffsetType.PRICE},
     {"orderType": "TRAIL", "auxPrice": 0.5}),
    (OrderType.TRAILING_STOP, {"trailing_offset": 0.02, "trailing_offset_type": TrailingOffsetType.PERCENT},
     {"orderType": "TRAIL", "trailingPercent": 2.0}),
    (OrderType.MARKET_ON_CLOSE, {}, {"orderType": "MOC"}),
    (OrderType.MARKET_ON_OPEN, {}, {"orderType": "MKT", "tif": "OPG"}),
    (OrderType.LIMIT, {"limit_price": 10.0, "time_in_force": TimeInForce.GTC}, {"tif": "GTC"}),
    (OrderType.LIMIT, {"limit_price": 10.0, "time_in_force": TimeInForce.GTD, "expire_time_ns": 1_704_209_400 * 10**9},
     {"tif": "GTD", "goodTillDate": "20240102 15:30:00 UTC"}),
])
def test_orders_map_to_ib_fields(order_type, kw, expected):
    o = parsing.to_ib_order(_order(order_type, **kw), 17, oca_group="G", oca_type=1)
    assert (o.orderId, o.action, o.totalQuantity, o.orderRef, o.ocaGroup, o.ocaType) == (17, "SELL", 100.0, "O-1", "G", 1)
    for key, value in expected.items():
        assert getattr(o, key) == value, key


def test_statuses_errors_and_reasons():
    assert parsing.order_status("PreSubmitted") is OrderStatus.ACCEPTED
    assert parsing.order_status("Cancelled") is OrderStatus.CANCELED
    assert parsing.order_status("Inactive") is OrderStatus.REJECTED
    assert parsing.order_status("ValidationError") is None
    kinds = {code: parsing.classify_error(code, msg) for code, msg in [
        (2104, ""), (2106, ""), (2158, ""), (10349, ""), (1100, ""), (1101, ""), (1102, ""), (201, ""), (202, ""),
        (326, ""), (100, ""), (200, ""), (103, ""), (399, ""), (504, "")]}
    assert kinds == {2104: ErrorKind.INFO, 2106: ErrorKind.INFO, 2158: ErrorKind.INFO, 10349: ErrorKind.INFO,
                     1100: ErrorKind.CONNECTIVITY_LOST, 1101: ErrorKind.RESTORED_DATA_LOST, 1102: ErrorKind.RESTORED,
                     201: ErrorKind.REJECTED, 202: ErrorKind.CANCELED, 326: ErrorKind.CLIENT_ID_IN_USE,
                     100: ErrorKind.PACING, 200: ErrorKind.NO_CONTRACT, 103: ErrorKind.DUPLICATE_ORDER_ID,
                     399: ErrorKind.WARNING, 504: ErrorKind.ERROR}
    assert parsing.classify_error(162, "Historical data request pacing violation") is ErrorKind.PACING
    assert parsing.classify_error(162, "HMDS query returned no data") is ErrorKind.ERROR
    assert parsing.rejection_reason(201, "Order rejected - reason:insufficient buying power") == \
        "IB 201: insufficient buying power"


def test_market_data_mapping():
    import types

    ticker = types.SimpleNamespace(bid=-1.0, ask=10.0, bidSize=0.0, askSize=5.0)
    assert parsing.quote_tick("X", ticker, 1) is None  # IB's -1 = no bid
    assert parsing.book_quote("X", [9.99, 10.01, 100.0, 200.0], 5).mid == pytest.approx(10.0)
    assert [parsing.bar_size_setting(s) for s in (5, 60, 300, 3600, 7200, 86_400)] == [
        "5 secs", "1 min", "5 mins", "1 hour", "2 hours", "1 day"]
    assert [_timeframe_seconds(t) for t in ("1Min", "5Min", "1Hour", "1Day")] == [60, 300, 3600, 86_400]
    with pytest.raises(ValueError, match="timeframe"):
        _timeframe_seconds("fortnight")


def test_config_guards_paper_and_live_ports():
    assert IbkrConfig().resolved_port == 7497
    assert IbkrConfig(application="gateway").resolved_port == 4002
    assert IbkrConfig(paper=False, application="gateway").resolved_port == 4001
    with pytest.raises(ValidationError, match="7496 is IB's live port"):
        IbkrConfig(port=7496)
    with pytest.raises(ValidationError, match="paper port"):
        IbkrConfig(port=4002, paper=False)
    with pytest.raises(ValidationError, match="multiple of 5"):
        IbkrConfig(bar_seconds=62)


def test_order_ids_never_go_back():
    ids = OrderIdAllocator()
    ids.observe(10)
    assert [ids.take(), ids.take()] == [10, 11]
    ids.observe(1)  # a gateway restart rolled nextValidId back
    assert ids.take() == 12 and ids.rollbacks == 1
    saved = ids.snapshot()
    fresh = OrderIdAllocator()
    fresh.restore(saved)
    fresh.observe(1)
    assert fresh.take() > 12


def test_historical_pacer_waits_for_the_oldest_request_to_leave_the_window():
    pacer = HistoricalPacer(limit=3, window=600.0)
    pacer._sent.extend([0.0, 100.0, 200.0])
    assert pacer.delay(now=250.0) == pytest.approx(350.0)  # the request at t=0 leaves at t=600
    assert pacer.delay(now=600.0) == 0.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 180), st.floats(90, 110), st.floats(0, 2), st.floats(0, 1000)),
                min_size=1, max_size=60, unique_by=lambda t: t[0]), st.sampled_from([60, 300]))
def test_bar_aggregation_equals_pandas_resample(rows, seconds):
    rows = sorted(rows)
    base = 1_381_152_600 * 10**9
    five = [Bar("SPY", p, p + r, p - r, p + r / 2, v, base + k * 5 * 10**9, base + (k + 1) * 5 * 10**9)
            for k, p, r, v in rows]
    agg = BarAggregator("SPY", seconds)
    got = [b for bar in five for b in agg.add(bar)]
    if agg._start is not None:
        got.append(agg._flush())
    frame = pd.DataFrame({"open": [b.open for b in five], "high": [b.high for b in five], "low": [b.low for b in five],
                          "close": [b.close for b in five], "volume": [b.volume for b in five]},
                         index=pd.to_datetime([b.ts_event for b in five], utc=True))
    expected = frame.resample(f"{seconds}s").agg({"open": "first", "high": "max", "low": "min", "close": "last",
                                                  "volume": "sum"}).dropna()
    assert [b.ts_event for b in got] == [int(t.value) for t in expected.index]
    for b, (_, row) in zip(got, expected.iterrows(), strict=True):
        assert (b.open, b.high, b.low, b.close) == pytest.approx((row.open, row.high, row.low, row.close))
        assert b.volume == pytest.approx(row.volume)
        assert b.ts_init - b.ts_event == seconds * 10**9


def test_emulator_fault_specs():
    from workbench.emulators.tws.cli import parse_faults
    from workbench.errors import ConfigError

    faults = parse_faults(["busy_client_id=1", "info_storm=5", "commission_first", "max-messages-per-second=50"])
    assert (faults.busy_client_ids, faults.info_storm, faults.commission_first, faults.max_messages_per_second) == (
        {1}, 5, True, 50)
    with pytest.raises(ConfigError, match="unknown fault"):
        parse_faults(["nope"])
    with pytest.raises(ConfigError, match="info_storm needs a int"):
        parse_faults(["info_storm=lots"])
