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
                  "emulator": emulator is not None}
    return broker_session(strategy, params=params, data_client=data, execution_client=execution, clock=clock,
                          mode=mode, parameters=parameters, connect_timeout=config.connect_timeout, **options)
