"""Stopping (and reconnecting) never hangs on a vendor loop that swallows its cancellation.

Python 3.11's ``asyncio.wait_for`` can swallow a cancellation when the awaited operation completes
at the same moment (CPython issue gh-86296, fixed in 3.12). alpaca-py's ``TradingStream._consume`` is
``while True: await asyncio.wait_for(ws.recv(), 5)``, so a cancelled trade_updates session could go
on forever and ``stop()`` awaited it forever: the CLI did not exit after SIGINT (reproduced under load,
task dump: LiveClient.stop -> supervisor 'cancelling' -> _session 'cancelling' in wait_for). The
fake session here swallows every cancellation, as that loop does when the race hits, and only ends
when its connection is closed (as ``recv`` then fails)."""

from __future__ import annotations

import asyncio
import time

from workbench.adapters.base import ConnectionState, DataClient, ReconnectPolicy


class Stubborn(DataClient):
    def __init__(self, **kwargs):
        super().__init__("stubborn.data", reconnect=ReconnectPolicy(initial=0.01, maximum=0.02), health_interval=None,
                         **kwargs)
        self.closed = False
        self.swallowed = 0

    async def _open(self) -> None:
        self.closed = False

    async def _session(self) -> None:
        while not self.closed:  # the connection is open: receive
            try:
                self.health.message_received()
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                self.swallowed += 1  # lost, as by 3.11's wait_for race
        raise ConnectionResetError("closed under the session")

    async def _close(self) -> None:
        self.closed = True

    async def _send_subscribe(self, kind, symbols):
        return None

    async def _send_unsubscribe(self, kind, symbols):
        return None


async def test_stop_returns_although_the_session_swallows_cancellation() -> None:
    client = Stubborn()
    client.bind(lambda item: None)
    client.start()
    await client.wait_connected(10)
    started = time.monotonic()
    await asyncio.wait_for(client.stop(), 30)  # before the fix: never returned
    assert time.monotonic() - started < 15
    assert client.swallowed >= 1 and client.state is ConnectionState.DISCONNECTED


async def test_silence_reconnect_goes_on_although_the_session_swallows_cancellation() -> None:
    client = Stubborn(silence_timeout=0.2)
    client.bind(lambda item: None)
    client.health.message_received = lambda: None  # open but silent: the silence detector cancels the session
    client.start()
    deadline = time.monotonic() + 30
    while client.health.silences < 1 or client.state is not ConnectionState.CONNECTED or client.health.reconnects < 1:
        assert time.monotonic() < deadline, "the silent session was never replaced"
        await asyncio.sleep(0.01)
    await asyncio.wait_for(client.stop(), 30)
