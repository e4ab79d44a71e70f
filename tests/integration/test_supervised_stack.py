"""The deployment without Docker: the compose file's processes started directly under the supervisor.

PostgreSQL journal (as in ``deploy/compose.yaml``), the engine (``workbench paper --session-id ID
--resume-existing``) and the API (``workbench serve``) run as child processes of
:class:`~workbench.operations.supervisor.Supervisor` with the compose file's restart policy
(on-failure). The test SIGKILLs the engine mid-session: the supervisor starts it again, the same
command resumes the session from the journal (a ``SessionStarted(resumed=True)`` is journaled, the
lock passes to the new pid, events continue after the old last seq with no gap: ``verify``), and
the API, which never stopped, reports the new engine. SIGTERM then stops everything cleanly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from live_helpers import last_seq, wait_for

from workbench.model import events as ev
from workbench.operations.supervisor import Supervisor, stack_services
from workbench.persistence import Journal
from workbench.widgets.serve import free_port

TOKEN = "stack-token-0123456789abcdef"
SID = "supervised"


@pytest.mark.slow
@pytest.mark.postgres
def test_killed_engine_is_restarted_and_resumes_its_session(pg_url: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(tmp_path / "logs"))
    port = free_port()
    args = argparse.Namespace(journal=pg_url, session_id=SID, config=None, strategy="sma_crossover",
                              param=["fast=3", "slow=8", "long_short=true"], speed="600", api_port=port,
                              token_file=None, no_dashboard=True, dashboard_port=None)
    lines: list[str] = []
    supervisor = Supervisor(stack_services(args), report=lines.append)
    journal = Journal(pg_url)
    supervisor.start()
    try:
        def owner() -> int | None:
            return journal.session(SID)["owner_pid"] if last_seq(journal, SID) else None

        wait_for(lambda: owner() == supervisor.pid("engine") and len(journal.fills(SID)) >= 2, timeout=90,
                 interval=0.05)
        first_pid = supervisor.pid("engine")
        os.kill(first_pid, signal.SIGKILL)
        killed_at = last_seq(journal, SID)

        wait_for(lambda: supervisor.starts("engine") == 2, timeout=30, interval=0.02)
        wait_for(lambda: any(e.resumed for e in journal.events(SID, types=[ev.SessionStarted])), timeout=90,
                 interval=0.05)
        wait_for(lambda: last_seq(journal, SID) > killed_at + 20, timeout=60, interval=0.05)
        assert journal.session(SID)["owner_pid"] == supervisor.pid("engine") != first_pid
        assert journal.verify(SID) == last_seq(journal, SID)
        assert supervisor.state["engine"].exits == [-signal.SIGKILL]
        assert supervisor.starts("api") == 1  # the API was not disturbed
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            wait_for(lambda: api.get("/healthz").status_code == 200, timeout=30, interval=0.1)
            health = api.get("/api/live/health", params={"session_id": SID}).json()
            assert health["status"] == "running" and health["owner_pid"] == supervisor.pid("engine")
            assert api.get("/readyz").status_code == 200
    finally:
        supervisor.stop()
    started = list(journal.events(SID, types=[ev.SessionStarted]))
    assert [e.resumed for e in started] == [False, True]
    stopped = list(journal.events(SID, types=[ev.SessionStopped]))
    assert len(stopped) == 1  # SIGKILL journals nothing; the final SIGTERM a clean stop
    assert any("restarting engine" in line for line in lines)
    logs = {p.name: p.read_text() for p in (tmp_path / "logs").iterdir()}
    assert set(logs) == {"engine.log", "api.log"} and all(TOKEN not in text for text in logs.values())
    records = [json.loads(line) for line in logs["engine.log"].splitlines()]
    assert records and all(r["session_id"] == SID for r in records if r["logger"].startswith("workbench.engine"))
    journal.close()
