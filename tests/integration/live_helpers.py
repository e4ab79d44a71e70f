"""Helpers for the paper-trading integration tests: run the CLI as a subprocess, read a journal.

Not a test module. Imported by ``tests/integration/test_*.py`` (pytest puts this directory on
``sys.path``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import JournalError
from workbench.model import events as ev
from workbench.persistence import Journal

FILL_KEY = ["order_id", "fill_id", "symbol", "side", "quantity", "price", "commission", "ts_event"]
"""Columns that identify a fill exactly (compared between runs)."""


def workbench_args(*args: str) -> list[str]:
    """argv running the ``workbench`` CLI of this interpreter."""
    return [sys.executable, "-m", "workbench.cli", *args]


def start_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``workbench ARGS`` in the background (stdout/stderr captured as text)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(workbench_args(*args), cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run_cli(*args: str, cwd: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``workbench ARGS`` to the end."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(workbench_args(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@contextlib.contextmanager
def reaped(*processes: subprocess.Popen[Any] | None) -> Iterator[None]:
    """Kill (SIGKILL) and wait for every process still running when the block exits."""
    try:
        yield
    finally:
        for process in processes:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def end_process_group(process: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group of ``process`` (started with ``start_new_session=True``), SIGKILL if it lingers."""
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.005) -> Any:
    """Poll ``predicate`` until it returns something truthy; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {predicate}"
        time.sleep(interval)


def last_seq(journal: Journal, session_id: str) -> int:
    """The session's last seq, 0 while the session does not exist yet."""
    try:
        return journal.last_seq(session_id)
    except JournalError:
        return 0


def fills(journal: Journal, session_id: str) -> pd.DataFrame:
    """The session's fills from its journaled OrderFilled events, in journal order (FILL_KEY columns)."""
    rows = [(e.order_id, e.fill_id, e.symbol, str(e.side), e.last_quantity, e.last_price, e.commission, e.ts_event)
            for e in journal.events(session_id, types=[ev.OrderFilled])]
    return pd.DataFrame(rows, columns=FILL_KEY)


def final_account(journal: Journal, session_id: str) -> ev.AccountState:
    """The last journaled AccountState of the session."""
    states = list(journal.events(session_id, types=[ev.AccountState]))
    assert states, f"session {session_id} journaled no AccountState"
    return states[-1]


def event_types(journal: Journal, session_id: str) -> list[str]:
    return [type(e).__name__ for e in journal.events(session_id)]
