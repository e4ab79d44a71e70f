"""The journal's WAL checkpoints run off the writer's path (SQLite WAL documentation:
https://www.sqlite.org/wal.html#ckpt: "a checkpoint ... runs automatically ... when the WAL reaches
1000 pages" inside the committing connection; ``PRAGMA wal_checkpoint(PASSIVE)`` "does as much work
as possible without interfering with other database connections")."""

from __future__ import annotations

import asyncio
import sqlite3

from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.persistence.database import WAL_AUTOCHECKPOINT_PAGES


def _wal_frames(path) -> int:
    """Frames in the WAL file: (size - 32-byte header) / (24-byte frame header + page size)."""
    wal = path.with_name(path.name + "-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        return 0
    page = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    return (wal.stat().st_size - 32) // (24 + page)


def test_connections_raise_the_autocheckpoint_threshold_and_keep_wal_and_durability(tmp_path):
    journal = Journal(tmp_path / "j.sqlite", synchronous="FULL")
    with journal.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_AUTOCHECKPOINT_PAGES > 1000
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL (https://www.sqlite.org/pragma.html)
    journal.close()


def test_passive_checkpoint_copies_the_log_and_state_is_replaced(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = Journal(path, synchronous="NORMAL")
    sid = journal.create_session(mode="paper")
    journal.acquire_session(sid)
    for i in range(50):
        journal.append_many(sid, [ev.ConnectionStatusChanged(ts_event=i, component="feed", connected=True)],
                            state={"position": i})
    # without the background checkpoint nothing has been copied yet (threshold far away): the WAL holds
    # every commit's pages
    assert _wal_frames(path) > 50
    busy, frames, done = journal.checkpoint_wal()
    assert busy == 0 and frames == done > 50
    assert journal.load_state(sid)["position"] == 49  # one row, replaced in place by each commit
    assert journal.last_seq(sid) == 50
    assert Journal("sqlite://").checkpoint_wal() is None
    journal.close()


def test_a_session_checkpoints_in_the_background(tmp_path):
    """A LiveRunner with a journal calls ``checkpoint_wal`` on a worker thread every interval."""
    from workbench.session import paper_session

    calls = []

    async def main() -> None:
        session = paper_session("sma_crossover", data="demo", speed=None, journal=tmp_path / "p.sqlite")
        journal = session.runner.journal
        original = journal.checkpoint_wal

        def counted():
            import threading

            calls.append(threading.current_thread() is threading.main_thread())
            return original()

        journal.checkpoint_wal = counted
        session.runner.wal_checkpoint_interval = 0.01
        session.start()
        deadline = asyncio.get_running_loop().time() + 60
        while not calls and asyncio.get_running_loop().time() < deadline and not session.runner.done:
            await asyncio.sleep(0.01)
        session.stop()
        await session

    asyncio.run(main())
    assert calls and not any(calls)  # called, never on the loop's (main) thread
