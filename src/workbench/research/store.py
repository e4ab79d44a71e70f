"""Sweep results on disk: a directory of Parquet files, one per finished task.

Each finished task is written at once as ``part-<ns>-<n>.parquet`` (written to a temporary name
and renamed, so a part is complete or absent: an interrupted sweep leaves only whole parts).
Returns kept by the sweep go to ``returns-<ns>-<n>.parquet`` (one column per set key). The
directory reads back as one table with :func:`read_results` (``pandas.read_parquet`` of the
parts), and a rerun with the same output skips every ``set_key`` already there.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["ResultStore", "read_results", "read_returns"]

_COUNTER = itertools.count()


def _read_parts(folder: Path, prefix: str) -> list[pd.DataFrame]:
    return [pd.read_parquet(p) for p in sorted(folder.glob(f"{prefix}-*.parquet"))]


def read_results(path: str | Path) -> pd.DataFrame:
    """Every row written to ``path`` so far, ordered by ``set_index`` (empty frame when none)."""
    parts = _read_parts(Path(path), "part")
    if not parts:
        return pd.DataFrame()
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.drop_duplicates("set_key", keep="last")
    return frame.sort_values("set_index", kind="stable").reset_index(drop=True)


def read_returns(path: str | Path) -> pd.DataFrame:
    """Kept returns: one column per ``set_key``, indexed by time (empty frame when none)."""
    parts = _read_parts(Path(path), "returns")
    if not parts:
        return pd.DataFrame()
    frame = pd.concat(parts, axis=1)
    return frame.loc[:, ~frame.columns.duplicated(keep="last")].sort_index()


class ResultStore:
    """Appends finished rows to ``path`` (None: keep them in memory only)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)

    def existing(self) -> pd.DataFrame:
        return read_results(self.path) if self.path is not None else pd.DataFrame()

    def existing_returns(self) -> pd.DataFrame:
        return read_returns(self.path) if self.path is not None else pd.DataFrame()

    def write(self, rows: list[dict[str, Any]], returns: dict[str, pd.Series] | None = None) -> None:
        if self.path is None or not rows:
            return
        name = f"{time.time_ns()}-{os.getpid()}-{next(_COUNTER)}"
        self._atomic(pd.DataFrame(rows), f"part-{name}.parquet")
        if returns:
            self._atomic(pd.DataFrame(returns), f"returns-{name}.parquet")

    def _atomic(self, frame: pd.DataFrame, name: str) -> None:
        assert self.path is not None
        temporary = self.path / f".{name}.tmp"
        frame.to_parquet(temporary)
        os.replace(temporary, self.path / name)
