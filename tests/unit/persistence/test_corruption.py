"""Bad input: corrupt, truncated, foreign or newer journals, and bad commands."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from workbench.errors import CommandError, JournalError
from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.persistence import schema as t


def _fill(journal: Journal, count: int = 5) -> str:
    sid = journal.create_session("s", mode="paper")
    journal.append_many(sid, [ev.OrderSubmitted(ts_event=i, order_id=f"o{i}", symbol="SPY") for i in range(count)])
    return sid


def _sql(journal: Journal, statement: sa.Executable) -> None:
    with journal.engine.begin() as conn:
        conn.execute(statement)


# ------------------------------------------------------------------------------ corrupt rows
def test_tampered_payload_is_reported_with_its_seq(journal: Journal) -> None:
    sid = _fill(journal)
    assert journal.verify(sid) == 5
    e = t.events.c
    tampered = '{"type":"OrderSubmitted","v":1,"ts_event":3,"order_id":"o-EVIL","symbol":"SPY"}'
    _sql(journal, sa.update(t.events).where(e.seq == 4).values(payload=tampered))
    with pytest.raises(JournalError, match=r"session 's' seq 4 \(OrderSubmitted\): payload checksum mismatch"):
        journal.verify(sid)
    with pytest.raises(JournalError, match="seq 4"):
        list(journal.events(sid))  # readers refuse the bad row too, after yielding the good ones
    assert [x.order_id for x in journal.events(sid, types=None, after_seq=4)] == ["o4"]


def test_garbage_payload_with_matching_checksum_is_reported(journal: Journal) -> None:
    from workbench.persistence.serde import checksum

    sid = _fill(journal)
    garbage = '{"type":"OrderSubmitted","v":1,"ts_event":"yesterday","order_id":"o","symbol":"SPY"}'
    _sql(journal, sa.update(t.events).where(t.events.c.seq == 2).values(payload=garbage, checksum=checksum(garbage)))
    with pytest.raises(JournalError, match=r"seq 2 .*OrderSubmitted\.ts_event: expected an integer"):
        journal.verify(sid)


def test_missing_rows_are_reported(journal: Journal) -> None:
    sid = _fill(journal, 6)
    e = t.events.c
    _sql(journal, sa.delete(t.events).where(e.seq == 3))
    with pytest.raises(JournalError, match=r"expected seq 3, found seq 4 \(events 3..3 are missing\)"):
        journal.verify(sid)
    _sql(journal, sa.delete(t.events).where(e.seq >= 3))  # now the tail is gone: looks contiguous
    with pytest.raises(JournalError, match=r"truncated journal: .*last seq 6 but the events end at seq 2"):
        journal.verify(sid)


# ----------------------------------------------------------------------------- bad files
def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(JournalError, match="not a SQLite database"):
        Journal(path)
    assert path.read_text().startswith("these are my notes")  # untouched


def test_a_truncated_journal_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with Journal(path) as journal:
        sid = journal.create_session("s", mode="paper")
        journal.append_many(sid, [ev.AlertRaised(ts_event=i, level="info", title="t" * 200, message="m" * 500)
                                  for i in range(300)])
    data = path.read_bytes()
    assert len(data) > 40_000 and not Path(f"{path}-wal").exists()  # checkpointed on close
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(JournalError, match=r"corrupt or truncated|quick_check|missing|malformed"), Journal(path) as journal:
        journal.verify(sid)
    path.write_bytes(data[:50])  # even the header is cut
    with pytest.raises(JournalError, match=r"corrupt or truncated|malformed|not a database"), Journal(path) as journal:
        journal.verify(sid)


def test_missing_directory_and_bad_url(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match=r"directory .*nowhere does not exist"):
        Journal(tmp_path / "nowhere" / "journal.db")
    with pytest.raises(JournalError, match="bad journal URL"):
        Journal("sqlite+:://x")


def test_newer_schema_version_is_refused(journal_url: str) -> None:
    with Journal(journal_url) as journal:
        _sql(journal, sa.insert(t.schema_version).values(version=t.SCHEMA_VERSION + 1, ts_applied=0))
    with pytest.raises(JournalError, match=rf"schema version {t.SCHEMA_VERSION + 1}, newer than .*upgrade workbench"):
        Journal(journal_url)


def test_sqlite_database_of_another_program_with_clashing_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT)")
    engine.dispose()
    with pytest.raises(JournalError, match="no schema_version table: not a workbench journal"):
        Journal(path)


# ------------------------------------------------------------------------------- commands
def test_unknown_and_malformed_commands(journal: Journal) -> None:
    sid = journal.create_session("s", mode="paper")
    with pytest.raises(CommandError, match=r"unknown command 'launch_rockets'; known commands: cancel_all, flatten"):
        journal.submit_command(sid, "launch_rockets")
    with pytest.raises(CommandError, match=r"command 'flatten': unknown arg\(s\) \['sym'\]"):
        journal.submit_command(sid, "flatten", {"sym": "SPY"})
    with pytest.raises(CommandError, match=r"command 'kill': arg flatten='yes' is not a valid"):
        journal.submit_command(sid, "kill", {"flatten": "yes"})
    with pytest.raises(CommandError, match=r"command 'set_limit': missing arg\(s\) \['value'\]"):
        journal.submit_command(sid, "set_limit", {"name": "max_position"})
    with pytest.raises(JournalError, match="unknown session 'ghost'"):
        journal.submit_command("ghost", "pause")
    assert journal.commands(sid).empty  # nothing was written


def test_command_acknowledgement_rules(journal: Journal) -> None:
    from workbench.model.commands import KillSwitch, SetLimit

    sid = journal.create_session("s", mode="paper")
    journal.acquire_session(sid, "test engine")  # commands are only queued for a running session
    kill = journal.submit_command(sid, "kill", {"reason": "drawdown", "flatten": False}, source="cli")
    limit = journal.submit_command(sid, "set_limit", {"name": "max_position", "value": 500})
    pending = journal.pending_commands(sid)
    assert [p.command_id for p in pending] == [kill, limit]
    assert pending[0].to_command(ts_init=9) == KillSwitch(ts_init=9, reason="drawdown", flatten=False)
    assert pending[1].to_command() == SetLimit(name="max_position", value=500)
    seq = journal.reject_command(limit, "limit max_position is not adjustable")
    assert journal.command(limit).status == "rejected" and journal.command(limit).ack_seq == seq
    journal.acknowledge_command(kill, True, "halted", ts_event=123)
    assert journal.command(kill).ts_acknowledged == 123
    stop = journal.submit_command(sid, "stop")
    assert journal.command(stop).to_command() is None  # a runtime command, not an engine Command
    journal.acknowledge_command(stop, True, "stopping")
    assert journal.pending_commands(sid) == []
    with pytest.raises(CommandError, match=r"command \d+ \(kill\) is already acknowledged"):
        journal.acknowledge_command(kill)
    with pytest.raises(CommandError, match="no command with id 999"):
        journal.reject_command(999, "x")
    assert [(e.command_id, e.ok, e.detail) for e in journal.events(sid)] == [
        (limit, False, "limit max_position is not adjustable"), (kill, True, "halted"), (stop, True, "stopping")]
