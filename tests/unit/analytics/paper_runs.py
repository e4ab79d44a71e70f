"""Helpers for the comparison tests: a short paper session on the shipped SPY data, journaled and recorded."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.feeds.replay import regular_hours
from workbench.feeds.samples import load_demo_spy


def demo_days(days: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Regular-hours SPY minute bars and quotes of the first ``days`` dates of the demo file."""
    bars, quotes = (regular_hours(f) for f in load_demo_spy())
    dates = pd.to_datetime(bars["ts_init"], unit="ns", utc=True).dt.tz_convert("America/New_York").dt.date
    keep = sorted(dates.unique())[:days]
    end = int(bars.loc[dates.isin(keep), "ts_init"].max())
    return bars[bars["ts_init"] <= end].reset_index(drop=True), quotes[quotes["ts_init"] <= end].reset_index(drop=True)


@dataclass
class PaperRun:
    journal: str
    recording: Path
    session_id: str
    session: Any


def run_paper(directory: Path, strategy: str, params: dict[str, Any], days: int = 2, **options: Any) -> PaperRun:
    """Paper-trade ``strategy`` at full speed over ``days`` demo dates, recording to ``directory/rec``."""
    from workbench.session import paper_session

    journal = str(directory / "journal.sqlite")
    recording = directory / "rec"

    async def go() -> Any:
        session = paper_session(strategy, params=params, data=demo_days(days), speed=None, journal=journal,
                                record_to=recording, snapshot_interval=0, **options)
        await session
        return session

    session = asyncio.run(go())
    return PaperRun(journal, recording, session.session_id, session)
