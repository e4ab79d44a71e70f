"""Daily bars as a panel: one wide frame per field (rows = sessions, columns = symbols).

Factors and filters work on whole columns at once, so a scan over hundreds of symbols is a handful
of vectorized pandas/numpy operations instead of a loop per symbol.

Shapes and units
----------------
``open``, ``high``, ``low``, ``close`` (currency) and ``volume`` (shares) are ``float64`` frames
indexed by session date (``DatetimeIndex``, midnight, no time zone; the exchange-local trading
date) with one column per symbol, sorted. A symbol without a bar on a session has NaN there
(sparse data is never forward-filled). ``known_ns`` holds, per row, when the row became known
(the latest bar end, ``ts_init``, of that session, ns since epoch UTC), so :meth:`Panel.as_of`
cuts the panel at what a live scan at that time could have seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.errors import DataError

__all__ = ["FIELDS", "Panel"]

FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
"""The fields of a panel, each a wide frame."""

_NY = "America/New_York"


@dataclass(frozen=True)
class Panel:
    """Wide daily frames of a universe; build with :meth:`from_bars`.

    Attributes
    ----------
    open, high, low, close, volume : DataFrame
        Sessions x symbols (see the module docstring).
    known_ns : ndarray of int64
        Per session, when its bars were known (ns since epoch UTC), non-decreasing.
    """

    open: pd.DataFrame
    high: pd.DataFrame
    low: pd.DataFrame
    close: pd.DataFrame
    volume: pd.DataFrame
    known_ns: np.ndarray

    @classmethod
    def from_bars(cls, bars: pd.DataFrame, *, time_zone: str = _NY) -> Panel:
        """Pivot a canonical bar frame (see :mod:`workbench.feeds.frames`) of daily bars.

        The session date of a bar is the local date (``time_zone``) of its start ``ts_event``.

        Raises
        ------
        DataError
            If ``bars`` lacks a canonical column, is empty, or has two bars of one symbol on one date.
        """
        missing = [c for c in ("ts_event", "ts_init", "symbol", *FIELDS) if c not in bars.columns]
        if missing:
            raise DataError(f"panel: bar frame lacks column(s) {missing}")
        if bars.empty:
            raise DataError("panel: the bar frame is empty")
        local = pd.DatetimeIndex(pd.to_datetime(bars["ts_event"].to_numpy(), utc=True)).tz_convert(time_zone)
        day_codes, days = pd.factorize(local.tz_localize(None).normalize(), sort=True)
        symbol_codes, symbols = pd.factorize(bars["symbol"].to_numpy(), sort=True)
        cell = day_codes.astype(np.int64) * len(symbols) + symbol_codes
        seen = np.zeros(len(days) * len(symbols), dtype=np.int64)
        np.add.at(seen, cell, 1)
        if (seen > 1).any():
            k = int(np.flatnonzero(seen > 1)[0])
            day, symbol = days[k // len(symbols)], symbols[k % len(symbols)]
            raise DataError(f"panel: two bars of {symbol} on {day.date()} (daily bars expected)")
        index = pd.DatetimeIndex(days, name="date")
        columns = pd.Index(np.asarray(symbols, dtype=object))
        frames = {}
        for name in FIELDS:
            grid = np.full(len(days) * len(symbols), np.nan)
            grid[cell] = bars[name].to_numpy(dtype=float)
            frames[name] = pd.DataFrame(grid.reshape(len(days), len(symbols)), index=index, columns=columns)
        known = np.full(len(days), np.iinfo(np.int64).min)
        np.maximum.at(known, day_codes, bars["ts_init"].to_numpy(dtype=np.int64))
        known_ns = np.maximum.accumulate(known)
        return cls(known_ns=known_ns, **frames)

    @property
    def symbols(self) -> list[str]:
        """Symbols (columns), sorted."""
        return list(self.close.columns)

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Session dates (rows)."""
        return self.close.index  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.close)

    def _rows(self, stop: int) -> Panel:
        return Panel(*(getattr(self, f).iloc[:stop] for f in FIELDS), known_ns=self.known_ns[:stop])

    def tail(self, rows: int) -> Panel:
        """The last ``rows`` sessions (all of them when there are fewer)."""
        if rows >= len(self):
            return self
        return Panel(*(getattr(self, f).iloc[-rows:] for f in FIELDS), known_ns=self.known_ns[-rows:])

    def as_of(self, ts_ns: int) -> Panel:
        """The sessions whose bars were all known at ``ts_ns`` (ns since epoch UTC)."""
        return self._rows(int(np.searchsorted(self.known_ns, ts_ns, side="right")))

    def until(self, date: str | pd.Timestamp) -> Panel:
        """The sessions up to and including ``date`` (a session date)."""
        return self._rows(int(self.dates.searchsorted(pd.Timestamp(date), side="right")))

    def select(self, symbols: Iterable[str]) -> Panel:
        """Only ``symbols`` (in the given order).

        Raises
        ------
        DataError
            If a symbol has no column in the panel.
        """
        wanted = list(symbols)
        unknown = [s for s in wanted if s not in self.close.columns]
        if unknown:
            raise DataError(f"panel: no data for symbol(s) {unknown}")
        return Panel(*(getattr(self, f)[wanted] for f in FIELDS), known_ns=self.known_ns)

    def returns(self) -> pd.DataFrame:
        """Simple close-to-close returns (sessions x symbols); NaN where either close is missing."""
        return self.close / self.close.shift(1) - 1.0

    def last_valid(self, field: str = "close") -> pd.Series:
        """Per symbol, the latest non-missing value of ``field``."""
        return getattr(self, field).ffill().iloc[-1] if len(self) else pd.Series(dtype=float)

    def tiled(self, copies: int, *, labels: Sequence[str] | None = None) -> Panel:
        """``copies`` copies of every column under labelled symbols (``SPY~1``, ...), for benchmarks."""
        names = labels or [f"~{i}" for i in range(copies)]
        out = {}
        for f in FIELDS:
            frame = getattr(self, f)
            out[f] = pd.concat([frame.add_suffix(s) for s in names[:copies]], axis=1)
        return Panel(known_ns=self.known_ns, **out)
