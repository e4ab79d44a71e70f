"""The IB adapter (execution and data clients over one ib_async ``IB``) against the TWS emulator.

Every fault of the issue is injected and checked against the contract (adapters/base.py, DESIGN
rules 5 and 7): no fill lost or booked twice, no order left unknown, informational codes change
nothing (ib_async #191), commission reports before their execution still count (rust-ibapi #788),
fills made while disconnected come back in the reconnect's reports (LEAN IB #249), order ids
never go back after a gateway restart (ib_insync #644), a client id in use moves to the next one
(error 326), and the client's own pacing keeps TWS's 50 messages/s and historical limits.
"""

from __future__ import annotations

import asyncio

import pytest
from tws_helpers import make_venue, quote, running, wait_for

pytest.importorskip("ib_async")

from workbench.adapters.base import BrokerReports, ConnectionState
from workbench.adapters.ibkr.config import IbkrConfig
from workbench.adapters.ibkr.connection import IbkrConnection
from workbench.adapters.ibkr.execution import IbkrExecutionClient
from workbench.emulators.tws import TwsFaults
from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderType, TimeInForce
from workbench.model.orders import Order

_seq = iter(range(1, 10_000))


def order(side: str = "BUY", quantity: float = 100, order_type: OrderType = OrderType.MARKET, **kw) -> Order:
    n = next(_seq)
    init = ev.OrderInitialized(ts_event=0, order_id=f"O-{n}", symbol="SPY", side=OrderSide(side),
                               order_type=order_type, quantity=quantity, time_in_force=kw.pop("tif", TimeInForce.DAY),
                               **kw)
    return Order(init)


def config(port: int, **kw) -> IbkrConfig:
    return IbkrConfig(port=port, client_id=kw.pop("client_id", 1), connect_timeout=5.0,
                      reconnect_delays=(0.05, 0.2), **kw)


class Harness:
    """An execution client bound to a list (the runner's queue in a session)."""

    def __init__(self, port: int, **kw) -> None:
        self.connection = IbkrConnection(config(port, **kw.pop("config", {})))
        self.client = IbkrExecutionClient(self.connection, health_interval=None, **kw)
        self.items: list[object] = []
        self.client.bind(self.items.append)

    async def __aenter__(self) -> Harness:
        self.client.start()
        await self.client.wait_connected(10)
        await wait_for(lambda: self.reports, what="connect reports")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.stop()
        await self.connection.disconnect()

    @property
    def reports(self) -> list[BrokerReports]:
        return [i for i in self.items if isinstance(i, BrokerReports)]

    def events(self, kind: type, order_id: str | None = None) -> list:
        return [i for i in self.items if type(i) is kind and (order_id is None or i.order_id == order_id)]

    def submit(self, o: Order) -> Order:
        self.client.submit_order(o)
        return o


async def test_market_order_accepted_and_filled_once_with_commission():
    venue = make_venue()
    async with running(venue) as emu, Harness(emu.port) as h:
        o = h.submit(order())
        await wait_for(lambda: h.events(ev.OrderAccepted, o.order_id), what="accepted")
        quote(venue, 100.00, 100.02)
        await wait_for(lambda: h.events(ev.OrderFilled, o.order_id), what="fill")
        [fill] = h.events(ev.OrderFilled, o.order_id)
        assert (fill.side, fill.last_quantity, fill.last_price) == (OrderSide.BUY, 100.0, 100.02)
        assert fill.commission == pytest.approx(1.0)  # IB fixed: max(100 x 0.005, 1.00)
        [accepted] = h.events(ev.OrderAccepted, o.order_id)
        assert accepted.broker_order_id == str(next(iter(venue.orders)))  # IB's permId
        assert next(iter(venue.orders.values())).order_ref == o.order_id  # our id travels as orderRef


async def test_cancel_modify_and_rejection_with_ib_reason():
    venue = make_venue(starting_cash=20_000.0)
    quote(venue, 100.00, 100.02)
    async with running(venue) as emu, Harness(emu.port) as h:
        rest = h.submit(order(quantity=10, order_type=OrderType.LIMIT, limit_price=95.0))
        await wait_for(lambda: h.events(ev.OrderAccepted, rest.order_id), what="accepted")
        h.client.modify_order(rest.order_id, limit_price=96.0)
        await wait_for(lambda: h.events(ev.OrderModified, rest.order_id), what="modified")
        assert h.events(ev.OrderModified, rest.order_id)[0].limit_price == 96.0
        h.client.cancel_order(rest.order_id)
        await wait_for(lambda: h.events(ev.OrderCanceled, rest.order_id), what="canceled")
        await asyncio.sleep(0.2)
        assert len(h.events(ev.OrderCanceled, rest.order_id)) == 1  # orderStatus + error 202: one event
        big = h.submit(order(quantity=1000, order_type=OrderType.LIMIT, limit_price=100.0))
        await wait_for(lambda: h.events(ev.OrderRejected, big.order_id), what="rejected")
        reason = h.events(ev.OrderRejected, big.order_id)[0].reason
        assert reason.startswith("IB 201:") and "buying power" in reason


async def test_informational_error_storm_changes_nothing():
    venue = make_venue()
    quote(venue, 100.00, 100.02)
    async with running(venue, faults=TwsFaults(info_storm=6)) as emu, Harness(emu.port) as h:
        o = h.submit(order(order_type=OrderType.LIMIT, limit_price=99.0))
        await wait_for(lambda: h.events(ev.OrderAccepted, o.order_id), what="accepted")
        await wait_for(lambda: h.connection.info.errors[10349] >= 1, what="10349 on the order")
        await asyncio.sleep(0.2)
        assert not h.events(ev.OrderCanceled) and not h.events(ev.OrderRejected)
        quote(venue, 98.90, 98.95)
        await wait_for(lambda: h.events(ev.OrderFilled, o.order_id), what="fill of a live order")
        assert h.connection.info.informational >= 6


async def test_duplicate_exec_details_corrections_and_commission_first():
    venue = make_venue()
    quote(venue, 100.00, 100.02)
    faults = TwsFaults(duplicate_exec_details=True, correct_exec_details=True, commission_first=True)
    async with running(venue, faults=faults) as emu, Harness(emu.port) as h:
        o = h.submit(order(quantity=400))
        await wait_for(lambda: h.events(ev.OrderAccepted, o.order_id), what="accepted")
        quote(venue, 100.00, 100.02)
        await wait_for(lambda: h.events(ev.OrderFilled, o.order_id), what="fill")
        await asyncio.sleep(0.3)
        fills = h.events(ev.OrderFilled, o.order_id)
        assert len(fills) == 1
        assert fills[0].commission == pytest.approx(2.0)  # 400 x 0.005, reported before the execution


async def test_drop_without_and_with_fills_in_flight():
    venue = make_venue()
    quote(venue, 100.00, 100.02)
    faults = TwsFaults()
    async with running(venue, faults=faults) as emu, Harness(emu.port) as h:
        first = h.submit(order(quantity=10, order_type=OrderType.LIMIT, limit_price=99.0))
        second = h.submit(order(quantity=20, order_type=OrderType.LIMIT, limit_price=98.0))
        await wait_for(lambda: h.events(ev.OrderAccepted, second.order_id), what="accepted")
        emu.drop()  # no fills in flight
        await wait_for(lambda: len(h.reports) == 2 and h.client.state is ConnectionState.CONNECTED, what="reconnect")
        assert {r.order_id for r in h.reports[-1].orders} >= {first.order_id, second.order_id}
        faults.drop_on_next_fill = True
        quote(venue, 98.90, 98.95)  # fills `first`; the socket drops before its messages go out
        await wait_for(lambda: len(h.reports) == 3, what="second reconnect")
        recovered = [f for f in h.reports[-1].fills if f.order_id == first.order_id]
        assert [(f.quantity, f.price) for f in recovered] == [(10.0, 98.95)]
        await asyncio.sleep(0.3)
        assert not h.events(ev.OrderFilled, first.order_id)  # the engine books it from the reports, once
        h.client.cancel_order(second.order_id)  # still known after two reconnects
        await wait_for(lambda: h.events(ev.OrderCanceled, second.order_id), what="cancel after reconnect")
        statuses = [s.status for s in h.reports[-1].orders if s.order_id == first.order_id]
        assert [str(s) for s in statuses] == ["FILLED"]


async def test_restart_with_rolled_back_next_valid_id_never_reuses_an_id():
    venue = make_venue()
    quote(venue, 100.00, 100.02)
    async with running(venue) as emu, Harness(emu.port) as h:
        a = h.submit(order(quantity=1))
        await wait_for(lambda: h.events(ev.OrderAccepted, a.order_id), what="accepted")
        quote(venue, 100.00, 100.02)
        await wait_for(lambda: h.events(ev.OrderFilled, a.order_id), what="fill")
        used = max(o.order_id for o in venue.orders.values())
        await emu.restart(roll_back_ids_to=1)  # TWS's nightly restart, losing its id counter
        await wait_for(lambda: len(h.reports) == 2 and h.client.state is ConnectionState.CONNECTED, what="reconnect")
        b = h.submit(order(quantity=1))
        await wait_for(lambda: h.events(ev.OrderAccepted, b.order_id) or h.events(ev.OrderRejected, b.order_id),
                       what="answer")
        assert h.events(ev.OrderAccepted, b.order_id), h.events(ev.OrderRejected, b.order_id)
        assert max(o.order_id for o in venue.orders.values()) > used
        assert h.client.order_ids.rollbacks >= 1
        # what the journal checkpoint keeps: an id above everything sent
        assert h.client.snapshot()["ibkr"]["next_order_id"] > max(o.order_id for o in venue.orders.values())


async def test_client_id_in_use_moves_to_the_next_id_quickly():
    venue = make_venue()
    async with running(venue, faults=TwsFaults(busy_client_ids={1})) as emu:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with Harness(emu.port) as h:
            assert h.connection.client_id == 2
            assert h.connection.info.client_id_rejections == 1
            assert loop.time() - t0 < 4.0  # no connect timeout (5 s) waited for


async def test_external_orders_are_reported_with_their_own_ids():
    import ib_async

    venue = make_venue()
    quote(venue, 100.00, 100.02)
    async with running(venue) as emu, Harness(emu.port) as h:
        other = ib_async.IB()
        await other.connectAsync("127.0.0.1", emu.port, clientId=9, timeout=5)
        try:
            trade = other.placeOrder(ib_async.Stock("SPY", "SMART", "USD"), ib_async.MarketOrder("SELL", 5))
            await wait_for(lambda: trade.orderStatus.status == "Submitted", what="external order live")
            quote(venue, 100.00, 100.02)
            await wait_for(lambda: trade.orderStatus.status == "Filled", what="external fill")
        finally:
            other.disconnect()
        reports = await h.client.reconcile("check")
        external = [f for f in reports.fills if f.order_id.startswith("IB-")]
        assert [(f.side, f.quantity) for f in external] == [(OrderSide.SELL, 5.0)]
        assert [(p.symbol, p.quantity) for p in reports.positions] == [("SPY", -5.0)]


async def test_pacing_keeps_under_tws_message_and_historical_limits():
    venue = make_venue()
    faults = TwsFaults(max_messages_per_second=50, historical_requests_per_10min=2, historical_window=1.0)
    async with running(venue, faults=faults) as emu, Harness(emu.port, config={
            "historical_requests_per_10min": 2, "historical_window": 1.2}) as h:
        ib = h.connection.ib
        for _ in range(100):
            ib.client.reqCurrentTime()  # a burst the client's throttle spreads to <= 45/s
        await wait_for(lambda: emu.stats["messages_in"] >= 100, timeout=20, what="burst delivered")
        from workbench.adapters.ibkr.data import IbkrDataClient

        data = IbkrDataClient(h.connection, health_interval=None)
        for _ in range(3):
            await data.historical_bars(["SPY"], venue.now_ns - 600 * 10**9, venue.now_ns)
        assert h.connection.info.errors[100] == 0
        assert h.connection.info.errors[162] == 0
        assert h.connection.pacer.waits >= 1


async def test_data_client_quotes_bars_unknown_symbol_and_resubscription():
    from workbench.adapters.ibkr.data import IbkrDataClient
    from workbench.model.data import Bar, QuoteTick

    venue = make_venue()
    async with running(venue) as emu:
        connection = IbkrConnection(config(emu.port, client_id=4))
        from workbench.clock import ReplayClock

        clock = ReplayClock(1.0, venue.now_ns)  # the engine's clock in a session: quotes are stamped with it
        data = IbkrDataClient(connection, {"quotes": ["SPY", "NOPE"], "bars": ["SPY"]}, health_interval=None,
                              follow_clock=clock)
        data.bind(lambda item: None)
        got: list[object] = []

        async def consume() -> None:
            async for item in data:
                got.append(item)

        task = asyncio.create_task(consume())
        try:
            await wait_for(lambda: data.state is ConnectionState.CONNECTED and emu.connections
                           and emu.connections[0].bars.get("SPY"), what="subscribed")
            quote(venue, 100.10, 100.12)
            quote(venue, 100.11, 100.13, seconds=0.5)
            await wait_for(lambda: len([i for i in got if type(i) is QuoteTick]) >= 2, what="two quotes")
            assert [(q.bid, q.ask) for q in got if type(q) is QuoteTick][-2:] == [(100.10, 100.12), (100.11, 100.13)]
            assert "NOPE" in data.unknown and data.health.errors >= 1  # error 200: skipped, not retried
            # a minute bar goes out as twelve 5-second bars; the client rebuilds the minute exactly
            start = venue.now_ns - venue.now_ns % (60 * 10**9) + 60 * 10**9
            minute = Bar("SPY", 100.0, 100.5, 99.5, 100.2, 1234.0, start, start + 60 * 10**9)
            venue.publish(minute)
            await wait_for(lambda: any(type(i) is Bar for i in got), what="aggregated bar")
            [bar] = [i for i in got if type(i) is Bar]
            assert bar == minute
            emu.drop()  # resubscribed after the reconnect
            await wait_for(lambda: data.health.reconnects >= 1 and emu.connections and emu.connections[0].market.get("SPY"),
                           what="resubscribed")
            quote(venue, 100.20, 100.22, seconds=61)
            await wait_for(lambda: [(q.bid, q.ask) for q in got if type(q) is QuoteTick][-1] == (100.20, 100.22),
                           what="quote after the reconnect")
        finally:
            await data.stop()
            task.cancel()
            await connection.disconnect()


async def test_health_reports_client_id_pacing_and_message_age():
    venue = make_venue()
    async with running(venue, faults=TwsFaults(busy_client_ids={1})) as emu, Harness(emu.port) as h:
        h.client.report_health()
        [health] = [i for i in h.items if type(i) is ev.ConnectionHealthReported][-1:]
        assert health.component == "ibkr.execution" and health.state == "CONNECTED"
        assert "client id 2" in health.detail and "server v178" in health.detail
        assert "1 client-id rejections" in health.detail
        assert health.last_message_age is not None and health.last_message_age < 5


async def test_fill_during_1100_is_recovered_after_1102_and_unknown_contract_is_rejected():
    venue = make_venue()
    quote(venue, 100.00, 100.02)
    async with running(venue) as emu, Harness(emu.port) as h:
        o = h.submit(order(quantity=10, order_type=OrderType.LIMIT, limit_price=99.0))
        await wait_for(lambda: h.events(ev.OrderAccepted, o.order_id), what="accepted")
        emu.connectivity_lost()  # 1100: TWS lost IB; what happens now is not sent (LEAN IB #249)
        quote(venue, 98.90, 98.95)
        await asyncio.sleep(0.2)
        assert not h.events(ev.OrderFilled, o.order_id) and not h.events(ev.OrderCanceled)
        emu.connectivity_restored()  # 1102: the adapter asks for executions again
        await wait_for(lambda: any(f.order_id == o.order_id for r in h.reports for f in r.fills), what="recovered")
        assert h.reports[-1].reason == "connectivity restored (IB 1102)"
        assert h.connection.info.connectivity_lost == 1 and h.connection.info.connectivity_restored == 1
        bad_init = ev.OrderInitialized(ts_event=0, order_id="O-bad", symbol="NOPE", side=OrderSide.BUY,
                                       order_type=OrderType.MARKET, quantity=1)
        h.client.submit_order(Order(bad_init))
        await wait_for(lambda: h.events(ev.OrderRejected, "O-bad"), what="rejection")
        assert h.events(ev.OrderRejected, "O-bad")[0].reason.startswith("IB 200:")


async def test_tick_by_tick_quotes_on_the_session_clock():
    """reqTickByTickData BidAsk -> QuoteTicks; ib_async 2.1 keeps only the arrival time of such ticks,
    so they are stamped with the session's clock (here at the venue's data time), like other quotes."""
    from workbench.adapters.ibkr.data import IbkrDataClient
    from workbench.clock import ReplayClock
    from workbench.model.data import QuoteTick

    venue = make_venue()
    async with running(venue) as emu:
        connection = IbkrConnection(config(emu.port, client_id=6, tick_by_tick=True))
        clock = ReplayClock(1.0, venue.now_ns)
        data = IbkrDataClient(connection, {"ticks": ["SPY"]}, health_interval=None, follow_clock=clock)
        data.bind(lambda item: None)
        got: list[QuoteTick] = []

        async def consume() -> None:
            async for item in data:
                got.append(item)

        task = asyncio.create_task(consume())
        try:
            await wait_for(lambda: emu.connections and emu.connections[0].tick_by_tick.get("SPY"), what="subscribed")
            sent = quote(venue, 100.10, 100.12, seconds=3)
            await wait_for(lambda: got, what="tick-by-tick quote")
            q = got[-1]
            assert (q.bid, q.ask, q.bid_size, q.ask_size) == (100.10, 100.12, sent.bid_size, sent.ask_size)
            assert abs(q.ts_event - sent.ts_event) < 60 * 10**9  # data time (2013), not the wall clock
        finally:
            await data.stop()
            task.cancel()
            await connection.disconnect()
