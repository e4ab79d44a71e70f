"""Journal round trip on the live path: every event a paper session writes reads back equal.

A paper session (SMA crossover long/short, signals journaled, a pre-trade quantity limit, alerts
on) runs at full speed on the shipped SPY demo; we capture every event the engine hands to the
journal writer, in order, and controls are requested part-way through: pause and resume, a limit change
(RiskEvent), flatten, and the kill switch (TradingStateChanged; the strategy's later orders are
denied). Read back from the journal, the events must be equal (dataclass ==, every field) and in
the same order, on SQLite and on a real PostgreSQL server. The projections agree too: the fills
table holds every OrderFilled, the commands issued are all acknowledged, the session row is
``stopped``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.model import events as ev
from workbench.risk.factory import build_alert_manager, build_risk_engine
from workbench.session import paper_session

EXPECTED_TYPES = {
    "SessionStarted", "SessionStopped", "OrderInitialized", "OrderSubmitted", "OrderAccepted", "OrderFilled",
    "OrderDenied", "PositionOpened", "PositionChanged", "PositionClosed", "AccountState", "SignalGenerated",
    "RiskEvent", "TradingStateChanged", "AlertRaised", "CommandReceived", "CommandAcknowledged", "KillSwitchEngaged",
}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_every_event_the_session_writes_reads_back_equal(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    risk_config = {"pre_trade": {"max_order_quantity": {"limit": 1000}}}
    session = paper_session(
        "sma_crossover", params={"fast": 5, "slow": 15, "long_short": True, "record_signals": True},
        data="demo", speed=None, journal=url, risk=build_risk_engine(risk_config), snapshot_interval=0.05,
    )
    engine = session.engine
    captured: list[ev.Event] = []
    sink = engine.event_sink  # the runner's journal writer: capture exactly what is handed to it, in order

    def capture(event: ev.Event) -> None:
        captured.append(event)
        sink(event)

    engine.event_sink = capture
    fills = 0

    def watch(event: ev.Event) -> None:
        nonlocal fills
        if type(event) is ev.OrderFilled:
            fills += 1
            if fills == 10:
                session.pause()
                session.resume()
            elif fills == 15:
                session.runner.request("set_limit", name="max_order_quantity", value=500.0)
            elif fills == 20:
                session.flatten()
            elif fills == 25:  # over the limit: an OrderDenied (a halted strategy's orders leave no DENIED row)
                session.submit_order("SPY", "BUY", 5000)
            elif fills == 40:
                session.kill("round-trip test")

    engine.bus.subscribe("events", watch)
    alerts = build_alert_manager(risk_config, environ={})
    assert alerts is not None
    alerts.attach(engine)
    await session
    journaled = list(session.journal.events(session.session_id))
    assert type(journaled[0]) is ev.SessionStarted  # recorded while the session was built, before `capture`
    assert journaled[1:] == captured
    types = {type(e).__name__ for e in journaled}
    assert types >= EXPECTED_TYPES, EXPECTED_TYPES - types
    # the read models agree with the events
    fill_events = [e for e in journaled if type(e) is ev.OrderFilled]
    table = session.journal.fills(session.session_id)
    assert list(table["fill_id"]) == [e.fill_id for e in fill_events]
    assert list(table["price"]) == [e.last_price for e in fill_events]
    commands = [e for e in journaled if type(e) is ev.CommandAcknowledged]
    assert [c.name for c in commands] == ["pause", "resume", "set_limit", "flatten", "submit_order", "kill"]
    assert [c.ok for c in commands] == [True, True, True, True, False, True], [c.detail for c in commands]
    assert session.journal.session(session.session_id)["status"] == "stopped"
    assert session.journal.verify(session.session_id) == len(journaled)
    session.journal.close()
