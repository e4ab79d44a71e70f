"""TWS wire format: framing, handshake, field encoding, request parsing, server message field lists.

Independent sources: the byte example of ``tws.md`` section 1 (nextValidId(9) = ``00 00 00 06 39
00 31 00 31 00``), ib_async 2.1's own encoder (``Client.send`` output parsed back by our request
parser) and its own decoder (our server messages decoded into ib_async objects at each version).
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.emulators.tws import messages as m
from workbench.emulators.tws.codec import (
    FrameDecoder,
    ProtocolError,
    encode,
    field_text,
    parse_version_range,
    split_fields,
    to_float,
)
from workbench.emulators.tws.requests import parse_historical_data, parse_market_data, parse_place_order

ib_async = pytest.importorskip("ib_async")


def test_frame_bytes_match_the_documented_example():
    assert m.next_valid_id(1) == bytes.fromhex("00000006 39003100 3100".replace(" ", ""))


@given(st.lists(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",))),
                         min_size=1, max_size=6), min_size=1, max_size=8),
       st.integers(min_value=1, max_value=7))
def test_frames_survive_any_chunking(messages, chunk):
    wire = b"".join(encode(*fields) for fields in messages)
    decoder = FrameDecoder()
    got = []
    for i in range(0, len(wire), chunk):
        got.extend(split_fields(p) for p in decoder.feed(wire[i:i + chunk]))
    assert got == messages and decoder.pending == 0


def test_field_encoding_and_bad_input():
    assert [field_text(v) for v in (None, True, False, 100.0, 150.12, 0.0, 7)] == ["", "1", "0", "100", "150.12", "0", "7"]
    assert field_text(float("inf")) == "1.7976931348623157E308"
    assert parse_version_range("v157..178 +PACEAPI") == (157, 178)
    assert parse_version_range("v176") == (176, 176)
    with pytest.raises(ProtocolError, match="handshake"):
        parse_version_range("hello")
    with pytest.raises(ProtocolError, match="exceeds"):
        list(FrameDecoder().feed(b"\x7f\xff\xff\xff"))
    with pytest.raises(ProtocolError, match="lmtPrice"):
        to_float("abc", "lmtPrice")
    assert to_float("1.7976931348623157E308", "x") is None and to_float("", "x") is None


class _Capture:
    """Stand-in for ib_async's connection: collects the frames its Client sends."""

    def __init__(self):
        self.frames = []

    def sendMsg(self, data):  # noqa: N802 - ib_async's name
        self.frames.append(data)


def _client_fields(call):
    from ib_async.client import Client
    from ib_async.wrapper import Wrapper

    client = Client(Wrapper(ib_async.IB()))
    client._serverVersion = 178
    client.connState = Client.CONNECTED
    client.conn = _Capture()
    client.MaxRequests = 0
    call(client)
    return split_fields(client.conn.frames[-1][4:])


def test_place_order_parsed_from_ib_async_encoding():
    contract = ib_async.Stock("SPY", "SMART", "USD", conId=756733)
    order = ib_async.Order(orderId=42, action="SELL", totalQuantity=150, orderType="STP LMT", lmtPrice=99.5,
                           auxPrice=100.0, tif="GTC", ocaGroup="G", orderRef="O-7", parentId=40, transmit=False,
                           outsideRth=True, ocaType=2)
    req = parse_place_order(_client_fields(lambda c: c.placeOrder(42, contract, order)))
    assert (req.order_id, req.contract.symbol, req.contract.con_id, req.action, req.quantity) == (42, "SPY", 756733,
                                                                                                 "SELL", 150.0)
    assert (req.order_type, req.limit_price, req.aux_price, req.tif) == ("STP LMT", 99.5, 100.0, "GTC")
    assert (req.oca_group, req.oca_type, req.order_ref, req.parent_id, req.transmit, req.outside_rth) == (
        "G", 2, "O-7", 40, False, True)
    trail = ib_async.Order(orderId=43, action="SELL", totalQuantity=1, orderType="TRAIL", trailingPercent=1.5)
    req = parse_place_order(_client_fields(lambda c: c.placeOrder(43, contract, trail)))
    assert (req.order_type, req.trailing_percent, req.limit_price) == ("TRAIL", 1.5, None)


def test_market_and_historical_requests_parsed_from_ib_async_encoding():
    contract = ib_async.Stock("SPY", "SMART", "USD", conId=756733)
    req = parse_market_data(_client_fields(lambda c: c.reqMktData(5, contract, "233,236", False, False, [])))
    assert (req.req_id, req.contract.symbol, req.generic_ticks, req.snapshot) == (5, "SPY", "233,236", False)
    req = parse_historical_data(_client_fields(
        lambda c: c.reqHistoricalData(6, contract, "", "2 D", "5 mins", "TRADES", 1, 2, False, [])))
    assert (req.req_id, req.duration, req.bar_size, req.what_to_show, req.use_rth, req.format_date) == (
        6, "2 D", "5 mins", "TRADES", True, 2)


@pytest.mark.parametrize("version", [157, 163, 166, 170, 176, 177, 178])
def test_server_messages_decode_in_ib_async_at_each_version(version):
    ib = ib_async.IB()
    decoder = ib.client.decoder
    decoder.serverVersion = version
    c = m.ContractInfo(con_id=756733, symbol="SPY", long_name="SPDR S&P 500")
    o = m.OrderRecord(order_id=5, client_id=7, perm_id=5001, contract=c, action="BUY", quantity=100.0,
                      order_type="LMT", limit_price=150.12, aux_price=None, tif="DAY", oca_group="g1", account="DU123",
                      order_ref="O-1", parent_id=3, status="Submitted")

    def feed(frame):
        decoder.interpret(split_fields(frame[4:]))

    feed(m.open_order(version, o))
    [trade] = ib.wrapper.trades.values()
    assert (trade.order.orderRef, trade.order.parentId, trade.order.lmtPrice, trade.order.ocaGroup) == ("O-1", 3, 150.12,
                                                                                                      "g1")
    assert trade.orderStatus.status == "Submitted" and trade.contract.conId == 756733
    x = m.ExecutionRecord(exec_id="0001.01", order=o, time="20131007 13:30:00 UTC", side="BOT", shares=100, price=150.1,
                          cum_qty=100, avg_price=150.1, commission=1.0, ts_ns=0)
    feed(m.exec_details(version, -1, x))
    feed(m.commission_report("0001.01", 1.0))
    [fill] = ib.fills()
    assert (fill.execution.shares, fill.execution.price, fill.commissionReport.commission) == (100.0, 150.1, 1.0)
    assert fill.execution.time.year == 2013
    feed(m.position("DU123", c, -30, 150.0))
    assert [p.position for p in ib.positions()] == [-30.0]
    ib.wrapper._results["completedOrders"] = []
    done = dataclasses.replace(o, perm_id=5002, status="Filled", filled=100.0)
    feed(m.completed_order(version, done))
    assert len(ib.wrapper._results["completedOrders"]) == 1
    errors = []
    ib.errorEvent += lambda *a: errors.append(a[1])
    feed(m.error(version, -1, 2104, "Market data farm connection is OK"))
    assert errors == [2104]
