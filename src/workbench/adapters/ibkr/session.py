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
                  "emulator": emulator is not None}
    return broker_session(strategy, params=params, data_client=data, execution_client=execution, clock=clock,
                          mode=mode, parameters=parameters, connect_timeout=config.connect_timeout * 3, **options)
