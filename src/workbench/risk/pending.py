"""Open-order quantities per symbol, kept up to date from the engine's events.

Pre-trade limits must count what is already working at the broker (two buys that each fit a
position limit may not fit together). Scanning every order on each check would make the check
slower as orders and symbols accumulate, so :class:`PendingOrders` follows the order and position
events on the engine's bus instead and answers in O(1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.model import events as ev
from workbench.model.enums import OrderSide

if TYPE_CHECKING:
    from workbench.engine.engine import TradingEngine
    from workbench.model.orders import Order


class PendingOrders:
    """Leaves quantity (shares) and notional (currency) of open orders, per symbol and side.

    ``notional`` uses each order's own price (limit, else stop) and, for market orders, the last
    price when the order was submitted.

    ``extra_gross[symbol]`` is how much the symbol's gross exposure could grow if its open orders
    filled, worst side: ``max(|v + buys|, |v - sells|) - |v|`` with ``v`` the position value;
    it is recomputed whenever the symbol's orders or position change (so ``v`` is valued at the
    last price of that moment), and ``extra_gross_total`` is its sum over symbols.
    """

    __slots__ = ("_engine", "_open", "buy_notional", "buy_quantity", "count", "extra_gross", "extra_gross_total",
                 "sell_notional", "sell_quantity", "total_buy_notional", "total_sell_notional")

    def __init__(self) -> None:
        self._engine: TradingEngine | None = None
        self._open: dict[str, list] = {}  # order_id -> [symbol, sign, price, leaves counted]
        self.buy_quantity: dict[str, float] = {}
        self.sell_quantity: dict[str, float] = {}
        self.buy_notional: dict[str, float] = {}
        self.sell_notional: dict[str, float] = {}
        self.count = 0
        self.total_buy_notional = 0.0
        self.total_sell_notional = 0.0
        self.extra_gross: dict[str, float] = {}
        self.extra_gross_total = 0.0

    def attach(self, engine: TradingEngine) -> None:
        self._engine = engine
        for order in engine.open_orders():
            self._add(order)
        for symbol in self.symbols():
            self._refresh(symbol)
        engine.bus.subscribe("events", self._on_event)

    @property
    def attached(self) -> bool:
        return self._engine is not None

    def symbols(self) -> set[str]:
        """Symbols with open orders."""
        return self.buy_quantity.keys() | self.sell_quantity.keys()

    # --------------------------------------------------------------------------------- updates
    def _price(self, order: Order) -> float:
        p = order.limit_price or order.stop_price
        if p:
            return p
        assert self._engine is not None
        return self._engine.portfolio.last_prices.get(order.symbol, 0.0)

    def _add(self, order: Order) -> None:
        sign = 1 if order.side is OrderSide.BUY else -1
        price = self._price(order) * self._engine.instrument(order.symbol).multiplier  # type: ignore[union-attr]
        self._open[order.order_id] = [order.symbol, sign, price, order.leaves_quantity]
        self._bump(order.symbol, sign, order.leaves_quantity, price)
        self.count += 1

    def _bump(self, symbol: str, sign: int, quantity: float, price: float) -> None:
        if sign > 0:
            q, n = self.buy_quantity, self.buy_notional
            self.total_buy_notional += quantity * price
        else:
            q, n = self.sell_quantity, self.sell_notional
            self.total_sell_notional += quantity * price
        q[symbol] = q.get(symbol, 0.0) + quantity
        n[symbol] = n.get(symbol, 0.0) + quantity * price

    def _refresh(self, symbol: str) -> None:
        old = self.extra_gross.pop(symbol, 0.0)
        buys = self.buy_notional.get(symbol, 0.0)
        sells = self.sell_notional.get(symbol, 0.0)
        new = 0.0
        if buys or sells:
            v = self._engine.portfolio.exposure(symbol)  # type: ignore[union-attr]
            new = max(abs(v + buys), abs(v - sells)) - abs(v)
            self.extra_gross[symbol] = new
        self.extra_gross_total += new - old
        if not self.extra_gross:
            self.extra_gross_total = 0.0

    def _on_event(self, event: ev.Event) -> None:
        t = type(event)
        if t is ev.OrderSubmitted:
            order = self._engine.orders.get(event.order_id)  # type: ignore[union-attr, attr-defined]
            if order is not None and event.order_id not in self._open:  # type: ignore[attr-defined]
                self._add(order)
                self._refresh(order.symbol)
            return
        if isinstance(event, ev.PositionEvent):
            if event.symbol in self.extra_gross or event.symbol in self.buy_quantity or event.symbol in self.sell_quantity:
                self._refresh(event.symbol)
            return
        if not isinstance(event, ev.OrderEvent):
            return
        entry = self._open.get(event.order_id)
        if entry is None:
            return
        symbol, sign, price, _ = entry
        if t is ev.OrderFilled:
            filled = min(event.last_quantity, entry[3])  # type: ignore[attr-defined]
            entry[3] -= filled
            self._bump(symbol, sign, -filled, price)
        elif t is ev.OrderModified:
            order = self._engine.orders[event.order_id]  # type: ignore[union-attr]
            self._remove(event.order_id)
            if order.is_open:
                self._add(order)
            self._refresh(symbol)
            return
        order = self._engine.orders.get(event.order_id)  # type: ignore[union-attr]
        if order is None or order.is_closed:
            self._remove(event.order_id)
        self._refresh(symbol)

    def _remove(self, order_id: str) -> None:
        symbol, sign, price, leaves = self._open.pop(order_id)
        self._bump(symbol, sign, -leaves, price)
        self.count -= 1
        q = self.buy_quantity if sign > 0 else self.sell_quantity
        if q.get(symbol, 0.0) <= 1e-9:  # wipe rounding residue
            del q[symbol]
            del (self.buy_notional if sign > 0 else self.sell_notional)[symbol]
        if not self._open:
            self.total_buy_notional = self.total_sell_notional = 0.0
