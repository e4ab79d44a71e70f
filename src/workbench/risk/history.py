"""Session boundaries and a rolling history of closing prices, for the rules that need returns.

:class:`SessionBoundary` says when a data timestamp has reached the close of the exchange session
in progress (``exchange_calendars`` via :mod:`workbench.calendars`), with one integer comparison
per call between closes. :class:`PriceHistory` samples the engine's last prices of every symbol at
each session close (a risk monitor), so returns are daily, aligned across symbols.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from workbench.calendars import session_close_after
from workbench.model.events import ClosingPricesSampled

if TYPE_CHECKING:
    from workbench.engine.engine import TradingEngine
    from workbench.risk.engine import RiskEngine


class SessionBoundary:
    """Detects the end of exchange sessions in a stream of timestamps (ns since epoch UTC).

    Parameters
    ----------
    exchange : str
        exchange_calendars code, e.g. ``"XNYS"``.
    """

    __slots__ = ("close_ns", "exchange")

    def __init__(self, exchange: str = "XNYS") -> None:
        self.exchange = exchange
        self.close_ns: int | None = None

    def crossed(self, ts_ns: int) -> bool:
        """True the first time ``ts_ns`` is at or after the close of the session in progress.

        The first call only starts tracking (returns False). A timestamp exactly at a close ends
        that session (a minute bar ending at 16:00 is the session's last).
        """
        close = self.close_ns
        if close is None:
            self.close_ns = session_close_after(ts_ns - 1, self.exchange)
            return ts_ns >= self.close_ns and self._roll(ts_ns)
        if ts_ns < close:
            return False
        return self._roll(ts_ns)

    def _roll(self, ts_ns: int) -> bool:
        self.close_ns = session_close_after(ts_ns, self.exchange)
        return True


class PriceHistory:
    """Closing prices of every symbol the engine has priced, sampled at each session close.

    Parameters
    ----------
    window : int
        Number of returns kept (prices kept: ``window + 1``).
    exchange : str
        Calendar deciding when a session closes.

    Attributes
    ----------
    times : deque[int]
        Sample times (ns since epoch UTC), oldest first.
    """

    name = "price_history"

    def __init__(self, window: int = 250, exchange: str = "XNYS") -> None:
        if window < 2:
            raise ValueError(f"PriceHistory.window must be >= 2, got {window!r}")
        self.window = window
        self.boundary = SessionBoundary(exchange)
        self.times: deque[int] = deque(maxlen=window + 1)
        self._prices: dict[str, deque[float]] = {}
        self.samples = 0  # observations taken so far (a version number for caches)
        self._cache: dict[tuple[str, ...], np.ndarray] = {}

    def attach(self, engine: TradingEngine, risk: RiskEngine) -> None:
        pass

    def on_time_slice(self, engine: TradingEngine, risk: RiskEngine, ts_ns: int) -> None:
        if self.boundary.crossed(ts_ns):
            prices = dict(engine.portfolio.last_prices)
            # journaled first (a rebuild restores the window: restore_samples), then applied
            engine.record(ClosingPricesSampled(ts_event=ts_ns, prices=prices))
            self.sample(prices, ts_ns)

    def restore_samples(self, samples: Sequence[tuple[int, dict[str, float]]]) -> None:
        """Replay journaled samples (``[(ts_ns, prices), ...]``, journal order) into an empty history,
        as if the session had never stopped; the next sample is taken at the first close after the
        last one. Called by :func:`workbench.engine.reconcile.rebuild`."""
        for ts_ns, prices in samples:
            self.sample(prices, ts_ns)
        if samples:
            self.boundary.close_ns = session_close_after(samples[-1][0], self.boundary.exchange)

    def sample(self, prices: dict[str, float], ts_ns: int) -> None:
        """Append one observation: ``prices`` (symbol -> price) at ``ts_ns``; unknown symbols get NaN."""
        n = len(self.times)
        self.times.append(ts_ns)
        self.samples += 1
        self._cache.clear()
        for symbol in prices:
            if symbol not in self._prices:
                self._prices[symbol] = deque([math.nan] * n, maxlen=self.window + 1)
        for symbol, d in self._prices.items():
            d.append(prices.get(symbol, math.nan))

    def returns(self, symbols: list[str]) -> np.ndarray:
        """Simple returns, shape ``(observations, len(symbols))``, rows with any NaN dropped.

        A symbol never sampled gives an all-NaN column, so the result then has no rows. Results
        are cached (read-only arrays) until the next sample.
        """
        key = tuple(symbols)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        n = len(self.times)
        if n < 2 or not symbols:
            return np.empty((0, len(symbols)))
        cols = [np.asarray(self._prices[s], dtype=float) if s in self._prices else np.full(n, np.nan) for s in symbols]
        prices = np.column_stack(cols)
        rets = prices[1:] / prices[:-1] - 1.0
        rets = rets[~np.isnan(rets).any(axis=1)]
        rets.setflags(write=False)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = rets
        return rets
