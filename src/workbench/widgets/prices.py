"""Price chart of a session: candles with entries, exits, stops, targets and the strategy's indicators.

Market data is not journaled (DESIGN rule 4), so the candles come from the data the session was
started on, as its journaled ``parameters["data"]`` names it: ``"demo"`` (the shipped SPY
minutes), a CSV/Parquet bar file, or a recording directory (:class:`~workbench.feeds.recorder.
Recording`). Only bars up to the session's data time are drawn (a replay in progress never shows
its future). Bars are grouped into ``candle_minutes`` candles (the last ``MAX_CANDLES``).

Entries and exits are the session's fills (triangles up for buys, down for sells, at the fill
price); stops and targets are the ``stop``/``target`` of the strategy's signals; indicators are
the numeric ``inputs`` a strategy journals with each signal. Times are New York time with nights
and weekends cut out (:func:`~workbench.widgets.charts.gap_breaks`).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.widgets.base import Component
from workbench.widgets.charts import CHART_TIMEZONE, base_layout, figure_view, gap_breaks, keep_state, live_figure, local_times
from workbench.widgets.source import Snapshot

__all__ = ["MAX_CANDLES", "PriceChart", "candles", "session_bars"]

log = logging.getLogger(__name__)

MAX_CANDLES = 600
"""Most candles drawn (the newest)."""


@lru_cache(maxsize=4)
def _bars_of(spec: str) -> pd.DataFrame | None:
    try:
        if spec == "demo":
            from workbench.feeds.replay import regular_hours
            from workbench.feeds.samples import load_demo_spy

            return regular_hours(load_demo_spy()[0])
        path = Path(spec)
        if path.is_dir():
            from workbench.feeds.recorder import Recording

            return Recording(path).to_frames().get("bars")
        if path.is_file():
            from workbench.feeds.loaders import load_bars

            return load_bars(path)[0]
    except Exception:  # a chart is not worth failing the page for
        log.warning("no bars for the price chart from %r", spec, exc_info=True)
    return None


def session_bars(session: dict[str, Any]) -> pd.DataFrame | None:
    """Canonical bars (``symbol``, ``ts_event`` ns, ``open``..``close``) of the data a session was
    started on, or None (no data spec, data not found, a custom stream)."""
    parameters = session.get("parameters") or {}
    spec = parameters.get("data") if isinstance(parameters, dict) else None
    if not isinstance(spec, str) or spec in ("", "custom"):
        return None
    return _bars_of(spec)


def candles(bars: pd.DataFrame, symbol: str, until_ns: int | None, minutes: int = 5,
            most: int = MAX_CANDLES) -> pd.DataFrame:
    """OHLC candles of ``symbol`` every ``minutes`` (first open, max high, min low, last close), from
    bars starting before ``until_ns``; index tz-aware UTC candle start; the newest ``most``."""
    b = bars[bars["symbol"] == symbol]
    if until_ns is not None:
        b = b[b["ts_event"] <= until_ns]
    if not len(b):
        return pd.DataFrame(columns=["open", "high", "low", "close"])
    frame = b.set_index(pd.to_datetime(b["ts_event"].to_numpy(), utc=True))[["open", "high", "low", "close"]]
    out = frame.resample(f"{minutes}min").agg({"open": "first", "high": "max", "low": "min", "close": "last"})
    return out.dropna().iloc[-most:]


class PriceChart(Component):
    """Candles of one symbol (picker) with the session's fills, stops, targets and indicators.

    The ``wb-price-note`` line says where the candles come from or why there are none.
    """

    deferred = True
    """Left out of the dashboard's first refresh (it reads the session's data and every fill), so the
    page shows first; drawn by the next refresh."""

    title = "Price"

    def __init__(self, *args: Any, height: int = 380, width: int | None = None, candle_minutes: int = 5,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candle_minutes = candle_minutes
        self.symbol = widgets.Dropdown(options=[], description="symbol", layout=widgets.Layout(width="200px"))
        self.symbol.observe(lambda _c: self._redraw(), names="value")
        self.note = widgets.HTML("")
        base = go.Figure(layout=base_layout())
        base.add_trace(go.Candlestick(x=[], open=[], high=[], low=[], close=[], name="price"))
        base.add_trace(go.Scatter(x=[], y=[], mode="markers", name="buys",
                                  marker={"symbol": "triangle-up", "size": 10, "color": "#1a7f37"}))
        base.add_trace(go.Scatter(x=[], y=[], mode="markers", name="sells",
                                  marker={"symbol": "triangle-down", "size": 10, "color": "#c62828"}))
        base.add_trace(go.Scatter(x=[], y=[], mode="markers", name="stops",
                                  marker={"symbol": "line-ew-open", "size": 12, "color": "#c62828"}))
        base.add_trace(go.Scatter(x=[], y=[], mode="markers", name="targets",
                                  marker={"symbol": "line-ew-open", "size": 12, "color": "#1a7f37"}))
        base.update_layout(height=height, width=width, autosize=width is None, margin={"l": 60, "r": 10, "t": 10, "b": 30},
                           xaxis_rangeslider_visible=False, uirevision="keep", legend={"orientation": "h"})
        base.update_xaxes(type="date", title_text=f"time ({CHART_TIMEZONE})")
        base.update_yaxes(title_text="price (USD)")
        self.figure = live_figure(base)
        self._shown: tuple = ()
        self._last: Snapshot | None = None
        self.children = (self.heading, widgets.HBox([self.symbol, self.note]), figure_view(self.figure))

    def _redraw(self) -> None:
        if self._last is not None:
            self._shown = ()
            self.update(self._last)

    def update(self, snapshot: Snapshot) -> None:
        self._last = snapshot
        symbols = sorted(set(snapshot.fills["symbol"]) | set(snapshot.positions["symbol"])) if len(
            snapshot.fills) or len(snapshot.positions) else []
        bars = session_bars(snapshot.session)
        if not symbols and bars is not None:
            symbols = sorted(set(bars["symbol"]))
        if list(self.symbol.options) != symbols:
            current = self.symbol.value
            self.symbol.options = symbols
            self.symbol.value = current if current in symbols else (symbols[0] if symbols else None)
        symbol = self.symbol.value
        until = None if snapshot.data_time is None else snapshot.data_time.value
        key = (snapshot.session_id, symbol, until if bars is not None else None, len(snapshot.fills),
               len(snapshot.signals))
        if key == self._shown:
            return
        self._shown = key
        c = candles(bars, symbol, until, self.candle_minutes) if bars is not None and symbol else None
        if c is None:
            self.note.value = "<span class='wb-price-note wb-empty'>no price data journaled with this session " \
                              "(fills only)</span>"
        else:
            self.note.value = (f"<span class='wb-price-note'>{len(c)} candles of {self.candle_minutes} min from "
                               f"the session's data</span>")
        fills = snapshot.fills[snapshot.fills["symbol"] == symbol] if len(snapshot.fills) else snapshot.fills
        buys = fills[fills["side"] == "BUY"] if len(fills) else fills
        sells = fills[fills["side"] == "SELL"] if len(fills) else fills
        sig = snapshot.signals[snapshot.signals["symbol"] == symbol] if len(snapshot.signals) else snapshot.signals
        x = local_times(pd.Series(c.index)) if c is not None else np.array([], dtype=object)
        inputs = self._indicators(sig)
        with self.figure.batch_update():
            price = self.figure.data[0]
            price.x = x
            for name in ("open", "high", "low", "close"):
                setattr(price, name, c[name].to_numpy() if c is not None else [])
            for trace, rows in ((self.figure.data[1], buys), (self.figure.data[2], sells)):
                trace.x = local_times(rows["ts_event"]) if len(rows) else []
                trace.y = rows["price"].to_numpy() if len(rows) else []
                trace.text = [f"{q:g} @ {p:,.2f}" for q, p in zip(rows["quantity"], rows["price"], strict=True)] \
                    if len(rows) else []
            for trace, column in ((self.figure.data[3], "stop"), (self.figure.data[4], "target")):
                rows = sig[sig[column].notna()] if len(sig) and column in sig else sig.iloc[0:0]
                trace.x = local_times(rows["ts_event"]) if len(rows) else []
                trace.y = rows[column].to_numpy() if len(rows) else []
            extra = list(self.figure.data[5:])
            names = sorted(inputs)
            if [t.name for t in extra] != names:
                self.figure.data = self.figure.data[:5]
                for name in names:
                    self.figure.add_trace(go.Scatter(x=[], y=[], mode="lines", name=name, line={"width": 1}))
            for trace, name in zip(self.figure.data[5:], names, strict=True):
                trace.x, trace.y = inputs[name]
            self.figure.layout.xaxis.rangebreaks = gap_breaks(x)
        keep_state(self.figure)

    @staticmethod
    def _indicators(signals: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Numeric signal ``inputs`` per name: (times, values)."""
        if not len(signals) or "inputs" not in signals:
            return {}
        out: dict[str, tuple[list, list]] = {}
        times = local_times(signals["ts_event"])
        for when, values in zip(times, signals["inputs"], strict=True):
            for name, value in (values or {}).items():
                if isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value):
                    xs, ys = out.setdefault(str(name), ([], []))
                    xs.append(when)
                    ys.append(float(value))
        return {k: (np.array(v[0], dtype=object), np.array(v[1])) for k, v in out.items()}
