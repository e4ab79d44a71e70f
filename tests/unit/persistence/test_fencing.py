"""Fencing (issue 10, item 6): a writer whose session lock was taken over writes nothing more.

The lock is advisory (a row in ``sessions``); a process paused past its heartbeat (SIGSTOP) loses
it to another. Every write of the Journal object holding the lock carries its token (the seq
counter is bumped only while ``owner_token`` still equals it), so the old writer's next write
fails with SessionLocked instead of being stopped only by a UNIQUE constraint, and so do all
later ones (no write slips through unfenced after the token is gone).
"""

from __future__ import annotations

import pytest

from workbench.errors import SessionLocked
from workbench.model import events as ev
from workbench.persistence import Journal


def _event(n: int) -> ev.Event:
    return ev.OrderSubmitted(ts_event=n, order_id=f"O-{n}", symbol="SPY")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_writer_that_lost_its_lock_writes_nothing(backend: str, request: pytest.FixtureRequest, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'j.sqlite'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    with Journal(url) as old, Journal(url) as new:
        sid = old.create_session("s", mode="paper")
        old.acquire_session(sid, "old engine")
        old.append_many(sid, [_event(1), _event(2)], state={"position": 2})
        new.acquire_session(sid, "new engine", stale_after=0)  # the old one's heartbeat is "stale"
        for attempt in range(2):  # the first failure, and every write after it
            with pytest.raises(SessionLocked, match="lost its lock"):
                old.append_many(sid, [_event(10 + attempt)], state={"position": 99})
        with pytest.raises(SessionLocked):
            old.append_many(sid, [], state={"position": 99})  # a checkpoint alone is fenced too
        with pytest.raises(SessionLocked):
            old.heartbeat(sid)
        assert new.last_seq(sid) == 2 and new.load_state(sid)["position"] == 2
        new.append(sid, _event(3))
        assert [e.ts_event for e in new.events(sid)] == [1, 2, 3]
        assert new.verify(sid) == 3
        old.acquire_session(sid, "old engine again", stale_after=0)  # taking it back is explicit
        old.append(sid, _event(4))
        assert new.last_seq(sid) == 4
