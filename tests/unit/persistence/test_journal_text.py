"""``workbench journal ... --limit`` applies to every table and money prints in cents (issue 13, defect 5)."""

from __future__ import annotations

import pytest

from workbench.cli import main
from workbench.persistence import Journal
from workbench.widgets.testing import ScriptedSession


@pytest.fixture
def _cli(capsys):
    def run(*args: str) -> str:
        assert main(["journal", *args]) == 0
        return capsys.readouterr().out
    return run


def test_limit_and_money_in_every_table(tmp_path, _cli):
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        s = ScriptedSession(journal, "s1")
        for i in range(4):  # prices with float noise: 0.1 + 0.2 style sums
            s.trade("SPY", "BUY" if i % 2 == 0 else "SELL", 3, 100.1 + 0.2 * i)
        s.stop()
        fills = journal.fills("s1")
        equity = journal.equity("s1")
    for table, frame in (("fills", fills), ("equity", equity)):
        out = _cli(table, "s1", "--journal", str(path), "--limit", "2").splitlines()
        assert len(out) == 1 + 2, out  # header + the 2 newest rows
        assert str(frame["seq"].iloc[-1]) in out[-1].split()
        assert "e-" not in "\n".join(out)  # no 1e-12 style noise
    full = _cli("equity", "s1", "--journal", str(path)).splitlines()
    assert len(full) == 1 + len(equity)
    assert any(f"{equity['equity'].iloc[-1]:,.2f}" in line for line in full)
    orders = _cli("orders", "s1", "--journal", str(path), "--limit", "1").splitlines()
    assert len(orders) == 2
