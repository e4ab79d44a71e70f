"""Equity and P&L chart of a session: a plotly ``FigureWidget`` updated in place."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.widgets.base import Component
from workbench.widgets.source import Snapshot

__all__ = ["EquityChart", "figure_widget_class"]

_CLASSES: dict[str, type[go.FigureWidget]] = {}


def figure_widget_class() -> type[go.FigureWidget]:
    """``go.FigureWidget``, or (under ``workbench dashboard``) a subclass whose JavaScript is loaded
    by the browser from the URL in ``$WORKBENCH_PLOTLY_ESM`` instead of being sent through the
    kernel (anywidget imports an ``_esm`` that is an http(s) URL)."""
    url = os.environ.get("WORKBENCH_PLOTLY_ESM", "")
    if not url.startswith(("http://", "https://")):
        return go.FigureWidget
    cls = _CLASSES.get(url)
    if cls is None:
        cls = _CLASSES[url] = type("FigureWidget", (go.FigureWidget,), {"_esm": url, "__module__": __name__})
    return cls


class EquityChart(Component):
    """Equity (top) and P&L = realized + unrealized (bottom) from the journal's AccountState rows.

    The figure is created once; :meth:`update` replaces the traces' ``x``/``y`` inside one
    ``batch_update`` when new rows arrived (at most ``ROW_LIMITS["equity"]`` points, the newest).

    Parameters
    ----------
    height, width : int
        Figure size in pixels (``width=None``: fill the container). Times are shown in UTC.
    """

    title = "Equity and P&L"

    def __init__(self, *args: Any, height: int = 360, width: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.04)
        base.add_trace(go.Scatter(x=[], y=[], mode="lines", name="equity",
                                  line={"color": "#1f77b4", "shape": "hv"}), row=1, col=1)
        base.add_trace(go.Scatter(x=[], y=[], mode="lines", name="P&L", fill="tozeroy",
                                  line={"color": "#2ca02c", "shape": "hv"}), row=2, col=1)
        base.update_layout(height=height, width=width, autosize=width is None, showlegend=False, uirevision="keep",
                           margin={"l": 60, "r": 10, "t": 10, "b": 30})
        base.update_xaxes(type="date")
        base.update_yaxes(title_text="equity", row=1, col=1)
        base.update_yaxes(title_text="P&L", row=2, col=1)
        self.figure = figure_widget_class()(base)
        self._shown: tuple[str, int, int] = ("", -1, -1)  # (session, rows, last seq) drawn
        self.children = (self.heading, self.figure)

    def update(self, snapshot: Snapshot) -> None:
        eq = snapshot.equity
        key = (snapshot.session_id, len(eq), int(eq["seq"].iloc[-1]) if len(eq) else -1)
        if key == self._shown:
            return
        self._shown = key
        # ISO strings: plotly's widget serializer would send datetime64 as plain numbers
        x = eq["ts_event"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").to_numpy() if len(eq) else np.array([], dtype=object)
        pnl = (eq["realized_pnl"].fillna(0.0) + eq["unrealized_pnl"].fillna(0.0)).to_numpy()
        with self.figure.batch_update():
            self.figure.data[0].x = x
            self.figure.data[0].y = eq["equity"].to_numpy()
            self.figure.data[1].x = x
            self.figure.data[1].y = pnl
