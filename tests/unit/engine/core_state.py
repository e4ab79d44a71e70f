"""Helpers for the engine tests: the state a journal rebuild must reproduce, from a live engine."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workbench.engine.backtest import build_engine
from workbench.engine.reconcile import rebuild
from workbench.model import events as ev


def engine_state(engine: Any) -> dict[str, Any]:
    """Orders (status, terms, fills), positions, cash, P&L, trading state, kill switch, held children."""
    pf = engine.portfolio
    return {
        "orders": {
            oid: (o.status, o.quantity, o.filled_quantity, round(o.avg_fill_price, 9), o.limit_price, o.stop_price,
                  o.strategy_id, o.reduce_only)
            for oid, o in engine.orders.items()
        },
        "open": sorted(engine._open_orders),
        "held": {p: sorted(c.order_id for c in kids) for p, kids in engine._children.items() if kids},
        "armed": {p: ids for p, kids in engine._armed.items()
                  if (ids := sorted(c.order_id for c in kids if not c.is_closed))},
        "positions": {s: (p.quantity, round(p.avg_price, 9), round(p.realized_pnl, 6))
                      for s, p in pf.positions.items() if not p.is_flat},
        "cash": round(pf.cash, 6),
        "fills": sorted(engine._fill_ids),
        "state": engine.risk.state,
        "kill_switch": engine.risk.kill_switch_engaged,
        "halted_strategies": sorted(getattr(engine, "halted_strategies", ())),
    }


def rebuilt_state(events: Iterable[ev.Event], starting_cash: float = 100_000.0, **options: Any) -> dict[str, Any]:
    """:func:`engine_state` of a fresh engine rebuilt from ``events`` (what a restart restores)."""
    fresh = build_engine([], starting_cash=starting_cash, **options)
    rebuild(fresh, list(events))
    return engine_state(fresh)
