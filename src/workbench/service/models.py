"""Response and request models of the API (pydantic), named and in units as the domain model.

Times are ``int`` ns since epoch UTC (``ts_*``); money in the row's ``currency`` (USD by
default); quantities in shares (positions signed: + long, - short); ``seq`` is the journal
sequence number of the event that wrote the row. A float the journal stored as NaN is ``null``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Alert", "CommandAck", "CommandRequest", "EquitySnapshot", "Fill", "Health", "Order", "PageOf", "Pnl",
    "Position", "Risk", "RiskEvent", "RiskLimit", "Session", "Signal",
]

T = TypeVar("T")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PageOf(_Model, Generic[T]):
    """A page of rows in ``seq`` order; pass ``next_after_seq`` as ``after_seq`` for the next one (None: no more)."""

    items: list[T]
    next_after_seq: int | None = None


class SessionPage(_Model):
    """A page of sessions in creation order; pass ``next_after`` as ``after`` for the next one."""

    items: list[Session]
    next_after: str | None = None


class Session(_Model):
    session_id: str
    name: str
    mode: str = Field(description="backtest | paper | live")
    strategy: str
    parameters: dict[str, Any]
    status: str = Field(description="created | running | stopped")
    ts_created: int
    ts_started: int | None = None
    ts_stopped: int | None = None
    last_seq: int
    owner_name: str | None = None
    owner_pid: int | None = None
    owner_host: str | None = None
    ts_heartbeat: int | None = None


class Position(_Model):
    symbol: str
    quantity: float | None = Field(description="shares, signed (+ long, - short)")
    avg_price: float | None = Field(description="average entry price, currency per share")
    realized_pnl: float | None = Field(description="currency")
    status: str = Field(description="open | closed")
    last_fill_id: str
    ts_opened: int
    ts_last: int
    seq: int


class Order(_Model):
    order_id: str
    symbol: str
    side: str
    order_type: str
    quantity: float | None = Field(description="shares")
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: str
    status: str
    filled_quantity: float | None = None
    avg_fill_price: float | None = None
    commission: float | None = None
    broker_order_id: str
    reason: str
    strategy_id: str
    tag: str
    ts_init: int
    ts_last: int
    seq: int


class Fill(_Model):
    seq: int
    ts_event: int
    fill_id: str
    order_id: str
    symbol: str
    side: str
    quantity: float | None = Field(description="shares filled (unsigned)")
    price: float | None = Field(description="currency per share")
    commission: float | None = Field(description="currency")
    currency: str
    liquidity_side: str


class Signal(_Model):
    seq: int
    ts_event: int
    symbol: str
    direction: int = Field(description="+1 long, -1 short, 0 flat")
    strategy_id: str
    confidence: float | None = None
    entry: float | None = None
    target: float | None = None
    stop: float | None = None
    size: float | None = None
    reason: str
    inputs: dict[str, Any]


class Alert(_Model):
    seq: int
    ts_event: int
    level: str
    title: str
    message: str
    action: str
    source: str


class RiskEvent(_Model):
    seq: int
    ts_event: int
    kind: str = Field(description="risk | order_denied | trading_state")
    rule: str
    message: str
    action: str
    symbol: str
    order_id: str
    value: float | None = None
    limit: float | None = None
    state: str | None = None


class EquitySnapshot(_Model):
    seq: int
    ts_event: int
    cash: float | None
    equity: float | None
    gross_exposure: float | None
    net_exposure: float | None
    realized_pnl: float | None
    unrealized_pnl: float | None
    commissions: float | None
    currency: str


class Pnl(_Model):
    """Profit and loss in ``currency`` from the latest journaled account state (see :func:`reads.pnl`)."""

    session_id: str
    seq: int | None
    ts_event: int | None
    currency: str
    equity: float
    cash: float
    realized: float
    unrealized: float
    commissions: float
    total: float = Field(description="equity - starting equity")
    day: float = Field(description="equity - equity at the start of the New York day")
    starting_equity: float
    day_start_equity: float


class RiskLimit(_Model):
    rule: str
    value: float
    limit: float
    used_percent: float | None = Field(description="100 x |value| / |limit|")
    ts_event: int
    seq: int


class Risk(_Model):
    session_id: str
    trading_state: str = Field(description="ACTIVE | REDUCE_ONLY | HALTED")
    reason: str
    state_seq: int | None
    limits: list[RiskLimit]
    configured: dict[str, Any] | None = None


class Connection(_Model):
    connected: bool
    detail: str
    ts_event: int


class Health(_Model):
    session_id: str
    status: str
    mode: str
    last_seq: int
    last_event_age: float | None = Field(description="seconds since the newest event was written")
    event_rate: float = Field(description="events written per second over the last 10 s")
    heartbeat_age: float | None = Field(description="seconds since the engine's last heartbeat; None: no engine")
    owner_pid: int | None = None
    owner_host: str | None = None
    connections: dict[str, Connection]


class CommandRequest(_Model):
    """A control command: ``name`` as in ``workbench ctl`` and ``args`` its fields."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="pause | resume | cancel_all | flatten | kill | submit_order | set_limit | ...")
    args: dict[str, Any] = Field(default_factory=dict)
    wait: float = Field(5.0, ge=0.0, le=30.0, description="seconds to wait for the engine's acknowledgement")
    expires_after: float | None = Field(
        None, gt=0, description="seconds after which the engine journals the command as expired instead of "
        "carrying it out (default: the journal's default expiry, as for workbench ctl and the dashboard)")


class CommandAck(_Model):
    """A command as queued and, once the engine answered, acknowledged or rejected."""

    command_id: int
    session_id: str
    name: str
    args: dict[str, Any]
    source: str
    status: str = Field(description="pending | acknowledged | rejected")
    detail: str
    ts_created: int
    ts_acknowledged: int | None = None
    ack_seq: int | None = Field(None, description="seq of the journaled CommandAcknowledged")
    ts_expires: int | None = Field(None, description="when the command expires if not carried out (ns)")


SessionPage.model_rebuild()


class ShadowSide(_Model):
    """One side of a live/paper-shadow pair (:mod:`workbench.operations.shadow_report`); currency
    amounts (None before the first account state), positions in signed shares."""

    session_id: str
    mode: str
    equity: float | None
    cash: float | None
    pnl: float | None = Field(description="equity - starting cash")
    realized_pnl: float | None
    unrealized_pnl: float | None
    commissions: float | None
    positions: dict[str, float]
    fills: int
    signals: int


class SizeMultiplierChange(_Model):
    """A journaled ``SizeMultiplierChanged`` of the live session."""

    ts_event: int = Field(description="ns since epoch UTC")
    old: float
    new: float
    agreement: float | None = Field(description="the window's live/shadow agreement, 0..1")
    reason: str


class ShadowPair(_Model):
    """A graduated live session beside its paper shadow."""

    live: ShadowSide
    shadow: ShadowSide
    signal_agreement: float | None = Field(description="0..1 over the whole run; None without signals")
    multiplier: float | None = Field(description="the live size multiplier now")
    history: list[SizeMultiplierChange]
