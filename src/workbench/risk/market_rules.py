"""Pre-trade rules that need the calendar or price history: trading hours, correlation.

Same contract as :mod:`workbench.risk.rules`: ``check(order, context) -> str | None``, the reason
starting with the rule name and giving the limit and the value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.calendars import session_bounds
from workbench.model.orders import Order
from workbench.risk.history import PriceHistory
from workbench.risk.impact import order_impact

NS_PER_MINUTE = 60_000_000_000


def _utc(ns: int) -> str:
    return pd.Timestamp(ns, tz="UTC").strftime("%Y-%m-%d %H:%M:%SZ")


class TradingHours:
    """Deny orders outside the exchange's sessions (weekends and holidays have none).

    Parameters
    ----------
    allow_pre_market, allow_post_market : bool
        Also accept orders ``pre_market_minutes`` before the open / ``post_market_minutes`` after
        the close (US equities: 330 = from 04:00 ET, 240 = until 20:00 ET).
    exchange : str | None
        Calendar to use; None = each instrument's ``exchange``.

    The last answer is cached with the interval it holds for, so most checks are two comparisons.
    """

    name = "trading_hours"

    def __init__(self, allow_pre_market: bool = False, allow_post_market: bool = False, pre_market_minutes: int = 330,
                 post_market_minutes: int = 240, exchange: str | None = None) -> None:
        self.allow_pre_market = allow_pre_market
        self.allow_post_market = allow_post_market
        self.pre_ns = pre_market_minutes * NS_PER_MINUTE if allow_pre_market else 0
        self.post_ns = post_market_minutes * NS_PER_MINUTE if allow_post_market else 0
        self.exchange = exchange
        self._cache: dict[str, tuple[int, int, str | None]] = {}  # exchange -> (from, until, reason)

    def _evaluate(self, ts: int, exchange: str) -> tuple[int, int, str | None]:
        open_ns, close_ns = session_bounds(ts, exchange)
        if ts >= open_ns - self.pre_ns:
            return open_ns - self.pre_ns, close_ns + self.post_ns, None
        if self.post_ns:
            _prev_open, prev_close = session_bounds(ts - self.post_ns, exchange)
            if prev_close <= ts < prev_close + self.post_ns:
                return prev_close, prev_close + self.post_ns, None
        extended = (f"pre-market {'allowed' if self.allow_pre_market else 'not allowed'}, "
                    f"post-market {'allowed' if self.allow_post_market else 'not allowed'}")
        reason = (f"{self.name}: {exchange} is closed at {{ts}}; next session {_utc(open_ns)} to {_utc(close_ns)} "
                  f"({extended})")
        return ts, open_ns - self.pre_ns, reason

    def check(self, order: Order, context: Any) -> str | None:
        ts = context.now_ns()
        exchange = self.exchange or context.portfolio.instrument(order.symbol).exchange
        cached = self._cache.get(exchange)
        if cached is None or not cached[0] <= ts < cached[1]:
            cached = self._cache[exchange] = self._evaluate(ts, exchange)
        reason = cached[2]
        return reason.format(ts=_utc(ts)) if reason is not None else None


class CorrelationLimit:
    """Deny an order adding to a position whose returns correlate above ``max_correlation`` with a held one.

    The correlation is signed by the positions' directions (a long and a short in correlated
    symbols hedge each other), computed from daily returns of ``history`` over the last ``window``
    common observations; with fewer than ``min_observations`` the rule passes.
    """

    name = "correlation_limit"

    def __init__(self, max_correlation: float, history: PriceHistory, window: int = 60, min_observations: int = 20) -> None:
        self.max_correlation = max_correlation
        self.history = history
        self.window = window
        self.min_observations = min_observations
        self._cache: dict[tuple[str, str], tuple[float, int]] = {}
        self._version = -1

    def correlation(self, a: str, b: str) -> tuple[float, int]:
        """(correlation, observations) of the daily returns of ``a`` and ``b`` over the window."""
        if self._version != self.history.samples:
            self._cache.clear()
            self._version = self.history.samples
        found = self._cache.get((a, b))
        if found is None:
            rets = self.history.returns([a, b])[-self.window:]
            n = rets.shape[0]
            corr = float(np.corrcoef(rets[:, 0], rets[:, 1])[0, 1]) if n >= self.min_observations else float("nan")
            found = self._cache[(a, b)] = (corr, n)
        return found

    def check(self, order: Order, context: Any) -> str | None:
        im = order_impact(order, context)
        if not im.adds_risk:
            return None
        new_dir = 1.0 if im.buy else -1.0
        held = [(s, p.quantity) for s, p in context.portfolio.positions.items() if s != order.symbol and not p.is_flat]
        for symbol, quantity in held:
            corr, n = self.correlation(order.symbol, symbol)
            if n < self.min_observations:
                continue
            effective = corr * new_dir * (1.0 if quantity > 0 else -1.0)
            if effective > self.max_correlation:
                side = "long" if new_dir > 0 else "short"
                held_side = "long" if quantity > 0 else "short"
                return (f"{self.name}: {order.symbol} ({side}) vs held {symbol} ({held_side}) correlation "
                        f"{effective:.2f} over {n} returns exceeds limit {self.max_correlation:.2f}")
        return None
