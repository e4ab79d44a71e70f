"""Transaction cost analysis of parent orders worked by execution algorithms.

Implementation shortfall, decomposed as Perold (1988), "The implementation shortfall: paper versus
reality", J. Portfolio Management 14(3): for a parent of ``Q`` shares, side ``s`` (+1 buy, -1 sell),
decision price ``P_d``, arrival price ``P_a`` (the mid when the algorithm started), fills ``(q_i,
p_i)`` of ``Q_f = sum q_i`` shares, fees ``F`` and the price ``P_e`` when the parent ended:

=====================  ================================================  ========
component              formula                                           unit
=====================  ================================================  ========
delay cost             ``s (P_a - P_d) Q_f``                              currency
execution cost         ``s sum q_i (p_i - P_a)`` (impact + timing)        currency
opportunity cost       ``s (P_e - P_d) (Q - Q_f)`` (the unfilled rest)    currency
fees                   ``F``                                              currency
implementation         ``s sum q_i (p_i - P_d) + s (P_e - P_d)(Q - Q_f)   currency
shortfall              + F`` = the sum of the four above (exactly)
=====================  ================================================  ========

Each also in bps of the paper portfolio ``P_d Q`` (``*_bps`` = currency / (P_d Q) x 1e4). Without a
separate decision price, ``P_d = P_a`` and the delay cost is 0. Benchmarks over the parent's
interval (start .. end): the market's ``interval_vwap`` (sum price x volume / sum volume of the bars or
trades), ``interval_twap`` (mean price), ``participation`` (filled / market volume), and the
average fill's slippage against each in bps (``s (avg - benchmark) / benchmark x 1e4``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from workbench.model import events as ev
from workbench.model.enums import OrderSide

__all__ = ["PARENT_TCA_GROUPS", "aggregate_parent_tca", "compare_children", "parent_tca", "perold_shortfall"]

PARENT_TCA_GROUPS = ("algorithm", "symbol", "side", "size_bucket")
_BUCKETS = (0.01, 0.05, 0.10, 0.25)


def perold_shortfall(side: int, quantity: float, decision_price: float, arrival_price: float,
                     fills: Sequence[tuple[float, float]], end_price: float, fees: float = 0.0) -> dict[str, float]:
    """Perold's decomposition for one parent (module docstring); ``fills`` = ``[(shares, price), ...]``.

    Returns a dict with ``delay_cost``, ``execution_cost``, ``opportunity_cost``, ``fees``,
    ``implementation_shortfall`` (currency) and the same names with ``_bps``.

    Raises
    ------
    ValueError
        ``side`` not +1/-1, a non-positive quantity or decision price.
    """
    if side not in (1, -1) or not quantity > 0 or not decision_price > 0:
        raise ValueError(f"side must be +-1 and quantity, decision_price > 0; got {side}, {quantity}, {decision_price}")
    filled = float(sum(q for q, _ in fills))
    delay = side * (arrival_price - decision_price) * filled
    execution = side * sum(q * (p - arrival_price) for q, p in fills)
    opportunity = side * (end_price - decision_price) * (quantity - filled)
    total = side * sum(q * (p - decision_price) for q, p in fills) + opportunity + fees
    paper = decision_price * quantity
    out = {"delay_cost": delay, "execution_cost": execution, "opportunity_cost": opportunity, "fees": fees,
           "implementation_shortfall": total}
    out.update({f"{k}_bps": v / paper * 1e4 for k, v in list(out.items())})
    return out


def _market_frame(market: pd.DataFrame | None) -> pd.DataFrame | None:
    """``ts``, ``symbol``, ``price``, ``volume`` from canonical bars (close, volume; stamped at bar start)
    or trades (price, size)."""
    if market is None:
        return None
    if "price" in market.columns:
        return pd.DataFrame({"ts": market["ts_event"], "symbol": market["symbol"], "price": market["price"],
                             "volume": market["size"]})
    return pd.DataFrame({"ts": market["ts_event"], "symbol": market["symbol"],
                         "price": (market["high"] + market["low"] + market["close"]) / 3.0, "volume": market["volume"]})


def _bucket(share: float) -> str:
    if not np.isfinite(share):
        return "unknown"
    low = 0.0
    for edge in _BUCKETS:
        if share < edge:
            return f"{low:.0%}-{edge:.0%}"
        low = edge
    return f">={_BUCKETS[-1]:.0%}"


def parent_tca(events: Iterable[ev.Event], market: pd.DataFrame | None = None, *,
               decision_prices: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per parent order in ``events`` (a backtest's events or a journal's).

    ``market``: canonical bars or trades covering the parents' intervals (for the benchmarks and the
    end price; without it the end price is the last fill's and benchmarks are NaN).
    ``decision_prices``: parent id -> decision price (default: the arrival price).

    Columns: ``parent_id``, ``algorithm``, ``symbol``, ``side``, ``quantity``, ``filled_quantity``,
    ``avg_price``, ``arrival_price``, ``decision_price``, ``end_price``, ``start``, ``end`` (ns),
    ``children``, the components of :func:`perold_shortfall`, ``interval_vwap``, ``interval_twap``,
    ``market_volume``, ``participation``, ``slippage_vs_vwap_bps``, ``slippage_vs_twap_bps``,
    ``slippage_vs_arrival_bps``, ``size_bucket`` (quantity as a share of the interval's volume).
    """
    starts: dict[str, ev.ParentOrderStarted] = {}
    child_of: dict[str, str] = {}
    fills: dict[str, list[ev.OrderFilled]] = {}
    ended: dict[str, int] = {}
    children: dict[str, int] = {}
    for e in events:
        t = type(e)
        if t is ev.ParentOrderStarted:
            starts[e.parent_id] = e  # type: ignore[union-attr]
            fills[e.parent_id] = []  # type: ignore[union-attr]
        elif t is ev.ParentOrderChildSent:
            child_of[e.order_id] = e.parent_id  # type: ignore[union-attr]
            children[e.parent_id] = children.get(e.parent_id, 0) + 1  # type: ignore[union-attr]
        elif t is ev.OrderFilled and e.order_id in child_of:  # type: ignore[union-attr]
            fills[child_of[e.order_id]].append(e)  # type: ignore[union-attr]
        elif t is ev.ParentOrderCompleted or t is ev.ParentOrderCanceled:
            ended.setdefault(e.parent_id, e.ts_event)  # type: ignore[union-attr]
    frame = _market_frame(market)
    rows = []
    for pid, start in starts.items():
        side = 1 if start.side is OrderSide.BUY else -1
        done = fills[pid]
        end_ns = ended.get(pid, start.end_ns)
        pairs = [(f.last_quantity, f.last_price) for f in done]
        fees = float(sum(f.commission for f in done))
        filled = float(sum(q for q, _ in pairs))
        avg = sum(q * p for q, p in pairs) / filled if filled else float("nan")
        arrival = start.arrival_price if start.arrival_price is not None else (pairs[0][1] if pairs else float("nan"))
        decision = float((decision_prices or {}).get(pid, arrival))
        vwap = twap = volume = float("nan")
        end_price = pairs[-1][1] if pairs else arrival
        if frame is not None:
            window = frame[(frame["symbol"] == start.symbol) & (frame["ts"] >= start.start_ns) & (frame["ts"] < end_ns)]
            if len(window):
                volume = float(window["volume"].sum())
                vwap = float((window["price"] * window["volume"]).sum() / volume) if volume > 0 else float("nan")
                twap = float(window["price"].mean())
            after = frame[(frame["symbol"] == start.symbol) & (frame["ts"] < end_ns)]
            if len(after):
                end_price = float(after["price"].iloc[-1])
        costs = perold_shortfall(side, start.quantity, decision, arrival, pairs, end_price, fees)
        row: dict[str, Any] = {
            "parent_id": pid, "algorithm": start.algorithm, "symbol": start.symbol, "side": start.side.value,
            "quantity": start.quantity, "filled_quantity": filled, "avg_price": avg, "arrival_price": arrival,
            "decision_price": decision, "end_price": end_price, "start": start.start_ns, "end": end_ns,
            "children": children.get(pid, 0), **costs, "interval_vwap": vwap, "interval_twap": twap,
            "market_volume": volume, "participation": filled / volume if volume and volume == volume else float("nan"),
        }
        for name, bench in (("vwap", vwap), ("twap", twap), ("arrival", arrival)):
            row[f"slippage_vs_{name}_bps"] = side * (avg - bench) / bench * 1e4 if filled and bench == bench else float("nan")
        row["size_bucket"] = _bucket(start.quantity / volume if volume and volume == volume else float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)


def aggregate_parent_tca(table: pd.DataFrame, by: str | Sequence[str] = "algorithm") -> pd.DataFrame:
    """Sums of the currency components and paper-value-weighted bps per group (``PARENT_TCA_GROUPS``).

    Raises
    ------
    ValueError
        An unknown grouping key.
    """
    keys = [by] if isinstance(by, str) else list(by)
    unknown = [k for k in keys if k not in PARENT_TCA_GROUPS]
    if unknown:
        raise ValueError(f"group by {unknown}: expected some of {PARENT_TCA_GROUPS}")
    money = ["delay_cost", "execution_cost", "opportunity_cost", "fees", "implementation_shortfall"]
    t = table.assign(paper=table["decision_price"] * table["quantity"])
    out = t.groupby(keys)[[*money, "paper", "quantity", "filled_quantity"]].sum()
    for k in money:
        out[f"{k}_bps"] = out[k] / out["paper"] * 1e4
    out["parents"] = t.groupby(keys).size()
    return out.drop(columns="paper")


def compare_children(live: Iterable[ev.Event], backtest: Iterable[ev.Event]) -> pd.DataFrame:
    """A live session's algorithm against its backtest, child by child: parents matched in start
    order, children in send order. Columns: ``parent``, ``child``, ``live_order_id``,
    ``backtest_order_id``, quantities sent, filled quantities and average fill prices of both,
    ``price_difference_bps`` (live vs backtest, signed as a cost for the parent's side)."""

    def children(events: Iterable[ev.Event]) -> list[tuple[int, list[dict[str, Any]]]]:
        parents: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        by_order: dict[str, dict[str, Any]] = {}
        for e in events:
            if type(e) is ev.ParentOrderStarted:
                parents[e.parent_id] = (1 if e.side is OrderSide.BUY else -1, [])  # type: ignore[union-attr]
            elif type(e) is ev.ParentOrderChildSent and e.parent_id in parents:  # type: ignore[union-attr]
                row = {"order_id": e.order_id, "sent": e.quantity, "filled": 0.0, "value": 0.0}  # type: ignore[union-attr]
                parents[e.parent_id][1].append(row)  # type: ignore[union-attr]
                by_order[e.order_id] = row  # type: ignore[union-attr]
            elif type(e) is ev.OrderFilled and e.order_id in by_order:  # type: ignore[union-attr]
                row = by_order[e.order_id]  # type: ignore[union-attr]
                row["filled"] += e.last_quantity  # type: ignore[union-attr]
                row["value"] += e.last_quantity * e.last_price  # type: ignore[union-attr]
        return list(parents.values())

    rows = []
    for p, ((side, live_kids), (_, bt_kids)) in enumerate(zip(children(live), children(backtest))):
        for c in range(max(len(live_kids), len(bt_kids))):
            a = live_kids[c] if c < len(live_kids) else None
            b = bt_kids[c] if c < len(bt_kids) else None
            pa = a["value"] / a["filled"] if a and a["filled"] else float("nan")
            pb = b["value"] / b["filled"] if b and b["filled"] else float("nan")
            rows.append({"parent": p, "child": c, "live_order_id": a and a["order_id"],
                         "backtest_order_id": b and b["order_id"], "live_sent": a and a["sent"],
                         "backtest_sent": b and b["sent"], "live_filled": a and a["filled"],
                         "backtest_filled": b and b["filled"], "live_price": pa, "backtest_price": pb,
                         "price_difference_bps": side * (pa - pb) / pb * 1e4 if pb == pb and pa == pa else float("nan")})
    return pd.DataFrame(rows)
