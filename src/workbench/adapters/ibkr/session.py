"""Sessions on Interactive Brokers (paper by default; live only with the explicit opt-in), or on the
local TWS emulator. One ``IB`` connection is shared by the data and the execution client.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from workbench.adapters.ibkr.config import IbkrConfig
from workbench.adapters.session import BrokerSession, broker_session
from workbench.errors import ConfigError

LIVE_CONFIRM_ENV = "WORKBENCH_CONFIRM_LIVE"


def ibkr_config(settings: IbkrConfig | Mapping[str, Any] | None = None, **overrides: Any) -> IbkrConfig:
    """An :class:`IbkrConfig` from a config, a mapping (e.g. a YAML section) and overrides.

    Raises
    ------
    ConfigError
        Naming the bad key and value.
    """
    from workbench.config import format_validation_error

    base = settings.model_dump() if isinstance(settings, IbkrConfig) else dict(settings or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return IbkrConfig.model_validate(base)
    except ValidationError as exc:
        raise format_validation_error(exc, root="ibkr", what="IB settings") from None


def ibkr_session(
    strategy: Any = "sma_crossover",
    *,
    params: Mapping[str, Any] | None = None,
    symbols: Iterable[str] | None = None,
    ibkr: IbkrConfig | Mapping[str, Any] | None = None,
    emulator: Any = None,
    live: bool = False,
    confirm_live: bool = False,
    speed: float | None = None,
    subscriptions: Iterable[str] = ("bars", "quotes"),
    **options: Any,
) -> BrokerSession:
    """A session trading ``strategy`` on IB through ib_async (TWS or IB Gateway).

    Parameters
    ----------
    strategy, params
        As :func:`workbench.session.paper_session`.
    symbols : list[str] | None
        Symbols to subscribe (default: the strategy's ``symbols``, else ``["SPY"]``).
    ibkr : IbkrConfig | mapping | None
        Connection settings (host, port, client id, account, read-only, pacing).
    emulator : TwsEmulator | None
        Trade against this local TWS emulator (its port; its market's speed).
    live : bool
        A live account (``paper=False``): refused unless ``confirm_live`` or
        ``WORKBENCH_CONFIRM_LIVE=yes``.
    speed : float | None
        Data time per wall time (1 = the real market; an emulator's replay speed by default).
    subscriptions : kinds
        ``bars`` (5-second real-time bars aggregated to ``bar_seconds``), ``quotes``, ``trades``, ``ticks``.
    **options
        Passed to :func:`workbench.adapters.session.broker_session` (journal, session_id, name,
        starting_cash, risk, alerts, snapshot_interval, on_progress).

    Raises
    ------
    ConfigError
        Invalid settings, or live trading without the explicit opt-in.
    """
    from workbench.adapters.ibkr.connection import IbkrConnection
    from workbench.adapters.ibkr.data import IbkrDataClient
    from workbench.adapters.ibkr.execution import IbkrExecutionClient
    from workbench.clock import ReplayClock

    overrides: dict[str, Any] = {}
    if emulator is not None:
        overrides = {"host": emulator.host, "port": emulator.port}
        if speed is None:
            speed = emulator.core.market.speed
    if live:
        overrides["paper"] = False
    config = ibkr_config(ibkr, **overrides)
    if not config.paper and not (confirm_live or os.environ.get(LIVE_CONFIRM_ENV, "").lower() == "yes"):
        raise ConfigError(f"ibkr: a live account needs an explicit opt-in: pass --confirm-live (or set "
                          f"{LIVE_CONFIRM_ENV}=yes); the default is always paper")
    if symbols is None:
        from workbench.session import make_strategy

        if isinstance(strategy, str):
            strategy = make_strategy(strategy, params)
        symbols = strategy.symbols or ["SPY"]
    symbols = [s.upper() for s in symbols]
    clock = ReplayClock(speed or 1.0, time.time_ns())
    connection = IbkrConnection(config)
    data = IbkrDataClient(connection, {kind: symbols for kind in subscriptions}, follow_clock=clock)
    execution = IbkrExecutionClient(connection)
    mode = "paper" if config.paper else "live"
    parameters = {"broker": "ibkr", "ibkr": config.model_dump(mode="json"), "symbols": symbols, "speed": speed,
                  "emulator": emulator is not None, **options.pop("parameters", {})}
    return broker_session(strategy, params=params, data_client=data, execution_client=execution, clock=clock,
                          mode=mode, parameters=parameters, connect_timeout=config.connect_timeout * 3, **options)


async def resume_ibkr_session(
    session_id: str,
    *,
    journal: Any = None,
    emulator: Any = None,
    ibkr: Mapping[str, Any] | None = None,
    warm_up_bars: int = 300,
    confirm_live: bool = False,
    snapshot_interval: float = 1.0,
    on_progress: Any = None,
) -> BrokerSession:
    """Restart a journaled IB session after a crash (DESIGN rule 5): rebuild from the journal,
    restore the IB order-id counter from the checkpoint (ids are never reused), warm the strategy
    up on IB's recent bars, and trade on; the reports posted at connect reconcile the engine with
    IB (fills made while it was down are booked once, corrections journaled).

    Raises
    ------
    ConfigError
        If the session is not an IB session, or is live without the explicit opt-in.
    """
    from workbench.adapters.ibkr.connection import IbkrConnection
    from workbench.adapters.ibkr.data import IbkrDataClient
    from workbench.adapters.ibkr.execution import IbkrExecutionClient
    from workbench.clock import ReplayClock
    from workbench.engine.backtest import build_engine
    from workbench.engine.live import LiveRunner
    from workbench.engine.reconcile import rebuild, warm_up
    from workbench.execution.recovery import PARENT_EVENT_TYPES, resume_after_reconciliation
    from workbench.model import events as ev
    from workbench.session import _stop_hook, make_strategy, open_journal, session_risk_engine

    jr = open_journal(journal)
    row = jr.session(session_id)
    saved = dict(row.get("parameters") or {})
    if saved.get("broker") != "ibkr":
        raise ConfigError(f"session {session_id}: not an IB session (broker {saved.get('broker', 'simulated')!r})")
    mode = str(row.get("mode") or "paper")
    overrides: dict[str, Any] = dict(ibkr or {})
    if emulator is not None:
        overrides.update(host=emulator.host, port=emulator.port)
    config = ibkr_config(saved.get("ibkr"), **overrides)
    if not config.paper and not (confirm_live or os.environ.get(LIVE_CONFIRM_ENV, "").lower() == "yes"):
        raise ConfigError("ibkr: resuming a live session needs the explicit opt-in (--confirm-live)")
    strategy = make_strategy(saved.get("strategy", "sma_crossover"), saved.get("params"))
    symbols = list(saved.get("symbols") or ["SPY"])
    speed = saved.get("speed") or (emulator.core.market.speed if emulator is not None else None)
    clock = ReplayClock(speed or 1.0, time.time_ns())
    connection = IbkrConnection(config)
    data = IbkrDataClient(connection, {"bars": symbols}, follow_clock=clock)
    execution = IbkrExecutionClient(connection)
    engine = build_engine(strategy, starting_cash=float(saved.get("starting_cash", 100_000.0)), clock=clock,
                          keep_events=False, broker=execution, risk=session_risk_engine(saved))
    rebuild(engine, jr.events(session_id))
    state = jr.load_state(session_id) or {}
    execution.restore(state.get("broker") or {})
    engine._order_seq = max(engine._order_seq, int(state.get("order_seq", 0)))
    # execution algorithms that were working resume once IB's reports at connect are reconciled
    resume_after_reconciliation(engine, jr.events(session_id, types=list(PARENT_EVENT_TYPES)))
    history: list[Any] = []
    if warm_up_bars:
        await connection.connect()
        history = await data.recent_bars(symbols, warm_up_bars)
        if history:
            clock.rebase(history[-1].ts_init)
    original_start = engine.start

    def start() -> None:  # strategies start, warm up on the bars, then trade; IB's reports reconcile at connect
        engine.warming_up = True
        try:
            original_start()
        finally:
            engine.warming_up = False
        runner.warmed_on = history  # kept: a graduated session's shadow warms up on the same bars
        warm_up(engine, history)
        engine.record(ev.SessionStarted(ts_event=engine.now_ns(), session_id=session_id, mode=mode,
                                        strategy=saved.get("strategy", ""), parameters=strategy.params.model_dump(),
                                        resumed=True))

    engine.start = start  # type: ignore[method-assign]
    runner = LiveRunner(engine, data, journal=jr, session_id=session_id, durable_submit=True,
                        snapshot_interval=snapshot_interval, on_progress=on_progress,
                        connect_timeout=config.connect_timeout * 3)
    _stop_hook(runner, session_id)
    return BrokerSession(session_id, engine, runner, jr, data, [], data_client=data,  # type: ignore[arg-type]
                         execution_client=execution, mode=mode)
