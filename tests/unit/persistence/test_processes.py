"""Two processes on one journal: command round trip, session lock, concurrent writer and readers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from workbench.errors import SessionLocked
from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.persistence import schema as t

WORKER = str(Path(__file__).with_name("journal_worker.py"))


def _start(mode: str, url: str, session_id: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, WORKER, mode, url, session_id, *extra], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'journal.db'}"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_commands_between_two_processes(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    with Journal(url) as journal:
        sid = journal.create_session("ctl", mode="paper")
        engine = _start("engine", url, sid)
        try:
            assert engine.stdout.readline().strip() == "READY"
            pause = journal.submit_command(sid, "pause", source="dashboard")
            flatten = journal.submit_command(sid, "flatten", {"symbol": "SPY"}, source="cli")
            _wait_for(lambda: not journal.pending_commands(sid))
            stop = journal.submit_command(sid, "stop", source="cli")
            assert engine.wait(timeout=30) == 0, engine.stderr.read()
        finally:
            engine.kill()
        commands = journal.commands(sid).set_index("command_id")
        assert commands.loc[pause, "status"] == "acknowledged" and commands.loc[pause, "detail"] == "pause done"
        assert commands.loc[flatten, "status"] == "rejected"
        assert commands.loc[flatten, "detail"] == "flatten not supported by this engine"
        assert commands.loc[flatten, "args"] == {"symbol": "SPY"}
        assert commands.loc[stop, "status"] == "acknowledged"
        assert commands["ts_acknowledged"].notna().all()
        # the acknowledgements are journaled events, in order, and point at the commands table
        acks = [(seq, e) for seq, e in journal.records(sid, types=[ev.CommandAcknowledged])]
        assert [(e.command_id, e.ok) for _, e in acks] == [(pause, True), (flatten, False), (stop, True)]
        assert [seq for seq, _ in acks] == commands.loc[[pause, flatten, stop], "ack_seq"].tolist()
        received = list(journal.events(sid, types=["CommandReceived"]))
        assert [(e.name, e.args, e.source) for e in received] == [
            ("pause", {}, "dashboard"), ("flatten", {"symbol": "SPY"}, "cli"), ("stop", {}, "cli")]
        assert journal.verify(sid) == 9  # 3 x (received, acknowledged, traffic)
        assert journal.lock_holder(sid) is None


def test_second_process_gets_session_locked_and_dead_owner_is_taken_over(sqlite_url: str) -> None:
    with Journal(sqlite_url) as journal:
        sid = journal.create_session("locked", mode="paper")
        holder = _start("hold", sqlite_url, sid)
        try:
            line = holder.stdout.readline().split()
            assert line[0] == "LOCKED" and int(line[1]) == holder.pid
            with pytest.raises(SessionLocked) as info:
                journal.acquire_session(sid, "second")
            message = str(info.value)
            assert f"already running in process {holder.pid}" in message and "'test holder'" in message
            assert journal.lock_holder(sid).pid == holder.pid
            # a third process is refused too
            third = _start("hold", sqlite_url, sid)
            out, _ = third.communicate(timeout=30)
            assert out.startswith("LOCKED-OUT") and str(holder.pid) in out
            # the owner dies without releasing: its lock is stale and is taken over at once
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=10)
        finally:
            holder.kill()
        info2 = journal.acquire_session(sid, "after crash")
        assert info2.pid == os.getpid() and journal.lock_holder(sid).owner == "after crash"
        journal.heartbeat(sid)
        journal.release_session(sid)
        assert journal.lock_holder(sid) is None


def test_graceful_release_lets_the_next_process_in(sqlite_url: str) -> None:
    with Journal(sqlite_url) as journal:
        sid = journal.create_session(mode="paper")
        holder = _start("hold", sqlite_url, sid)
        assert holder.stdout.readline().startswith("LOCKED")
        holder.communicate(input="", timeout=30)  # closes stdin -> releases
        assert journal.lock_holder(sid) is None
        journal.acquire_session(sid)


def test_lock_within_one_process_and_stale_heartbeat(sqlite_url: str) -> None:
    with Journal(sqlite_url) as first, Journal(sqlite_url) as second:
        sid = first.create_session(mode="live")
        first.acquire_session(sid, "engine A")
        first.acquire_session(sid, "engine A")  # re-entrant for the holder
        with pytest.raises(SessionLocked, match="already running in process"):
            second.acquire_session(sid, "engine B")  # same pid, other Journal object
        # pretend the holder is on another host and silent for 60 s: stale after 30 s
        with first.engine.begin() as conn:
            conn.execute(sa.update(t.sessions).values(owner_host="elsewhere",
                                                      ts_heartbeat=time.time_ns() - 60 * 10**9))
        with pytest.raises(SessionLocked, match="last heartbeat 60"):
            second.acquire_session(sid, "engine B", stale_after=120)
        second.acquire_session(sid, "engine B", stale_after=30)
        with pytest.raises(SessionLocked, match="taken over"):
            first.heartbeat(sid)
        with pytest.raises(SessionLocked, match="does not hold"):
            first.heartbeat(sid)
        second.heartbeat(sid)


def test_concurrent_writer_and_reader_processes(sqlite_url: str) -> None:
    """An engine-like writer appends while this process reads, submits commands and writes another session."""
    with Journal(sqlite_url) as journal:
        sid = journal.create_session("busy", mode="paper")
        other = journal.create_session("other", mode="paper")
        writer = _start("writer", sqlite_url, sid, "200")
        submitted = 0
        seen = 0
        try:
            while writer.poll() is None:
                seen = max(seen, len(list(journal.events(sid))))
                journal.submit_command(sid, "pause", source="dashboard", require_running=False)
                journal.append(other, ev.OrderSubmitted(ts_event=submitted, order_id=f"x{submitted}", symbol="QQQ"))
                journal.orders(sid)
                submitted += 1
            assert writer.returncode == 0, writer.stderr.read()
        finally:
            writer.kill()
        assert journal.verify(sid) == 200 and journal.verify(other) == submitted
        assert [e.ts_event for e in journal.events(sid)] == list(range(200))
        assert len(journal.pending_commands(sid)) == submitted and submitted > 0
