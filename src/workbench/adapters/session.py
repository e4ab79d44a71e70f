"""Sessions on a live broker adapter (any vendor): engine + adapter clients + journal + live runner.

:func:`broker_session` is the broker-agnostic builder behind ``paper_session(..., broker="alpaca")``,
``workbench paper --broker alpaca`` and ``workbench live --broker alpaca``; a vendor module builds
its two clients (``adapters/<vendor>/session.py``) and calls it. The session object is a
:class:`~workbench.session.PaperSession` (same controls: ``start``, ``await``, ``pause``,
``flatten``, ``kill``, ``summary``, ``result``) with the clients' health added.

The engine's clock is a :class:`~workbench.clock.ReplayClock` that the data client rebases to
each item's time as it arrives: events are stamped in the stream's data time (the real market at
speed 1, or an emulator replaying a recording at N x), so journal, analytics and the comparison
with an in-process replay share one time line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workbench.adapters.base import DataClient, ExecutionClient
from workbench.engine.live import LiveRunner
from workbench.model import events as ev
from workbench.session import (
    PaperSession,
    _stop_hook,
    _strategy_name,
    default_risk_engine,
    make_strategy,
    open_journal,
    risk_parameters,
    session_risk_engine,
)


@dataclass
class BrokerSession(PaperSession):
    """A session trading through a live broker adapter (paper or live account)."""

    data_client: DataClient | None = None
    execution_client: ExecutionClient | None = None
    mode: str = "paper"

    @property
    def progress(self) -> float:
        """A live stream has no end: 0.0 (see :meth:`health` for its state)."""
        return 0.0

    def health(self) -> dict[str, dict[str, Any]]:
        """Connection state, reconnects, messages, last message age (s), rate-limit hits and errors
        of each client (what the journal's ConnectionHealthReported events also carry)."""
        out = {}
        for client in (self.data_client, self.execution_client):
            if client is not None:
                e = client.health.event(0)
                out[client.component] = {"state": e.state, "reconnects": e.reconnects, "messages": e.messages,
                                         "last_message_age": e.last_message_age,
                                         "rate_limit_hits": e.rate_limit_hits, "errors": e.errors}
        return out

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        out["mode"] = self.mode
        out["connections"] = {k: v["state"] for k, v in self.health().items()}
        return out


def broker_session(
    strategy: Any,
    *,
    data_client: DataClient,
    execution_client: ExecutionClient,
    clock: Any,
    params: Mapping[str, Any] | None = None,
    journal: Any = None,
    session_id: str | None = None,
    name: str = "",
    mode: str = "paper",
    starting_cash: float = 100_000.0,
    risk: Any = None,
    alerts: Any = None,
    parameters: Mapping[str, Any] | None = None,
    snapshot_interval: float = 1.0,
    connect_timeout: float = 30.0,
    on_progress: Callable[[LiveRunner], None] | None = None,
) -> BrokerSession:
    """Build a journaled session that trades ``strategy`` through a broker adapter's two clients.

    Parameters
    ----------
    strategy : Strategy | str
        An instance, or an example name with ``params``.
    data_client, execution_client
        The adapter's clients (not yet started: the runner starts them; the execution client
        connects and reconciles before data flows).
    clock : ReplayClock
        The engine's clock (the data client rebases it to the stream's time).
    mode : "paper" | "live"
        Journaled as the session's mode (the caller checked the live opt-in).
    parameters : mapping
        Extra session parameters to journal (broker name, public settings; never secrets).
    """
    from workbench.engine.backtest import build_engine

    if isinstance(strategy, str):
        strategy_name, strategy = strategy, make_strategy(strategy, params)
    else:
        strategy_name = _strategy_name(strategy)
    if risk is None:  # nothing reaches a broker without the risk engine: the default profile, as paper's
        risk = default_risk_engine()
    jr = open_journal(journal, "FULL" if mode == "live" else "NORMAL")
    saved = {"strategy": strategy_name, "params": strategy.params.model_dump(), "starting_cash": starting_cash,
             "started_wall_ns": time.time_ns(), **risk_parameters(risk), **dict(parameters or {})}
    sid = jr.create_session(session_id, name=name or f"{mode} {strategy_name} ({execution_client.name})", mode=mode,
                            strategy=strategy_name, parameters=saved)
    engine = build_engine(strategy, starting_cash=starting_cash, risk=risk, clock=clock, keep_events=False,
                          broker=execution_client)
    if alerts is not None:
        alerts.attach(engine)
    runner = LiveRunner(engine, data_client, journal=jr, session_id=sid, durable_submit=True,
                        snapshot_interval=snapshot_interval, on_progress=on_progress, connect_timeout=connect_timeout)
    engine.record(ev.SessionStarted(ts_event=engine.now_ns(), session_id=sid, mode=mode, strategy=strategy_name,
                                    parameters=strategy.params.model_dump()))
    _stop_hook(runner, sid)
    return BrokerSession(sid, engine, runner, jr, data_client, [], data_client=data_client,  # type: ignore[arg-type]
                         execution_client=execution_client, mode=mode)


def resume_broker_session(
    session_id: str,
    *,
    journal: Any,
    data_client: DataClient,
    execution_client: ExecutionClient,
    clock: Any,
    warm_up_bars: Callable[[], list[Any]] | None = None,
    strategy: Any = None,
    snapshot_interval: float = 1.0,
    connect_timeout: float = 30.0,
    on_progress: Callable[[LiveRunner], None] | None = None,
) -> BrokerSession:
    """Restart a journaled broker session after a crash (DESIGN rule 5: rebuild + reconcile).

    The engine is rebuilt from the journal (orders, fills, positions, cash, order-id sequence,
    trading state); when the runner starts, the strategies start and are warmed up on
    ``warm_up_bars()`` (recent history from the broker: indicators only, their order calls ignored),
    ``SessionStarted(resumed=True)`` is journaled, and the execution client's first connect posts
    the broker's reports: the engine reconciles them before any new data is processed (fills made
    while the process was dead are booked once, orders the broker closed are closed, each with a
    ``ReconciliationCorrected``). Execution algorithms (TWAP/VWAP/POV parents) that were working
    resume right after that first reconciliation (:func:`workbench.execution.recovery.resume_after_reconciliation`).

    Raises
    ------
    JournalError
        Unknown session.
    ConfigError
        The journaled parameters cannot rebuild the strategy.
    """
    from workbench.engine.backtest import build_engine
    from workbench.engine.reconcile import rebuild, warm_up
    from workbench.execution.recovery import PARENT_EVENT_TYPES, resume_after_reconciliation

    jr = open_journal(journal)
    row = jr.session(session_id)
    saved = dict(row.get("parameters") or {})
    mode = str(row.get("mode") or "paper")
    if strategy is None:
        strategy = make_strategy(saved.get("strategy", "sma_crossover"), saved.get("params"))
    engine = build_engine(strategy, starting_cash=float(saved.get("starting_cash", 100_000.0)), clock=clock,
                          keep_events=False, broker=execution_client, risk=session_risk_engine(saved))
    rebuild(engine, jr.events(session_id))
    state = jr.load_state(session_id) or {}
    engine._order_seq = max(engine._order_seq, int(state.get("order_seq", 0)))
    # execution algorithms that were working resume once the broker's reports at connect are reconciled
    resume_after_reconciliation(engine, jr.events(session_id, types=list(PARENT_EVENT_TYPES)))
    runner = LiveRunner(engine, data_client, journal=jr, session_id=session_id, durable_submit=True,
                        snapshot_interval=snapshot_interval, on_progress=on_progress, connect_timeout=connect_timeout)
    original_start = engine.start

    def start() -> None:
        engine.warming_up = True
        try:
            original_start()
        finally:
            engine.warming_up = False
        if warm_up_bars is not None:
            runner.warmed_on = warm_up_bars()  # kept: a graduated session's shadow warms up on the same bars
            warm_up(engine, runner.warmed_on)
        engine.record(ev.SessionStarted(ts_event=engine.now_ns(), session_id=session_id, mode=mode,
                                        strategy=str(saved.get("strategy", "")),
                                        parameters=strategy.params.model_dump(), resumed=True))

    engine.start = start  # type: ignore[method-assign]
    _stop_hook(runner, session_id)
    return BrokerSession(session_id, engine, runner, jr, data_client, [], data_client=data_client,  # type: ignore[arg-type]
                         execution_client=execution_client, mode=mode)
