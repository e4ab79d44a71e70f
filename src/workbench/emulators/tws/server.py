"""The TWS emulator's TCP front-end: the TWS API text protocol (server versions 157-178).

:class:`TwsEmulator` listens on 127.0.0.1 (port 0 = ephemeral), negotiates the version the client
proposes (at most 178), and serves every request the IB adapter uses from a
:class:`~workbench.emulators.tws.venue.TwsVenue` (``tws.md`` sections 3-7): the connect sync
(nextValidId, managedAccounts, positions, open and completed orders, account updates, executions),
contract details, market data (reqMktData ticks, 5-second real-time bars, tick-by-tick, historical
bars), orders (place, modify, cancel, global cancel, brackets, OCA) and account summaries.
Faults come from :class:`~workbench.emulators.tws.faults.TwsFaults`.

Bad input: a malformed frame closes the connection (as TWS does); an unknown message id gets error
505 and a request whose fields cannot be read error 320, both naming the id or field.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from workbench.emulators.tws import messages as msg
from workbench.emulators.tws import requests as rq
from workbench.emulators.tws.codec import MAGIC, FrameDecoder, ProtocolError, parse_version_range, split_fields
from workbench.emulators.tws.faults import INFO_MESSAGES, ORDER_INFO, TwsFaults
from workbench.emulators.tws.history import historical_bars
from workbench.emulators.tws.messages import ExecutionRecord, OrderRecord
from workbench.emulators.tws.venue import TwsVenue
from workbench.model.data import Bar, QuoteTick, TradeTick

MIN_VERSION, MAX_VERSION = 157, 178
_log = logging.getLogger(__name__)


_NO_SECURITY = "No security definition has been found for the request"

class _Connection:
    """One client socket: its negotiated version, client id and subscriptions."""

    def __init__(self, server: TwsEmulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader, self.writer = reader, writer
        self.version = MAX_VERSION
        self.client_id: int | None = None
        self.market: dict[str, list[int]] = {}  # symbol -> reqMktData ids
        self.bars: dict[str, list[int]] = {}  # symbol -> reqRealTimeBars ids
        self.tick_by_tick: dict[str, list[tuple[int, str]]] = {}
        self.positions_subscribed = False
        self.account_subscribed = False
        self.suspended = False  # between error 1100 and 1101/1102: TWS's messages are lost
        self.tokens = float(server.faults.max_messages_per_second)
        self.bucket_time = 0.0
        self.closed = False

    def send(self, data: bytes) -> None:
        if not self.closed:
            self.writer.write(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                self.writer.close()

    # ------------------------------------------------------------------------------- serving
    async def serve(self) -> None:
        try:
            magic = await self.reader.readexactly(4)
            if magic != MAGIC:
                raise ProtocolError(f"handshake: expected b'API\\x00', got {magic!r}")
            decoder = FrameDecoder()
            first = None
            while first is None:
                chunk = await self.reader.read(65536)
                if not chunk:
                    return
                frames = list(decoder.feed(chunk))
                if frames:
                    first, rest = frames[0], frames[1:]
            low, high = parse_version_range(first.decode(errors="replace"))
            if high < MIN_VERSION or low > self.server.max_version:
                raise ProtocolError(f"handshake: no common version in {low}..{high}")
            self.version = min(high, self.server.max_version)
            stamp = dt.datetime.fromtimestamp(self.server.now_seconds(), dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")
            self.send(msg.handshake(self.version, stamp))
            for payload in rest:
                self.handle(split_fields(payload))
            while not self.closed:
                chunk = await self.reader.read(65536)
                if not chunk:
                    break
                for payload in decoder.feed(chunk):
                    self.handle(split_fields(payload))
                    if self.closed:
                        break
                await self.writer.drain()
        except ProtocolError as exc:
            _log.warning("tws emulator: closing connection: %s", exc)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.close()
            self.server.forget(self)

    def handle(self, fields: list[str]) -> None:
        if not fields:
            return
        self.server.stats["messages_in"] += 1
        try:
            msg_id = int(fields[0])
        except ValueError:
            self.send(msg.error(self.version, -1, 505, f"Fatal Error: Unknown message id {fields[0]!r}."))
            return
        if self._paced_out():
            return
        handler = _HANDLERS.get(msg_id)
        if handler is None:
            self.send(msg.error(self.version, -1, 505, f"Fatal Error: Unknown message id {msg_id}."))
            return
        try:
            handler(self, fields)
        except ProtocolError as exc:
            req_id = -1
            with contextlib.suppress(ValueError, IndexError):
                req_id = int(fields[1]) if msg_id in (3, 4, 17, 20) else int(fields[2])
            self.send(msg.error(self.version, req_id, 320, f"Error reading request: {exc}"))

    def _paced_out(self) -> bool:
        limit = self.server.faults.max_messages_per_second
        if not limit:
            return False
        # token bucket: ``limit`` messages of burst, refilled at ``limit`` per second (arrival jitter
        # of a client that spaces its requests correctly does not trip it)
        now = time.monotonic()
        if self.bucket_time == 0.0:
            self.bucket_time = now
        self.tokens = min(float(limit), self.tokens + (now - self.bucket_time) * limit)
        self.bucket_time = now
        if self.tokens < 1.0:
            self.send(msg.error(self.version, -1, 100, "Max rate of messages per second has been exceeded"))
            return True
        self.tokens -= 1.0
        return False

    # ------------------------------------------------------------------------------ messages
    def start_api(self, f: list[str]) -> None:
        client_id = rq.int_at(f, 2, "clientId")
        server = self.server
        if client_id in server.faults.busy_client_ids or any(
                c.client_id == client_id for c in server.connections if c is not self):
            server.faults.busy_client_ids.discard(client_id)
            self.send(msg.error(self.version, -1, 326, "Unable to connect as the client id is already in use. "
                                                       "Retry with a unique client id."))
            self.close()
            return
        self.client_id = client_id
        venue = server.venue
        self.send(msg.next_valid_id(venue.next_order_id))
        self.send(msg.managed_accounts([venue.account_id]))
        for code, text in INFO_MESSAGES[:3]:
            self.send(msg.error(self.version, -1, code, text))

    def req_ids(self, f: list[str]) -> None:
        self.send(msg.next_valid_id(self.server.venue.next_order_id))

    def req_current_time(self, f: list[str]) -> None:
        self.send(msg.current_time(int(self.server.now_seconds())))

    def req_managed_accounts(self, f: list[str]) -> None:
        self.send(msg.managed_accounts([self.server.venue.account_id]))

    def req_positions(self, f: list[str]) -> None:
        self.positions_subscribed = True
        venue = self.server.venue
        for symbol, (qty, avg) in venue.positions().items():
            self.send(msg.position(venue.account_id, venue.contracts[symbol], qty, avg))
        self.send(msg.position_end())

    def cancel_positions(self, f: list[str]) -> None:
        self.positions_subscribed = False

    def req_open_orders(self, f: list[str]) -> None:
        mine = f[0] == str(rq.REQ_OPEN_ORDERS)
        for record in self.server.venue.open_orders(self.client_id if mine and self.client_id else None):
            self.send(msg.open_order(self.version, record))
            self.send(msg.order_status(record))
        self.send(msg.open_order_end())

    def req_completed_orders(self, f: list[str]) -> None:
        for record in self.server.venue.completed_orders():
            self.send(msg.completed_order(self.version, record))
        self.send(msg.completed_orders_end())

    def req_account_updates(self, f: list[str]) -> None:
        self.account_subscribed = _get(f, 2) == "1"
        if self.account_subscribed:
            self.send_account(final=True)

    def send_account(self, final: bool = False) -> None:
        venue = self.server.venue
        for key, value in venue.account_values().items():
            self.send(msg.account_value(key, round(value, 2), "USD", venue.account_id))
        for symbol, (qty, avg) in venue.positions().items():
            mark = venue.mark(symbol) or avg
            self.send(msg.portfolio_value(venue.contracts[symbol], qty, mark, qty * mark, avg, qty * (mark - avg), 0.0,
                                          venue.account_id))
        stamp = dt.datetime.fromtimestamp(self.server.now_seconds(), dt.UTC).strftime("%H:%M")
        self.send(msg.account_update_time(stamp))
        if final:
            self.send(msg.account_download_end(venue.account_id))

    def req_account_updates_multi(self, f: list[str]) -> None:
        req_id = rq.int_at(f, 2, "reqId")
        venue = self.server.venue
        for key, value in venue.account_values().items():
            self.send(msg.account_update_multi(req_id, venue.account_id, key, round(value, 2), "USD"))
        self.send(msg.account_update_multi_end(req_id))

    def req_account_summary(self, f: list[str]) -> None:
        req_id = rq.int_at(f, 2, "reqId")
        venue = self.server.venue
        for key, value in venue.account_values().items():
            self.send(msg.account_summary(req_id, venue.account_id, key, round(value, 2), "USD"))
        self.send(msg.account_summary_end(req_id))

    def req_executions(self, f: list[str]) -> None:
        flt = rq.parse_executions(f)
        for x in self.server.venue.executions_for(flt.client_id, flt.symbol):
            if flt.time and x.time.replace(" UTC", "") < flt.time.replace("-", " ").replace(" UTC", "")[:17]:
                continue
            self.send(msg.exec_details(self.version, flt.req_id, x))
            self.send(msg.commission_report(x.exec_id, x.commission))
        self.send(msg.exec_details_end(flt.req_id))

    def _resolve(self, req_id: int, symbol: str, con_id: int):
        """The venue's contract for a request, or None after sending TWS error 200 (no security definition)."""
        contract = self.server.venue.resolve(symbol, con_id)
        if contract is None:
            self.send(msg.error(self.version, req_id, 200, _NO_SECURITY))
        return contract

    def req_contract_details(self, f: list[str]) -> None:
        req_id = rq.int_at(f, 2, "reqId")
        spec = rq.contract_at(f, 3)
        contract = self._resolve(req_id, spec.symbol, spec.con_id)
        if contract is None:
            return
        self.send(msg.contract_details(self.version, req_id, contract))
        self.send(msg.contract_details_end(req_id))

    def req_market_data(self, f: list[str]) -> None:
        request = rq.parse_market_data(f)
        venue = self.server.venue
        contract = self._resolve(request.req_id, request.contract.symbol, request.contract.con_id)
        if contract is None:
            return
        self.send(msg.tick_req_params(request.req_id, contract.min_tick))
        self.send(msg.market_data_type(request.req_id, 1))
        quote = venue.quotes.get(contract.symbol)
        if quote is not None:
            self._send_quote(request.req_id, quote)
        if request.snapshot:
            self.send(msg.tick_snapshot_end(request.req_id))
            return
        self.market.setdefault(contract.symbol, []).append(request.req_id)
        self.server.market_wanted()

    def cancel_market_data(self, f: list[str]) -> None:
        _unsubscribe(self.market, rq.int_at(f, 2, "reqId"))

    def req_real_time_bars(self, f: list[str]) -> None:
        req_id = rq.int_at(f, 2, "reqId")
        spec = rq.contract_at(f, 3)
        contract = self._resolve(req_id, spec.symbol, spec.con_id)
        if contract is None:
            return
        self.bars.setdefault(contract.symbol, []).append(req_id)
        self.server.market_wanted()

    def cancel_real_time_bars(self, f: list[str]) -> None:
        _unsubscribe(self.bars, rq.int_at(f, 2, "reqId"))

    def req_tick_by_tick(self, f: list[str]) -> None:
        req_id = rq.int_at(f, 1, "reqId")
        spec = rq.contract_at(f, 2)
        tick_type = _get(f, 14)
        contract = self._resolve(req_id, spec.symbol, spec.con_id)
        if contract is None:
            return
        self.tick_by_tick.setdefault(contract.symbol, []).append((req_id, tick_type))

    def cancel_tick_by_tick(self, f: list[str]) -> None:
        req_id = rq.int_at(f, 1, "reqId")
        for subs in self.tick_by_tick.values():
            subs[:] = [s for s in subs if s[0] != req_id]

    def req_historical_data(self, f: list[str]) -> None:
        request = rq.parse_historical_data(f)
        server = self.server
        if not server.allow_historical():
            self.send(msg.error(self.version, request.req_id, 162, "Historical Market Data Service error message:"
                                                                    "Historical data request pacing violation"))
            return
        contract = server.venue.resolve(request.contract.symbol, request.contract.con_id)
        if contract is None or server.history is None:
            self.send(msg.error(self.version, request.req_id, 162 if contract else 200,
                                "Historical Market Data Service error message:HMDS query returned no data"
                                if contract else _NO_SECURITY))
            return
        try:
            start, end, bars = historical_bars(server.history, contract.symbol, request, server.venue.now_ns)
        except ValueError as exc:
            self.send(msg.error(self.version, request.req_id, 321, f"Error validating request:-'{exc}'"))
            return
        self.send(msg.historical_data(request.req_id, start, end, bars))

    def req_market_data_type(self, f: list[str]) -> None:
        pass

    def no_reply(self, f: list[str]) -> None:
        pass

    def place_order(self, f: list[str]) -> None:
        request = rq.parse_place_order(f)
        refused = self.server.venue.place(self.client_id or 0, request)
        if refused is not None:
            self.send(msg.error(self.version, request.order_id, *refused))

    def cancel_order(self, f: list[str]) -> None:
        order_id = rq.int_at(f, 2, "orderId")
        refused = self.server.venue.cancel(self.client_id or 0, order_id)
        if refused is not None:
            self.send(msg.error(self.version, order_id, *refused))

    def global_cancel(self, f: list[str]) -> None:
        self.server.venue.cancel_all()

    # ------------------------------------------------------------------------------- pushing
    def _send_quote(self, req_id: int, q: QuoteTick) -> None:
        if q.bid == q.bid:
            self.send(msg.tick_price(req_id, 1, q.bid, q.bid_size))
        if q.ask == q.ask:
            self.send(msg.tick_price(req_id, 2, q.ask, q.ask_size))

    def push(self, item: Any) -> None:
        symbol = item.symbol
        ids = self.market.get(symbol)
        if isinstance(item, QuoteTick):
            if ids:
                for req_id in ids:
                    self._send_quote(req_id, item)
            for req_id, kind in self.tick_by_tick.get(symbol, ()):
                if kind == "BidAsk":
                    self.send(msg.tick_by_tick_bid_ask(req_id, item.ts_event // 1_000_000_000, item.bid, item.ask,
                                                       item.bid_size, item.ask_size))
        elif isinstance(item, TradeTick):
            if ids:
                for req_id in ids:
                    self.send(msg.tick_price(req_id, 4, item.price, item.size))
                    self.send(msg.tick_string(req_id, 45, str(item.ts_event // 1_000_000_000)))
            for req_id, kind in self.tick_by_tick.get(symbol, ()):
                if kind in ("Last", "AllLast"):
                    self.send(msg.tick_by_tick_last(req_id, 1 if kind == "Last" else 2,
                                                    item.ts_event // 1_000_000_000, item.price, item.size))
        elif isinstance(item, Bar):
            if ids:
                for req_id in ids:
                    self.send(msg.tick_price(req_id, 4, item.close, item.volume))
            for req_id in self.bars.get(symbol, ()):
                self._send_bar(req_id, item)

    def _send_bar(self, req_id: int, bar: Bar) -> None:
        """One data bar as 5-second real-time bars that aggregate back to it exactly (first one carries the
        open, high, low and volume; the rest are flat at the close)."""
        start = bar.ts_event // 1_000_000_000
        seconds = max((bar.ts_init - bar.ts_event) // 1_000_000_000, 5)
        wap = (bar.high + bar.low + bar.close) / 3.0
        self.send(msg.real_time_bar(req_id, start, bar.open, bar.high, bar.low, bar.close, bar.volume, wap, 1))
        for k in range(5, int(seconds), 5):
            self.send(msg.real_time_bar(req_id, start + k, bar.close, bar.close, bar.close, bar.close, 0, bar.close, 0))


def _unsubscribe(subscriptions: dict[str, list[int]], req_id: int) -> None:
    """Drop one request id from every symbol's subscriber list (TWS cancels by request id alone)."""
    for ids in subscriptions.values():
        if req_id in ids:
            ids.remove(req_id)


def _get(f: list[str], index: int) -> str:
    return f[index] if index < len(f) else ""


_HANDLERS: dict[int, Callable[[_Connection, list[str]], None]] = {
    rq.START_API: _Connection.start_api,
    rq.REQ_IDS: _Connection.req_ids,
    rq.REQ_CURRENT_TIME: _Connection.req_current_time,
    rq.REQ_MANAGED_ACCTS: _Connection.req_managed_accounts,
    rq.REQ_POSITIONS: _Connection.req_positions,
    rq.CANCEL_POSITIONS: _Connection.cancel_positions,
    rq.REQ_OPEN_ORDERS: _Connection.req_open_orders,
    rq.REQ_ALL_OPEN_ORDERS: _Connection.req_open_orders,
    rq.REQ_AUTO_OPEN_ORDERS: _Connection.no_reply,
    rq.REQ_COMPLETED_ORDERS: _Connection.req_completed_orders,
    rq.REQ_ACCOUNT_UPDATES: _Connection.req_account_updates,
    rq.REQ_ACCOUNT_UPDATES_MULTI: _Connection.req_account_updates_multi,
    rq.CANCEL_ACCOUNT_UPDATES_MULTI: _Connection.no_reply,
    rq.REQ_ACCOUNT_SUMMARY: _Connection.req_account_summary,
    rq.CANCEL_ACCOUNT_SUMMARY: _Connection.no_reply,
    rq.REQ_EXECUTIONS: _Connection.req_executions,
    rq.REQ_CONTRACT_DETAILS: _Connection.req_contract_details,
    rq.REQ_MKT_DATA: _Connection.req_market_data,
    rq.CANCEL_MKT_DATA: _Connection.cancel_market_data,
    rq.REQ_REAL_TIME_BARS: _Connection.req_real_time_bars,
    rq.CANCEL_REAL_TIME_BARS: _Connection.cancel_real_time_bars,
    rq.REQ_TICK_BY_TICK: _Connection.req_tick_by_tick,
    rq.CANCEL_TICK_BY_TICK: _Connection.cancel_tick_by_tick,
    rq.REQ_HISTORICAL_DATA: _Connection.req_historical_data,
    rq.CANCEL_HISTORICAL_DATA: _Connection.no_reply,
    rq.REQ_MARKET_DATA_TYPE: _Connection.req_market_data_type,
    rq.PLACE_ORDER: _Connection.place_order,
    rq.CANCEL_ORDER: _Connection.cancel_order,
    rq.REQ_GLOBAL_CANCEL: _Connection.global_cancel,
}


class TwsEmulator:
    """A local TWS: ``await start()`` returns the port; ``await stop()`` closes everything.

    Parameters
    ----------
    venue : TwsVenue | None
        The back office (default: SPY only, account DU123, USD 100,000).
    host : str
        Default 127.0.0.1 (never binds other interfaces unless told to).
    port : int
        0 = an ephemeral port (the tests' default).
    max_version : int
        Highest server version to negotiate (157..178).
    history : MarketDataStream | None
        Bars served to reqHistoricalData (the replayed data, before the venue's current time).
    faults : TwsFaults | None
    """

    def __init__(self, venue: TwsVenue | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 max_version: int = MAX_VERSION, history: Any = None, faults: TwsFaults | None = None,
                 run_market: bool = False) -> None:
        if not MIN_VERSION <= max_version <= MAX_VERSION:
            raise ValueError(f"max_version must be in {MIN_VERSION}..{MAX_VERSION}, got {max_version}")
        self.venue = venue or TwsVenue()
        self.core = self.venue.core
        self.host, self.port = host, port
        self.max_version = max_version
        self.history = history if history is not None else self.core.market.stream
        self.run_market = run_market
        self._market_task: asyncio.Task[None] | None = None
        self.faults = faults or TwsFaults()
        self.connections: list[_Connection] = []
        self.stats: collections.Counter[str] = collections.Counter()
        self._server: asyncio.Server | None = None
        self._historical: collections.deque[float] = collections.deque()
        self.venue.listen(self)

    # ------------------------------------------------------------------------------ lifecycle
    async def start(self) -> int:
        """Listen; with ``run_market`` the replay starts at the first market data subscription."""
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.run_market and self._market_task is None:
            self._market_task = asyncio.get_running_loop().create_task(self.core.run())
        return self.port

    def market_wanted(self) -> None:
        """A client subscribed to market data: let the replay begin (idempotent)."""
        if self.run_market:
            self.core.start_market()

    async def stop_market(self) -> None:
        """End the market replay (no more data, so no more fills of resting orders); connections stay."""
        if self._market_task is not None:
            self._market_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._market_task
            self._market_task = None

    async def stop(self) -> None:
        await self.stop_market()
        if self._server is not None:
            self._server.close()
            self.drop()
            await self._server.wait_closed()
            self._server = None

    async def restart(self, roll_back_ids_to: int | None = None) -> None:
        """Like TWS's nightly restart: every client is dropped and the port reopens; with
        ``roll_back_ids_to`` the next ``nextValidId`` goes back to it (the fault)."""
        await self.stop()
        if roll_back_ids_to is not None:
            self.venue.roll_back_ids(roll_back_ids_to)
        self._server = await asyncio.start_server(self._accept, self.host, self.port)

    def drop(self) -> None:
        """Close every client socket at once (no fills in flight)."""
        for conn in list(self.connections):
            conn.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(self, reader, writer)
        self.connections.append(conn)
        with contextlib.suppress(asyncio.CancelledError):
            await conn.serve()

    def forget(self, conn: _Connection) -> None:
        if conn in self.connections:
            self.connections.remove(conn)

    def now_seconds(self) -> float:
        return self.venue.now_ns / 1e9 if self.venue.now_ns else time.time()

    def allow_historical(self) -> bool:
        now = time.monotonic()
        window = self._historical
        while window and window[0] < now - self.faults.historical_window:
            window.popleft()
        if len(window) >= self.faults.historical_requests_per_10min:
            return False
        window.append(now)
        return True

    def _owners(self, record: OrderRecord) -> list[_Connection]:
        return [c for c in self.connections if c.client_id in (record.client_id, 0) and not c.closed
                and not c.suspended]

    def connectivity_lost(self) -> None:
        """Fault: TWS loses IB's servers (error 1100); order and execution messages meanwhile are lost."""
        for conn in self.connections:
            conn.send(msg.error(conn.version, -1, 1100, "Connectivity between IB and Trader Workstation has been lost."))
            conn.suspended = True

    def connectivity_restored(self, data_lost: bool = False) -> None:
        """Fault ends: error 1102 (data maintained) or 1101 (data lost: subscriptions must be renewed)."""
        for conn in self.connections:
            conn.suspended = False
            if data_lost:
                conn.market.clear()
                conn.bars.clear()
                conn.tick_by_tick.clear()
                conn.send(msg.error(conn.version, -1, 1101, "Connectivity between IB and TWS has been restored- "
                                                            "data lost."))
            else:
                conn.send(msg.error(conn.version, -1, 1102, "Connectivity between IB and TWS has been restored- "
                                                            "data maintained."))

    # -------------------------------------------------------------------- venue notifications
    def order_changed(self, record: OrderRecord) -> None:
        for conn in self._owners(record):
            conn.send(msg.open_order(conn.version, record))
            conn.send(msg.order_status(record))
            self._storm(conn, record)

    def order_error(self, record: OrderRecord, code: int, message: str) -> None:
        for conn in self._owners(record):
            if conn.client_id == record.client_id:
                conn.send(msg.error(conn.version, record.order_id, code, message))

    def executed(self, x: ExecutionRecord) -> None:
        faults = self.faults
        if faults.drop_on_next_fill:
            faults.drop_on_next_fill = False
            for conn in self._owners(x.order):
                conn.close()
            return
        self.stats["executions"] += 1
        for conn in self._owners(x.order):
            conn.send(msg.open_order(conn.version, x.order))  # TWS's order: openOrder, then the execution
            if faults.commission_first:
                conn.send(msg.commission_report(x.exec_id, x.commission))
            conn.send(msg.exec_details(conn.version, -1, x))
            if faults.duplicate_exec_details:
                conn.send(msg.exec_details(conn.version, -1, x))
            if faults.correct_exec_details:
                corrected = dataclasses.replace(x, exec_id=x.exec_id.rsplit(".", 1)[0] + ".02")
                conn.send(msg.exec_details(conn.version, -1, corrected))
                conn.send(msg.commission_report(corrected.exec_id, x.commission))
            if not faults.commission_first:
                conn.send(msg.commission_report(x.exec_id, x.commission))

    def account_changed(self, symbol: str) -> None:
        venue = self.venue
        qty, avg = venue.positions().get(symbol, (0.0, 0.0))
        for conn in self.connections:
            if conn.suspended:
                continue
            if conn.positions_subscribed:
                conn.send(msg.position(venue.account_id, venue.contracts[symbol], qty, avg))
            if conn.account_subscribed:
                conn.send_account()

    def market(self, item: Any) -> None:
        for conn in self.connections:
            if not conn.suspended:
                conn.push(item)

    def _storm(self, conn: _Connection, record: OrderRecord) -> None:
        for i in range(self.faults.info_storm):
            code, text = INFO_MESSAGES[i % len(INFO_MESSAGES)]
            conn.send(msg.error(conn.version, -1, code, text))
        if self.faults.info_storm and conn.client_id == record.client_id and record.status not in ("Filled",
                                                                                                  "Cancelled"):
            conn.send(msg.error(conn.version, record.order_id, *ORDER_INFO))
