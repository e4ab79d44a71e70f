"""Runner monitoring histograms: cumulative bucket counts in the Prometheus convention (a value
equal to a bound counts in that bucket: ``le`` = less or equal), hand-worked."""

from __future__ import annotations

import pytest

from workbench.engine.runtime_metrics import Histogram, RuntimeMetrics


def test_cumulative_buckets_and_sum() -> None:
    h = Histogram(bounds=(0.001, 0.01, 0.1))
    for value in (0.0005, 0.001, 0.002, 0.05, 3.0):
        h.observe(value)
    state = h.state()
    assert state["buckets"] == [[0.001, 2], [0.01, 3], [0.1, 4], ["+Inf", 5]]
    assert state["sum"] == pytest.approx(3.0535)


def test_runtime_state_is_json_shaped() -> None:
    m = RuntimeMetrics()
    m.queue_depth = 3
    m.journal_commit.observe(0.002)
    state = m.state()
    assert state["queue_depth"] == 3
    assert state["journal_commit_seconds"]["buckets"][-1] == ["+Inf", 1]
    assert state["tick_to_order_seconds"]["buckets"][-1] == ["+Inf", 0]
