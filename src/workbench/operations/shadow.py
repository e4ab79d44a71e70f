"""A paper shadow beside each graduated live session, on the same stream, and the size multiplier it steers.

**One subscription, two engines.** A broker allows one market-data connection per account (Alpaca
answers a second with 406; IB shares one socket between data and orders), so the shadow does not
subscribe: the live session's data client hands every item it emits to the shadow's feed as well
(:meth:`workbench.adapters.base.DataClient.tap`). The shadow's engine is a paper engine (the
paper session's strategy and parameters at full size, a :class:`~workbench.brokers.simulated.SimulatedBroker`
with the paper session's fill and commission models) driven by its own
:class:`~workbench.engine.live.LiveRunner` and journaled as its own session
(``parameters.shadow_of`` = the live session; the live session's ``parameters.shadow_session_id``
names the shadow). Both engines therefore see the same items with the same data times.

**The size multiplier** (:mod:`workbench.engine.sizing`): :class:`ShadowMonitor` compares what the
two sessions decided over windows of data time, and feeds each window's agreement to a
:class:`~workbench.operations.graduation.SizeSchedule` (10%, 25%, 50%, 100%; ``step_days``
agreeing windows in a row move one step up, a disagreeing window one step down). A change is
posted to the live runner as :class:`~workbench.engine.sizing.ChangeSizeMultiplier`: journaled as
``SizeMultiplierChanged`` and applied to the next orders without a restart.

Windows (``cadence``): ``"day"`` = each New York trading date of the data (evaluated once both
engines have processed data of a later date), or an int N = every N signals of the shadow
(tests, fast replays). A window is evaluated only once both engines have processed its data and
every live order of the window has been answered by the broker (or ``settle_timeout`` seconds
have passed).

Agreement of a window (:func:`window_agreement`): the decisions both sessions made, paired as
``compare_session`` pairs signals (same symbol, same data time, :func:`~workbench.analytics.matching.match_by_time`):
each signal pair agrees when both exist with the same direction; each order of the shadow's
strategy agrees when the live session's strategy placed an order on the same symbol, side and data
time and both were accepted or both refused (rejected by the broker or denied by risk). A live
order the broker rejects is therefore a disagreement, even when the signals agree. A strategy
order that needed no live order at the live size (it rounds to nothing:
:attr:`~workbench.engine.sizing.SizeMultiplier.skipped`) counts as placed. Live orders without a
shadow order (a rebalance after a step) are not counted. NaN (nothing decided) holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from workbench.adapters.session import BrokerSession
from workbench.engine.sizing import ChangeSizeMultiplier
from workbench.model import events as ev
from workbench.model.enums import OrderStatus

__all__ = ["GraduatedSession", "ShadowFeed", "ShadowMonitor", "attach_shadow", "shadow_session", "window_agreement"]

_log = logging.getLogger(__name__)
_END = object()
_NEW_YORK = "America/New_York"
_REFUSED = frozenset({OrderStatus.REJECTED, OrderStatus.DENIED})
_UNANSWERED = frozenset({OrderStatus.INITIALIZED, OrderStatus.SUBMITTED})


class ShadowFeed:
    """The shadow's feed: every item the live data client emits (``put``), in arrival order.

    ``clock`` (the shadow engine's :class:`~workbench.clock.ReplayClock`) moves to each item's time
    as the live data client moves the live engine's. ``items`` counts what was received; iteration
    ends after :meth:`close`.
    """

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.speed = getattr(clock, "speed", None)
        self.items = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._closed = False
        self._limit: int | None = None  # items to yield in all, once the live session has stopped

    def put(self, item: Any) -> None:
        if self._closed:
            return
        self.items += 1
        clock = self.clock
        if clock is not None and item.ts_init > clock.timestamp_ns():
            clock.rebase(item.ts_init)
        self._queue.put_nowait(item)

    def close(self, after: int | None = None) -> None:
        """End the feed after the items already received, or after the first ``after`` items in all
        (what the live session processed before it stopped: the shadow must not trade on data its
        live session never saw, or the two disagree after a restart)."""
        if not self._closed:
            self._closed = True
            self._limit = after
            self._queue.put_nowait(_END)

    def __len__(self) -> int:
        return self.items

    async def __aiter__(self) -> Any:
        q = self._queue
        yielded = 0
        while True:
            item = q.get_nowait() if not q.empty() else await q.get()
            if item is _END or (self._limit is not None and yielded >= self._limit):
                return
            yielded += 1
            yield item


def shadow_session(live: BrokerSession, *, strategy: str, params: dict[str, Any], starting_cash: float,
                   fill_model: Any = None, commission: Any = None, risk: Any = None, session_id: str | None = None,
                   snapshot_interval: float = 1.0) -> BrokerSession:
    """Build (not start) the paper shadow of ``live``: the same strategy and ``params`` at full size on a
    simulated broker, fed by ``live``'s data client (tapped, no second subscription), journaled in
    ``live``'s journal as session ``session_id`` (default ``<live id>-shadow``) with ``shadow_of``."""
    from workbench.clock import ReplayClock
    from workbench.engine.backtest import build_engine
    from workbench.engine.live import LiveRunner
    from workbench.session import _stop_hook, make_strategy

    if live.data_client is None:
        raise ValueError("a shadow needs the live session's data client")
    speed = float(getattr(live.engine.clock, "speed", 1.0) or 1.0)
    clock = ReplayClock(speed, live.engine.clock.timestamp_ns())
    feed = ShadowFeed(clock)
    engine = build_engine(make_strategy(strategy, params), starting_cash=starting_cash, fill_model=fill_model,
                          commission=commission, risk=risk, clock=clock, keep_events=False)
    jr = live.journal
    saved = {"strategy": strategy, "params": engine.strategies[0].params.model_dump(), "starting_cash": starting_cash,
             "broker": "simulated", "shadow_of": live.session_id, "speed": speed,
             "started_wall_ns": time.time_ns()}
    sid = jr.create_session(session_id or f"{live.session_id}-shadow", name=f"paper shadow of {live.session_id}",
                            mode="paper", strategy=strategy, parameters=saved)
    runner = LiveRunner(engine, feed, journal=jr, session_id=sid, snapshot_interval=snapshot_interval)
    runner.symbols = live.runner.symbols
    engine.record(ev.SessionStarted(ts_event=engine.now_ns(), session_id=sid, mode="paper", strategy=strategy,
                                    parameters={**saved["params"], "shadow_of": live.session_id}))
    _stop_hook(runner, sid)
    live.data_client.tap(feed.put)
    return BrokerSession(sid, engine, runner, jr, feed, [], mode="paper")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- agreement
@dataclass
class _Decisions:
    """What one engine's strategies decided, collected from its bus as it happens."""

    engine: Any
    signals: list[tuple[str, int, int]] = field(default_factory=list)  # symbol, ts, direction
    orders: list[tuple[str, str, str, int]] = field(default_factory=list)  # order id, symbol, side, ts

    def __post_init__(self) -> None:
        self.engine.bus.subscribe("events", self._on_event)

    def _on_event(self, event: Any) -> None:
        t = type(event)
        if t is ev.SignalGenerated:
            self.signals.append((event.symbol, event.ts_event, event.direction))
        elif t is ev.OrderInitialized and event.strategy_id:
            self.orders.append((event.order_id, event.symbol, event.side.value, event.ts_event))

    def status(self, order_id: str) -> OrderStatus | None:
        order = self.engine.orders.get(order_id)
        return None if order is None else order.status


def window_agreement(live_signals: list[tuple[str, int, int]], shadow_signals: list[tuple[str, int, int]],
                     live_orders: list[tuple[str, str, int, bool]],
                     shadow_orders: list[tuple[str, str, int, bool]]) -> tuple[float, int, int]:
    """Agreement (0..1, NaN when nothing was decided), agreeing and compared decisions of one window.

    Signals are ``(symbol, ts_event, direction)``; orders ``(symbol, side, ts_event, refused)``
    (see the module docstring for the rule).
    """
    from workbench.analytics.matching import match_by_time

    agreed = compared = 0
    live = pd.DataFrame(live_signals, columns=["symbol", "ts", "direction"])
    shadow = pd.DataFrame(shadow_signals, columns=["symbol", "ts", "direction"])
    for i, j in match_by_time(live, shadow, ["symbol"], "ts", 0):
        compared += 1
        agreed += i is not None and j is not None and live["direction"].iloc[i] == shadow["direction"].iloc[j]
    live_frame = pd.DataFrame(live_orders, columns=["symbol", "side", "ts", "refused"])
    shadow_frame = pd.DataFrame(shadow_orders, columns=["symbol", "side", "ts", "refused"])
    for i, j in match_by_time(live_frame, shadow_frame, ["symbol", "side"], "ts", 0):
        if j is None:
            continue  # a live-only order (rebalance to a new size) is not the shadow's decision
        compared += 1
        agreed += i is not None and bool(live_frame["refused"].iloc[i]) == bool(shadow_frame["refused"].iloc[j])
    return (agreed / compared if compared else math.nan), agreed, compared


class ShadowMonitor:
    """Compares a live session with its shadow window by window and steps the live size multiplier.

    Parameters
    ----------
    live, shadow : BrokerSession
    schedule : SizeSchedule
        Its ``multiplier`` is the live session's current one.
    cadence : "day" | int
        Windows: New York dates of the data, or every N shadow signals.
    poll : float
        Seconds between checks (wall clock).
    settle_timeout : float
        Seconds a window waits for the broker's answers to its live orders before it is evaluated anyway.

    ``evaluations`` lists ``(window end ns, agreement, agreed, compared, multiplier after)``.
    """

    def __init__(self, live: BrokerSession, shadow: BrokerSession, schedule: Any, *, cadence: str | int = "day",
                 poll: float = 0.05, settle_timeout: float = 10.0) -> None:
        if cadence != "day" and not (isinstance(cadence, int) and cadence >= 1):
            raise ValueError(f"cadence must be 'day' or a number of signals >= 1, got {cadence!r}")
        self.live, self.shadow, self.schedule = live, shadow, schedule
        self.cadence = cadence
        self.poll = poll
        self.settle_timeout = settle_timeout
        self._live = _Decisions(live.engine)
        self._shadow = _Decisions(shadow.engine)
        self._start_ts = -1  # windows are (start, end] in data time
        self._waiting_since: float | None = None
        self.evaluations: list[tuple[int, float, int, int, float]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="workbench:shadow-monitor")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll)
            try:
                self.check()
            except Exception:  # the monitor never takes the live session down
                _log.exception("shadow monitor of %s failed a check", self.live.session_id)

    def _window_end(self, final: bool) -> int | None:
        """The data time that closes the next window, once both engines have processed past it."""
        through = min(self.live.runner.stats.last_data_ts, self.shadow.runner.stats.last_data_ts)
        if final:
            through = 2**63 - 1
        if self.cadence == "day":
            first = next((s[1] for s in self._shadow.signals if s[1] > self._start_ts), None)
            first_order = next((o[3] for o in self._shadow.orders if o[3] > self._start_ts), None)
            starts = [t for t in (first, first_order) if t is not None]
            if not starts:
                return None
            day = pd.Timestamp(min(starts), unit="ns", tz="UTC").tz_convert(_NEW_YORK).normalize()
            end = int((day + pd.Timedelta(days=1)).tz_convert("UTC").value) - 1
            return end if through > end else None
        times = [s[1] for s in self._shadow.signals if s[1] > self._start_ts]
        if len(times) < int(self.cadence):
            return None
        end = sorted(times)[int(self.cadence) - 1]
        return end if through >= end else None

    def check(self, final: bool = False) -> tuple[float, float] | None:
        """Evaluate the next window if it is complete; returns ``(agreement, multiplier)`` or None.

        ``final``: both sessions have ended, the current day is complete whatever the data's time.
        """
        end = self._window_end(final)
        if end is None:
            return None
        start = self._start_ts
        in_window = [o for o in self._live.orders if start < o[3] <= end]
        if any(self._live.status(o[0]) in _UNANSWERED for o in in_window):
            now = time.monotonic()
            self._waiting_since = self._waiting_since or now
            if now - self._waiting_since < self.settle_timeout:
                return None
        self._waiting_since = None
        sizing = self.live.engine.sizing
        skipped = [] if sizing is None else [(*x, False) for x in sizing.skipped if start < x[2] <= end]
        agreement, agreed, compared = window_agreement(
            [s for s in self._live.signals if start < s[1] <= end],
            [s for s in self._shadow.signals if start < s[1] <= end],
            [(o[1], o[2], o[3], self._live.status(o[0]) in _REFUSED) for o in in_window] + skipped,
            [(o[1], o[2], o[3], self._shadow.status(o[0]) in _REFUSED)
             for o in self._shadow.orders if start < o[3] <= end])
        old = self.schedule.multiplier
        new = self.schedule.record_day(agreement)
        self._start_ts = end
        for side in (self._live, self._shadow):  # judged: keep only what later windows need
            side.signals = [x for x in side.signals if x[1] > end]
            side.orders = [x for x in side.orders if x[3] > end]
        if sizing is not None:
            sizing.skipped[:] = [x for x in sizing.skipped if x[2] > end]
        self.evaluations.append((end, agreement, agreed, compared, new))
        if new != old:
            reason = self.schedule.history[-1][2]
            self.live.runner.post(ChangeSizeMultiplier(
                new, None if math.isnan(agreement) else agreement,
                f"{reason} ({agreed}/{compared} decisions agreed up to {pd.Timestamp(end, unit='ns', tz='UTC')})",
                self.shadow.session_id))
        return agreement, new


# ------------------------------------------------------------------------------- the pair
@dataclass
class GraduatedSession(BrokerSession):
    """A live session with its paper shadow and the monitor that steps its size (see the module docstring).

    It is the live :class:`BrokerSession` (``session_id``, ``engine``, ``runner``, ``summary()`` are
    the live session's) plus ``shadow`` and ``monitor``: :meth:`start` starts all three, ``await``
    waits for the live session's end, then lets the shadow finish the items it received and stops.
    """

    shadow: BrokerSession | None = None
    monitor: ShadowMonitor | None = None
    live_first: bool = False
    """Start the shadow only once the live engine has started (a resumed pair: the shadow warms up
    on the bars the live session was warmed up on, ``runner.warmed_on``); set ``live_ready`` then."""
    live_ready: bool = False
    _combined: asyncio.Task[None] | None = None

    def start(self) -> Any:
        if self._combined is None:
            assert self.shadow is not None and self.monitor is not None
            if not self.live_first:
                self.shadow.start()
                self.monitor.start()
            self.runner.start()
            self._combined = asyncio.get_running_loop().create_task(self._run(), name=f"workbench:{self.session_id}+shadow")
        return self._combined

    async def _start_shadow_after_live(self) -> None:
        assert self.shadow is not None and self.monitor is not None
        while not self.live_ready and not self.runner.done:
            await asyncio.sleep(0.01)
        self.shadow.start()
        self.monitor.start()

    def __await__(self) -> Iterator[Any]:
        return self.start().__await__()

    async def _run(self) -> None:
        assert self.shadow is not None and self.monitor is not None
        waiting = asyncio.ensure_future(self._start_shadow_after_live()) if self.live_first else None
        try:
            await self.runner.start()
        finally:
            if waiting is not None:
                await waiting
            stats = self.runner.stats  # the shadow processes what the live session took from the feed, no more
            self.shadow.feed.close(after=stats.data_events + stats.rejected)
            with contextlib.suppress(Exception):
                await self.shadow.runner.start()
            with contextlib.suppress(Exception):
                while self.monitor.check(final=True) is not None:  # the windows the last items completed
                    pass
            await self.monitor.stop()

    @property
    def multiplier(self) -> float:
        """The live session's current size multiplier."""
        sizing = self.engine.sizing
        return 1.0 if sizing is None else float(sizing.multiplier)

    def summary(self) -> dict[str, Any]:
        """The live session's summary plus ``multiplier``, the monitor's ``evaluations`` count and the
        shadow's summary (``shadow``)."""
        out = super().summary()
        out["multiplier"] = self.multiplier
        out["evaluations"] = len(self.monitor.evaluations) if self.monitor is not None else 0
        if self.shadow is not None:
            out["shadow"] = self.shadow.summary()
        return out


def attach_shadow(live: BrokerSession, schedule: Any, *, strategy: str, params: dict[str, Any],
                  starting_cash: float, fill_model: Any = None, commission: Any = None, risk: Any = None,
                  cadence: str | int = "day", shadow_session_id: str | None = None,
                  snapshot_interval: float = 1.0, settle_timeout: float = 10.0) -> GraduatedSession:
    """Journal ``live``'s first size (the schedule's multiplier), build its shadow and monitor, and
    return them as one :class:`GraduatedSession` (not started)."""
    shadow = shadow_session(live, strategy=strategy, params=params, starting_cash=starting_cash, fill_model=fill_model,
                            commission=commission, risk=risk, session_id=shadow_session_id,
                            snapshot_interval=snapshot_interval)
    ChangeSizeMultiplier(schedule.multiplier, None, f"graduated: first step {schedule.multiplier:g}",
                         shadow.session_id).apply_to(live.engine)
    monitor = ShadowMonitor(live, shadow, schedule, cadence=cadence, settle_timeout=settle_timeout)
    base = {f.name: getattr(live, f.name) for f in fields(BrokerSession)}
    return GraduatedSession(**base, shadow=shadow, monitor=monitor)
