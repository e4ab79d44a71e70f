"""A graduated live session with its paper shadow, on the Alpaca emulator (alpaca-py) and the TWS emulator (ib_async).

A paper session that meets the criteria graduates (``graduate(..., confirm_live=True)``); the live
session trades on the emulator, and a paper shadow (same strategy at full size, simulated broker)
runs beside it on the same data subscription. Checked:

* one subscription: the emulator sees one data connection; the shadow processed exactly the
  items the live session did (checkpoint positions, the emulator's published bar count) and made
  the same signals at the same data times; each session names the other in its journaled config;
* the size multiplier follows the documented steps (10%, 25%, 50%, 100%, one step per agreeing
  window with ``step_days: 1`` and a window per shadow signal): every change is a journaled
  ``SizeMultiplierChanged``, and every live entry order is 100 shares x the multiplier in force
  when it was placed (the strategy's ``quantity`` is 100: the engine scales, not the parameter);
* a disagreement injected at 100% (the emulator rejects the next order: the broker's documented
  403 / IB's error 201) steps the multiplier down one step, journaled with the window's agreement;
* a rebuild from the journal gives the live session's last multiplier;
* the dashboard's side-by-side panel (:mod:`workbench.widgets.shadow`) and ``/api/live/shadow``
  show the journal's numbers (equity, fills, signals, positions from the read models; the
  multiplier and its history from the events), from either session of the pair.
"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

import pytest
from alpaca_helpers import FAST_RECONNECT, demo_bars, start_emulator

from workbench.model import events as ev
from workbench.operations.graduation import GraduationCriteria, graduate, start_live_session
from workbench.persistence import Journal
from workbench.session import paper_session

PAPER = "paper-shadow-record"
PARAMS = {"fast": 5, "slow": 15, "record_signals": True}  # quantity: 100 shares (the default)
BARS = 240
STEPS = (0.10, 0.25, 0.50, 1.00)


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A finished paper session on the first two demo days, recorded (for the signal agreement)."""
    tmp = tmp_path_factory.mktemp("shadow")
    url = f"sqlite:///{tmp / 'journal.sqlite'}"

    async def run() -> None:
        session = paper_session("sma_crossover", params=PARAMS, data=demo_bars(780), speed=None, journal=url,
                                session_id=PAPER, record_to=tmp / "rec")
        await session
        session.journal.close()

    asyncio.run(run())
    journal = Journal(url)
    yield {"journal": journal, "recording": tmp / "rec"}
    journal.close()


def _criteria() -> GraduationCriteria:
    """Criteria the two-day record meets (days, trades, agreement 99.5%); steps every agreeing window."""
    return GraduationCriteria(min_days=2, min_trades=2, min_sharpe=-math.inf, max_drawdown=1.0,
                              min_signal_agreement=0.995, steps=STEPS, step_days=1, min_shadow_agreement=0.995)


def _graduate(record: dict[str, Any], broker: str, emulator: Any, live_id: str, **options: Any) -> Any:
    card, live = graduate(record["journal"], PAPER, _criteria(), confirm_live=True, recording=record["recording"],
                          start_live=lambda sid, journal, multiplier: start_live_session(
                              sid, journal, multiplier, broker=broker, emulator=emulator, live_session_id=live_id,
                              criteria=_criteria(), cadence=1, snapshot_interval=0.5, **options))
    assert card.passed, str(card)
    return live


async def _run(live: Any, market_done: Any, arm_fault: Any, connections: Any) -> int:
    """Run live + shadow until the replay has ended and both engines processed every bar; arm the
    fault once the multiplier has reached 100%. Returns the most data connections the emulator held."""
    live.start()
    armed, most = False, 0
    deadline = time.monotonic() + 90
    while True:
        if live.runner.done:
            live.runner._task.result()
        most = max(most, connections())
        if not armed and live.multiplier == 1.0:
            arm_fault()
            armed = True
        settled = not any(o.status.value in ("INITIALIZED", "SUBMITTED") for o in live.engine.orders.values())
        if (market_done() and live.runner.stats.data_events >= BARS and live.shadow.runner.stats.data_events >= BARS
                and settled):
            break
        assert time.monotonic() < deadline, f"timed out: {live.runner.stats.data_events} live bars, {live.summary()}"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # the monitor's last windows
    live.stop()
    await live
    assert armed, "the multiplier never reached 100%"
    return most


def _check(journal: Journal, live: Any) -> None:
    shadow = live.shadow
    live_row, shadow_row = journal.session(live.session_id), journal.session(shadow.session_id)
    assert live_row["mode"] == "live" and shadow_row["mode"] == "paper"
    assert live_row["parameters"]["shadow_session_id"] == shadow.session_id
    assert live_row["parameters"]["graduated_from"] == PAPER
    assert shadow_row["parameters"]["shadow_of"] == live.session_id
    (started,) = journal.events(shadow.session_id, types=[ev.SessionStarted])
    assert started.parameters["shadow_of"] == live.session_id
    assert shadow_row["parameters"]["params"]["quantity"] == 100  # full size

    # the same market data: every bar of the replay, once, in both engines
    assert live.runner.stats.data_events == shadow.runner.stats.data_events == shadow.feed.items == BARS
    assert journal.load_state(live.session_id)["position"] == journal.load_state(shadow.session_id)["position"] == BARS
    signals = {sid: [(e.symbol, e.ts_event, e.direction) for e in journal.events(sid, types=[ev.SignalGenerated])]
               for sid in (live.session_id, shadow.session_id)}
    assert len(signals[shadow.session_id]) >= 8 and signals[live.session_id] == signals[shadow.session_id]

    # the multiplier: documented steps up while agreeing, one step down at the injected rejection
    events = list(journal.events(live.session_id, types=[ev.SizeMultiplierChanged, ev.OrderInitialized,
                                                          ev.OrderRejected]))
    changes = [e for e in events if type(e) is ev.SizeMultiplierChanged]
    assert [(c.old, c.new) for c in changes[:4]] == [(0.0, 0.10), (0.10, 0.25), (0.25, 0.50), (0.50, 1.00)]
    assert all(c.agreement == 1.0 for c in changes[1:4]) and changes[0].agreement is None
    rejected = [i for i, e in enumerate(events) if type(e) is ev.OrderRejected]
    assert rejected, "the injected rejection did not happen"
    after = [e for e in events[rejected[0]:] if type(e) is ev.SizeMultiplierChanged]
    assert after and (after[0].old, after[0].new) == (1.00, 0.50)
    assert after[0].agreement is not None and after[0].agreement < 0.995 and "down to 0.5" in after[0].reason
    assert all(c.shadow_session_id == shadow.session_id for c in changes)
    # every live entry is 100 x the multiplier in force; every exit closes the whole live position
    multiplier, position, entries = 0.0, 0.0, 0
    fills = {e.order_id: e for e in journal.events(live.session_id, types=[ev.OrderFilled])}
    for e in events:
        if type(e) is ev.SizeMultiplierChanged:
            multiplier = e.new
        elif type(e) is ev.OrderInitialized:
            if e.side.value == "BUY":
                assert e.quantity == math.floor(100 * multiplier + 1e-9), (e, multiplier)
                entries += 1
            else:
                assert e.quantity == position, (e, position)
            if e.order_id in fills:
                position += e.quantity if e.side.value == "BUY" else -e.quantity
    assert entries >= 4
    # a rebuild from the journal trades at the same size
    from workbench.engine.backtest import build_engine
    from workbench.engine.reconcile import rebuild

    fresh = build_engine([])
    rebuild(fresh, journal.events(live.session_id))
    assert fresh.sizing.multiplier == live.multiplier == changes[-1].new


async def _check_views(journal: Journal, live: Any) -> None:
    """The dashboard's side-by-side panel and ``/api/live/shadow`` show the journal's numbers (read
    here from the journal's read models, not the events the panel sums)."""
    import httpx

    from workbench.service import READ, TokenStore, create_app
    from workbench.widgets.shadow import ShadowPanel

    changes = list(journal.events(live.session_id, types=[ev.SizeMultiplierChanged]))
    expected = {}
    for sid in (live.session_id, live.shadow.session_id):
        equity = journal.equity(sid).iloc[-1]
        open_positions = journal.positions(sid, open_only=True)
        expected[sid] = {"equity": equity["equity"], "fills": len(journal.fills(sid)),
                         "signals": len(journal.signals(sid)),
                         "positions": dict(zip(open_positions["symbol"], open_positions["quantity"], strict=True))}
    for selected in (live.session_id, live.shadow.session_id):  # either side opens the pair
        panel = ShadowPanel(journal, selected)
        panel.refresh()
        report = panel.report
        assert panel.layout.display is None and report is not None
        for side in (report.live, report.shadow):
            e = expected[side.session_id]
            assert side.equity == pytest.approx(e["equity"]) and side.positions == pytest.approx(e["positions"])
            assert (side.fills, side.signals) == (e["fills"], e["signals"])
        assert report.live.session_id == live.session_id and report.shadow.session_id == live.shadow.session_id
        assert report.signal_agreement == 1.0  # the same bars: the same signals
        assert report.multiplier == changes[-1].new
        assert [(c.old, c.new) for c in report.history] == [(c.old, c.new) for c in changes]
        assert f"{changes[-1].new:,.2f}" in panel.cards.value and "down to 0.5" in panel.history.value
    plain = ShadowPanel(journal, PAPER)
    plain.refresh()
    assert plain.layout.display == "none" and plain.report is None  # no shadow: hidden

    app = create_app(journal, TokenStore({"shadow-read-token": READ}))
    headers = {"Authorization": "Bearer shadow-read-token"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1",
                                 headers=headers) as api:
        response = await api.get("/api/live/shadow", params={"session_id": live.shadow.session_id})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["live"]["session_id"] == live.session_id and body["multiplier"] == changes[-1].new
        assert body["live"]["equity"] == pytest.approx(expected[live.session_id]["equity"])
        assert body["shadow"]["fills"] == expected[live.shadow.session_id]["fills"]
        assert len(body["history"]) == len(changes) and body["history"][0]["agreement"] is None
        assert (await api.get("/api/live/shadow", params={"session_id": PAPER})).status_code == 404
        default = (await api.get("/api/live/pnl")).json()["session_id"]  # no session named: a live one, not a shadow
        assert journal.session(default)["mode"] == "live"
        assert (await api.get("/api/live/shadow", params={"session_id": PAPER},
                              headers={"Authorization": "Bearer wrong"})).status_code == 401


async def test_graduates_on_the_alpaca_emulator_with_a_shadow_on_the_same_stream(record: dict[str, Any]) -> None:
    emulator = start_emulator(data=demo_bars(BARS), speed=2400.0)
    try:
        live = _graduate(record, "alpaca", emulator, "shadow-alpaca-live", alpaca=FAST_RECONNECT)
        assert live.multiplier == 0.10
        most = await _run(live, lambda: emulator.core.market.done,
                          lambda: emulator.call(lambda: emulator.core.faults.arm("reject_next_order")),
                          lambda: len(emulator.data_connections))
        assert most == 1  # one data connection for both engines (a second one would get Alpaca's 406)
        _check(record["journal"], live)
        await _check_views(record["journal"], live)
        summary = live.summary()
        assert summary["multiplier"] == live.multiplier and summary["evaluations"] >= 5
        assert summary["shadow"]["session_id"] == live.shadow.session_id and summary["shadow"]["state"] == "stopped"
    finally:
        emulator.stop_thread()


async def test_graduates_on_the_tws_emulator_with_a_shadow_on_the_same_stream(record: dict[str, Any]) -> None:
    pytest.importorskip("ib_async")
    from workbench.emulators.core import EmulatorCore
    from workbench.emulators.tws import TwsEmulator, TwsVenue

    venue = TwsVenue(EmulatorCore(demo_bars(BARS), speed=2400.0))
    emulator = TwsEmulator(venue, run_market=True)
    await emulator.start()
    try:
        live = _graduate(record, "ibkr", emulator, "shadow-ibkr-live", subscriptions=("bars",),
                         ibkr={"client_id": 11, "connect_timeout": 5})
        assert live.multiplier == 0.10 and live.mode == "live"
        most = await _run(live, lambda: venue.core.market.done, lambda: venue.core.faults.arm("reject_next_order"),
                          lambda: len(emulator.connections))
        assert most == 1  # one API connection (data and orders) for both engines
        _check(record["journal"], live)
        await _check_views(record["journal"], live)
    finally:
        await emulator.stop()


def test_no_second_subscription_is_opened(record: dict[str, Any], tmp_path: Path) -> None:
    """The shadow taps the live data client: building it adds no data client."""
    emulator = start_emulator(data=demo_bars(10), speed=2400.0)
    try:
        live = _graduate(record, "alpaca", emulator, "shadow-build-only", alpaca=FAST_RECONNECT)
        assert live.shadow.feed in [getattr(put, "__self__", None) for put in live.data_client._taps]
        assert live.shadow.engine.broker.__class__.__name__ == "SimulatedBroker"
        assert live.shadow.engine.sizing is None and live.engine.sizing.multiplier == 0.10
    finally:
        emulator.stop_thread()
