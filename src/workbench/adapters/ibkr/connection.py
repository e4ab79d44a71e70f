"""One ``IB`` connection per session: connect with client-id fallback, drop detection, pacing, health.

- :meth:`IbkrConnection.connect` runs ``IB.connectAsync`` with a timeout on the running loop (never
  ``util.startLoop()`` / ``nest_asyncio``). A client id already in use (error 326, then TWS closes
  the socket; ib_async #143, NautilusTrader PR #3796) moves at once to the next id, up to
  ``client_id_attempts`` ids, instead of waiting for the connect timeout.
- :attr:`IbkrConnection.lost` is set when the socket drops (``disconnectedEvent``); the adapter's
  supervisor (:class:`~workbench.adapters.base.LiveClient`) reconnects with backoff. IB's
  connectivity codes 1100 (lost), 1101 (restored, data lost: resubscribe) and 1102 (restored) are
  counted and handed to listeners; they never cancel or fail an order.
- Pacing: the client library throttles requests to ``messages_per_second`` (IB allows 50/s);
  :class:`HistoricalPacer` spaces historical-data requests so IB's limit (about 60 per 10
  minutes) is honoured by waiting instead of triggering error 162 (LEAN #607, backtrader #110).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.adapters.ibkr.client import IB
from workbench.adapters.ibkr.config import IbkrConfig
from workbench.adapters.ibkr.parsing import ErrorKind, classify_error
from workbench.errors import BrokerError

_log = logging.getLogger(__name__)

ErrorListener = Callable[[int, int, str, ErrorKind], None]


class ClientIdsExhausted(BrokerError):
    """Every client id tried was in use (error 326)."""


class HistoricalPacer:
    """At most ``limit`` requests per ``window`` seconds: :meth:`acquire` waits for a free slot.

    Source: IB's historical data limitations ("no more than 60 requests within any ten minute
    period"; violations answer error 162).
    """

    def __init__(self, limit: int = 60, window: float = 600.0) -> None:
        self.limit, self.window = limit, window
        self._sent: collections.deque[float] = collections.deque()
        self.waits = 0
        self.waited_seconds = 0.0

    def delay(self, now: float | None = None) -> float:
        """Seconds to wait before the next request may go (0 = now)."""
        now = time.monotonic() if now is None else now
        sent = self._sent
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        if len(sent) < self.limit:
            return 0.0
        return sent[0] + self.window - now

    async def acquire(self) -> None:
        while (wait := self.delay()) > 0:
            self.waits += 1
            self.waited_seconds += wait
            await asyncio.sleep(wait)
        self._sent.append(time.monotonic())


@dataclass
class ConnectionInfo:
    """What the dashboard's health panel shows about the IB connection."""

    connected: bool = False
    client_id: int | None = None
    server_version: int = 0
    connects: int = 0
    client_id_rejections: int = 0
    connectivity_lost: int = 0
    connectivity_restored: int = 0
    pacing_violations: int = 0
    historical_waits: int = 0
    informational: int = 0
    errors: collections.Counter[int] = field(default_factory=collections.Counter)
    last_message_age: float | None = None


class IbkrConnection:
    """The session's single ``IB`` client and its connection handling.

    Parameters
    ----------
    config : IbkrConfig
    ib : IB | None
        An existing client (tests); default a new ``IB()``.
    """

    def __init__(self, config: IbkrConfig | None = None, ib: Any = None) -> None:
        self.config = config or IbkrConfig()
        self.ib = ib if ib is not None else IB()
        self.ib.client.MaxRequests = max(int(self.config.messages_per_second), 1)
        self.client_id: int | None = None
        self.info = ConnectionInfo()
        self.pacer = HistoricalPacer(self.config.historical_requests_per_10min, self.config.historical_window)
        self.lost = asyncio.Event()
        self.error_listeners: list[ErrorListener] = []
        self._lock: asyncio.Lock | None = None
        self._rejected: asyncio.Event | None = None
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected

    # ------------------------------------------------------------------------------- state
    @property
    def connected(self) -> bool:
        return bool(self.ib.isConnected())

    def last_message_age(self) -> float | None:
        """Seconds since the last bytes arrived from TWS (None before the first)."""
        last = getattr(self.ib.wrapper, "lastTime", None)
        if last is None or last.year <= 1:
            return None
        return max(time.time() - last.timestamp(), 0.0)

    def health(self) -> ConnectionInfo:
        info = self.info
        info.connected = self.connected
        info.client_id = self.client_id
        info.server_version = int(self.ib.client.serverVersion() or 0) if self.connected else 0
        info.historical_waits = self.pacer.waits
        info.last_message_age = self.last_message_age()
        return info

    def describe(self) -> str:
        """One line for the dashboard's health panel: client id, server version, pacing, message age."""
        info = self.health()
        age = "never" if info.last_message_age is None else f"{info.last_message_age:.1f} s ago"
        return (f"client id {info.client_id}, server v{info.server_version}, last message {age}; pacing: "
                f"{info.pacing_violations} violations, {info.historical_waits} historical waits; "
                f"{info.client_id_rejections} client-id rejections, {info.connectivity_lost} connectivity losses, "
                f"{info.informational} informational")

    def health_event(self, client: Any) -> Any:
        """``client``'s ConnectionHealthReported with IB's pacing hits, message age and :meth:`describe`."""
        import dataclasses

        info = self.health()
        event = client.health.event(client.clock())
        return dataclasses.replace(event, rate_limit_hits=info.pacing_violations + info.historical_waits,
                                   last_message_age=None if info.last_message_age is None
                                   else round(info.last_message_age, 3), detail=self.describe())

    # --------------------------------------------------------------------------- connecting
    async def connect(self) -> None:
        """Connect (if not connected), trying the next client id after error 326.

        Raises
        ------
        ClientIdsExhausted
            When every one of ``client_id_attempts`` ids was in use.
        TimeoutError, ConnectionError, OSError
            When TWS does not answer (the supervisor retries with backoff).
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.connected:
                return
            cfg = self.config
            first = cfg.client_id if self.client_id is None else self.client_id
            for attempt in range(cfg.client_id_attempts):
                client_id = first + attempt
                if await self._try(client_id):
                    self.client_id = client_id
                    self.info.connects += 1
                    self.lost.clear()
                    return
                self.info.client_id_rejections += 1
                _log.warning("ibkr: client id %d in use (error 326); trying %d", client_id, client_id + 1)
            raise ClientIdsExhausted(f"ibkr: client ids {first}..{first + cfg.client_id_attempts - 1} are all in use "
                                     "(error 326); close the other connections or set client_id")

    async def _try(self, client_id: int) -> bool:
        cfg = self.config
        self._rejected = asyncio.Event()
        connect = asyncio.ensure_future(self.ib.connectAsync(
            cfg.host, cfg.resolved_port, clientId=client_id, timeout=cfg.connect_timeout, readonly=cfg.read_only,
            account=cfg.account))
        rejected = asyncio.ensure_future(self._rejected.wait())
        try:
            await asyncio.wait({connect, rejected}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            rejected.cancel()
        if self._rejected.is_set():
            connect.cancel()
            with contextlib.suppress(BaseException):
                await connect
            self.ib.disconnect()
            return False
        connect.result()  # raises the connect error, if any
        return True

    async def disconnect(self) -> None:
        if self.connected:
            self.ib.disconnect()
        self.lost.set()

    # ------------------------------------------------------------------------------ events
    def _on_disconnected(self) -> None:
        self.lost.set()

    def _on_error(self, req_id: int, code: int, message: str, contract: Any = None) -> None:
        kind = classify_error(code, message)
        info = self.info
        info.errors[code] += 1
        if kind is ErrorKind.CLIENT_ID_IN_USE and self._rejected is not None:
            self._rejected.set()
        elif kind is ErrorKind.CONNECTIVITY_LOST:
            info.connectivity_lost += 1
        elif kind in (ErrorKind.RESTORED, ErrorKind.RESTORED_DATA_LOST):
            info.connectivity_restored += 1
        elif kind is ErrorKind.PACING:
            info.pacing_violations += 1
        elif kind is ErrorKind.INFO:
            info.informational += 1
        for listener in list(self.error_listeners):
            listener(req_id, code, message, kind)
