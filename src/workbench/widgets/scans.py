"""Signals page of the dashboard: the latest scan, what changed, and each scan signal's fate.

Reads the journal's ``scan_runs`` read table (one row per ``ScanCompleted``) and the signal-fate
query of :mod:`workbench.scanning.fates`; re-reads only when new events were journaled.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench.persistence import schema as t
from workbench.widgets.base import Component
from workbench.widgets.html import HtmlPane, money, number, quantity, table_html, timestamp
from workbench.widgets.source import Snapshot

__all__ = ["ScanPanel", "latest_scan"]

_FORMATS = {"score": number, "entry_price": number, "exit_price": number, "stop": number, "target": number,
            "realized_pnl": money, "entry_quantity": quantity, "ts_signal": timestamp, "ts_exit": timestamp,
            "score_change": number, "confidence": number}


def latest_scan(engine: sa.Engine, session_id: str) -> dict[str, Any] | None:
    """The newest ``scan_runs`` row of ``session_id`` as a dict (``table`` and ``changes`` are lists of
    row dicts), or None when the session ran no scan."""
    r = t.scan_runs
    with engine.connect() as conn:
        row = conn.execute(sa.select(r).where(r.c.session_id == session_id).order_by(r.c.seq.desc()).limit(1)
                           ).mappings().first()
    return dict(row) if row is not None else None


class ScanPanel(Component):
    """The latest scan (ranked table, selection), its changes, and the newest signals' fates."""

    title = "Scans and signals"

    def __init__(self, *args: Any, rows: int = 12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.summary = HtmlPane()
        self.ranked = HtmlPane()
        self.changes = HtmlPane()
        self.fates = HtmlPane()
        self.children = (self.heading, self.summary, self.ranked, self.changes, self.fates)

    def update(self, snapshot: Snapshot) -> None:
        if not snapshot.changed and self.summary.value:
            return
        engine = self.view.journal.engine
        scan = latest_scan(engine, snapshot.session_id)
        if scan is None:
            self.summary.show("<p class='wb-muted'>no scan in this session</p>")
            for pane in (self.ranked, self.changes, self.fates):
                pane.show("")
            return
        when = pd.Timestamp(scan["ts_event"], tz="UTC").tz_convert("America/New_York")
        selected = ", ".join(scan["selected"]) or "(none)"
        self.summary.show(f"<p>latest scan <b>{scan['name']}</b> at {when:%Y-%m-%d %H:%M %Z}: "
                          f"{scan['universe_size']} symbols, selected <b>{selected}</b></p>")
        table = pd.DataFrame(scan["table"] or [])
        if len(table):
            table = table[table["rank"].notna()].head(self.rows) if table["rank"].notna().any() else table.head(self.rows)
        self.ranked.show(table_html(table, "scan", ("symbol", "score", "rank", "selected", "reason"), _FORMATS,
                                    empty="nothing ranked"))
        changes = pd.DataFrame(scan["changes"] or [])
        if len(changes):
            changes = changes[changes["change"] != "unchanged"]
        self.changes.show(table_html(changes, "scan-changes", ("symbol", "change", "previous_rank", "rank",
                                                               "score_change"), _FORMATS, empty="no change"))
        from workbench.scanning.fates import signal_fates  # imports scipy (~1 s): only for sessions with scans

        fates = signal_fates(engine, snapshot.session_id).iloc[::-1].head(self.rows)
        self.fates.show(table_html(fates, "signal-fates", ("ts_signal", "symbol", "confidence", "entry_quantity",
                                                           "entry_price", "stop", "target", "exit_reason",
                                                           "exit_price", "realized_pnl"), _FORMATS,
                                   empty="no scan signal yet"))
