"""``workbench scan`` on the shipped daily data: the ranked table, the selection, bad input with exit
code 2 and a message naming the item (no traceback)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import main


def test_scan_prints_the_ranked_table_and_writes_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scan.csv"
    assert main(["scan", "--date", "2020-02-14", "--top", "2", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "scan 'default' as of 2020-02-14" in text and "selected: " in text
    table = pd.read_csv(out, index_col="symbol")
    assert table["selected"].sum() == 2
    assert list(table.index[table["selected"]]) == list(table.sort_values("rank").index[:2])


@pytest.mark.parametrize(("argv", "message"), [
    (["--universe", "SPY,AAPL,MSFT"], "universe: no data for symbol(s) ['MSFT']"),
    (["--date", "1990-01-02"], "--date 1990-01-02 is outside the data"),
    (["--earnings", "{bad}"], "line 3: field 'date': 'soon' is not a date"),
    (["--config", "{weights}"], "weights: unknown factor(s) ['quality']"),
    (["--config", "{empty}"], "the scan config is empty"),
    (["--output", "/nonexistent-folder/x.csv"], "folder /nonexistent-folder does not exist"),
])
def test_bad_input_exits_2_naming_the_item(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                           message: str) -> None:
    (tmp_path / "bad.csv").write_text("symbol,date\nAAPL,2020-02-20\nIBM,soon\n")
    (tmp_path / "weights.yaml").write_text("weights:\n  quality: 1.0\n")
    (tmp_path / "empty.yaml").write_text("")
    files = {"bad": tmp_path / "bad.csv", "weights": tmp_path / "weights.yaml", "empty": tmp_path / "empty.yaml"}
    argv = [a.format(**files) for a in argv]
    assert main(["scan", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
