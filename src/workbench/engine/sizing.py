"""The size multiplier of a graduated live session: strategies decide at full size, the engine trades a fraction.

A live session that graduated from paper (:mod:`workbench.operations.graduation`) trades
``multiplier`` x what its strategy decides (10%, 25%, 50%, 100% as it keeps agreeing with its paper
shadow, :mod:`workbench.operations.shadow`). The multiplier is applied here, in the engine's order
path, not to a strategy parameter, so any strategy is scaled:

* **The strategy sees full-size positions.** :meth:`Strategy.position_quantity` and the open
  orders behind :meth:`Strategy.order_target_quantity` are its full-size ones
  (:meth:`SizeMultiplier.strategy_position`): at 10% a live position of 10 shares reads as 100,
  so a strategy that targets 100 shares does nothing more.
* **Orders are sized by target, not by delta** (:meth:`SizeMultiplier.live_quantity`): the
  strategy's order moves its (full-size) position from ``P`` to ``P + q``; the live order moves the
  live position to ``(P + q) x multiplier`` rounded toward zero to whole lots. Closing to flat
  therefore closes the whole live position, and after a step from 10% to 25% the strategy's next
  order rebalances the live position to the new size.
* Brackets, OCO pairs and execution algorithms scale their quantity (entry, pair, parent) by the
  multiplier, rounded down to whole lots (:meth:`SizeMultiplier.scale`).
* Orders that do not come from a strategy (manual orders, flatten, kill switch) are not scaled.

The multiplier changes only through a journaled :class:`~workbench.model.events.SizeMultiplierChanged`
(:class:`ChangeSizeMultiplier`, posted to the live runner and applied in the engine's core, in order
with the data), and :func:`workbench.engine.reconcile.rebuild` restores the last one, so a session
rebuilt from its journal trades at the same size. An engine without a multiplier (``engine.sizing``
None: backtests, paper sessions, shadows) is untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from workbench.model import events as ev
from workbench.model.enums import OrderSide

__all__ = ["ChangeSizeMultiplier", "SizeMultiplier", "set_size_multiplier"]

_EPS = 1e-9


class SizeMultiplier:
    """The engine's sizing hook (``engine.sizing``); ``multiplier`` in (0, 1].

    ``intended`` keeps each (strategy, symbol)'s full-size position as its orders set it, so that
    rounding to whole lots loses nothing (+70 and +70 at 25% are 17 then 35 shares, and -140 then
    closes all 35). It is trusted only while the live book matches it (its live size equals the live
    position plus the strategy's open orders); otherwise (a rejected order, a partial fill, a step,
    a restart) the strategy's position is read back from the live one as ``live / multiplier``.
    """

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = _check(multiplier)
        self.intended: dict[tuple[str, str], float] = {}
        self.skipped: list[tuple[str, str, int]] = []
        """Strategy orders that needed no live order at this size: (symbol, side, ts ns); the shadow
        monitor counts them as placed (the live session did what its size asks)."""

    def to_strategy(self, live_quantity: float) -> float:
        """A live quantity (shares) as the strategy sees it: ``live_quantity / multiplier``."""
        return live_quantity / self.multiplier

    def scale(self, quantity: float, lot_size: float = 1.0) -> float:
        """``quantity`` x the multiplier rounded toward zero to whole lots (never more than intended)."""
        lots = math.floor(abs(quantity) * self.multiplier / lot_size + _EPS)
        return math.copysign(lots * lot_size, quantity) if lots else 0.0

    def _book(self, engine: Any, strategy_id: str, symbol: str) -> tuple[float, float, float]:
        """(live position + the strategy's open orders, those open orders, the strategy's full-size total)."""
        pending = 0.0
        for order in engine.open_orders(symbol):
            if order.strategy_id == strategy_id:
                pending += order.leaves_quantity if order.side is OrderSide.BUY else -order.leaves_quantity
        live = engine.portfolio.quantity(symbol) + pending
        intended = self.intended.get((strategy_id, symbol))
        lot = engine.instrument(symbol).lot_size
        if intended is not None and abs(self.scale(intended, lot) - live) <= _EPS:
            return live, pending, intended
        return live, pending, self.to_strategy(live)

    def strategy_position(self, engine: Any, strategy_id: str, symbol: str) -> float:
        """The strategy's full-size position in ``symbol`` (shares, without its open orders)."""
        _, pending, total = self._book(engine, strategy_id, symbol)
        return total - self.to_strategy(pending)

    def live_quantity(self, engine: Any, strategy_id: str, symbol: str, side: OrderSide, quantity: float) -> float:
        """The live order quantity (shares, >= 0) for a strategy's order of ``quantity`` on ``side``.

        The strategy's full-size total (position and open orders) moves to ``after``; the live
        order takes the live total to ``scale(after)``. 0 when that is no move in ``side``'s direction.
        """
        live, _, total = self._book(engine, strategy_id, symbol)
        sign = 1.0 if side is OrderSide.BUY else -1.0
        after = total + sign * abs(quantity)
        self.intended[(strategy_id, symbol)] = after
        delta = self.scale(after, engine.instrument(symbol).lot_size) - live
        if delta * sign > _EPS:
            return abs(delta)
        self.skipped.append((symbol, side.value, engine.now_ns()))
        return 0.0


@dataclass(frozen=True)
class ChangeSizeMultiplier:
    """An input for the live runner (``runner.post``): journal a :class:`SizeMultiplierChanged` and
    apply it, in the engine's core, in order with the data (the runner commits after it)."""

    new: float
    agreement: float | None = None
    reason: str = ""
    shadow_session_id: str = ""

    def apply_to(self, engine: Any) -> ev.SizeMultiplierChanged:
        sizing = engine.sizing
        event = ev.SizeMultiplierChanged(ts_event=engine.now_ns(), old=0.0 if sizing is None else sizing.multiplier,
                                         new=_check(self.new), agreement=self.agreement, reason=self.reason,
                                         shadow_session_id=self.shadow_session_id)
        engine.record(event)
        set_size_multiplier(engine, event.new)
        return event


def set_size_multiplier(engine: Any, multiplier: float) -> None:
    """Install or update ``engine.sizing`` (rebuild from the journal, or a journaled change)."""
    if engine.sizing is None:
        engine.sizing = SizeMultiplier(multiplier)
    else:
        engine.sizing.multiplier = _check(multiplier)


def _check(multiplier: float) -> float:
    value = float(multiplier)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"size multiplier must be in (0, 1], got {multiplier!r}")
    return value
