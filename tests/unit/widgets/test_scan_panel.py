"""The dashboard's Signals page on a journal written by a paper session of the scan strategy: the
latest scan's selection, its changes and each signal's fate, as the journal has them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from workbench.feeds.samples import load_lean_daily
from workbench.model import events as ev
from workbench.scanning.fates import signal_fates
from workbench.session import paper_session
from workbench.widgets.scans import ScanPanel, latest_scan

PARAMS = {"history": 40, "top": 2, "max_positions": 2, "max_holding_days": 3,
          "factors": {"momentum_10": {"factor": "momentum", "lookback": 10}, "atr_14": {"factor": "atr", "period": 14}},
          "weights": {"momentum_10": 1.0}, "filters": []}


async def test_signals_page_shows_the_latest_scan_and_fates(tmp_path: Path) -> None:
    frame, _ = load_lean_daily()
    lo, hi = pd.Timestamp("2019-10-15", tz="UTC").value, pd.Timestamp("2019-12-20", tz="UTC").value
    bars = frame[(frame["ts_event"] >= lo) & (frame["ts_event"] < hi)].reset_index(drop=True)
    session = paper_session("scan", params=PARAMS, data=bars, speed=None, regular=False, journal=tmp_path / "j.sqlite")
    await session
    sid = session.session_id
    scans = [e for e in session.journal.events(sid) if type(e) is ev.ScanCompleted]
    last = latest_scan(session.journal.engine, sid)
    assert last is not None and last["scan_id"] == scans[-1].scan_id
    assert list(last["selected"]) == list(scans[-1].selected)

    panel = ScanPanel(str(tmp_path / "j.sqlite"), sid)
    panel.refresh()
    assert f"selected <b>{', '.join(scans[-1].selected)}</b>" in panel.summary.value
    fates = signal_fates(session.journal.engine, sid)
    for reason in fates["exit_reason"].dropna().unique():
        assert reason in panel.fates.value
    assert "wb-signal-fates" in panel.fates.value and "wb-scan" in panel.ranked.value

    empty = paper_session("sma_crossover", data="demo", speed=None, journal=tmp_path / "j.sqlite")
    await empty
    other = ScanPanel(str(tmp_path / "j.sqlite"), empty.session_id)
    other.refresh()
    assert "no scan in this session" in other.summary.value and other.fates.value == ""
