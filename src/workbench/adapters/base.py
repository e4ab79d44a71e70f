"""The live adapter contract: what every broker adapter (Alpaca, IB, later others) provides.

An adapter has two clients, each owning one connection to the broker:

* a **data client** (:class:`DataClient`): subscribe / unsubscribe bars, quotes and trades,
  historical bars for warm-up; it is the live runner's feed (an async iterable of
  :class:`~workbench.model.data.Bar` / :class:`~workbench.model.data.QuoteTick` /
  :class:`~workbench.model.data.TradeTick`);
* an **execution client** (:class:`ExecutionClient`): the engine's
  :class:`~workbench.brokers.base.Broker` (submit, modify, cancel; order, fill and position
  reports), which sends order events back.

Both derive from :class:`LiveClient`, which supervises the connection (DESIGN rule 7: connection
handling lives in the adapter, decisions in the engine):

* **State machine** (:class:`ConnectionState`): ``DISCONNECTED -> CONNECTING -> CONNECTED ->
  RECONNECTING -> CONNECTED ... -> DISCONNECTED``; illegal transitions raise. Every transition is
  posted as a :class:`~workbench.model.events.ConnectionStatusChanged` (``state`` = the new
  state), which the runner journals.
* **Reconnect** with exponential backoff and jitter (tenacity's ``wait_exponential_jitter``,
  :class:`ReconnectPolicy`); the attempt count resets once a connection has carried a message,
  so a socket that connects and drops at once does not turn into a reconnect storm (alpaca-py
  #740: a storm of reconnects earns HTTP 429s). Authentication failures are fatal: no retry.
* **Silence detection**: a socket that stays open but delivers nothing for ``silence_timeout``
  seconds is closed and reconnected (alpaca-py #740); transport pings are the client library's.
* **Resubscription**: a data client re-sends every subscription after each reconnect.
* **Reconciliation on every connect** (DESIGN rule 5): an execution client fetches its
  :class:`~workbench.model.reports.OrderStatusReport`, :class:`~workbench.model.reports.FillReport`
  and :class:`~workbench.model.reports.PositionReport` lists after each (re)connect and posts them
  as one :class:`BrokerReports`; the runner hands it to
  :func:`workbench.engine.reconcile.reconcile`, which decides what to correct (fills made while
  disconnected are booked once; the adapter never books anything itself).
* **Health** (:class:`ConnectionHealth`): messages, reconnects, last message age, rate-limit hits
  and errors, posted periodically as :class:`~workbench.model.events.ConnectionHealthReported`.

Everything a client produces goes through one callable, ``post`` (:meth:`LiveClient.bind`): the
live runner's :meth:`~workbench.engine.live.LiveRunner.post`, which queues it for the engine in
arrival order (market data, order events, connection events, report bundles). Until bound,
posted items are buffered.

Vendor code subclasses :class:`DataClient` / :class:`ExecutionClient` in ``adapters/<vendor>/``
and implements the ``_open`` / ``_session`` / ``_close`` hooks (plus the data or execution
hooks); nothing here knows a vendor. See ``docs/adapters.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import tenacity

from workbench.errors import BrokerError
from workbench.model import events as ev
from workbench.model.data import Bar
from workbench.model.enums import OrderStatus
from workbench.model.orders import Order
from workbench.model.reports import FillReport, OrderStatusReport, PositionReport

_log = logging.getLogger(__name__)

Post = Callable[[Any], None]
"""Where a client sends what it produces (the live runner's queue)."""


class AuthenticationError(BrokerError):
    """The broker refused the credentials: fatal, never retried (no retry storm with wrong keys).

    The message names the component and the broker's reason; it never contains a key or secret.
    """


class ConnectionState(StrEnum):
    """State of one live connection."""

    DISCONNECTED = "DISCONNECTED"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"


_ALLOWED: dict[ConnectionState, frozenset[ConnectionState]] = {
    ConnectionState.DISCONNECTED: frozenset({ConnectionState.CONNECTING}),
    ConnectionState.CONNECTING: frozenset({ConnectionState.CONNECTED, ConnectionState.DISCONNECTED}),
    ConnectionState.CONNECTED: frozenset({ConnectionState.RECONNECTING, ConnectionState.DISCONNECTED}),
    ConnectionState.RECONNECTING: frozenset({ConnectionState.CONNECTED, ConnectionState.DISCONNECTED}),
}
"""Legal transitions (a failed first connect retries inside CONNECTING; a lost one inside RECONNECTING)."""


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff with jitter between connection attempts (tenacity).

    The n-th consecutive failed attempt waits ``min(initial * multiplier ** (n - 1) + U(0, jitter),
    maximum)`` seconds (tenacity ``wait_exponential_jitter``; the AWS architecture blog's
    "exponential backoff and jitter" is the source of the scheme). ``max_attempts`` consecutive
    failures end the client (DISCONNECTED); None = retry forever.
    """

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        for name in ("initial", "maximum", "multiplier"):
            if not getattr(self, name) > 0:
                raise ValueError(f"ReconnectPolicy.{name} must be > 0, got {getattr(self, name)!r}")
        if self.jitter < 0:
            raise ValueError(f"ReconnectPolicy.jitter must be >= 0, got {self.jitter!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"ReconnectPolicy.max_attempts must be >= 1 or None, got {self.max_attempts!r}")

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` (>= 1) consecutive failed attempts."""
        wait = tenacity.wait_exponential_jitter(multiplier=self.initial, max=self.maximum, exp_base=self.multiplier,
                                                jitter=self.jitter)
        state = tenacity.RetryCallState(None, None, (), {})
        state.attempt_number = max(int(failures), 1)
        return float(wait(state))


@dataclass
class ConnectionHealth:
    """Counters of one connection since the client started (see :meth:`event`)."""

    component: str
    state: ConnectionState = ConnectionState.DISCONNECTED
    connects: int = 0
    reconnects: int = 0
    messages: int = 0
    silences: int = 0
    rate_limit_hits: int = 0
    errors: int = 0
    last_error: str = ""
    last_message_monotonic: float | None = None

    def message_received(self, count: int = 1) -> None:
        self.messages += count
        self.last_message_monotonic = time.monotonic()

    def rate_limited(self, count: int = 1) -> None:
        """The broker answered 429 (or the vendor's equivalent) ``count`` times."""
        self.rate_limit_hits += count

    def error(self, text: str) -> None:
        self.errors += 1
        self.last_error = text[:300]

    @property
    def last_message_age(self) -> float | None:
        """Seconds since the last message (None before the first)."""
        last = self.last_message_monotonic
        return None if last is None else time.monotonic() - last

    def event(self, ts_event: int) -> ev.ConnectionHealthReported:
        age = self.last_message_age
        return ev.ConnectionHealthReported(
            ts_event=ts_event, component=self.component, state=self.state.value, reconnects=self.reconnects,
            messages=self.messages, last_message_age=None if age is None else round(age, 3),
            rate_limit_hits=self.rate_limit_hits, errors=self.errors, detail=self.last_error)


@dataclass(frozen=True)
class BrokerReports:
    """One reconciliation snapshot from a broker, taken right after a (re)connect.

    It has the three report methods of :class:`~workbench.brokers.base.Broker`, so
    :func:`workbench.engine.reconcile.reconcile` takes it in place of the broker. The runner
    calls :meth:`apply_to` when it reaches the item in its queue: reconciliation runs inside the
    engine's single-threaded core, in order with the other events.
    """

    component: str
    orders: tuple[OrderStatusReport, ...] = ()
    fills: tuple[FillReport, ...] = ()
    positions: tuple[PositionReport, ...] = ()
    reason: str = "connect"
    ts_event: int = 0

    def order_status_reports(self) -> list[OrderStatusReport]:
        return list(self.orders)

    def with_in_flight(self, orders: Iterable[Order], ts: int) -> BrokerReports:
        """These reports plus a SUBMITTED report for each of ``orders`` that they do not know:
        orders sent while the snapshot was being taken are in flight, not unknown at the broker."""
        known = {r.order_id for r in self.orders}
        extra = tuple(OrderStatusReport(order_id=o.order_id, symbol=o.symbol, side=o.side, quantity=o.quantity,
                                        filled_quantity=0.0, avg_fill_price=0.0, status=OrderStatus.SUBMITTED,
                                        ts_last=ts) for o in orders if o.order_id not in known)
        return dataclasses.replace(self, orders=self.orders + extra) if extra else self

    def fill_reports(self, since_ns: int = 0) -> list[FillReport]:
        return [f for f in self.fills if f.ts_event >= since_ns]

    def position_reports(self) -> list[PositionReport]:
        return list(self.positions)

    def apply_to(self, engine: Any) -> list[ev.ReconciliationCorrected]:
        """Reconcile ``engine`` with these reports (the engine decides); returns the corrections."""
        from workbench.engine.reconcile import reconcile
        from workbench.risk.disconnect import RECONCILED_TOPIC

        corrections = reconcile(engine, self)
        engine.bus.publish(RECONCILED_TOPIC, self)  # the broker-disconnect breaker releases its hold
        return corrections


@dataclass
class Subscriptions:
    """The subscriptions a data client wants (kind -> symbols); re-sent after every reconnect.

    Kinds are the domain's: ``"bars"``, ``"quotes"``, ``"trades"`` (adapters may add
    ``"updated_bars"``, ``"statuses"``).
    """

    wanted: dict[str, set[str]] = field(default_factory=dict)

    def add(self, kind: str, symbols: Iterable[str]) -> list[str]:
        """Add ``symbols``; returns those that were new."""
        have = self.wanted.setdefault(kind, set())
        new = [s for s in dict.fromkeys(symbols) if s not in have]
        have.update(new)
        return new

    def remove(self, kind: str, symbols: Iterable[str]) -> list[str]:
        have = self.wanted.get(kind, set())
        gone = [s for s in dict.fromkeys(symbols) if s in have]
        have.difference_update(gone)
        return gone

    def items(self) -> list[tuple[str, list[str]]]:
        return [(k, sorted(v)) for k, v in self.wanted.items() if v]

    def __bool__(self) -> bool:
        return any(self.wanted.values())


class LiveClient:
    """A supervised connection: state machine, reconnect with backoff, silence detection, health.

    Subclasses implement:

    * ``async _open()``: connect and authenticate; raise :class:`AuthenticationError` for refused
      credentials (fatal), anything else to retry;
    * ``async _session()``: receive until the connection ends (return or raise); call
      ``self.health.message_received()`` for every message;
    * ``async _close()``: release the connection (idempotent; errors are ignored);
    * ``async _on_connected(reconnect)``: after each successful ``_open`` (resubscribe, reconcile).

    Parameters
    ----------
    component : str
        Name in the journal's ConnectionStatusChanged (e.g. ``"alpaca.data"``, ``"ibkr.execution"``).
    reconnect : ReconnectPolicy | None
    silence_timeout : float | None
        Seconds without any message after which an open connection counts as dead (None: never).
    health_interval : float | None
        Seconds between ConnectionHealthReported posts (None: only on :meth:`report_health`).
    clock : Callable[[], int] | None
        ns since epoch UTC for event timestamps (the engine's ``now_ns``); default wall clock.

    ``kind`` (class attribute): ``"execution"`` or ``"data"``, journaled with every state change
    (``ConnectionStatusChanged.kind``); the broker-disconnect breaker watches connections by it.
    """

    kind = ""

    def __init__(
        self,
        component: str,
        *,
        reconnect: ReconnectPolicy | None = None,
        silence_timeout: float | None = None,
        health_interval: float | None = 5.0,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if silence_timeout is not None and not silence_timeout > 0:
            raise ValueError(f"silence_timeout must be > 0 seconds or None, got {silence_timeout!r}")
        self.component = component
        self.reconnect_policy = reconnect or ReconnectPolicy()
        self.silence_timeout = silence_timeout
        self.health_interval = health_interval
        self.clock: Callable[[], int] = clock or time.time_ns
        self.health = ConnectionHealth(component)
        self.failure: BaseException | None = None
        self._post: Post | None = None
        self._backlog: list[Any] = []
        self._task: asyncio.Task[None] | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._connected: asyncio.Event | None = None
        self._connected_at = 0.0
        self._drop_reason = ""
        self._session_task: asyncio.Future[None] | None = None

    # ---------------------------------------------------------------------------- wiring
    @property
    def state(self) -> ConnectionState:
        return self.health.state

    def bind(self, post: Post, clock: Callable[[], int] | None = None) -> None:
        """Send everything this client produces to ``post`` (buffered items first)."""
        self._post = post
        if clock is not None:
            self.clock = clock
        backlog, self._backlog = self._backlog, []
        for item in backlog:
            post(item)

    def post(self, item: Any) -> None:
        if self._post is None:
            self._backlog.append(item)
        else:
            self._post(item)

    # ------------------------------------------------------------------------- lifecycle
    def start(self) -> asyncio.Task[None]:
        """Start supervising on the running loop (returns at once); idempotent."""
        if self._task is None or self._task.done():
            self._stop = asyncio.Event()
            self._connected = asyncio.Event()
            self.failure = None
            self._task = asyncio.get_running_loop().create_task(self._supervise(), name=f"workbench:{self.component}")
            if self.health_interval:
                self._health_task = asyncio.get_running_loop().create_task(self._health_loop())
        return self._task

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until CONNECTED and ready (subscriptions re-sent, reconciliation reports posted).

        Raises the fatal error if the client gave up, TimeoutError on timeout."""
        if self._task is None or self._connected is None:
            raise RuntimeError(f"{self.component}: start() first")

        async def wait() -> None:
            done = asyncio.ensure_future(self._connected.wait())  # type: ignore[union-attr]
            try:
                await asyncio.wait({done, self._task}, return_when=asyncio.FIRST_COMPLETED)  # type: ignore[arg-type]
            finally:
                done.cancel()
            if self.state is not ConnectionState.CONNECTED:
                raise self.failure or BrokerError(f"{self.component}: stopped before connecting")

        await asyncio.wait_for(wait(), timeout)

    async def stop(self) -> None:
        """Close the connection for good (DISCONNECTED); idempotent."""
        if self._stop is not None:
            self._stop.set()
        for task in (self._health_task, self._task):
            if task is not None and not task.done():
                await self._finish(task, grace=4.0)
        self._health_task = None
        with contextlib.suppress(Exception):
            await self._close()
        if self.state is not ConnectionState.DISCONNECTED:
            self._transition(ConnectionState.DISCONNECTED, "stopped")
        self.report_health()

    def force_reconnect(self, reason: str = "reconnect requested") -> None:
        """Drop the current connection; the supervisor reconnects (tests, operators)."""
        self._drop_reason = reason
        session = self._session_task
        if session is not None and not session.done():
            session.cancel()

    # ------------------------------------------------------------------------ the machine
    def _transition(self, new: ConnectionState, detail: str = "") -> None:
        old = self.health.state
        if new is old:
            return
        if new not in _ALLOWED[old]:
            raise ValueError(f"{self.component}: illegal connection transition {old} -> {new}")
        self.health.state = new
        if new is ConnectionState.CONNECTED:
            self.health.connects += 1
            if old is ConnectionState.RECONNECTING:
                self.health.reconnects += 1
        if self._connected is not None and new is not ConnectionState.CONNECTED:
            self._connected.clear()
        _log.info("%s: %s -> %s %s", self.component, old, new, detail)
        self.post(ev.ConnectionStatusChanged(ts_event=self.clock(), component=self.component,
                                             connected=new is ConnectionState.CONNECTED, detail=detail,
                                             state=new.value, kind=self.kind))

    def report_health(self) -> None:
        """Post a ConnectionHealthReported now."""
        self.post(self.health.event(self.clock()))

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval)  # type: ignore[arg-type]
            self.report_health()

    async def _sleep_or_stop(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless stopped first; True when stopped."""
        assert self._stop is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    async def _supervise(self) -> None:
        assert self._stop is not None
        policy = self.reconnect_policy
        failures = 0
        first = True
        self._transition(ConnectionState.CONNECTING, "connecting")
        while not self._stop.is_set():
            try:
                await self._open()
            except AuthenticationError as exc:
                self.failure = exc
                self.health.error(str(exc))
                await self._safe_close()
                self._transition(ConnectionState.DISCONNECTED, f"authentication failed: {exc}")
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.health.error(f"connect failed: {type(exc).__name__}: {exc}")
                await self._safe_close()
                if policy.max_attempts is not None and failures >= policy.max_attempts:
                    self.failure = BrokerError(f"{self.component}: gave up after {failures} failed connection "
                                               f"attempts; last: {type(exc).__name__}: {exc}")
                    self._transition(ConnectionState.DISCONNECTED, str(self.failure))
                    return
                if await self._sleep_or_stop(policy.delay(failures)):
                    break
                continue
            self._connected_at = time.monotonic()
            self._transition(ConnectionState.CONNECTED, "connected" if first else f"reconnected (#{self.health.reconnects + 1})")
            messages_before = self.health.messages
            try:
                await self._on_connected(not first)
                if self._connected is not None:
                    self._connected.set()  # ready: resubscribed / reconciliation posted
                reason = await self._watch()
            except asyncio.CancelledError:
                raise
            except AuthenticationError as exc:
                self.failure = exc
                await self._safe_close()
                self._transition(ConnectionState.DISCONNECTED, f"authentication failed: {exc}")
                return
            except Exception as exc:
                reason = f"connection lost: {type(exc).__name__}: {exc}"
                self.health.error(reason)
            first = False
            await self._safe_close()
            if self._stop.is_set():
                break
            self._transition(ConnectionState.RECONNECTING, reason)
            failures = 1 if self.health.messages > messages_before else failures + 1
            if await self._sleep_or_stop(policy.delay(failures)):
                break
        if self.state is not ConnectionState.DISCONNECTED:
            self._transition(ConnectionState.DISCONNECTED, "stopped")

    async def _watch(self) -> str:
        """Run ``_session`` until it ends, the socket goes silent, or a reconnect is forced."""
        self._drop_reason = ""
        session = self._session_task = asyncio.ensure_future(self._session())
        timeout = self.silence_timeout
        try:
            while True:
                if timeout is None:
                    wait = None
                else:
                    last = self.health.last_message_monotonic
                    since = self._connected_at if last is None else max(last, self._connected_at)
                    wait = max(timeout - (time.monotonic() - since), 0.0)
                    if wait == 0.0:
                        self.health.silences += 1
                        await self._finish(session)
                        return f"silent for {timeout:g} s"
                done, _ = await asyncio.wait({session}, timeout=wait)
                if done:
                    if session.cancelled():
                        return self._drop_reason or "session canceled"
                    exc = session.exception()
                    if exc is not None:
                        raise exc
                    return "connection closed by the broker"
        finally:
            if not session.done():
                await self._finish(session)

    async def _finish(self, task: asyncio.Future[Any], grace: float = 1.0) -> None:
        """Cancel ``task`` and wait for its end, but never forever.

        On Python 3.11 ``asyncio.wait_for`` can swallow a cancellation when the awaited operation
        completes at the same moment (CPython gh-86296, fixed in 3.12); vendor stream loops call it
        all the time (alpaca-py's ``_consume``: ``wait_for(ws.recv(), 5)`` in a ``while True``), so a
        cancelled session may simply go on, and a stop or reconnect that awaits it hangs (seen: the
        CLI not exiting after SIGINT). If the task has not ended after ``grace`` seconds, the
        connection is closed under it (its receive fails) and it is cancelled again; after three
        rounds it is left behind (logged), so the caller always goes on.
        """
        for _ in range(3):
            if task.done():
                break
            task.cancel()
            done, _pending = await asyncio.wait({task}, timeout=grace)
            if done:
                break
            await self._safe_close()
        if not task.done():
            _log.warning("%s: a connection task did not end when cancelled; left behind", self.component)
            return
        if not task.cancelled():
            task.exception()  # retrieved: already reported by the supervisor when it mattered

    async def _safe_close(self) -> None:
        with contextlib.suppress(Exception):
            await self._close()

    # ------------------------------------------------------------------- vendor hooks
    async def _open(self) -> None:
        raise NotImplementedError

    async def _session(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        return None

    async def _on_connected(self, reconnect: bool) -> None:
        return None


class DataClient(LiveClient):
    """Market data from a broker: subscriptions, historical bars, and the runner's feed.

    Vendor subclasses implement ``_send_subscribe(kind, symbols)``,
    ``_send_unsubscribe(kind, symbols)`` (only called while connected) and
    ``async historical_bars(...)``, and call :meth:`emit` with each parsed domain item.
    Iterating the client (``async for item in client``) yields the items; it ends after
    :meth:`stop` (or when the client gives up).

    ``queue_size`` bounds the items waiting for the engine; when the engine falls behind the
    stream, :meth:`emit` drops the oldest quote (counted in ``dropped``), never a bar or trade.
    """

    kind = "data"

    def __init__(self, component: str, *, queue_size: int = 65_536, **kwargs: Any) -> None:
        super().__init__(component, **kwargs)
        self.subscriptions = Subscriptions()
        self.queue_size = queue_size
        self.dropped = 0
        self._items: asyncio.Queue[Any] | None = None
        self._ended = False
        self._direct: Callable[[Any], None] | None = None
        self._taps: tuple[Callable[[Any], None], ...] = ()

    def tap(self, put: Callable[[Any], None]) -> None:
        """Also hand every item to ``put`` (e.g. a paper shadow's feed, :mod:`workbench.operations.shadow`):
        one subscription feeds several engines (a broker allows one data connection: Alpaca's 406)."""
        self._taps += (put,)

    def feed_directly(self, put: Callable[[Any], None]) -> None:
        """Hand every item to ``put`` at once (the live runner's queue) instead of queueing it for
        iteration: one queue hop less per item. Iterating the client then only waits for its end."""
        self._direct = put

    def _queue(self) -> asyncio.Queue[Any]:
        if self._items is None:
            self._items = asyncio.Queue(self.queue_size)
        return self._items

    def emit(self, item: Any) -> None:
        """Hand one parsed market data item to the feed (and the taps; non-blocking)."""
        for put in self._taps:
            put(item)
        direct = self._direct
        if direct is not None:
            direct(item)
            return
        q = self._queue()
        try:
            q.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            with contextlib.suppress(asyncio.QueueEmpty):
                q.get_nowait()
            q.put_nowait(item)

    async def subscribe(self, kind: str, symbols: Iterable[str]) -> None:
        """Subscribe ``symbols`` to ``kind`` (``"bars"``, ``"quotes"``, ``"trades"``, ...)."""
        new = self.subscriptions.add(kind, symbols)
        if new and self.state is ConnectionState.CONNECTED:
            await self._send_subscribe(kind, new)

    async def unsubscribe(self, kind: str, symbols: Iterable[str]) -> None:
        gone = self.subscriptions.remove(kind, symbols)
        if gone and self.state is ConnectionState.CONNECTED:
            await self._send_unsubscribe(kind, gone)

    async def _on_connected(self, reconnect: bool) -> None:
        await super()._on_connected(reconnect)
        await self._resubscribe()

    async def _resubscribe(self) -> None:
        """Send every wanted subscription (after each connect)."""
        for kind, symbols in self.subscriptions.items():
            await self._send_subscribe(kind, symbols)

    async def _send_subscribe(self, kind: str, symbols: list[str]) -> None:
        raise NotImplementedError

    async def _send_unsubscribe(self, kind: str, symbols: list[str]) -> None:
        raise NotImplementedError

    async def historical_bars(self, symbols: Iterable[str], start_ns: int, end_ns: int,
                              timeframe: str = "1Min") -> list[Bar]:
        """Bars of ``symbols`` in [start_ns, end_ns) (ns since epoch UTC), in time order (warm-up)."""
        raise NotImplementedError

    async def stop(self) -> None:
        await super().stop()
        self._ended = True
        q = self._queue()
        with contextlib.suppress(asyncio.QueueFull):
            q.put_nowait(_END)

    async def __aiter__(self) -> AsyncIterator[Any]:
        if self._task is None:
            self.start()
        if self._direct is not None:  # items go straight to the runner: wait for the end
            await asyncio.wait({self._task})  # type: ignore[arg-type]
            return
        q = self._queue()
        while True:
            if not q.empty():  # fast path: no future per item while the stream flows
                item = q.get_nowait()
                if item is _END:
                    return
                yield item
                continue
            if self._task is not None and self._task.done():
                return
            get = asyncio.ensure_future(q.get())
            done, _ = await asyncio.wait({get, self._task}, return_when=asyncio.FIRST_COMPLETED)  # type: ignore[arg-type]
            if get not in done:
                get.cancel()
                continue
            item = get.result()
            if item is _END:
                return
            yield item


_END = object()


class ExecutionClient(LiveClient):
    """Orders at a broker: the engine's :class:`~workbench.brokers.base.Broker` over a live connection.

    The engine calls :meth:`submit_order`, :meth:`cancel_order`, :meth:`modify_order`
    synchronously; a vendor subclass sends them without blocking the loop (in order: a cancel
    never overtakes its submit) and answers with order events through :meth:`emit`
    (``OrderAccepted``, ``OrderRejected`` with the broker's code and message, ``OrderFilled`` with
    the execution's own quantity and price, ...). The order id the engine chose is the broker's
    client order id, so a resubmission after a timeout is idempotent.

    After every connect it posts a :class:`BrokerReports` built by ``async _fetch_reports()``
    (vendor: open and recent orders, fills since the last known one, positions). The engine
    reconciles; the client only reports.

    The synchronous ``order_status_reports`` / ``fill_reports`` / ``position_reports`` of the
    Broker protocol return the last fetched snapshot (restart reconciliation also goes through
    the runner, after the first connect).
    """

    name = "live"
    kind = "execution"

    def __init__(self, component: str, **kwargs: Any) -> None:
        super().__init__(component, **kwargs)
        self.last_reports: BrokerReports | None = None
        self._on_event: Callable[[ev.OrderEvent], None] | None = None
        self._sent_during_fetch: list[Order] | None = None

    # Broker protocol -------------------------------------------------------------------
    def connect(self, on_event: Callable[[ev.OrderEvent], None]) -> None:
        """Broker protocol: the engine's callback. Order events are posted through :meth:`bind`
        when bound (the runner's queue), else given to ``on_event`` directly."""
        self._on_event = on_event

    def emit(self, event: ev.OrderEvent) -> None:
        """Send one order event towards the engine."""
        if self._post is None and self._on_event is not None:
            self._on_event(event)
        else:
            self.post(event)

    def submit_order(self, order: Order) -> None:
        raise NotImplementedError

    def cancel_order(self, order_id: str) -> None:
        raise NotImplementedError

    def modify_order(self, order_id: str, quantity: float | None = None, limit_price: float | None = None,
                     stop_price: float | None = None) -> None:
        raise NotImplementedError

    def order_status_reports(self) -> list[OrderStatusReport]:
        return self.last_reports.order_status_reports() if self.last_reports else []

    def fill_reports(self, since_ns: int = 0) -> list[FillReport]:
        return self.last_reports.fill_reports(since_ns) if self.last_reports else []

    def position_reports(self) -> list[PositionReport]:
        return self.last_reports.position_reports() if self.last_reports else []

    # reconciliation --------------------------------------------------------------------
    async def _on_connected(self, reconnect: bool) -> None:
        await super()._on_connected(reconnect)
        await self.reconcile("reconnect" if reconnect else "connect")

    def note_sent(self, order: Order) -> None:
        """Vendor ``submit_order`` calls this for every order it sends: an order sent while a
        reconciliation snapshot is being taken is reported in flight (SUBMITTED), so the engine does
        not take it for unknown at the broker."""
        if self._sent_during_fetch is not None:
            self._sent_during_fetch.append(order)

    async def reconcile(self, reason: str = "requested") -> BrokerReports:
        """Fetch the broker's reports and post them for the engine to reconcile."""
        self._sent_during_fetch = []
        try:
            reports = await self._fetch_reports(reason)
            reports = reports.with_in_flight(self._sent_during_fetch, reports.ts_event)
        finally:
            self._sent_during_fetch = None
        self.last_reports = reports
        self.post(reports)
        return reports

    async def _fetch_reports(self, reason: str) -> BrokerReports:
        raise NotImplementedError
