"""Trade ticks to time bars: vectorised for frames (:func:`trades_to_bars`), incremental for live use
(:class:`BarAggregator`). Both give identical bars for the same trades.

Bar rules (both implementations):

* An interval ``[start, start + interval)`` is aligned to midnight, UTC by default or of the wall
  clock of ``timezone`` (needed for daily bars of an exchange, e.g. ``"America/New_York"``).
  ``interval`` is between 1 second and 1 day and divides a day evenly (e.g. 1s, 5s, 1min, 15min,
  1h, 1D), so that bar boundaries are the same every day.
* ``ts_event`` = interval start, ``ts_init`` = interval end (when the bar is known).
* open/close = price of the first/last trade in the interval (in input order), high/low =
  max/min price, volume = sum of sizes.
* Sparse: an interval without trades gives no bar. One bar per symbol and interval.
* On the night a clock goes back, the repeated local hour's trades fall in the same local
  interval (pass no ``timezone`` for intraday bars to avoid that; it only matters for 1D bars).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.errors import DataError
from workbench.feeds.frames import BAR_COLUMNS, DataKind, empty_frame, to_canonical
from workbench.feeds.timestamps import NS_PER_DAY
from workbench.model.data import Bar, TradeTick


def interval_ns(interval: pd.Timedelta | str) -> int:
    """Interval in ns, checked to be within [1 s, 1 day] and to divide a day.

    Raises
    ------
    ValueError
        If the interval is outside [1 s, 1 day] or does not divide 24 hours.
    """
    step = pd.Timedelta(interval).value
    if not 1_000_000_000 <= step <= NS_PER_DAY or NS_PER_DAY % step:
        raise ValueError(f"bar interval {interval!r} must be within 1s..1D and divide a day evenly")
    return step


def bucket_bounds(ts_ns: np.ndarray, step_ns: int, timezone: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (ns since epoch UTC) of the interval holding each timestamp.

    Parameters
    ----------
    ts_ns : ndarray of int64
        ns since epoch UTC.
    step_ns : int
        Interval length in ns (see :func:`interval_ns`).
    timezone : str, optional
        Align intervals to this zone's local midnight instead of UTC midnight.
    """
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    if timezone is None:
        start = ts_ns - ts_ns % step_ns
        return start, start + step_ns
    local = pd.DatetimeIndex(pd.to_datetime(ts_ns, unit="ns", utc=True)).tz_convert(timezone).tz_localize(None)
    wall = local.as_unit("ns").asi8
    wall_start = wall - wall % step_ns
    unique, inverse = np.unique(wall_start, return_inverse=True)
    starts = _from_wall(unique, timezone)
    ends = _from_wall(unique + step_ns, timezone)
    return starts[inverse], ends[inverse]


def _from_wall(wall_ns: np.ndarray, timezone: str) -> np.ndarray:
    index = pd.DatetimeIndex(pd.to_datetime(wall_ns, unit="ns"))
    ambiguous = np.ones(len(index), dtype=bool)  # the repeated hour: take the first (DST) occurrence
    return index.tz_localize(timezone, ambiguous=ambiguous, nonexistent="shift_forward").as_unit("ns").asi8


def trades_to_bars(trades: pd.DataFrame, interval: pd.Timedelta | str, *, timezone: str | None = None) -> pd.DataFrame:
    """Aggregate a canonical trade frame into time bars (rules in the module docstring).

    Parameters
    ----------
    trades : DataFrame
        Canonical trades (:data:`~workbench.feeds.frames.TRADE_COLUMNS`), any symbols; rows are
        used in ``ts_event`` order (stable, so input order among equal times).
    interval : Timedelta or str
        e.g. ``"1s"``, ``"1min"``, ``"5min"``, ``"1h"``, ``"1D"``.
    timezone : str, optional
        Align intervals to local midnight of this zone (use for ``"1D"``).

    Returns
    -------
    DataFrame
        Canonical bars (:data:`~workbench.feeds.frames.BAR_COLUMNS`) sorted by ``ts_init`` then
        symbol, with a fresh RangeIndex.

    Raises
    ------
    ValueError
        Bad interval.
    DataError
        ``trades`` is not a canonical trade frame.
    """
    step = interval_ns(interval)
    trades = to_canonical(trades, DataKind.TRADE)
    if trades.empty:
        return empty_frame(DataKind.BAR)
    if not trades["ts_event"].is_monotonic_increasing:
        trades = trades.sort_values("ts_event", kind="stable")
    start, end = bucket_bounds(trades["ts_event"].to_numpy(), step, timezone)
    work = pd.DataFrame(
        {"symbol": trades["symbol"].to_numpy(), "ts_event": start, "ts_init": end,
         "price": trades["price"].to_numpy(), "size": trades["size"].to_numpy()}
    )
    bars = work.groupby(["symbol", "ts_event"], sort=False).agg(
        ts_init=("ts_init", "first"),
        open=("price", "first"),
        high=("price", "max"),
        low=("price", "min"),
        close=("price", "last"),
        volume=("size", "sum"),
    )
    bars = bars.reset_index().sort_values(["ts_init", "symbol"], kind="stable", ignore_index=True)
    return to_canonical(bars[list(BAR_COLUMNS)], DataKind.BAR)


@dataclass
class _OpenBar:
    start: int
    end: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def to_bar(self, symbol: str) -> Bar:
        return Bar(symbol, self.open, self.high, self.low, self.close, self.volume, self.start, self.end)


class BarAggregator:
    """Build time bars from trades one at a time (live use); same bars as :func:`trades_to_bars`.

    Parameters
    ----------
    interval : Timedelta or str
        Bar length, 1 s to 1 day, dividing a day.
    timezone : str, optional
        Align intervals to local midnight of this zone.

    Attributes
    ----------
    late_trades : int
        Trades ignored because their interval was already emitted (a trade arriving after a later
        one of the same symbol opened a new interval, or after :meth:`close_until` closed it).
        Counted, never silently absorbed into a wrong bar.

    Examples
    --------
    >>> aggregator = BarAggregator("1min")
    >>> bars = [bar for trade in trades if (bar := aggregator.update(trade))]  # doctest: +SKIP
    >>> bars += aggregator.flush()  # doctest: +SKIP
    """

    def __init__(self, interval: pd.Timedelta | str, *, timezone: str | None = None) -> None:
        self.interval = pd.Timedelta(interval)
        self.timezone = timezone
        self._step = interval_ns(interval)
        self._open: dict[str, _OpenBar] = {}
        self._closed_until: dict[str, int] = {}
        self.late_trades = 0

    def update(self, trade: TradeTick) -> Bar | None:
        """Add a trade; return the symbol's previous bar if this trade starts a new interval, else None.

        Raises
        ------
        DataError
            If the trade's price is not finite and positive or its size is negative.
        """
        price, size, ts = trade.price, trade.size, trade.ts_event
        if not (price > 0 and price != float("inf")) or not size >= 0:
            raise DataError(f"BarAggregator: trade {trade!r} has price {price} / size {size}")
        symbol = trade.symbol
        current = self._open.get(symbol)
        if current is not None and current.start <= ts < current.end:
            if price > current.high:
                current.high = price
            if price < current.low:
                current.low = price
            current.close = price
            current.volume += size
            return None
        if ts < self._closed_until.get(symbol, -(2**63)) or (current is not None and ts < current.start):
            self.late_trades += 1
            return None
        start, end = bucket_bounds(np.array([ts]), self._step, self.timezone)
        self._open[symbol] = _OpenBar(int(start[0]), int(end[0]), price, price, price, price, size)
        if current is None:
            return None
        self._closed_until[symbol] = current.end
        return current.to_bar(symbol)

    def close_until(self, ts_ns: int) -> list[Bar]:
        """Emit and forget every open bar whose interval ends at or before ``ts_ns`` (clock-driven close).

        Returns
        -------
        list[Bar]
            Sorted by ``ts_init`` then symbol.
        """
        done = [symbol for symbol, bar in self._open.items() if bar.end <= ts_ns]
        return self._emit(done)

    def flush(self) -> list[Bar]:
        """Emit and forget every open bar (end of data), sorted by ``ts_init`` then symbol."""
        return self._emit(list(self._open))

    def _emit(self, symbols: list[str]) -> list[Bar]:
        bars = []
        for symbol in symbols:
            bar = self._open.pop(symbol)
            self._closed_until[symbol] = bar.end
            bars.append(bar.to_bar(symbol))
        bars.sort(key=lambda bar: (bar.ts_init, bar.symbol))
        return bars
