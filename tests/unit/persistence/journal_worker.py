"""A second process for the journal tests: ``python journal_worker.py MODE URL SESSION [N]``.

Modes
-----
hold    acquire the session lock, print ``LOCKED <pid>``, keep it until stdin closes, release.
engine  acquire the session, poll pending commands every 10 ms (as an engine would): journal a
        CommandReceived, then acknowledge known control commands or reject the others with a
        reason; append an OrderSubmitted per command as traffic; exit after acknowledging ``stop``.
writer  append N events one by one (concurrent writer).
"""

from __future__ import annotations

import sys
import time

from workbench.errors import SessionLocked
from workbench.model import events as ev
from workbench.persistence import Journal


def hold(journal: Journal, session_id: str) -> None:
    try:
        journal.acquire_session(session_id, "test holder")
    except SessionLocked as exc:
        print(f"LOCKED-OUT {exc}", flush=True)
        return
    print(f"LOCKED {journal.lock_holder(session_id).pid}", flush=True)
    sys.stdin.read()
    journal.release_session(session_id)


def engine(journal: Journal, session_id: str) -> None:
    journal.acquire_session(session_id, "test engine")
    print("READY", flush=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for command in journal.pending_commands(session_id):
            journal.append(session_id, ev.CommandReceived(ts_event=time.time_ns(), command_id=command.command_id,
                                                          name=command.name, args=command.args, source=command.source))
            if command.name in ("pause", "resume", "stop"):
                journal.acknowledge_command(command.command_id, True, f"{command.name} done")
            else:
                journal.reject_command(command.command_id, f"{command.name} not supported by this engine")
            journal.append(session_id, ev.OrderSubmitted(ts_event=time.time_ns(), order_id=f"c{command.command_id}",
                                                         symbol="SPY"))
            if command.name == "stop":
                journal.release_session(session_id)
                return
        journal.heartbeat(session_id)
        time.sleep(0.01)
    raise SystemExit("engine worker timed out")


def writer(journal: Journal, session_id: str, count: int) -> None:
    for i in range(count):
        journal.append(session_id, ev.OrderSubmitted(ts_event=i, order_id=f"w{i}", symbol="SPY"))
    print("WROTE", count, flush=True)


if __name__ == "__main__":
    mode, url, session = sys.argv[1:4]
    with Journal(url) as opened:
        if mode == "hold":
            hold(opened, session)
        elif mode == "engine":
            engine(opened, session)
        elif mode == "writer":
            writer(opened, session, int(sys.argv[4]))
        else:
            raise SystemExit(f"unknown mode {mode!r}")
