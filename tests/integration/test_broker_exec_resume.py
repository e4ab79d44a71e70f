"""An Alpaca session killed while a TWAP parent is working, then resumed: the algorithm continues.

Same contract as the paper path (``test_exec_resume.py``): the journal holds the parent's life; on
resume it is re-created with its children and fills and works the rest. For a broker session the
children's fills made while the process was dead are known only once the broker's reports at
connect are reconciled, so the parent resumes after that (``resume_after_reconciliation``). The
broker (the emulator, through alpaca-py) is the independent source: at the end it holds exactly the
parent's 300 shares, every child was sent once (Alpaca rejects a reused ``client_order_id``, and
the emulator counts the orders it got), and the journal's fills equal the broker's executions.
Before the resume hook, the resumed session never sent the rest: the broker held 150 shares.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from alpaca_helpers import FAST_RECONNECT, alpaca_session_on, demo_bars, quiet, start_emulator, until

from workbench.engine.strategy import Strategy
from workbench.model import events as ev


class Accumulate(Strategy):
    """Buys 300 SPY by TWAP from the first bar: 6 children of 50, one every 5 data minutes (within the
    default risk profile's position limit: 100% of equity)."""

    def on_start(self) -> None:
        self.algo: Any = None

    def on_bar(self, bar: Any) -> None:
        if self.algo is None:
            self.algo = self.execute(bar.symbol, 300, "twap", horizon_seconds=1800, interval_seconds=300) or "resumed"


async def _step_until(session: Any, emulator: Any, published: int, done: Any, limit: int) -> int:
    """Publish one bar at a time, each once the client caught up, until ``done()`` or ``limit`` bars."""
    while not done() and published < limit:
        if emulator.call(emulator.core.step) != 1:
            break
        published += 1
        await until(lambda n=published: quiet(session, emulator, n), 30, f"the client to catch up with bar {published}")
    return published


async def test_a_killed_alpaca_session_resumes_its_twap(tmp_path: Path) -> None:
    from workbench.adapters.alpaca.session import resume_alpaca_session

    emulator = start_emulator(data=demo_bars(60), manual=True)
    journal = tmp_path / "j.sqlite"
    try:
        session = alpaca_session_on(emulator, journal, strategy=Accumulate())
        session.start()
        await until(lambda: bool(emulator.data_connections and emulator.data_connections[0].subscriptions["bars"]),
                    30, "the feed to subscribe")

        def children() -> list[ev.ParentOrderChildSent]:
            return [e for e in session.journal.events(session.session_id) if type(e) is ev.ParentOrderChildSent]

        published = await _step_until(session, emulator, 0, lambda: len(children()) >= 3, 40)
        sent_before = [e.order_id for e in children()]
        assert 3 <= len(sent_before) < 6, "killed mid-algorithm"
        session.runner._task.cancel()  # the process dies here: nothing after the last commit is kept
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await session.runner._task
        session.journal.close()
        for _ in range(3):  # the market moves on while no process listens (the last child fills then)
            emulator.call(emulator.core.step)
            published += 1

        resumed = resume_alpaca_session(session.session_id, journal=journal, emulator=emulator,
                                        strategy=Accumulate(), alpaca=FAST_RECONNECT, snapshot_interval=0.5)
        resumed.start()
        await until(lambda: bool(emulator.data_connections and emulator.data_connections[-1].subscriptions["bars"]),
                    30, "the resumed feed to subscribe")
        await until(lambda: quiet(resumed, emulator, 0), 30, "the reconciliation at connect")

        def completed() -> list[ev.ParentOrderCompleted]:
            return [e for e in resumed.journal.events(session.session_id) if type(e) is ev.ParentOrderCompleted]

        await _step_until(resumed, emulator, 0, lambda: bool(completed()), 60)
        resumed.stop()
        await resumed

        events = list(resumed.journal.events(session.session_id))
        [done] = [e for e in events if type(e) is ev.ParentOrderCompleted]
        assert done.filled_quantity == 300
        assert sum(type(e) is ev.ParentOrderStarted for e in events) == 1  # the same parent, continued
        sent = [e.order_id for e in events if type(e) is ev.ParentOrderChildSent]
        assert sent[: len(sent_before)] == sent_before and len(set(sent)) == len(sent)  # no child sent twice
        account = emulator.account
        broker_orders = emulator.call(lambda: [o.client_order_id for o in account.orders.values()])
        assert len(broker_orders) == len(set(broker_orders)) == len(sent)  # the broker got each child once
        assert emulator.call(lambda: account.broker.positions["SPY"][0]) == 300
        fills = [e for e in events if type(e) is ev.OrderFilled]
        assert sum(f.last_quantity for f in fills) == 300 and len({f.fill_id for f in fills}) == len(fills)
        resumed.journal.close()
    finally:
        emulator.stop_thread()
