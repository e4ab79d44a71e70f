"""Events: facts that happened (past tense). Every state change in the engine is one of these.

Every event is a frozen dataclass with keyword-only fields and a ``ts_event`` (ns since epoch
UTC, when it happened). Events other than market data are written to the journal; the
:mod:`workbench.persistence.serde` module encodes any class listed in :data:`EVENT_TYPES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.model.enums import (
    ContingencyType,
    LiquiditySide,
    OrderSide,
    OrderType,
    TimeInForce,
    TradingState,
    TrailingOffsetType,
)

_EV = {"frozen": True, "slots": True, "kw_only": True}


@dataclass(**_EV)
class Event:
    """Base class: ``ts_event`` is when it happened, ns since epoch UTC."""

    ts_event: int


# ----------------------------------------------------------------------------------------- orders
@dataclass(**_EV)
class OrderEvent(Event):
    order_id: str
    symbol: str


@dataclass(**_EV)
class OrderInitialized(OrderEvent):
    """An order was created by a strategy or a user; carries its full specification."""

    side: OrderSide
    order_type: OrderType
    quantity: float
    time_in_force: TimeInForce = TimeInForce.GTC
    limit_price: float | None = None
    stop_price: float | None = None
    trailing_offset: float | None = None
    trailing_offset_type: TrailingOffsetType | None = None
    expire_time_ns: int | None = None
    reduce_only: bool = False
    parent_order_id: str | None = None
    contingency: ContingencyType = ContingencyType.NONE
    linked_order_ids: tuple[str, ...] = ()
    strategy_id: str = ""
    tag: str = ""


@dataclass(**_EV)
class OrderDenied(OrderEvent):
    """The risk engine refused the order before it reached a broker."""

    reason: str
    rule: str = ""


@dataclass(**_EV)
class OrderSubmitted(OrderEvent):
    """The order passed risk checks and was sent to the broker."""


@dataclass(**_EV)
class OrderAccepted(OrderEvent):
    broker_order_id: str = ""


@dataclass(**_EV)
class OrderRejected(OrderEvent):
    reason: str


@dataclass(**_EV)
class OrderTriggered(OrderEvent):
    """A stop-limit order's stop was hit; it now rests as a limit order."""


@dataclass(**_EV)
class OrderPendingCancel(OrderEvent):
    pass


@dataclass(**_EV)
class OrderCanceled(OrderEvent):
    reason: str = ""


@dataclass(**_EV)
class OrderCancelRejected(OrderEvent):
    reason: str


@dataclass(**_EV)
class OrderPendingReplace(OrderEvent):
    pass


@dataclass(**_EV)
class OrderModified(OrderEvent):
    """The broker accepted new terms for the order."""

    quantity: float
    limit_price: float | None = None
    stop_price: float | None = None


@dataclass(**_EV)
class OrderModifyRejected(OrderEvent):
    reason: str


@dataclass(**_EV)
class OrderExpired(OrderEvent):
    pass


@dataclass(**_EV)
class OrderFilled(OrderEvent):
    """An execution (fill) of ``last_quantity`` shares at ``last_price``.

    ``commission`` is in ``currency``; ``liquidity_side`` says whether the fill added (MAKER)
    or took (TAKER) liquidity.
    """

    fill_id: str
    side: OrderSide
    last_quantity: float
    last_price: float
    commission: float = 0.0
    currency: str = "USD"
    liquidity_side: LiquiditySide = LiquiditySide.TAKER


# -------------------------------------------------------------------------------------- positions
@dataclass(**_EV)
class PositionEvent(Event):
    """State of a position after a fill.

    ``quantity`` is signed (shares; negative = short); ``avg_price`` is the average entry price;
    ``realized_pnl`` is cumulative for this position's life, in currency, net of commissions.
    """

    symbol: str
    quantity: float
    avg_price: float
    realized_pnl: float
    last_fill_id: str = ""


@dataclass(**_EV)
class PositionOpened(PositionEvent):
    pass


@dataclass(**_EV)
class PositionChanged(PositionEvent):
    pass


@dataclass(**_EV)
class PositionClosed(PositionEvent):
    pass


@dataclass(**_EV)
class AccountState(Event):
    """Snapshot of the account: ``cash`` and ``equity`` in ``currency``; exposures in currency."""

    cash: float
    equity: float
    gross_exposure: float = 0.0
    net_exposure: float = 0.0
    realized_pnl: float = 0.0
    unrealized_pnl: float = 0.0
    commissions: float = 0.0
    currency: str = "USD"


# -------------------------------------------------------------------------- signals, risk, alerts
@dataclass(**_EV)
class SignalGenerated(Event):
    """A trading decision by a strategy (the ``LiveSignal`` shape).

    ``direction`` is +1 (long), -1 (short) or 0 (flat); ``confidence`` in [0, 1]; prices in
    currency; ``size`` in shares; ``inputs`` are the indicator values behind the decision.
    """

    symbol: str
    direction: int
    strategy_id: str = ""
    confidence: float = 1.0
    entry: float | None = None
    target: float | None = None
    stop: float | None = None
    size: float | None = None
    reason: str = ""
    inputs: dict[str, float] = field(default_factory=dict)
    signal_id: str = ""
    scan_id: str = ""


@dataclass(**_EV)
class ScanCompleted(Event):
    """A scan ranked a universe (see :mod:`workbench.scanning`).

    ``as_of_ns`` is the data time the scan saw (ns since epoch UTC); ``table`` the ranked rows
    (symbol, factor values, contributions, score, rank, passed, reason, selected); ``changes`` the
    rows of :func:`workbench.scanning.detect_changes` against the previous scan; ``selected`` the
    symbols picked, best first.
    """

    scan_id: str
    name: str
    as_of_ns: int
    strategy_id: str = ""
    universe_size: int = 0
    selected: tuple[str, ...] = ()
    table: object = None
    changes: object = None


@dataclass(**_EV)
class RiskEvent(Event):
    """A risk rule fired: ``rule`` name, human ``message``, and the ``action`` taken."""

    rule: str
    message: str
    action: str = "deny"
    symbol: str = ""
    value: float | None = None
    limit: float | None = None


@dataclass(**_EV)
class TradingStateChanged(Event):
    state: TradingState
    reason: str = ""


@dataclass(**_EV)
class AlertRaised(Event):
    level: str
    title: str
    message: str
    action: str = ""
    source: str = ""


# ----------------------------------------------------------------------------- commands, session
@dataclass(**_EV)
class CommandReceived(Event):
    command_id: int
    name: str
    args: dict[str, object] = field(default_factory=dict)
    source: str = ""


@dataclass(**_EV)
class CommandAcknowledged(Event):
    command_id: int
    name: str
    ok: bool = True
    detail: str = ""


@dataclass(**_EV)
class ConnectionStatusChanged(Event):
    """A feed or broker connection changed state.

    ``state`` is one of CONNECTING, CONNECTED, RECONNECTING, DISCONNECTED (live adapters, see
    :mod:`workbench.adapters.base`); ``""`` for in-process components, which only report
    ``connected``. ``kind`` is the connection's documented role, ``"execution"`` or ``"data"``
    (what the broker-disconnect breaker watches, :mod:`workbench.risk.disconnect`).
    """

    component: str
    connected: bool
    detail: str = ""
    state: str = ""
    kind: str = ""  # "execution" or "data" (live adapters' clients); "" for in-process components


@dataclass(**_EV)
class ConnectionHealthReported(Event):
    """Health of one live connection (the dashboard's health panel), journaled periodically.

    ``reconnects`` and ``rate_limit_hits`` (HTTP 429 answers, retried or not) count since the
    session started; ``last_message_age`` is seconds since the last message arrived on the
    connection (None before the first); ``messages`` counts messages received.
    """

    component: str
    state: str
    reconnects: int = 0
    messages: int = 0
    last_message_age: float | None = None
    rate_limit_hits: int = 0
    errors: int = 0
    detail: str = ""


@dataclass(**_EV)
class SessionStarted(Event):
    session_id: str
    mode: str
    strategy: str = ""
    parameters: dict[str, object] = field(default_factory=dict)
    resumed: bool = False


@dataclass(**_EV)
class SessionStopped(Event):
    session_id: str
    reason: str = ""


@dataclass(**_EV)
class ReconciliationCorrected(Event):
    """Crash recovery found the journal and the broker disagreeing and corrected the journal."""

    kind: str
    detail: str
    order_id: str = ""
    symbol: str = ""


EVENT_TYPES: tuple[type[Event], ...] = (
    OrderInitialized,
    OrderDenied,
    OrderSubmitted,
    OrderAccepted,
    OrderRejected,
    OrderTriggered,
    OrderPendingCancel,
    OrderCanceled,
    OrderCancelRejected,
    OrderPendingReplace,
    OrderModified,
    OrderModifyRejected,
    OrderExpired,
    OrderFilled,
    PositionOpened,
    PositionChanged,
    PositionClosed,
    AccountState,
    SignalGenerated,
    ScanCompleted,
    RiskEvent,
    TradingStateChanged,
    AlertRaised,
    CommandReceived,
    CommandAcknowledged,
    ConnectionStatusChanged,
    ConnectionHealthReported,
    SessionStarted,
    SessionStopped,
    ReconciliationCorrected,
)


# ---------------------------------------------- kill switch, fills, strategy failures, order updates (issue 9)
@dataclass(**_EV)
class KillSwitchEngaged(Event):
    """The kill switch was pulled (``flatten``: positions are being closed). Trading stays HALTED until a
    :class:`KillSwitchReset`; ``Resume`` does not undo it."""

    reason: str
    flatten: bool = True


@dataclass(**_EV)
class KillSwitchReset(Event):
    """The kill switch was deliberately reset (a confirmed ``ResetKillSwitch``): ``by`` whom, from which
    ``source`` (cli, api, notebook, dashboard) and why (``reason``). Trading is ACTIVE again."""

    reason: str
    by: str = ""
    source: str = ""


@dataclass(**_EV)
class DuplicateFillIgnored(Event):
    """A fill whose execution id (``fill_id``) was already booked arrived again; nothing changed.

    Not an :class:`OrderEvent`: it does not move the order (rebuild skips it)."""

    order_id: str
    symbol: str
    fill_id: str
    last_quantity: float
    last_price: float


@dataclass(**_EV)
class ExternalFillBooked(Event):
    """A fill for an order this engine never created (placed in the broker's app, by another process)
    was booked under the ``EXTERNAL`` strategy id as order ``order_id`` (``broker_order_id`` as
    reported)."""

    order_id: str
    symbol: str
    fill_id: str
    side: OrderSide
    last_quantity: float
    last_price: float
    broker_order_id: str = ""


@dataclass(**_EV)
class StrategyFailed(Event):
    """A strategy's handler raised: ``handler`` name, ``error`` (type and message), ``traceback`` text,
    and the ``action`` taken per the containment policy (``halt``, ``pause`` or ``keep``)."""

    strategy_id: str
    handler: str
    error: str
    traceback: str = ""
    action: str = "halt"


@dataclass(**_EV)
class OrderUpdated(OrderEvent):
    """The engine changed an order it holds (not yet at a broker), e.g. a bracket exit resized to the
    entry's filled quantity; the status does not change. ``quantity`` in shares, prices in currency."""

    quantity: float
    limit_price: float | None = None
    stop_price: float | None = None
    reason: str = ""


EVENT_TYPES += (
    KillSwitchEngaged,
    KillSwitchReset,
    DuplicateFillIgnored,
    ExternalFillBooked,
    StrategyFailed,
    OrderUpdated,
)


# ----------------------------------------------------------------- execution algorithms (issue 16)
@dataclass(**_EV)
class ParentOrderEvent(Event):
    """Base of the events of a parent order worked by an execution algorithm (:mod:`workbench.execution`)."""

    parent_id: str
    symbol: str


@dataclass(**_EV)
class ParentOrderStarted(ParentOrderEvent):
    """An algorithm took a parent order: ``quantity`` shares on ``side`` over ``start_ns``..``end_ns`` (ns
    since epoch UTC); ``arrival_price`` (currency) is the mid (or last trade) when it started; ``params`` the
    algorithm's settings."""

    side: OrderSide
    quantity: float
    algorithm: str
    start_ns: int
    end_ns: int
    arrival_price: float | None = None
    limit_price: float | None = None
    strategy_id: str = ""
    params: dict[str, object] = field(default_factory=dict)


@dataclass(**_EV)
class ParentOrderChildSent(ParentOrderEvent):
    """The algorithm sent child order ``order_id`` for ``quantity`` shares (``scheduled`` = its plan so far)."""

    order_id: str
    quantity: float
    scheduled: float = 0.0


@dataclass(**_EV)
class ParentOrderProgressed(ParentOrderEvent):
    """A child filled: ``filled_quantity`` of the parent so far at ``avg_price`` (currency)."""

    filled_quantity: float
    avg_price: float
    last_order_id: str = ""


@dataclass(**_EV)
class ParentOrderModified(ParentOrderEvent):
    """The parent's total ``quantity`` (shares) or ``limit_price`` guard changed; the rest is rescheduled."""

    quantity: float
    limit_price: float | None = None


@dataclass(**_EV)
class ParentOrderCompleted(ParentOrderEvent):
    """The parent is done: ``filled_quantity`` of ``quantity`` at ``avg_price``; ``reason`` ``filled`` or
    ``horizon ended`` (the rest unfilled)."""

    quantity: float
    filled_quantity: float
    avg_price: float
    reason: str = "filled"


@dataclass(**_EV)
class ParentOrderCanceled(ParentOrderEvent):
    """The parent was canceled as a whole (its working children canceled): ``reason`` (user, kill switch)."""

    filled_quantity: float
    reason: str = ""


EVENT_TYPES += (
    ParentOrderStarted,
    ParentOrderChildSent,
    ParentOrderProgressed,
    ParentOrderModified,
    ParentOrderCompleted,
    ParentOrderCanceled,
)


# ------------------------------------------------------------- graduation: live size multiplier (issue 14)
@dataclass(**_EV)
class SizeMultiplierChanged(Event):
    """The live session's size multiplier changed (:mod:`workbench.engine.sizing`): from ``old`` to
    ``new`` (fractions of the strategy's full size; ``old`` 0.0 at the first setting), after its
    signals and fills agreed with its paper shadow's on ``agreement`` (0..1; None: nothing to compare)
    of the last window; ``reason`` says which rule moved it. New orders use ``new``; a rebuild from
    the journal restores the last one."""

    old: float
    new: float
    agreement: float | None = None
    reason: str = ""
    shadow_session_id: str = ""


EVENT_TYPES += (SizeMultiplierChanged,)


# ------------------------------------------------------------- risk: closing prices for VaR / correlation
@dataclass(**_EV)
class ClosingPricesSampled(Event):
    """The risk engine's price history (:class:`workbench.risk.history.PriceHistory`) took the last
    price of every symbol at an exchange session's close: ``prices`` maps symbol -> price (currency
    per share). The daily returns of the VaR and correlation limits come from these; a rebuild from
    the journal restores them, so a restarted session does not start its window from nothing."""

    prices: dict[str, float] = field(default_factory=dict)


EVENT_TYPES += (ClosingPricesSampled,)
