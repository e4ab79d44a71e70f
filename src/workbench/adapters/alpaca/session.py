"""Sessions on Alpaca (paper by default; live only with the explicit opt-in), or on the local emulator."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from workbench.adapters.alpaca.config import AlpacaConfig, load_alpaca_config
from workbench.adapters.session import BrokerSession, broker_session
from workbench.errors import ConfigError

LIVE_CONFIRM_ENV = "WORKBENCH_CONFIRM_LIVE"


def alpaca_session(
    strategy: Any = "sma_crossover",
    *,
    params: Mapping[str, Any] | None = None,
    symbols: Iterable[str] | None = None,
    alpaca: AlpacaConfig | Mapping[str, Any] | None = None,
    emulator: Any = None,
    live: bool = False,
    confirm_live: bool = False,
    speed: float | None = None,
    subscriptions: Iterable[str] = ("bars", "quotes"),
    **options: Any,
) -> BrokerSession:
    """A session trading ``strategy`` on Alpaca through alpaca-py.

    Parameters
    ----------
    strategy, params
        As :func:`workbench.session.paper_session`.
    symbols : list[str] | None
        Symbols to subscribe (default: the strategy's ``symbols``, else ``["SPY"]``).
    alpaca : AlpacaConfig | mapping | None
        Settings (keys come from the environment / ``.env``; see :mod:`.config`).
    emulator : AlpacaEmulator | None
        Trade against this local emulator (its URLs and fake keys; its market's speed).
    live : bool
        A live account (``paper=False``): refused unless ``confirm_live`` or
        ``WORKBENCH_CONFIRM_LIVE=yes`` (the default is always paper).
    speed : float | None
        Speed of the stream's data time relative to the wall clock (1 = the real market; an
        emulator's replay speed by default).
    subscriptions : kinds
        Market data kinds to subscribe for ``symbols`` (``bars``, ``quotes``, ``trades``).
    **options
        Passed to :func:`workbench.adapters.session.broker_session` (journal, session_id, name,
        starting_cash, risk, alerts, snapshot_interval, on_progress).

    Raises
    ------
    ConfigError
        Missing keys, invalid settings, or live trading without the explicit opt-in.
    """
    from workbench.adapters.alpaca.data import AlpacaDataClient
    from workbench.adapters.alpaca.execution import AlpacaExecutionClient
    from workbench.clock import ReplayClock

    if emulator is not None:
        config = AlpacaConfig.for_emulator(emulator, **dict(alpaca or {}) if isinstance(alpaca, Mapping) else {})
        if speed is None:
            speed = emulator.core.market.speed
    elif isinstance(alpaca, AlpacaConfig):
        config = alpaca
    else:
        config = load_alpaca_config(dict(alpaca or {}))
    if live:
        config = config.model_copy(update={"paper": False})
    if not config.paper and not (confirm_live or os.environ.get(LIVE_CONFIRM_ENV, "").lower() == "yes"):
        raise ConfigError(f"alpaca: a live account needs an explicit opt-in: pass --confirm-live (or set "
                          f"{LIVE_CONFIRM_ENV}=yes); the default is always paper")
    config.credentials()  # fail early, naming the variables
    if symbols is None:
        from workbench.session import make_strategy

        if isinstance(strategy, str):
            strategy = make_strategy(strategy, params)
        symbols = strategy.symbols or ["SPY"]
    symbols = [s.upper() for s in symbols]
    clock = ReplayClock(speed or 1.0, time.time_ns())
    data = AlpacaDataClient(config, {kind: symbols for kind in subscriptions}, follow_clock=clock)
    execution = AlpacaExecutionClient(config)
    mode = "paper" if config.paper else "live"
    parameters = {"broker": "alpaca", "alpaca": config.public(), "symbols": symbols, "speed": speed,
                  "emulator": emulator is not None, "subscriptions": list(subscriptions), **options.pop("parameters", {})}
    return broker_session(strategy, params=params, data_client=data, execution_client=execution, clock=clock,
                          mode=mode, parameters=parameters, connect_timeout=config.connect_timeout, **options)


def resume_alpaca_session(
    session_id: str,
    *,
    journal: Any = None,
    alpaca: AlpacaConfig | Mapping[str, Any] | None = None,
    emulator: Any = None,
    confirm_live: bool = False,
    warm_up_minutes: int = 390,
    **options: Any,
) -> BrokerSession:
    """Restart a journaled Alpaca session after a crash (``workbench paper --broker alpaca --resume SID``).

    Keys come from the environment as for a new session (never from the journal, which holds none);
    the journaled public settings (feed, URLs) are reused unless ``alpaca`` overrides them. Strategies
    are warmed up on the last ``warm_up_minutes`` minute bars from Alpaca's historical API (one
    blocking request while the session starts); then the reconciliation of the first connect books
    what happened at the broker while the process was dead.

    Raises
    ------
    ConfigError
        Missing keys, or a live session without the explicit opt-in.
    """
    from workbench.adapters.alpaca.data import AlpacaDataClient
    from workbench.adapters.alpaca.execution import AlpacaExecutionClient
    from workbench.adapters.session import resume_broker_session
    from workbench.clock import ReplayClock
    from workbench.model import events as ev
    from workbench.session import open_journal

    jr = open_journal(journal)
    saved = dict(jr.session(session_id).get("parameters") or {})
    public = {k: v for k, v in dict(saved.get("alpaca") or {}).items() if v is not None}
    overrides = dict(alpaca or {}) if isinstance(alpaca, Mapping) else {}
    if emulator is not None:
        config = AlpacaConfig.for_emulator(emulator, **{**public, **overrides, "paper": True})
    elif isinstance(alpaca, AlpacaConfig):
        config = alpaca
    else:
        config = load_alpaca_config({**public, **overrides})
    if not config.paper and not (confirm_live or os.environ.get(LIVE_CONFIRM_ENV, "").lower() == "yes"):
        raise ConfigError("alpaca: resuming a live session needs the explicit opt-in (--confirm-live)")
    config.credentials()
    symbols = list(saved.get("symbols") or ["SPY"])
    speed = saved.get("speed") or 1.0
    order_times = [e.ts_event for e in jr.events(session_id, types=[ev.OrderInitialized])]
    since = min(order_times) - 60_000_000_000 if order_times else None
    clock = ReplayClock(float(speed), time.time_ns())
    kinds = list(saved.get("subscriptions") or ["bars", "quotes"])
    data = AlpacaDataClient(config, {kind: symbols for kind in kinds}, follow_clock=clock)
    execution = AlpacaExecutionClient(config, since_ns=since)

    def warm_up_bars() -> list[Any]:
        now = parsing_ns(execution.rest.get_clock().timestamp)
        bars = data.historical_bars_blocking(symbols, now - warm_up_minutes * 60_000_000_000, now + 1)
        if bars:
            clock.rebase(bars[-1].ts_init)
        return bars

    return resume_broker_session(session_id, journal=jr, data_client=data, execution_client=execution, clock=clock,
                                 warm_up_bars=warm_up_bars, connect_timeout=config.connect_timeout, **options)


def parsing_ns(value: Any) -> int:
    from workbench.adapters.alpaca.parsing import ns_of

    return ns_of(value)
