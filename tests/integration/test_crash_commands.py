"""SIGKILL recovery with a command pending, and a session whose lock is taken over (issue 10,
"How it is checked"; items 4, 6, 7).

* Killed with commands pending: a ``workbench paper`` process is frozen (SIGSTOP, so it cannot
  poll), two commands are queued for it (a ``set_limit`` valid for a minute, a ``kill`` valid for
  one second), and it is killed with SIGKILL. The resumed session carries out the ``set_limit``
  exactly once and journals the ``kill`` as expired, never carrying it out.
* Lock taken over: a frozen process's lock is taken by another (as after a stale heartbeat);
  when it wakes up (SIGCONT) it stops itself with an error and journals nothing more. The session
  resumed afterwards ends with exactly the fills of an uninterrupted reference run.
* Both journals verify, and event time never goes backwards within a session (a resume stamps
  its events at the resume point, item 7).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from live_helpers import fills, last_seq, reaped, run_cli, start_cli, wait_for

from workbench.errors import JournalError
from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.persistence import schema as t

pytestmark = pytest.mark.slow

STRATEGY = ["--strategy", "sma_crossover", "--param", "fast=5", "--param", "slow=15"]
SPEED = "20000"


def _monotonic(journal: Journal, sid: str) -> None:
    previous = None
    for seq, event in journal.records(sid):
        assert previous is None or event.ts_event >= previous[1], (seq, type(event).__name__, event.ts_event, previous)
        previous = (type(event).__name__, event.ts_event)


def _frozen_session(url: str, sid: str, tmp_path: Path, journal: Journal):  # type: ignore[no-untyped-def]
    proc = start_cli("paper", "--journal", url, "--session-id", sid, "--speed", SPEED, "--quiet", *STRATEGY,
                     cwd=tmp_path)
    wait_for(lambda: proc.poll() is not None or last_seq(journal, sid) > 60, timeout=120, interval=0.002)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGSTOP)
    return proc


def _while_frozen(proc, action):  # type: ignore[no-untyped-def]
    """Run ``action()`` while ``proc`` is frozen; when it was frozen mid-transaction (SQLite's write
    lock held: "database is locked"), let it run a moment and freeze it again."""
    for _ in range(200):
        try:
            return action()
        except JournalError as exc:
            if "locked" not in str(exc):
                raise
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.01)
        proc.send_signal(signal.SIGSTOP)
    raise AssertionError("the frozen process always held the journal's write lock")


def test_sigkill_with_commands_pending(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    journal = Journal(url, busy_timeout=0.2)
    proc = _frozen_session(url, "pending", tmp_path, journal)
    with reaped(proc):
        limit = _while_frozen(proc, lambda: journal.submit_command(
            "pending", "set_limit", {"name": "max_order_quantity", "value": 777.0}, expires_after=60))
        kill = _while_frozen(proc, lambda: journal.submit_command("pending", "kill", {"reason": "stale kill"},
                                                                  expires_after=1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert journal.command(limit).status == journal.command(kill).status == "pending"
    time.sleep(1.2)  # the kill expires; the set_limit does not
    done = run_cli("paper", "--journal", url, "--resume", "pending", "--quiet", cwd=tmp_path, timeout=180)
    assert done.returncode == 0, done.stderr
    assert journal.command(limit).status == "acknowledged"
    record = journal.command(kill)
    assert record.status == "rejected" and record.detail.startswith("expired")
    acks = [e.command_id for e in journal.events("pending", types=[ev.CommandAcknowledged])]
    assert acks.count(limit) == 1 and acks.count(kill) == 1
    changes = [e for e in journal.events("pending", types=[ev.RiskEvent]) if e.action == "set_limit"]
    assert [(c.rule, c.value) for c in changes] == [("max_order_quantity", 777.0)]
    assert not [e for e in journal.events("pending", types=[ev.TradingStateChanged]) if e.reason == "stale kill"]
    journal.verify("pending")
    _monotonic(journal, "pending")
    journal.close()


def test_a_session_whose_lock_is_taken_over_stops_itself(tmp_path: Path) -> None:
    """The frozen process's heartbeat is made a minute old (as after a long SIGSTOP); ``paper --resume``
    takes the stale lock over and runs; the old process, woken up meanwhile, stops itself."""
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    done = run_cli("paper", "--journal", url, "--session-id", "reference", "--speed", "max", "--quiet", *STRATEGY,
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    journal = Journal(url, busy_timeout=0.2)
    old = _frozen_session(url, "taken", tmp_path, journal)
    stale = time.time_ns() - 60 * 10**9

    def age_heartbeat() -> None:
        with journal.engine.begin() as conn:
            conn.execute(sa.update(t.sessions).where(t.sessions.c.session_id == "taken").values(ts_heartbeat=stale))

    with reaped(old):
        _while_frozen(old, age_heartbeat)
        new = start_cli("paper", "--journal", url, "--resume", "taken", "--quiet", cwd=tmp_path)
        with reaped(new):
            wait_for(lambda: new.poll() is not None or (journal.lock_holder("taken") or old).pid == new.pid,
                     timeout=120, interval=0.01)
            assert new.poll() is None, new.stderr.read()
            old.send_signal(signal.SIGCONT)  # wakes up with the lock gone
            _, err = old.communicate(timeout=60)
            _, new_err = new.communicate(timeout=180)
    assert old.returncode == 2, err
    assert "taken over" in err and "Traceback" not in err
    assert new.returncode == 0, new_err
    started = [e for e in journal.events("taken", types=[ev.SessionStarted])]
    assert [e.resumed for e in started] == [False, True]  # nothing from the old process after the takeover
    journal.verify("taken")
    pd.testing.assert_frame_equal(fills(journal, "taken"), fills(journal, "reference"))
    _monotonic(journal, "taken")
    _monotonic(journal, "reference")
    journal.close()
