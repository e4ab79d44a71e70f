"""HTML rendering for the widgets: tables with stable CSS classes, stat cards, number formats.

Tables are rendered into an ``ipywidgets.HTML`` whose value is replaced only when the text
changes (:class:`HtmlPane`), so a refresh sends nothing when nothing changed and never recreates a
widget. Every table carries ``class="wb-table wb-<name>"`` and every cell ``data-column="<column>"``
so a browser test (or a stylesheet) can find values without depending on the layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

import ipywidgets as widgets
import pandas as pd

__all__ = ["STYLE", "HtmlPane", "money", "number", "quantity", "stat_cards", "table_html", "timestamp"]

STYLE = """
<style>
.wb-table {border-collapse: collapse; font-size: 12px; font-family: var(--jp-code-font-family, monospace);}
.wb-table th {text-align: left; padding: 2px 8px; border-bottom: 1px solid #999; background: #f3f3f3;}
.wb-table td {padding: 1px 8px; border-bottom: 1px solid #eee; white-space: nowrap;}
.wb-table td.num {text-align: right;}
.wb-empty {color: #888; font-style: italic; font-size: 12px;}
.wb-cards {display: flex; flex-wrap: wrap; gap: 8px;}
.wb-card {border: 1px solid #ddd; border-radius: 4px; padding: 4px 10px; min-width: 110px;}
.wb-card .wb-label {font-size: 11px; color: #666;}
.wb-card .wb-value {font-size: 18px; font-weight: 600;}
.wb-pos {color: #1a7f37;} .wb-neg {color: #c62828;}
.wb-ok {color: #1a7f37; font-weight: 600;} .wb-bad {color: #c62828; font-weight: 600;}
.wb-warn {color: #b26a00; font-weight: 600;}
.wb-title {font-weight: 600; font-size: 14px; margin: 6px 0 2px 0;}
.wb-banner {color: #fff; padding: 8px 14px; border-radius: 4px; margin: 4px 0 8px 0;}
.wb-banner-main {font-size: 15px;} .wb-state {font-size: 22px; font-weight: 700; letter-spacing: 1px;
  margin-right: 12px;}
.wb-banner-details {margin-left: 14px;} .wb-banner-info {font-size: 12px; margin-top: 4px; opacity: 0.95;}
.wb-replay-bar {display: inline-block; width: 80px; height: 6px; margin-left: 6px; vertical-align: middle;
  background: rgba(255,255,255,0.35); border-radius: 3px;}
.wb-replay-bar > span {display: block; height: 100%; background: #fff; border-radius: 3px;}
.wb-link {padding: 0 6px; border-radius: 3px; background: rgba(255,255,255,0.2);}
.wb-link-down {background: #000; color: #ff8a80; font-weight: 700;}
.wb-limit {display: flex; align-items: center; gap: 8px; font-size: 12px; margin: 2px 0;}
.wb-limit-rule {width: 210px;} .wb-limit-text {white-space: nowrap;}
.wb-limit-bar {display: inline-block; width: 180px; height: 10px; background: #eee; border-radius: 3px;
  overflow: hidden;}
.wb-limit-fill {display: block; height: 100%;}
.wb-note, .wb-denials {font-size: 12px; color: #666; margin: 2px 0;}
.wb-current {background: #e3f2fd;}
.wb-setup th {width: 140px;}
/* the page prints and captures whole: Voila's lab shell scrolls inside fixed-height panels; make
   them plain blocks so the document itself grows and scrolls */
html, body {height: auto !important; overflow: visible !important;}
#main, #jp-main-content-panel, #rendered_cells {position: static !important; height: auto !important;
  width: auto !important; overflow: visible !important; contain: none !important;}
@media print {.wb-banner {-webkit-print-color-adjust: exact; print-color-adjust: exact;}
  .widget-button, .jupyter-button {display: none;}}
</style>
"""
"""Stylesheet shown once by the dashboard (the classes used below)."""

Formatter = Callable[[Any], str]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def number(value: Any, digits: int = 2) -> str:
    """``value`` with thousands separators and ``digits`` decimals; ``-`` when missing."""
    if _missing(value):
        return "-"
    return f"{float(value):,.{digits}f}"


def money(value: Any) -> str:
    """Currency amount rounded to cents (the minor unit of USD), ``-`` when missing."""
    return number(value, 2)


def quantity(value: Any) -> str:
    """Shares: integer-looking when whole, else up to 4 decimals."""
    if _missing(value):
        return "-"
    v = float(value)
    return f"{v:,.0f}" if v == int(v) else f"{v:,.4f}".rstrip("0")


def timestamp(value: Any) -> str:
    """UTC time as ``YYYY-mm-dd HH:MM:SS``; ``-`` when missing."""
    if _missing(value):
        return "-"
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")


def _default(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return timestamp(value)
    if isinstance(value, float):
        return number(value, 4) if not _missing(value) else "-"
    if _missing(value):
        return "-"
    return str(value)


def table_html(
    frame: pd.DataFrame,
    name: str,
    columns: Sequence[str] | Mapping[str, str],
    formats: Mapping[str, Formatter] | None = None,
    *,
    empty: str = "none",
    row_class: Callable[[Mapping[str, Any]], str] | None = None,
) -> str:
    """Render ``frame`` as ``<table class="wb-table wb-{name}">``.

    Parameters
    ----------
    frame : DataFrame
        Rows to show, in order.
    name : str
        Suffix of the table's CSS class.
    columns : sequence of column names, or mapping column -> header
        Columns shown (missing columns render as ``-``).
    formats : mapping column -> callable, optional
        Per-column formatter; numbers default to 4 decimals, timestamps to seconds.
    empty : str
        Text shown (``<div class="wb-empty wb-{name}">``) when ``frame`` has no rows.
    row_class : callable(row) -> str, optional
        Extra CSS class of a row.
    """
    headers = dict(columns) if isinstance(columns, Mapping) else {c: c.replace("_", " ") for c in columns}
    if frame is None or len(frame) == 0:
        return f"<div class='wb-empty wb-{escape(name)}'>{escape(empty)}</div>"
    formats = formats or {}
    head = "".join(f"<th>{escape(h)}</th>" for h in headers.values())
    body = []
    for row in frame.to_dict("records"):
        cells = []
        for col in headers:
            value = row.get(col)
            text = formats.get(col, _default)(value)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            cls = " class='num'" if numeric else ""
            cells.append(f"<td data-column='{escape(col)}'{cls}>{escape(text)}</td>")
        extra = f" class='{escape(row_class(row))}'" if row_class else ""
        body.append(f"<tr{extra}>{''.join(cells)}</tr>")
    return (
        f"<table class='wb-table wb-{escape(name)}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def stat_cards(name: str, cards: Sequence[tuple[str, str, str]]) -> str:
    """Stat cards ``(key, label, value_text)``; each value has class ``wb-stat-<key>``.

    A value text starting with ``-`` (and not just ``-``) is shown in red, ``+`` in green.
    """
    out = []
    for key, label, text in cards:
        tone = " wb-neg" if text.startswith("-") and text != "-" else (" wb-pos" if text.startswith("+") else "")
        out.append(
            f"<div class='wb-card'><div class='wb-label'>{escape(label)}</div>"
            f"<div class='wb-value wb-stat-{escape(key)}{tone}'>{escape(text)}</div></div>"
        )
    return f"<div class='wb-cards wb-{escape(name)}'>{''.join(out)}</div>"


class HtmlPane(widgets.HTML):
    """An ``ipywidgets.HTML`` whose :meth:`show` replaces the value only when it changed.

    Returns True from :meth:`show` when the page had to be updated.
    """

    def show(self, html: str) -> bool:
        if html == self.value:
            return False
        self.value = html
        return True
