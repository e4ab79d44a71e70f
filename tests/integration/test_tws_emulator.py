"""The TWS emulator driven by the real ib_async ``IB()`` client on 127.0.0.1.

Expected behaviour is IB's, as documented by the TWS API reference and recorded in
``../shared/protocols/tws.md`` (checked against ib_async 2.1): the connect sync completes without
timeouts, contracts qualify, quotes reach the ticker, orders go PendingSubmit -> Submitted ->
Filled with execDetails and commissionReport, a cancel answers Cancelled + error 202, a modify
re-uses the order id, a bracket's children wait for the parent's fill, OCA siblings are cancelled,
a reconnect rebuilds fills from reqExecutions, unknown contracts answer error 200, rejected orders
error 201 with the reason, historical requests beyond the pacing limit error 162.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from tws_helpers import make_venue, quote, running, wait_for

from workbench.emulators.tws import TwsFaults
from workbench.emulators.tws.codec import MAGIC, encode, encode_raw

ib_async = pytest.importorskip("ib_async")
IB, Stock = ib_async.IB, ib_async.Stock
LimitOrder, MarketOrder, StopOrder = ib_async.LimitOrder, ib_async.MarketOrder, ib_async.StopOrder


async def connected(port: int, client_id: int = 7) -> object:
    ib = IB()
    await ib.connectAsync("127.0.0.1", port, clientId=client_id, timeout=10)
    return ib


@contextlib.asynccontextmanager
async def client(port: int, client_id: int = 7):
    """An ib_async ``IB()`` connected to the emulator for the block, disconnected after it."""
    ib = await connected(port, client_id)
    try:
        yield ib
    finally:
        ib.disconnect()


@pytest.mark.parametrize("version", [157, 166, 176, 178])
async def test_connect_sync_at_each_server_version(version):
    venue = make_venue()
    async with running(venue, max_version=version) as emu:
        t0 = time.monotonic()
        async with client(emu.port) as ib:
            # the whole startup sync answered: no request waited for its timeout (4 s in ib_async)
            assert time.monotonic() - t0 < 3.0
            assert ib.client.serverVersion() == version
            assert ib.managedAccounts() == ["DU123"]
            assert {v.tag for v in ib.accountValues()} >= {"NetLiquidation", "TotalCashValue"}
            contract = Stock("SPY", "SMART", "USD")
            await ib.qualifyContractsAsync(contract)
            assert contract.conId == 756733
            trade = ib.placeOrder(contract, MarketOrder("BUY", 10, orderRef="O-1"))
            await wait_for(lambda: trade.orderStatus.status == "Submitted", what="submitted")
            quote(venue, 100.00, 100.02)
            await wait_for(lambda: trade.orderStatus.status == "Filled", what="fill")
            assert trade.fills[0].execution.orderRef == "O-1"


async def test_quotes_orders_fills_and_cancel():
    venue = make_venue()
    async with running(venue) as emu, client(emu.port) as ib:
        contract = Stock("SPY", "SMART", "USD")
        await ib.qualifyContractsAsync(contract)
        ticker = ib.reqMktData(contract)
        quote(venue, 100.10, 100.12)
        await wait_for(lambda: ticker.bid == 100.10 and ticker.ask == 100.12, what="quote")
        buy = ib.placeOrder(contract, LimitOrder("BUY", 100, 100.05, orderRef="O-2"))
        await wait_for(lambda: buy.orderStatus.status == "Submitted", what="submitted")
        quote(venue, 100.00, 100.04)  # the ask crosses the limit
        await wait_for(lambda: buy.orderStatus.status == "Filled", what="limit fill")
        assert buy.orderStatus.avgFillPrice == pytest.approx(100.04)
        # IB's fixed rate: USD 0.005/share, at least USD 1 -> USD 1.00 for 100 shares
        await wait_for(lambda: buy.fills and buy.fills[0].commissionReport.commission == 1.0, what="commission")
        await wait_for(lambda: [p.position for p in ib.positions()] == [100.0], what="position")
        rest = ib.placeOrder(contract, LimitOrder("BUY", 10, 90.0))
        await wait_for(lambda: rest.orderStatus.status == "Submitted", what="resting")
        errors = []
        ib.errorEvent += lambda *a: errors.append(a[1])
        ib.cancelOrder(rest.order)
        await wait_for(lambda: rest.orderStatus.status == "Cancelled", what="cancel")
        await wait_for(lambda: 202 in errors, what="error 202")


async def test_modify_by_same_order_id_then_fill_at_new_price():
    venue = make_venue()
    quote(venue, 100.00, 100.02)
    async with running(venue) as emu, client(emu.port) as ib:
        contract = Stock("SPY", "SMART", "USD")
        trade = ib.placeOrder(contract, LimitOrder("BUY", 50, 99.00))
        await wait_for(lambda: trade.orderStatus.status == "Submitted", what="submitted")
        trade.order.lmtPrice = 100.02
        ib.placeOrder(contract, trade.order)
        await wait_for(lambda: next(iter(venue.orders.values())).limit_price == 100.02, what="modify arrived")
        quote(venue, 100.00, 100.02, seconds=2)
        await wait_for(lambda: trade.orderStatus.status == "Filled", what="fill after modify")
        assert trade.order.orderId == trade.orderStatus.orderId
        assert trade.fills[-1].execution.price == pytest.approx(100.02)
        assert len(venue.orders) == 1  # one IB order, modified in place


async def test_bracket_children_wait_for_parent_then_one_cancels_the_other():
    venue = make_venue()
    quote(venue, 100.00, 100.02)
    async with running(venue) as emu, client(emu.port) as ib:
        contract = Stock("SPY", "SMART", "USD")
        parent, take_profit, stop_loss = ib.bracketOrder("BUY", 100, 99.50, 101.00, 98.00)
        trades = [ib.placeOrder(contract, o) for o in (parent, take_profit, stop_loss)]
        await wait_for(lambda: trades[0].orderStatus.status == "Submitted", what="parent live")
        assert trades[2].orderStatus.status in ("PendingSubmit", "PreSubmitted")  # held until the parent fills
        quote(venue, 99.40, 99.48)
        await wait_for(lambda: trades[0].orderStatus.status == "Filled", what="parent fill")
        await wait_for(lambda: trades[1].orderStatus.status == "Submitted", what="take-profit live")
        quote(venue, 101.00, 101.02, seconds=2)
        await wait_for(lambda: trades[1].orderStatus.status == "Filled", what="take-profit fill")
        await wait_for(lambda: trades[2].orderStatus.status == "Cancelled", what="stop-loss cancelled")
        assert venue.positions() == {}


async def test_oca_group_cancels_siblings_on_fill():
    venue = make_venue()
    quote(venue, 100.00, 100.02)
    async with running(venue) as emu, client(emu.port) as ib:
        contract = Stock("SPY", "SMART", "USD")
        orders = ib.oneCancelsAll([LimitOrder("BUY", 10, 99.0), LimitOrder("BUY", 10, 98.0)], "G1", 1)
        trades = [ib.placeOrder(contract, o) for o in orders]
        await wait_for(lambda: all(t.orderStatus.status == "Submitted" for t in trades), what="both live")
        quote(venue, 98.90, 98.95)
        await wait_for(lambda: trades[0].orderStatus.status == "Filled", what="first fill")
        await wait_for(lambda: trades[1].orderStatus.status == "Cancelled", what="sibling cancelled")


async def test_rejection_unknown_contract_and_bad_input():
    venue = make_venue(starting_cash=1_000.0)
    quote(venue, 100.00, 100.02)
    async with running(venue) as emu:
        ib = await connected(emu.port)
        errors: list[tuple[int, int, str]] = []
        ib.errorEvent += lambda req_id, code, msg, contract: errors.append((req_id, code, msg))
        try:
            assert not any(await ib.qualifyContractsAsync(Stock("NOPE", "SMART", "USD")))  # [None] in 2.1
            assert any(code == 200 for _, code, _ in errors)
            contract = Stock("SPY", "SMART", "USD")
            big = ib.placeOrder(contract, LimitOrder("BUY", 1000, 100.0))  # USD 100k with USD 1k cash
            await wait_for(lambda: big.orderStatus.status == "Cancelled", what="rejection")
            rejected = [m for rid, code, m in errors if code == 201 and rid == big.order.orderId]
            assert rejected and "buying power" in rejected[0]
        finally:
            ib.disconnect()
        # malformed input on a raw socket: unknown message id -> 505, unreadable field -> 320
        reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
        writer.write(MAGIC + encode_raw("v157..178") + encode(71, 2, 99, "") + encode(4242, 1)
                     + encode(3, 7, 0, "SPY", "STK", "", 0.0, "", "", "SMART", "", "USD", "", "", "", "", "BUY",
                              "lots", "MKT", *[""] * 60))
        await writer.drain()
        seen = b""
        deadline = time.monotonic() + 10
        while (b"505" not in seen or b"320" not in seen) and time.monotonic() < deadline:
            seen += await asyncio.wait_for(reader.read(65536), 10)
        assert b"Unknown message id 4242" in seen
        assert b"totalQuantity" in seen and b"lots" in seen
        writer.write(b"\xff\xff\xff\xff")  # a frame length beyond the limit: the server hangs up
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()


async def test_reconnect_rebuilds_fills_made_while_disconnected():
    venue = make_venue()
    quote(venue, 100.00, 100.02)
    async with running(venue) as emu:
        ib = await connected(emu.port)
        contract = Stock("SPY", "SMART", "USD")
        trade = ib.placeOrder(contract, LimitOrder("BUY", 30, 99.0, orderRef="O-9"))
        await wait_for(lambda: trade.orderStatus.status == "Submitted", what="submitted")
        emu.drop()
        await wait_for(lambda: not ib.isConnected(), what="drop seen")
        quote(venue, 98.90, 98.95)  # fills while nobody is connected
        ib2 = await connected(emu.port)
        try:
            fills = ib2.fills()
            assert [(f.execution.orderRef, f.execution.shares) for f in fills] == [("O-9", 30.0)]
            assert [p.position for p in ib2.positions()] == [30.0]
            assert [t.orderStatus.status for t in ib2.trades()] == ["Filled"]
        finally:
            ib2.disconnect()


async def test_historical_bars_and_pacing_violation():
    venue = make_venue()
    async with running(venue, faults=TwsFaults(historical_requests_per_10min=2)) as emu:
        ib = await connected(emu.port)
        errors = []
        ib.errorEvent += lambda req_id, code, msg, contract: errors.append(code)
        try:
            contract = Stock("SPY", "SMART", "USD")
            await ib.qualifyContractsAsync(contract)
            bars = await ib.reqHistoricalDataAsync(contract, "", "1800 S", "5 mins", "TRADES", True, 2)
            assert len(bars) == 6
            # the first 5-minute bar aggregates the first five 1-minute bars (see tws_helpers.history)
            assert bars[0].open == pytest.approx(100.0) and bars[0].close == pytest.approx(100.05)
            assert bars[0].volume == pytest.approx(sum(1000 + i for i in range(5)))
            await ib.reqHistoricalDataAsync(contract, "", "600 S", "1 min", "TRADES", True, 2)
            assert 162 not in errors
            assert len(await ib.reqHistoricalDataAsync(contract, "", "600 S", "1 min", "TRADES", True, 2)) == 0
            assert 162 in errors
        finally:
            ib.disconnect()


async def test_client_id_in_use_and_rolled_back_next_valid_id():
    venue = make_venue()
    async with running(venue, faults=TwsFaults(busy_client_ids={7})) as emu:
        errors = []
        ib = IB()
        ib.errorEvent += lambda req_id, code, msg, contract: errors.append(code)
        with pytest.raises((TimeoutError, ConnectionError, asyncio.TimeoutError)):
            await ib.connectAsync("127.0.0.1", emu.port, clientId=7, timeout=2)
        assert 326 in errors
        ib = await connected(emu.port, client_id=8)
        trade = ib.placeOrder(Stock("SPY", "SMART", "USD"), LimitOrder("BUY", 1, 90.0))
        await wait_for(lambda: trade.orderStatus.status == "Submitted", what="submitted")
        used = trade.order.orderId
        ib.disconnect()
        await emu.restart(roll_back_ids_to=1)
        async with client(emu.port, client_id=8) as ib:
            # the restarted gateway hands out id 1 again, but ib_async bumps above its open order's id;
            # a client that trusted nextValidId blindly would reuse ids of completed orders (error 103)
            assert ib.client._reqIdSeq > used
            again = ib.placeOrder(Stock("SPY", "SMART", "USD"), LimitOrder("BUY", 1, 90.0, orderId=used))
            await wait_for(lambda: again.orderStatus.status in ("Submitted", "Cancelled"), what="answer")
            assert len(venue.orders) == 1  # the same id modified the open order, no second order


async def test_unthrottled_client_gets_error_100():
    async with running(faults=TwsFaults(max_messages_per_second=50)) as emu:
        ib = IB()
        ib.client.MaxRequests = 0  # the client's own throttle off: TWS answers error 100
        errors = []
        ib.errorEvent += lambda req_id, code, msg, contract: errors.append(code)
        await ib.connectAsync("127.0.0.1", emu.port, clientId=3, timeout=10)
        try:
            for _ in range(200):
                ib.client.reqCurrentTime()
            await wait_for(lambda: 100 in errors, what="error 100")
        finally:
            ib.disconnect()
