"""Equity and P&L chart of a session: a plotly ``FigureWidget`` updated in place.

A ``FigureWidget``'s in-place updates travel as one-off messages to the views open at that moment;
a page opened later asks the kernel for the widget's *state*, which plotly only fills in when the
figure is displayed on its own. :func:`keep_state` copies the figure's current data and layout
into that state after every update (without sending it), so a page opened at any time (a Voila
page on a finished session) draws the whole figure.

A ``FigureWidget`` also carries plotly's widget JavaScript (~5 MB) in its state unless the browser
can load it from a URL, which only ``workbench dashboard`` provides (its Voila serves it). Elsewhere
(a notebook in JupyterLab, an executed notebook saved with its widget state) :func:`live_figure`
gives a plain ``go.Figure`` drawn through a :class:`FigurePane`: an ipywidgets ``Output`` whose state
is the figure's JSON mime bundle (drawn by JupyterLab's plotly renderer), replaced after every
update, so the saved widget state holds the figure's data and no plotly.js.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from workbench.widgets.base import Component
from workbench.widgets.source import Snapshot

__all__ = ["CHART_TIMEZONE", "EquityChart", "FigurePane", "base_layout", "extremes_downsample", "figure_view",
           "figure_widget_class", "gap_breaks", "keep_state", "live_figure", "local_times"]

CHART_TIMEZONE = "America/New_York"
"""Time zone of the charts' time axes (the exchange's); named in the axis title."""

GAP_SECONDS = 3600.0
"""A gap between two points longer than this (s) is cut out of a time axis (nights, weekends)."""


TEMPLATE_TRACES = ("scatter", "bar")
"""Trace types whose defaults the dashboard's template keeps (the types its figures draw)."""


@functools.cache
def _slim_template(name: str) -> go.layout.Template | None:
    path = Path(pio.__file__).resolve().parents[1] / "package_data" / "templates" / f"{name}.json"
    if not path.is_file():
        return None
    spec = json.loads(path.read_text())
    data = {kind: spec.get("data", {})[kind] for kind in TEMPLATE_TRACES if kind in spec.get("data", {})}
    return go.layout.Template(layout=spec.get("layout", {}), data=data)


def base_layout() -> dict[str, Any]:
    """Layout to start a dashboard figure from: plotly's default template (``pio.templates.default``)
    with the trace defaults of :data:`TEMPLATE_TRACES` only.

    plotly applies its whole default template to every new figure, with the defaults of ~25 trace
    types; building and validating those costs about 0.1 s per figure, on the page's first render.
    The figures look the same (the layout and the defaults of the traces drawn are kept). A default
    template set by the user that is not one of plotly's bundled ones is used as it is.
    """
    name = pio.templates.default
    template = _slim_template(name) if isinstance(name, str) and "+" not in name else None
    return {} if template is None else {"template": template}


class FigurePane(widgets.Output):
    """Draws a plotly ``go.Figure`` as its JSON mime bundle in an ``Output`` widget (see the module doc).

    :meth:`draw` replaces the output with the figure's current data and layout.
    """

    def __init__(self, figure: go.Figure, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.figure = figure
        self.draw()

    def draw(self) -> None:
        bundle = pio.renderers["plotly_mimetype"].to_mimebundle(self.figure.to_dict())
        bundle["text/plain"] = f"<plotly figure: {len(self.figure.data)} traces>"
        self.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)


def live_figure(base: go.Figure) -> go.Figure:
    """A figure to update in place from ``base``: a ``FigureWidget`` under ``workbench dashboard``
    (:func:`figure_widget_class`), else a ``go.Figure`` with a :class:`FigurePane`. Put
    :func:`figure_view` of it on the page and call :func:`keep_state` after each update."""
    cls = figure_widget_class()
    if cls is not go.FigureWidget:
        return cls(base)
    figure = go.Figure(base)
    figure._wb_pane = FigurePane(figure)
    return figure


def figure_view(figure: go.Figure) -> widgets.DOMWidget:
    """The widget showing ``figure`` (the figure itself when it is a ``FigureWidget``)."""
    return figure if isinstance(figure, go.FigureWidget) else figure._wb_pane


def keep_state(figure: go.Figure) -> None:
    """Make what a newly opened view draws equal the figure's current data and layout.

    A ``FigureWidget``: its widget state, set without sending it (the views already open got the
    change as plotly's own update message). A :func:`live_figure` ``go.Figure``: its pane redrawn.
    """
    if not isinstance(figure, go.FigureWidget):
        figure._wb_pane.draw()
        return
    figure._trait_values["_widget_data"] = copy.deepcopy(figure._data)
    figure._trait_values["_widget_layout"] = copy.deepcopy(figure._layout_obj._props)


def local_times(ts: pd.Series, timezone: str = CHART_TIMEZONE) -> np.ndarray:
    """tz-aware times as ISO strings in ``timezone`` without offset (plotly's widget serializer sends
    datetime64 as plain numbers)."""
    if not len(ts):
        return np.array([], dtype=object)
    return ts.dt.tz_convert(timezone).dt.strftime("%Y-%m-%dT%H:%M:%S.%f").to_numpy()


def gap_breaks(local: np.ndarray, gap_seconds: float = GAP_SECONDS, most: int = 60) -> list[dict[str, Any]]:
    """Plotly ``rangebreaks`` cutting out every gap longer than ``gap_seconds`` between consecutive
    points of ``local`` (sorted ISO strings, as :func:`local_times` gives); the newest ``most``."""
    if len(local) < 2:
        return []
    t = pd.to_datetime(pd.Series(local)).to_numpy()
    step = np.diff(t).astype("timedelta64[ns]").astype(np.int64) / 1e9
    where = np.nonzero(step > gap_seconds)[0][-most:]
    pad = np.timedelta64(1, "s")
    return [{"bounds": [str(pd.Timestamp(t[i] + pad)), str(pd.Timestamp(t[i + 1] - pad))]} for i in where]


def extremes_downsample(values: np.ndarray, buckets: int) -> np.ndarray:
    """Indices (ascending) of the points of a line chart to draw so it looks the same with at most
    ``(2 + 2 k) * buckets`` points (``k`` series; 4 per bucket for one).

    M4 aggregation (Jugel et al., "M4: a visualization-oriented time series data aggregation", VLDB
    2014): split the points into ``buckets`` consecutive runs of (nearly) equal count and keep each
    run's first, last, minimum and maximum.

    Parameters
    ----------
    values : array, shape (n,) or (k, n)
        One series, or ``k`` series drawn against the same x (the union of their picks is kept, so
        they still share x). NaN is never picked as a minimum or maximum.
    buckets : int
        At least 1. With ``n <= (2 + 2 k) * buckets`` every index is returned.

    Raises
    ------
    ValueError
        ``buckets`` below 1.
    """
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, got {buckets!r}")
    series = np.atleast_2d(np.asarray(values, dtype=float))
    n = series.shape[1]
    if n <= (2 + 2 * len(series)) * buckets:
        return np.arange(n)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    group = np.repeat(np.arange(buckets), np.diff(edges))
    picks = [edges[:-1], edges[1:] - 1]
    for row in series:
        grouped = pd.Series(row).groupby(group)
        picks += [grouped.idxmin().dropna().to_numpy(np.int64), grouped.idxmax().dropna().to_numpy(np.int64)]
    return np.unique(np.concatenate(picks))


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
    ``batch_update`` when new rows arrived (the newest ``ROW_LIMITS["equity"]`` rows; beyond
    :attr:`max_points` of them, the M4 picks of :func:`extremes_downsample`, which draw the same
    line at the chart's width) and keeps the widget state equal to it (:func:`keep_state`). P&L is green above zero and red
    below; times are New York time with nights and weekends cut out; amounts in the account's
    currency (named on the axis).

    Parameters
    ----------
    height, width : int
        Figure size in pixels (``width=None``: fill the container).
    """

    title = "Equity and P&L"

    max_points = 2000
    """Most points per trace sent to the page (every page update resends them all)."""

    def __init__(self, *args: Any, height: int = 360, width: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.04,
                             figure=go.Figure(layout=base_layout()))
        base.add_trace(go.Scatter(x=[], y=[], mode="lines", name="equity",
                                  line={"color": "#1f77b4", "shape": "hv"}), row=1, col=1)
        base.add_trace(go.Scatter(x=[], y=[], mode="lines", name="P&L", fill="tozeroy",
                                  line={"color": "#2ca02c", "shape": "hv"}), row=2, col=1)
        base.add_trace(go.Scatter(x=[], y=[], mode="lines", name="P&L below zero", fill="tozeroy",
                                  line={"color": "#c62828", "shape": "hv"}), row=2, col=1)
        base.update_layout(height=height, width=width, autosize=width is None, showlegend=False, uirevision="keep",
                           margin={"l": 60, "r": 10, "t": 10, "b": 30})
        base.update_xaxes(type="date")
        base.update_xaxes(title_text=f"time ({CHART_TIMEZONE})", row=2, col=1)
        base.update_yaxes(title_text="equity (USD)", row=1, col=1)
        base.update_yaxes(title_text="P&L (USD)", row=2, col=1)
        self.figure = live_figure(base)
        self._shown: tuple[str, int, int] = ("", -1, -1)  # (session, rows, last seq) drawn
        self.children = (self.heading, figure_view(self.figure))

    def update(self, snapshot: Snapshot) -> None:
        eq = snapshot.equity
        key = (snapshot.session_id, len(eq), int(eq["seq"].iloc[-1]) if len(eq) else -1)
        if key == self._shown:
            return
        self._shown = key
        pnl = (eq["realized_pnl"].fillna(0.0) + eq["unrealized_pnl"].fillna(0.0)).to_numpy()
        equity = eq["equity"].to_numpy()
        keep = extremes_downsample(np.vstack([equity, pnl]), max(1, self.max_points // 6))
        if len(keep) < len(eq):
            eq, equity, pnl = eq.iloc[keep], equity[keep], pnl[keep]
        x = local_times(eq["ts_event"])
        currency = str(eq["currency"].iloc[-1]) if len(eq) and "currency" in eq else "USD"
        breaks = gap_breaks(x)
        with self.figure.batch_update():
            self.figure.data[0].x = x
            self.figure.data[0].y = equity
            self.figure.data[1].x = x
            self.figure.data[1].y = np.maximum(pnl, 0.0)
            self.figure.data[2].x = x
            self.figure.data[2].y = np.minimum(pnl, 0.0)
            self.figure.layout.xaxis.rangebreaks = breaks
            self.figure.layout.xaxis2.rangebreaks = breaks
            self.figure.layout.yaxis.title.text = f"equity ({currency})"
            self.figure.layout.yaxis2.title.text = f"P&L ({currency})"
        keep_state(self.figure)
