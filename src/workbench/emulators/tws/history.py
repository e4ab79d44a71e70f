"""reqHistoricalData answers from the replayed data: bars before the venue's time, resampled.

Durations (``"N S|D|W|M|Y"``) and bar sizes (``"1 min"``, ``"5 mins"``, ``"1 hour"``, ``"1 day"``,
...) as the TWS API documents them; bars are aggregated from the data's own bars with the usual
OHLCV rule (first open, max high, min low, last close, summed volume) by pandas.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pandas as pd

from workbench.emulators.tws.requests import HistoricalDataRequest

_UNITS = {"S": 1, "D": 86_400, "W": 7 * 86_400, "M": 30 * 86_400, "Y": 365 * 86_400}
_BAR_UNITS = {"sec": 1, "secs": 1, "min": 60, "mins": 60, "hour": 3600, "hours": 3600, "day": 86_400,
              "days": 86_400, "week": 7 * 86_400, "weeks": 7 * 86_400}


def duration_seconds(text: str) -> int:
    """``"2 D"`` -> 172800. Raises ValueError naming the value."""
    parts = text.split()
    if len(parts) != 2 or parts[1].upper() not in _UNITS or not parts[0].isdigit():
        raise ValueError(f"durationStr {text!r}: expected '<integer> S|D|W|M|Y'")
    return int(parts[0]) * _UNITS[parts[1].upper()]


def bar_seconds(text: str) -> int:
    """``"5 mins"`` -> 300. Raises ValueError naming the value."""
    parts = text.split()
    if len(parts) != 2 or parts[1].lower() not in _BAR_UNITS or not parts[0].isdigit():
        raise ValueError(f"barSizeSetting {text!r}: expected e.g. '1 min', '5 mins', '1 hour', '1 day'")
    return int(parts[0]) * _BAR_UNITS[parts[1].lower()]


def _parse_end(text: str, now_ns: int) -> int:
    if not text:
        return now_ns
    stamp = text.replace("-", " ").replace(" UTC", "").strip()
    try:
        return int(pd.Timestamp(dt.datetime.strptime(stamp[:17], "%Y%m%d %H:%M:%S"), tz="UTC").value)
    except ValueError:
        raise ValueError(f"endDateTime {text!r}: expected 'YYYYMMDD HH:MM:SS UTC'") from None


def _frames(history: Any) -> pd.DataFrame:
    cached = getattr(history, "_tws_bars", None)
    if cached is not None:
        return cached
    bars = history.to_frames()["bars"] if hasattr(history, "to_frames") else history
    with contextlib.suppress(AttributeError):
        history._tws_bars = bars
    return bars


def historical_bars(history: Any, symbol: str, request: HistoricalDataRequest,
                    now_ns: int) -> tuple[str, str, list[tuple[object, ...]]]:
    """``(start, end, bars)`` for a historicalData (17) message; bar dates as the request's formatDate."""
    end_ns = _parse_end(request.end, now_ns)
    start_ns = end_ns - duration_seconds(request.duration) * 1_000_000_000
    size = bar_seconds(request.bar_size)
    frame = _frames(history)
    frame = frame[(frame["symbol"] == symbol) & (frame["ts_init"] <= end_ns) & (frame["ts_event"] >= start_ns)]
    out: list[tuple[object, ...]] = []
    if len(frame):
        index = pd.to_datetime(frame["ts_event"].to_numpy(), utc=True)
        data = frame[["open", "high", "low", "close", "volume"]].set_axis(index)
        agg = data.resample(f"{size}s", label="left", closed="left").agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}).dropna()
        daily = size >= 86_400
        for ts, row in agg.iterrows():
            if daily:
                date: object = ts.strftime("%Y%m%d")
            elif request.format_date == 2:
                date = int(ts.timestamp())
            else:
                date = ts.strftime("%Y%m%d %H:%M:%S UTC")
            wap = (row.high + row.low + row.close) / 3.0
            out.append((date, *(round(float(row[k]), 8) for k in ("open", "high", "low", "close", "volume")),
                        round(float(wap), 4), 1))
    fmt = "%Y%m%d %H:%M:%S UTC"
    start = pd.Timestamp(start_ns, tz="UTC").strftime(fmt)
    end = pd.Timestamp(end_ns, tz="UTC").strftime(fmt)
    return start, end, out
