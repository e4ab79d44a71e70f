"""A paper session running on its own event loop in a background thread, for tests that act on it
from the outside (through the journal) while it runs. Not a test module."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from live_helpers import wait_for

from workbench.session import paper_session

QUIET = {"fast": 5000, "slow": 6000}
"""SMA crossover parameters that never trade (the slow average never fills on the demo week)."""


class SessionThread:
    """Run ``paper_session(**kwargs)`` in a thread; ``stop()`` ends it cleanly and joins."""

    def __init__(self, journal: Path | str, **kwargs: Any) -> None:
        self.kwargs = {"params": QUIET, "speed": 30.0, "journal": journal, **kwargs}
        self.session: Any = None
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def run() -> None:
            self.loop = asyncio.get_running_loop()
            self.session = paper_session("sma_crossover", **self.kwargs)
            try:
                await self.session
            finally:
                self.session.journal.close()

        try:
            asyncio.run(run())  # a test may start a loop; the library never does
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> SessionThread:
        self.thread.start()
        wait_for(lambda: self.error is not None or (self.session is not None and self.session.runner.state == "running"
                                                    and self.session.runner.writer.committed > 0), timeout=60)
        assert self.error is None, self.error
        return self

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and self.session.runner.state == "running"

    def stop(self) -> None:
        if self.loop is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.session.stop)
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the session did not stop"

    def __exit__(self, *exc: object) -> None:
        self.stop()


def raw_command(url: str, session_id: str, name: Any, args: Any, *, status: str = "pending",
                ts_expires: int | None = None) -> int:
    """Insert a ``commands`` row directly (as foreign or hostile code could), bypassing every check."""
    import time

    import sqlalchemy as sa

    from workbench.persistence import schema as t

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            return int(conn.execute(sa.insert(t.commands).returning(t.commands.c.command_id), {
                "session_id": session_id, "name": name, "args": args, "source": "hostile",
                "ts_created": time.time_ns(), "status": status, "detail": "", "ts_expires": ts_expires,
            }).scalar_one())
    finally:
        engine.dispose()
