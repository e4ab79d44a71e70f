"""M4 downsampling of the equity chart (issue 13: kernel memory and page updates of a long session).

Independent sources: a hand-worked example, and pandas (each bucket's first/last/min/max computed
with ``groupby`` on the bucket number, which the property test compares the picks to). Reference
for the method: Jugel et al., "M4: a visualization-oriented time series data aggregation", VLDB 2014.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.persistence import Journal
from workbench.widgets.charts import EquityChart, extremes_downsample
from workbench.widgets.source import JournalView
from workbench.widgets.testing import ScriptedSession


def test_by_hand():
    """12 points, 2 buckets of 6: bucket 0 = idx 0-5, bucket 1 = idx 6-11."""
    y = np.array([5, 1, 9, 4, 4, 3, 7, 8, 2, 6, 10, 0], dtype=float)
    # bucket 0: first 0, last 5, min 1 (value 1), max 2 (value 9); bucket 1: first 6, last 11, min 11 (0), max 10 (10)
    assert extremes_downsample(y, 2).tolist() == [0, 1, 2, 5, 6, 10, 11]
    assert extremes_downsample(y, 3).tolist() == list(range(12))  # 12 <= 4 * 3: nothing dropped
    with pytest.raises(ValueError, match="buckets"):
        extremes_downsample(y, 0)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=600), st.integers(1, 40),
       st.integers(1, 2))
def test_each_bucket_keeps_its_first_last_min_and_max(values, buckets, series):
    rows = np.array([values, values[::-1]][:series], dtype=float)
    n = rows.shape[1]
    picked = extremes_downsample(rows, buckets)
    assert (np.diff(picked) > 0).all() and picked.min() >= 0 and picked.max() < n
    if n <= (2 + 2 * series) * buckets:
        assert picked.tolist() == list(range(n))
        return
    assert len(picked) <= (2 + 2 * series) * buckets
    group = np.repeat(np.arange(buckets), np.diff(np.linspace(0, n, buckets + 1).astype(int)))
    for row in rows:
        frame = pd.DataFrame({"y": row, "bucket": group})
        kept = frame.iloc[picked].groupby("bucket")["y"]
        full = frame.groupby("bucket")["y"]
        # the drawn line has the same extremes, first and last value in every bucket
        pd.testing.assert_series_equal(kept.min(), full.min())
        pd.testing.assert_series_equal(kept.max(), full.max())
        pd.testing.assert_series_equal(kept.first(), full.first())
        pd.testing.assert_series_equal(kept.last(), full.last())


def test_the_equity_chart_of_a_long_session_sends_at_most_max_points(tmp_path):
    """Past ``max_points`` rows the chart sends the M4 picks; its extremes equal the journal's."""
    with Journal(tmp_path / "j.sqlite") as journal:
        session = ScriptedSession(journal, "long")
        rng = np.random.default_rng(7)
        for i in range(160):
            session.trade("SPY", "BUY" if i % 2 == 0 else "SELL", 100, 170.0 + rng.normal(0, 1.0))
        view = JournalView(journal, "long")
        chart = EquityChart(view)
        chart.max_points = 60
        chart.update(view.snapshot())
        equity = journal.equity("long")
        drawn = np.asarray(chart.figure.data[0].y, dtype=float)
        assert len(equity) > 60 >= len(drawn) > 0
        assert drawn.max() == pytest.approx(equity["equity"].max()) and drawn.min() == pytest.approx(equity["equity"].min())
        assert drawn[0] == pytest.approx(equity["equity"].iloc[0]) and drawn[-1] == pytest.approx(equity["equity"].iloc[-1])
        assert len(chart.figure.data[1].x) == len(drawn)  # P&L traces share the picks' x
