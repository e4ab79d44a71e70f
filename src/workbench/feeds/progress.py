"""How far a replay has got: checkpoints of the data journaled with the session, read back by the dashboard.

A paper session replays a known stream, so the share of it consumed is a count: of the ``n`` items
in delivery order, how many have a ``ts_init`` at or before the session's data time (the engine's
clock is the ``ts_init`` of the item it delivered last). The journal does not hold the stream, so
:func:`replay_checkpoints` stores, in the session's parameters, the ``ts_init`` at which each whole
percent of the items has been delivered; :func:`replay_progress` counts the checkpoints passed, which
gives the consumed share rounded down to the percent (exact at 0 and 100 %).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CHECKPOINTS", "replay_checkpoints", "replay_progress"]

CHECKPOINTS = 100
"""Checkpoints per replay (one per percent of the items)."""


def replay_checkpoints(stream: Any, points: int = CHECKPOINTS) -> dict[str, Any] | None:
    """``{"events": n, "ts_init": [t_1, ..., t_points]}`` for a :class:`~workbench.feeds.stream.MarketDataStream`:
    ``t_k`` is the ``ts_init`` (ns since epoch UTC) of item ``ceil(k * n / points)`` in delivery order,
    so once the data time reaches ``t_k`` at least ``k / points`` of the items were delivered.
    None for an empty stream or one that cannot be read in chunks (a live feed).
    """
    chunks = getattr(stream, "iter_chunks", None)
    if chunks is None or not len(stream):
        return None
    ts = np.concatenate([columns["ts_init"] for _, columns in chunks(1 << 20)])
    n = len(ts)
    positions = np.ceil(np.arange(1, points + 1) * n / points).astype(np.int64) - 1
    return {"events": int(n), "ts_init": [int(t) for t in ts[positions]]}


def replay_progress(checkpoints: dict[str, Any] | None, data_time_ns: int | None) -> float | None:
    """Share (0..1) of the replayed items delivered by ``data_time_ns``, rounded down to a checkpoint;
    None without checkpoints or data time."""
    if not checkpoints or data_time_ns is None:
        return None
    marks = np.asarray(checkpoints.get("ts_init") or [], dtype=np.int64)
    if not len(marks):
        return None
    return float(np.searchsorted(marks, int(data_time_ns), side="right")) / len(marks)
