"""Replay progress in the state banner (issue 13): the share of a paper session's data consumed.

Independent source: the data frames themselves. With the items' ``ts_init`` in delivery order, the
share consumed at data time ``T`` is ``c / n`` with ``c`` = items with ``ts_init <= T`` (numpy /
pandas count); the banner shows it rounded down to the percent (``floor(100 c / n)``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.feeds.progress import replay_checkpoints, replay_progress
from workbench.feeds.replay import regular_hours
from workbench.feeds.samples import load_demo_spy
from workbench.feeds.stream import MarketDataStream
from workbench.persistence import Journal
from workbench.widgets.source import JournalView
from workbench.widgets.state import StateBanner, banner_progress


def _bars(ts_init: list[int]) -> pd.DataFrame:
    n = len(ts_init)
    return pd.DataFrame({"symbol": ["SPY"] * n, "ts_event": np.asarray(ts_init, dtype=np.int64) - 60_000_000_000,
                         "ts_init": np.asarray(ts_init, dtype=np.int64), "open": 100.0, "high": 101.0, "low": 99.0,
                         "close": 100.5, "volume": 1000.0})


def test_checkpoints_by_hand():
    """8 bars at t = 10, 20, ..., 80: checkpoint k of 4 is item ceil(8 k / 4) = 2k, i.e. t = 20k."""
    marks = replay_checkpoints(MarketDataStream(_bars([10 * i for i in range(1, 9)])), points=4)
    assert marks == {"events": 8, "ts_init": [20, 40, 60, 80]}
    assert replay_progress(marks, 5) == 0.0
    assert replay_progress(marks, 39) == 0.25  # 3 of 8 delivered: 37.5 % rounded down to a checkpoint
    assert replay_progress(marks, 40) == 0.5
    assert replay_progress(marks, 80) == 1.0 and replay_progress(marks, 10**18) == 1.0
    assert replay_progress(None, 40) is None and replay_progress(marks, None) is None
    assert replay_checkpoints(MarketDataStream(_bars([]))) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=400), st.integers(0, 10_001))
def test_progress_is_the_consumed_share_rounded_down_to_the_percent(times, data_time):
    ts = sorted(times)
    marks = replay_checkpoints(MarketDataStream(_bars(ts)))
    consumed = int(np.searchsorted(np.asarray(ts), data_time, side="right"))
    assert replay_progress(marks, data_time) == math.floor(100 * consumed / len(ts)) / 100


def test_the_banner_shows_the_share_of_a_paper_session_consumed(tmp_path: Path) -> None:
    from workbench.session import paper_session

    bars, quotes = (regular_hours(f).iloc[:300].reset_index(drop=True) for f in load_demo_spy())
    times = np.sort(np.concatenate([bars["ts_init"].to_numpy(), quotes["ts_init"].to_numpy()]))
    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    session = paper_session("sma_crossover", params={"fast": 3, "slow": 8}, data=(bars, quotes), speed=None,
                            journal=url, snapshot_interval=0)
    asyncio.run(_await(session))
    with Journal(url) as journal:
        view = JournalView(journal, session.session_id)
        snap = view.snapshot()
        assert snap.stop_reason == "end of data"
        banner = StateBanner(view)
        banner.update(snap)
        assert "replay <b class='wb-replay-progress'>100%</b>" in banner.pane.value
        # the same session seen while it ran: data time at a quarter and at two thirds of the items
        for at in (len(times) // 4, 2 * len(times) // 3):
            t = int(times[at])
            health = dataclasses.replace(snap.health, last_event_time=pd.Timestamp(t, unit="ns", tz="UTC"))
            running = dataclasses.replace(snap, health=health, stop_reason="", session={**snap.session, "status": "running"})
            expected = math.floor(100 * np.searchsorted(times, t, side="right") / len(times)) / 100
            assert 0 < expected < 1 and banner_progress(running) == expected
            banner.update(running)
            assert f"replay <b class='wb-replay-progress'>{expected:.0%}</b>" in banner.pane.value
        # a session without checkpoints (live data, an older journal) shows none
        bare = dataclasses.replace(snap, session={**snap.session, "parameters": {}})
        banner.update(bare)
        assert banner_progress(bare) is None and "wb-replay-progress" not in banner.pane.value


async def _await(session) -> None:
    await session
