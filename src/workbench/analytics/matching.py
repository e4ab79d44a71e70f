"""One-to-one matching of two runs' decisions, orders and fills by time, and why they differ.

Matching is greedy in time within a group (same symbol, and for orders same side and type): the
two sorted sequences are walked together and two items pair when their timestamps are within
``tolerance`` ns (0 = exactly equal, which a replayed recording at full speed gives). Items
left over are *missing* (the backtest has them, the live run does not) or *extra* (only the live
run has them).

:class:`MismatchContext` explains a mismatch from what the journal and the data say: data
outside the recording, a pause, a restart, a halted trading state, different data in the
backtest's stream, positions that differed, different strategy parameters, a control command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.analytics.session_frames import RunRecord

__all__ = ["MismatchContext", "match_by_sequence", "match_by_time"]

MATCHED, MISSING, EXTRA, DIFFERS = "matched", "missing", "extra", "differs"
"""Status values: both sides / backtest only / live only / both sides at the same time but different."""


def match_by_time(
    live: pd.DataFrame, backtest: pd.DataFrame, keys: Sequence[str], time_column: str, tolerance: int = 0
) -> list[tuple[int | None, int | None]]:
    """Pairs of row positions ``(live_i, backtest_j)``; ``None`` on the side that has no partner.

    Within each group of equal ``keys`` both frames are walked in time order (stable, so rows with
    equal times pair in their original order); rows pair when ``|t_live - t_backtest| <= tolerance``
    (int ns).
    """
    pairs: list[tuple[int | None, int | None]] = []
    left_groups = {k: g for k, g in _groups(live, keys)}
    right_groups = {k: g for k, g in _groups(backtest, keys)}
    for key in sorted(set(left_groups) | set(right_groups), key=str):
        a = left_groups.get(key, np.empty(0, dtype=np.int64))
        b = right_groups.get(key, np.empty(0, dtype=np.int64))
        ta = live[time_column].to_numpy(np.int64)[a] if len(a) else a
        tb = backtest[time_column].to_numpy(np.int64)[b] if len(b) else b
        i = j = 0
        while i < len(a) and j < len(b):
            if abs(int(ta[i]) - int(tb[j])) <= tolerance:
                pairs.append((int(a[i]), int(b[j])))
                i += 1
                j += 1
            elif ta[i] < tb[j]:
                pairs.append((int(a[i]), None))
                i += 1
            else:
                pairs.append((None, int(b[j])))
                j += 1
        pairs.extend((int(x), None) for x in a[i:])
        pairs.extend((None, int(x)) for x in b[j:])
    return pairs


def match_by_sequence(
    live: pd.DataFrame, backtest: pd.DataFrame, keys: Sequence[str], time_column: str, compare: Sequence[str] = ()
) -> list[tuple[int | None, int | None]]:
    """Like :func:`match_by_time` but aligning the two sequences of each group by content, not time.

    Within a group the rows (in time order) are compared on ``compare`` columns and aligned with
    :class:`difflib.SequenceMatcher` (longest matching blocks; insertions and deletions become
    unpaired rows). For runs whose timestamps are not comparable (a paced replay stamps orders with
    a clock that runs ahead of the data when processing lags).
    """
    import difflib

    pairs: list[tuple[int | None, int | None]] = []
    left_groups = {k: g for k, g in _groups(live, keys)}
    right_groups = {k: g for k, g in _groups(backtest, keys)}
    for key in sorted(set(left_groups) | set(right_groups), key=str):
        a = _time_sorted(live, left_groups.get(key, np.empty(0, dtype=np.int64)), time_column)
        b = _time_sorted(backtest, right_groups.get(key, np.empty(0, dtype=np.int64)), time_column)
        ka = [tuple(live.iloc[int(i)][c] for c in compare) for i in a]
        kb = [tuple(backtest.iloc[int(j)][c] for c in compare) for j in b]
        matcher = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                pairs.extend((int(a[i]), int(b[j])) for i, j in zip(range(i1, i2), range(j1, j2)))
            else:
                pairs.extend((int(a[i]), None) for i in range(i1, i2))
                pairs.extend((None, int(b[j])) for j in range(j1, j2))
    return pairs


def _time_sorted(frame: pd.DataFrame, rows: np.ndarray, time_column: str) -> np.ndarray:
    if not len(rows):
        return rows
    times = frame[time_column].to_numpy(np.int64)[rows]
    return rows[np.argsort(times, kind="stable")]


def _groups(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple[tuple, np.ndarray]]:
    if frame.empty:
        return []
    by = keys[0] if len(keys) == 1 else list(keys)
    return [(key if isinstance(key, tuple) else (key,), rows)
            for key, rows in frame.reset_index(drop=True).groupby(by, sort=False).indices.items()]


def _when(ts: int) -> str:
    return pd.Timestamp(int(ts), tz="UTC").tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M:%S %Z")


@dataclass
class MismatchContext:
    """What is known about both runs, to explain why an item appears on one side only.

    Attributes
    ----------
    live, backtest : RunRecord
    data_start, data_end : int | None
        First and last ``ts_init`` of the recorded data (ns since epoch UTC).
    data_differences : pandas.DataFrame
        Items in the recording but not in the backtest's stream or the reverse (``ts_init`` int ns,
        ``symbol``, ``kind``, ``side``); empty when the backtest ran on the recording itself.
    parameter_differences : dict[str, tuple[Any, Any]]
        Strategy parameter -> (live value, backtest value) where they differ.
    """

    live: RunRecord
    backtest: RunRecord
    data_start: int | None = None
    data_end: int | None = None
    data_differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    parameter_differences: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)

    def _paused_at(self, ts: int) -> int | None:
        """Time of the pause in effect at ``ts`` in the live run, or None."""
        paused_since = None
        c = self.live.controls
        for t, kind, name in zip(c["ts_event"], c["kind"], c["name"]):
            if t > ts:
                break
            if kind == "command" and name == "pause":
                paused_since = int(t)
            elif kind == "command" and name == "resume":
                paused_since = None
        return paused_since

    def _halted_at(self, ts: int) -> tuple[int, str] | None:
        state = None
        c = self.live.controls
        for t, kind, name, detail in zip(c["ts_event"], c["kind"], c["name"], c["detail"]):
            if t > ts:
                break
            if kind == "trading_state":
                state = None if name == "ACTIVE" else (int(t), f"{name} ({detail})" if detail else name)
        return state

    def explain(self, symbol: str, ts: int, status: str, *, order: Mapping[str, Any] | None = None) -> str:
        """Reasons (``"; "``-joined) why the item of ``symbol`` at ``ts`` is ``status`` (missing/extra/differs)."""
        if status == MATCHED:
            return ""
        reasons: list[str] = []
        if self.data_start is not None and self.data_end is not None and not self.data_start <= ts <= self.data_end:
            reasons.append(f"outside the recorded data ({_when(self.data_start)} to {_when(self.data_end)})")
        paused = self._paused_at(ts)
        if paused is not None:
            reasons.append(f"the live session was paused since {_when(paused)} (strategies get no data while paused)")
        if order is not None:
            halted = self._halted_at(ts)
            if halted is not None:
                reasons.append(f"live trading state {halted[1]} since {_when(halted[0])}")
            if not order.get("strategy_id"):
                reasons.append(f"placed by a control command, not by the strategy (tag {order.get('tag')!r})")
        restarts = self.live.controls[self.live.controls["kind"] == "restart"]["ts_event"]
        before = restarts[restarts <= ts]
        if len(before):
            reasons.append(f"after the live session's restart at {_when(int(before.iloc[-1]))} (state rebuilt by warm-up)")
        diffs = self.data_differences
        if len(diffs):
            mine = diffs[(diffs["symbol"] == symbol) & (diffs["ts_init"] <= ts)]
            if len(mine):
                first = mine.iloc[0]
                reasons.append(
                    f"the backtest's data differs from the recording before this time: {len(mine)} item(s) of "
                    f"{symbol}, first a {first['kind']} at {_when(int(first['ts_init']))} only in the {first['side']}"
                )
        if self.parameter_differences:
            text = ", ".join(f"{k}: live {a!r} vs backtest {b!r}" for k, (a, b) in self.parameter_differences.items())
            reasons.append(f"strategy parameters differ ({text})")
        live_position = self.live.position_before(symbol, ts)
        backtest_position = self.backtest.position_before(symbol, ts)
        if abs(live_position - backtest_position) > 1e-9:
            reasons.append(f"positions differed before this decision (live {live_position:g}, backtest "
                           f"{backtest_position:g} shares): the strategy's decisions depend on its position")
        if not reasons:
            reasons.append("no cause found in the journal or the data (same data, no controls, same positions)")
        return "; ".join(reasons)
