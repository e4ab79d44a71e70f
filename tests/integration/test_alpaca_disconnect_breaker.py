"""The broker-disconnect breaker on a real Alpaca path (alpaca-py against the emulator, 127.0.0.1).

Expected behaviour, from LEAN's ``DefaultBrokerageMessageHandler`` (a Disconnect schedules a check;
a Reconnect in time lets the algorithm go on by itself; a longer outage stops it) and
NautilusTrader's live reconciliation after a reconnect (docs: concepts/live, "Reconciliation"):

* trade_updates dropped by the emulator: new orders are held (RiskEvent ``hold``), the stream
  reconnects, the adapter's reconciliation is applied, the hold is lifted (RiskEvent ``resume``)
  with no Resume command, and the session trades on; the books still equal the broker's.
* the emulator restarted and down longer than ``max_disconnect_seconds`` of the session clock: the
  breaker halts (RiskEvent ``halt``, TradingStateChanged HALTED), and the halt stays after the
  reconnect (a deliberate Resume lifts it).
"""

from __future__ import annotations

from pathlib import Path

from alpaca_helpers import (
    alpaca_session_on,
    assert_books_equal,
    demo_bars,
    drop_trade_updates_once_an_order_rests,
    run_lockstep,
    start_emulator,
    until,
)

from workbench.model import events as ev
from workbench.model.enums import TradingState
from workbench.risk.disconnect import BrokerDisconnect
from workbench.risk.engine import RiskEngine

PARAMS = {"fast": 3, "slow": 8}


def _journal(session) -> list:
    return list(session.journal.events(session.session_id))


async def test_trade_updates_dropped_holds_orders_then_resumes_by_itself(tmp_path: Path) -> None:
    emulator = start_emulator(data=demo_bars(120), manual=True)
    armed: list[int] = []
    try:
        risk = RiskEngine(monitors=[BrokerDisconnect(max_disconnect_seconds=86_400)])
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS, risk=risk)
        await run_lockstep(session, emulator, before_step=drop_trade_updates_once_an_order_rests(emulator, armed))
        assert armed, "the strategy never had an order resting at the broker"
        events = _journal(session)
        kinds = [(type(e).__name__, getattr(e, "action", getattr(e, "state", ""))) for e in events
                 if type(e) is ev.RiskEvent or (type(e) is ev.ConnectionStatusChanged and e.component == "alpaca broker")]
        hold = kinds.index(("RiskEvent", "hold"))
        resume = kinds.index(("RiskEvent", "resume"))
        assert ("ConnectionStatusChanged", "RECONNECTING") in kinds[:hold + 1]
        assert ("ConnectionStatusChanged", "CONNECTED") in kinds[hold:resume]  # resumed only after the reconnect
        # ... and after the reconnect's reconciliation: its correction (the fill lost with the socket) comes first
        seq = {id(e): i for i, e in enumerate(events)}
        resume_event = next(e for e in events if type(e) is ev.RiskEvent and e.action == "resume")
        corrections = [e for e in events if type(e) is ev.ReconciliationCorrected]
        assert corrections and seq[id(corrections[0])] < seq[id(resume_event)]
        assert "reconciled" in resume_event.message
        assert session.engine.risk.state is TradingState.ACTIVE and not session.engine.risk.tripped
        assert not [e for e in events if type(e) is ev.TradingStateChanged and e.state is TradingState.HALTED]
        # the session traded on after the resume, without a Resume command
        later = [e for e in events[seq[id(resume_event)]:] if type(e) is ev.OrderAccepted]
        assert later, "no order was accepted after the automatic resume"
        assert_books_equal(session, emulator)
    finally:
        emulator.stop_thread()


async def test_an_outage_longer_than_the_limit_halts(tmp_path: Path) -> None:
    # 1,200x: the emulator's 1 s restart is 20 minutes of session clock, over a 5-minute limit
    emulator = start_emulator(data=demo_bars(240), speed=1200.0)
    try:
        risk = RiskEngine(monitors=[BrokerDisconnect(max_disconnect_seconds=300)])
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS, risk=risk)
        session.start()
        await until(lambda: session.runner.position >= 5, 60, "data to flow")
        emulator.schedule_restart(1.0)
        await until(lambda: session.engine.risk.state is TradingState.HALTED, 60, "the escalation to a halt")
        await until(lambda: emulator.restarts == 1 and session.execution_client.health.reconnects >= 1, 60,
                    "the reconnect")
        await until(lambda: not session.engine.risk.monitors[0].down, 60, "the hold to be lifted")
        assert session.engine.risk.state is TradingState.HALTED  # the halt stays: a deliberate Resume lifts it
        session.stop()
        await session
        events = _journal(session)
        halts = [e for e in events if type(e) is ev.RiskEvent and e.action == "halt"]
        assert len(halts) == 1 and halts[0].rule == "broker_disconnect" and halts[0].value >= 300
        assert any(type(e) is ev.TradingStateChanged and e.state is TradingState.HALTED for e in events)
    finally:
        emulator.stop_thread()
