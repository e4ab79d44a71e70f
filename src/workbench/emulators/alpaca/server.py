"""The Alpaca emulator: REST + both websockets on one 127.0.0.1 port, over the emulator core.

>>> emulator = AlpacaEmulator(data="demo", speed=600)          # doctest: +SKIP
>>> with emulator.running():                                    # its own thread and loop
...     client = TradingClient(emulator.key, emulator.secret, url_override=emulator.rest_url)
...     client.get_account()

URLs for alpaca-py's ``url_override`` (alpaca.md section 0): :attr:`AlpacaEmulator.rest_url`
(``TradingClient``, ``StockHistoricalDataClient``), :attr:`AlpacaEmulator.data_url`
(``StockDataStream``, ``ws://.../v2/iex``), :attr:`AlpacaEmulator.trading_url` (``TradingStream``,
``ws://.../stream``). It runs either on the caller's loop (:meth:`start` / :meth:`stop`, the CLI)
or in a thread with its own loop (:meth:`start_thread` / :meth:`running`, tests and notebooks,
so blocking REST calls of the caller never stall it). It binds 127.0.0.1 by default; the control
API needs :attr:`control_token`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import threading
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, WebSocket

from workbench.emulators.core import EmulatorCore

_log = logging.getLogger(__name__)

DEFAULT_KEY = "EMULATOR-KEY"
DEFAULT_SECRET = "EMULATOR-SECRET"  # a fake: the emulator never sees a real key


class AlpacaEmulator:
    """A local Alpaca: trading REST v2, historical bars, market-data and trade_updates streams.

    Parameters
    ----------
    core : EmulatorCore | None
        Market, accounts and faults; built from ``data``, ``speed`` and ``core_options`` when None.
    data, speed
        The replayed market (``"demo"``, a recording directory, a bar file) and its speed (x real
        time; None = as fast as possible).
    key, secret : str
        Credentials of the emulated account (fakes).
    host, port : str, int
        Bind address; port 0 = an ephemeral port.
    feed : str
        Path of the data stream (``iex`` or ``sip``).
    faults : list[str]
        Fault specs armed at start (``FaultRegistry.arm_spec``).
    autostart : bool
        Start the market at once instead of at the first data subscription.
    """

    def __init__(
        self,
        core: EmulatorCore | None = None,
        *,
        data: Any = "demo",
        speed: float | None = 60.0,
        key: str = DEFAULT_KEY,
        secret: str = DEFAULT_SECRET,
        host: str = "127.0.0.1",
        port: int = 0,
        feed: str = "iex",
        faults: list[str] | tuple[str, ...] = (),
        autostart: bool = False,
        **core_options: Any,
    ) -> None:
        self.core = core or EmulatorCore(data, speed=speed, autostart=autostart, **core_options)
        self.key, self.secret = key, secret
        self.account = self.core.accounts.get(key) or self.core.add_account(key, secret)
        self.host, self.port, self.feed = host, port, feed
        self.control_token = secrets.token_urlsafe(16)
        for spec in faults:
            self.core.faults.arm_spec(spec)
        self.symbols = set(self.core.market.symbols())
        self.data_connections: list[Any] = []
        self.trading_connections: list[Any] = []
        self.requests = 0
        self.rate_limited = 0
        self.trade_seq = 0
        self.restarts = 0
        self.bars_page_size = 10_000  # bars per /v2/stocks/bars page (Alpaca's maximum); lower it to test paging
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._serve_task: asyncio.Task[None] | None = None
        self._market_task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self.error: BaseException | None = None
        from workbench.emulators.alpaca import streams

        self.core.market_listeners.append(lambda item: streams.on_market(self, item))
        self.core.order_listeners.append(lambda account, update: streams.on_order(self, account, update))
        self.app = self._build_app()

    # --------------------------------------------------------------------------------- URLs
    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def data_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v2/{self.feed}"

    @property
    def trading_url(self) -> str:
        return f"ws://{self.host}:{self.port}/stream"

    def urls(self) -> dict[str, str]:
        return {"rest": self.rest_url, "data": self.data_url, "trading": self.trading_url}

    # ---------------------------------------------------------------------------------- app
    def _build_app(self) -> Any:
        from workbench.emulators.alpaca import streams
        from workbench.emulators.alpaca.rest import build_router

        app = FastAPI(title="workbench Alpaca emulator", docs_url=None, redoc_url=None, openapi_url=None)
        app.include_router(build_router(self))

        @app.websocket("/v2/{feed}")
        async def data_stream(websocket: WebSocket, feed: str) -> None:
            await streams.serve_data(self, websocket)

        @app.websocket("/stream")
        async def trading_stream(websocket: WebSocket) -> None:
            await streams.serve_trading(self, websocket)

        return app

    # ---------------------------------------------------------------------------- lifecycle
    def _socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets: no 40 ms delayed-ACK stalls
        sock.bind((self.host, self.port))
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    async def _serve(self) -> None:
        import uvicorn

        config = uvicorn.Config(self.app, log_level="warning", ws="websockets-sansio", lifespan="off",
                                ws_ping_interval=None, access_log=False, timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        await self._server.serve(sockets=[self._socket()])

    async def start(self) -> None:
        """Serve on the running loop (returns once listening)."""
        self.loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self._serve_task = asyncio.ensure_future(self._serve())
        while self._server is None or not self._server.started:
            if self._serve_task.done():
                self._serve_task.result()
            await asyncio.sleep(0.005)
        if self._market_task is None:
            self._market_task = asyncio.ensure_future(self.core.run())

    async def stop(self) -> None:
        for conn in [*self.data_connections, *self.trading_connections]:
            await conn.close(1001)
        if self._market_task is not None:
            self._market_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._market_task
            self._market_task = None
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # do not wait for clients that never answer a close (a dead loop)
        if self._serve_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._serve_task, 5.0)
        if self._stopped is not None:
            self._stopped.set()

    async def restart(self, seconds: float = 1.0) -> None:
        """Drop every connection, refuse connections for ``seconds`` (server down), come back on the
        same port with the same accounts, orders and market position (as a broker restart)."""
        self.restarts += 1
        for conn in [*self.data_connections, *self.trading_connections]:
            await conn.close(1012)
        self.data_connections.clear()
        self.trading_connections.clear()
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._serve_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._serve_task
        await asyncio.sleep(seconds)
        self._server = None
        self._serve_task = asyncio.ensure_future(self._serve())
        while self._server is None or not self._server.started:
            await asyncio.sleep(0.005)

    def schedule_restart(self, seconds: float = 1.0) -> None:
        """Restart soon (after the current request is answered); usable from any thread."""
        loop = self.loop
        if loop is None:
            raise RuntimeError("the emulator is not running")
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.restart(seconds)))

    # ---------------------------------------------------------------------------- threaded
    def start_thread(self, timeout: float = 30.0) -> AlpacaEmulator:
        """Run on a new event loop in a daemon thread; returns once listening."""
        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)

            async def lifecycle() -> None:
                try:
                    await self.start()
                except BaseException as exc:  # reported to the starting thread
                    self.error = exc
                    self._ready.set()
                    loop.stop()
                    return
                self._ready.set()
                await self._stopped.wait()  # type: ignore[union-attr]
                with contextlib.suppress(Exception):
                    await loop.shutdown_asyncgens()
                loop.stop()

            self._lifecycle = loop.create_task(lifecycle())
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=main, name="alpaca-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the Alpaca emulator did not start in time")
        if self.error is not None:
            raise self.error
        return self

    def stop_thread(self, timeout: float = 30.0) -> None:
        if self._thread is None or self.loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.stop(), self.loop)
        with contextlib.suppress(Exception):
            future.result(timeout)
        self._thread.join(timeout)
        self._thread = None

    @contextlib.contextmanager
    def running(self) -> Iterator[AlpacaEmulator]:
        """``with emulator.running():`` start in a thread, stop at the end."""
        self.start_thread()
        try:
            yield self
        finally:
            self.stop_thread()

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on the emulator's loop and return its result (thread mode:
        arm faults, read state without racing the loop)."""
        if self.loop is None or self._thread is None or threading.current_thread() is self._thread:
            return fn(*args, **kwargs)

        async def run() -> Any:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(30)

    def inject(self, stream: str, frame: bytes | str) -> int:
        """Send ``frame`` as is on every open connection of ``stream`` (``data`` or ``trading``); returns
        how many connections got it (bad-input tests). Thread-safe."""
        def push() -> int:
            conns = self.data_connections if stream == "data" else self.trading_connections
            for conn in conns:
                conn.push_raw(frame)
            return len(conns)

        return self.call(push)

    def arm(self, name: str, count: int | None = 1, **params: Any) -> Any:
        """Arm a fault (thread-safe)."""
        return self.call(self.core.faults.arm, name, count, **params)
