"""Paper sessions through ib_async against the local TWS emulator (127.0.0.1), end to end.

* Parity across the wire: the same strategy on the same replayed minute bars, each bar published
  only once the session has processed the previous one and its orders reached the emulator (items
  far apart compared with a round trip, whatever the machine's load), gives the same orders and
  fills through ib_async and the TWS emulator as the in-process paper session (both match with the
  same ``SimulatedBroker``).
* The session journals its connection states and health, and ends in the broker's state.
* ``paper_session(..., broker="ibkr")`` builds it (the same call as a simulated session).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tws_helpers import wait_for

pytest.importorskip("ib_async")

from workbench.adapters.ibkr.session import ibkr_session
from workbench.emulators.core import EmulatorCore
from workbench.emulators.tws import TwsEmulator, TwsVenue
from workbench.feeds.samples import load_demo_spy
from workbench.model import events as ev
from workbench.session import paper_session

PARAMS = {"fast": 3, "slow": 8}


def demo_bars(n: int):
    from workbench.feeds.replay import regular_hours

    return regular_hours(load_demo_spy()[0]).iloc[:n].reset_index(drop=True)


def fills(session) -> list[tuple]:
    return [(e.order_id, e.side.value, e.last_quantity, round(e.last_price, 6))
            for e in session.journal.events(session.session_id) if type(e) is ev.OrderFilled]


async def lockstep(venue: TwsVenue, emulator: TwsEmulator, session) -> None:
    """Replay the emulator's market one bar at a time, each only after the session has processed the
    previous one and every order it sent has reached the emulator: items "far apart compared with a
    round trip" however loaded the machine is (a paced replay at N x real time is not, under load)."""
    await wait_for(lambda: emulator.connections and any(c.bars.get("SPY") for c in emulator.connections),
                   timeout=30, what="bar subscription")
    engine = session.engine

    def sent() -> int:
        return sum(1 for o in engine.orders.values() if o.status.value not in ("INITIALIZED", "DENIED"))

    for n, item in enumerate(venue.core.market.stream, start=1):
        venue.publish(item)
        await wait_for(lambda n=n: session.runner.stats.data_events >= n, timeout=30, what=f"bar {n} processed")
        await wait_for(lambda: len(venue.orders) >= sent(), timeout=30, what="orders at the emulator")


async def test_orders_and_fills_match_the_in_process_paper_session(tmp_path: Path) -> None:
    bars = demo_bars(120)
    local = paper_session("sma_crossover", params=PARAMS, data=bars, speed=None, journal=tmp_path / "local.sqlite")
    await local
    expected = fills(local)
    assert len(expected) >= 6, "the strategy must trade for the comparison to mean something"

    venue = TwsVenue(EmulatorCore(bars, speed=1200.0))
    emulator = TwsEmulator(venue)
    await emulator.start()
    try:
        session = paper_session("sma_crossover", params=PARAMS, broker="ibkr", emulator=emulator,
                                journal=tmp_path / "wire.sqlite", subscriptions=("bars",),
                                ibkr={"client_id": 3, "connect_timeout": 5})
        session.start()
        await lockstep(venue, emulator, session)
        await wait_for(lambda: len(fills(session)) >= len(expected), timeout=30, what="last fills journaled")
        await asyncio.sleep(0.2)
        session.stop()
        await session
        assert fills(session) == expected
        orders = [(e.order_id, e.side.value, e.quantity) for e in session.journal.events(session.session_id)
                  if type(e) is ev.OrderInitialized]
        assert orders == [(e.order_id, e.side.value, e.quantity) for e in local.journal.events(local.session_id)
                          if type(e) is ev.OrderInitialized]
        assert session.summary()["positions"] == {s: q for s, (q, _) in venue.positions().items()}
        assert session.engine.portfolio.cash == pytest.approx(venue.account.broker.cash)
        states = [(e.component, e.state) for e in session.journal.events(session.session_id)
                  if type(e) is ev.ConnectionStatusChanged]
        assert ("ibkr.execution", "CONNECTED") in states and ("ibkr.data", "CONNECTED") in states
        from workbench.widgets.source import JournalView

        # the dashboard's health panel: the IB connection's client id, pacing and last message age
        link = JournalView(session.journal, session.session_id).snapshot().health.link_health
        assert "client id 3" in link["ibkr.execution"][0] and "pacing" in link["ibkr.execution"][0]
        state = session.journal.load_state(session.session_id)
        assert state["broker"]["ibkr"]["next_order_id"] > max(o.order_id for o in venue.orders.values())
    finally:
        await emulator.stop()


@pytest.mark.slow
async def test_full_speed_differences_are_explained_by_compare_session(tmp_path: Path) -> None:
    """At full replay speed, orders reach the emulator bars after the decision: fills differ from the
    in-process run, and ``compare_session`` (re-running the session as a backtest on the same bars)
    pairs the orders and attributes the P&L gap to its components, summing to the whole gap."""
    from workbench.analytics.compare import compare_session
    from workbench.feeds.stream import MarketDataStream

    bars = demo_bars(120)
    venue = TwsVenue(EmulatorCore(bars, speed=None))
    emulator = TwsEmulator(venue, run_market=True)
    await emulator.start()
    try:
        session = ibkr_session("sma_crossover", params=PARAMS, emulator=emulator, journal=tmp_path / "wire.sqlite",
                               subscriptions=("bars",), ibkr={"client_id": 4, "connect_timeout": 5})
        session.start()
        await wait_for(lambda: venue.core.market.done, timeout=60, what="replay end")
        await asyncio.sleep(1.0)
        session.stop()
        await session
    finally:
        await emulator.stop()
    comparison = compare_session(session.session_id, session.journal, recording=MarketDataStream(bars),
                                 tolerance="sequence")
    assert len(comparison.orders) >= 2
    gap = comparison.attribution["pnl_gap"]  # indexed by component, then "total"
    assert gap.drop("total").sum() == pytest.approx(gap["total"], abs=0.01)
    assert len(comparison.fills) >= 2 and comparison.summary is not None


def test_config_file_selects_ib_and_refuses_a_live_port_for_paper(tmp_path: Path) -> None:
    from workbench.config import load_config
    from workbench.errors import ConfigError

    config = load_config({"broker": {"kind": "ibkr"}, "ibkr": {"application": "gateway", "client_id": 9},
                          "session": {"strategy": "sma_crossover", "params": {"fast": 3, "slow": 8}},
                          "risk": {"pre_trade": {"max_order_quantity": {"limit": 7}}}})
    session = paper_session(config=config, journal=tmp_path / "j.sqlite")  # built, not started: no connection
    saved = session.journal.session(session.session_id)["parameters"]
    assert saved["broker"] == "ibkr" and saved["ibkr"]["client_id"] == 9
    # the config's risk section is the session's (and journaled, so a restart rebuilds it)
    assert [r.limit for r in session.engine.risk.rules if type(r).__name__ == "MaxOrderQuantity"] == [7]
    assert saved["risk_config"]["pre_trade"]["max_order_quantity"]["limit"] == 7
    assert session.execution_client.connection.config.resolved_port == 4002  # IB Gateway, paper
    assert session.mode == "paper"
    bad = load_config({"broker": {"kind": "ibkr"}, "ibkr": {"port": 7496}})
    with pytest.raises(ConfigError, match="7496 is IB's live port"):
        paper_session(config=bad, journal=tmp_path / "j2.sqlite")
