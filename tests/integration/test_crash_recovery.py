"""SIGKILL crash recovery of a real ``workbench paper`` subprocess (issue 3, "Crash recovery").

An uninterrupted run of ``sma_crossover`` on the shipped SPY demo (regular hours, 3,900 bars and
quotes) gives the reference. A second session of the same strategy on the same data is killed
with SIGKILL at ``KILLS`` random points (seeded RNG: each run is killed when the session's journal
has grown by a random number of seqs since the run started, so every kill lands after the run has
committed something) and restarted each time with ``workbench paper --resume`` until it ends. Its
journal must then hold exactly the reference's fills (same order ids, fill ids, sides,
quantities, prices, commissions and timestamps: none lost, none twice), the same orders, the
same final positions and cash, and no reconciliation corrections (the checkpoint is committed
with the events, so journal and broker book always agree after a kill).

The reference replays as fast as possible; the killed session is paced at 20,000x (~6 s of wall
time for the 5 days); since the replay clock is held at the time of the data being processed,
even the timestamps must match. Measured on the 2-core machine: 2-4 s of process start-up per restart; the whole
test takes ~1.5 minutes.

A second test tampers with the broker book saved in ``session_state`` (a fill the journal does
not know, an order the broker closed) and checks that resuming journals
``ReconciliationCorrected`` for each and books the missing fill.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from live_helpers import fills, final_account, last_seq, run_cli, start_cli, wait_for

from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.persistence import schema as t

pytestmark = pytest.mark.slow

SEED = 20_240_611
KILLS = 22
SPEED = "20000"
"""The killed session is paced (the 5 days take ~6 s of wall time): at full speed group commits make the
journal grow in jumps of ~100 seqs, and a whole run takes ~1 s, so kills would bunch at start-up."""
STRATEGY = ["--strategy", "sma_crossover", "--param", "fast=5", "--param", "slow=15"]
"""Shorter SMAs than the defaults: more orders (~300), so kills often land between an order and its fill."""


def _kill_and_resume(proc: subprocess.Popen[str], plan: list[Callable[[], Callable[[], bool]]], url: str, sid: str,
                     cwd: Path) -> tuple[list[int], int, str]:
    """For each step of ``plan`` (a factory of the condition to wait for): wait until it holds, SIGKILL the
    session and restart it with ``--resume``; stop early when a run ends by itself. Returns the indices of
    the steps that killed a run, the last run's exit code and its stderr."""
    kills: list[int] = []
    try:
        for i, make_condition in enumerate(plan):
            condition, running = make_condition(), proc
            wait_for(lambda: running.poll() is not None or condition(), timeout=120, interval=0.001)  # noqa: B023
            if proc.poll() is not None:
                break  # finished before this point: no more kills possible
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            kills.append(i)
            proc = start_cli("paper", "--journal", url, "--resume", sid, "--quiet", cwd=cwd)
        _, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return kills, proc.returncode, err


def _positions(journal: Journal, session_id: str) -> pd.DataFrame:
    frame = journal.positions(session_id)
    return frame[["symbol", "quantity", "avg_price", "realized_pnl"]].sort_values("symbol").reset_index(drop=True)


def _orders(journal: Journal, session_id: str) -> pd.DataFrame:
    frame = journal.orders(session_id)
    cols = ["order_id", "symbol", "side", "order_type", "quantity", "status", "filled_quantity", "avg_fill_price"]
    return frame[cols].sort_values("order_id").reset_index(drop=True)


def test_sigkill_at_random_points_then_resume_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    done = run_cli("paper", "--journal", url, "--session-id", "reference", "--speed", "max", "--quiet", *STRATEGY,
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    journal = Journal(url)
    reference = fills(journal, "reference")
    total = journal.last_seq("reference")
    assert len(reference) > 100, "the strategy should trade a lot on the demo data"

    rng = random.Random(SEED)
    # each run is killed once the journal has grown by a random number of seqs past where it started
    # (at least 1: the run has started and committed), ~0.8 x total / KILLS on average
    mean_step = 0.8 * total / KILLS
    sid = "crashed"
    proc = start_cli("paper", "--journal", url, "--session-id", sid, "--speed", SPEED, "--quiet", *STRATEGY,
                     cwd=tmp_path)

    def grown_by_random_step() -> Callable[[], bool]:
        target = last_seq(journal, sid) + rng.randint(1, int(2 * mean_step))
        return lambda: last_seq(journal, sid) >= target

    kills, returncode, err = _kill_and_resume(proc, [grown_by_random_step] * KILLS, url, sid, tmp_path)
    assert returncode == 0, f"last resumed run failed:\n{err}"
    assert len(kills) >= 20, f"only {len(kills)} kills landed mid-run: {kills}"

    journal.verify(sid)  # seqs 1..n without gaps, checksums, no truncated tail
    got = fills(journal, sid)
    assert not got["fill_id"].duplicated().any(), "a fill was journaled twice"
    pd.testing.assert_frame_equal(got, reference)  # ts_event too: the paced clock is held at the data's time
    pd.testing.assert_frame_equal(_orders(journal, sid), _orders(journal, "reference"))
    pd.testing.assert_frame_equal(_positions(journal, sid), _positions(journal, "reference"))
    mine, theirs = final_account(journal, sid), final_account(journal, "reference")
    assert (mine.cash, mine.equity, mine.realized_pnl) == (theirs.cash, theirs.equity, theirs.realized_pnl)
    resumed = [e for e in journal.events(sid, types=[ev.SessionStarted]) if e.resumed]
    assert len(resumed) == len(kills)
    times = [e.ts_event for e in journal.events(sid)]
    assert times == sorted(times), "event time went backwards (a resume must stamp at its resume point)"
    corrections = list(journal.events(sid, types=[ev.ReconciliationCorrected]))
    assert corrections == [], [c.detail for c in corrections]
    assert journal.session(sid)["status"] == "stopped"
    journal.close()


# ------------------------------------------------------------------------------------- reconcile
def _tamper_state(url: str, session_id: str, change) -> dict:  # type: ignore[no-untyped-def]
    """Apply ``change(state)`` to the checkpoint in ``session_state`` (as a crashed broker would differ)."""
    engine = sa.create_engine(url)
    st = t.session_state
    with engine.begin() as conn:
        text = conn.execute(sa.select(st.c.state).where(st.c.session_id == session_id)).scalar_one()
        state = json.loads(text)
        change(state)
        conn.execute(sa.update(st).where(st.c.session_id == session_id).values(state=json.dumps(state)))
    engine.dispose()
    return state


def test_resume_journals_corrections_for_a_broker_book_that_differs(tmp_path: Path) -> None:
    """Kill a session while a bracket's two exits are working, then make the saved broker book say
    that the take-profit filled (a fill the journal never saw) and the stop was canceled (OCO)."""
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    sid = "tampered"
    proc = start_cli("paper", "--journal", url, "--session-id", sid, "--speed", SPEED, "--quiet",
                     "--strategy", "rsi_mean_reversion", "--param", "stop_atr=3.0", "--param", "target_atr=3.0",
                     cwd=tmp_path)
    journal = Journal(url)
    try:
        def exits_working() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"session ended before a bracket's exits were working: {proc.stderr.read()}")
            state = journal.load_state(sid) if last_seq(journal, sid) else None
            kinds = {o["order_type"] for o in state["broker"]["orders"]} if state else set()
            return {"LIMIT", "STOP"} <= kinds

        wait_for(exits_working, timeout=120, interval=0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    state = journal.load_state(sid)
    working = state["broker"]["orders"]
    stop = next(o for o in working if o["order_type"] == "STOP")
    target = next(o for o in working if o["order_type"] == "LIMIT")
    symbol, quantity, price = target["symbol"], target["quantity"], target["limit_price"]
    held_before = journal.positions(sid).set_index("symbol").loc[symbol, "quantity"]
    assert held_before == quantity and target["side"] == "SELL"
    n_fills = len(fills(journal, sid))

    def change(state: dict) -> None:
        broker = state["broker"]
        for order in broker["orders"]:
            if order["order_id"] == stop["order_id"]:
                order["status"] = "CANCELED"
            if order["order_id"] == target["order_id"]:
                order.update(status="FILLED", filled=quantity, avg_price=price)
        broker["fills"].append({"fill_id": "F-TAMPERED", "order_id": target["order_id"], "symbol": symbol,
                                "side": "SELL", "quantity": quantity, "price": price, "commission": 0.0,
                                "ts_event": broker["ts"]})
        broker["positions"][symbol] = [0.0, 0.0]
        broker["cash"] += quantity * price

    _tamper_state(url, sid, change)
    done = run_cli("paper", "--journal", url, "--resume", sid, "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "reconciliation: 2 corrections journaled" in done.stdout

    records = list(journal.records(sid))
    started = max(seq for seq, e in records if type(e) is ev.SessionStarted and e.resumed)
    corrections = [(seq, e) for seq, e in records if type(e) is ev.ReconciliationCorrected]
    assert sorted((e.kind, e.order_id) for _, e in corrections) == sorted(
        [("missing_fill", target["order_id"]), ("order_closed_at_broker", stop["order_id"])])
    booked = [e for _, e in records if type(e) is ev.OrderFilled and e.fill_id == "F-TAMPERED"]
    assert len(booked) == 1 and (booked[0].last_quantity, booked[0].last_price) == (quantity, price)
    assert [e for _, e in records if type(e) is ev.OrderCanceled and e.order_id == stop["order_id"]]
    assert len(fills(journal, sid)) > n_fills
    # the corrections come right after the resumed SessionStarted, before any new order
    first_new_order = min((seq for seq, e in records if type(e) is ev.OrderInitialized and seq > started),
                          default=len(records) + 1)
    assert all(started < seq < first_new_order for seq, _ in corrections)
    orders = journal.orders(sid).set_index("order_id")
    assert orders.loc[target["order_id"], "status"] == "FILLED"
    assert orders.loc[stop["order_id"], "status"] == "CANCELED"
    journal.close()


# ------------------------------------------------------------- brackets and the kill switch (issue 9)
BRACKET_CONFIG = """\
mode: paper
session:
  strategy: "crash_strategies:BracketTrader"
  data: {data}
  speed: null
  starting_cash: 1000000
broker:
  max_volume_participation: 0.002   # entries of 500 shares fill over several bars: partially filled brackets
risk:
  portfolio:
    daily_loss: {{enabled: false}}
    max_drawdown: {{enabled: false}}
  breakers:
    broker_disconnect: {{enabled: false}}
    reject_streak: {{enabled: false}}
"""
BRACKET_KILLS = 8


def _partial_bracket_working(journal: Journal, sid: str) -> bool:
    """An entry is partially filled and its exits work at the broker (armed for the filled part)."""
    try:
        orders = journal.orders(sid).set_index("order_id")
    except Exception:  # the session's first commit is not there yet
        return False
    partial = orders[(orders["tag"] == "entry") & (orders["status"] == "PARTIALLY_FILLED")]
    for oid in partial.index:
        n = int(oid.rpartition("-")[2])
        exits = [f"O-{n + 1:06d}", f"O-{n + 2:06d}"]
        if all(e in orders.index and orders.loc[e, "status"] == "ACCEPTED" for e in exits):
            return True
    return False


def _counts(journal: Journal, sid: str) -> dict[str, int]:
    kinds = (ev.KillSwitchEngaged, ev.OrderUpdated, ev.OrderModified, ev.OrderFilled, ev.OrderDenied)
    out = {k.__name__: 0 for k in kinds}
    for e in journal.events(sid, types=list(kinds)):
        out[type(e).__name__] += 1
    return out


def test_sigkill_with_partially_filled_brackets_and_a_halted_kill_switch(tmp_path: Path, monkeypatch) -> None:
    """Issue 9: a session holding partially filled brackets (exits armed for the filled part, resized as the
    entry fills) and, later, a pulled kill switch is killed with SIGKILL: twice while a bracket is partially
    filled, once right after the kill switch was journaled, and at random points (8 kills); each time resumed with
    ``--resume``. It must end in the state of an uninterrupted run: the same fills (ids, prices, times),
    orders (with their resized quantities), positions, cash, one ``KillSwitchEngaged`` and trading HALTED
    (the kill switch survives the restarts; Resume-by-restart must not lift it), no corrections.
    Bounded: 5 days of bars paced at 20,000x (~6 s) and at most 8 restarts (~60 s on the 2-core machine)."""
    from workbench.feeds.samples import load_demo_spy

    integration = Path(__file__).resolve().parent
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([*filter(None, [os.environ.get("PYTHONPATH")]), str(integration)]))
    bars = tmp_path / "bars.parquet"
    load_demo_spy()[0].to_parquet(bars)  # bars only: quotes fill market orders whole, bars cap them by volume
    config = tmp_path / "bracket.yaml"
    config.write_text(BRACKET_CONFIG.format(data=bars))
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    done = run_cli("paper", "--config", str(config), "--journal", url, "--session-id", "reference", "--quiet",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    journal = Journal(url)
    reference = _counts(journal, "reference")
    assert reference["KillSwitchEngaged"] == 1 and reference["OrderUpdated"] > 5 and reference["OrderModified"] > 5
    total = journal.last_seq("reference")

    sid = "crashed"
    rng = random.Random(SEED + 9)
    proc = start_cli("paper", "--config", str(config), "--journal", url, "--session-id", sid, "--speed", SPEED,
                     "--quiet", cwd=tmp_path)

    # each condition also waits for the (resumed) run to commit something: a kill during start-up is a
    # crash too, but not the state this test is after
    def partial() -> Callable[[], bool]:
        start = last_seq(journal, sid)
        return lambda: last_seq(journal, sid) > start and _partial_bracket_working(journal, sid)

    def kill_switch_journaled() -> Callable[[], bool]:
        start = last_seq(journal, sid)
        return lambda: last_seq(journal, sid) > start and bool(list(journal.events(sid, types=[ev.KillSwitchEngaged])))

    def random_step() -> Callable[[], bool]:
        target = last_seq(journal, sid) + rng.randint(1, max(2, int(total / (2 * BRACKET_KILLS))))
        return lambda: last_seq(journal, sid) >= target

    plan = [partial, random_step, random_step, partial, random_step, random_step, kill_switch_journaled, random_step]
    kills, returncode, err = _kill_and_resume(proc, plan, url, sid, tmp_path)
    assert returncode == 0, f"last resumed run failed:\n{err}"
    assert {0, 3, 6} <= set(kills), f"the targeted kills did not all land mid-run: {kills}"

    journal.verify(sid)
    got = fills(journal, sid)
    assert not got["fill_id"].duplicated().any(), "a fill was journaled twice"
    pd.testing.assert_frame_equal(got, fills(journal, "reference"))
    pd.testing.assert_frame_equal(_orders(journal, sid), _orders(journal, "reference"))
    pd.testing.assert_frame_equal(_positions(journal, sid), _positions(journal, "reference"))
    mine, theirs = final_account(journal, sid), final_account(journal, "reference")
    assert (mine.cash, mine.equity, mine.realized_pnl) == (theirs.cash, theirs.equity, theirs.realized_pnl)
    assert _counts(journal, sid) == reference
    states = list(journal.events(sid, types=[ev.TradingStateChanged]))
    assert [s.state.value for s in states] == ["HALTED"], "the kill switch must hold across restarts"
    assert list(journal.events(sid, types=[ev.ReconciliationCorrected])) == []
    assert len([e for e in journal.events(sid, types=[ev.SessionStarted]) if e.resumed]) == len(kills)
    journal.close()
