"""What an order would do to its symbol's position in the worst case, computed once per check.

Every pre-trade limit asks the same question: if this order and every order already working in
the same direction filled, how large would the position be, in shares and in currency? The
answer is computed once per order check and shared by the rules (:func:`order_impact`).

Worst case, for a BUY (a SELL mirrors it)::

    quantity_after = position + open buy leaves + order quantity            (shares, signed)
    notional_after = position * last * multiplier + open buy notional
                     + order quantity * price * multiplier                   (currency, signed)

where ``price`` is the order's own limit (else stop) price, else the last price (a sell limit at
the higher of its limit and the last price, since it fills at or above its limit), and open orders
count at their own price. An order *adds risk* when it pushes the worst-case position away from
zero on its side (``quantity_after > 0`` for a buy); orders that only reduce a position pass the
position and exposure limits.
"""

from __future__ import annotations

from typing import Any

from workbench.model.enums import OrderSide
from workbench.model.orders import Order


class OrderImpact:
    """Worst-case effect of one order (see the module docstring); ``price`` is None if unknown."""

    __slots__ = (
        "_gross", "adds_risk", "buy", "context", "last_price", "multiplier", "notional", "notional_after", "order",
        "pending", "position", "position_value", "price", "quantity_after",
    )

    def __init__(self, order: Order, context: Any) -> None:
        self.context = context
        self.pending = _pending(context)
        self._gross: float | None = None
        pf = context.portfolio
        symbol = order.symbol
        self.order = order
        self.buy = buy = order.side is OrderSide.BUY
        inst = pf.instruments.get(symbol)
        self.multiplier = mult = inst.multiplier if inst is not None else 1.0
        pos = pf.positions.get(symbol)
        self.position = q = pos.quantity if pos is not None else 0.0
        last = pf.last_prices.get(symbol)
        self.last_price = last
        price = order.limit_price or order.stop_price or last
        if last is not None and order.limit_price is not None and order.side is OrderSide.SELL:
            # a sell limit fills at or above its limit: a marketable one at the market, so its
            # worst case for a notional limit is the higher of the two (a buy limit is capped by it)
            price = max(order.limit_price, last)
        self.price = price
        pending = self.pending
        if pending is not None:
            if buy:
                pend_q, pend_n = pending.buy_quantity.get(symbol, 0.0), pending.buy_notional.get(symbol, 0.0)
            else:
                pend_q, pend_n = pending.sell_quantity.get(symbol, 0.0), pending.sell_notional.get(symbol, 0.0)
        else:
            pend_q, pend_n = pending_side(context, symbol, buy)
        pv = q * (last if last is not None else (pos.avg_price if pos is not None else 0.0)) * mult
        self.position_value = pv
        self.notional = order.quantity * price * mult if price is not None else None
        if buy:
            self.quantity_after = q + pend_q + order.quantity
            self.adds_risk = self.quantity_after > 1e-9
            self.notional_after = pv + pend_n + (self.notional or 0.0)
        else:
            self.quantity_after = q - pend_q - order.quantity
            self.adds_risk = self.quantity_after < -1e-9
            self.notional_after = pv - pend_n - (self.notional or 0.0)

    def gross_after(self) -> float | None:
        """Gross exposure (currency) if this order and every open order filled, worst side per symbol.

        None when the order's price is unknown. Other symbols' open orders count through
        :attr:`PendingOrders.extra_gross` (valued when their orders or position last changed).
        """
        if self.price is None:
            return None
        if self._gross is not None:
            return self._gross
        context, symbol = self.context, self.order.symbol
        pf = context.portfolio
        pending = self.pending
        gross = pf.gross_value
        if pending is not None:
            gross += pending.extra_gross_total - pending.extra_gross.get(symbol, 0.0)
        else:
            for s in pending_symbols(context) - {symbol}:
                pv_s = pf.exposure(s)
                gross += max(abs(pv_s + pending_side(context, s, True)[1]),
                             abs(pv_s - pending_side(context, s, False)[1])) - abs(pv_s)
        pv = self.position_value
        opposite_n = pending_side(context, symbol, not self.buy)[1]
        opposite = pv - opposite_n if self.buy else pv + opposite_n
        self._gross = gross - abs(pv) + max(abs(self.notional_after), abs(opposite))
        return self._gross


def pending_side(context: Any, symbol: str, buy: bool) -> tuple[float, float]:
    """(leaves quantity, notional) of open orders of ``symbol`` on the buy (or sell) side."""
    pending = _pending(context)
    if pending is not None:
        if buy:
            return pending.buy_quantity.get(symbol, 0.0), pending.buy_notional.get(symbol, 0.0)
        return pending.sell_quantity.get(symbol, 0.0), pending.sell_notional.get(symbol, 0.0)
    quantity = notional = 0.0
    side = OrderSide.BUY if buy else OrderSide.SELL
    last = context.portfolio.last_prices.get(symbol, 0.0)
    for o in context.open_orders(symbol):
        if o.side is side:
            quantity += o.leaves_quantity
            notional += o.leaves_quantity * (o.limit_price or o.stop_price or last)
    return quantity, notional


def _pending(context: Any) -> Any:
    pending = getattr(getattr(context, "risk", None), "pending", None)
    return pending if pending is not None and pending.attached else None


def pending_totals(context: Any) -> tuple[float, float]:
    """(buy notional, sell notional) of every open order, currency."""
    pending = _pending(context)
    if pending is not None:
        return pending.total_buy_notional, pending.total_sell_notional
    buys = sells = 0.0
    last = context.portfolio.last_prices
    for o in context.open_orders():
        value = o.leaves_quantity * (o.limit_price or o.stop_price or last.get(o.symbol, 0.0))
        if o.side is OrderSide.BUY:
            buys += value
        else:
            sells += value
    return buys, sells


def pending_symbols(context: Any) -> set[str]:
    """Symbols with open orders."""
    pending = _pending(context)
    return pending.symbols() if pending is not None else {o.symbol for o in context.open_orders()}


_cache: list[Any] = [None, -1, None]  # order, risk.checks, impact


def order_impact(order: Order, context: Any) -> OrderImpact:
    """The :class:`OrderImpact` of ``order``, computed once per risk check and shared by the rules."""
    risk = getattr(context, "risk", None)
    if risk is None:
        return OrderImpact(order, context)
    n = risk.checks
    if _cache[0] is order and _cache[1] == n:
        return _cache[2]
    impact = OrderImpact(order, context)
    _cache[0], _cache[1], _cache[2] = order, n, impact
    return impact
