"""The bad-input corpus (``tests/integration/bad_input/``) run through the CLI (issue 10, items 5,
9, 10, 13, 14).

Every case exits with code 2 and a one-line ``error: ...`` (or argparse's usage error) naming the
file, data row, field or key at fault, with no traceback, and leaves nothing behind: no session
row, no journal file, no folder. Cases run through :func:`workbench.cli.main` in this process (the
CLI's own entry point; an unexpected exception would fail the test with its traceback); two of
them also in a subprocess, where the real exit code and stderr are checked.

The one good file with a dropped row (``nan_row.csv``) runs, and its validation report (counts by
check, the dropped row) is printed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from live_helpers import run_cli

from workbench.cli import main
from workbench.persistence import Journal
from workbench.persistence import schema as t

CORPUS = Path(__file__).with_name("bad_input")

# (argv after the subcommand's name, expected text in the error); {c} = corpus folder, {t} = tmp folder
PAPER_CASES = {
    "non_utf8_row": (["--data", "{c}/non_utf8.csv"], ["non_utf8.csv: data row 4", "is not UTF-8"]),
    "truncated_gzip": (["--data", "{c}/truncated.csv.gz"], ["truncated.csv.gz", "truncated or corrupt"]),
    "missing_file": (["--data", "{t}/no_such.csv"], ["no such file or folder", "no_such.csv"]),
    "config_data_missing": (["--config", "{c}/missing_data.yaml"], ["session.data", "no_such_folder/bars.csv"]),
    "empty_config": (["--config", "{c}/empty.yaml"], ["empty.yaml", "the config file is empty"]),
    "header_only": (["--data", "{c}/header_only.csv"], ["header_only.csv", "read 0, kept 0", "empty stream"]),
    "every_row_invalid": (["--data", "{c}/every_row_invalid.csv"],
                          ["every_row_invalid.csv", "skipped {'missing': 60}", "empty stream"]),
    "huge_price": (["--data", "{c}/huge_price.csv"], ["huge_price.csv", "data row 21", "open=1e+300", "price_jump"]),
    "speed_text": (["--speed", "abc"], ["--speed", "'abc'"]),
    "cash_negative": (["--cash", "-5"], ["--cash", "'-5'"]),
    "cash_zero": (["--cash", "0"], ["--cash", "'0'"]),
    "cash_nan": (["--cash", "nan"], ["--cash", "'nan'"]),
    "journal_folder_missing": (["--journal", "{t}/typo/journal.sqlite"], ["typo", "does not exist"]),
}


def _fill(args: list[str], tmp_path: Path) -> list[str]:
    return [a.format(c=CORPUS, t=tmp_path) for a in args]


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code if isinstance(exc.code, int) else 2
    out = capsys.readouterr()
    return code, out.out, out.err


def _sessions(journal: Path) -> int:
    if not journal.exists():
        return 0
    engine = sa.create_engine(f"sqlite:///{journal}")
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(t.sessions)).scalar_one()
    engine.dispose()
    return int(n)


@pytest.mark.parametrize("case", sorted(PAPER_CASES))
def test_bad_paper_input_is_one_clear_error(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_JOURNAL", raising=False)
    args, expected = PAPER_CASES[case]
    journal = tmp_path / "journal.sqlite"
    argv = ["paper", "--journal", str(journal), "--quiet", "--speed", "max", *_fill(args, tmp_path)]
    code, out, err = _cli(argv, capsys)
    assert code == 2, (out, err)
    for text in expected:
        assert text in err, err
    assert "Traceback" not in err + out
    assert _sessions(journal) == 0  # no orphan session in state 'created'
    assert not (tmp_path / "typo").exists() and not (tmp_path / "workbench_data").exists()


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A journal with session ``good``: a paper run on ``good_bars.csv`` that ended cleanly."""
    folder = tmp_path_factory.mktemp("finished")
    journal = folder / "journal.sqlite"
    assert main(["paper", "--journal", str(journal), "--data", str(CORPUS / "good_bars.csv"), "--speed", "max",
                 "--quiet", "--session-id", "good"]) == 0
    return journal


@pytest.mark.parametrize(("argv", "expected"), [
    (["report", "good", "-o", "{t}/missing/report.html"], ["missing", "does not exist"]),
    (["report", "good", "--date", "2020-01-02"], ["2020-01-02 is outside session 'good'", "2013-10-07"]),
    (["paper", "--resume", "good"], ["is finished (it stopped cleanly: end of data)", "start a new session"]),
    (["journal", "sessions", "--journal", "{t}/nope.sqlite"], ["nope.sqlite does not exist"]),
    (["paper", "--resume", "good", "--journal", "{t}/nope.sqlite"], ["nope.sqlite does not exist"]),
    (["ctl", "good", "pause", "--journal", "{t}/nope.sqlite"], ["nope.sqlite does not exist"]),
    (["report", "good", "--journal", "{t}/nope.sqlite"], ["nope.sqlite does not exist"]),
    (["backtest", "--data", "{c}/non_utf8.csv"], ["non_utf8.csv: data row 4"]),
    (["backtest", "--cash", "nan"], ["--cash", "'nan'"]),
])
def test_bad_input_on_a_finished_session(finished: Path, argv: list[str], expected: list[str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    argv = _fill(argv, tmp_path)
    if "--journal" not in argv and argv[0] != "backtest":
        argv += ["--journal", str(finished)]
    code, out, err = _cli(argv, capsys)
    assert code == 2, (out, err)
    for text in expected:
        assert text in err, err
    assert "Traceback" not in err + out
    assert not (tmp_path / "nope.sqlite").exists() and not (tmp_path / "missing").exists()


def test_validation_report_is_printed_on_every_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "journal.sqlite"
    code, out, err = _cli(["paper", "--journal", str(journal), "--data", str(CORPUS / "nan_row.csv"), "--speed", "max",
                           "--quiet"], capsys)
    assert code == 0, err
    assert "nan_row.csv (bars): read 60, kept 59, skipped {'missing': 1}" in out
    assert "missing: data row 11: open=None (empty value)" in out


def test_resume_from_another_folder_and_on_changed_data(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative data paths are stored absolute, with the data's SHA-256: a resume from elsewhere finds
    the data; a resume on changed data is refused."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(CORPUS / "good_bars.csv", tmp_path / "a" / "bars.csv")
    journal = tmp_path / "journal.sqlite"
    monkeypatch.chdir(tmp_path / "a")
    assert _cli(["paper", "--journal", str(journal), "--data", "bars.csv", "--speed", "max", "--quiet",
                 "--session-id", "rel"], capsys)[0] == 0
    with Journal(journal) as jr:
        saved = jr.session("rel")["parameters"]
        assert saved["data"] == str(tmp_path / "a" / "bars.csv") and len(saved["data_sha256"]) == 64
        with jr.engine.begin() as conn:  # as if the process had crashed
            conn.execute(sa.update(t.sessions).values(status="running"))
    monkeypatch.chdir(tmp_path / "b")
    code, _, err = _cli(["paper", "--journal", str(journal), "--resume", "rel", "--quiet"], capsys)
    assert code == 0, err
    with Journal(journal) as jr, jr.engine.begin() as conn:
        conn.execute(sa.update(t.sessions).values(status="running"))
    with (tmp_path / "a" / "bars.csv").open("a") as handle:
        handle.write("2013-10-07T14:31:00Z,SPY,170.0,170.1,169.9,170.0,1000\n")
    code, _, err = _cli(["paper", "--journal", str(journal), "--resume", "rel", "--quiet"], capsys)
    assert code == 2 and "changed since the session started" in err and "bars.csv" in err


@pytest.mark.parametrize("case", ["huge_price", "speed_text"])
def test_bad_input_in_a_real_process(case: str, tmp_path: Path) -> None:
    args, expected = PAPER_CASES[case]
    done = run_cli("paper", "--journal", str(tmp_path / "journal.sqlite"), "--quiet", *_fill(args, tmp_path),
                   cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert all(text in done.stderr for text in expected) and "Traceback" not in done.stderr
