"""``workbench sweep``: a grid from YAML written to Parquet, a rerun resumes, bad input exits 2."""

from __future__ import annotations

import pytest

from workbench.cli import main
from workbench.research import read_results


@pytest.fixture
def space(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("fast: [5, 10]\nslow: {low: 30, high: 60, step: 30}\n")
    return path


def test_sweep_command_writes_results_and_resumes(space, tmp_path, capsys) -> None:
    out = tmp_path / "results"
    args = ["sweep", "--space", str(space), "--executor", "serial", "--output", str(out), "--quiet"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "4 sets (4 run now, 0 already done), 0 failed" in first
    table = read_results(out)
    assert sorted(zip(table["fast"], table["slow"])) == [(5, 30), (5, 60), (10, 30), (10, 60)]
    best = table.loc[table["sharpe_ratio"].idxmax()]
    assert first.splitlines()[2].split()[:2] == [str(best["fast"]), str(best["slow"])]  # best set first
    assert main(args) == 0
    assert "4 sets (0 run now, 4 already done)" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    (["--strategy", "nope"], "strategy: unknown 'nope'"),
    (["--data", "/nonexistent/bars.csv"], "/nonexistent/bars.csv"),
    (["--method", "random"], "n_trials"),
    (["--executor", "somewhere"], "executor"),
])
def test_bad_input_exits_2_naming_the_field(space, tmp_path, capsys, extra, message) -> None:
    code = main(["sweep", "--space", str(space), "--output", str(tmp_path / "o"), "--quiet", *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_malformed_space_exits_2(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("fast: {low: 1}\n")
    assert main(["sweep", "--space", str(bad), "--executor", "serial"]) == 2
    assert "'fast'" in capsys.readouterr().err
