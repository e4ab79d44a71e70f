"""SIGKILL of a ``workbench paper --broker alpaca`` process mid-session, then ``--resume``.

The Alpaca emulator runs in the test process (it stands for Alpaca: it keeps the account and the
market moving while the workbench process is dead). The session trades through alpaca-py; it is
killed with SIGKILL right after it has sent orders, so fills happen while no process listens (and
trade updates are lost, as on Alpaca). ``--resume`` rebuilds from the journal, warms the strategy
up on Alpaca's historical bars, reconciles on connect, and trades on to the end of the replay.
The end state must equal the broker's: every execution the emulator made is in the journal
exactly once (by execution id), positions and cash agree, and the fills booked while dead are
journaled as corrections.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alpaca_helpers import demo_bars, start_emulator

from workbench.model import events as ev
from workbench.persistence import Journal

pytestmark = pytest.mark.slow


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "workbench.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _journaled_all(emulator, journal: Path, sid: str) -> bool:
    """Every fill the emulator made is journaled (by execution id)."""
    from workbench.emulators.alpaca.wire import execution_id

    account = emulator.account
    broker = emulator.call(lambda: {execution_id(account, u.fill_id) for u in account.updates if u.fill_id})
    return broker <= {f.fill_id for f in _events(journal, sid, ev.OrderFilled)}


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGINT (the session stops cleanly), and a second request (SIGTERM) if a loaded machine has not
    answered the first in 60 s; generous deadlines, no timing assumption."""
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        return process.communicate(timeout=120)


def filled_while_dead(emulator, journaled: int) -> bool:
    return emulator.call(lambda: sum(1 for u in emulator.account.updates if u.fill_id)) > journaled


def _events(path: Path, sid: str, kind: type) -> list:
    jr = Journal(f"sqlite:///{path}")
    try:
        return list(jr.events(sid, types=[kind]))
    except Exception:
        return []
    finally:
        jr.close()


def test_sigkill_mid_session_then_resume_ends_equal_to_the_broker(tmp_path: Path) -> None:
    emulator = start_emulator(data=demo_bars(240), speed=1200.0)
    journal = tmp_path / "j.sqlite"
    sid = "alpaca-crash-1"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "APCA_API_KEY_ID": emulator.key,
           "APCA_API_SECRET_KEY": emulator.secret, "ALPACA_TRADING_URL": emulator.rest_url,
           "ALPACA_DATA_URL": emulator.rest_url, "ALPACA_DATA_STREAM_URL": emulator.data_url,
           "ALPACA_TRADING_STREAM_URL": emulator.trading_url, "ALPACA_RECONNECT_INITIAL": "0.05"}
    first = resumed = None
    dead_fill = False
    try:
        first = _cli(["paper", "--broker", "alpaca", "--journal", str(journal), "--session-id", sid, "--quiet",
                      "-p", "fast=3", "-p", "slow=8"], env, tmp_path)
        _wait(lambda: len(_events(journal, sid, ev.OrderSubmitted)) >= 3 or first.poll() is not None, 300,
              "the first orders")
        assert first.poll() is None, first.communicate()[1][-2000:]
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        before = emulator.call(lambda: len(emulator.account.updates))
        journaled = len(_events(journal, sid, ev.OrderFilled))
        # the market moves on: the order sent just before the kill fills while no one listens
        # (the kill may land between the journal commit and the REST call: then that order never left)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not filled_while_dead(emulator, journaled):
            time.sleep(0.05)
        dead_fill = filled_while_dead(emulator, journaled)
        resumed = _cli(["paper", "--broker", "alpaca", "--journal", str(journal), "--resume", sid, "--quiet"],
                       env, tmp_path)
        _wait(lambda: emulator.core.market.done, 300, "the replay to end")
        # the last fills reach the journal (polled: no fixed sleep, so a loaded machine only takes longer)
        _wait(lambda: _journaled_all(emulator, journal, sid) or resumed.poll() is not None, 120,
              "the broker's fills in the journal")
        _out, err = _stop(resumed)
        assert resumed.returncode == 0, err[-2000:]
    finally:
        for p in (first, resumed):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        emulator.stop_thread()
    assert before > 0
    from workbench.emulators.alpaca.wire import execution_id

    account = emulator.account
    broker_fills = {execution_id(account, u.fill_id): (u.quantity, u.price) for u in account.updates if u.fill_id}
    fills = _events(journal, sid, ev.OrderFilled)
    ids = [f.fill_id for f in fills]
    assert len(ids) == len(set(ids)), "a fill was booked twice"
    assert set(ids) == set(broker_fills), "a broker fill is missing from the journal (or foreign to it)"
    corrections = _events(journal, sid, ev.ReconciliationCorrected)
    if dead_fill:
        assert any(c.kind == "missing_fill" for c in corrections), corrections
    started = _events(journal, sid, ev.SessionStarted)
    assert [s.resumed for s in started] == [False, True]
    # the journal rebuilds to the broker's book
    from workbench.adapters.alpaca.session import alpaca_session  # noqa: F401  (the session under test)
    from workbench.engine.backtest import build_engine
    from workbench.engine.reconcile import rebuild
    from workbench.session import make_strategy

    engine = build_engine(make_strategy("sma_crossover", {"fast": 3, "slow": 8}), keep_events=False)
    jr = Journal(f"sqlite:///{journal}")
    try:
        rebuild(engine, jr.events(sid))
    finally:
        jr.close()
    positions = {s: q for s, (q, _) in account.broker.positions.items() if q}
    assert {p.symbol: p.quantity for p in engine.portfolio.open_positions()} == positions
    assert engine.portfolio.cash == pytest.approx(account.broker.cash)
