"""Round trips of a running session, kept up to date from the new fills only.

The Performance panel showed the round trips of *every* fill, recomputed at each new fill: for a
session with thousands of fills that is a frame of them all per fill, and the closing-order lookup
made it quadratic (a long session's page fell seconds behind). A round trip never spans a moment
when every symbol's position is flat, so :class:`RoundTripBook` keeps a cursor at the last such
fill: the trips before it are final (the newest ``keep`` kept whole, all of them in per-symbol
totals), the trips after it are recomputed from the fills after the cursor. The results equal
:func:`~workbench.widgets.performance.session_round_trips` and
:func:`~workbench.widgets.performance.symbol_performance` of all fills (tested against them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench.persistence import schema

__all__ = ["RoundTripBook", "last_flat_row"]

EPSILON = 1e-9
"""Shares below which a position counts as flat."""


def last_flat_row(fills: pd.DataFrame) -> int:
    """Row number (0-based) of the last fill of ``fills`` after which every symbol's position is flat,
    starting from flat; -1 when there is none. Columns ``symbol``, ``side`` (BUY/SELL), ``quantity``."""
    positions: dict[str, float] = {}
    open_symbols = 0
    last = -1
    for i, (symbol, side, quantity) in enumerate(zip(fills["symbol"].tolist(), fills["side"].tolist(),
                                                     fills["quantity"].tolist(), strict=True)):
        before = positions.get(symbol, 0.0)
        after = before + (float(quantity) if str(side) == "BUY" else -float(quantity))
        positions[symbol] = after
        open_symbols += (abs(after) > EPSILON) - (abs(before) > EPSILON)
        if open_symbols == 0:
            last = i
    return last


def _accumulate(totals: dict[str, list[float]], trips: pd.DataFrame) -> None:
    """Add ``trips`` to per-symbol ``[trades, wins, pnl, return sum, best, worst]``."""
    for symbol, pnl, ret in zip(trips["symbol"], trips["pnl"], trips["return_percent"], strict=True):
        pnl, ret = float(pnl), float(ret)
        t = totals.setdefault(str(symbol), [0, 0, 0.0, 0.0, pnl, pnl])
        t[0] += 1
        t[1] += pnl > 0
        t[2] += pnl
        t[3] += ret
        t[4], t[5] = max(t[4], pnl), min(t[5], pnl)


class RoundTripBook:
    """Round trips of one session's fills, read incrementally from the journal.

    Parameters
    ----------
    compute : callable
        ``compute(fills, orders, bars) -> trips`` (``session_round_trips``).
    keep : int
        Final round trips kept whole (the newest); per-symbol totals cover all of them.
    """

    def __init__(self, compute: Callable[..., pd.DataFrame], keep: int = 500) -> None:
        self.compute = compute
        self.keep = keep
        self.session_id: str | None = None
        self._reset()

    def _reset(self) -> None:
        self.cursor_seq = 0  # seq of the last fill after which every position was flat (0: none yet)
        self.closed = pd.DataFrame()  # the newest ``keep`` final round trips
        self.pending = pd.DataFrame()  # round trips closed after the cursor (recomputed each time)
        self.totals: dict[str, list[float]] = {}  # symbol -> [trades, wins, pnl, return sum, best, worst]

    def update(self, journal: Any, session_id: str, orders: pd.DataFrame, bars: pd.DataFrame | None) -> pd.DataFrame:
        """Read the fills after the cursor and return the round trips (oldest first): the kept final
        ones and those after the cursor."""
        if session_id != self.session_id:
            self.session_id = session_id
            self._reset()
        f = schema.fills
        query = sa.select(f).where(f.c.session_id == session_id, f.c.seq > self.cursor_seq).order_by(f.c.seq)
        from workbench.persistence.queries import frame

        new = frame(journal.engine, journal.display_url, query)
        if len(new):
            flat = last_flat_row(new)
            if flat >= 0:
                self._close(self.compute(new.iloc[: flat + 1].reset_index(drop=True), orders, bars))
                self.cursor_seq = int(new["seq"].iloc[flat])
                new = new.iloc[flat + 1:].reset_index(drop=True)
            self.pending = self.compute(new, orders, bars) if len(new) else pd.DataFrame()
        return self.trips()

    def _close(self, trips: pd.DataFrame) -> None:
        if not len(trips):
            return
        _accumulate(self.totals, trips)
        both = pd.concat([self.closed, trips], ignore_index=True) if len(self.closed) else trips
        self.closed = both.iloc[-self.keep:].reset_index(drop=True)

    def trips(self) -> pd.DataFrame:
        """The kept final round trips and those after the cursor, oldest first."""
        parts = [p for p in (self.closed, self.pending) if len(p)]
        if not parts:
            return self.compute(pd.DataFrame(), pd.DataFrame(), None)
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    def per_symbol(self) -> pd.DataFrame:
        """Per symbol over every round trip of the session: ``trades``, ``win_rate`` (percent),
        ``pnl`` (currency), ``average_return`` (percent), ``best``, ``worst``; sorted by symbol."""
        totals = {s: list(t) for s, t in self.totals.items()}
        if len(self.pending):
            _accumulate(totals, self.pending)
        columns = ["symbol", "trades", "win_rate", "pnl", "average_return", "best", "worst"]
        rows = [(s, int(t[0]), 100.0 * t[1] / t[0], t[2], t[3] / t[0], t[4], t[5]) for s, t in sorted(totals.items())]
        return pd.DataFrame(rows, columns=columns)
