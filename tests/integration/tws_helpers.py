"""Shared helpers for tests that drive the TWS emulator with the real ib_async client."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from workbench.brokers.fills import PerShareCommission
from workbench.emulators.core import EmulatorCore
from workbench.emulators.tws import TwsEmulator, TwsFaults, TwsVenue
from workbench.feeds.stream import MarketDataStream
from workbench.model.data import Bar, QuoteTick

T0 = 1_381_152_600_000_000_000  # 2013-10-07 13:30 UTC (09:30 New York), a trading day
SECOND = 1_000_000_000


def history(symbol: str = "SPY", minutes: int = 30, price: float = 100.0) -> MarketDataStream:
    """``minutes`` one-minute bars before T0 (prices rising by 0.01 a minute): the emulator's past."""
    bars = []
    for i in range(minutes):
        start = T0 - (minutes - i) * 60 * SECOND
        p = price + i * 0.01
        bars.append(Bar(symbol, p, p + 0.05, p - 0.05, p + 0.01, 1000.0 + i, start, start + 60 * SECOND))
    return MarketDataStream.from_objects(bars)


def make_venue(symbols: tuple[str, ...] = ("SPY",), starting_cash: float = 100_000.0) -> TwsVenue:
    """A venue whose market has 30 minutes of SPY history (replayed to T0) and no future."""
    core = EmulatorCore(history(), speed=None, commission=PerShareCommission())  # IB's US fixed rate
    for item in core.market.stream:
        core.publish(item)
    return TwsVenue(core, symbols=symbols, starting_cash=starting_cash)


def quote(venue: TwsVenue, bid: float, ask: float, *, seconds: float = 1.0, symbol: str = "SPY",
          size: float = 10_000.0) -> QuoteTick:
    """Publish a quote ``seconds`` after the venue's current time."""
    ts = venue.now_ns + int(seconds * SECOND)
    q = QuoteTick(symbol, bid, ask, size, size, ts, ts)
    venue.publish(q)
    return q


@contextlib.asynccontextmanager
async def running(venue: TwsVenue | None = None, *, faults: TwsFaults | None = None,
                  max_version: int = 178) -> AsyncIterator[TwsEmulator]:
    emulator = TwsEmulator(venue or make_venue(), faults=faults, max_version=max_version)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


async def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition`` until truthy (generous timeout: CI machines are slow and shared)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)
