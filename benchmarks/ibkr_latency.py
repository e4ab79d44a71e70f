"""IB adapter benchmark through the TWS socket: tick-to-order latency and market-data throughput.

Everything goes through a real TCP socket on 127.0.0.1 to the TWS emulator, and through ib_async.

(a) Tick-to-order latency, adapter path: the emulator publishes a quote (t0) -> TWS tickPrice
    messages -> ib_async ``Ticker`` -> ``IbkrDataClient`` (QuoteTick) -> a consumer that orders on
    every quote -> ``IbkrExecutionClient.submit_order`` -> ib_async ``placeOrder`` -> the emulator
    parses the placeOrder (t1). Quotes every 30 ms (ib_async throttles requests to 45/s, as TWS
    allows 50/s: faster orders would wait in the client's queue).
(b) Tick-to-order latency, full session: the same through ``ibkr_session`` (LiveRunner, engine,
    risk engine, SQLite journal with ``durable_submit``: one commit before every order leaves),
    a strategy that places a 1-share limit order far from the market on every quote.
(c) Throughput: quotes per second through ``reqMktData``: the emulator runs in a child process and
    publishes quotes as fast as its socket drains; the parent's ``IbkrDataClient`` turns each
    bid/ask update into a QuoteTick; counted over the stream.

Targets (issue 12): p99 tick-to-order under 5 ms; at least 20,000 quotes/s.

Measured 2026-12-05 on the 2-core machine shared with ~8 other jobs (load average 6-10, so each
process got a fraction of a core; figures on an idle machine are better), three runs:
(a) p50 0.8-1.0 ms, p99 2.9-5.8 ms (500 samples) - around the 5 ms target, under it in two of three runs;
(b) p50 2.1-2.7 ms, p99 17-23 ms: the SQLite commit before every order (durable submit, DESIGN rule 4)
    dominates; the engine's own benchmark (live_latency.py) shows the same commit costing p99 8-11 ms
    on a quieter machine - the 5 ms target holds for the adapter path, not with a commit per order;
(c) 14,000-23,000 quotes/s wall clock (offered at 25,000/s or unpaced), none dropped; the client
    process itself spent 2.1-2.7 CPU-seconds per 200,000 quotes, i.e. 73,000-94,000 quotes per
    CPU-second (ib_async's decoder is most of it): the 20,000/s target is met whenever the client
    gets a core.

Usage: python benchmarks/ibkr_latency.py [--samples N] [--quotes N]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

T0 = 1_381_152_600_000_000_000
SECOND = 1_000_000_000


def _venue(cash: float = 1e9) -> Any:
    from workbench.emulators.core import EmulatorCore
    from workbench.emulators.tws import TwsVenue
    from workbench.feeds.stream import MarketDataStream
    from workbench.model.data import QuoteTick

    core = EmulatorCore(MarketDataStream.from_objects([QuoteTick("SPY", 100.0, 100.02, 500, 500, T0, T0)]), speed=None,
                        starting_cash=cash)
    for item in core.market.stream:
        core.publish(item)
    return TwsVenue(core)


def _timed_places(venue: Any) -> dict[float, float]:
    """Wrap ``venue.place``: limit price -> perf_counter when the placeOrder was parsed."""
    seen: dict[float, float] = {}
    original = venue.place

    def place(client_id: int, request: Any) -> Any:
        if request.limit_price is not None:
            seen.setdefault(round(request.limit_price, 4), time.perf_counter())
        return original(client_id, request)

    venue.place = place
    return seen


async def _publish_quotes(venue: Any, samples: int) -> dict[float, float]:
    """Publish ``samples + 20`` quotes 30 ms apart; returns order limit price (bid - 50) -> perf_counter."""
    from workbench.model.data import QuoteTick

    published: dict[float, float] = {}
    for i in range(samples + 20):
        bid = round(60.0 + i * 0.01, 2)
        ts = T0 + (i + 1) * SECOND
        published[round(bid - 50.0, 4)] = time.perf_counter()
        venue.publish(QuoteTick("SPY", bid, bid + 0.02, 100, 100, ts, ts))
        await asyncio.sleep(0.03)
    await asyncio.sleep(0.5)
    return published


def _stats(name: str, latencies: list[float]) -> dict[str, float]:
    ms = np.array(latencies) * 1e3
    out = {"n": len(ms), "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
           "max_ms": float(ms.max())}
    print(f"{name}: n={out['n']} p50 {out['p50_ms']:.2f} ms  p99 {out['p99_ms']:.2f} ms  max {out['max_ms']:.2f} ms")
    return out


async def adapter_latency(samples: int) -> dict[str, float]:
    from workbench.adapters.ibkr.config import IbkrConfig
    from workbench.adapters.ibkr.connection import IbkrConnection
    from workbench.adapters.ibkr.data import IbkrDataClient
    from workbench.adapters.ibkr.execution import IbkrExecutionClient
    from workbench.emulators.tws import TwsEmulator
    from workbench.model import events as ev
    from workbench.model.enums import OrderSide, OrderType
    from workbench.model.orders import Order

    venue = _venue()
    seen = _timed_places(venue)
    emulator = TwsEmulator(venue)
    port = await emulator.start()
    connection = IbkrConnection(IbkrConfig(port=port, client_id=11))
    execution = IbkrExecutionClient(connection, health_interval=None)
    execution.bind(lambda item: None)
    data = IbkrDataClient(connection, {"quotes": ["SPY"]}, health_interval=None)
    data.bind(lambda item: None)
    execution.start()
    await execution.wait_connected(20)

    async def consume() -> None:
        n = 0
        async for q in data:
            n += 1
            init = ev.OrderInitialized(ts_event=0, order_id=f"B-{n}", symbol="SPY", side=OrderSide.BUY,
                                       order_type=OrderType.LIMIT, quantity=1, limit_price=round(q.bid - 50.0, 4))
            execution.submit_order(Order(init))

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.5)
    published = await _publish_quotes(venue, samples)
    consumer.cancel()
    await data.stop()
    await execution.stop()
    await connection.disconnect()
    await emulator.stop()
    latencies = [seen[k] - t for k, t in list(published.items())[20:] if k in seen]
    return _stats("(a) tick-to-order, adapter path", latencies)


async def session_latency(samples: int) -> dict[str, float]:
    from workbench.adapters.ibkr.session import ibkr_session
    from workbench.emulators.tws import TwsEmulator
    from workbench.engine.strategy import Strategy
    from workbench.model.data import QuoteTick

    class QuoteChaser(Strategy):
        def on_quote(self, quote: QuoteTick) -> None:
            self.buy(quote.symbol, 1, limit_price=round(quote.bid - 50.0, 4))

    venue = _venue()
    seen = _timed_places(venue)
    emulator = TwsEmulator(venue)
    await emulator.start()
    with tempfile.TemporaryDirectory() as tmp:
        from workbench.risk.engine import RiskEngine

        session = ibkr_session(QuoteChaser(), emulator=emulator, journal=Path(tmp) / "j.sqlite", speed=1.0,
                               subscriptions=("quotes",), ibkr={"client_id": 12}, risk=RiskEngine([], []),
                               snapshot_interval=0)
        session.start()
        deadline = time.monotonic() + 30
        while session.execution_client.state.value != "CONNECTED" or not emulator.connections or \
                not any(c.market for c in emulator.connections):
            if time.monotonic() > deadline:
                raise RuntimeError("session did not subscribe")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        published = await _publish_quotes(venue, samples)
        session.stop()
        await session
    await emulator.stop()
    latencies = [seen[k] - t for k, t in list(published.items())[20:] if k in seen]
    return _stats("(b) tick-to-order, full session (journal, durable submit)", latencies)


def _publisher(port_queue: Any, quotes: int, rate: float) -> None:
    """Child process: an emulator that streams ``quotes`` quotes at ``rate`` per second (0: as fast as
    the socket drains)."""

    async def main() -> None:
        from workbench.emulators.tws import TwsEmulator
        from workbench.model.data import QuoteTick

        venue = _venue()
        emulator = TwsEmulator(venue)
        port_queue.put(await emulator.start())
        while not any(c.market for c in emulator.connections):
            await asyncio.sleep(0.01)
        conn = emulator.connections[0]
        loop = asyncio.get_running_loop()
        start = loop.time()
        batch = max(int(rate * 0.002), 1)  # a batch every 2 ms at ``rate`` quotes/s (0 = as fast as it drains)
        for i in range(quotes):
            bid = 100.0 + (i % 200) * 0.01
            ts = T0 + i * 1000
            venue.publish(QuoteTick("SPY", bid, bid + 0.02, 100 + i % 7, 100 + i % 5, ts, ts))
            if i % (batch if rate else 256) == 0:
                await conn.writer.drain()
                if rate:
                    ahead = start + i / rate - loop.time()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
        await conn.writer.drain()
        await asyncio.sleep(30)

    asyncio.run(main())


async def throughput(quotes: int, rate: float = 0.0) -> float:
    from workbench.adapters.ibkr.config import IbkrConfig
    from workbench.adapters.ibkr.connection import IbkrConnection
    from workbench.adapters.ibkr.data import IbkrDataClient

    ctx = mp.get_context("spawn")
    port_queue = ctx.Queue()
    child = ctx.Process(target=_publisher, args=(port_queue, quotes, rate), daemon=True)
    child.start()
    port = await asyncio.to_thread(port_queue.get, True, 60)
    connection = IbkrConnection(IbkrConfig(port=port, client_id=13))
    data = IbkrDataClient(connection, {"quotes": ["SPY"]}, health_interval=None, queue_size=1 << 22)
    data.bind(lambda item: None)
    count, first, last, cpu_first = 0, 0.0, 0.0, 0.0
    async for _ in data:
        count += 1
        now = time.perf_counter()
        if count == 1:
            first, cpu_first = now, time.process_time()
        last = now
        if count >= quotes:
            break
        if count % 10_000 == 0 and now - first > 120:
            break
    cpu = time.process_time() - cpu_first  # the client's own CPU time: the figure on an unshared core
    await data.stop()
    await connection.disconnect()
    child.terminate()
    offered = f"offered at {rate:,.0f}/s" if rate else "offered as fast as the socket drains"
    got = (count - 1) / (last - first) if last > first else 0.0
    print(f"(c) reqMktData throughput ({offered}): {count:,} quotes in {last - first:.2f} s = {got:,.0f} quotes/s "
          f"(dropped by the feed queue: {data.dropped}); client CPU {cpu:.2f} s = {(count - 1) / max(cpu, 1e-9):,.0f} "
          f"quotes per CPU-second")
    return got


async def main(samples: int, quotes: int, rate: float) -> None:
    await adapter_latency(samples)
    await session_latency(samples)
    await throughput(quotes)
    await throughput(quotes, rate)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--quotes", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=25_000.0, help="offered quotes/s of the paced run")
    args = parser.parse_args()
    asyncio.run(main(args.samples, args.quotes, args.rate))
