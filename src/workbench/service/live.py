"""Push of journaled events to WebSocket clients, resumable by sequence number.

One :class:`SessionTail` per watched session reads the events appended after its cursor (``seq >
cursor``, in seq order) and hands each batch to every subscriber. It wakes

- on SQLite: every ``poll_interval`` seconds (default 10 ms; one indexed query on the session's
  ``last_seq`` when nothing changed);
- on PostgreSQL: when the journal's ``NOTIFY workbench_events`` (sent by
  :meth:`Journal.append_many` in the append transaction, so delivered on commit) names the
  session, with a slow poll (1 s) as a safety net.

Resume: a subscriber gives the last seq it has (``after_seq``). It is registered first, then reads
the journal from ``after_seq`` itself (catch-up), then takes the batches the tail hands it,
skipping seqs it already sent. Every event committed before registration is found by the
catch-up read; every event after it arrives in a batch; the per-client cursor drops duplicates.
So a client that reconnects with its last seq misses nothing and gets nothing twice. A client too
slow for its bounded queue is switched back to catch-up reads from its cursor (no loss either).

The tail only reads the journal; it never runs an engine (DESIGN rule 8).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from workbench.persistence import Journal
from workbench.persistence import schema as t
from workbench.persistence.journal import NOTIFY_CHANNEL

__all__ = ["NOTIFY_CHANNEL", "PORTFOLIO_TYPES", "Client", "LiveHub", "event_message"]

log = logging.getLogger(__name__)


PORTFOLIO_TYPES: frozenset[str] = frozenset({
    "PositionOpened", "PositionChanged", "PositionClosed", "AccountState", "OrderFilled", "AlertRaised",
    "TradingStateChanged", "SessionStarted", "SessionStopped", "ConnectionStatusChanged", "CommandAcknowledged",
    "ReconciliationCorrected", "SizeMultiplierChanged",
})
"""Event types ``/ws/live-portfolio`` streams by default: positions, P&L (account states), fills,
alerts and state changes (trading state, session, connections, commands, reconciliation, the
live size multiplier of a graduated session)."""

_PAGE = 2000
_TAIL_PAGE = 200  # rows a SQLite tail reads inline per round (a larger backlog takes several rounds)
_RESYNC = None  # queue item telling a client to catch up from the journal (it fell behind)
_e = t.events.c
_s = t.sessions.c


def event_message(seq: int, ts_written: int, type_name: str, payload: str) -> str:
    """The JSON text pushed for one event: ``{"type": "event", "seq", "ts_written", "event_type",
    "event"}`` where ``event`` is the journal payload as stored (``{"type", "v", ...fields}``)."""
    return (f'{{"type":"event","seq":{seq},"ts_written":{ts_written},"event_type":{json.dumps(type_name)},'
            f'"event":{payload}}}')


Batch = list[tuple[int, str, str, int]]  # (seq, event type, message text, ts_written ns)


_READ_AFTER = (
    sa.select(_e.seq, _e.ts_written, _e.type, _e.payload)
    .where(_e.session_id == sa.bindparam("b_session_id"), _e.seq > sa.bindparam("b_after"))
    .order_by(_e.seq).limit(sa.bindparam("b_limit"))
)
_LAST_SEQ = sa.select(_s.last_seq).where(_s.session_id == sa.bindparam("b_session_id"))


def read_after(journal: Journal, session_id: str, after_seq: int, limit: int = _PAGE) -> Batch:
    """Messages of the events with seq > ``after_seq`` (at most ``limit``), in seq order."""
    with journal.engine.connect() as conn:
        rows = conn.execute(_READ_AFTER, {"b_session_id": session_id, "b_after": after_seq, "b_limit": limit}).all()
    return [(seq, kind, event_message(seq, written, kind, payload), written) for seq, written, kind, payload in rows]


def last_seq(journal: Journal, session_id: str) -> int | None:
    """The session's last seq (None when the session does not exist)."""
    with journal.engine.connect() as conn:
        value = conn.execute(_LAST_SEQ, {"b_session_id": session_id}).scalar()
    return None if value is None else int(value)


@dataclass(eq=False)
class Client:
    """One subscriber: its cursor (last seq sent), the event types it wants and its queue of batches."""

    session_id: str
    cursor: int
    types: frozenset[str] | None = PORTFOLIO_TYPES
    queue: asyncio.Queue[Batch | None] = field(default_factory=lambda: asyncio.Queue(maxsize=256))

    def wants(self, kind: str) -> bool:
        return self.types is None or kind in self.types


class SessionTail:
    """Reads one session's new events and hands them to its clients (see the module docstring)."""

    def __init__(self, hub: LiveHub, session_id: str, cursor: int) -> None:
        self.hub = hub
        self.session_id = session_id
        self.cursor = cursor
        self.clients: set[Client] = set()
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def broadcast(self, batch: Batch) -> None:
        for client in self.clients:
            try:
                client.queue.put_nowait(batch)
            except asyncio.QueueFull:  # too slow: drop its backlog, it catches up from the journal
                while not client.queue.empty():
                    client.queue.get_nowait()
                client.queue.put_nowait(_RESYNC)

    async def run(self) -> None:
        journal = self.hub.journal
        while self.clients:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.hub.poll_interval)
            self.wake.clear()
            try:
                while True:
                    # SQLite: an indexed read of one row (tens of microseconds) costs less inline than a thread hop
                    newest = (last_seq(journal, self.session_id) if not self.hub.notify
                              else await asyncio.to_thread(last_seq, journal, self.session_id))
                    if newest is None or newest <= self.cursor:
                        break
                    batch = (read_after(journal, self.session_id, self.cursor, _TAIL_PAGE) if not self.hub.notify
                             else await asyncio.to_thread(read_after, journal, self.session_id, self.cursor))
                    if not batch:
                        break
                    self.cursor = batch[-1][0]
                    self.hub.pushed += len(batch)
                    self.broadcast(batch)
                    await asyncio.sleep(0)  # let the clients send before the next round
            except Exception as exc:  # a journal hiccup must not end the stream: retry on the next wake
                log.warning("live tail of session %s: %s", self.session_id, exc)
                await asyncio.sleep(self.hub.poll_interval)


class LiveHub:
    """The session tails of one server process.

    Parameters
    ----------
    journal : Journal
    poll_interval : float
        Seconds between two reads of a session's ``last_seq`` (SQLite); PostgreSQL wakes on
        NOTIFY and polls every ``max(poll_interval, 1.0)`` s.
    observe : callable, optional
        Called with the seconds from journal commit (``ts_written``) to the hand-over to the
        socket of every live (not catch-up) message (the push-latency metric).
    """

    def __init__(self, journal: Journal, poll_interval: float = 0.01,
                 observe: Callable[[float], None] | None = None) -> None:
        self.journal = journal
        self.observe = observe
        self.notify = journal.dialect == "postgresql"
        self.poll_interval = max(poll_interval, 1.0) if self.notify else poll_interval
        self.tails: dict[str, SessionTail] = {}
        self.pushed = 0
        self._listener: asyncio.Task[None] | None = None

    @property
    def clients(self) -> int:
        return sum(len(tail.clients) for tail in self.tails.values())

    async def subscribe(self, client: Client) -> None:
        """Register ``client`` with its session's tail (starting the tail if it is the first)."""
        tail = self.tails.get(client.session_id)
        if tail is None:
            cursor = await asyncio.to_thread(last_seq, self.journal, client.session_id) or 0
            tail = self.tails.get(client.session_id)  # another client may have started it meanwhile
            if tail is None:
                tail = self.tails[client.session_id] = SessionTail(self, client.session_id, cursor)
        tail.clients.add(client)
        if tail.task is None or tail.task.done():
            tail.task = asyncio.create_task(tail.run(), name=f"live-tail-{client.session_id}")
        if self.notify and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="live-listen")

    def unsubscribe(self, client: Client) -> None:
        tail = self.tails.get(client.session_id)
        if tail is None:
            return
        tail.clients.discard(client)
        if not tail.clients:
            self.tails.pop(client.session_id, None)
            if tail.task is not None:
                tail.task.cancel()
            tail.wake.set()

    async def stream(self, client: Client, send: Any) -> None:
        """Send ``client`` every wanted event after its cursor, then live batches, until cancelled.

        ``send`` is an ``async`` callable taking one text message.
        """
        await self.subscribe(client)
        try:
            await self._catch_up(client, send)
            while True:
                batch = await client.queue.get()
                if batch is _RESYNC:
                    await self._catch_up(client, send)
                else:
                    await self._send(client, batch, send, self.observe)
        finally:
            self.unsubscribe(client)

    async def _catch_up(self, client: Client, send: Any) -> None:
        while True:
            batch = await asyncio.to_thread(read_after, self.journal, client.session_id, client.cursor)
            await self._send(client, batch, send)
            if len(batch) < _PAGE:
                return

    @staticmethod
    async def _send(client: Client, batch: Batch, send: Any, observe: Callable[[float], None] | None = None) -> None:
        for seq, kind, text, written in batch:
            if seq <= client.cursor:
                continue
            if client.wants(kind):
                await send(text)
                if observe is not None:
                    observe((time.time_ns() - written) / 1e9)
            client.cursor = seq

    async def _listen(self) -> None:
        """PostgreSQL: LISTEN on :data:`NOTIFY_CHANNEL` and wake the named session's tail."""
        import psycopg

        url = sa.make_url(self.journal.url).set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    for tail in self.tails.values():  # anything committed while we were not listening
                        tail.wake.set()
                    async for note in conn.notifies():
                        tail = self.tails.get(note.payload)
                        if tail is not None:
                            tail.wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # server restarted: the slow poll covers the gap; listen again
                log.warning("LISTEN %s: %s; retrying in 1 s", NOTIFY_CHANNEL, exc)
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        tasks = [tail.task for tail in self.tails.values() if tail.task is not None]
        if self._listener is not None:
            tasks.append(self._listener)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tails.clear()
