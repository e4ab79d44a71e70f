"""Risk engine: approves or denies every order before it reaches a broker; owns the trading state.

Rules are objects with a ``name`` and ``check(order, context) -> str | None`` returning a denial
reason (naming the rule, the limit and the value) or None. The trading state overrides the rules:

* ``HALTED`` (kill switch, circuit breaker): only orders flagged ``reduce_only`` that reduce a
  position pass (that is how the kill switch flattens).
* ``REDUCE_ONLY``: only orders that reduce an existing position pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from workbench.model.enums import OrderSide, TradingState
from workbench.model.orders import Order


class RiskContext(Protocol):
    """What rules may read: the engine satisfies this."""

    @property
    def portfolio(self): ...

    def now_ns(self) -> int: ...

    def open_orders(self, symbol: str | None = None) -> list[Order]: ...


class RiskRule(Protocol):
    name: str

    def check(self, order: Order, context: RiskContext) -> str | None: ...


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


class RiskEngine:
    """Pre-trade checks and trading state.

    Parameters
    ----------
    rules : Iterable[RiskRule]
        Checked in order; the first denial wins.
    """

    def __init__(self, rules: Iterable[RiskRule] = ()) -> None:
        self.rules: list[RiskRule] = list(rules)
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        self.checks = 0
        self.denials = 0

    def check(self, order: Order, context: RiskContext) -> Denial | None:
        """Return a :class:`Denial` or None (approved)."""
        self.checks += 1
        state = self.state
        if state is not TradingState.ACTIVE:
            qty = context.portfolio.quantity(order.symbol)
            reducing = reduces_position(order, qty)
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
        return None

    def _deny(self, rule: str, reason: str) -> Denial:
        self.denials += 1
        return Denial(rule, reason)
