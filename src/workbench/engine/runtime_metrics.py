"""Counters a live/paper runner keeps for monitoring, saved with its checkpoint.

The API (``/metrics``, :mod:`workbench.service.metrics`) runs in another process and reads them
from the session's checkpoint in the journal (``state["metrics"]``), so they are as fresh as the
last group commit. Histograms are cumulative bucket counts in the Prometheus convention (count of
observations <= each upper bound, ``+Inf`` last), with the sum, so they can be exported as is.

``tick_to_order``: seconds from the start of processing a market data item to an order (or
cancel/modify) reaching the broker interface, for the items that caused one. ``journal_commit``:
seconds one :meth:`Journal.append_many` of a group commit took. ``queue_depth``: the input queue's
length at the checkpoint.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LATENCY_BUCKETS", "Histogram", "RuntimeMetrics"]

LATENCY_BUCKETS: tuple[float, ...] = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                      0.5, 1.0)
"""Upper bounds (s) of the latency histograms (+Inf implied)."""


@dataclass
class Histogram:
    """Observation counts per bucket (non-cumulative internally) and their sum."""

    bounds: Sequence[float] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def state(self) -> dict[str, Any]:
        """``{"buckets": [[le, cumulative count], ..., ["+Inf", n]], "sum": s}``."""
        running, buckets = 0, []
        for bound, count in zip([*self.bounds, "+Inf"], self.counts):
            running += count
            buckets.append([bound, running])
        return {"buckets": buckets, "sum": self.total}


@dataclass
class RuntimeMetrics:
    """The runner's monitoring counters (see the module docstring)."""

    tick_to_order: Histogram = field(default_factory=Histogram)
    journal_commit: Histogram = field(default_factory=Histogram)
    queue_depth: int = 0

    def state(self) -> dict[str, Any]:
        return {"queue_depth": self.queue_depth, "tick_to_order_seconds": self.tick_to_order.state(),
                "journal_commit_seconds": self.journal_commit.state()}
