"""``journal verify`` checks the read model against the events; a damaged file is warned about
(issue 10, item 8).

* An edited fill price (or a deleted position row) in the projection tables: the events are
  intact, so only a rebuild finds it; ``Journal.verify`` and ``workbench journal verify`` fail
  naming the table, the row, the column and both values.
* A file whose index page is damaged (SQLite's ``PRAGMA quick_check`` fails, reads still work):
  ``report``, ``journal ...`` and the dashboard show a warning.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from workbench.cli import main
from workbench.errors import JournalError
from workbench.persistence import Journal
from workbench.persistence import schema as t

GOOD = Path(__file__).with_name("bad_input") / "good_bars.csv"


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audit")
    journal = folder / "journal.sqlite"
    assert main(["paper", "--journal", str(journal), "--data", str(GOOD), "--speed", "max", "--quiet",
                 "--session-id", "g", "--param", "fast=2", "--param", "slow=5"]) == 0
    return journal


def _copy(source: Path, target: Path) -> Path:
    with sqlite3.connect(source) as a, sqlite3.connect(target) as b:
        a.backup(b)
    return target


def test_edited_fill_price_fails_verify(finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(finished, tmp_path / "j.sqlite")
    with Journal(path) as journal:
        assert journal.verify("g") > 0
        fill = journal.fills("g").iloc[0]
        price = float(fill["price"])
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.execute(sa.update(t.fills).where(t.fills.c.seq == int(fill["seq"])).values(price=price + 1))
            conn.execute(sa.delete(t.positions).where(t.positions.c.symbol == "SPY"))
        engine.dispose()
        with pytest.raises(JournalError) as info:
            journal.verify("g")
        message = str(info.value)
        assert f"fills seq={int(fill['seq'])}: price is {price + 1!r} in the table, {price!r} from the events" \
            in message
        assert "positions symbol=SPY: missing from the table" in message
        assert journal.verify("g", read_model=False) > 0  # the events themselves are intact
    assert main(["journal", "verify", "g", "--journal", str(path)]) == 2
    err = capsys.readouterr().err
    assert "read model differs" in err and "price is" in err


def test_damaged_file_is_warned_about(finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(finished, tmp_path / "damaged.sqlite")
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_fills_session_fill'").fetchone()[0]
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start + 8:start + page_size] = b"\x07" * (page_size - 8)  # an index page only: reads still work
    path.write_bytes(bytes(data))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
    assert main(["report", "g", "--journal", str(path)]) == 0
    out = capsys.readouterr()
    assert "warning: journal" in out.err and "fails SQLite's quick check" in out.err and "Daily report" in out.out
    assert main(["journal", "sessions", "--journal", str(path)]) == 0
    assert "fails SQLite's quick check" in capsys.readouterr().err
    from workbench.widgets.dashboard import Dashboard

    dash = Dashboard(path, "g")
    dash.refresh()
    assert "fails SQLite&#x27;s quick check" in dash.message.value or "fails SQLite's quick check" in dash.message.value
    dash.close()
