"""The single-writer lock of a session, kept in its ``sessions`` row.

A holder is identified by a random ``owner_token`` (one per acquisition, so two Journal objects in
one process are told apart) plus ``owner_pid``, ``owner_host`` and ``ts_heartbeat`` for deciding
whether it is still alive. A lock is *stale*, and may be taken over, when its pid is dead on this
host (a zombie counts as dead) or its heartbeat is older than ``stale_after`` seconds. Takeover is
a compare-and-swap on the token, so two processes racing for a stale lock cannot both win.

The functions run inside the caller's write transaction (see :class:`Journal`).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from workbench.errors import JournalError, SessionLocked
from workbench.persistence import schema as t

__all__ = ["LockInfo", "acquire", "heartbeat", "holder", "pid_alive", "release"]

s = t.sessions.c


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds a session: ``token`` (unique per acquisition), ``owner`` label, ``pid``, ``host``,
    ``ts_heartbeat`` (ns since epoch UTC)."""

    session_id: str
    token: str
    owner: str
    pid: int
    host: str
    ts_heartbeat: int


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs on this host (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def acquire(
    conn: sa.Connection, session_id: str, owner: str, current_token: str | None, stale_after: float, where: str
) -> LockInfo:
    """Take the lock of ``session_id`` (re-entrant for ``current_token``, the caller's own token).

    Raises
    ------
    SessionLocked
        A live holder exists; the message names its pid, host, owner label and heartbeat age.
    JournalError
        Unknown session.
    """
    pid, host, now = os.getpid(), socket.gethostname(), time.time_ns()
    row = conn.execute(sa.select(t.sessions).where(s.session_id == session_id)).mappings().first()
    if row is None:
        raise JournalError(f"unknown session {session_id!r} in {where}")
    held = row["owner_token"]
    if held is not None and held != current_token:
        age = (now - (row["ts_heartbeat"] or 0)) / 1e9
        dead = row["owner_host"] == host and not pid_alive(row["owner_pid"])
        if not dead and age <= stale_after:
            raise SessionLocked(
                f"session {session_id!r} is already running in process {row['owner_pid']} on host "
                f"{row['owner_host']!r} (owner {row['owner_name']!r}, last heartbeat {age:.1f} s ago); "
                f"stop that process first, or wait until its heartbeat is older than {stale_after:g} s"
            )
    token = uuid.uuid4().hex
    updated = conn.execute(
        sa.update(t.sessions)
        .where(s.session_id == session_id, s.owner_token.is_(None) if held is None else s.owner_token == held)
        .values(owner_token=token, owner_name=owner, owner_pid=pid, owner_host=host, ts_heartbeat=now)
    )
    if updated.rowcount != 1:
        raise SessionLocked(f"session {session_id!r} was taken by another process at the same moment")
    return LockInfo(session_id, token, owner, pid, host, now)


def heartbeat(conn: sa.Connection, session_id: str, token: str) -> bool:
    """Refresh the heartbeat; False if ``token`` no longer holds the lock (taken over)."""
    result = conn.execute(
        sa.update(t.sessions)
        .where(s.session_id == session_id, s.owner_token == token)
        .values(ts_heartbeat=time.time_ns())
    )
    return result.rowcount == 1


def release(conn: sa.Connection, session_id: str, token: str) -> None:
    """Clear the lock if ``token`` holds it."""
    conn.execute(
        sa.update(t.sessions)
        .where(s.session_id == session_id, s.owner_token == token)
        .values(owner_token=None, owner_name=None, owner_pid=None, owner_host=None, ts_heartbeat=None)
    )


def holder(row: Mapping[str, Any]) -> LockInfo | None:
    """The lock described by a ``sessions`` row, or None if free."""
    if row["owner_token"] is None:
        return None
    return LockInfo(
        row["session_id"], row["owner_token"], row["owner_name"] or "", row["owner_pid"], row["owner_host"],
        row["ts_heartbeat"],
    )
