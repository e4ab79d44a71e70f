"""The simulated broker's account side: pre-trade checks, buying power, equity and the clipping of
reduce-only and short sales at fill time (rules in :mod:`workbench.brokers.checks`).

A mixin of :class:`workbench.brokers.simulated.SimulatedBroker`: it reads the broker's book
(``positions``, ``cash``, ``_open``, ``_bid``/``_ask``/``_last``, ``config``).
"""

from __future__ import annotations

from workbench.brokers.checks import (
    added_exposure,
    position_after_side,
    reduce_only_room,
    reserved_exposure,
    short_sale_reason,
    side_totals,
)
from workbench.brokers.sim_order import EPS, SimOrder
from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderType
from workbench.model.orders import Order

BUY = OrderSide.BUY


class AccountChecks:
    """Pre-trade and fill-time account rules of the simulated broker (currency amounts in the
    account currency, quantities in shares)."""

    def _ref_price(self, symbol: str, side: OrderSide) -> float | None:
        book = self._bid if side is not BUY else self._ask
        return book.get(symbol, self._last.get(symbol))

    # ------------------------------------------------------------------------------- checks
    def _pre_check(self, order: Order) -> str:
        """Why the broker refuses ``order`` on arrival ("" when it accepts it); rules in
        :mod:`workbench.brokers.checks`."""
        symbol = order.symbol
        book = self.positions.get(symbol)
        pos = book[0] if book is not None else 0.0
        t = order.order_type
        if t is not OrderType.MARKET:
            if t in (OrderType.LIMIT, OrderType.STOP_LIMIT) and not (order.limit_price and order.limit_price > 0):
                return f"{t} order needs a positive limit_price, got {order.limit_price!r}"
            if t in (OrderType.STOP, OrderType.STOP_LIMIT) and not (order.stop_price and order.stop_price > 0):
                return f"{t} order needs a positive stop_price, got {order.stop_price!r}"
            if t is OrderType.TRAILING_STOP and not (order.trailing_offset and order.trailing_offset > 0):
                return f"TRAILING_STOP order needs a positive trailing_offset, got {order.trailing_offset!r}"
        if order.reduce_only:
            # NautilusTrader rejects a reduce-only order that would open or increase the position
            if not reduce_only_room(pos, order.side):
                return f"reduce-only {order.side} order would not reduce the {symbol} position ({pos:g})"
            return ""  # clipped to the position at fill time: never opens or increases exposure
        return self._account_check(symbol, order.side, order.quantity, order.limit_price or order.stop_price)

    def _account_check(self, symbol: str, side: OrderSide, quantity: float, price: float | None) -> str:
        """Short-sale and buying-power check of ``quantity`` more shares on ``side`` ("" = allowed).

        The exposure added is valued at the larger of the order's own price (limit or stop) and the
        symbol's mark, so what an acceptance reserves (at the mark) never exceeds what was checked.
        """
        cfg = self.config
        book = self.positions.get(symbol)
        pos = book[0] if book is not None else 0.0
        totals = side_totals(self._open.get(symbol, ()))
        if not cfg.allow_short and side is not BUY:
            reason = short_sale_reason(symbol, pos, totals, quantity)
            if reason:
                return reason
        if cfg.check_buying_power:
            mark = self._mark(symbol, 0.0)
            ref = self._ref_price(symbol, side) if price is None else price
            value = max(ref or 0.0, mark)
            if value:
                if side is BUY:
                    base = position_after_side(pos, 1.0, totals[0], totals[2])
                    after = base + quantity
                else:
                    base = position_after_side(pos, -1.0, totals[1], totals[3])
                    after = base - quantity
                added = added_exposure(pos, base, after) * value * self.instrument(symbol).multiplier
                if added > 0:
                    available = self.buying_power()
                    if added > available + 1e-6:
                        return (f"insufficient buying power: order adds {added:,.2f} exposure, "
                                f"{available:,.2f} available")
        return ""

    def _clip_reduce_only(self, so: SimOrder, qty: float, ts: int) -> float:
        """Fill quantity of a reduce-only order: at most the position left, never a flip.

        With no position left to reduce the order is canceled; a fill larger than the position is
        clipped to it and the order's quantity shrunk to match (an ``OrderModified``), so it ends
        FILLED, as NautilusTrader's matching engine does (``OrderUpdated`` to the position size).
        """
        book = self.positions.get(so.symbol)
        room = reduce_only_room(book[0] if book is not None else 0.0, so.side)
        return self._clip_to_room(so, qty, room, ts, "reduce-only: no position left to reduce")

    def _clip_short_sale(self, so: SimOrder, qty: float, ts: int) -> float:
        """Fill quantity of a sell when shorting is not allowed: at most the long position left.

        The pre-trade check passed when the order arrived, but other sells (a reduce-only exit that
        arrived later, a manual close) may have filled first; the rest of the order would open a short.
        It is clipped (an ``OrderModified``) or, with nothing left to sell, canceled.
        """
        book = self.positions.get(so.symbol)
        room = max(book[0] if book is not None else 0.0, 0.0)
        return self._clip_to_room(so, qty, room, ts, "short selling not allowed: no position left to sell")

    def _clip_to_room(self, so: SimOrder, qty: float, room: float, ts: int, empty_reason: str) -> float:
        """``qty`` clipped to ``room`` shares: canceled (``empty_reason``) when there is no room, shrunk
        with an ``OrderModified`` when the fill would exceed it."""
        if room <= EPS:
            self._close(so, ev.OrderCanceled(ts_event=ts, order_id=so.order_id, symbol=so.symbol, reason=empty_reason))
            return 0.0
        if qty > room + EPS:
            qty = room
            so.quantity = so.filled + room
            self._emit(ev.OrderModified(ts_event=ts, order_id=so.order_id, symbol=so.symbol, quantity=so.quantity))
        return qty

    def _mark(self, symbol: str, fallback: float) -> float:
        b, a = self._bid.get(symbol), self._ask.get(symbol)
        if b is not None and a is not None:
            return (b + a) * 0.5
        return self._last.get(symbol, fallback)

    def equity(self) -> float:
        return self.cash + sum(
            q * self._mark(s, avg) * self.instrument(s).multiplier for s, (q, avg) in self.positions.items()
        )

    def buying_power(self) -> float:
        """``equity * leverage`` minus gross exposure minus the exposure working orders would add,
        each side of each symbol reserved separately (currency; :mod:`workbench.brokers.checks`)."""
        net = gross = 0.0
        bids, asks, lasts, instruments = self._bid, self._ask, self._last, self.instruments
        for s, (q, avg) in self.positions.items():
            if q:
                b, a = bids.get(s), asks.get(s)  # mark as in _mark, inlined: once per position per order
                mark = (b + a) * 0.5 if b is not None and a is not None else lasts.get(s, avg)
                inst = instruments.get(s) or self.instrument(s)
                v = q * mark * inst.multiplier
                net += v
                gross += v if v > 0 else -v
        reserved = 0.0
        for s, orders in self._open.items():
            book = self.positions.get(s)
            extra = reserved_exposure(book[0] if book is not None else 0.0, side_totals(orders))
            if extra > 0:
                reserved += extra * self._mark(s, 0.0) * self.instrument(s).multiplier
        return (self.cash + net) * self.config.leverage - gross - reserved
