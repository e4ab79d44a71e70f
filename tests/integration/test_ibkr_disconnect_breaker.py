"""The broker-disconnect breaker on an IB session (ib_async against the TWS emulator, 127.0.0.1).

IB's connection components are ``ibkr.execution`` and ``ibkr.data`` (no "broker" in their names):
the breaker watches them by their journaled kind. As LEAN's ``DefaultBrokerageMessageHandler`` (a
Reconnect in time lets the algorithm go on) and NautilusTrader's reconciliation after a reconnect:
a dropped socket holds new orders, and once the clients reconnected and the execution client's
reports were reconciled, the hold is lifted with no Resume command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tws_helpers import wait_for

pytest.importorskip("ib_async")

from workbench.emulators.core import EmulatorCore
from workbench.emulators.tws import TwsEmulator, TwsVenue
from workbench.feeds.samples import load_demo_spy
from workbench.model import events as ev
from workbench.model.enums import TradingState
from workbench.risk.disconnect import BrokerDisconnect
from workbench.risk.engine import RiskEngine
from workbench.session import paper_session


def _risk_actions(session) -> list[tuple[str, str]]:
    return [(e.action, e.message) for e in session.journal.events(session.session_id) if type(e) is ev.RiskEvent]


async def test_ib_socket_drop_holds_then_resumes_after_reconnect_and_reconciliation(tmp_path: Path) -> None:
    from workbench.feeds.replay import regular_hours

    bars = regular_hours(load_demo_spy()[0]).iloc[:60].reset_index(drop=True)
    venue = TwsVenue(EmulatorCore(bars, speed=60.0))
    emulator = TwsEmulator(venue)
    await emulator.start()
    try:
        breaker = BrokerDisconnect(max_disconnect_seconds=86_400)
        session = paper_session("sma_crossover", params={"fast": 3, "slow": 8}, broker="ibkr", emulator=emulator,
                                journal=tmp_path / "ib.sqlite", subscriptions=("bars",), risk=RiskEngine(monitors=[breaker]),
                                ibkr={"client_id": 5, "connect_timeout": 5})
        session.start()
        execution = session.execution_client
        await wait_for(lambda: execution.health.connects >= 1 and session.engine.risk is not None
                       and execution.last_reports is not None, 30, "the first connect")
        emulator.drop()
        await wait_for(lambda: any(a == "hold" for a, _ in _risk_actions(session)), 30, "the hold")
        assert any("ibkr." in m for a, m in _risk_actions(session) if a == "hold")
        await wait_for(lambda: any(a == "resume" for a, _ in _risk_actions(session)), 60, "the automatic resume")
        assert not breaker.down
        assert session.engine.risk.state is TradingState.ACTIVE and not session.engine.risk.tripped
        session.stop()
        await session
        events = list(session.journal.events(session.session_id))
        kinds = {(e.component, e.kind) for e in events if type(e) is ev.ConnectionStatusChanged}
        assert ("ibkr.execution", "execution") in kinds and ("ibkr.data", "data") in kinds
    finally:
        await emulator.stop()
