"""Resume the execution algorithms a crashed session was running (restart = rebuild + reconcile).

The journal holds every parent's life: ``ParentOrderStarted`` (algorithm, horizon, guard, params),
``ParentOrderChildSent`` (children), ``ParentOrderModified``, ``ParentOrderProgressed`` and, once
done, ``ParentOrderCompleted`` / ``ParentOrderCanceled``. After the engine was rebuilt from the
journal and reconciled with the broker (so the children's fills are known), :func:`resume_algorithms`
re-creates each parent that was still working, with its children, filled quantity and average price
taken from the rebuilt orders, and re-arms it: a scheduled algorithm continues with the first slice
whose time has not passed (the schedule is recomputed from the journaled parameters, and seeded, so
it is the one the session started with); the cumulative targets then make up for any slice that
fell in the outage. Nothing is sent twice: a child is never re-sent, only the difference between the
target and what is filled or working.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from workbench.model import events as ev

__all__ = ["PARENT_EVENT_TYPES", "resume_after_reconciliation", "resume_algorithms", "working_parents"]

PARENT_EVENT_TYPES = (ev.ParentOrderStarted, ev.ParentOrderChildSent, ev.ParentOrderModified,
                      ev.ParentOrderProgressed, ev.ParentOrderCompleted, ev.ParentOrderCanceled)


def working_parents(events: Iterable[ev.Event]) -> dict[str, dict[str, Any]]:
    """Parent id -> ``{"started", "children", "quantity", "limit_price"}`` of the parents not yet done."""
    parents: dict[str, dict[str, Any]] = {}
    for e in events:
        t = type(e)
        if t is ev.ParentOrderStarted:
            parents[e.parent_id] = {"started": e, "children": [], "quantity": e.quantity,  # type: ignore[attr-defined]
                                    "limit_price": e.limit_price}  # type: ignore[attr-defined]
        elif t is ev.ParentOrderChildSent and e.parent_id in parents:  # type: ignore[attr-defined]
            parents[e.parent_id]["children"].append(e.order_id)  # type: ignore[attr-defined]
        elif t is ev.ParentOrderModified and e.parent_id in parents:  # type: ignore[attr-defined]
            parents[e.parent_id]["quantity"] = e.quantity  # type: ignore[attr-defined]
            parents[e.parent_id]["limit_price"] = e.limit_price  # type: ignore[attr-defined]
        elif t is ev.ParentOrderCompleted or t is ev.ParentOrderCanceled:
            parents.pop(e.parent_id, None)  # type: ignore[attr-defined]
    return parents


def resume_algorithms(engine: Any, events: Iterable[ev.Event]) -> list[Any]:
    """Re-create and re-arm the parents of ``events`` that were still working; returns them.

    Call after the engine was rebuilt, warmed up and reconciled (its clock at the resume point).
    """
    from workbench.execution.algorithms import ALGORITHMS, ScheduledAlgorithm
    from workbench.execution.base import ParentStatus
    from workbench.model.enums import OrderSide

    resumed = []
    for pid, state in working_parents(events).items():
        started: ev.ParentOrderStarted = state["started"]
        cls = ALGORITHMS.get(started.algorithm)
        if cls is None:
            continue
        params = dict(started.params)
        if isinstance(params.get("profile"), dict):
            params["profile"] = pd.Series({int(k): float(v) for k, v in params["profile"].items()})
        sign = 1.0 if started.side is OrderSide.BUY else -1.0
        algo = cls(engine, started.symbol, sign * state["quantity"], start_ns=started.start_ns,
                   end_ns=started.end_ns, limit_price=state["limit_price"], parent_id=pid,
                   strategy_id=started.strategy_id, **params)
        algo.arrival_price = started.arrival_price
        algo.children = {oid: engine.orders[oid] for oid in state["children"] if oid in engine.orders}
        filled = sum(o.filled_quantity for o in algo.children.values())
        value = sum(o.filled_quantity * o.avg_fill_price for o in algo.children.values())
        algo.filled_quantity, algo.avg_price = filled, (value / filled if filled else 0.0)
        algo.status = ParentStatus.WORKING
        engine.bus.subscribe("events", algo._on_event)
        engine.subscribe_data("on_quote", algo.symbol, algo._on_quote)
        engine.__dict__.setdefault("algorithms", {})[pid] = algo
        now = engine.now_ns()
        if isinstance(algo, ScheduledAlgorithm):
            algo.slices = algo.schedule()
            algo._next = sum(1 for t, _ in algo.slices if t < now)
            algo._rolling, algo._cross_now = set(), False
            algo._target = sum(q for _, q in algo.slices[: algo._next])
            algo._arm()
        else:
            algo._on_start()
        engine.clock.set_time_alert(f"{pid}.end", max(algo.end_ns, now), algo._on_end)
        algo._check_done()
        resumed.append(algo)
    return resumed


def resume_after_reconciliation(engine: Any, events: Iterable[ev.Event]) -> bool:
    """Resume the working parents of ``events`` once the broker's first reports are reconciled.

    For broker sessions (Alpaca, IB): their reports arrive after the connect, through the runner's
    queue (:meth:`workbench.adapters.base.BrokerReports.apply_to` publishes them on the
    ``adapters.reconciled`` topic once the engine has reconciled them); only then are the children's
    fills made while the process was down known, so only then is the rest of each parent worked.
    Subscribe before the runner starts. Returns False (nothing subscribed) when no parent was working.
    """
    events = list(events)
    if not working_parents(events):
        return False
    from workbench.risk.disconnect import RECONCILED_TOPIC

    done = False

    def on_reconciled(_reports: Any) -> None:
        nonlocal done
        if not done:
            done = True
            resume_algorithms(engine, events)

    engine.bus.subscribe(RECONCILED_TOPIC, on_reconciled)
    return True
