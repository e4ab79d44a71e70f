"""Paper sessions through alpaca-py against the local Alpaca emulator (127.0.0.1), end to end.

* Parity across the wire: the same strategy on the same replayed minute bars, each bar published
  once the client has reacted to the previous one (data items far apart compared with a round
  trip, made deterministic), gives the same orders and fills (ids, sides, quantities, prices and
  times) through alpaca-py and the emulator as the in-process paper session: both match with the
  same ``SimulatedBroker``. A paced run (1,200x) is checked for what latency cannot change:
  every fill the broker made is in the journal once, and the end state equals the broker's.
* The session journals its connection states (ConnectionStatusChanged with CONNECTING/CONNECTED)
  and health (ConnectionHealthReported), and its end state equals the broker's (positions, cash).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alpaca_helpers import (
    alpaca_session_on,
    assert_books_equal,
    demo_bars,
    fill_rows,
    journal_fills,
    run_lockstep,
    run_to_end,
    start_emulator,
)

from workbench.model import events as ev
from workbench.session import paper_session

PARAMS = {"fast": 3, "slow": 8}


@pytest.fixture
def bars():
    return demo_bars(150)


async def test_orders_and_fills_match_the_in_process_paper_session(tmp_path: Path, bars) -> None:
    local = paper_session("sma_crossover", params=PARAMS, data=bars, speed=None, journal=tmp_path / "local.sqlite")
    await local
    expected = fill_rows(journal_fills(local))
    assert len(expected) >= 8, "the strategy must trade for the comparison to mean something"

    emulator = start_emulator(data=bars, manual=True)
    try:
        session = alpaca_session_on(emulator, tmp_path / "wire.sqlite", params=PARAMS)
        await run_lockstep(session, emulator)
        got = fill_rows(journal_fills(session))
        assert got == expected
        # orders: same ids, sides, quantities, in the same sequence
        def orders(s):
            return [(e.order_id, e.side.value, e.quantity) for e in s.journal.events(s.session_id)
                    if type(e) is ev.OrderInitialized]
        assert orders(session) == orders(local)
        # the broker's book equals the session's
        account = emulator.account
        assert session.summary()["positions"] == {s: q for s, (q, _) in account.broker.positions.items() if q}
        assert session.engine.portfolio.cash == pytest.approx(account.broker.cash)
        states = [(e.component, e.state) for e in session.journal.events(session.session_id)
                  if type(e) is ev.ConnectionStatusChanged]
        assert ("alpaca broker", "CONNECTED") in states and ("alpaca feed", "CONNECTED") in states
        assert states[-2:] and {s for _, s in states[-2:]} == {"DISCONNECTED"}
        health = [e for e in session.journal.events(session.session_id) if type(e) is ev.ConnectionHealthReported]
        assert health and max(h.messages for h in health if h.component == "alpaca feed") >= len(bars) - 1
    finally:
        emulator.stop_thread()


async def test_a_paced_session_books_every_broker_fill_once_and_ends_equal_to_the_broker(tmp_path: Path, bars) -> None:
    emulator = start_emulator(data=bars, speed=1200.0)
    try:
        session = alpaca_session_on(emulator, tmp_path / "paced.sqlite", params=PARAMS)
        await run_to_end(session, emulator)
        assert_books_equal(session, emulator)
    finally:
        emulator.stop_thread()
