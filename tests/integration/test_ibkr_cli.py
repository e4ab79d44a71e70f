"""``workbench paper --broker ibkr`` / ``live --broker ibkr`` / ``emulate tws`` as processes.

* A paper session on IB (the TWS emulator, in this process, replaying the shipped SPY data) is
  killed with SIGKILL while it trades and restarted with ``--resume``: the journal then holds every
  IB execution exactly once (fill ids = IB's execution ids) and ends in the broker's state
  (position and cash), with any difference found at the reconnect journaled as a correction.
* ``live --broker ibkr`` without ``--confirm-live`` is refused (exit code 2, nothing connects).
* ``emulate tws --port 0`` prints its port and serves a real ib_async client.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import pytest
from live_helpers import run_cli, start_cli
from tws_helpers import wait_for

pytest.importorskip("ib_async")

from workbench.emulators.core import EmulatorCore
from workbench.emulators.tws import TwsEmulator, TwsVenue
from workbench.model import events as ev
from workbench.persistence import Journal


def _events(journal_path: Path, session_id: str, kind: type) -> list:
    try:
        journal = Journal(f"sqlite:///{journal_path}")
        try:
            return list(journal.events(session_id, types=[kind]))
        finally:
            journal.close()
    except Exception:  # the session does not exist yet
        return []


async def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT, timeout: float = 30.0) -> str:
    proc.send_signal(sig)
    await wait_for(lambda: proc.poll() is not None, timeout=timeout, what="process end")
    return proc.stdout.read() + proc.stderr.read() if proc.stdout and proc.stderr else ""


@pytest.mark.slow
async def test_sigkill_then_resume_ends_in_the_brokers_state(tmp_path: Path) -> None:
    venue = TwsVenue(EmulatorCore("demo", speed=3000.0))
    emulator = TwsEmulator(venue, run_market=True)
    port = await emulator.start()
    journal = tmp_path / "j.sqlite"
    common = ("--broker", "ibkr", "--ibkr-port", str(port), "--journal", str(journal), "--quiet")
    try:
        first = start_cli("paper", *common, "--session-id", "IB1", "--ibkr-client-id", "5", "-p", "fast=3",
                          "-p", "slow=8", cwd=tmp_path)

        def order_in_flight() -> bool:  # an order left (durable submit) and its fill is not journaled yet
            submitted = _events(journal, "IB1", ev.OrderSubmitted)
            filled = {e.order_id for e in _events(journal, "IB1", ev.OrderFilled)}
            return len(filled) >= 2 and any(e.order_id not in filled for e in submitted)

        await wait_for(lambda: order_in_flight() or first.poll() is not None, timeout=90, what="an order in flight")
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        first.send_signal(signal.SIGKILL)
        await wait_for(lambda: first.poll() is not None, what="killed")
        executed_while_down = len(venue.executions)
        second = start_cli("paper", *common, "--resume", "IB1", "--ibkr-client-id", "5", cwd=tmp_path)
        await wait_for(lambda: any(e.resumed for e in _events(journal, "IB1", ev.SessionStarted)) or
                       second.poll() is not None, timeout=60, what="resumed")
        await wait_for(lambda: len(venue.executions) >= executed_while_down + 2 or second.poll() is not None,
                       timeout=60, what="trading after the resume")
        # end the market, so no order is still working when the session stops, then let the last
        # executions reach the journal (an execution after the stop is booked by the next resume)
        await emulator.stop_market()
        executions = len(venue.executions)
        await wait_for(lambda: len(_events(journal, "IB1", ev.OrderFilled)) >= executions or second.poll() is not None,
                       timeout=30, what="every execution journaled")
        output = await _stop(second)
        assert second.returncode == 0, output
        journal_fills = [e.fill_id for e in _events(journal, "IB1", ev.OrderFilled)]
        assert len(journal_fills) == len(set(journal_fills)), "a fill was booked twice"
        assert sorted(journal_fills) == sorted(x.exec_id.rsplit(".", 1)[0] for x in venue.executions)
        positions = _events(journal, "IB1", ev.PositionChanged) + _events(journal, "IB1", ev.PositionOpened) + \
            _events(journal, "IB1", ev.PositionClosed)
        last = max(positions, key=lambda e: e.ts_event) if positions else None
        broker_qty = venue.positions().get("SPY", (0.0, 0.0))[0]
        assert (last.quantity if last else 0.0) == pytest.approx(broker_qty)
        corrections = _events(journal, "IB1", ev.ReconciliationCorrected)
        print(f"executions while down: {executed_while_down}; corrections: {[c.kind for c in corrections]}")
        account = _events(journal, "IB1", ev.AccountState)[-1]
        assert account.cash == pytest.approx(venue.account.broker.cash, abs=0.01)
    finally:
        await emulator.stop()


def test_live_without_opt_in_is_refused(tmp_path: Path) -> None:
    env_opt_in = os.environ.pop("WORKBENCH_CONFIRM_LIVE", None)
    try:
        done = run_cli("live", "--broker", "ibkr", "--ibkr-port", "1", "--journal", str(tmp_path / "j.sqlite"),
                       cwd=tmp_path, timeout=60)
    finally:
        if env_opt_in is not None:
            os.environ["WORKBENCH_CONFIRM_LIVE"] = env_opt_in
    assert done.returncode == 2
    assert "explicit opt-in" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "j.sqlite").exists()


@pytest.mark.slow
async def test_emulate_tws_serves_ib_async(tmp_path: Path) -> None:
    import ib_async

    proc = start_cli("emulate", "tws", "--port", "0", "--speed", "max", cwd=tmp_path)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        assert "TWS emulator on 127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        ib = ib_async.IB()
        await ib.connectAsync("127.0.0.1", port, clientId=1, timeout=10)
        try:
            contract = ib_async.Stock("SPY", "SMART", "USD")
            await ib.qualifyContractsAsync(contract)
            ticker = ib.reqMktData(contract)
            await wait_for(lambda: ticker.bid == ticker.bid and ticker.bid > 0, timeout=30, what="a replayed quote")
        finally:
            ib.disconnect()
    finally:
        await _stop(proc)
    bad = run_cli("emulate", "tws", "--fault", "nope", cwd=tmp_path, timeout=60)
    assert bad.returncode == 2 and "unknown fault" in bad.stderr
