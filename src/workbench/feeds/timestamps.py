"""Turning timestamp columns of market-data files into int64 nanoseconds since the epoch, UTC.

Accepted forms of a timestamp column:

* ISO-8601 text with an offset (``2013-10-07T09:30:00-04:00``, ``...Z``): exact instant.
* Text or datetimes without an offset: local time in the ``timezone`` passed by the caller
  (required: a naive time is never assumed to be UTC silently).
* Date-only text or dates (``2013-10-07``, ``1/4/1999``): a trading date; see :func:`session_times`.
* Integers since the epoch; the unit is inferred from the magnitude of the largest value:
  < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, otherwise nanoseconds.

Empty values become :data:`NAT` (the int64 minimum, ``pd.NaT.value``) and are handled by the
``missing`` validation check; text that cannot be parsed raises :class:`DataError` at once (a
wrong format is not a gap in the data).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from workbench.errors import DataError

NAT = np.iinfo(np.int64).min
"""int64 value standing for a missing timestamp (equals ``pd.NaT.value``)."""

_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
NS_PER_DAY = 86_400_000_000_000


@dataclass(frozen=True)
class ParsedTimes:
    """Result of :func:`parse_times`.

    Attributes
    ----------
    ns : ndarray of int64
        ns since epoch UTC; :data:`NAT` where empty. For date-only input: UTC midnight of the date.
    date_only : bool
        True when the column held dates without a time of day.
    """

    ns: np.ndarray
    date_only: bool


def parse_times(column: pd.Series, *, source: str, field: str, timezone: str | None) -> ParsedTimes:
    """Parse a timestamp column (see the module docstring for the accepted forms).

    Parameters
    ----------
    column : Series
        Raw values; its index holds the 1-based source row numbers used in messages.
    source, field : str
        File name and column name, for messages.
    timezone : str, optional
        IANA zone of naive timestamps, e.g. ``"America/New_York"`` or ``"UTC"``.

    Raises
    ------
    DataError
        If a value cannot be parsed, offsets are present on some rows only, or timestamps are
        naive and ``timezone`` is None.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return ParsedTimes(_ns(column.dt.tz_convert("UTC")), False)
    if pd.api.types.is_datetime64_dtype(dtype):
        return ParsedTimes(_ns(_localize(column, timezone, source, field)), False)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return ParsedTimes(_epoch_numbers(column), False)
    non_null = column.dropna()
    if len(non_null) and all(isinstance(value, dt.date) for value in non_null.iloc[:100]):
        if isinstance(non_null.iloc[0], dt.datetime):
            parsed = pd.to_datetime(column)
            return parse_times(parsed, source=source, field=field, timezone=timezone)
        return ParsedTimes(_ns(pd.to_datetime(column).dt.tz_localize("UTC")), True)
    text = column.astype("string")
    has_time = text.str.contains(":", regex=False).fillna(False)
    if not has_time.any():
        parsed = _parse_text(text, source, field, utc=False)
        return ParsedTimes(_ns(parsed.dt.tz_localize("UTC")), True)
    has_offset = text.str.contains(_OFFSET).fillna(False)
    present = text.notna()
    if has_offset[present].all():
        return ParsedTimes(_ns(_parse_text(text, source, field, utc=True)), False)
    if has_offset.any():
        first = has_offset[present].idxmin()
        _parse_text(text[[first]], source, field, utc=False)  # raises "is not a timestamp" for garbage
        raise DataError(
            f"{source}: data row {first}: {field}={text[first]!r} has no UTC offset while other rows have one"
        )
    return ParsedTimes(_ns(_localize(_parse_text(text, source, field, utc=False), timezone, source, field)), False)


def _parse_text(text: pd.Series, source: str, field: str, *, utc: bool) -> pd.Series:
    present = text.notna()
    best = pd.to_datetime(text, format="ISO8601", utc=utc, errors="coerce")
    if (best.isna() & present).any():
        try:
            inferred = pd.to_datetime(text, utc=utc, errors="coerce")
        except (ValueError, TypeError):
            inferred = best
        if (inferred.isna() & present).sum() < (best.isna() & present).sum():
            best = inferred
    bad = best.isna() & present
    if bad.any():
        first = bad.idxmax()
        raise DataError(
            f"{source}: data row {first}: {field}={text[first]!r} is not a timestamp "
            f"({int(bad.sum())} rows fail; data rows are 1-based, header not counted)"
        )
    return best


def _localize(column: pd.Series, timezone: str | None, source: str, field: str) -> pd.Series:
    if timezone is None:
        example = column.dropna().iloc[0] if column.notna().any() else None
        raise DataError(
            f"{source}: {field} holds timestamps without a UTC offset (e.g. {example}); "
            f"pass timezone='UTC' or the exchange's zone, e.g. timezone='America/New_York'"
        )
    try:
        return column.dt.tz_localize(timezone).dt.tz_convert("UTC")
    except (ValueError, TypeError) as exc:  # ambiguous / non-existent local times, unknown zone
        raise DataError(f"{source}: cannot place {field} in timezone {timezone!r}: {exc}") from exc


def _ns(column: pd.Series) -> np.ndarray:
    """tz-aware datetime Series -> int64 ns with NAT for missing."""
    return column.dt.as_unit("ns").array.asi8.copy()


def _epoch_numbers(column: pd.Series) -> np.ndarray:
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    largest = np.abs(finite).max() if finite.size else 0.0
    factor = 1 if largest >= 1e17 else 1_000 if largest >= 1e14 else 1_000_000 if largest >= 1e11 else 1_000_000_000
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.to_numpy(dtype=np.int64) * factor
    out = np.full(values.shape, NAT, dtype=np.int64)
    ok = np.isfinite(values)
    out[ok] = np.round(values[ok] * factor).astype(np.int64)
    return out


def session_times(day_ns: np.ndarray, *, calendar: str | None, timezone: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of the trading day for each date.

    Parameters
    ----------
    day_ns : ndarray of int64
        UTC midnight of each date (as from :func:`parse_times` with ``date_only``); NAT allowed.
    calendar : str, optional
        exchange_calendars name, e.g. ``"XNYS"``. Dates that are sessions of this calendar get
        the session's open and close (so a half day ends at 13:00 New York time).
    timezone : str, optional
        Zone for the fallback; defaults to the calendar's zone, else UTC.

    Returns
    -------
    (open_ns, close_ns) : tuple of ndarray of int64
        ns since epoch UTC. Fallback for dates that are not sessions (or without a calendar):
        local midnight of the date and local midnight of the next date.
    """
    days = pd.DatetimeIndex(pd.to_datetime(day_ns, unit="ns"))
    opens = np.full(len(days), NAT, dtype=np.int64)
    closes = np.full(len(days), NAT, dtype=np.int64)
    valid = day_ns != NAT
    zone = timezone
    if calendar is not None and valid.any():
        exchange = _calendar(calendar, days[valid].min(), days[valid].max())
        zone = zone or str(exchange.tz)
        schedule = exchange.schedule
        found_open = schedule["open"].reindex(days)
        found_close = schedule["close"].reindex(days)
        hit = found_open.notna().to_numpy()
        opens[hit] = _ns(found_open[hit])
        closes[hit] = _ns(found_close[hit])
        valid &= ~hit
    if valid.any():
        local = days[valid].tz_localize(zone or "UTC")
        opens[valid] = local.as_unit("ns").asi8
        closes[valid] = (local + pd.DateOffset(days=1)).as_unit("ns").asi8
    return opens, closes


@lru_cache(maxsize=16)
def _calendar(name: str, start: pd.Timestamp, end: pd.Timestamp) -> xcals.ExchangeCalendar:
    try:
        with warnings.catch_warnings():  # exchange_calendars 4.x uses Series.values (deprecated in pandas 3.1)
            warnings.filterwarnings("ignore", message="Series.values returning", category=Warning)
            return xcals.get_calendar(name, start=start, end=end)
    except Exception as exc:  # exchange_calendars raises several types for bad names and ranges
        raise DataError(f"cannot build exchange calendar {name!r} for {start.date()}..{end.date()}: {exc}") from exc
