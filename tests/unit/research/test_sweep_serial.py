"""Sweeps in-process: results against plain run_backtest, failing sets, interruption and resume,
random and Optuna searches, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.engine.backtest import run_backtest
from workbench.errors import ConfigError
from workbench.research import read_results, sweep
from workbench.session import load_stream
from workbench.strategies import SmaCrossover

SPACE = {"fast": [5, 10, 20], "slow": [10, 30, 60]}


@pytest.fixture(scope="module")
def stream():
    return load_stream("demo")


class _Exploding(SmaCrossover):
    """Raises on the first bar when ``fast == 7`` (a set that fails inside the backtest)."""

    def on_bar(self, bar):
        if self.params.fast == 7:
            raise RuntimeError("boom on purpose")
        super().on_bar(bar)


class _InterruptAfter:
    """Strategy factory that raises KeyboardInterrupt (like Ctrl-C) at its ``limit``-th call."""

    def __init__(self, limit: int) -> None:
        self.calls, self.limit = 0, limit

    def __call__(self, **params):
        self.calls += 1
        if self.calls == self.limit:
            raise KeyboardInterrupt
        return SmaCrossover(**params)


def test_each_row_equals_its_own_backtest(stream) -> None:
    result = sweep(SmaCrossover, stream, SPACE, executor="serial", progress=False)
    assert list(result.table[["fast", "slow"]].itertuples(index=False, name=None)) == [
        (f, s) for f in (5, 10, 20) for s in (10, 30, 60)]
    for row in result.table.itertuples():
        if row.fast >= row.slow:
            assert "fast" in row.error and np.isnan(row.sharpe_ratio)
            continue
        stats = run_backtest(SmaCrossover(fast=row.fast, slow=row.slow), stream).stats
        assert row.error == ""
        assert row.final_equity == pytest.approx(float(stats["final_equity"]), rel=0, abs=1e-9)
        assert row.sharpe_ratio == pytest.approx(float(stats["sharpe_ratio"]), rel=1e-12)
    best = result.table.loc[result.table["sharpe_ratio"].idxmax()]
    assert result.best_params == {"fast": int(best["fast"]), "slow": int(best["slow"])}


def test_a_failing_set_is_recorded_and_the_sweep_goes_on(stream) -> None:
    result = sweep(_Exploding, stream, {"fast": [5, 7, 9], "slow": [30]}, executor="serial", progress=False,
                   batch_size=1)
    errors = dict(zip(result.table["fast"], result.table["error"]))
    assert errors[7] == "RuntimeError: boom on purpose"
    assert errors[5] == errors[9] == ""
    assert result.table.set_index("fast").loc[[5, 9], "final_equity"].notna().all()


def test_a_rerun_after_an_interruption_skips_the_finished_sets(stream, tmp_path) -> None:
    space = {"fast": [3, 5, 8, 12], "slow": [20, 40]}
    with pytest.raises(KeyboardInterrupt):
        sweep(_InterruptAfter(6), stream, space, executor="serial", progress=False, output=tmp_path, batch_size=2)
    written = read_results(tmp_path)
    assert len(written) == 4  # two whole tasks of 2 sets; the third was interrupted at its second set
    factory = _InterruptAfter(limit=10**9)
    resumed = sweep(factory, stream, space, executor="serial", progress=False, output=tmp_path, batch_size=2)
    assert resumed.info["skipped"] == 4 and factory.calls == 4
    fresh = sweep(SmaCrossover, stream, space, executor="serial", progress=False)
    columns = [c for c in fresh.table.columns if c != "elapsed_seconds"]
    pd.testing.assert_frame_equal(resumed.table[columns], fresh.table[columns], check_dtype=False)
    pd.testing.assert_frame_equal(read_results(tmp_path)[columns], fresh.table[columns], check_dtype=False)


def test_random_search_draws_n_trials_distinct_sets(stream) -> None:
    space = {"fast": {"low": 2, "high": 15}, "slow": {"low": 20, "high": 80}}
    result = sweep(SmaCrossover, stream, space, method="random", n_trials=6, seed=11, executor="serial",
                   progress=False)
    assert len(result.table) == 6 and result.table["set_key"].is_unique
    assert (result.table["error"] == "").all()


def test_optuna_search_with_shared_storage_continues_the_study(stream, tmp_path) -> None:
    space = {"fast": {"low": 2, "high": 15}, "slow": {"low": 20, "high": 80, "step": 10}}
    storage = tmp_path / "study.sqlite"
    first = sweep(SmaCrossover, stream, space, method="optuna", n_trials=5, executor="serial", progress=False,
                  storage=str(storage), study_name="sma")
    assert len(first.study.trials) == 5
    second = sweep(SmaCrossover, stream, space, method="optuna", n_trials=8, executor="serial", progress=False,
                   storage=str(storage), study_name="sma")
    assert len(second.study.trials) == 8  # 3 more, the other machine's 5 counted
    best = second.study.best_trial
    assert best.value == pytest.approx(float(run_backtest(SmaCrossover(**best.params), stream).stats["sharpe_ratio"]))


def test_bad_input_names_the_field(stream) -> None:
    with pytest.raises(ConfigError, match="method"):
        sweep(SmaCrossover, stream, SPACE, method="genetic", executor="serial")
    with pytest.raises(ConfigError, match="n_trials"):
        sweep(SmaCrossover, stream, SPACE, method="random", executor="serial")
    with pytest.raises(ConfigError, match="executor"):
        sweep(SmaCrossover, stream, SPACE, executor="cluster-please")
    with pytest.raises(ConfigError, match="study_name"):
        sweep(SmaCrossover, stream, SPACE, method="optuna", n_trials=2, storage="sqlite://", executor="serial")
