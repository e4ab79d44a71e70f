"""Settings of the Interactive Brokers adapter (TWS or IB Gateway over the TWS API socket).

Ports (IB's defaults): TWS 7497 paper / 7496 live, IB Gateway 4002 paper / 4001 live. ``paper``
is the default; ``paper=False`` is live trading, which also needs the session's explicit opt-in
(``--confirm-live`` or ``WORKBENCH_CONFIRM_LIVE=yes``, see :mod:`workbench.config`). A live port
with ``paper=True`` (or the reverse) is refused, so a typo cannot route paper orders to a live
account.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PAPER_PORTS = {"tws": 7497, "gateway": 4002}
LIVE_PORTS = {"tws": 7496, "gateway": 4001}


class IbkrConfig(BaseModel):
    """Connection and pacing settings.

    Parameters
    ----------
    host : str
        TWS / Gateway host; 127.0.0.1 by default.
    port : int | None
        None = IB's default for ``application`` and ``paper``.
    application : "tws" | "gateway"
    paper : bool
        True (default): a paper account. False: live (explicit opt-in needed at the session).
    client_id : int
        First client id tried; on error 326 (in use) the next ``client_id_attempts - 1`` ids are tried.
    account : str
        Account id (e.g. ``DU123``); "" = the only managed account.
    read_only : bool
        Connect read-only (no orders; market data and reports only).
    connect_timeout : float
        Seconds for the handshake and the connect sync.
    reconnect_delays : tuple of float
        Backoff between reconnect attempts (seconds); the last one repeats.
    max_reconnect_attempts : int
        0 = keep trying.
    messages_per_second : float
        IB's limit is 50/s; the client throttles to 45.
    historical_requests_per_10min : int
        IB's pacing limit for historical data (about 60 per 10 minutes; beyond it error 162).
    historical_window : float
        The pacing window in seconds (600; tests shorten it).
    bar_seconds : int
        The strategy's bar size: 5-second real-time bars are aggregated to it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int | None = Field(None, ge=1, le=65535)
    application: Literal["tws", "gateway"] = "tws"
    paper: bool = True
    client_id: int = Field(1, ge=0)
    client_id_attempts: int = Field(5, ge=1, le=100)
    account: str = ""
    read_only: bool = False
    connect_timeout: float = Field(10.0, gt=0)
    reconnect_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
    max_reconnect_attempts: int = Field(0, ge=0)
    messages_per_second: float = Field(45.0, gt=0, le=50)
    historical_requests_per_10min: int = Field(60, ge=1)
    historical_window: float = Field(600.0, gt=0, description="seconds of IB's historical pacing window")
    bar_seconds: int = Field(60, ge=5)
    use_real_time_bars: bool = True
    tick_by_tick: bool = False

    @model_validator(mode="after")
    def _ports_match_mode(self) -> IbkrConfig:
        if self.port is not None:
            wrong = LIVE_PORTS if self.paper else PAPER_PORTS
            if self.port in wrong.values():
                kind = "live" if self.paper else "paper"
                raise ValueError(f"port {self.port} is IB's {kind} port but paper={self.paper}")
        if self.bar_seconds % 5:
            raise ValueError(f"bar_seconds must be a multiple of 5 (real-time bars are 5 s), got {self.bar_seconds}")
        return self

    @property
    def resolved_port(self) -> int:
        """The port to connect to (IB's default for the application and mode when unset)."""
        if self.port is not None:
            return self.port
        return (PAPER_PORTS if self.paper else LIVE_PORTS)[self.application]
