"""Walk-forward analysis: optimize in sample, trade the chosen parameters out of sample, stitch.

Windows are counted in **trading dates** (the exchange-local dates present in the data, see
:mod:`workbench.analytics.timeseries`). With ``in_sample = I``, ``out_of_sample = O`` and
``step = S`` (default ``O``, so out-of-sample windows follow each other without overlap):

* rolling: window ``k`` optimizes on dates ``[kS, kS + I)`` and trades ``[kS + I, kS + I + O)``;
* anchored: the in-sample window always starts at the first date: ``[0, kS + I)``.

The last out-of-sample window may be shorter than ``O`` (the dates left).

Out-of-sample evaluation: the chosen parameters are backtested from the window's in-sample start
to its out-of-sample end, and only the equity over the out-of-sample dates counts (its first
return is measured from the last in-sample equity point). The strategy thus enters the
out-of-sample window warmed up (indicators, position) as it would have been trading live since
the in-sample start, rather than flat with empty indicators. Out-of-sample returns of the
windows are chained into one equity curve starting at ``starting_cash``; its statistics are
:func:`workbench.analytics.metrics.summary` (daily returns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.analytics.timeseries import EXCHANGE_TIMEZONE
from workbench.errors import ConfigError
from workbench.research.executors import make_executor
from workbench.research.space import Space
from workbench.research.sweep import SweepResult, sweep
from workbench.research.tasks import resolve_strategy

__all__ = ["Window", "WalkForwardResult", "walk_forward", "walk_forward_windows"]


@dataclass(frozen=True)
class Window:
    """One walk-forward window: dates are exchange-local, tz-naive midnights, both ends included."""

    number: int
    in_sample_start: pd.Timestamp
    in_sample_end: pd.Timestamp
    out_of_sample_start: pd.Timestamp
    out_of_sample_end: pd.Timestamp


def walk_forward_windows(dates: Sequence[Any], in_sample: int, out_of_sample: int, *, anchored: bool = False,
                         step: int | None = None) -> list[Window]:
    """Windows over the sorted distinct ``dates`` (see the module docstring).

    Raises
    ------
    ConfigError
        Non-positive sizes, or fewer dates than one in-sample window plus one out-of-sample date.
    """
    for name, value in (("in_sample", in_sample), ("out_of_sample", out_of_sample), ("step", step or 1)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"{name}: must be a positive number of trading dates, got {value!r}")
    step = step or out_of_sample
    days = sorted(pd.DatetimeIndex(pd.to_datetime(list(dates))).normalize().unique())
    if len(days) <= in_sample:
        raise ConfigError(f"in_sample: {in_sample} dates leave none out of sample in {len(days)} dates of data")
    windows = []
    k = 0
    while k * step + in_sample < len(days):
        first = 0 if anchored else k * step
        split = k * step + in_sample
        last = min(split + out_of_sample, len(days)) - 1
        windows.append(Window(k, days[first], days[split - 1], days[split], days[last]))
        k += 1
    return windows


@dataclass
class WalkForwardResult:
    """Outcome of :func:`walk_forward`.

    Attributes
    ----------
    windows : pandas.DataFrame
        One row per window: ``window``, the four dates, the chosen parameters, ``in_sample_<metric>``,
        ``out_of_sample_return`` (fraction), ``error`` ("" or why the window was not traded).
    equity : pandas.DataFrame
        Stitched out-of-sample equity curve (``equity`` column, currency; tz-aware UTC index).
    returns : pandas.Series
        Out-of-sample returns between consecutive equity points (fraction).
    stats : pandas.Series
        :func:`~workbench.analytics.metrics.summary` of ``equity`` (no benchmark).
    sweeps : list of SweepResult
        The in-sample sweep of each window.
    """

    windows: pd.DataFrame
    equity: pd.DataFrame
    returns: pd.Series
    stats: pd.Series
    sweeps: list[SweepResult] = field(default_factory=list, repr=False)

    def _repr_html_(self) -> str:
        return "<p>walk-forward windows</p>" + self.windows.to_html(index=False)


def _frames(data: Any) -> tuple[pd.DataFrame, ...]:
    if isinstance(data, pd.DataFrame):
        return (data,)
    if isinstance(data, tuple | list) and data and all(isinstance(d, pd.DataFrame) for d in data):
        return tuple(data)
    if isinstance(data, str):
        from workbench.feeds.replay import regular_hours

        if data == "demo":
            from workbench.feeds.samples import load_demo_spy

            frames: tuple[pd.DataFrame, ...] = tuple(load_demo_spy())
        else:
            from workbench.feeds.loaders import load_bars

            frames = (load_bars(data)[0],)
        return tuple(regular_hours(f) for f in frames)
    raise ConfigError("data: walk_forward needs canonical frames (a DataFrame or a tuple of them) or a path/'demo'")


def _dates(ns: np.ndarray, timezone: str) -> pd.DatetimeIndex:
    return pd.to_datetime(ns, unit="ns", utc=True).tz_convert(timezone).tz_localize(None).normalize()


def _slice(frames: tuple[pd.DataFrame, ...], start: pd.Timestamp, end: pd.Timestamp,
           timezone: str) -> tuple[pd.DataFrame, ...]:
    out = []
    for frame in frames:
        dates = _dates(frame["ts_event"].to_numpy(np.int64), timezone)
        out.append(frame[(dates >= start) & (dates <= end)])
    return tuple(out)


def walk_forward(
    strategy: Any,
    data: Any,
    space: Space,
    metric: str = "sharpe_ratio",
    *,
    in_sample: int,
    out_of_sample: int,
    anchored: bool = False,
    step: int | None = None,
    executor: Any = "local",
    n_workers: int | None = None,
    starting_cash: float = 100_000.0,
    timezone: str = EXCHANGE_TIMEZONE,
    progress: bool = False,
    **sweep_options: Any,
) -> WalkForwardResult:
    """Optimize on each in-sample window, trade the best set out of sample, stitch the results.

    Parameters
    ----------
    strategy, space, metric
        As :func:`~workbench.research.sweep.sweep`.
    data : DataFrame, tuple of DataFrames, or str
        Canonical frames (bars, quotes...), or ``"demo"`` / a bar file (regular hours kept).
    in_sample, out_of_sample, step : int
        Window sizes in trading dates (see the module docstring); ``step`` defaults to ``out_of_sample``.
    anchored : bool
        Anchored (expanding) instead of rolling in-sample windows.
    executor, n_workers
        As :func:`sweep`; one executor (one cluster) serves every window.
    starting_cash : float
        Cash of every backtest and of the stitched equity (currency).
    **sweep_options
        Passed to each in-sample :func:`sweep` (method, n_trials, direction, batch_size, engine
        options...); ``output`` gets one subdirectory per window (``window-000``...), so a rerun
        resumes each window's sweep.

    Returns
    -------
    WalkForwardResult

    Raises
    ------
    ConfigError
        Bad window sizes or data (names the field).
    """
    from workbench.analytics.metrics import summary
    from workbench.engine.backtest import run_backtest

    frames = _frames(data)
    dates = _dates(np.concatenate([f["ts_event"].to_numpy(np.int64) for f in frames]), timezone).unique()
    windows = walk_forward_windows(dates, in_sample, out_of_sample, anchored=anchored, step=step)
    output = sweep_options.pop("output", None)
    engine_options = {k: v for k, v in sweep_options.items()
                      if k not in ("method", "n_trials", "direction", "seed", "batch_size", "batch_seconds",
                                   "storage", "study_name", "keep_returns", "output", "resume")}
    executor_obj, close = make_executor(executor, n_workers=n_workers)
    rows, pieces, sweeps = [], [], []
    try:
        for window in windows:
            train = _slice(frames, window.in_sample_start, window.in_sample_end, timezone)
            where = None if output is None else f"{output}/window-{window.number:03d}"
            result = sweep(strategy, train, space, metric, executor=executor_obj, progress=progress,
                           starting_cash=starting_cash, output=where, **sweep_options)
            sweeps.append(result)
            row: dict[str, Any] = {"window": window.number, **{k: getattr(window, k) for k in (
                "in_sample_start", "in_sample_end", "out_of_sample_start", "out_of_sample_end")}}
            try:
                best = result.best()
            except ValueError as exc:
                rows.append({**row, "error": str(exc)})
                continue
            params = result.best_params
            row.update(params)
            row[f"in_sample_{metric}"] = float(best[metric])
            span = _slice(frames, window.in_sample_start, window.out_of_sample_end, timezone)
            run = run_backtest(resolve_strategy(strategy)(**params), span, progress=False,
                               starting_cash=starting_cash, **engine_options)
            equity = run.equity_curve["equity"].astype(float)
            equity = equity[~equity.index.duplicated(keep="last")]
            local = _dates(equity.index.as_unit("ns").asi8, timezone)
            oos = equity[local >= window.out_of_sample_start]
            before = equity[local < window.out_of_sample_start]
            base = float(before.iloc[-1]) if len(before) else float(starting_cash)
            if not pieces and len(before):  # the stitched curve starts at the first in-sample end
                pieces.append(pd.Series([0.0], index=before.index[-1:]))
            returns = pd.concat([pd.Series([base]), oos.reset_index(drop=True)]).pct_change().iloc[1:]
            returns.index = oos.index
            pieces.append(returns)
            row["out_of_sample_return"] = float(oos.iloc[-1] / base - 1.0) if len(oos) else float("nan")
            row["error"] = ""
            rows.append(row)
    finally:
        if close:
            executor_obj.close()
    returns = pd.concat(pieces) if pieces else pd.Series(dtype=float)
    equity_frame = pd.DataFrame({"equity": starting_cash * (1.0 + returns).cumprod()})
    stats = summary(equity_frame, benchmark=None, timezone=timezone) if len(equity_frame) > 1 else pd.Series(
        dtype=float)
    return WalkForwardResult(pd.DataFrame(rows), equity_frame, returns.rename("return"), stats, sweeps)
