"""Faults injected by the Alpaca emulator, through the real alpaca-py client (127.0.0.1 only).

Each is a known live failure (``/work/shared/protocols/pitfalls.md``); none may lose or duplicate
a fill. The check is independent of the adapter: the emulator's own book (every execution it made,
its positions and cash) must equal the session's journal and portfolio at the end.

* trade_updates dropped while an order fills: the fill update is lost with the socket (Alpaca does
  not replay them); the reconnect's reconciliation books it from the FILL activities, once
  (alpaca-py #740, LEAN IB #249).
* a silent data socket (open, answering pings, delivering nothing: alpaca-py #740) is detected
  after ``silence_timeout`` and reconnected; the stream resumes.
* duplicate and out-of-order trade updates: each execution id is booked once.
* 429 bursts: retried by alpaca-py (counted in the health journal); a burst longer than its retries
  rejects the order with Alpaca's status, code and message.
* a rejected order (403) is journaled as OrderRejected with the code and message.
* the emulator restarted mid-session: both streams come back, the books still agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alpaca_helpers import (
    alpaca_session_on,
    assert_books_equal,
    demo_bars,
    drop_trade_updates_once_an_order_rests,
    journal_fills,
    run_lockstep,
    run_to_end,
    start_emulator,
    until,
)

from workbench.model import events as ev

PARAMS = {"fast": 3, "slow": 8}


@pytest.fixture
def bars():
    return demo_bars(120)


def _events(session, kind):
    return [e for e in session.journal.events(session.session_id) if type(e) is kind]


async def test_fills_made_while_trade_updates_were_down_are_recovered_once(tmp_path: Path, bars) -> None:
    emulator = start_emulator(data=bars, manual=True)
    armed: list[int] = []
    try:
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS)
        await run_lockstep(session, emulator, before_step=drop_trade_updates_once_an_order_rests(emulator, armed))
        assert armed, "the strategy never had an order resting at the broker"
        assert ("drop_stream", {"stream": "trading", "after": 0, "left": 0}) in emulator.core.faults.fired
        corrections = _events(session, ev.ReconciliationCorrected)
        assert any(c.kind == "missing_fill" for c in corrections), corrections
        states = [e.state for e in _events(session, ev.ConnectionStatusChanged) if e.component == "alpaca broker"]
        assert "RECONNECTING" in states and states.count("CONNECTED") >= 2
        assert_books_equal(session, emulator)
    finally:
        emulator.stop_thread()


async def test_silent_data_socket_is_detected_and_the_stream_resumes(tmp_path: Path, bars) -> None:
    emulator = start_emulator(data=bars, speed=1200.0)
    try:
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS, alpaca={"silence_timeout": 0.4})
        session.start()
        await until(lambda: session.runner.position >= 10, 30, "data to flow")
        emulator.arm("silence", stream="data", seconds=60)
        await until(lambda: session.data_client.health.reconnects >= 1, 30, "the silent socket to be replaced")
        resumed_at = session.runner.position
        await until(lambda: session.runner.position > resumed_at + 5, 30, "data to flow again")
        session.stop()
        await session
        lost = [e for e in _events(session, ev.ConnectionStatusChanged) if e.state == "RECONNECTING"]
        assert lost and lost[0].component == "alpaca feed" and "silent for 0.4 s" in lost[0].detail
        assert session.data_client.health.silences == 1
        assert_books_equal(session, emulator)
    finally:
        emulator.stop_thread()


async def test_duplicate_and_out_of_order_trade_updates_book_each_execution_once(tmp_path: Path, bars) -> None:
    if not hasattr(ev, "DuplicateFillIgnored"):
        pytest.skip("needs the engine's fill idempotence by execution id (issue 9, branch core-engine)")
    emulator = start_emulator(data=bars, manual=True)
    try:
        emulator.arm("duplicate", count=None, stream="trading")
        emulator.arm("reorder", count=3, stream="trading")
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS)
        await run_lockstep(session, emulator)
        fills = journal_fills(session)
        assert len(fills) >= 6
        assert _events(session, ev.DuplicateFillIgnored)  # type: ignore[attr-defined]
        assert_books_equal(session, emulator)
    finally:
        emulator.stop_thread()


async def test_rate_limit_bursts_are_retried_counted_and_journaled(tmp_path: Path, bars) -> None:
    emulator = start_emulator(data=bars, manual=True)
    try:
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS)
        bursts: list[int] = []

        def before_step(n: int) -> None:
            if n == 20:
                emulator.arm("rate_limit", count=2)  # the next submit: two 429s, then through (3 retries)
                bursts.append(n)
            if n == 60:
                emulator.arm("rate_limit", count=4)  # longer than alpaca-py's 3 retries: rejected
        await run_lockstep(session, emulator, before_step=before_step)
        assert session.execution_client.health.rate_limit_hits == 6
        health = [e for e in _events(session, ev.ConnectionHealthReported) if e.component == "alpaca broker"]
        assert health[-1].rate_limit_hits == 6
        # the dashboard's health panel reads it from the journal
        from workbench.adapters.health import connection_health

        panel = connection_health(session.journal, session.session_id).set_index("component")
        assert panel.loc["alpaca broker", "rate_limit_hits"] == 6
        assert set(panel["state"]) == {"DISCONNECTED"} and panel.loc["alpaca feed", "messages"] >= 100
        rejected = _events(session, ev.OrderRejected)
        assert len(rejected) == 1 and rejected[0].reason.startswith("429 42910000")
        assert_books_equal(session, emulator)
    finally:
        emulator.stop_thread()


async def test_rejected_order_carries_alpaca_s_code_and_message(tmp_path: Path, bars) -> None:
    emulator = start_emulator(data=bars, manual=True)
    try:
        emulator.arm("reject_next_order", reason="insufficient buying power")
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS)
        await run_lockstep(session, emulator)
        rejected = _events(session, ev.OrderRejected)
        assert [r.reason for r in rejected] == ["403 40310000: insufficient buying power"]
        assert len(journal_fills(session)) >= 4  # it traded on afterwards
        assert_books_equal(session, emulator)
    finally:
        emulator.stop_thread()


async def test_emulator_restart_mid_session(tmp_path: Path, bars) -> None:
    emulator = start_emulator(data=bars, speed=1200.0)
    try:
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS)
        session.start()
        await until(lambda: len(journal_fills(session)) >= 2, 30, "the first fills")
        emulator.schedule_restart(0.5)
        await until(lambda: emulator.restarts == 1 and session.data_client.health.reconnects >= 1
                    and session.execution_client.health.reconnects >= 1, 30, "both streams to come back")
        await run_to_end(session, emulator)
        assert_books_equal(session, emulator)
        reports = [e for e in _events(session, ev.ConnectionStatusChanged) if e.state == "RECONNECTING"]
        assert {e.component for e in reports} == {"alpaca feed", "alpaca broker"}
    finally:
        emulator.stop_thread()
