"""When scans run: wall-clock times in the exchange's zone, on trading days only, on the session's clock.

A :class:`ScanSchedule` lists times of day (``"09:00"``, ``"10:00"``) in ``time_zone``
(America/New_York by default). The candidate times come from APScheduler's ``CronTrigger``
(Monday-Friday, DST-aware); a time fires only on a session of the exchange calendar
(``exchange_calendars``: holidays skipped), and on a half day only when it is before that day's
early close (a 13:00 close skips a 14:00 scan; a 09:00 pre-market scan still runs).

:meth:`ScanSchedule.attach` arms the next time as a one-shot alert on any engine clock
(``SimClock`` in a backtest, ``ReplayClock`` in a replayed paper session, ``LiveClock`` live),
re-arming after each one. So a replay fires its 09:00 and 10:00 scans at those *data* times,
deterministically, and a live session at wall-clock time.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from workbench.errors import ConfigError

__all__ = ["ScanSchedule"]


@lru_cache(maxsize=4)
def _calendar(exchange: str) -> Any:
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xcals.get_calendar(exchange, start="1990-01-02", end="2035-12-31")


@lru_cache(maxsize=4)
def _sessions(exchange: str) -> tuple[np.ndarray, np.ndarray]:
    cal = _calendar(exchange)
    days = np.asarray(cal.sessions.asi8, dtype=np.int64)  # midnight labels (ns)
    closes = np.asarray(cal.closes_nanos, dtype=np.int64)
    return days, closes


def _parse_time(text: str) -> tuple[int, int]:
    try:
        t = dt.time.fromisoformat(text)
    except (TypeError, ValueError):
        raise ConfigError(f"schedule.times: {text!r} is not a time of day (HH:MM)") from None
    return t.hour, t.minute


class ScanSchedule:
    """Scan times of day on an exchange's trading days.

    Parameters
    ----------
    times : sequence of str
        ``"HH:MM"`` in ``time_zone``.
    time_zone : str
        IANA zone of ``times`` (the exchange's).
    exchange : str
        ``exchange_calendars`` code (``XNYS``).

    Raises
    ------
    ConfigError
        A time that does not parse, or an unknown time zone.
    """

    def __init__(self, times: Sequence[str] = ("09:00", "10:00"), *, time_zone: str = "America/New_York",
                 exchange: str = "XNYS") -> None:
        if not times:
            raise ConfigError("schedule.times: at least one time is needed")
        self.times = tuple(times)
        self.time_zone = time_zone
        self.exchange = exchange
        try:
            triggers = [CronTrigger(day_of_week="mon-fri", hour=h, minute=m, timezone=time_zone)
                        for h, m in map(_parse_time, self.times)]
        except Exception as exc:  # zoneinfo / pytz errors for an unknown zone
            raise ConfigError(f"schedule.time_zone: {time_zone!r}: {exc}") from None
        self._trigger = OrTrigger(triggers) if len(triggers) > 1 else triggers[0]

    def _candidate_after(self, ts_ns: int) -> int | None:
        now = pd.Timestamp((ts_ns // 1000 + 1) * 1000, tz="UTC").to_pydatetime()  # strictly after, in microseconds
        nxt = self._trigger.get_next_fire_time(None, now)
        return None if nxt is None else int(pd.Timestamp(nxt).value)

    def is_scan_time(self, ts_ns: int) -> bool:
        """True when ``ts_ns`` is a local scan time falling on a session before its close."""
        days, closes = _sessions(self.exchange)
        local = pd.Timestamp(ts_ns, tz="UTC").tz_convert(self.time_zone)
        label = pd.Timestamp(local.date()).value
        i = int(np.searchsorted(days, label))
        return i < len(days) and days[i] == label and ts_ns < closes[i]

    def next_after(self, ts_ns: int) -> int:
        """The first scan time strictly after ``ts_ns`` (ns since epoch UTC).

        Raises
        ------
        ValueError
            Beyond the exchange calendar's range.
        """
        t = ts_ns
        for _ in range(10_000):
            cand = self._candidate_after(t)
            if cand is None:
                break
            if self.is_scan_time(cand):
                return cand
            t = cand
        raise ValueError(f"no scan time after {pd.Timestamp(ts_ns, tz='UTC')} in the {self.exchange} calendar")

    def between(self, start_ns: int, end_ns: int) -> list[int]:
        """Every scan time in ``[start_ns, end_ns]``."""
        out = []
        t = start_ns - 1
        while True:
            t = self.next_after(t)
            if t > end_ns:
                return out
            out.append(t)

    def attach(self, clock: Any, callback: Callable[[int], None], *, name: str = "scan",
               after_ns: int | None = None) -> int:
        """Arm ``callback(ts_ns)`` at each scan time on ``clock`` (anything with ``set_time_alert``
        and ``timestamp_ns``); returns the first time armed."""
        start = clock.timestamp_ns() if after_ns is None else after_ns

        def fire(event: Any) -> None:
            due = int(event.ts_event if hasattr(event, "ts_event") else event)
            clock.set_time_alert(name, self.next_after(due), fire)
            callback(due)

        first = self.next_after(start)
        clock.set_time_alert(name, first, fire)
        return first
