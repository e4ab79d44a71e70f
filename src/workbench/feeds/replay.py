"""Replay recorded or historical data as a live stream.

:class:`ReplayFeed` turns a :class:`~workbench.feeds.stream.MarketDataStream` into an
asynchronous feed paced on a :class:`~workbench.clock.ReplayClock` at ``speed`` times real time
(``speed=None``: as fast as possible, on a :class:`~workbench.clock.SimClock`). With
``regular_hours=True`` only data inside regular sessions of the exchange calendar is replayed, and
the clock jumps over closed periods (nights, weekends, holidays) instead of waiting through them.

Replays are positional: ``start`` skips the first items (crash recovery resumes a session at
the position its journal recorded).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pandas as pd

from workbench.calendars import in_regular_session, session_bounds
from workbench.clock import NS_PER_SECOND, ReplayClock, SimClock
from workbench.feeds.stream import MarketDataStream
from workbench.model.data import MarketData


def regular_hours(frame: pd.DataFrame, exchange: str = "XNYS") -> pd.DataFrame:
    """Rows of a canonical frame whose ``ts_init`` lies inside a regular session."""
    return frame[in_regular_session(frame["ts_init"].to_numpy(np.int64), exchange)].reset_index(drop=True)


class ReplayFeed:
    """A live-paced feed over recorded data.

    Parameters
    ----------
    stream : MarketDataStream
        Data in delivery order (already filtered to regular hours if wanted: see
        :func:`regular_hours`).
    speed : float | None
        Multiple of real time (1.0 = real time, 60.0 = one minute of data per second); None or
        ``inf`` = as fast as possible.
    skip_closed : bool
        Jump the clock over closed market periods (paced replays only).
    exchange : str
        Calendar for ``skip_closed``.
    start : int
        Number of items to skip (resume position).
    yield_every : int
        At full speed, or when a paced replay falls behind its clock, yield to the event loop every
        this many items so a notebook stays responsive.
    """

    def __init__(
        self,
        stream: MarketDataStream,
        *,
        speed: float | None = 60.0,
        skip_closed: bool = True,
        exchange: str = "XNYS",
        start: int = 0,
        yield_every: int = 16,
    ) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be > 0 or None, got {speed!r}")
        self.stream = stream
        self.speed = None if speed is None or speed == float("inf") else float(speed)
        self.skip_closed = skip_closed
        self.exchange = exchange
        self.start = start
        self.yield_every = yield_every
        self.position = start  # items delivered so far (including skipped ones)
        first = stream.start_ns or 0
        if self.speed is None:
            self.clock: Any = SimClock(first)
        else:
            if start:  # a resumed replay starts at its resume point, not at the start of the data
                resume_at = next(itertools.islice(iter(stream), start, None), None)
                first = resume_at.ts_init if resume_at is not None else (getattr(stream, "end_ns", None) or first)
            self.clock = ReplayClock(self.speed, first)
            # until the first item arrives, what the session stamps (its start, connections) is at that point:
            # the paced clock would otherwise run ahead by the start-up time x speed
            self.clock.hold(first)
        self._start_hold = first if self.speed is not None else None

    def __len__(self) -> int:
        return len(self.stream)

    def _items(self) -> Iterator[MarketData]:
        it = iter(self.stream)
        for _ in range(self.start):
            next(it, None)
        return it

    async def __aiter__(self) -> AsyncIterator[MarketData]:
        if self.speed is None:
            n = 0
            every = self.yield_every
            for item in self._items():
                self.position += 1
                yield item
                n += 1
                if n == every:
                    n = 0
                    await asyncio.sleep(0)
            return
        clock: ReplayClock = self.clock
        first = True
        session_close = None
        behind = 0  # items delivered without waiting (the replay is behind the clock)
        every = self.yield_every
        for item in self._items():
            ts = item.ts_init
            if first:
                clock.rebase(ts)
                if clock.held == self._start_hold:  # the hold of __init__ ends when data flows
                    clock.hold(None)
                first = False
                if self.skip_closed:
                    session_close = session_bounds(ts - 1, self.exchange)[1]
            elif self.skip_closed and session_close is not None and ts > session_close:
                # the market was closed in between: restart the clock just before this item
                clock.rebase(ts - NS_PER_SECOND)
                session_close = session_bounds(ts - 1, self.exchange)[1]
            delay = clock.wall_delay(ts)
            if delay > 0:
                await asyncio.sleep(delay)
                behind = 0
            else:
                behind += 1
                if behind == every:  # still yield to the loop now and then (a notebook stays responsive)
                    behind = 0
                    await asyncio.sleep(0)
            self.position += 1
            clock.fed_ns = ts
            yield item
