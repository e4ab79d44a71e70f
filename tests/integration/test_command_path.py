"""Controls across two processes: a ``workbench paper`` subprocess runs the session; this process
writes commands to the journal (``Journal.submit_command`` and ``workbench ctl``) and reads the
acknowledgements the engine journals.

Checks: pause, resume, flatten, kill and stop are each acknowledged in the ``commands`` table and
by a CommandAcknowledged event with the command's id, within a second of submission (the engine
polls every 0.1 s); after flatten and after kill there is no open position and no open order;
kill halts trading; an unknown command is refused with a clear error before it reaches the
journal, and a well-formed command the session cannot carry out is journaled as rejected with a
reason.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from live_helpers import last_seq, run_cli, start_cli, wait_for

from workbench.errors import CommandError
from workbench.model import events as ev
from workbench.persistence import Journal

ACK_WITHIN = 1.0  # seconds from submission to the journaled acknowledgement
OPEN = ["SUBMITTED", "ACCEPTED", "TRIGGERED", "PARTIALLY_FILLED", "PENDING_CANCEL", "PENDING_REPLACE"]


def _ack(journal: Journal, command_id: int, timeout: float = 10.0) -> tuple[float, object]:
    t0 = time.monotonic()
    record = wait_for(lambda: (r := journal.command(command_id)).status != "pending" and r, timeout=timeout,
                      interval=0.002)
    return time.monotonic() - t0, record


def _flat(journal: Journal, sid: str) -> bool:
    return journal.positions(sid, open_only=True).empty and journal.orders(sid, status=OPEN).empty


@pytest.mark.slow
def test_commands_from_another_process_are_acknowledged_in_the_journal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    sid = "controlled"
    # 5 trading days at 3,000x: ~40 s if left alone; the test stops it much earlier
    proc = start_cli("paper", "--journal", url, "--session-id", sid, "--speed", "3000", "--quiet",
                     "--param", "fast=3", "--param", "slow=8", "--param", "long_short=true", cwd=tmp_path)
    journal = Journal(url)
    latencies = {}
    try:
        def holding() -> bool:
            if proc.poll() is not None:
                return True
            return last_seq(journal, sid) > 0 and not journal.positions(sid, open_only=True).empty

        wait_for(holding, timeout=60, interval=0.02)
        assert proc.poll() is None, proc.stderr.read()

        # pause through the journal API
        latencies["pause"], record = _ack(journal, journal.submit_command(sid, "pause", source="test"))
        assert (record.status, record.detail) == ("acknowledged", "paused")

        # flatten while paused (long/short: a position is always held; an order in flight fills first, as
        # matching goes on while paused); the closing order fills on the next quote
        wait_for(lambda: journal.orders(sid, status=OPEN).empty, timeout=10)
        assert not journal.positions(sid, open_only=True).empty
        latencies["flatten"], record = _ack(journal, journal.submit_command(sid, "flatten", source="test"))
        assert record.status == "acknowledged" and record.detail.startswith("flatten: 1 closing")
        wait_for(lambda: _flat(journal, sid), timeout=10)

        # resume through the CLI (it waits for the acknowledgement and prints it)
        done = run_cli("ctl", sid, "resume", "--journal", url, cwd=tmp_path, timeout=30)
        assert done.returncode == 0, done.stderr
        assert "acknowledged: resumed" in done.stdout

        # a well-formed command the session cannot carry out (no such risk rule): journaled rejection with a reason
        latencies["set_limit"], record = _ack(journal, journal.submit_command(
            sid, "set_limit", {"name": "max_sector_exposure", "value": 5.0}))
        assert record.status == "rejected" and "no configured rule 'max_sector_exposure'" in record.detail

        # kill switch: halted, orders canceled, positions closed
        latencies["kill"], record = _ack(journal, journal.submit_command(sid, "kill", {"reason": "test kill"}))
        assert record.status == "acknowledged" and record.detail.startswith("kill switch")
        wait_for(lambda: _flat(journal, sid), timeout=10)
        states = list(journal.events(sid, types=[ev.TradingStateChanged]))
        assert states and states[-1].state.value == "HALTED" and states[-1].reason == "test kill"

        # an unknown command never reaches the journal: clear error from the API and from the CLI
        with pytest.raises(CommandError, match="unknown command 'explode'"):
            journal.submit_command(sid, "explode")
        done = run_cli("ctl", sid, "explode", "--journal", url, cwd=tmp_path, timeout=30)
        assert done.returncode != 0 and "unknown command 'explode'" in done.stderr

        latencies["stop"], record = _ack(journal, journal.submit_command(sid, "stop"))
        assert record.status == "acknowledged"
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print("acknowledgement latencies (s):", latencies)
    assert all(v < ACK_WITHIN for v in latencies.values()), latencies
    events = list(journal.records(sid))
    acks = {e.command_id: (seq, e) for seq, e in events if type(e) is ev.CommandAcknowledged}
    commands = journal.commands(sid)
    assert list(commands["name"]) == ["pause", "flatten", "resume", "set_limit", "kill", "stop"]
    for row in commands.itertuples():
        seq, event = acks[row.command_id]
        assert event.name == row.name and row.ack_seq == seq
        assert event.ok == (row.status == "acknowledged")
    received = [e.name for e in journal.events(sid, types=[ev.CommandReceived])]
    assert received == ["pause", "flatten", "resume", "set_limit", "kill", "stop"]
    assert [e.reason for _, e in events if type(e) is ev.SessionStopped] == ["stopped"]
    assert _flat(journal, sid)
    journal.close()

