"""Restart a graduated live session together with its paper shadow (DESIGN rule 5: rebuild, then go on).

:func:`resume_graduated_session` resumes the live session through its broker's resume path
(``resume_alpaca_session`` / ``resume_ibkr_session``: the engine rebuilt from the journal,
including its size multiplier, the strategy warmed up on the broker's recent bars, the broker's
reports reconciled on connect), and the shadow session from its own journal: its engine rebuilt
(orders, fills, positions, cash), its simulated broker's book restored from its checkpoint, its
strategy warmed up on **the same bars** as the live one (``runner.warmed_on``; the shadow starts
once the live engine has), ``SessionStarted(resumed=True)`` journaled. The shadow taps the live
data client again (no second subscription), and a new monitor goes on stepping the multiplier from
the journaled one (the count of agreeing windows in a row starts again at 0).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from workbench.adapters.session import BrokerSession
from workbench.errors import ConfigError
from workbench.model import events as ev
from workbench.operations.shadow import GraduatedSession, ShadowFeed, ShadowMonitor

__all__ = ["resume_graduated_session"]


def _resume_shadow(live: BrokerSession, shadow_id: str, paper_id: str | None, snapshot_interval: float) -> BrokerSession:
    from workbench.clock import ReplayClock
    from workbench.engine.backtest import build_engine
    from workbench.engine.live import LiveRunner
    from workbench.engine.reconcile import rebuild, warm_up
    from workbench.operations.graduation import paper_models
    from workbench.session import _stop_hook, make_strategy, session_risk_engine

    jr = live.journal
    saved = dict(jr.session(shadow_id).get("parameters") or {})
    paper = dict(jr.session(paper_id).get("parameters") or {}) if paper_id else {}
    fill_model, commission = paper_models(paper)
    clock = ReplayClock(float(saved.get("speed") or 1.0), live.engine.clock.timestamp_ns())
    feed = ShadowFeed(clock)
    strategy = make_strategy(str(saved["strategy"]), saved.get("params"))
    engine = build_engine(strategy, starting_cash=float(saved.get("starting_cash", 100_000.0)), fill_model=fill_model,
                          commission=commission, risk=session_risk_engine(paper), clock=clock, keep_events=False)
    rebuild(engine, jr.events(shadow_id))
    state = jr.load_state(shadow_id) or {}
    engine._order_seq = max(engine._order_seq, int(state.get("order_seq", 0)))
    if "broker" in state and hasattr(engine.broker, "restore"):
        engine.broker.restore(state["broker"])
    runner = LiveRunner(engine, feed, journal=jr, session_id=shadow_id, position=int(state.get("position", 0)),
                        snapshot_interval=snapshot_interval)
    original_start = engine.start

    def start() -> None:  # after the live engine's start: warm up on its bars
        engine.warming_up = True
        try:
            original_start()
        finally:
            engine.warming_up = False
        warm_up(engine, live.runner.warmed_on or [])
        engine.record(ev.SessionStarted(ts_event=engine.now_ns(), session_id=shadow_id, mode="paper",
                                        strategy=str(saved["strategy"]),
                                        parameters={**strategy.params.model_dump(), "shadow_of": live.session_id},
                                        resumed=True))

    engine.start = start  # type: ignore[method-assign]
    _stop_hook(runner, shadow_id)
    live.data_client.tap(feed.put)  # type: ignore[union-attr]
    return BrokerSession(shadow_id, engine, runner, jr, feed, [], mode="paper")  # type: ignore[arg-type]


async def resume_graduated_session(live_session_id: str, journal: Any = None, *, emulator: Any = None,
                                   criteria: Any = None, cadence: str | int = "day", settle_timeout: float = 10.0,
                                   snapshot_interval: float = 1.0, **options: Any) -> GraduatedSession:
    """Resume a graduated live session and its shadow (see the module docstring); returns the pair, not started.

    ``options`` go to the broker's resume function (``alpaca=`` / ``ibkr=`` settings,
    ``warm_up_minutes`` / ``warm_up_bars``). The operator confirmed live trading at graduation.

    Raises
    ------
    ConfigError
        ``live_session_id`` is not a graduated live session (no ``shadow_session_id`` in its config).
    """
    from workbench.operations.graduation import SizeSchedule, criteria_of
    from workbench.session import open_journal

    jr = open_journal(journal)
    saved = dict(jr.session(live_session_id).get("parameters") or {})
    shadow_id = saved.get("shadow_session_id")
    if not shadow_id:
        raise ConfigError(f"session {live_session_id}: not a graduated live session (no shadow_session_id)")
    if saved.get("broker") == "ibkr":
        from workbench.adapters.ibkr.session import resume_ibkr_session

        live = await resume_ibkr_session(live_session_id, journal=jr, emulator=emulator, confirm_live=True,
                                         snapshot_interval=snapshot_interval, **options)
    else:
        from workbench.adapters.alpaca.session import resume_alpaca_session

        live = resume_alpaca_session(live_session_id, journal=jr, emulator=emulator, confirm_live=True,
                                     snapshot_interval=snapshot_interval, **options)
    paper_id = saved.get("graduated_from")
    shadow = _resume_shadow(live, str(shadow_id), paper_id, snapshot_interval)
    schedule = SizeSchedule.from_criteria(criteria_of(jr.session(paper_id) if paper_id else {}, criteria))
    now = live.engine.sizing.multiplier if live.engine.sizing is not None else schedule.steps[0]
    schedule.index = min(range(len(schedule.steps)), key=lambda k: abs(schedule.steps[k] - now))
    monitor = ShadowMonitor(live, shadow, schedule, cadence=cadence, settle_timeout=settle_timeout)
    base = {f.name: getattr(live, f.name) for f in fields(BrokerSession)}
    pair = GraduatedSession(**base, shadow=shadow, monitor=monitor, live_first=True)
    live_start = live.engine.start

    def start_then_shadow() -> None:
        live_start()
        pair.live_ready = True  # the shadow may start: the live session's warm-up bars are known

    live.engine.start = start_then_shadow  # type: ignore[method-assign]
    return pair
