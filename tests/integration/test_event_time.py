"""Event time never goes backwards within a session, across a resume (issue 10, item 7).

A paced replay's clock ran from the wall time it was built, so a resumed session stamped its
``SessionStarted`` and connection events near the start of the data (and a fresh one ahead of its
first item by start-up time x speed). The clock is now held at the replay's first item (the resume
point when resumed) until data flows. Checked on a session paced at 20,000x, stopped on the first
day and resumed: ``ts_event`` is non-decreasing in seq order, and the resumed ``SessionStarted`` is
stamped at the resume point (the ``ts_init`` of the first item not yet processed).
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.session import load_stream, paper_session, resume_session


def test_event_time_is_monotonic_across_a_resume(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    params = {"fast": 5, "slow": 15}

    async def run() -> int:
        first = paper_session("sma_crossover", params=params, data="demo", speed=20_000.0, journal=url,
                              session_id="m", snapshot_interval=0)
        first.start()
        while first.runner.position < 600:
            await asyncio.sleep(0.001)
        first.stop()
        await first
        first.journal.close()
        resumed = resume_session("m", journal=url, speed=20_000.0, snapshot_interval=0)
        position = resumed.feed.start
        resumed.start()
        while resumed.runner.position < position + 200:
            await asyncio.sleep(0.001)
        resumed.stop()
        await resumed
        resumed.journal.close()
        return position

    position = asyncio.run(run())
    resume_at = next(itertools.islice(iter(load_stream("demo")), position, None)).ts_init
    with Journal(url) as journal:
        times = [(seq, type(e).__name__, e.ts_event) for seq, e in journal.records("m")]
        backwards = [(a, b) for a, b in itertools.pairwise(times) if b[2] < a[2]]
        assert backwards == [], backwards[:3]
        started = [e for e in journal.events("m", types=[ev.SessionStarted])]
        assert [e.resumed for e in started] == [False, True]
        assert started[1].ts_event == resume_at
