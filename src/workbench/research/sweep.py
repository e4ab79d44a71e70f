"""Parameter sweeps: grid, random and Optuna searches of a strategy's parameters, run in batches
on a Dask cluster (or in-process), written to Parquet as they finish, resumable.

How a sweep runs
----------------
1. The parameter sets come from the space (:mod:`workbench.research.space`): every grid point,
   ``n_trials`` random draws, or ``n_trials`` Optuna trials asked as workers free up.
2. Sets already in ``output`` (same ``set_key``) are skipped, so a rerun after an interruption
   does only what is missing.
3. The first pending set (and the second, when the first, run cold, took under half of
   ``batch_seconds``) runs here, in-process, to time one backtest; sets are then grouped into
   tasks of about ``batch_seconds`` (1 s by default) so the scheduler's per-task overhead (a few
   ms per task on Dask) stays small against the work, with at least four tasks per worker while
   there are enough sets, for balance.
4. The data goes to every worker once: scattered (``Client.scatter(broadcast=True)``), or read
   by each worker process from a shared path (:class:`~workbench.research.tasks.DataPath`, given
   as a string or path). Tasks receive a reference, never a pickled copy.
5. Each finished task is written to ``output`` at once (:mod:`workbench.research.store`); a set
   that raises is a row with its ``error``; the sweep goes on. A task lost with its worker is
   rerun by Dask; a task that still fails is reported with ``error="task failed: ..."`` and not
   written, so a rerun tries it again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ConfigError, DataError
from workbench.research.executors import make_executor
from workbench.research.space import Space, grid_sets, iter_names, random_sets, set_key, suggest
from workbench.research.store import ResultStore
from workbench.research.tasks import DataPath, metric_value, resolve_data, resolve_strategy, run_batch, run_one

__all__ = ["SweepResult", "sweep"]

METHODS = ("grid", "random", "optuna")
TASKS_PER_WORKER = 4
"""Tasks per worker thread the batch size aims for (at least), for load balance."""


@dataclass
class SweepResult:
    """Outcome of :func:`sweep`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per parameter set, ordered by ``set_index``: ``set_index``, the parameters, every
        statistic of ``BacktestResult.stats`` (float; NaN for a failed set), ``error`` ("" when
        the set ran), ``elapsed_seconds`` (backtest wall time), ``set_key``.
    metric, direction : str
        What the search optimized (``"maximize"`` or ``"minimize"``).
    parameters : list of str
    returns : pandas.DataFrame or None
        Per-set returns (one column per ``set_key``) when ``keep_returns`` was given.
    info : dict
        ``executor``, ``batch_size``, ``tasks`` (finished), ``task_seconds`` / ``task_cpu_seconds``
        (their summed wall / CPU time on the workers), ``timing_sets`` / ``timing_seconds`` (sets run in-process to size the
        batches), ``sets_run`` (now), ``skipped`` (already in ``output``), ``wall_seconds``.
    study : optuna.Study or None
    """

    table: pd.DataFrame
    metric: str
    direction: str
    parameters: list[str]
    returns: pd.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)
    study: Any = None

    def ranked(self) -> pd.DataFrame:
        """Sets that ran, best first by ``metric`` (failed sets and NaN metrics left out)."""
        ok = self.table[(self.table["error"] == "") & self.table[self.metric].notna()]
        return ok.sort_values(self.metric, ascending=self.direction == "minimize", kind="stable")

    def best(self) -> pd.Series:
        """Row of the best set. Raises ValueError when no set produced the metric."""
        ranked = self.ranked()
        if ranked.empty:
            raise ValueError(f"sweep: no parameter set produced {self.metric!r}")
        return ranked.iloc[0]

    @property
    def best_params(self) -> dict[str, Any]:
        row = self.best()
        return {name: _python(row[name]) for name in self.parameters}

    def __repr__(self) -> str:
        return f"SweepResult(sets={len(self.table)}, metric={self.metric!r}, info={self.info})"

    def _repr_html_(self) -> str:
        head = self.ranked().head(10)[[*self.parameters, self.metric]]
        return f"<p>{len(self.table)} sets, best by {self.metric}:</p>" + head.to_html(index=False)


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _prepare_data(data: Any) -> Any:
    if isinstance(data, DataPath):
        return data
    if isinstance(data, str | Path):
        return DataPath(str(data))
    if isinstance(data, pd.DataFrame) or (isinstance(data, tuple) and data
                                          and all(isinstance(d, pd.DataFrame) for d in data)):
        from workbench.feeds.stream import MarketDataStream

        return MarketDataStream(*(data if isinstance(data, tuple) else (data,)))
    return data


def _batch_size(seconds_per_set: float, pending: int, workers: int, batch_seconds: float) -> int:
    by_time = math.ceil(batch_seconds / max(seconds_per_set, 1e-6))
    by_balance = math.ceil(pending / (workers * TASKS_PER_WORKER)) if workers > 1 else by_time
    return max(1, min(by_time, by_balance))


def sweep(
    strategy: Any,
    data: Any,
    space: Space,
    metric: str = "sharpe_ratio",
    *,
    method: str = "grid",
    n_trials: int | None = None,
    direction: str = "maximize",
    seed: int | None = 0,
    executor: Any = "local",
    n_workers: int | None = None,
    output: str | Path | None = None,
    resume: bool = True,
    batch_size: int | None = None,
    batch_seconds: float = 1.0,
    progress: bool = True,
    keep_returns: str | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    **engine_options: Any,
) -> SweepResult:
    """Backtest ``strategy`` over the parameter sets of ``space`` and collect the statistics.

    Parameters
    ----------
    strategy : Strategy subclass, factory, example name or ``"module:Class"``
        Called as ``strategy(**params)``; must be importable by the workers.
    data : MarketDataStream, canonical frame(s), or str/Path
        In-memory data is scattered to each worker once; a string is a path (or ``"demo"``)
        each worker loads itself once (:func:`workbench.session.load_stream`, regular hours).
    space : mapping
        Parameter space (:mod:`workbench.research.space`).
    metric : str
        Statistic of ``BacktestResult.stats`` to optimize (Optuna) and rank by.
    method : ``"grid"`` | ``"random"`` | ``"optuna"``
    n_trials : int
        Sets to draw (random) or trials to run (Optuna; counting those already in the study).
    direction : ``"maximize"`` | ``"minimize"``
    seed : int or None
        Random draws and Optuna's TPE sampler.
    executor : ``"local"`` (default) | ``"serial"`` | ``"tcp://host:8786"`` | distributed.Client | executor
        See :mod:`workbench.research.executors`.
    n_workers : int, optional
        Worker processes of a new LocalCluster (default: CPU count).
    output : str or Path, optional
        Directory of Parquet parts written as tasks finish (:mod:`workbench.research.store`).
    resume : bool
        Skip sets already in ``output``; False starts over (earlier parts are kept but superseded).
    batch_size : int, optional
        Sets per task; default from timing one set (see ``batch_seconds``).
    batch_seconds : float
        Target wall time of a task (seconds).
    progress : bool
        A ``tqdm.auto`` progress bar (a widget in a notebook).
    keep_returns : None | ``"daily"`` | ``"bar"``
        Also keep each set's returns (daily by exchange date, or at every equity timestamp), for
        :func:`~workbench.research.overfitting.probability_of_backtest_overfitting`.
    storage : str, optional
        Optuna storage URL (e.g. the journal's ``postgresql+psycopg://...``, or ``sqlite:///...``),
        so several machines share one study; default in memory.
    study_name : str, optional
        Optuna study to create or continue (required with ``storage``).
    **engine_options
        Passed to :func:`~workbench.engine.backtest.run_backtest` (starting_cash, commission...).

    Returns
    -------
    SweepResult

    Raises
    ------
    ConfigError
        Unknown method/direction/executor, a malformed space, ``n_trials`` missing for
        random/Optuna, or ``storage`` without ``study_name``.
    """
    if method not in METHODS:
        raise ConfigError(f"method: expected one of {METHODS}, got {method!r}")
    if direction not in ("maximize", "minimize"):
        raise ConfigError(f"direction: expected 'maximize' or 'minimize', got {direction!r}")
    if method != "grid" and (n_trials is None or n_trials < 1):
        raise ConfigError(f"n_trials: a {method} search needs n_trials >= 1, got {n_trials!r}")
    if storage is not None and not study_name:
        raise ConfigError("study_name: required with storage (the study the machines share)")
    if keep_returns not in (None, "daily", "bar"):
        raise ConfigError(f"keep_returns: expected None, 'daily' or 'bar', got {keep_returns!r}")
    parameters = list(iter_names(space))
    strategy_ref = strategy
    resolve_strategy(strategy)  # an unknown name fails here, not in every task
    data = _prepare_data(data)
    try:
        resolve_data(data)  # a missing or bad file fails here (and is then cached for the timing run)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise DataError(f"data: {exc}") from exc
    store = ResultStore(output)
    previous = store.existing() if resume else pd.DataFrame()
    done = set(previous["set_key"]) if len(previous) else set()
    run = _Run(strategy_ref, data, engine_options, keep_returns, metric, direction, store, progress)
    started = time.perf_counter()
    executor_obj, close = make_executor(executor, n_workers=n_workers)
    owned = executor_obj if close else None
    run.info["executor"] = executor_obj.description
    try:
        if method == "optuna":
            study = _run_optuna(run, executor_obj, space, n_trials or 0, seed, storage, study_name, done,
                                previous, batch_size, batch_seconds)
        else:
            study = None
            sets = grid_sets(space) if method == "grid" else random_sets(space, n_trials or 0, seed)
            pending = [(i, set_key(p), p) for i, p in enumerate(sets) if set_key(p) not in done]
            run.info["skipped"] = len(sets) - len(pending)
            _run_sets(run, executor_obj, pending, batch_size, batch_seconds)
    finally:
        if owned is not None:
            owned.close()
    table = _table(previous, run.rows, parameters, metric)
    returns = None
    if keep_returns:
        kept = store.existing_returns() if output is not None else pd.DataFrame()
        fresh = pd.DataFrame(run.returns) if run.returns else pd.DataFrame()
        returns = pd.concat([kept, fresh], axis=1) if len(fresh.columns) or len(kept.columns) else pd.DataFrame()
        returns = returns.loc[:, ~returns.columns.duplicated(keep="last")].sort_index()
    run.info["wall_seconds"] = time.perf_counter() - started
    return SweepResult(table, metric, direction, parameters, returns, run.info, study)


class _Run:
    """State of one sweep: where rows go, the progress bar, counters."""

    def __init__(self, strategy: Any, data: Any, engine_options: Mapping[str, Any], keep_returns: str | None,
                 metric: str, direction: str, store: ResultStore, progress: bool) -> None:
        self.strategy, self.data, self.engine_options = strategy, data, dict(engine_options)
        self.keep_returns, self.metric, self.direction, self.store = keep_returns, metric, direction, store
        self.rows: list[dict[str, Any]] = []
        self.returns: dict[str, pd.Series] = {}
        self.info: dict[str, Any] = {"tasks": 0, "sets_run": 0, "task_seconds": 0.0, "task_cpu_seconds": 0.0,
                                     "timing_sets": 0, "timing_seconds": 0.0}
        self.show_progress = progress
        self.bar: Any = None

    def open_bar(self, total: int) -> None:
        if self.show_progress and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="sweep", unit="set")

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def calibrate(self, index: int, key: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], float]:
        """Run one set here (timing it); record it like a finished task."""
        row, series = run_one(self.strategy, resolve_data(self.data), params, self.engine_options, self.keep_returns)
        full = {"set_index": index, "set_key": key, **params, **row}
        self.info["timing_sets"] += 1
        self.info["timing_seconds"] += float(row["elapsed_seconds"])
        self.accept([full], {key: series} if series is not None else {})
        return full, float(row["elapsed_seconds"])

    def accept(self, rows: list[dict[str, Any]], returns: dict[str, pd.Series], persist: bool = True) -> None:
        if persist:
            self.store.write(rows, returns)
        self.rows.extend(rows)
        self.returns.update(returns)
        self.info["sets_run"] += len(rows)
        if self.bar is not None:
            self.bar.update(len(rows))

    def collect(self, future: Any, batch: list[tuple[int, str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
        try:
            result = future.result()
        except Exception as exc:  # the task itself failed (e.g. its worker died too often)
            message = f"task failed: {type(exc).__name__}: {str(exc).strip()[:200]}"
            rows = [{"set_index": i, "set_key": k, **p, "error": message} for i, k, p in batch]
            self.accept(rows, {}, persist=False)
            return rows
        self.info["tasks"] += 1
        self.info["task_seconds"] += result.seconds
        self.info["task_cpu_seconds"] += result.cpu_seconds
        self.accept(result.rows, result.returns)
        return result.rows


def _run_sets(run: _Run, executor: Any, pending: list[tuple[int, str, dict[str, Any]]],
              batch_size: int | None, batch_seconds: float) -> None:
    run.open_bar(len(pending))
    try:
        if not pending:
            return
        if batch_size is None:  # time one set, and a second one when the first was quick (it ran cold)
            _, seconds = run.calibrate(*pending[0])
            pending = pending[1:]
            if pending and seconds < batch_seconds / 2:
                _, seconds = run.calibrate(*pending[0])
                pending = pending[1:]
            batch_size = _batch_size(seconds, len(pending), executor.workers, batch_seconds)
        run.info["batch_size"] = batch_size
        if not pending:
            return
        shared = executor.share(run.data)
        batches = [pending[i:i + batch_size] for i in range(0, len(pending), batch_size)]
        futures = {}
        for batch in batches:
            future = executor.submit(run_batch, run.strategy, shared, batch, run.engine_options, run.keep_returns)
            futures[future] = batch
        for future in executor.as_completed(list(futures)):
            run.collect(future, futures.pop(future))
    finally:
        run.close_bar()


def _run_optuna(run: _Run, executor: Any, space: Space, n_trials: int, seed: int | None, storage: str | None,
                study_name: str | None, done: set[str], previous: pd.DataFrame, batch_size: int | None,
                batch_seconds: float) -> Any:
    """Ask trials as workers free up, tell results as tasks finish (Optuna's ask-and-tell interface).

    ``n_trials`` is the size of the whole study: several processes (machines) on one storage
    stop together once the study holds that many finished or running trials (it may end a few
    trials over when two of them ask at the same moment).
    """
    import optuna
    from optuna.trial import TrialState

    if storage is not None:
        from workbench.persistence.database import normalize_url

        storage = normalize_url(storage)
    study = _open_study(optuna, storage, study_name, run.direction, seed)
    counted = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.RUNNING)

    def left() -> int:
        """Trials still to ask: ``n_trials`` minus every trial of the study finished or running,
        whichever machine runs it (re-read from the storage before each batch)."""
        return n_trials - len(study.get_trials(deepcopy=False, states=counted))

    remaining = left()
    known: dict[str, dict[str, Any]] = {}
    if len(previous):
        known.update({r["set_key"]: r for r in previous.to_dict("records")})
    run.info["skipped"] = len(done)
    run.open_bar(max(remaining, 0))

    def tell(trial: Any, row: Mapping[str, Any]) -> None:
        value = metric_value(row, run.metric)
        if np.isnan(value):
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, value)

    try:
        if remaining <= 0:
            return study
        workers = executor.workers
        if batch_size is None:
            trial = study.ask()
            params = suggest(trial, space)
            row, seconds = run.calibrate(trial.number, set_key(params), params)
            tell(trial, row)
            known[row["set_key"]] = row
            remaining -= 1
            batch_size = _batch_size(seconds, remaining, workers, batch_seconds)
        run.info["batch_size"] = batch_size
        shared = executor.share(run.data)
        in_flight: dict[Any, tuple[list[Any], list[tuple[int, str, dict[str, Any]]]]] = {}
        completed = executor.as_completed([])

        def submit_more() -> None:
            nonlocal remaining
            while len(in_flight) < workers:
                remaining = left()
                if remaining <= 0:
                    break
                trials, batch = [], []
                while remaining > 0 and len(batch) < batch_size:
                    trial = study.ask()
                    params = suggest(trial, space)
                    key = set_key(params)
                    remaining -= 1
                    if key in known:  # the sampler repeated a set: reuse its result
                        tell(trial, known[key])
                        continue
                    trials.append(trial)
                    batch.append((trial.number, key, params))
                if batch:
                    future = executor.submit(run_batch, run.strategy, shared, batch, run.engine_options,
                                             run.keep_returns)
                    in_flight[future] = (trials, batch)
                    completed.add(future)

        submit_more()
        for future in completed:
            trials, batch = in_flight.pop(future)
            rows = run.collect(future, batch)
            for trial, row in zip(trials, rows):
                known[row["set_key"]] = row
                tell(trial, row)
            submit_more()
    finally:
        run.close_bar()
    return study


def _open_study(optuna: Any, storage: str | None, study_name: str | None, direction: str, seed: int | None) -> Any:
    """Create or load the study. Processes that start together on a fresh database race to
    create Optuna's tables and the study; the loser's statement fails once the winner has
    committed, so it simply tries again (the tables and study then exist)."""
    import sqlalchemy.exc

    for attempt in range(5):
        try:
            return optuna.create_study(storage=storage, study_name=study_name, direction=direction,
                                       sampler=optuna.samplers.TPESampler(seed=seed), load_if_exists=True)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError, optuna.exceptions.DuplicatedStudyError):
            if attempt == 4:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _table(previous: pd.DataFrame, rows: list[dict[str, Any]], parameters: list[str], metric: str) -> pd.DataFrame:
    fresh = pd.DataFrame(rows)
    parts = [f for f in (previous, fresh) if len(f)]
    if not parts:
        return pd.DataFrame(columns=["set_index", *parameters, metric, "error", "elapsed_seconds", "set_key"])
    table = pd.concat(parts, ignore_index=True).drop_duplicates("set_key", keep="last")
    table = table.sort_values("set_index", kind="stable").reset_index(drop=True)
    if metric not in table.columns:
        table[metric] = np.nan
    table["error"] = table["error"].fillna("").astype(str)
    first = ["set_index", *parameters, metric]
    last = ["error", "elapsed_seconds", "set_key"]
    middle = [c for c in table.columns if c not in first and c not in last]
    return table[[*first, *middle, *[c for c in last if c in table.columns]]]
