"""Risk engine: approves or denies every order before it reaches a broker; owns the trading state.

Rules are objects with a ``name`` and ``check(order, context) -> str | None`` returning a denial
reason (naming the rule, the limit and the value) or None. The trading state overrides the rules:

* ``HALTED`` (kill switch, circuit breaker): only orders flagged ``reduce_only`` that reduce a
  position pass (that is how the kill switch flattens).
* ``REDUCE_ONLY``: only orders that reduce an existing position pass.

Monitors (portfolio rules in :mod:`workbench.risk.portfolio_rules`, circuit breakers in
:mod:`workbench.risk.breakers`) watch the running engine: :meth:`RiskEngine.attach` lets them
subscribe to the engine's message bus, and the engine calls :meth:`RiskEngine.on_time_slice` once
per distinct data timestamp (only when monitors are configured, so a backtest without them pays
nothing). A monitor that fires calls :meth:`RiskEngine.trip`, which journals a ``RiskEvent`` and
moves trading to REDUCE_ONLY or HALTED, or pulls the kill switch; leaving that state is a
deliberate command (:meth:`RiskEngine.resume`, or ``Resume`` sent to the engine).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderStatus, TradingState
from workbench.model.orders import Order
from workbench.risk.impact import order_impact
from workbench.risk.pending import PendingOrders

if TYPE_CHECKING:
    from workbench.engine.engine import TradingEngine


class RiskContext(Protocol):
    """What rules may read: the engine satisfies this."""

    @property
    def portfolio(self) -> Any: ...

    def now_ns(self) -> int: ...

    def open_orders(self, symbol: str | None = None) -> list[Order]: ...


class RiskRule(Protocol):
    """A pre-trade rule: ``check`` returns a denial reason or None."""

    name: str

    def check(self, order: Order, context: RiskContext) -> str | None: ...


class RiskMonitor(Protocol):
    """A portfolio rule or circuit breaker watching the running engine."""

    name: str

    def attach(self, engine: TradingEngine, risk: RiskEngine) -> None: ...

    def on_time_slice(self, engine: TradingEngine, risk: RiskEngine, ts_ns: int) -> None: ...


class BreachAction(StrEnum):
    """What a firing monitor does: REDUCE_ONLY, HALT, or KILL (halt + cancel all + flatten)."""

    REDUCE_ONLY = "reduce_only"
    HALT = "halt"
    KILL = "kill"


@dataclass(frozen=True, slots=True)
class Denial:
    """Why an order was denied: the ``rule`` name and a human ``reason``."""

    rule: str
    reason: str


def reduces_position(order: Order, position_quantity: float) -> bool:
    """True when ``order`` only reduces (never opens or flips) a position of ``position_quantity``."""
    if position_quantity > 0:
        return order.side is OrderSide.SELL and order.quantity <= position_quantity + 1e-9
    if position_quantity < 0:
        return order.side is OrderSide.BUY and order.quantity <= -position_quantity + 1e-9
    return False


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCE_ONLY: 1, TradingState.HALTED: 2}


class RiskEngine:
    """Pre-trade checks, portfolio monitors, circuit breakers and the trading state.

    Parameters
    ----------
    rules : Iterable[RiskRule]
        Pre-trade rules, checked in order; the first denial wins.
    monitors : Iterable[RiskMonitor]
        Portfolio rules and circuit breakers; a monitor that also has ``check`` is also run as a
        pre-trade rule (after ``rules``).

    Attributes
    ----------
    state : TradingState
    state_reason : str
    kill_switch_engaged : bool
        The kill switch was pulled and not reset yet: HALTED, which ``resume`` does not lift.
    pending : PendingOrders
        Open-order quantities per symbol, kept from the engine's events once attached.
    checks, denials : int
        Counters of pre-trade checks and denials.
    """

    def __init__(self, rules: Iterable[RiskRule] = (), monitors: Iterable[RiskMonitor] = ()) -> None:
        self.monitors: list[RiskMonitor] = list(monitors)
        self.rules: list[RiskRule] = list(rules) + [m for m in self.monitors if hasattr(m, "check")]  # type: ignore[misc]
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        self.checks = 0
        self.denials = 0
        self.pending = PendingOrders()
        self.engine: TradingEngine | None = None
        self.tripped: dict[str, str] = {}  # monitor name -> message, until resumed
        self.kill_switch_engaged = False  # until a deliberate, confirmed reset (TradingEngine.reset_kill_switch)
        self._recorders = [r for r in self.rules if hasattr(r, "on_approved")]
        self.config: Any = None  # the RiskConfig it was built from (risk.factory), journaled so a restart rebuilds it

    # ------------------------------------------------------------------------------- wiring
    def attach(self, engine: TradingEngine) -> None:
        """Connect to ``engine`` (called by the engine): track open orders, let monitors subscribe."""
        if self.engine is engine:
            return
        self.engine = engine
        if self.rules or self.monitors:  # without rules nothing reads it: keep backtests free of its cost
            self.pending.attach(engine)
        for m in self.monitors:
            m.attach(engine, self)

    def on_time_slice(self, engine: TradingEngine, ts_ns: int) -> None:
        """Run every monitor once the inputs stamped ``ts_ns`` are processed (engine hook)."""
        for m in self.monitors:
            m.on_time_slice(engine, self, ts_ns)

    # ----------------------------------------------------------------------------- checking
    def check(self, order: Order, context: RiskContext) -> Denial | None:
        """Return a :class:`Denial` or None (approved)."""
        self.checks += 1
        state = self.state
        if state is not TradingState.ACTIVE:
            qty = context.portfolio.quantity(order.symbol)
            if order.reduce_only:  # flatten/kill/exit orders: judged on the position alone (cancels may be in flight)
                reducing = reduces_position(order, qty)
            else:  # must reduce even if every open order on the same side fills too
                reducing = qty != 0 and not order_impact(order, context).adds_risk
            if state is TradingState.HALTED and not (order.reduce_only and reducing):
                return self._deny("trading_state", f"trading is HALTED ({self.state_reason}); order denied")
            if state is TradingState.REDUCE_ONLY and not reducing:
                return self._deny(
                    "trading_state",
                    f"trading is REDUCE_ONLY ({self.state_reason}); order would not reduce {order.symbol} "
                    f"position {qty:g}",
                )
        for rule in self.rules:
            reason = rule.check(order, context)
            if reason:
                return self._deny(rule.name, reason)
        if self._recorders:
            now = context.now_ns()
            for r in self._recorders:
                r.on_approved(order, now)  # type: ignore[attr-defined]
        return None

    def check_modify(
        self, order: Order, quantity: float | None, limit_price: float | None, stop_price: float | None,
        context: RiskContext,
    ) -> Denial | None:
        """Risk-check a modification of the open ``order`` (LEAN and NautilusTrader run every
        update/modify command through the same pre-trade checks as a new order).

        The order is checked as it would remain: its leaves quantity at the new terms, with its
        current leaves taken out of the open-order totals (so it is not counted twice). A modify
        that leaves nothing to fill is not checked (the broker cancels or rejects it).
        """
        new_quantity = order.quantity if quantity is None else quantity
        leaves = new_quantity - order.filled_quantity
        if leaves <= 1e-9 or (not self.rules and self.state is TradingState.ACTIVE):
            return None
        terms: dict[str, object] = {"quantity": leaves}
        if limit_price is not None:
            terms["limit_price"] = limit_price
        if stop_price is not None:
            terms["stop_price"] = stop_price
        prospective = Order(dataclasses.replace(order.initialized_event, **terms))  # type: ignore[arg-type]
        pending = self.pending
        counted = order.order_id in pending._open
        if counted:
            pending._remove(order.order_id)
            pending._refresh(order.symbol)
        try:
            return self.check(prospective, context)
        finally:
            if counted:
                pending._add(order)
                pending._refresh(order.symbol)

    def _deny(self, rule: str, reason: str) -> Denial:
        self.denials += 1
        return Denial(rule, reason)

    # ------------------------------------------------------------------------------ actions
    def trip(
        self,
        engine: TradingEngine,
        rule: str,
        message: str,
        action: BreachAction | str,
        *,
        value: float | None = None,
        limit: float | None = None,
        symbol: str = "",
        reduce_fraction: float = 0.0,
    ) -> bool:
        """A monitor fired: journal a ``RiskEvent`` and act. Latched until :meth:`resume`.

        REDUCE_ONLY and HALT cancel every open order not flagged ``reduce_only`` (so no working
        order can add risk after the breach); KILL pulls the engine's kill switch. With
        ``reduce_fraction`` > 0 every position is also cut by that fraction with reduce-only
        market orders. A state is never relaxed here (HALTED is not turned into REDUCE_ONLY).

        Returns
        -------
        bool
            False when ``rule`` had already fired since the last resume (nothing done).
        """
        if rule in self.tripped:
            return False
        action = BreachAction(action)
        self.tripped[rule] = message
        engine.record(ev.RiskEvent(ts_event=engine.now_ns(), rule=rule, message=message, action=action.value,
                                   symbol=symbol, value=value, limit=limit))
        if action is BreachAction.KILL:
            engine.kill_switch(f"{rule}: {message}")
            return True
        target = TradingState.HALTED if action is BreachAction.HALT else TradingState.REDUCE_ONLY
        if _SEVERITY[target] > _SEVERITY[self.state]:
            engine.set_trading_state(target, f"{rule}: {message}")
        for order in list(engine.open_orders()):
            if not order.reduce_only and order.status is not OrderStatus.PENDING_CANCEL:
                engine.cancel_order(order.order_id)
        if reduce_fraction > 0:
            self.reduce_positions(engine, reduce_fraction, tag=rule)
        return True

    @staticmethod
    def reduce_positions(engine: TradingEngine, fraction: float, tag: str = "risk_reduce") -> list[Order]:
        """Cut every open position by ``fraction`` (0 < fraction <= 1) with reduce-only market orders."""
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
        out = []
        for pos in list(engine.portfolio.positions.values()):
            if pos.is_flat:
                continue
            inst = engine.instrument(pos.symbol)
            qty = inst.round_quantity(abs(pos.quantity) * fraction)
            if qty <= 0:
                continue
            side = OrderSide.SELL if pos.quantity > 0 else OrderSide.BUY
            out.append(engine.submit_order(engine.create_order(pos.symbol, side, qty, reduce_only=True, tag=tag)))
        return out

    def resume(self, engine: TradingEngine, reason: str = "resumed by command") -> None:
        """Deliberately return to ACTIVE: clear every latched monitor and set the state.

        Does nothing while the kill switch is engaged (only ``TradingEngine.reset_kill_switch`` lifts it).
        """
        if self.kill_switch_engaged:
            return
        self.tripped.clear()
        for m in self.monitors:
            reset = getattr(m, "reset", None)
            if reset is not None:
                reset()
        engine.set_trading_state(TradingState.ACTIVE, reason)
