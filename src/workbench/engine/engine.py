"""TradingEngine: one object graph for backtest, paper and live.

Only the clock, the feed and the broker differ between modes. The engine processes one input at a
time, synchronously (DESIGN rule 1):

* market data enters through :meth:`TradingEngine.on_bar`, :meth:`on_quote`, :meth:`on_trade`
  (or :meth:`process`, which dispatches on type): the clock advances (firing due timers), a
  simulated broker matches working orders, the portfolio is marked, then strategies see the data;
* strategies call the order helpers, which go through the risk engine before the broker;
* broker events are queued and handled in arrival order after the current step: each is applied
  to its order (the state machine validates it), recorded (journal), booked in the portfolio,
  and passed on to strategies and bus subscribers.

Every non-market-data event goes through :meth:`TradingEngine.record`, which appends it to
``events`` (when kept) and hands it to ``event_sink`` (the journal in paper/live runs) *before*
its effects are passed on.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from workbench.brokers.base import Broker
from workbench.clock import Clock, SimClock
from workbench.errors import InvalidStateTransition
from workbench.model import commands as cmd
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import (
    ContingencyType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradingState,
    TrailingOffsetType,
)
from workbench.model.instruments import Instrument
from workbench.model.orders import Order
from workbench.portfolio.portfolio import Portfolio
from workbench.risk.engine import RiskEngine

if TYPE_CHECKING:
    from workbench.engine.strategy import Strategy

EventSink = Callable[[ev.Event], None]

EXTERNAL_STRATEGY_ID = "EXTERNAL"
"""Strategy id of orders the engine did not create but the broker reported fills for (NautilusTrader's
``StrategyId("EXTERNAL")``)."""


class TradingEngine:
    """The engine.

    Parameters
    ----------
    broker : Broker
        Receives approved orders; a broker with ``on_bar``/``on_quote``/``on_trade`` (the simulated
        broker) is also fed the market data, before strategies see it.
    clock : Clock | None
        ``SimClock`` (default) for backtests, ``LiveClock`` for paper/live.
    portfolio : Portfolio | None
    risk : RiskEngine | None
    instruments : Mapping[str, Instrument] | None
    event_sink : Callable[[Event], None] | None
        Called with every non-market-data event before its effects are passed on (the journal).
    keep_events : bool
        Keep every recorded event in ``self.events`` (backtest results, parity checks).
    record_equity : bool
        Record (ts, equity) once per distinct data timestamp.
    """

    def __init__(
        self,
        broker: Broker,
        *,
        clock: Clock | None = None,
        portfolio: Portfolio | None = None,
        risk: RiskEngine | None = None,
        instruments: Mapping[str, Instrument] | None = None,
        event_sink: EventSink | None = None,
        keep_events: bool = True,
        record_equity: bool = True,
        starting_cash: float = 100_000.0,
        order_id_prefix: str = "O-",
    ) -> None:
        self.clock: Any = clock if clock is not None else SimClock()
        self.broker = broker
        self.instruments: dict[str, Instrument] = dict(instruments or {})
        self.portfolio = portfolio if portfolio is not None else Portfolio(starting_cash, self.instruments)
        self.risk = risk if risk is not None else RiskEngine()
        self.event_sink = event_sink
        self.keep_events = keep_events
        self.events: list[ev.Event] = []
        self.orders: dict[str, Order] = {}
        self._open_orders: dict[str, Order] = {}  # order_id -> order, orders whose status is open
        self.strategies: list[Strategy] = []
        self.paused = False
        self.running = False
        self.warming_up = False
        self.record_equity = record_equity
        self.equity_ts = array("q")
        self.equity_values = array("d")
        self.equity_cash = array("d")
        self.equity_gross = array("d")
        self.equity_realized = array("d")
        self._slice_handlers: tuple[Callable[[int], None], ...] = ()
        self.data_count = 0
        self.order_id_prefix = order_id_prefix
        self._order_seq = 0
        self._last_ts = -1
        self._busy = False
        self._pending: deque[ev.OrderEvent] = deque()
        self._children: dict[str, list[Order]] = {}  # parent order id -> contingent children (OTO), held
        self._armed: dict[str, list[Order]] = {}  # parent order id -> children sent, resized as the parent fills
        self._exit_size: dict[str, float] = {}  # armed child id -> quantity last asked of the broker
        self._fill_ids: set[str] = set()  # execution ids booked: a fill reported twice is booked once
        self._suppression_noted: set[str] = set()  # strategies told (once per halt) that their orders are held back
        self.suppressed_orders = 0  # strategy order calls not sent while trading is HALTED
        self.strategy_error_policy = "raise"  # raise | halt | pause | keep: see workbench.engine.containment
        self.halted_strategies: set[str] = set()  # strategies halted after their handler raised
        self.sizing: Any = None  # a graduated live session's size multiplier (workbench.engine.sizing)
        # alert outbox: delivery waits for the journal's commit when a writer defers it (live runner)
        self.defer_delivery = False
        self.after_commit: list[Callable[[], object]] = []
        self._handlers_bar: dict[str, tuple[Callable[[Bar], None], ...]] = {}
        self._handlers_quote: dict[str, tuple[Callable[[QuoteTick], None], ...]] = {}
        self._handlers_trade: dict[str, tuple[Callable[[TradeTick], None], ...]] = {}
        self._sim = broker if hasattr(broker, "on_bar") else None
        if hasattr(broker, "set_clock"):
            broker.set_clock(self.now_ns)  # type: ignore[attr-defined]
        broker.connect(self._on_broker_event)
        from workbench.engine.bus import MessageBus

        self.bus = MessageBus()
        self.risk.attach(self)  # open-order tracking, portfolio rules and breakers subscribe to the bus

    # ------------------------------------------------------------------------------ lifecycle
    def add_strategy(self, strategy: Strategy) -> Strategy:
        """Register ``strategy``; it receives data for its ``symbols`` (all symbols when None)."""
        strategy._register(self)
        self.strategies.append(strategy)
        self._refresh_handlers()
        return strategy

    def _refresh_handlers(self) -> None:
        """Recompute the handler tables (a strategy was added or halted)."""
        halted = self.halted_strategies
        self._slice_handlers = tuple(s.on_time_slice for s in self.strategies
                                     if s._overrides("on_time_slice") and s.strategy_id not in halted)
        self._handlers_bar.clear()
        self._handlers_quote.clear()
        self._handlers_trade.clear()

    def _call_strategies(self, name: str) -> None:
        """Call ``name`` (``on_start``/``on_stop``) on every strategy not halted, failures contained."""
        self._busy = True
        try:
            for s in self.strategies:
                if s.strategy_id not in self.halted_strategies:
                    self._dispatch((getattr(s, name),), None, nullary=True)
        finally:
            self._busy = False

    def _dispatch(self, handlers: tuple, item: Any, nullary: bool = False) -> None:
        """Call each handler with ``item``; a strategy's exception is contained (:mod:`.containment`)."""
        for h in handlers:
            try:
                h() if nullary else h(item)
            except Exception as exc:
                from workbench.engine.containment import owner_of, strategy_failed

                owner = owner_of(h)
                if owner is None:
                    raise
                strategy_failed(self, owner, h.__name__, exc)

    def start(self) -> None:
        if self.running:
            return
        self.running = True
        self._call_strategies("on_start")
        if self._pending:
            self._drain()

    def stop(self) -> None:
        if not self.running:
            return
        self._call_strategies("on_stop")
        self._drain()
        self._end_slice()
        self._last_ts = -1
        self.running = False

    def now_ns(self) -> int:
        return self.clock.timestamp_ns()

    # ---------------------------------------------------------------------------- market data
    def _end_slice(self) -> None:
        last = self._last_ts
        if last < 0:
            return
        if self._slice_handlers and not self.paused:
            self._busy = True
            try:
                self._dispatch(self._slice_handlers, last)
            finally:
                self._busy = False
            if self._pending:
                self._drain()
        if self.risk.monitors:  # portfolio rules, circuit breakers (risk/); nothing to do without them
            self.risk.on_time_slice(self, last)
        if self.record_equity:
            self.append_equity(last, self.portfolio)

    def append_equity(self, ts: int, pf: Portfolio) -> None:
        """Append one point (``ts``, ns) of the equity curve from ``pf`` (cash, equity, exposure, P&L)."""
        self.equity_ts.append(ts)
        self.equity_values.append(pf.ledger.balance + pf.market_value)
        self.equity_cash.append(pf.ledger.balance)
        self.equity_gross.append(pf.gross_value)
        self.equity_realized.append(pf.realized_total)

    def _new_timestamp(self, ts: int) -> None:
        self._end_slice()
        self._last_ts = ts
        self._busy = True
        try:
            self.clock.advance_to(ts)
        finally:
            self._busy = False
        if self._pending:
            self._drain()

    def subscribe_data(self, kind: str, symbol: str, handler: Callable[[Any], None]) -> None:
        """Call ``handler(item)`` for every ``kind`` (``on_bar``, ``on_quote``, ``on_trade``) of ``symbol``,
        after the strategies (execution algorithms use this)."""
        self.bus.subscribe(f"data.{kind}.{symbol}", handler)
        self._handlers_bar.clear()
        self._handlers_quote.clear()
        self._handlers_trade.clear()

    def unsubscribe_data(self, kind: str, symbol: str, handler: Callable[[Any], None]) -> None:
        self.bus.unsubscribe(f"data.{kind}.{symbol}", handler)
        self._handlers_bar.clear()
        self._handlers_quote.clear()
        self._handlers_trade.clear()

    def _resolve(self, table: dict[str, tuple], kind: str, symbol: str) -> tuple:
        halted = self.halted_strategies
        handlers = tuple(
            getattr(s, kind) for s in self.strategies
            if s._wants(symbol) and s._overrides(kind) and s.strategy_id not in halted
        ) + self.bus.handlers(f"data.{kind}.{symbol}")
        table[symbol] = handlers
        return handlers

    def on_bar(self, bar: Bar) -> None:
        """Process one bar (delivered at ``bar.ts_init``)."""
        ts = bar.ts_init
        if ts != self._last_ts:
            self._new_timestamp(ts)
        self.data_count += 1
        sim = self._sim
        if sim is not None:
            self._busy = True
            try:
                sim.on_bar(bar)
            finally:
                self._busy = False
            if self._pending:
                self._drain()
        # portfolio mark, inlined from Portfolio.update_price (hot path)
        pf = self.portfolio
        symbol = bar.symbol
        pos = pf.positions.get(symbol)
        if pos is not None and pos.quantity:
            q = pos.quantity
            d = (bar.close - pf.last_prices.get(symbol, bar.close)) * pos.multiplier
            pf.market_value += q * d
            pf.gross_value += (q if q > 0 else -q) * d
        pf.last_prices[symbol] = bar.close
        if not self.paused:
            handlers = self._handlers_bar.get(bar.symbol)
            if handlers is None:
                handlers = self._resolve(self._handlers_bar, "on_bar", bar.symbol)
            self._busy = True
            try:
                self._dispatch(handlers, bar)
            finally:
                self._busy = False
            if self._pending:
                self._drain()

    def on_quote(self, quote: QuoteTick) -> None:
        """Process one quote (marks the portfolio at the mid when both sides exist)."""
        ts = quote.ts_init
        if ts != self._last_ts:
            self._new_timestamp(ts)
        self.data_count += 1
        sim = self._sim
        if sim is not None:
            self._busy = True
            try:
                sim.on_quote(quote)
            finally:
                self._busy = False
            if self._pending:
                self._drain()
        mid = (quote.bid + quote.ask) * 0.5
        if mid == mid:
            self.portfolio.update_price(quote.symbol, mid)
        if not self.paused:
            handlers = self._handlers_quote.get(quote.symbol)
            if handlers is None:
                handlers = self._resolve(self._handlers_quote, "on_quote", quote.symbol)
            self._busy = True
            try:
                self._dispatch(handlers, quote)
            finally:
                self._busy = False
            if self._pending:
                self._drain()

    def on_trade(self, trade: TradeTick) -> None:
        """Process one trade print."""
        ts = trade.ts_init
        if ts != self._last_ts:
            self._new_timestamp(ts)
        self.data_count += 1
        sim = self._sim
        if sim is not None:
            self._busy = True
            try:
                sim.on_trade(trade)
            finally:
                self._busy = False
            if self._pending:
                self._drain()
        self.portfolio.update_price(trade.symbol, trade.price)
        if not self.paused:
            handlers = self._handlers_trade.get(trade.symbol)
            if handlers is None:
                handlers = self._resolve(self._handlers_trade, "on_trade", trade.symbol)
            self._busy = True
            try:
                self._dispatch(handlers, trade)
            finally:
                self._busy = False
            if self._pending:
                self._drain()

    def process(self, item: object) -> None:
        """Process any input: market data, a command, or a broker event (live runner entry point)."""
        t = type(item)
        if t is Bar:
            self.on_bar(item)  # type: ignore[arg-type]
        elif t is QuoteTick:
            self.on_quote(item)  # type: ignore[arg-type]
        elif t is TradeTick:
            self.on_trade(item)  # type: ignore[arg-type]
        elif isinstance(item, cmd.Command):
            self.execute(item)
        elif isinstance(item, ev.OrderEvent):
            self._on_broker_event(item)
        else:
            raise TypeError(f"TradingEngine.process: unsupported input {t.__name__}")

    # ------------------------------------------------------------------------------ recording
    def record(self, event: ev.Event) -> None:
        """Journal ``event`` (event sink first, then the in-memory log) and publish it on the bus."""
        sink = self.event_sink
        if sink is not None:
            sink(event)
        if self.keep_events:
            self.events.append(event)
        for handler in self.bus.handlers("events"):  # MessageBus.publish, inlined (6 events per order)
            handler(event)

    # --------------------------------------------------------------------------------- orders
    def next_order_id(self) -> str:
        self._order_seq += 1
        return f"{self.order_id_prefix}{self._order_seq:06d}"

    def instrument(self, symbol: str) -> Instrument:
        return self.portfolio.instrument(symbol)

    def create_order(
        self,
        symbol: str,
        side: OrderSide,
        quantity: float,
        order_type: OrderType = OrderType.MARKET,
        *,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trailing_offset: float | None = None,
        trailing_offset_type: TrailingOffsetType | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_time_ns: int | None = None,
        reduce_only: bool = False,
        parent_order_id: str | None = None,
        contingency: ContingencyType = ContingencyType.NONE,
        linked_order_ids: tuple[str, ...] = (),
        strategy_id: str = "",
        tag: str = "",
        order_id: str | None = None,
    ) -> Order:
        """Create an order (INITIALIZED, recorded); prices snapped to tick, quantity to lot size.

        Raises
        ------
        ValueError
            If the quantity rounds to zero lots or a price is not positive.
        """
        inst = self.portfolio.instrument(symbol)
        qty = inst.round_quantity(abs(quantity))
        if qty <= 0:
            raise ValueError(f"quantity {quantity!r} of {symbol} rounds to 0 lots (lot size {inst.lot_size})")
        if limit_price is not None:
            if not limit_price > 0:
                raise ValueError(f"limit_price must be positive, got {limit_price!r}")
            limit_price = inst.round_price(limit_price)
        if stop_price is not None:
            if not stop_price > 0:
                raise ValueError(f"stop_price must be positive, got {stop_price!r}")
            stop_price = inst.round_price(stop_price)
        init = ev.OrderInitialized(
            ts_event=self.clock.timestamp_ns(),
            order_id=order_id or self.next_order_id(),
            symbol=symbol,
            side=side,
            order_type=order_type,
            quantity=qty,
            time_in_force=time_in_force,
            limit_price=limit_price,
            stop_price=stop_price,
            trailing_offset=trailing_offset,
            trailing_offset_type=trailing_offset_type,
            expire_time_ns=expire_time_ns,
            reduce_only=reduce_only,
            parent_order_id=parent_order_id,
            contingency=contingency,
            linked_order_ids=linked_order_ids,
            strategy_id=strategy_id,
            tag=tag,
        )
        order = Order(init)
        self.orders[order.order_id] = order
        self.record(init)
        return order

    def submit_order(self, order: Order) -> Order:
        """Risk-check ``order`` and send it to the broker (or record its denial). Returns it."""
        if order.status is not OrderStatus.INITIALIZED:
            raise ValueError(f"order {order.order_id} was already submitted (status {order.status})")
        denial = self.risk.check(order, self)
        now = self.now_ns()
        if denial is not None:
            self._apply(ev.OrderDenied(ts_event=now, order_id=order.order_id, symbol=order.symbol,
                                       reason=denial.reason, rule=denial.rule))
            return order
        self._apply(ev.OrderSubmitted(ts_event=now, order_id=order.order_id, symbol=order.symbol))
        self.broker.submit_order(order)
        return order

    def hold_until_filled(self, parent: Order, children: Iterable[Order]) -> None:
        """OTO: submit ``children`` once ``parent`` has filled (with the filled quantity)."""
        self._children.setdefault(parent.order_id, []).extend(children)

    def cancel_order(self, order_id: str) -> None:
        order = self.orders.get(order_id)
        if order is None:
            raise KeyError(f"unknown order_id {order_id!r}")
        if order.status is OrderStatus.INITIALIZED:  # a held contingent child
            self._apply(ev.OrderCanceled(ts_event=self.now_ns(), order_id=order_id, symbol=order.symbol,
                                         reason="canceled before submission"))
            self._drop_child(order_id)
            return
        if order.is_closed or order.status is OrderStatus.PENDING_CANCEL:
            return
        self._apply(ev.OrderPendingCancel(ts_event=self.now_ns(), order_id=order_id, symbol=order.symbol))
        self.broker.cancel_order(order_id)

    def modify_order(
        self, order_id: str, quantity: float | None = None, limit_price: float | None = None,
        stop_price: float | None = None,
    ) -> None:
        """Ask the broker to change an open order's quantity (shares) and/or prices (currency).

        The change passes the risk engine first (:meth:`RiskEngine.check_modify`); a denied change
        is journaled as ``OrderModifyRejected`` (reason ``risk: ...``) plus a ``RiskEvent``.

        Raises
        ------
        KeyError
            If ``order_id`` is unknown.
        """
        order = self.orders.get(order_id)
        if order is None:
            raise KeyError(f"unknown order_id {order_id!r}")
        inst = self.instrument(order.symbol)
        if quantity is not None:
            quantity = inst.round_quantity(quantity)
        if limit_price is not None:
            limit_price = inst.round_price(limit_price)
        if stop_price is not None:
            stop_price = inst.round_price(stop_price)
        if order.is_closed or order.status is OrderStatus.PENDING_CANCEL:
            return
        denial = self.risk.check_modify(order, quantity, limit_price, stop_price, self)
        if denial is not None:  # every modify is a risk-checked command: the order keeps its terms
            self._apply(ev.OrderModifyRejected(ts_event=self.now_ns(), order_id=order_id, symbol=order.symbol,
                                               reason=f"risk: {denial.reason}"))
            self.record(ev.RiskEvent(ts_event=self.now_ns(), rule=denial.rule, message=denial.reason,
                                     action="deny_modify", symbol=order.symbol))
            return
        if order.status in (OrderStatus.ACCEPTED, OrderStatus.TRIGGERED, OrderStatus.PARTIALLY_FILLED):
            # not yet acknowledged (SUBMITTED) or a replace already pending: the broker's answer decides
            self._apply(ev.OrderPendingReplace(ts_event=self.now_ns(), order_id=order_id, symbol=order.symbol))
        self.broker.modify_order(order_id, quantity, limit_price, stop_price)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders at the broker that are not closed (submitted, accepted, partially filled, ...)."""
        return [o for o in self._open_orders.values() if symbol is None or o.symbol == symbol]

    def cancel_all_orders(self, symbol: str | None = None) -> None:
        held = [c for kids in self._children.values() for c in kids if c.status is OrderStatus.INITIALIZED]
        for order in [*self._open_orders.values(), *held]:
            if symbol is None or order.symbol == symbol:
                self.cancel_order(order.order_id)

    def create_and_submit_close(self, pos: Any, tag: str) -> Order:
        """Close ``pos`` with a reduce-only market order tagged ``tag``."""
        side = OrderSide.SELL if pos.quantity > 0 else OrderSide.BUY
        return self.submit_order(self.create_order(pos.symbol, side, abs(pos.quantity), reduce_only=True, tag=tag))

    def flatten(self, symbol: str | None = None, tag: str = "flatten") -> list[Order]:
        """Cancel open orders and close positions with reduce-only market orders."""
        self.cancel_all_orders(symbol)
        out = []
        for pos in list(self.portfolio.positions.values()):
            if pos.is_flat or (symbol is not None and pos.symbol != symbol):
                continue
            out.append(self.create_and_submit_close(pos, tag))
        return out

    # ----------------------------------------------------------------------- trading state
    def set_trading_state(self, state: TradingState, reason: str = "") -> None:
        if self.risk.state is state and self.risk.state_reason == reason:
            return
        self.risk.state = state
        self.risk.state_reason = reason
        if state is not TradingState.HALTED:
            self._suppression_noted.clear()
        self.record(ev.TradingStateChanged(ts_event=self.now_ns(), state=state, reason=reason))

    def kill_switch(self, reason: str = "kill switch", flatten: bool = True) -> None:
        """Halt trading, cancel every open order and (``flatten``) close every position. Idempotent.

        Trading stays HALTED until :meth:`reset_kill_switch` (``Resume`` only undoes ``Pause``).
        """
        if not self.risk.kill_switch_engaged:
            self.risk.kill_switch_engaged = True
            self.record(ev.KillSwitchEngaged(ts_event=self.now_ns(), reason=reason, flatten=flatten))
        self.set_trading_state(TradingState.HALTED, reason)
        # the kill switch's own closing orders (from an earlier pull) keep working: pulling it again
        # must not cancel and re-send them
        closing = {o.order_id for o in self.open_orders() if o.tag == "kill_switch"} if flatten else set()
        for order in [*self._open_orders.values()]:
            if order.order_id not in closing:
                self.cancel_order(order.order_id)
        held = [c for kids in self._children.values() for c in kids if c.status is OrderStatus.INITIALIZED]
        for child in held:
            self.cancel_order(child.order_id)
        if flatten:
            pending = {o.symbol for o in self.open_orders()
                       if o.reduce_only and o.status is not OrderStatus.PENDING_CANCEL}
            for pos in list(self.portfolio.positions.values()):
                if not pos.is_flat and pos.symbol not in pending:
                    self.create_and_submit_close(pos, "kill_switch")

    def reset_kill_switch(self, reason: str, by: str = "", source: str = "") -> None:
        """Deliberately reset the kill switch: journal who (``by``, ``source``) and why, clear latched
        breakers and return to ACTIVE.

        Raises
        ------
        ValueError
            If the kill switch is not engaged, or ``reason`` is empty.
        """
        if not reason or not reason.strip():
            raise ValueError("reset_kill_switch: a reason is required")
        if not self.risk.kill_switch_engaged:
            raise ValueError("reset_kill_switch: the kill switch is not engaged")
        self.risk.kill_switch_engaged = False
        self.record(ev.KillSwitchReset(ts_event=self.now_ns(), reason=reason, by=by, source=source))
        self.risk.resume(self, f"kill switch reset by {by or source or 'unknown'}: {reason}")

    def strategy_may_trade(self, strategy: Strategy) -> bool:
        """False while trading is HALTED (kill switch, halting breaker): the strategy's order calls are not
        sent and leave no DENIED row; the first one per halt journals one ``RiskEvent`` (action
        ``suppress``). LEAN likewise stops routing algorithm orders once the algorithm is halted."""
        risk = self.risk
        if strategy.strategy_id in self.halted_strategies:  # failed and halted (containment policy)
            return False
        if risk.state is not TradingState.HALTED:
            return True
        self.suppressed_orders += 1
        sid = strategy.strategy_id
        if sid not in self._suppression_noted:
            self._suppression_noted.add(sid)
            self.record(ev.RiskEvent(ts_event=self.now_ns(), rule="trading_state", action="suppress",
                                     message=f"strategy {sid}: orders are not sent while trading is HALTED "
                                     f"({risk.state_reason})"))
        return False

    def pause(self) -> None:
        """Stop delivering data to strategies (working orders stay; marks and matching go on)."""
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def execute(self, command: cmd.Command) -> str:
        """Carry out a control command; returns a short description of what was done.

        Raises
        ------
        CommandError
            If the command is unsupported or cannot be carried out (the message says why).
        """
        from workbench.engine.control import execute

        return execute(self, command)

    # ------------------------------------------------------------------------- broker events
    def _on_broker_event(self, event: ev.OrderEvent) -> None:
        self._pending.append(event)
        if type(event) is ev.OrderFilled and event.order_id in self._armed:
            self._grow_exits(event.order_id)
        if not self._busy:
            self._drain()

    def _drain(self) -> None:
        pending = self._pending
        self._busy = True
        try:
            while pending:
                self._apply(pending.popleft(), from_broker=True)
        finally:
            self._busy = False

    def _apply(self, event: ev.OrderEvent, from_broker: bool = False) -> None:
        order = self.orders.get(event.order_id)
        filled = type(event) is ev.OrderFilled
        if filled:
            if event.fill_id in self._fill_ids:  # type: ignore[attr-defined]
                self._ignore_duplicate(event)  # type: ignore[arg-type]
                return
            if order is None or (order.strategy_id == EXTERNAL_STRATEGY_ID and order.is_closed):
                self._book_external(event)  # type: ignore[arg-type]
                return
        elif order is None:
            self._unknown_order_event(event)
            return
        try:
            order.apply(event)
        except (InvalidStateTransition, ValueError) as exc:
            if not from_broker:
                raise
            # a broker's late or contradictory report (a cancel after the fill, an over-fill): journaled, not
            # applied; the session keeps running (NautilusTrader logs "did not apply" and goes on)
            self.record(ev.AlertRaised(ts_event=event.ts_event, level="WARNING",
                                       title=f"{type(event).__name__} for order {event.order_id} not applied",
                                       message=f"{exc}: {event!r}", source="engine"))
            return
        status = order.status
        closed = status.is_closed
        if closed:
            self._open_orders.pop(order.order_id, None)
        elif status is not OrderStatus.INITIALIZED:
            self._open_orders[order.order_id] = order
        self.record(event)
        if filled:
            self._fill_ids.add(event.fill_id)  # type: ignore[attr-defined]
            self._book_fill(order, event)  # type: ignore[arg-type]
        if order.status.is_closed:  # (re-read: a bus subscriber or the fill may have moved the order on)
            self._on_order_closed(order)
        was_busy = self._busy
        self._busy = True
        owner = order.strategy_id
        halted = self.halted_strategies
        try:
            for s in self.strategies:
                if (not owner or s.strategy_id == owner) and s.strategy_id not in halted:
                    self._dispatch((s.on_order_event,), event)
                    if filled and s.strategy_id not in halted:
                        self._dispatch((s.on_fill,), event)
        finally:
            self._busy = was_busy

    def _ignore_duplicate(self, fill: ev.OrderFilled) -> None:
        """Fills are idempotent by execution id (NautilusTrader drops a fill whose trade id the order already
        has): journal the duplicate, change nothing."""
        self.record(ev.DuplicateFillIgnored(ts_event=fill.ts_event, order_id=fill.order_id, symbol=fill.symbol,
                                            fill_id=fill.fill_id, last_quantity=fill.last_quantity,
                                            last_price=fill.last_price))

    def _book_external(self, fill: ev.OrderFilled) -> None:
        """Book a fill for an order this engine never created as an ``EXTERNAL`` order (NautilusTrader's
        external orders: initialized and accepted as reported, then filled), and journal why."""
        broker_order_id = fill.order_id
        order_id = broker_order_id if broker_order_id not in self.orders else f"{broker_order_id}:{fill.fill_id}"
        init = ev.OrderInitialized(ts_event=fill.ts_event, order_id=order_id, symbol=fill.symbol, side=fill.side,
                                   order_type=OrderType.MARKET, quantity=fill.last_quantity,
                                   strategy_id=EXTERNAL_STRATEGY_ID, tag="external")
        self.orders[order_id] = Order(init)
        self.record(ev.ExternalFillBooked(ts_event=fill.ts_event, order_id=order_id, symbol=fill.symbol,
                                          fill_id=fill.fill_id, side=fill.side, last_quantity=fill.last_quantity,
                                          last_price=fill.last_price, broker_order_id=broker_order_id))
        self.record(init)
        self._apply(ev.OrderAccepted(ts_event=fill.ts_event, order_id=order_id, symbol=fill.symbol,
                                     broker_order_id=broker_order_id))
        self._apply(fill if order_id == broker_order_id else dataclasses.replace(fill, order_id=order_id))

    def _unknown_order_event(self, event: ev.OrderEvent) -> None:
        """A broker event (not a fill) for an order this engine does not know: journaled, nothing else."""
        self.record(ev.AlertRaised(ts_event=event.ts_event, level="WARNING",
                                   title=f"{type(event).__name__} for unknown order {event.order_id}",
                                   message=f"{event!r} ignored: the engine never created order {event.order_id}",
                                   source="engine"))

    def _book_fill(self, order: Order, fill: ev.OrderFilled) -> None:
        pf = self.portfolio
        before = pf.quantity(fill.symbol)
        pos = pf.apply_fill(fill.symbol, fill.side, fill.last_quantity, fill.last_price, fill.commission,
                            fill.ts_event, fill.fill_id)
        kind = ev.PositionOpened if before == 0 else (ev.PositionClosed if pos.is_flat else ev.PositionChanged)
        self.record(kind(ts_event=fill.ts_event, symbol=fill.symbol, quantity=pos.quantity, avg_price=pos.avg_price,
                         realized_pnl=pos.realized_pnl, last_fill_id=fill.fill_id))
        self.record(self.account_state(fill.ts_event))
        if order.order_id in self._children:
            self._arm_children(order)  # on the first fill, partial or not (Interactive Brokers' brackets)

    def account_state(self, ts: int | None = None) -> ev.AccountState:
        """Snapshot of cash, equity, exposures and P&L (O(1): uses the portfolio's running totals)."""
        pf = self.portfolio
        equity = pf.ledger.balance + pf.market_value
        return ev.AccountState(
            ts_event=self.now_ns() if ts is None else ts,
            cash=pf.ledger.balance,
            equity=equity,
            gross_exposure=pf.gross_value,
            net_exposure=pf.market_value,
            realized_pnl=pf.realized_total,
            unrealized_pnl=equity - pf.starting_cash - pf.realized_total,
            commissions=pf.ledger.commissions,
            currency=pf.ledger.currency,
        )

    def _on_order_closed(self, order: Order) -> None:
        for child in self._armed.pop(order.order_id, ()):
            self._exit_size.pop(child.order_id, None)
        if order.order_id in self._children and order.status is not OrderStatus.FILLED:
            if order.filled_quantity > 0:
                self._arm_children(order)  # arm the exits for what did fill
            else:
                for child in self._children.pop(order.order_id):
                    if child.status is OrderStatus.INITIALIZED:
                        self._apply(ev.OrderCanceled(ts_event=self.now_ns(), order_id=child.order_id,
                                                     symbol=child.symbol, reason=f"parent {order.order_id} "
                                                     f"{order.status.value.lower()} without fill"))

    def _arm_children(self, parent: Order) -> None:
        """Send the held children for the parent's filled quantity; later fills resize them.

        Interactive Brokers activates a bracket's exits as soon as the entry (partially) fills and
        keeps their size equal to the filled quantity; the resize of a held child is an
        ``OrderUpdated`` event, so a rebuild from the journal has the same order.
        """
        armed = []
        target = parent.filled_quantity
        for child in self._children.pop(parent.order_id, []):
            if child.status is not OrderStatus.INITIALIZED:
                continue
            if abs(child.quantity - target) > 1e-9:
                self._apply(ev.OrderUpdated(ts_event=self.now_ns(), order_id=child.order_id, symbol=child.symbol,
                                            quantity=target, reason=f"sized to {parent.order_id} filled {target:g}"))
            self.submit_order(child)
            armed.append(child)
        if armed and not parent.is_closed:
            self._armed[parent.order_id] = armed

    def _grow_exits(self, parent_id: str) -> None:
        """A further fill of a parent whose exits work at the broker: grow them to what the bracket holds
        (filled by the parent minus exited), at once, as Interactive Brokers does server-side.

        Called when the fill arrives, before the events queued with it are applied (a simulated
        broker may match the exits on the same bar), so the quantities count the fills still queued.
        Only the broker is told here; its ``OrderModified`` answers are journaled as they are applied.
        Not risk-checked: the exits are reduce-only and only cover what the entry bought.
        """
        queued: dict[str, float] = {}
        seen: set[str] = set()
        for e in self._pending:
            if type(e) is ev.OrderFilled and e.fill_id not in self._fill_ids and e.fill_id not in seen:  # type: ignore[attr-defined]
                seen.add(e.fill_id)  # type: ignore[attr-defined]
                queued[e.order_id] = queued.get(e.order_id, 0.0) + e.last_quantity  # type: ignore[attr-defined]
        armed = self._armed[parent_id]
        parent = self.orders[parent_id]
        exited = {c.order_id: c.filled_quantity + queued.get(c.order_id, 0.0) for c in armed}
        remaining = parent.filled_quantity + queued.get(parent_id, 0.0) - sum(exited.values())
        for child in armed:
            if child.is_closed or child.status is OrderStatus.PENDING_CANCEL:
                continue
            target = exited[child.order_id] + remaining
            if target > self._exit_size.get(child.order_id, child.quantity) + 1e-9:
                self._exit_size[child.order_id] = target
                self.broker.modify_order(child.order_id, target)

    def _drop_child(self, order_id: str) -> None:
        for kids in self._children.values():
            for k in list(kids):
                if k.order_id == order_id:
                    kids.remove(k)
