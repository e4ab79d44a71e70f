"""Issue 9, item 16: the summary of a resumed session (``workbench paper --resume``) covers the whole session.

Expected behaviour and its source: a restart is invisible in the results (DESIGN rule 5: restart =
rebuild + reconcile; the crash-recovery test holds a resumed session to the uninterrupted one).
Drawdown and the benchmark's return are computed on the equity curve, so that curve must start at
the session's start, not at the resume point. Independent check: the same session run without
interruption (the equity curve, max drawdown and benchmark return must agree).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

from workbench.feeds.replay import regular_hours
from workbench.feeds.samples import load_demo_spy
from workbench.session import paper_session, resume_session

PARAMS = {"fast": 5, "slow": 20}


def _data() -> tuple[pd.DataFrame, pd.DataFrame]:
    bars, quotes = (regular_hours(f) for f in load_demo_spy())
    end = pd.Timestamp("2013-10-09", tz="America/New_York").value  # two days
    return bars[bars["ts_init"] < end].reset_index(drop=True), quotes[quotes["ts_init"] < end].reset_index(drop=True)


def test_resumed_session_summary_covers_the_whole_session(tmp_path: Path) -> None:
    data = _data()
    journal = f"sqlite:///{tmp_path / 'j.sqlite'}"

    async def uninterrupted():
        s = paper_session("sma_crossover", params=PARAMS, data=data, speed=None, journal=journal, session_id="ref",
                          snapshot_interval=0)
        await s
        return s

    async def stopped_then_resumed():
        s = paper_session("sma_crossover", params=PARAMS, data=data, speed=None, journal=journal, session_id="cut",
                          snapshot_interval=0)
        s.start()
        while s.runner.position < 900:  # stop on the second day, after the first day's trading
            await asyncio.sleep(0)
        s.stop()
        await s
        assert s.runner.position < len(s.feed)
        r = resume_session("cut", journal=journal, data=data, speed=None, snapshot_interval=0)
        await r
        return r

    ref = asyncio.run(uninterrupted()).result()
    got = asyncio.run(stopped_then_resumed()).result()
    assert len(got.fills) == len(ref.fills) > 10
    pd.testing.assert_index_equal(got.equity_curve.index, ref.equity_curve.index)
    pd.testing.assert_series_equal(got.equity_curve["equity"], ref.equity_curve["equity"], rtol=1e-12)
    for key in ("total_return", "max_drawdown", "benchmark_total_return"):
        assert float(got.stats[key]) == pytest.approx(float(ref.stats[key]), rel=1e-9, abs=1e-12), key
