"""The Alpaca emulator's two websockets: market data (msgpack) and trade_updates (JSON), with faults.

Sequences as alpaca-py 0.44 expects them (``/work/shared/protocols/alpaca.md`` sections 4 and 5):

* data (``/v2/iex``, ``/v2/sip``): ``[{"T":"success","msg":"connected"}]`` on accept; auth ->
  ``authenticated`` or ``[{"T":"error","code":402,"msg":"auth failed"}]``; a second connection with
  the same key -> ``406 connection limit exceeded`` (alpaca-py #248); subscribe/unsubscribe ->
  a ``subscription`` message with the full set; then binary frames, each a msgpack array of
  messages (several per frame when the market runs ahead of the socket).
* trade_updates (``/stream``): authenticate -> ``authorized`` / ``unauthorized``; listen ->
  ``listening``; then one JSON message per order update. One connection per account: a new one
  replaces the old. Updates made while no connection listens are not replayed (as Alpaca's).

Faults (see :data:`workbench.emulators.core.FAULTS`), stream names ``data`` and ``trading``:
``drop_stream`` (close after ``after`` more messages), ``silence`` (send nothing for ``seconds``,
socket open), ``delay`` (``seconds`` before each frame), ``duplicate`` and ``reorder`` (trade
updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import msgpack
from starlette.websockets import WebSocket, WebSocketDisconnect

from workbench.emulators.alpaca import wire
from workbench.emulators.core import EmulatedAccount, OrderUpdate

if TYPE_CHECKING:
    from workbench.emulators.alpaca.server import AlpacaEmulator

_log = logging.getLogger(__name__)
CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds", "corrections",
            "cancelErrors")
MAX_FRAME = 2000  # messages per data frame


class _Raw:
    __slots__ = ("frame",)

    def __init__(self, frame: bytes | str) -> None:
        self.frame = frame


class _Connection:
    """One accepted websocket with an outbox drained by a sender task (faults applied there)."""

    stream = ""

    def __init__(self, emulator: AlpacaEmulator, ws: WebSocket) -> None:
        self.emulator = emulator
        self.ws = ws
        self.outbox: deque[Any] = deque()
        self.wake = asyncio.Event()
        self.sent = 0
        self.closed = False
        self.account: EmulatedAccount | None = None
        self._silent_until = 0.0

    def push(self, message: Any) -> None:
        if not self.closed:
            self.outbox.append(message)
            self.wake.set()

    async def close(self, code: int = 1000) -> None:
        if not self.closed:
            self.closed = True
            self.wake.set()
            with contextlib.suppress(Exception):
                await self.ws.close(code)

    def push_raw(self, frame: bytes | str) -> None:
        """Queue a frame sent exactly as given (bad-input tests: malformed frames)."""
        self.push(_Raw(frame))

    def _take_batch(self) -> list[Any]:
        out = []
        outbox = self.outbox
        while outbox and len(out) < MAX_FRAME and type(outbox[0]) is not _Raw:
            out.append(outbox.popleft())
        return out

    async def _faulted(self, count: int) -> bool:
        """Apply stream faults before sending ``count`` messages; True when they must not be sent."""
        faults = self.emulator.core.faults
        silence = faults.take("silence", self.stream)
        if silence is not None:
            self._silent_until = time.monotonic() + float(silence.get("seconds", 5.0))
        if time.monotonic() < self._silent_until:
            return True  # a silent socket: open, answers pings, delivers nothing (alpaca-py #740)
        delay = faults.peek("delay", self.stream)
        if delay is not None:
            await asyncio.sleep(float(delay.get("seconds", 0.05)))
        drop = faults.peek("drop_stream", self.stream)
        if drop is not None:
            left = int(drop.params.setdefault("left", int(drop.get("after", 0))))
            if left < count:
                faults.take("drop_stream", self.stream)
                await self.close(1011)
                return True
            drop.params["left"] = left - count
        return False

    async def sender(self) -> None:
        try:
            while not self.closed:
                await self.wake.wait()
                self.wake.clear()
                while self.outbox and not self.closed:
                    if type(self.outbox[0]) is _Raw:
                        raw = self.outbox.popleft().frame
                        await (self.ws.send_bytes(raw) if isinstance(raw, bytes) else self.ws.send_text(raw))
                        continue
                    batch = self._take_batch()
                    if await self._faulted(len(batch)):
                        continue
                    await self._send(batch)
                    self.sent += len(batch)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed = True

    async def _send(self, batch: list[Any]) -> None:
        raise NotImplementedError


class DataConnection(_Connection):
    """A market-data stream client (msgpack)."""

    stream = "data"

    def __init__(self, emulator: AlpacaEmulator, ws: WebSocket) -> None:
        super().__init__(emulator, ws)
        self.subscriptions: dict[str, set[str]] = {c: set() for c in CHANNELS}

    async def _send(self, batch: list[Any]) -> None:
        await self.ws.send_bytes(msgpack.packb(batch))

    async def send_now(self, messages: list[dict[str, Any]]) -> None:
        await self.ws.send_bytes(msgpack.packb(messages))

    def wants(self, channel: str, symbol: str) -> bool:
        subs = self.subscriptions[channel]
        return symbol in subs or "*" in subs

    def subscription_message(self) -> dict[str, Any]:
        return {"T": "subscription", **{c: sorted(s) for c, s in self.subscriptions.items()}}


class TradingConnection(_Connection):
    """A trade_updates stream client (JSON; replies in binary frames like Alpaca's paper server)."""

    stream = "trading"

    def __init__(self, emulator: AlpacaEmulator, ws: WebSocket) -> None:
        super().__init__(emulator, ws)
        self.listening = False
        self._held: Any = None

    async def _send(self, batch: list[Any]) -> None:
        faults = self.emulator.core.faults
        for message in batch:
            if self._held is None and faults.take("reorder", self.stream) is not None:
                self._held = message  # sent after the next one
                continue
            out = [message]
            if self._held is not None:
                out.append(self._held)
                self._held = None
            for m in out:
                text = json.dumps(m).encode()
                await self.ws.send_bytes(text)
                if faults.take("duplicate", self.stream) is not None:
                    await self.ws.send_bytes(text)

    async def send_now(self, message: dict[str, Any]) -> None:
        await self.ws.send_bytes(json.dumps(message).encode())


async def _receive(ws: WebSocket) -> bytes | str | None:
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return message.get("bytes") if message.get("bytes") is not None else message.get("text")


async def serve_data(emulator: AlpacaEmulator, ws: WebSocket) -> None:
    """Handle one market-data websocket until it closes."""
    await ws.accept()
    conn = DataConnection(emulator, ws)
    sender: asyncio.Task[None] | None = None
    try:
        await conn.send_now([{"T": "success", "msg": "connected"}])
        while True:
            raw = await _receive(ws)
            try:
                msg = msgpack.unpackb(raw) if isinstance(raw, bytes) else json.loads(raw or "")
                if not isinstance(msg, dict):
                    raise ValueError("not a map")
            except Exception:
                await conn.send_now([{"T": "error", "code": 400, "msg": "invalid syntax"}])
                continue
            action = msg.get("action")
            if conn.account is None:
                if action != "auth":
                    await conn.send_now([{"T": "error", "code": 401, "msg": "not authenticated"}])
                    continue
                account = emulator.core.authenticate(msg.get("key"), msg.get("secret"))
                if account is None:
                    await conn.send_now([{"T": "error", "code": 402, "msg": "auth failed"}])
                    continue
                if any(c.account is account and not c.closed for c in emulator.data_connections):
                    await conn.send_now([{"T": "error", "code": 406, "msg": "connection limit exceeded"}])
                    await conn.close(1008)
                    return
                conn.account = account
                emulator.data_connections.append(conn)
                sender = asyncio.ensure_future(conn.sender())
                await conn.send_now([{"T": "success", "msg": "authenticated"}])
            elif action in ("subscribe", "unsubscribe"):
                for channel in CHANNELS:
                    symbols = msg.get(channel)
                    if not symbols:
                        continue
                    if action == "subscribe":
                        conn.subscriptions[channel].update(symbols)
                    else:
                        conn.subscriptions[channel].difference_update(symbols)
                await conn.send_now([conn.subscription_message()])
                if action == "subscribe":
                    emulator.core.start_market()
            elif action == "auth":
                await conn.send_now([{"T": "error", "code": 403, "msg": "already authenticated"}])
            else:
                await conn.send_now([{"T": "error", "code": 400, "msg": "invalid syntax"}])
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        conn.closed = True
        conn.wake.set()
        if conn in emulator.data_connections:
            emulator.data_connections.remove(conn)
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender


async def serve_trading(emulator: AlpacaEmulator, ws: WebSocket) -> None:
    """Handle one trade_updates websocket until it closes."""
    await ws.accept()
    conn = TradingConnection(emulator, ws)
    sender: asyncio.Task[None] | None = None
    try:
        while True:
            raw = await _receive(ws)
            try:
                msg = json.loads(raw) if raw is not None else None
                if not isinstance(msg, dict):
                    raise ValueError("not an object")
            except Exception:
                await conn.send_now({"stream": "error", "data": {"error_message": "invalid syntax"}})
                continue
            action, data = msg.get("action"), msg.get("data") or {}
            if action in ("authenticate", "auth"):
                account = emulator.core.authenticate(data.get("key_id"), data.get("secret_key"))
                status = "authorized" if account is not None else "unauthorized"
                await conn.send_now({"stream": "authorization", "data": {"action": "authenticate", "status": status}})
                if account is None:
                    continue
                for old in [c for c in emulator.trading_connections if c.account is account]:
                    await old.close(1000)  # one trade_updates connection per account
                    emulator.trading_connections.remove(old)
                conn.account = account
                emulator.trading_connections.append(conn)
                sender = asyncio.ensure_future(conn.sender())
            elif action == "listen":
                if conn.account is None:
                    await conn.send_now({"stream": "authorization",
                                         "data": {"action": "listen", "status": "unauthorized"}})
                    continue
                streams = list((data or {}).get("streams") or [])
                conn.listening = "trade_updates" in streams
                await conn.send_now({"stream": "listening", "data": {"streams": streams}})
            else:
                await conn.send_now({"stream": "error", "data": {"error_message": f"unknown action {action!r}"}})
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        conn.closed = True
        conn.wake.set()
        if conn in emulator.trading_connections:
            emulator.trading_connections.remove(conn)
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender


def on_market(emulator: AlpacaEmulator, item: Any) -> None:
    """Core market listener: queue the item for every data connection subscribed to it."""
    conns = emulator.data_connections
    if not conns:
        return
    channel = wire.CHANNEL_OF[type(item)]
    message = None
    for conn in conns:
        if conn.wants(channel, item.symbol):
            if message is None:
                emulator.trade_seq += 1
                message = wire.market_message(item, emulator.trade_seq)
            conn.push(message)


def on_order(emulator: AlpacaEmulator, account: EmulatedAccount, update: OrderUpdate) -> None:
    """Core order listener: render the update now (the order as it is right after it) and queue it."""
    conns = [c for c in emulator.trading_connections if c.account is account and c.listening]
    if not conns:
        return
    message = wire.trade_update_json(account, update)
    for conn in conns:
        conn.push(message)
