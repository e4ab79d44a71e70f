"""``/ws/live-portfolio`` on both journal backends, with events appended by another writer.

The writer is a thread appending ``AccountState`` events through :class:`Journal` (what an engine
does); the server runs on 127.0.0.1 and real ``websockets`` clients connect to it.

Checks: several concurrent clients each receive every event exactly once in seq order, across a
disconnect/reconnect with the last seq; a client whose queue overflows (tiny queue) is switched
to catch-up reads and still misses nothing; the default type filter sends portfolio events only.
On PostgreSQL the tail wakes on ``NOTIFY`` (its poll is 1 s), so pushes arrive well within the
poll period: the median commit-to-client latency is under 0.5 s.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from pathlib import Path

import pytest
import websockets

from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.service import OPERATE, TokenStore, create_app
from workbench.service import live as live_module
from workbench.service.server import running_server

TOKEN = "push-token-0123456789abcdef"
SID = "pushed"


def _writer(journal: Journal, count: int, pause: float, stop: threading.Event) -> threading.Thread:
    def run() -> None:
        for i in range(count):
            if stop.is_set():
                return
            journal.append(SID, ev.AccountState(ts_event=time.time_ns(), cash=100_000.0 + i, equity=100_000.0 + i))
            if i % 10 == 9:  # a non-portfolio event too (filtered out by the default types)
                journal.append(SID, ev.RiskEvent(ts_event=time.time_ns(), rule="demo", message="m", action="warn"))
            time.sleep(pause)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


async def _collect(ws_url: str, after_seq: int, count: int | None, until: int | None = None,
                   types: object = "all") -> list[dict]:
    got: list[dict] = []
    async with websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        request = {"session_id": SID, "after_seq": after_seq}
        if types is not None:
            request["types"] = types
        await ws.send(json.dumps(request))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "hello"
        while (count is None or len(got) < count):
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            message["received_ns"] = time.time_ns()
            got.append(message)
            if until is not None and message["seq"] >= until:
                break
    return got


async def _run_push(url: str) -> list[float]:
    journal = Journal(url)
    journal.create_session(SID, mode="paper")
    app = create_app(url, TokenStore({TOKEN: OPERATE}))
    stop = threading.Event()
    total = 220  # AccountStates; plus 22 RiskEvents = 242 events
    try:
        with running_server(app) as server:
            ws_url = server.url.replace("http", "ws") + "/ws/live-portfolio"
            writer = _writer(journal, total, 0.004, stop)

            async def reconnecting() -> list[dict]:
                first = await _collect(ws_url, 0, 30)
                return first + await _collect(ws_url, first[-1]["seq"], None, until=242)

            results = await asyncio.gather(*(reconnecting() for _ in range(4)),
                                           _collect(ws_url, 0, total, types=None))
            await asyncio.to_thread(writer.join, 60)
            last = journal.last_seq(SID)
            assert last == 242
            for got in results[:4]:
                assert [m["seq"] for m in got] == list(range(1, last + 1))
            portfolio = results[4]  # default types: the AccountStates only
            assert {m["event_type"] for m in portfolio} == {"AccountState"}
            expected = [seq for seq, e in journal.records(SID) if isinstance(e, ev.AccountState)]
            assert [m["seq"] for m in portfolio] == expected
            for message, (_, event) in zip(results[0], journal.records(SID)):
                assert journal.codec.decode(message["event"]) == event
            return [(m["received_ns"] - m["ts_written"]) / 1e9 for m in portfolio[5:]]
    finally:
        stop.set()
        journal.close()


async def test_push_resumes_without_loss_or_duplicates_on_sqlite(tmp_path: Path) -> None:
    await _run_push(f"sqlite:///{tmp_path / 'journal.sqlite'}")


@pytest.mark.postgres
async def test_push_wakes_on_notify_on_postgresql(pg_url: str) -> None:
    latencies = await _run_push(pg_url)
    print("PostgreSQL push latency median %.1f ms" % (1000 * statistics.median(latencies)))
    assert statistics.median(latencies) < 0.5  # the tail's poll is 1 s: NOTIFY woke it


async def test_slow_client_catches_up_from_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    journal = Journal(url)
    journal.create_session(SID, mode="paper")
    original = live_module.Client.__init__

    def tiny_queue(self: live_module.Client, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        self.queue = asyncio.Queue(maxsize=1)

    monkeypatch.setattr(live_module.Client, "__init__", tiny_queue)
    app = create_app(url, TokenStore({TOKEN: OPERATE}), poll_interval=0.001)
    resyncs = 0
    send = live_module.LiveHub._send
    catch_up = live_module.LiveHub._catch_up

    async def slow_send(*args: object) -> None:  # a slow consumer: the tail's batches pile up
        await asyncio.sleep(0.02)
        await send(*args)

    async def counting_catch_up(self: live_module.LiveHub, *args: object) -> None:
        nonlocal resyncs
        resyncs += 1
        await catch_up(self, *args)

    monkeypatch.setattr(live_module.LiveHub, "_send", staticmethod(slow_send))
    monkeypatch.setattr(live_module.LiveHub, "_catch_up", counting_catch_up)
    try:
        with running_server(app) as server:
            ws_url = server.url.replace("http", "ws") + "/ws/live-portfolio"
            stop = threading.Event()
            writer = _writer(journal, 150, 0.0, stop)
            got = await _collect(ws_url, 0, None, until=165)
            await asyncio.to_thread(writer.join, 60)
            assert [m["seq"] for m in got] == list(range(1, 166))
            assert resyncs > 1  # besides the first catch-up: the queue overflowed at least once
    finally:
        journal.close()
