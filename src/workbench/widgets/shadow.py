"""The live session and its paper shadow side by side (graduation, :mod:`workbench.operations.shadow`).

:class:`ShadowPanel` shows, when the selected session is either side of a live/shadow pair: the
current size multiplier and the signal agreement (stat cards), equity and P&L, positions, fills
and signals of both sessions in two columns, and the multiplier's history (each
``SizeMultiplierChanged``: time, from, to, the window's agreement, why). It reads the journal
(:func:`~workbench.operations.shadow_report.shadow_report`) and hides itself for a session
without a shadow.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from workbench.operations.shadow_report import ShadowReport, shadow_report
from workbench.widgets.base import Component
from workbench.widgets.html import HtmlPane, money, number, quantity, stat_cards, table_html
from workbench.widgets.source import Snapshot

__all__ = ["ShadowPanel", "shadow_frames"]


def _percent(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * 100:.1f}%"


def _positions(positions: dict[str, float]) -> str:
    return ", ".join(f"{s} {quantity(q)}" for s, q in positions.items()) or "flat"


def shadow_frames(report: ShadowReport) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(side by side, history)``: one row per figure with a ``live`` and a ``shadow`` column
    (formatted text), and one row per multiplier change."""
    rows = []
    for label, key, fmt in (("session", "session_id", str), ("mode", "mode", str), ("equity", "equity", money),
                            ("total P&L", "pnl", money), ("realized P&L", "realized_pnl", money),
                            ("unrealized P&L", "unrealized_pnl", money), ("commissions", "commissions", money),
                            ("positions", "positions", _positions), ("fills", "fills", str),
                            ("signals", "signals", str)):
        rows.append({"figure": label, "live": fmt(getattr(report.live, key)),
                     "shadow": fmt(getattr(report.shadow, key))})
    history = pd.DataFrame([{"time": pd.Timestamp(c.ts_event, unit="ns", tz="UTC"), "from": number(c.old),
                             "to": number(c.new), "agreement": _percent(c.agreement), "reason": c.reason}
                            for c in report.history], columns=["time", "from", "to", "agreement", "reason"])
    return pd.DataFrame(rows), history


class ShadowPanel(Component):
    """Live vs paper shadow (see the module docstring); ``report`` is the last one shown."""

    title = "Live and its paper shadow"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cards = HtmlPane()
        self.sides = HtmlPane()
        self.history = HtmlPane()
        self.report: ShadowReport | None = None
        self.children = (self.heading, self.cards, self.sides, self.history)
        self.add_class("wb-shadow")
        self.layout.display = "none"

    def update(self, snapshot: Snapshot) -> None:
        report = shadow_report(self.view.journal, snapshot.session_id)
        self.report = report
        if report is None:
            self.layout.display = "none"
            return
        self.layout.display = None
        self.cards.show(stat_cards("shadow", [
            ("multiplier", "live size multiplier", number(report.multiplier)),
            ("agreement", "signal agreement", _percent(report.signal_agreement)),
            ("pnl-gap", "P&L live - shadow", money(report.live.pnl - report.shadow.pnl)),
        ]))
        sides, history = shadow_frames(report)
        self.sides.show(table_html(sides, "shadow-sides", {"figure": "", "live": "live", "shadow": "paper shadow"}))
        self.history.show(table_html(history, "shadow-history", list(history.columns),
                                     empty="no size change yet"))
