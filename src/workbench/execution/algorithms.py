"""TWAP, VWAP, POV and implementation shortfall (Almgren-Chriss) on :class:`ExecAlgorithm`.

Scheduled algorithms (TWAP, VWAP, IS) work a list of slices ``(time, shares)``: at each slice time
the target is the cumulative scheduled quantity, and the child is ``target - filled - working``
(so a slice that did not fill, or was skipped by the guard, rolls into the next one). At the last
slice the child takes everything left. POV follows the market's volume instead.

Defaults follow NautilusTrader's TWAP (``horizon_secs``, ``interval_secs``) and add bounded
randomization of slice times and sizes (``time_jitter``, ``size_jitter``: fractions) so the
algorithm is less predictable to other participants.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from workbench.execution.base import NS_PER_SECOND, ExecAlgorithm, ParentStatus
from workbench.execution.schedules import (
    almgren_chriss_trajectory,
    round_to_lots,
    twap_schedule,
    volume_profile,
    vwap_schedule,
)

__all__ = ["ALGORITHMS", "POV", "TWAP", "VWAP", "ImplementationShortfall", "ScheduledAlgorithm", "start_algorithm"]


class ScheduledAlgorithm(ExecAlgorithm):
    """Works a schedule of slices (see the module docstring); subclasses build it in :meth:`schedule`."""

    def schedule(self) -> list[tuple[int, float]]:
        raise NotImplementedError

    def _on_start(self) -> None:
        self.slices = self.schedule()
        self._next = 0
        self._rolling: set[str] = set()  # children canceled to roll into the current slice
        self._target = 0.0
        self._cross_now = False
        self._arm()

    def _arm(self) -> None:
        if self._next < len(self.slices):
            when = max(self.slices[self._next][0], self.engine.now_ns())
            self.engine.clock.set_time_alert(f"{self.parent_id}.slice", when, self._on_slice)

    def _on_slice(self, _event: Any = None) -> None:
        if self.status is not ParentStatus.WORKING:
            return
        k = self._next
        self._next += 1
        last = self._next >= len(self.slices)
        target = sum(q for _, q in self.slices[: k + 1])
        cross = False
        if last:
            target = self.quantity
            cross = self.style == "passive" and not self.params.get("finish_passive", False)
        self._target, self._cross_now = target, cross
        if self.style == "passive":  # an unfilled passive slice rolls into this one once its cancel is acknowledged
            self._rolling.update(self._cancel_working())
        self._top_up(final=last)
        self._arm()

    def _top_up(self, final: bool = False) -> None:
        self._send(self._target - self.filled_quantity - self.working_quantity, scheduled=self._target,
                   final=final, cross=self._cross_now)

    def _on_child_canceled(self, order_id: str) -> None:
        if order_id in self._rolling:
            self._rolling.discard(order_id)
            self._top_up(final=self._next >= len(self.slices))

    def _on_modified(self) -> None:
        """Rescale the slices not yet sent to the new remainder (same times and proportions)."""
        left = self.slices[self._next:]
        if not left:
            return
        done = sum(q for _, q in self.slices[: self._next])
        remainder = max(self.quantity - done, 0.0)
        if remainder <= 0:
            self.slices = self.slices[: self._next]
            return
        weights = [q for _, q in left] if sum(q for _, q in left) > 0 else [1.0] * len(left)
        sizes = round_to_lots(weights, remainder, self.lot_size)
        self.slices = self.slices[: self._next] + [(t, q) for (t, _), q in zip(left, sizes, strict=True)]


class TWAP(ScheduledAlgorithm):
    """Equal slices every ``interval_seconds`` over the horizon (:func:`twap_schedule`)."""

    name = "twap"

    def schedule(self) -> list[tuple[int, float]]:
        p = self.params
        return twap_schedule(self.quantity, self.start_ns, self.end_ns,
                             int(float(p.get("interval_seconds", 60.0)) * NS_PER_SECOND), lot_size=self.lot_size,
                             min_child=self.min_child, time_jitter=float(p.get("time_jitter", 0.0)),
                             size_jitter=float(p.get("size_jitter", 0.0)), seed=int(p.get("seed", 0)))


class VWAP(ScheduledAlgorithm):
    """Slices along a historical intraday volume profile (:func:`volume_profile`).

    Parameters (``**params``): ``profile`` (a Series from :func:`volume_profile`), or ``history`` (a
    bar frame of the symbol: the profile is computed from its sessions before the start), with
    ``bucket_minutes`` (30) and ``lookback_days`` (20).
    """

    name = "vwap"

    def schedule(self) -> list[tuple[int, float]]:
        p = self.params
        profile = p.get("profile")
        bucket = int(p.get("bucket_minutes", 30))
        if profile is None:
            history = p.get("history")
            if history is None:
                raise ValueError("vwap: pass profile= (volume_profile(...)) or history= (intraday bars)")
            start_day = pd.Timestamp(self.start_ns, tz="UTC").tz_convert("America/New_York").normalize().tz_localize(None)
            profile = volume_profile(history, bucket_minutes=bucket, lookback_days=int(p.get("lookback_days", 20)),
                                     before=start_day)
        return vwap_schedule(self.quantity, self.start_ns, self.end_ns, profile, lot_size=self.lot_size,
                             bucket_minutes=bucket)

    def _journal_params(self) -> dict[str, Any]:
        out = super()._journal_params()
        profile = self.params.get("profile")
        if isinstance(profile, pd.Series):
            out["profile"] = {str(k): float(v) for k, v in profile.items()}
        return out


class ImplementationShortfall(ScheduledAlgorithm):
    """The Almgren-Chriss optimal schedule over ``periods`` equal periods of the horizon.

    Parameters (``**params``): ``risk_aversion`` (lambda, 1/currency), ``volatility`` (sigma, currency
    per share per sqrt(second); default: ``daily_volatility`` x price / sqrt(23,400 s)),
    ``temporary_impact`` (eta), ``permanent_impact`` (gamma), ``interval_seconds`` (period length, 60).
    A higher risk aversion front-loads the schedule; 0 gives TWAP.
    """

    name = "implementation_shortfall"

    def schedule(self) -> list[tuple[int, float]]:
        p = self.params
        interval = float(p.get("interval_seconds", 60.0))
        periods = max(1, math.ceil((self.end_ns - self.start_ns) / (interval * NS_PER_SECOND)))
        periods = min(periods, round(self.quantity / self.lot_size))
        sigma = p.get("volatility")
        if sigma is None:
            price = self.arrival_price or self.engine.portfolio.last_prices.get(self.symbol) or 1.0
            sigma = float(p.get("daily_volatility", 0.01)) * price / math.sqrt(23_400.0)
        holdings = almgren_chriss_trajectory(self.quantity, periods, interval, risk_aversion=float(p.get("risk_aversion", 0.0)),
                                             volatility=float(sigma), temporary_impact=float(p.get("temporary_impact", 1e-6)),
                                             permanent_impact=float(p.get("permanent_impact", 0.0)))
        trades = -np.diff(holdings)
        sizes = round_to_lots(np.maximum(trades, 0.0), self.quantity, self.lot_size)
        step = (self.end_ns - self.start_ns) / periods
        return [(self.start_ns + int(k * step), q) for k, q in enumerate(sizes) if q > 0]


class POV(ExecAlgorithm):
    """Percentage of volume: trade ``rate`` of the market volume seen since the start.

    After each trade print (or bar, without prints) the target is ``rate x volume seen``, kept within
    ``[min_rate, max_rate] x volume seen``; a child goes out for ``target - filled - working`` when
    that is at least ``min_child`` (default one lot). Finishes when filled or at the end time.
    Parameters (``**params``): ``rate`` (0.1), ``min_rate`` (0), ``max_rate`` (``rate`` x 1.5).
    """

    name = "pov"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.params
        self.rate = float(p.get("rate", 0.1))
        self.min_rate = float(p.get("min_rate", 0.0))
        self.max_rate = min(1.0, float(p.get("max_rate", self.rate * 1.5)))
        if not 0 < self.rate <= 1 or not 0 <= self.min_rate <= self.rate <= self.max_rate <= 1:
            raise ValueError(f"pov: need 0 <= min_rate <= rate <= max_rate <= 1 and rate > 0, got "
                             f"{self.min_rate}, {self.rate}, {self.max_rate}")

    def _on_start(self) -> None:
        self.volume_seen = 0.0
        self._uses_trades = False
        self.engine.subscribe_data("on_trade", self.symbol, self._on_trade)
        self.engine.subscribe_data("on_bar", self.symbol, self._on_bar)

    def _unsubscribe_data(self) -> None:
        self.engine.unsubscribe_data("on_trade", self.symbol, self._on_trade)
        self.engine.unsubscribe_data("on_bar", self.symbol, self._on_bar)

    def _on_trade(self, trade: Any) -> None:
        self._uses_trades = True
        self._observe(trade.ts_event, trade.size)

    def _on_bar(self, bar: Any) -> None:
        if not self._uses_trades:
            self._observe(bar.ts_event, bar.volume)

    def _observe(self, ts: int, volume: float) -> None:
        if self.status is not ParentStatus.WORKING or ts < self.start_ns or ts >= self.end_ns:
            return
        self.volume_seen += volume
        target = min(max(self.rate * self.volume_seen, self.min_rate * self.volume_seen),
                     self.max_rate * self.volume_seen, self.quantity)
        want = target - self.filled_quantity - self.working_quantity
        if want >= max(self.min_child, self.lot_size) - 1e-9:
            self._send(want, scheduled=target)


ALGORITHMS: dict[str, type[ExecAlgorithm]] = {
    "twap": TWAP, "vwap": VWAP, "pov": POV, "implementation_shortfall": ImplementationShortfall,
    "is": ImplementationShortfall,
}
"""Registry: name -> algorithm class (what ``Strategy.execute(..., algorithm=...)`` accepts)."""


def start_algorithm(engine: Any, symbol: str, quantity: float, algorithm: str = "twap", **params: Any) -> ExecAlgorithm:
    """Create and start ``algorithm`` on ``engine`` for ``quantity`` signed shares of ``symbol``.

    Raises
    ------
    ValueError
        Unknown algorithm, or bad parameters (from the algorithm).
    """
    cls = ALGORITHMS.get(algorithm)
    if cls is None:
        raise ValueError(f"algorithm: unknown {algorithm!r}; known: {sorted(ALGORITHMS)}")
    return cls(engine, symbol, quantity, **params).start()
