"""Clocks: the engine's only source of time (int ns since epoch UTC).

* :class:`SimClock` is advanced by the data (backtests): :meth:`SimClock.advance_to` moves time
  forward and fires every timer due on the way, in time order.
* :class:`LiveClock` reads the wall clock; its timers are scheduled on the running asyncio loop
  and delivered through a callback the live runner installs, so that they are processed by the
  engine like any other event (one at a time, in order).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True)
class TimeEvent:
    """A timer firing: ``name`` of the timer and ``ts_event`` (ns) when it was due."""

    name: str
    ts_event: int


TimerCallback = Callable[[TimeEvent], None]


class Clock(Protocol):
    """What the engine and strategies need from a clock."""

    def timestamp_ns(self) -> int: ...

    def set_timer(
        self, name: str, interval_ns: int, callback: TimerCallback, start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None: ...

    def set_time_alert(self, name: str, alert_ns: int, callback: TimerCallback) -> None: ...

    def cancel_timer(self, name: str) -> None: ...


class _Timer:
    __slots__ = ("name", "interval_ns", "callback", "next_ns", "stop_ns", "canceled")

    def __init__(self, name: str, interval_ns: int, callback: TimerCallback, next_ns: int, stop_ns: int | None):
        self.name = name
        self.interval_ns = interval_ns
        self.callback = callback
        self.next_ns = next_ns
        self.stop_ns = stop_ns
        self.canceled = False


def _check_repeating(interval_ns: int) -> None:
    if interval_ns <= 0:
        raise ValueError(f"a repeating timer needs interval_ns > 0, got {interval_ns}")


class SimClock:
    """Simulated clock advanced by the data.

    Parameters
    ----------
    start_ns : int
        Initial time, ns since epoch UTC.
    """

    __slots__ = ("ts", "_heap", "_timers", "_seq", "next_timer_ns")

    def __init__(self, start_ns: int = 0) -> None:
        self.ts = start_ns
        self._heap: list[tuple[int, int, _Timer]] = []
        self._timers: dict[str, _Timer] = {}
        self._seq = 0
        self.next_timer_ns = 1 << 62  # no timer due

    def timestamp_ns(self) -> int:
        return self.ts

    def set_timer(
        self, name: str, interval_ns: int, callback: TimerCallback, start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None:
        """Fire ``callback`` every ``interval_ns`` from ``start_ns`` (default: now) + interval."""
        _check_repeating(interval_ns)
        self.cancel_timer(name)
        first = (self.ts if start_ns is None else start_ns) + interval_ns
        self._push(_Timer(name, interval_ns, callback, first, stop_ns))

    def set_time_alert(self, name: str, alert_ns: int, callback: TimerCallback) -> None:
        """Fire ``callback`` once at ``alert_ns``."""
        self.cancel_timer(name)
        self._push(_Timer(name, 0, callback, alert_ns, None))

    def cancel_timer(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.canceled = True

    def _push(self, timer: _Timer) -> None:
        self._timers[timer.name] = timer
        self._seq += 1
        heapq.heappush(self._heap, (timer.next_ns, self._seq, timer))
        self.next_timer_ns = self._heap[0][0]

    def advance_to(self, ts: int) -> None:
        """Move time to ``ts``, firing due timers in (time, creation) order. Never moves backwards."""
        heap = self._heap
        while heap and heap[0][0] <= ts:
            due, _, timer = heapq.heappop(heap)
            if timer.canceled:
                continue
            self.ts = max(self.ts, due)
            if timer.interval_ns:
                timer.next_ns = due + timer.interval_ns
                if timer.stop_ns is None or timer.next_ns <= timer.stop_ns:
                    self._seq += 1
                    heapq.heappush(heap, (timer.next_ns, self._seq, timer))
                else:
                    self._timers.pop(timer.name, None)
            else:
                self._timers.pop(timer.name, None)
            timer.callback(TimeEvent(timer.name, due))
        self.next_timer_ns = heap[0][0] if heap else 1 << 62
        if ts > self.ts:
            self.ts = ts


class LiveClock:
    """Wall-clock time with timers on the running asyncio loop.

    Timer firings are not run directly: they are handed to ``dispatch`` (installed by the live
    runner, which queues them for the engine), so the engine still handles one event at a time.
    When no dispatcher is installed the callback runs on the loop directly.
    """

    def __init__(self) -> None:
        self._handles: dict[str, asyncio.TimerHandle] = {}
        self.dispatch: Callable[[TimerCallback, TimeEvent], None] | None = None

    @staticmethod
    def timestamp_ns() -> int:
        return time.time_ns()

    def advance_to(self, ts: int) -> None:
        """No-op: live time is the wall clock."""

    def _fire(self, callback: TimerCallback, event: TimeEvent) -> None:
        if self.dispatch is not None:
            self.dispatch(callback, event)
        else:
            callback(event)

    def _schedule(self, name: str, due_ns: int, fn: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        delay = max(due_ns - time.time_ns(), 0) / NS_PER_SECOND
        self._handles[name] = loop.call_later(delay, fn)

    def set_timer(
        self, name: str, interval_ns: int, callback: TimerCallback, start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None:
        _check_repeating(interval_ns)
        self.cancel_timer(name)
        first = (self.timestamp_ns() if start_ns is None else start_ns) + interval_ns

        def tick(due: int = first) -> None:
            self._fire(callback, TimeEvent(name, due))
            nxt = due + interval_ns
            if stop_ns is None or nxt <= stop_ns:
                self._schedule(name, nxt, lambda: tick(nxt))
            else:
                self._handles.pop(name, None)

        self._schedule(name, first, tick)

    def set_time_alert(self, name: str, alert_ns: int, callback: TimerCallback) -> None:
        self.cancel_timer(name)

        def fire() -> None:
            self._handles.pop(name, None)
            self._fire(callback, TimeEvent(name, alert_ns))

        self._schedule(name, alert_ns, fire)

    def cancel_timer(self, name: str) -> None:
        handle = self._handles.pop(name, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for name in list(self._handles):
            self.cancel_timer(name)


class ReplayClock(LiveClock):
    """Live clock running at ``speed`` times real time over replayed data time.

    ``timestamp_ns() = anchor_data + (time.time_ns() - anchor_wall) * speed``. The replay feed
    re-anchors it (:meth:`rebase`) when it skips a closed market period, so timers and order
    timestamps follow the data's time, not the wall's. While the engine processes an item, the
    live runner holds it (:meth:`hold`) at the item's time, so what it stamps is in data time
    even when it lags the replay; pacing (:meth:`wall_delay`) is not affected by a hold.
    """

    def __init__(self, speed: float, start_ns: int) -> None:
        super().__init__()
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = float(speed)
        self.anchor_data = start_ns
        self.anchor_wall = time.time_ns()
        self.held: int | None = None
        self._due: dict[str, tuple[int, Callable[[], None]]] = {}  # name -> (data time due, firing)
        self._direct = False
        self.fed_ns: int | None = None  # data time of the last item the feed handed out

    def _paced_ns(self) -> int:
        return self.anchor_data + int((time.time_ns() - self.anchor_wall) * self.speed)

    def timestamp_ns(self) -> int:  # type: ignore[override]
        now = self.anchor_data + int((time.time_ns() - self.anchor_wall) * self.speed)
        held = self.held
        return held if held is not None and held < now else now

    def hold(self, data_ns: int | None) -> None:
        """Read no later than ``data_ns`` (ns) until the next hold (None: release)."""
        self.held = data_ns

    def rebase(self, data_ns: int) -> None:
        """Make ``data_ns`` the current time (jumping over a closed period); pending timers are
        re-armed on the new anchor."""
        self.anchor_data = data_ns
        self.anchor_wall = time.time_ns()
        for name, (ts, fn) in list(self._due.items()):
            self._arm(name, ts, fn)

    def advance_to(self, ts: int) -> None:
        """Fire, in due order, the timers due at or before data time ``ts`` that no wall-clock firing
        has handed to the engine yet, as :meth:`SimClock.advance_to` does (the engine calls this
        before it processes data stamped ``ts``). Each callback runs with the clock held at its due
        time, so what it stamps is the backtest's time."""
        if not self._due:
            return
        held = self.held
        self._direct = True
        try:
            while self._due:
                due, name = min((d, n) for n, (d, _) in self._due.items())
                if due > ts:
                    break
                handle = self._handles.pop(name, None)
                if handle is not None:
                    handle.cancel()
                fn = self._due.pop(name)[1]
                self.held = due
                fn()
        finally:
            self._direct = False
            self.held = held

    def _fire(self, callback: TimerCallback, event: TimeEvent) -> None:
        if self._direct:
            callback(event)
        else:
            super()._fire(callback, event)

    def wall_delay(self, data_ns: int) -> float:
        """Seconds of wall time until data time ``data_ns`` (<= 0 when already past)."""
        return (data_ns - self._paced_ns()) / self.speed / NS_PER_SECOND

    def _schedule(self, name: str, due_ns: int, fn: Callable[[], None]) -> None:
        self._arm(name, due_ns, fn)

    def _arm(self, name: str, due_ns: int, fn: Callable[[], None]) -> None:
        old = self._handles.pop(name, None)
        if old is not None:
            old.cancel()

        def run() -> None:
            self._handles.pop(name, None)
            fed = self.fed_ns
            if fed is not None and due_ns <= fed:  # data at or after it is already queued: advance_to fires it
                return
            if self._due.get(name, (None, None))[1] is fn:
                del self._due[name]
            fn()

        self._due[name] = (due_ns, fn)
        fed = self.fed_ns
        if fed is None or due_ns > fed:
            self._handles[name] = asyncio.get_running_loop().call_later(max(self.wall_delay(due_ns), 0.0), run)

    def cancel_timer(self, name: str) -> None:
        self._due.pop(name, None)
        super().cancel_timer(name)
