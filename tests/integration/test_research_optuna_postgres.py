"""Two processes (standing in for two machines) share one Optuna study on the PostgreSQL server
the journal uses: together they run the study's ``n_trials`` once, not twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.research import read_results

pytestmark = pytest.mark.postgres


def test_two_processes_share_one_study_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    space = tmp_path / "space.yaml"
    space.write_text("fast: {low: 2, high: 20}\nslow: {low: 30, high: 120, step: 10}\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    commands = [[sys.executable, "-m", "workbench.cli", "sweep", "--space", str(space), "--method", "optuna",
                 "--n-trials", "12", "--storage", pg_url, "--study-name", "shared", "--executor", "serial",
                 "--seed", str(seed), "--batch-size", "2", "--output", str(tmp_path / f"machine{seed}"), "--quiet"]
                for seed in (1, 2)]
    processes = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for c in commands]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
    study = optuna.load_study(study_name="shared", storage=pg_url)
    trials = study.get_trials(deepcopy=False)
    assert 12 <= len(trials) <= 14  # at most one batch of overshoot per process racing at the end
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    numbers = [set(read_results(tmp_path / f"machine{seed}")["set_index"]) for seed in (1, 2)]
    assert numbers[0] and numbers[1], "both processes ran trials"
    assert not numbers[0] & numbers[1]
    assert numbers[0] | numbers[1] <= {t.number for t in trials}
