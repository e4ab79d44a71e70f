"""Live runtime: the TradingEngine driven by asyncio for paper and live trading.

:class:`LiveRunner` wraps one engine in an asyncio task on the *running* loop (a Jupyter kernel's
loop or the one ``cli.py`` starts with ``asyncio.run``). Feed coroutines put market data on a
bounded queue; the core task drains it and hands each item to the engine, one at a time. Control
requests (pause, resume, cancel all, flatten, kill switch) come from the API methods here or from
the journal's ``commands`` table, which is polled every ``command_poll_interval`` seconds; each is
journaled as ``CommandReceived`` and ``CommandAcknowledged`` and acknowledged in the table.

Durability (DESIGN rule 4): the engine's events go to a :class:`JournalWriter`, which commits them
in one transaction together with the session's checkpoint (the number of data items processed,
the order-id sequence and the simulated broker's book) whenever the input queue runs empty, at
least every ``max_blocking`` seconds while working through a backlog, and after every control,
timer and snapshot (group commit: at a live pace, that is after every input). A process killed
at any point therefore restarts from a consistent journal: the inputs after the last commit are
replayed and produce the same events (see :mod:`workbench.engine.reconcile`); nothing outside
the process has seen them, since the dashboard and the CLI read the journal. With
``durable_submit=True`` (external brokers) the writer also commits *before* every order, cancel
or modify leaves for the broker.

The library never blocks the loop with ``time.sleep`` and never calls ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.adapters.base import DataClient, LiveClient
from workbench.clock import ReplayClock, TimeEvent, TimerCallback
from workbench.engine.engine import TradingEngine
from workbench.engine.runtime_metrics import RuntimeMetrics
from workbench.errors import CommandError, SessionLocked, WorkbenchError
from workbench.model import commands as cmd
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.persistence.command_checks import expired
from workbench.persistence.commands import validate_command

_END = object()
_WAKE = object()  # wakes the core waiting on an empty queue when an urgent input arrives
_MARKET_TYPES = (Bar, QuoteTick, TradeTick)
_log = logging.getLogger(__name__)
_INF = math.inf


@dataclass(slots=True)
class _Control:
    command: cmd.Command | None  # None: a runner-level command (``stop``)
    name: str
    command_id: int | None = None
    source: str = "api"
    args: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # set: refused before execution (malformed, expired, interrupted); journaled as rejected


@dataclass(slots=True)
class _Timer:
    callback: TimerCallback
    event: TimeEvent


class _Tick:
    """Periodic marker: journal an account snapshot and a checkpoint."""


_TICK = _Tick()


class JournalWriter:
    """The engine's event sink in paper/live runs: buffers one step's events, commits them together.

    Parameters
    ----------
    journal : Journal
    session_id : str
    after_commit : list of callables
        Called after each successful commit (the alert outbox delivers then).
    """

    def __init__(self, journal: Any, session_id: str, after_commit: list[Callable[[], object]] | None = None) -> None:
        self.journal = journal
        self.session_id = session_id
        self.after_commit = after_commit if after_commit is not None else []
        self.buffer: list[ev.Event] = []
        self.committed = 0
        self.last_commit = 0.0  # time.monotonic() of the last commit
        self.metrics: RuntimeMetrics | None = None  # commit latency (set by the runner)

    def __call__(self, event: ev.Event) -> None:
        self.buffer.append(event)

    def commit(self, state: dict[str, Any] | None = None) -> None:
        """Append the buffered events (and ``state``) in one transaction."""
        if not self.buffer and state is None:
            return
        started = time.perf_counter()
        self.journal.append_many(self.session_id, self.buffer, state=state)
        if self.metrics is not None:
            self.metrics.journal_commit.observe(time.perf_counter() - started)
        self.committed += len(self.buffer)
        self.buffer.clear()
        self.last_commit = time.monotonic()
        for deliver in self.after_commit:  # the alert outbox: only now may anything leave the process
            deliver()


@dataclass
class RunnerStats:
    """Counters of a running session (for the terminal, widgets and benchmarks)."""

    started_wall: float = 0.0
    data_events: int = 0
    rejected: int = 0
    last_rejection: str = ""
    commands: int = 0
    last_data_wall: float = 0.0
    last_data_ts: int = 0

    @property
    def rate(self) -> float:
        """Data events per second since start (wall clock)."""
        elapsed = time.monotonic() - self.started_wall if self.started_wall else 0.0
        return self.data_events / elapsed if elapsed > 0 else 0.0


class LiveRunner:
    """Run ``engine`` on the running asyncio loop, fed by ``feed``.

    Parameters
    ----------
    engine : TradingEngine
        Built with the clock the feed paces (``feed.clock``) and the broker to trade with.
    feed : async iterable of Bar/QuoteTick/TradeTick
        E.g. :class:`~workbench.feeds.replay.ReplayFeed`, or a broker adapter's feed.
    journal : Journal | None
        When given, events are journaled (``session_id`` required) and commands are polled.
    session_id : str | None
    position : int
        Data items already processed before this run (restart).
    recorder : Recorder | None
        Records every market data item received (Parquet).
    durable_submit : bool
        Commit the journal before each order/cancel/modify reaches the broker (external brokers).
    command_poll_interval, snapshot_interval, heartbeat_interval : float
        Seconds.
    queue_size : int
        Bound of the input queue (back-pressure on the feed).
    max_blocking : float
        Seconds the core may process queued inputs before it yields to the loop once (so other
        coroutines, e.g. a notebook's widgets, keep running while the session works through a backlog).
    strategy_error_policy : str
        What a strategy's exception does: ``halt`` that strategy (default), ``pause`` the engine,
        ``keep`` going; journaled as ``StrategyFailed`` (see :mod:`workbench.engine.containment`).
    commit_interval : float
        Group commit: when the queue runs empty, the events of the data processed since the last
        commit are committed at once if this many seconds have passed since it, else by a timer when
        they have (so a commit never delays the next input by more than one commit's time, and the
        journal lags the engine by at most ``commit_interval`` plus one batch). Controls, timers and
        snapshots commit at once.
    connect_timeout : float
        Seconds a live adapter's execution client may take to connect at start (else the run fails).
    wal_checkpoint_interval : float
        Seconds between background checkpoints of a SQLite journal's write-ahead log (0: none; the
        commit that crosses SQLite's autocheckpoint threshold then does it). See
        :meth:`~workbench.persistence.journal.Journal.checkpoint_wal`.
    """

    def __init__(
        self,
        engine: TradingEngine,
        feed: Any,
        *,
        journal: Any = None,
        session_id: str | None = None,
        position: int = 0,
        recorder: Any = None,
        durable_submit: bool = False,
        command_poll_interval: float = 0.1,
        snapshot_interval: float = 1.0,
        heartbeat_interval: float = 5.0,
        queue_size: int = 4096,
        max_blocking: float = 0.01,
        commit_interval: float = 0.005,
        on_progress: Callable[[LiveRunner], None] | None = None,
        strategy_error_policy: str = "halt",
        connect_timeout: float = 30.0,
        wal_checkpoint_interval: float = 1.0,
    ) -> None:
        if journal is not None and not session_id:
            raise ValueError("a journaled LiveRunner needs a session_id")
        self.engine = engine
        engine.strategy_error_policy = strategy_error_policy  # a strategy's exception never kills the session
        self.feed = feed
        self.journal = journal
        self.session_id = session_id
        self.position = position
        self.recorder = recorder
        self.command_poll_interval = command_poll_interval
        self.snapshot_interval = snapshot_interval
        self.heartbeat_interval = heartbeat_interval
        self.on_progress = on_progress
        self.max_blocking = max_blocking
        self.commit_interval = commit_interval
        self.connect_timeout = connect_timeout
        self.wal_checkpoint_interval = wal_checkpoint_interval
        self._flush_handle: asyncio.TimerHandle | None = None
        self.stats = RunnerStats()
        self.state = "created"
        self.error: BaseException | None = None
        self._queue_size = queue_size
        self._queue: asyncio.Queue[Any] | None = None
        # controls, stop, snapshots: handled before the next queued data item, never behind a backlog
        self._urgent: collections.deque[Any] = collections.deque()
        self._task: asyncio.Task[None] | None = None
        self._aux: list[asyncio.Task[None]] = []
        self._seen_commands: set[int] = set()
        self.symbols: frozenset[str] | None = None  # symbols the session trades (checks manual commands)
        self._stop_requested = False
        self._lock_lost: SessionLocked | None = None
        self.writer: JournalWriter | None = None
        self._in_data = False  # a data item is being processed (see checkpoint(in_flight=True))
        self.metrics = RuntimeMetrics()  # monitoring, saved with the checkpoint (workbench.engine.runtime_metrics)
        self._item_started = 0.0
        self._early: list[Any] = []  # posted before the queue exists (see post())
        # live adapters' clients (adapters/base.py): they post their events to this runner
        self.clients = [c for c in (engine.broker, feed) if isinstance(c, LiveClient)]
        for client in self.clients:
            client.bind(self.post, clock=engine.now_ns)
        if isinstance(feed, DataClient):  # market data straight onto the queue (sized for a live stream)
            feed.feed_directly(self.post)
            self._queue_size = max(self._queue_size, feed.queue_size)
        if journal is not None:
            self.writer = JournalWriter(journal, session_id, engine.after_commit)  # type: ignore[arg-type]
            self.writer.metrics = self.metrics
            engine.event_sink = self.writer
            engine.defer_delivery = True
            _observe_orders(engine, self)
            if durable_submit:
                _make_durable(engine, self)
        clock = engine.clock
        if hasattr(clock, "dispatch"):
            clock.dispatch = self._on_timer
        # A paced replay's clock must not run ahead of the data being processed (when the engine lags
        # the feed): it is held at each item's time, so events are stamped in data time (the feed's
        # pacing reads the unheld clock, so a lagging engine does not slow the replay down).
        self._replay_clock = clock if isinstance(clock, ReplayClock) else None

    # --------------------------------------------------------------------------- public API
    def start(self) -> asyncio.Task[None]:
        """Schedule the session on the running loop and return its task (does not block)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name=f"workbench:{self.session_id}")
        return self._task

    def __await__(self):
        return self.start().__await__()

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    def request(self, name: str, /, **args: Any) -> None:
        """Queue a control request by name (a key of ``CONTROL_COMMANDS``: pause, resume, cancel_all,
        flatten, kill, submit_order, set_limit) with its fields, e.g. ``request("set_limit",
        name="max_order_quantity", value=500.0)``."""
        factory = cmd.CONTROL_COMMANDS.get(name)
        if factory is None:
            raise CommandError(f"unknown command {name!r}; known: {sorted(cmd.CONTROL_COMMANDS)}")
        clean = validate_command(name, {k: v for k, v in args.items() if v is not None}, self.symbols)
        self._put_control(_Control(factory(**clean), name, None, "api", clean))

    def pause(self) -> None:
        self.request("pause")

    def resume(self) -> None:
        self.request("resume")

    def cancel_all(self) -> None:
        self.request("cancel_all")

    def flatten(self) -> None:
        self.request("flatten")

    def kill(self, reason: str = "kill switch (API)") -> None:
        self.request("kill", reason=reason)

    def reset_kill_switch(self, reason: str, *, confirm: bool = False, by: str = "") -> None:
        """Queue ``reset_kill_switch`` (see :class:`~workbench.model.commands.ResetKillSwitch`); ``by``
        defaults to the OS user. The engine refuses it unless ``confirm`` and ``reason`` are given."""
        import getpass

        self.request("reset_kill_switch", reason=reason, confirm=confirm, by=by or getpass.getuser(), source="api")

    def stop(self) -> None:
        """Stop after the input being processed (and controls requested before this call); the
        session ends cleanly (journaled). Data still queued is not processed."""
        self._stop_requested = True
        if self._queue is not None:
            self._put_urgent(_END)

    def _put_control(self, control: _Control) -> None:
        if self._queue is None:
            raise RuntimeError("the session is not running: call start() first")
        self._put_urgent(control)

    def post(self, item: Any) -> None:
        """Queue an input from a live adapter (market data, an order event, any other event to
        journal, or a report bundle with ``apply_to(engine)``), in arrival order. Never drops:
        when the queue is full the item goes ahead of the queued data."""
        q = self._queue
        if q is None:
            self._early.append(item)
            return
        try:
            q.put_nowait(item)
        except asyncio.QueueFull:
            self._put_urgent(item)

    def _put_urgent(self, item: Any) -> None:
        self._urgent.append(item)
        q = self._queue
        if q is not None and q.empty():  # the core may be waiting for data: wake it
            q.put_nowait(_WAKE)

    # ----------------------------------------------------------------------------- runtime
    def _on_timer(self, callback: TimerCallback, event: TimeEvent) -> None:
        q = self._queue
        if q is None:
            return
        try:
            q.put_nowait(_Timer(callback, event))  # in order with the data queued before it
        except asyncio.QueueFull:
            self._put_urgent(_Timer(callback, event))

    def _connections(self, connected: bool) -> None:
        """Journal the feed's and the broker's connection status (shown by the dashboard's health panel)."""
        engine = self.engine
        speed = getattr(self.feed, "speed", None)
        feed_detail = type(self.feed).__name__ + (f" x{speed:g}" if speed else " max speed" if hasattr(self.feed, "speed")
                                                  else "")
        for component, detail in (("feed", feed_detail), ("broker", getattr(engine.broker, "name", "broker"))):
            if isinstance(self.feed if component == "feed" else engine.broker, LiveClient):
                continue  # a live adapter's client journals its own connection states
            event = ev.ConnectionStatusChanged(ts_event=engine.now_ns(), component=component, connected=connected,
                                               detail=detail if connected else "session ended",
                                               kind="data" if component == "feed" else "execution")
            if connected:
                engine.record(event)
            elif engine.event_sink is not None:
                # a clean end is journaled for the dashboard, but not published on the bus: the
                # broker-disconnect breaker and the alerts must not fire because the session ended
                engine.event_sink(event)

    async def run(self) -> None:
        """The session: start, process inputs until the feed ends or :meth:`stop`, then stop."""
        self._queue = asyncio.Queue(self._queue_size)
        self.state = "running"
        self.stats.started_wall = time.monotonic()
        engine = self.engine
        if self.journal is not None:
            self.journal.acquire_session(self.session_id, owner=f"workbench pid {os.getpid()}")
        try:
            engine.start()
            self._connections(True)
            self._interrupted_commands()
            for item in self._early:
                self._queue.put_nowait(item)
            self._early.clear()
            await self._start_clients()
            self._commit()
            self._aux = [asyncio.create_task(self._pump())]
            if self.journal is not None:
                self._aux.append(asyncio.create_task(self._poll()))
                if self.wal_checkpoint_interval:
                    self._aux.append(asyncio.create_task(self._wal_checkpoints()))
            if self.snapshot_interval:
                self._aux.append(asyncio.create_task(self._ticker()))
            await self._core()
            if self._lock_lost is not None:
                raise self._lock_lost
            await self._stop_clients()
            engine.stop()
            self._connections(False)
            self._commit(final=True)
            self.state = "stopped"
        except BaseException as exc:
            self.error = exc
            self.state = "failed"
            raise
        finally:
            with contextlib.suppress(Exception):
                await self._stop_clients()
            if self.state == "failed":
                with contextlib.suppress(Exception):
                    self._journal_unprocessed_events()
            if self._flush_handle is not None:
                self._flush_handle.cancel()
                self._flush_handle = None
            for t in self._aux:
                t.cancel()
            for t in self._aux:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            if self.recorder is not None:
                self.recorder.close()
            clock = engine.clock
            if hasattr(clock, "cancel_all"):
                clock.cancel_all()
            if self.journal is not None:
                with contextlib.suppress(WorkbenchError):
                    self.journal.release_session(self.session_id)

    async def _start_clients(self) -> None:
        """Connect the live adapters' execution clients before data flows (their first reconciliation
        is then the first input); the data client connects when the feed is first iterated."""
        for client in self.clients:
            if client is self.engine.broker:
                client.start()
                await client.wait_connected(self.connect_timeout)

    async def _stop_clients(self) -> None:
        """Disconnect the live adapters' clients; their last states go to the journal directly (not the
        bus: a clean end must not fire the broker-disconnect breaker)."""
        sink = self.engine.event_sink

        def journal_only(item: Any) -> None:
            if sink is not None and isinstance(item, ev.Event):
                sink(item)

        clients, self.clients = self.clients, []  # once
        for client in clients:
            client.bind(journal_only)
            await client.stop()

    def _journal_unprocessed_events(self) -> None:
        """A failed run: journal the adapter events still queued (e.g. why a connection failed) so the
        journal shows them; market data and order events are left to the restart. The commit carries
        the checkpoint: the buffer also holds the events of data already processed, and a commit of
        those without the matching data position would make a restart process that data again."""
        sink, writer, q = self.engine.event_sink, self.writer, self._queue
        if sink is None or writer is None or q is None:
            return
        while not q.empty():
            item = q.get_nowait()
            if isinstance(item, ev.Event) and not isinstance(item, ev.OrderEvent):
                sink(item)
        writer.commit(self.checkpoint())

    async def _pump(self) -> None:
        q = self._queue
        assert q is not None
        put = q.put
        async for item in self.feed:
            await put(item)
            if self._stop_requested:
                break
        await put(_END)

    async def _core(self) -> None:
        q = self._queue
        assert q is not None
        process = self._process
        get_nowait = q.get_nowait
        monotonic = time.monotonic
        max_blocking = self.max_blocking
        urgent = self._urgent
        while True:
            item = await q.get()
            if urgent and self._run_urgent():
                return
            if item is _END:
                return
            until = monotonic() + max_blocking
            if item is not _WAKE:
                process(item)
            while True:
                if urgent and self._run_urgent():
                    return
                try:
                    item = get_nowait()
                except asyncio.QueueEmpty:
                    break
                if item is _END:
                    return
                if item is not _WAKE:
                    process(item)
                if monotonic() > until:  # let the loop's other tasks (a notebook's widgets) run
                    self._flush()
                    if self.on_progress is not None:
                        self.on_progress(self)
                    await asyncio.sleep(0)
                    until = monotonic() + max_blocking
            self._flush_soon()  # the queue is empty: commit this batch's events and checkpoint (group commit)
            if self.on_progress is not None:
                self.on_progress(self)

    def _run_urgent(self) -> bool:
        """Handle the urgent inputs in arrival order; True when one of them is a stop."""
        urgent = self._urgent
        while urgent:
            item = urgent.popleft()
            if item is _END:
                return True
            self._process(item)
        return False

    def _process(self, item: Any) -> None:
        engine = self.engine
        t = type(item)
        self._item_started = time.perf_counter()
        rc = self._replay_clock
        if rc is not None and t in _MARKET_TYPES:
            rc.hold(item.ts_init)
        if t is Bar:
            if not (0.0 < item.low <= item.high < _INF and 0.0 < item.open < _INF and 0.0 < item.close < _INF
                    and 0.0 <= item.volume < _INF and type(item.ts_init) is int):
                self._reject(item, "bar with a non-finite, non-positive or inconsistent field")
                return
            self._in_data = True
            engine.on_bar(item)
        elif t is QuoteTick:
            if not (0.0 < item.bid < _INF and 0.0 < item.ask < _INF and 0.0 <= item.bid_size < _INF
                    and 0.0 <= item.ask_size < _INF and type(item.ts_init) is int):
                self._reject(item, "quote with a non-finite or non-positive field")
                return
            self._in_data = True
            engine.on_quote(item)
        elif t is TradeTick:
            if not (0.0 < item.price < _INF and 0.0 <= item.size < _INF and type(item.ts_init) is int):
                self._reject(item, "trade with a non-finite or non-positive field")
                return
            self._in_data = True
            engine.on_trade(item)
        elif t is _Control:
            self._control(item)
            return
        elif t is _Timer:
            item.callback(item.event)
            self._commit()
            return
        elif t is _Tick:
            engine.record(engine.account_state())
            self._commit()
            return
        elif isinstance(item, cmd.Command | ev.OrderEvent):
            engine.process(item)
            self._commit()
            return
        elif isinstance(item, ev.Event):  # a live adapter's connection status or health
            engine.record(item)
            self._commit()
            return
        elif hasattr(item, "apply_to"):  # a live adapter's reports: the engine reconciles (adapters/base.py)
            item.apply_to(engine)
            self._commit()
            return
        else:
            self._reject(item, f"not market data: {t.__name__}")
            return
        self._in_data = False
        self.position += 1
        stats = self.stats
        stats.data_events += 1
        stats.last_data_ts = item.ts_init
        if self.recorder is not None:
            self.recorder.record(item)

    def _reject(self, item: Any, reason: str) -> None:
        """Drop a malformed feed item: counted in ``stats.rejected``, logged, nothing journaled.

        It still advances ``position`` (it took a place in the feed), so a resumed replay skips it too.
        """
        self.position += 1
        stats = self.stats
        stats.rejected += 1
        try:
            text = repr(item)
        except Exception:  # a garbage object may not even repr
            text = f"<{type(item).__name__}>"
        stats.last_rejection = f"{reason}: {text[:200]}"
        if stats.rejected <= 10 or stats.rejected % 1000 == 0:
            _log.warning("session %s: rejected feed item #%d (%s)", self.session_id, stats.rejected,
                         stats.last_rejection)

    def checkpoint(self, in_flight: bool = False) -> dict[str, Any]:
        """What a restart needs besides the events: data position, order-id sequence, broker book.

        ``in_flight``: the commit happens while a data item is being processed (``durable_submit``,
        just before an order leaves for the broker): that item counts as processed, so a restart
        does not process it again and cannot send the same decision twice (at most once: effects of
        the item after the order that were not yet journaled are lost with the crash).
        """
        position = self.position + (1 if in_flight and self._in_data else 0)
        state: dict[str, Any] = {"position": position, "order_seq": self.engine._order_seq}
        self.metrics.queue_depth = self._queue.qsize() if self._queue is not None else 0
        state["metrics"] = self.metrics.state()
        if self.recorder is not None:
            state["recorded_upto"] = self.recorder.flushed_upto
        snap = getattr(self.engine.broker, "snapshot", None)
        if snap is not None:
            state["broker"] = snap()
        return state

    def _commit(self, final: bool = False, in_flight: bool = False) -> None:
        if self.writer is not None:
            self.writer.commit(self.checkpoint(in_flight))

    def _flush(self) -> None:
        """Group commit: the events of the data items processed since the last commit, with the checkpoint."""
        writer = self.writer
        if writer is not None and writer.buffer:
            writer.commit(self.checkpoint())

    def _flush_soon(self) -> None:
        """Commit now if ``commit_interval`` has passed since the last commit, else when it has.

        The timer runs on the loop while the core waits for input, i.e. between two inputs, so the
        checkpoint it saves always matches the events.
        """
        writer = self.writer
        if writer is None or not writer.buffer or self._flush_handle is not None:
            return
        wait = writer.last_commit + self.commit_interval - time.monotonic()
        if wait <= 0:
            writer.commit(self.checkpoint())
        else:
            self._flush_handle = asyncio.get_running_loop().call_later(wait, self._flush_timer)

    def _flush_timer(self) -> None:
        self._flush_handle = None
        q = self._queue
        if q is None or q.empty():  # else the core is about to process input: it commits when it runs dry
            try:
                self._flush()
            except SessionLocked as exc:  # taken over (fencing): the core stops, journaling nothing more
                self._lock_lost = exc
                self._put_urgent(_END)

    def _control(self, control: _Control) -> None:
        engine = self.engine
        self.stats.commands += 1
        now = engine.now_ns()
        cid = control.command_id if control.command_id is not None else -1
        engine.record(ev.CommandReceived(ts_event=now, command_id=cid, name=control.name, args=control.args,
                                         source=control.source))
        try:
            if control.error:
                detail, ok = control.error, False
            elif control.command is None:  # ``stop``: end the session after this input
                self.stop()
                detail, ok = "stopping", True
            else:
                command = control.command
                if type(command) is cmd.ResetKillSwitch and not command.source:  # journal where it came from
                    command = dataclasses.replace(command, source=control.source)
                detail, ok = engine.execute(command), True
        except Exception as exc:  # any failure is the command's failed acknowledgement, never the session's end
            detail, ok = f"{type(exc).__name__}: {exc}"[:1000], False
            if not isinstance(exc, WorkbenchError | ValueError):
                _log.exception("session %s: command %s (%s) failed", self.session_id, cid, control.name)
        # The acknowledgement, with the command's id, marks the ``commands`` row acknowledged or
        # rejected in the same transaction (journal projection): no separate acknowledge_command().
        engine.record(ev.CommandAcknowledged(ts_event=engine.now_ns(), command_id=cid, name=control.name, ok=ok,
                                             detail=detail))
        self._commit()

    async def _poll(self) -> None:
        journal = self.journal
        last_beat = time.monotonic()
        while True:
            await asyncio.sleep(self.command_poll_interval)
            for rec in journal.pending_commands(self.session_id):
                if rec.command_id in self._seen_commands:
                    continue
                self._seen_commands.add(rec.command_id)
                self._put_control(self._from_record(rec))
            if time.monotonic() - last_beat >= self.heartbeat_interval:
                try:
                    journal.heartbeat(self.session_id)
                except SessionLocked as exc:  # taken over: stop at once, journal nothing more
                    self._lock_lost = exc
                    self._put_urgent(_END)
                    return
                last_beat = time.monotonic()

    def _from_record(self, rec: Any) -> _Control:
        """The control for a ``commands`` row: checked again here (a row may be written by any code),
        refused (``error``) when malformed or expired; never raises."""
        name = rec.name if isinstance(rec.name, str) else repr(rec.name)
        source = rec.source if isinstance(rec.source, str) else "journal"
        try:
            if expired(rec.ts_expires):
                age = (time.time_ns() - rec.ts_created) / 1e9
                raise CommandError(f"expired: queued {age:.1f} s ago, valid for "
                                   f"{(rec.ts_expires - rec.ts_created) / 1e9:g} s; not carried out")
            clean = validate_command(rec.name, rec.args, self.symbols)
            factory = cmd.CONTROL_COMMANDS.get(name)
            if factory is None and name != "stop":
                raise CommandError(f"command {name!r} is not supported by a paper/live session; "
                                   f"supported: {sorted([*cmd.CONTROL_COMMANDS, 'stop'])}")
            command = None if factory is None else factory(**clean)
            return _Control(command, name, rec.command_id, source or "journal", clean)
        except Exception as exc:
            reason = str(exc) if str(exc).startswith("expired") else f"rejected: {exc}"
            return _Control(None, name, rec.command_id, source or "journal", {}, error=reason[:1000])

    def _interrupted_commands(self) -> None:
        """Commands a previous process took but did not acknowledge (it died mid-command): journaled
        as failed, never carried out a second time."""
        for rec in self.journal.received_commands(self.session_id) if self.journal is not None else ():
            self._seen_commands.add(rec.command_id)
            self._control(_Control(None, rec.name, rec.command_id, rec.source or "journal", {},
                                   error="interrupted: the session stopped while carrying it out; not run again"))

    async def _wal_checkpoints(self) -> None:
        """Checkpoint the journal's write-ahead log on a worker thread (PASSIVE: never blocks the core's
        commits), so SQLite's automatic checkpoint does not land inside an order's commit."""
        journal = self.journal
        checkpoint = getattr(journal, "checkpoint_wal", None)
        if checkpoint is None:
            return
        while True:
            await asyncio.sleep(self.wal_checkpoint_interval)
            try:
                await asyncio.to_thread(checkpoint)
            except Exception as exc:  # the backstop autocheckpoint still bounds the log
                _log.warning("session %s: background WAL checkpoint failed: %s", self.session_id, exc)

    async def _ticker(self) -> None:
        q = self._queue
        assert q is not None
        while True:
            await asyncio.sleep(self.snapshot_interval)
            self._put_urgent(_TICK)


def _observe_orders(engine: TradingEngine, runner: LiveRunner) -> None:
    """Wrap the broker's calls to observe tick-to-order latency (from the start of processing the data
    item that caused them); installed before ``_make_durable``, so a durable commit is included."""
    broker = engine.broker
    histogram = runner.metrics.tick_to_order
    for name in ("submit_order", "cancel_order", "modify_order"):
        original = getattr(broker, name, None)
        if original is None:
            continue

        def observed(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            if runner._in_data:
                histogram.observe(time.perf_counter() - runner._item_started)
            return _original(*args, **kwargs)

        setattr(broker, name, observed)


def _make_durable(engine: TradingEngine, runner: LiveRunner) -> None:
    """Wrap the broker's calls so the journal is committed before anything leaves for the broker."""
    broker = engine.broker
    for name in ("submit_order", "cancel_order", "modify_order"):
        original = getattr(broker, name)

        def wrapped(*args: Any, _original: Callable[..., None] = original, **kwargs: Any) -> None:
            runner._commit(in_flight=True)
            _original(*args, **kwargs)

        setattr(broker, name, wrapped)
