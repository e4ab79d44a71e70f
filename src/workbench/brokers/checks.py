"""Pre-trade account checks of the simulated broker: short selling, buying power, reduce-only.

Rules
-----
* **Working orders never offset each other.** An order is judged against the position plus the
  working orders on *its own side*, all assumed filled; working orders on the other side are
  ignored, since they may never fill (a far-away buy limit is no cover for a sell). This is how
  NautilusTrader's cash and margin accounts lock balance/margin per open order
  (``CashAccount.calculate_balance_locked``, ``MarginAccount.calculate_margin_init``: one amount
  per order, summed) and how LEAN's ``CashBuyingPowerModel`` reserves the value of every open buy
  order.
* **Reduce-only orders** (bracket exits, closes, the kill switch's flatten) never open or
  increase a position: the broker rejects one that would not reduce the position when it arrives
  and clips it to the position at fill time (see :func:`reduce_only_room`), so it needs neither a
  short-sale nor a buying-power check. Working reduce-only orders move a position at most to flat.
* **Buying power** is ``equity * leverage - gross exposure - reserved``, where ``reserved`` is, per
  symbol and per side, the exposure the side's working orders would add beyond the current
  position (marked at the mid, else the last price). Both sides are reserved (NautilusTrader
  sums the initial margin of all open orders of an instrument).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from workbench.model.enums import OrderSide

_EPS = 1e-9


class WorkingOrder(Protocol):
    side: OrderSide
    quantity: float
    filled: float
    reduce_only: bool


def side_totals(orders: Iterable[WorkingOrder]) -> tuple[float, float, float, float]:
    """Leaves quantity (shares) of working orders: ``(buys, sells, reduce-only buys, reduce-only sells)``."""
    buys = sells = reduce_buys = reduce_sells = 0.0
    for so in orders:
        leaves = so.quantity - so.filled
        if so.side is OrderSide.BUY:
            if so.reduce_only:
                reduce_buys += leaves
            else:
                buys += leaves
        elif so.reduce_only:
            reduce_sells += leaves
        else:
            sells += leaves
    return buys, sells, reduce_buys, reduce_sells


def position_after_side(position: float, sign: float, plain: float, reduce_only: float) -> float:
    """Signed position once every working order of one side (``sign`` +1 buy, -1 sell) has filled.

    The reduce-only orders fill first (the worst case: they use up the position they may reduce,
    at most down to flat), then the plain ones.
    """
    if position * sign < 0:
        position += sign * min(reduce_only, abs(position))
    return position + sign * plain


def added_exposure(position: float, base: float, after: float) -> float:
    """Shares of exposure an order adds: how far ``after`` (its side's worst case with the order)
    goes beyond the largest of ``|position|`` and ``|base|`` (the same without the order)."""
    added = abs(after) - max(abs(base), abs(position))
    return added if added > 0 else 0.0


def reserved_exposure(position: float, totals: tuple[float, float, float, float]) -> float:
    """Shares of exposure reserved by a symbol's working orders, both sides summed."""
    buys, sells, reduce_buys, reduce_sells = totals
    up = abs(position_after_side(position, 1.0, buys, reduce_buys)) - abs(position)
    down = abs(position_after_side(position, -1.0, sells, reduce_sells)) - abs(position)
    return (up if up > 0 else 0.0) + (down if down > 0 else 0.0)


def reduce_only_room(position: float, side: OrderSide) -> float:
    """Shares a reduce-only order on ``side`` may still fill against ``position`` (0: none)."""
    room = -position if side is OrderSide.BUY else position
    return room if room > _EPS else 0.0


def short_sale_reason(symbol: str, position: float, totals: tuple[float, float, float, float],
                      quantity: float) -> str:
    """Why a plain sell of ``quantity`` would be refused without short selling ("" when allowed).

    The worst case: every working sell fills (reduce-only ones first, down to flat), then this one.
    """
    _, sells, _, reduce_sells = totals
    worst = position_after_side(position, -1.0, sells, reduce_sells) - quantity
    if worst < -_EPS:
        return (f"short selling not allowed: {symbol} position could reach {worst:g} "
                f"(position {position:g}, working sells {sells + reduce_sells:g}, this order {quantity:g})")
    return ""
