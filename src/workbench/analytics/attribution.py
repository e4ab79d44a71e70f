"""Attribution of the P&L gap between a live run and its backtest, and the comparison's summary.

Each fill is valued to the end of the run as ``sign x quantity x (mark - price)`` (currency), with
one mark per symbol shared by both runs, so the gross P&L of a run is the sum over its fills. The
gap (live minus backtest) splits into:

* ``signals`` -- fills of orders only one run placed (different decisions);
* ``execution_price`` -- for fills paired within matched orders, common quantity x (backtest price
  - live price) x sign;
* ``execution_quantity`` -- the rest of the matched orders' difference (partial fills, sizes);
* ``fees`` -- backtest commissions minus live commissions;
* ``other`` -- the gap of the two equities minus the above (a different final mark, rounding).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from workbench.analytics.matching import DIFFERS, EXTRA, MATCHED, MISSING
from workbench.analytics.session_frames import RunRecord, side_sign

__all__ = ["ATTRIBUTION_COMPONENTS", "attribution_table", "comparison_summary", "fill_values"]

ATTRIBUTION_COMPONENTS = ("signals", "execution_price", "execution_quantity", "fees", "other")
"""Rows of :attr:`Comparison.attribution` before the ``total`` row."""


def fill_values(fills: pd.DataFrame, marks: Mapping[str, float]) -> np.ndarray:
    """Gross P&L of each fill valued to the end: sign x quantity x (mark - price) (currency)."""
    if fills.empty:
        return np.empty(0)
    mark = fills["symbol"].map(marks).astype(float).to_numpy()
    return side_sign(fills["side"]) * fills["quantity"].to_numpy(float) * (mark - fills["price"].to_numpy(float))


def attribution_table(live: RunRecord, bt: RunRecord, fills: pd.DataFrame, marks: Mapping[str, float],
                      pnl_live: float, pnl_backtest: float) -> pd.DataFrame:
    """P&L gap (live minus backtest, currency, rounded to cents) per component; see the module docstring."""
    lv = pd.Series(fill_values(live.fills, marks), index=live.fills["fill_id"].to_numpy(), dtype=float)
    bv = pd.Series(fill_values(bt.fills, marks), index=bt.fills["fill_id"].to_numpy(), dtype=float)
    in_matched_l = set(fills.loc[fills["order_matched"].astype(bool), "fill_id_live"].dropna()) if len(fills) else set()
    in_matched_b = set(fills.loc[fills["order_matched"].astype(bool), "fill_id_backtest"].dropna()) if len(fills) else set()
    exec_l = lv[lv.index.isin(in_matched_l)].sum()
    exec_b = bv[bv.index.isin(in_matched_b)].sum()
    signals = (lv.sum() - exec_l) - (bv.sum() - exec_b)
    execution = exec_l - exec_b
    price = 0.0
    if len(fills):
        m = fills[fills["status"] == MATCHED]
        common = np.minimum(m["quantity_live"], m["quantity_backtest"])
        price = float((side_sign(m["side"]) * common * (m["price_backtest"] - m["price_live"])).sum())
    fees = bt.commissions - live.commissions
    gap = pnl_live - pnl_backtest
    values = {"signals": signals, "execution_price": price, "execution_quantity": execution - price, "fees": fees}
    values["other"] = gap - sum(values.values())
    values["total"] = gap
    out = pd.DataFrame({"pnl_gap": pd.Series(values, dtype=float).round(2) + 0.0})  # cents, no negative zeros
    total = out.loc["total", "pnl_gap"]
    out["share_of_gap"] = out["pnl_gap"] / total + 0.0 if total != 0 else np.nan
    out.index.name = "component"
    return out


def comparison_summary(signals: pd.DataFrame, orders: pd.DataFrame, fills: pd.DataFrame, attribution: pd.DataFrame,
                       pnl_live: float, pnl_backtest: float, data_differences: int, live: RunRecord,
                       bt: RunRecord) -> pd.Series:
    """Headline figures of a comparison: counts, agreement fractions, bps, seconds, currency."""
    def count(frame: pd.DataFrame, status: str) -> int:
        return int((frame["status"] == status).sum()) if len(frame) else 0

    matched_fills = fills[fills["status"] == MATCHED] if len(fills) else fills
    bps = matched_fills["price_difference_bps"].to_numpy(float) if len(matched_fills) else np.empty(0)
    weights = (matched_fills["quantity_live"] * matched_fills["price_live"]).to_numpy(float) if len(bps) else bps
    values: dict[str, Any] = {
        "signals_live": len(live.signals), "signals_backtest": len(bt.signals),
        "signals_matched": count(signals, MATCHED), "signals_missing": count(signals, MISSING),
        "signals_extra": count(signals, EXTRA), "signals_differ": count(signals, DIFFERS),
        "signal_agreement": count(signals, MATCHED) / len(signals) if len(signals) else np.nan,
        "orders_live": len(live.orders), "orders_backtest": len(bt.orders),
        "orders_matched": count(orders, MATCHED), "orders_missing": count(orders, MISSING),
        "orders_extra": count(orders, EXTRA), "orders_differ": count(orders, DIFFERS),
        "order_agreement": count(orders, MATCHED) / len(orders) if len(orders) else np.nan,
        "fills_live": len(live.fills), "fills_backtest": len(bt.fills), "fills_matched": len(bps),
        "mean_abs_price_difference_bps": float(np.abs(bps).mean()) if len(bps) else np.nan,
        "max_abs_price_difference_bps": float(np.abs(bps).max()) if len(bps) else np.nan,
        "mean_slippage_bps": float(np.average(matched_fills["slippage_bps"], weights=weights))
        if len(bps) and weights.sum() > 0 else np.nan,
        "mean_time_to_fill_live": float(live.orders.eval("ts_first_fill - ts_submitted").dropna().mean() / 1e9)
        if live.orders["ts_first_fill"].notna().any() else np.nan,
        "mean_time_to_fill_backtest": float(bt.orders.eval("ts_first_fill - ts_submitted").dropna().mean() / 1e9)
        if bt.orders["ts_first_fill"].notna().any() else np.nan,
        "pnl_live": pnl_live, "pnl_backtest": pnl_backtest, "pnl_gap": pnl_live - pnl_backtest,
        "commissions_live": live.commissions, "commissions_backtest": bt.commissions,
        "data_differences": data_differences,
    }
    for name in ATTRIBUTION_COMPONENTS:
        values[f"gap_{name}"] = float(attribution.loc[name, "pnl_gap"])
    return pd.Series(values, dtype=object, name="value")
