"""durable_submit: the journal is committed before an order leaves for the broker, and the checkpoint
counts the item being processed, so a restart cannot send the same decision twice."""

from __future__ import annotations

from workbench.model import events as ev
from workbench.session import paper_session


async def test_commit_before_submit_counts_the_item_in_flight(tmp_path) -> None:
    session = paper_session("sma_crossover", params={"fast": 3, "slow": 8}, speed=None,
                            journal=tmp_path / "j.sqlite", durable_submit=True, snapshot_interval=0)
    journal, sid, runner = session.journal, session.session_id, session.runner
    seen: list[tuple[int, int, bool]] = []
    durable = session.engine.broker.submit_order  # the durable wrapper around the simulated broker

    def spy(order):  # runs before the durable wrapper: the commit has not happened yet
        durable(order)  # commits, then sends
        state = journal.load_state(sid)
        journaled = {e.order_id for e in journal.events(sid, types=[ev.OrderSubmitted])}
        seen.append((state["position"], runner.position, order.order_id in journaled))

    session.engine.broker.submit_order = spy
    await session
    assert len(seen) >= 5
    for saved, processed, journaled in seen:
        assert journaled, "the order was journaled before it reached the broker"
        assert saved == processed + 1, "the checkpoint counts the item whose decision is being sent"
