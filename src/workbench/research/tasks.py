"""What runs on a worker: a batch of parameter sets backtested on data loaded once per process.

Everything here is importable by a Dask worker (plain functions of picklable arguments). Data
reaches a worker either as a scattered object (Dask keeps one copy per worker and hands the same
object to every task) or as a :class:`DataPath` that each worker process loads once and keeps in
:data:`_LOADED` for the next tasks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DataPath", "BatchResult", "resolve_data", "resolve_strategy", "run_batch", "run_one"]

_LOADED: dict[tuple[str, bool], Any] = {}


@dataclass(frozen=True)
class DataPath:
    """Data every worker reads itself (once per process) from a shared path.

    ``spec`` is what :func:`workbench.session.load_stream` accepts as a string: ``"demo"``, a
    CSV/Parquet bar file or a recording directory, on a file system every worker sees.
    ``regular`` keeps regular trading hours only.
    """

    spec: str
    regular: bool = True


def resolve_data(data: Any) -> Any:
    """The market data behind ``data``: a :class:`DataPath` is loaded (once per process)."""
    if isinstance(data, DataPath):
        key = (data.spec, data.regular)
        if key not in _LOADED:
            from workbench.session import load_stream

            _LOADED[key] = load_stream(data.spec, regular=data.regular)
        return _LOADED[key]
    return data


def resolve_strategy(strategy: Any) -> Any:
    """A strategy class (or factory) from itself, an example name or ``"module:Class"``.

    Raises
    ------
    ConfigError
        An unknown name.
    """
    if not isinstance(strategy, str):
        return strategy
    from workbench.errors import ConfigError
    from workbench.strategies import EXAMPLES

    if strategy in EXAMPLES:
        return EXAMPLES[strategy]
    if ":" in strategy:
        import importlib

        module, _, attr = strategy.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"strategy: cannot import {strategy!r}: {exc}") from exc
    raise ConfigError(f"strategy: unknown {strategy!r}; known: {sorted(EXAMPLES)} or 'module:Class'")


def _numeric(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _returns(equity_curve: pd.DataFrame, kind: str) -> pd.Series:
    if kind == "daily":
        from workbench.analytics.timeseries import returns_from_equity

        return returns_from_equity(equity_curve)
    equity = equity_curve["equity"].astype(float)
    equity = equity[~equity.index.duplicated(keep="last")]
    return equity.pct_change().dropna()


def run_one(strategy: Any, data: Any, params: Mapping[str, Any], engine_options: Mapping[str, Any],
            keep_returns: str | None = None) -> tuple[dict[str, Any], pd.Series | None]:
    """Backtest one parameter set; returns (row, returns or None). Never raises for the set's own failure.

    The row holds every statistic of :attr:`BacktestResult.stats` as float, ``error`` ("" when
    it ran, else ``"ExceptionType: message"``) and ``elapsed_seconds`` (wall time of this set).
    """
    from workbench.engine.backtest import run_backtest

    t0 = time.perf_counter()
    row: dict[str, Any] = {}
    returns = None
    try:
        result = run_backtest(resolve_strategy(strategy)(**params), resolve_data(data), progress=False,
                              **dict(engine_options))
        row.update({str(k): _numeric(v) for k, v in result.stats.items()})
        row["error"] = ""
        if keep_returns:
            returns = _returns(result.equity_curve, keep_returns)
    except Exception as exc:  # a failing set is recorded, never stops the sweep
        text = str(exc).strip().splitlines()
        row["error"] = f"{type(exc).__name__}: {text[0] if text else ''}".strip()
    row["elapsed_seconds"] = time.perf_counter() - t0
    return row, returns


@dataclass
class BatchResult:
    """Rows of one task (``set_index``, ``set_key``, the parameters, statistics, ``error``...),
    the returns of each set when kept, the task's wall time and CPU time (seconds) and the worker
    process id."""

    rows: list[dict[str, Any]]
    returns: dict[str, pd.Series]
    seconds: float
    pid: int
    cpu_seconds: float = 0.0


def run_batch(strategy: Any, data: Any, sets: Sequence[tuple[int, str, Mapping[str, Any]]],
              engine_options: Mapping[str, Any], keep_returns: str | None = None) -> BatchResult:
    """Backtest each ``(set_index, set_key, params)`` of ``sets`` in turn (the body of one task)."""
    t0, c0 = time.perf_counter(), time.process_time()
    rows, returns = [], {}
    for index, key, params in sets:
        row, series = run_one(strategy, data, params, engine_options, keep_returns)
        rows.append({"set_index": int(index), "set_key": key, **params, **row})
        if series is not None:
            returns[key] = series
    return BatchResult(rows, returns, time.perf_counter() - t0, os.getpid(), time.process_time() - c0)


def metric_value(row: Mapping[str, Any], metric: str) -> float:
    """The row's ``metric`` as float (NaN when missing or failed)."""
    if row.get("error"):
        return float("nan")
    value = _numeric(row.get(metric, float("nan")))
    return value if np.isfinite(value) else float("nan")
