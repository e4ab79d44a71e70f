"""Journal read models as plain text for the terminal (``workbench journal ...``).

Money columns (cash, equity, P&L, commissions, exposures, notionals) are rounded to the currency's
minor unit (cents, DESIGN rule 9), so accumulated float error such as ``-1.36e-12`` prints as
``0.00``; other float columns are rounded to 10 significant digits (prices, quantities) and
``-0`` prints as ``0``.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["MONEY_COLUMNS", "frame_text"]

MONEY_COLUMNS = frozenset({
    "cash", "equity", "gross_exposure", "net_exposure", "realized_pnl", "unrealized_pnl", "commission",
    "commissions", "pnl", "gross_pnl", "cost_basis", "market_value", "notional", "value", "starting_cash",
})
"""Columns printed with two decimals."""


def _money(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    rounded = round(float(value), 2)
    return f"{rounded + 0.0:,.2f}"  # + 0.0 turns -0.0 into 0.0


def _plain(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    v = float(f"{float(value):.10g}") + 0.0
    return f"{v:.10g}"


def frame_text(frame: pd.DataFrame, limit: int | None = None) -> str:
    """``frame`` as text; with ``limit`` > 0 only its last ``limit`` rows (the newest: read models
    are in time order; sessions are newest first, so there the first ``limit``)."""
    if limit:
        newest_first = "ts_created" in frame and len(frame) > 1 and frame["ts_created"].is_monotonic_decreasing
        frame = frame.head(limit) if newest_first else frame.tail(limit)
    if not len(frame):
        return "(no rows)" if not len(frame.columns) else frame.to_string()
    formatters = {}
    for name in frame.columns:
        if pd.api.types.is_float_dtype(frame[name]):
            formatters[name] = _money if name in MONEY_COLUMNS else _plain
    return frame.to_string(formatters=formatters)
