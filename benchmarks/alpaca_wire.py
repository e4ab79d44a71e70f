"""Alpaca path benchmark: tick-to-order latency through the wire, and quotes per second through the data stream.

The Alpaca emulator runs in its own process (a broker is another machine; sharing the GIL would
measure contention, not the path). The session runs the full broker path: alpaca-py's
``StockDataStream`` -> adapter parsing -> ``LiveRunner`` queue -> ``TradingEngine`` -> risk ->
journal (SQLite WAL, ``synchronous=NORMAL`` as paper sessions use, and ``FULL`` as live sessions use) -> adapter -> REST worker ->
alpaca-py ``TradingClient`` -> HTTP -> emulator.

(a) Tick-to-order latency: from a quote's message arriving at the client (alpaca-py hands the
    decoded message to the adapter's handler: ``time.monotonic_ns()``) to the order it causes
    arriving at the emulator's REST handler (``time.monotonic_ns()`` in the emulator process:
    CLOCK_MONOTONIC is system-wide on Linux, so the two readings compare). Quotes 10 ms apart, a
    1-share market order on every 10th quote (one per 100 ms, so orders never queue behind each
    other), alternately buy and sell. Reported with the journal commit before every order (``durable_submit``, what a
    broker session does: nothing leaves the process before its event is journaled) and without it.
(b) Throughput: quotes per second through the data stream, from the first quote's arrival at the
    client to the engine having processed the last one; the emulator sends as fast as the socket
    takes them (frames of up to 2,000 messages); "without falling behind" = every quote processed,
    none dropped by the adapter's bounded queue.

Targets on this machine: p99 under 5 ms; at least 20,000 quotes/s.

Measured: see /work/notes/alpaca.md and alpaca-r2.md. Round 2 (2026-12-05) made the commit cheaper
(cached checkpoint-state statements: append p50 0.47 -> 0.27 ms, NORMAL) and moved SQLite's WAL
autocheckpoint off the order path (background PASSIVE checkpoints: append p99 4.7-9 ms -> 0.6-0.9 ms,
NORMAL); the wire figures on the shared machine (load 2-9) are dominated by CPU and disk contention.
It now reports both journals (NORMAL: paper sessions, FULL: live sessions, one fsync of the WAL per
commit) and two stamp points at the emulator (request read off the socket; the order handler, after
the emulator's own routing and validation).

Usage: python benchmarks/alpaca_wire.py [--orders N] [--quotes N] [--synchronous NORMAL FULL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.engine.strategy import Strategy
from workbench.model.enums import OrderSide

T0 = pd.Timestamp("2013-10-07 10:00", tz="America/New_York").value
EVERY = 10


def quotes_frame(n: int, spacing_ns: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    mid = 168.0 + np.cumsum(rng.normal(0, 0.01, n))
    ts = T0 + np.arange(n, dtype=np.int64) * spacing_ns
    return pd.DataFrame({"ts_event": ts, "ts_init": ts, "symbol": "SPY", "bid": np.round(mid - 0.01, 2),
                         "ask": np.round(mid + 0.01, 2), "bid_size": 500.0, "ask_size": 500.0})


def emulator_process(frame: pd.DataFrame, speed: float | None, conn: Any) -> None:
    """Child process: serve the emulator, record when each order arrives, report at the end."""
    from workbench.emulators.alpaca import AlpacaEmulator

    emulator = AlpacaEmulator(data=frame, speed=speed, regular=False)
    arrivals: dict[str, int] = {}
    submit = emulator.core.submit

    def timed_submit(account: Any, request: Any) -> Any:
        arrivals[request.client_order_id] = time.monotonic_ns()
        return submit(account, request)

    emulator.core.submit = timed_submit  # type: ignore[method-assign]
    received: dict[str, int] = {}
    app = emulator.app

    async def stamped_app(scope: Any, receive: Any, send: Any) -> None:
        """The moment the whole ``POST /v2/orders`` request (headers and body) has been read off the
        socket, before the emulator's routing and validation (the broker's own processing time)."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/v2/orders":
            await app(scope, receive, send)
            return
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if not message.get("more_body"):
                break
        now = time.monotonic_ns()
        body = b"".join(m.get("body", b"") for m in messages)
        with contextlib.suppress(ValueError):
            received[json.loads(body).get("client_order_id", "")] = now
        replay = iter(messages)

        async def again() -> Any:
            return next(replay, {"type": "http.disconnect"})

        await app(scope, again, send)

    emulator.app = stamped_app
    emulator.start_thread()
    conn.send(emulator.urls())
    conn.recv()  # done
    conn.send((received, arrivals))
    emulator.stop_thread()


class EveryNthQuote(Strategy):
    """A 1-share market order on every ``EVERY``-th quote, alternately buy and sell; remembers which
    quote (by its ts_event) caused each order."""

    def on_start(self) -> None:
        self.n = 0
        self.cause: dict[str, int] = {}

    def on_quote(self, quote: Any) -> None:
        self.n += 1
        if self.n % EVERY:
            return
        side = OrderSide.BUY if (self.n // EVERY) % 2 else OrderSide.SELL
        order = self.order(quote.symbol, side, 1)
        if order is not None:
            self.cause[order.order_id] = quote.ts_event


class Count(Strategy):
    def on_start(self) -> None:
        self.n = 0

    def on_quote(self, quote: Any) -> None:
        self.n += 1


def _session(urls: dict[str, str], strategy: Strategy, journal: Path, durable: bool = True,
             synchronous: str = "NORMAL") -> Any:
    from workbench.adapters.alpaca import alpaca_session
    from workbench.persistence import Journal

    alpaca = {"api_key": "EMULATOR-KEY", "secret_key": "EMULATOR-SECRET", "trading_url": urls["rest"],
              "data_stream_url": urls["data"], "trading_stream_url": urls["trading"], "silence_timeout": None,
              "health_interval": 5.0}
    session = alpaca_session(strategy, alpaca=alpaca, subscriptions=("quotes",), speed=1.0,
                             journal=Journal(journal, synchronous=synchronous), snapshot_interval=1.0)
    if not durable:  # undo the commit-before-send wrapper (measures the path without the journal's fsync)
        broker = session.engine.broker
        for name in ("submit_order", "cancel_order", "modify_order"):
            setattr(broker, name, getattr(type(broker), name).__get__(broker))
    arrivals: dict[int, int] = {}
    data = session.data_client
    original = data._on_message

    async def stamped(msg: dict[str, Any]) -> None:
        t = msg.get("t")
        if t is not None and msg.get("T") == "q":
            arrivals[t.to_unix_nano()] = time.monotonic_ns()
        await original(msg)

    for symbol_handlers in data.stream._handlers.values():
        for symbol in symbol_handlers:
            symbol_handlers[symbol] = stamped
    data._on_message = stamped  # type: ignore[method-assign]
    return session, arrivals


async def _wait(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step did not finish in time")
        await asyncio.sleep(0.01)


async def latency(orders: int, durable: bool, synchronous: str = "NORMAL") -> tuple[np.ndarray, np.ndarray]:
    """Tick-to-order in ms for each order (the first 5 warm connections up): (to the HTTP request read by
    the emulator, to the emulator's order handler)."""
    quotes = orders * EVERY + 20
    frame = quotes_frame(quotes, 1_000_000_000)
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=emulator_process, args=(frame, 100.0, child), daemon=True)
    proc.start()
    urls = parent.recv()
    with tempfile.TemporaryDirectory() as d:
        strategy = EveryNthQuote()
        session, arrivals = _session(urls, strategy, Path(d) / "j.sqlite", durable, synchronous)
        session.start()
        await _wait(lambda: session.runner.position >= quotes - 1, 600)
        await asyncio.sleep(0.5)
        session.stop()
        await session
    parent.send("done")
    received, handled = parent.recv()
    proc.join(10)
    pairs = [(received[oid] - arrivals[ts], handled[oid] - arrivals[ts]) for oid, ts in strategy.cause.items()
             if oid in received and oid in handled and ts in arrivals]
    out = np.array(pairs[5:], dtype=np.float64).reshape(-1, 2) / 1e6
    return out[:, 0], out[:, 1]


async def throughput(quotes: int) -> tuple[float, int, int]:
    frame = quotes_frame(quotes, 1_000_000)
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=emulator_process, args=(frame, None, child), daemon=True)
    proc.start()
    urls = parent.recv()
    with tempfile.TemporaryDirectory() as d:
        strategy = Count()
        session, arrivals = _session(urls, strategy, Path(d) / "j.sqlite")
        session.start()
        await _wait(lambda: bool(arrivals), 60)
        first = time.monotonic()
        await _wait(lambda: strategy.n >= quotes or (time.monotonic() - first > 5
                                                     and session.data_client.health.last_message_age > 2), 300)
        elapsed = time.monotonic() - first
        processed, dropped = strategy.n, session.data_client.dropped
        session.stop()
        await session
    parent.send("done")
    parent.recv()
    proc.join(10)
    return processed / elapsed, processed, dropped


def _figures(ms: np.ndarray) -> str:
    return (f"p50 {np.percentile(ms, 50):.2f} ms, p90 {np.percentile(ms, 90):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, "
            f"max {ms.max():.2f} ms")


async def main(orders: int, quotes: int, synchronous: list[str]) -> None:
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs = [(True, sync) for sync in synchronous] + [(False, "NORMAL")]
    for durable, sync in runs:
        received, handled = await latency(orders, durable, sync)
        label = (f"journal commit before each order, SQLite synchronous={sync}" if durable
                 else "without the commit before each order")
        print(f"tick-to-order through the wire ({label}), n={len(received)}:\n"
              f"  to the HTTP request read by the emulator:  {_figures(received)}\n"
              f"  to the emulator's order handler:           {_figures(handled)}")
    rate, processed, dropped = await throughput(quotes)
    print(f"data stream: {processed:,} of {quotes:,} quotes processed, {dropped} dropped, {rate:,.0f} quotes/s")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--quotes", type=int, default=200_000)
    parser.add_argument("--synchronous", nargs="+", default=["NORMAL", "FULL"], choices=["NORMAL", "FULL"],
                        help="SQLite synchronous of the journal (NORMAL: paper sessions; FULL: live sessions)")
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.quotes, args.synchronous))
