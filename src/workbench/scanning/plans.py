"""Trade plans: turn a selected scan candidate into entry, stop, target, size and a holding limit.

For a long plan (``direction`` +1; a short mirrors every price around the reference):

===========  ======================================================================================
entry        ``market`` (reference = last close), ``limit`` at ``close * (1 - limit_offset_bps/1e4)``,
             or ``breakout``: a buy stop at the highest high of the last ``breakout_window`` sessions
stop         ``atr``: ``entry - stop_atr_multiple * ATR(atr_period)`` (Wilder, price units), or
             ``structure``: the lowest low of the last ``structure_window`` sessions
target       ``entry + target_r_multiple * (entry - stop)`` (a multiple of the risk per share, "R")
quantity     fixed-fractional: ``risk_fraction * equity / (entry - stop)`` shares, rounded down to
             the lot, capped at ``max_position_percent`` of equity (:mod:`workbench.risk.sizing`)
===========  ======================================================================================

Sources: Van Tharp, *Trade Your Way to Financial Freedom* (R multiples, percent-risk sizing);
Wilder (1978) for ATR. A plan becomes a :class:`~workbench.risk.sizing.LiveSignal` (the journaled
record of the decision) and then a bracket order through the risk engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from workbench.risk.sizing import LiveSignal, fixed_fractional_size
from workbench.scanning.factors import ATR
from workbench.scanning.panel import Panel

__all__ = ["PlanConfig", "TradePlan", "make_plan"]


class PlanConfig(BaseModel):
    """How a selected candidate is traded (see the module docstring for the formulas)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry: Literal["market", "limit", "breakout"] = "market"
    limit_offset_bps: float = Field(0.0, ge=0)
    breakout_window: int = Field(20, ge=1)
    stop: Literal["atr", "structure"] = "atr"
    stop_atr_multiple: float = Field(2.0, gt=0)
    atr_period: int = Field(14, ge=1)
    structure_window: int = Field(10, ge=1)
    target_r_multiple: float = Field(2.0, gt=0)
    risk_fraction: float = Field(0.01, gt=0, le=0.2)
    max_position_percent: float = Field(0.25, gt=0, le=1.0)
    max_holding_days: int = Field(20, ge=1)


@dataclass(frozen=True)
class TradePlan:
    """A planned trade: prices in currency, ``quantity`` in shares, ``risk`` in currency.

    ``entry_price`` is the limit (``limit``), the stop trigger (``breakout``) or the reference
    close (``market``, sent as a market order).
    """

    symbol: str
    direction: int
    entry_type: str
    entry_price: float
    stop: float
    target: float
    quantity: float
    risk: float
    max_holding_days: int
    score: float
    rank: int
    reason: str
    inputs: dict[str, float] = field(default_factory=dict)

    def to_signal(self, confidence: float = 1.0) -> LiveSignal:
        """The decision record; ``entry`` is None for a market entry."""
        return LiveSignal(symbol=self.symbol, direction=self.direction, confidence=min(1.0, max(0.0, confidence)),
                          entry=None if self.entry_type == "market" else self.entry_price, target=self.target,
                          stop=self.stop, size=self.quantity, reason=self.reason, inputs=dict(self.inputs))


def make_plan(symbol: str, panel: Panel, equity: float, config: PlanConfig | None = None, *, direction: int = 1,
              score: float = math.nan, rank: int = 0, inputs: dict[str, float] | None = None, lot_size: float = 1.0,
              tick_size: float = 0.01, reason: str = "") -> TradePlan | None:
    """Plan a trade in ``symbol`` from the panel's last session (the scan's view).

    Returns None when the plan is not tradable: no close on the last session, no ATR yet, a stop
    on the wrong side of the entry, or a size below one lot.

    Raises
    ------
    ValueError
        If ``direction`` is not +1 or -1 or ``equity`` is not positive.
    """
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction!r}")
    if not equity > 0:
        raise ValueError(f"equity must be positive, got {equity!r}")
    cfg = config or PlanConfig()
    close = panel.close[symbol].iloc[-1]
    if not np.isfinite(close):
        return None
    d = direction

    def snap(x: float) -> float:
        return round(round(x / tick_size) * tick_size, 10)

    if cfg.entry == "market":
        entry = float(close)
    elif cfg.entry == "limit":
        entry = snap(close * (1.0 - d * cfg.limit_offset_bps / 1e4))
    else:
        extreme = panel.high[symbol] if d > 0 else panel.low[symbol]
        window = extreme.iloc[-cfg.breakout_window:]
        entry = snap(float(window.max() if d > 0 else window.min()))
    if cfg.stop == "atr":
        atr = ATR(cfg.atr_period, normalized=False).compute(panel.select([symbol])).iloc[-1, 0]
        if not np.isfinite(atr) or atr <= 0:
            return None
        stop = snap(entry - d * cfg.stop_atr_multiple * atr)
    else:
        extreme = panel.low[symbol] if d > 0 else panel.high[symbol]
        window = extreme.iloc[-cfg.structure_window:]
        stop = snap(float(window.min() if d > 0 else window.max()) - d * tick_size)
    per_share = (entry - stop) * d
    if not per_share > 0:
        return None
    target = snap(entry + d * cfg.target_r_multiple * per_share)
    quantity = fixed_fractional_size(equity, cfg.risk_fraction, entry, stop, lot_size=lot_size)
    cap = math.floor(equity * cfg.max_position_percent / entry / lot_size) * lot_size
    quantity = min(quantity, cap)
    if quantity < lot_size:
        return None
    why = reason or f"scan rank {rank}, score {score:.2f}"
    clean = {k: float(v) for k, v in (inputs or {}).items() if isinstance(v, int | float) and np.isfinite(v)}
    return TradePlan(symbol, d, cfg.entry, float(entry), float(stop), float(target), float(quantity),
                     float(quantity * per_share), cfg.max_holding_days, float(score), int(rank), why, clean)


def plans_frame(plans: list[TradePlan]) -> pd.DataFrame:
    """Plans as a table (one row per plan)."""
    cols = ["symbol", "direction", "entry_type", "entry_price", "stop", "target", "quantity", "risk",
            "max_holding_days", "score", "rank", "reason"]
    return pd.DataFrame([{c: getattr(p, c) for c in cols} for p in plans], columns=cols)
