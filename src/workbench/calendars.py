"""Exchange sessions from ``exchange_calendars``, as int ns since epoch UTC.

Sessions are loaded once per exchange (1990-2035) and searched with numpy, so a lookup is a
binary search, cheap enough to call whenever an order is accepted.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_START, _END = "1990-01-02", "2035-12-31"


@lru_cache(maxsize=8)
def _sessions(exchange: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import warnings

    import exchange_calendars as xcals

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar(exchange, start=_START, end=_END)
    opens = np.asarray(cal.opens_nanos, dtype=np.int64)
    closes = np.asarray(cal.closes_nanos, dtype=np.int64)
    days = np.asarray(cal.sessions_nanos, dtype=np.int64)
    return days, opens, closes


def session_close_after(ts_ns: int, exchange: str = "XNYS") -> int:
    """Close (ns) of the session in progress at ``ts_ns``, or of the next session if none is.

    A timestamp exactly at a close belongs to the next session.
    """
    _, _, closes = _sessions(exchange)
    i = int(np.searchsorted(closes, ts_ns, side="right"))
    if i >= len(closes):
        raise ValueError(f"timestamp {ts_ns} is beyond the {exchange} calendar ({_END})")
    return int(closes[i])


def session_bounds(ts_ns: int, exchange: str = "XNYS") -> tuple[int, int]:
    """(open, close) in ns of the session :func:`session_close_after` picks for ``ts_ns``."""
    _, opens, closes = _sessions(exchange)
    i = int(np.searchsorted(closes, ts_ns, side="right"))
    return int(opens[i]), int(closes[i])


def next_open_at_or_after(ts_ns: int, exchange: str = "XNYS") -> int:
    """Open (ns) of the first session whose open is at or after ``ts_ns``."""
    _, opens, _ = _sessions(exchange)
    i = int(np.searchsorted(opens, ts_ns, side="left"))
    if i >= len(opens):
        raise ValueError(f"timestamp {ts_ns} is beyond the {exchange} calendar ({_END})")
    return int(opens[i])


def is_open(ts_ns: int, exchange: str = "XNYS") -> bool:
    """True when ``ts_ns`` is inside a regular session (open <= ts < close)."""
    open_ns, close_ns = session_bounds(ts_ns, exchange)
    return open_ns <= ts_ns < close_ns


def session_label(ts_ns: int, exchange: str = "XNYS") -> int:
    """Session date (ns of its midnight UTC label) that :func:`session_close_after` picks."""
    days, _, closes = _sessions(exchange)
    return int(days[int(np.searchsorted(closes, ts_ns, side="right"))])


def in_regular_session(ts_ns: np.ndarray, exchange: str = "XNYS") -> np.ndarray:
    """Boolean mask: ``open < ts <= close`` of some regular session (ts = when data became known).

    A bar's ``ts_init`` (its end) or a quote's time is inside the session when it falls after the
    open and no later than the close, so the 09:30 bar (known at 09:31) and the closing quote at
    16:00 are in, the pre-market quote stamped 09:30:00 is out.
    """
    _, opens, closes = _sessions(exchange)
    ts = np.asarray(ts_ns, dtype=np.int64)
    i = np.searchsorted(closes, ts, side="left")
    inside = i < len(closes)
    i = np.minimum(i, len(closes) - 1)
    return inside & (ts > opens[i]) & (ts <= closes[i])
