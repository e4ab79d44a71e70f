"""Bad input on the paper-trading path gives a clear error, and loses nothing already acknowledged.

* a journal whose stored payload was altered: ``workbench journal verify`` and a resume both fail
  naming the session and the seq of the bad row;
* a journal file that is garbage, or a valid one cut short: a JournalError on open (the CLI exits
  non-zero with the message), never a traceback or a silently empty journal;
* a second process trying to run a session that is running: SessionLocked naming the holder's pid
  (the CLI exits non-zero); the running session carries on and its journal verifies;
* (an unknown command and a feed emitting garbage are covered in ``test_command_path.py`` and
  ``tests/unit/engine/test_live_runner.py``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from live_helpers import last_seq, run_cli, start_cli, wait_for

from workbench.errors import JournalError, SessionLocked
from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.persistence import schema as t
from workbench.session import paper_session, resume_session


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A journal file holding one finished paper session ``done`` (SMA crossover on the demo)."""
    import asyncio

    path = tmp_path_factory.mktemp("journal") / "journal.sqlite"

    async def run() -> None:
        session = paper_session("sma_crossover", data="demo", speed=None, journal=path, session_id="done")
        await session
        session.journal.close()

    asyncio.run(run())  # the test may start a loop; the library never does
    return path


def _copy(finished: Path, tmp_path: Path) -> Path:
    """A copy of the journal (SQLite's backup API: includes what is still in the WAL file)."""
    target = tmp_path / "journal.sqlite"
    with sqlite3.connect(finished) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target


def test_altered_payload_is_named_by_seq(finished: Path, tmp_path: Path) -> None:
    path = _copy(finished, tmp_path)
    url = f"sqlite:///{path}"
    with Journal(url) as journal:
        seq = next(s for s, e in journal.records("done") if type(e) is ev.OrderFilled and s > 50)
        total = journal.verify("done")
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # change a fill price in the stored JSON, keep the old checksum
        payload = conn.execute(sa.select(t.events.c.payload).where(t.events.c.session_id == "done",
                                                                   t.events.c.seq == seq)).scalar_one()
        tampered = payload.replace('"last_price":', '"last_price":1', 1)
        assert tampered != payload
        conn.execute(sa.update(t.events).where(t.events.c.session_id == "done", t.events.c.seq == seq)
                     .values(payload=tampered))
        # as if the session had crashed (a finished session cannot be resumed at all)
        conn.execute(sa.update(t.sessions).where(t.sessions.c.session_id == "done").values(status="running"))
    engine.dispose()
    done = run_cli("journal", "verify", "done", "--journal", url, cwd=tmp_path)
    assert done.returncode != 0
    assert f"seq {seq} (OrderFilled)" in done.stderr and "checksum mismatch" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(JournalError, match=f"seq {seq} "):
        resume_session("done", journal=url)
    with Journal(url) as journal:  # the rows before the bad one are still readable
        assert len(list(journal.records("done", after_seq=0, types=[ev.SessionStarted]))) == 1
        assert total > seq


def test_deleted_event_is_a_gap_named_by_verify(finished: Path, tmp_path: Path) -> None:
    path = _copy(finished, tmp_path)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.delete(t.events).where(t.events.c.session_id == "done", t.events.c.seq == 40))
    engine.dispose()
    done = run_cli("journal", "verify", "done", "--journal", str(path), cwd=tmp_path)
    assert done.returncode != 0 and "expected seq 40, found seq 41" in done.stderr


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_unreadable_journal_file_is_a_clear_error(finished: Path, tmp_path: Path, damage: str) -> None:
    path = tmp_path / "journal.sqlite"
    if damage == "garbage":
        path.write_bytes(b"this is not a database\n" * 200)
    else:
        (tmp_path / "intact").mkdir()
        data = _copy(finished, tmp_path / "intact").read_bytes()
        assert len(data) > 20_000
        path.write_bytes(data[: len(data) // 3])
    with pytest.raises(JournalError) as info:
        journal = Journal(f"sqlite:///{path}")
        journal.verify("done")  # a truncated file may open; reading it must then fail
    assert str(path) in str(info.value) or "done" in str(info.value)
    done = run_cli("journal", "verify", "done", "--journal", str(path), cwd=tmp_path)
    assert done.returncode != 0 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr


@pytest.mark.slow
def test_second_process_cannot_run_a_running_session(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    sid = "busy"
    first = start_cli("paper", "--journal", url, "--session-id", sid, "--speed", "2000", "--quiet", cwd=tmp_path)
    journal = Journal(url)
    try:
        wait_for(lambda: first.poll() is not None or last_seq(journal, sid) > 5, timeout=60, interval=0.05)
        assert first.poll() is None, first.stderr.read()
        holder = journal.lock_holder(sid)
        assert holder is not None and holder.pid == first.pid
        second = run_cli("paper", "--journal", url, "--resume", sid, "--quiet", cwd=tmp_path, timeout=120)
        assert second.returncode != 0
        assert f"already running in process {first.pid}" in second.stderr and "Traceback" not in second.stderr
        with pytest.raises(SessionLocked, match=str(first.pid)):
            Journal(url).acquire_session(sid, "test")
        assert first.poll() is None  # the running session was not disturbed
        journal.submit_command(sid, "stop")
        assert first.wait(timeout=60) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    events = list(journal.events(sid))
    assert [e.resumed for e in events if type(e) is ev.SessionStarted] == [False]  # nothing from the intruder
    assert journal.verify(sid) == len(events)
    assert journal.lock_holder(sid) is None
    journal.close()
