"""Pre-trade rules: each checks one limit and denies with a reason naming the rule, limit and value.

Every rule has a ``name`` and ``check(order, context) -> str | None`` (``context`` is the
:class:`~workbench.engine.engine.TradingEngine`). Reasons start with the rule name, e.g.
``"max_order_quantity: order quantity 1,500 exceeds limit 1,000 (AAPL)"``. Position and exposure
limits use the worst case of :mod:`workbench.risk.impact` (this order plus every open order on the
same side filling) and let orders that only reduce a position pass. Amounts are in the account
currency, quantities in shares (or contracts), percentages as fractions (0.1 = 10%).

Rules whose check needs a price deny when no price is known for the symbol (a limit or stop price
counts; otherwise the last price the engine has seen).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from workbench.model.orders import Order
from workbench.risk.impact import order_impact, pending_symbols, pending_totals

NS_PER_SECOND = 1_000_000_000


def _num(x: float) -> str:
    return f"{x:,.2f}" if x != int(x) else f"{x:,.0f}"


def _no_price(name: str, order: Order) -> str:
    return f"{name}: no price known for {order.symbol} to value the order"


class LimitRule:
    """Base of the rules with one numeric ``limit``."""

    name = "limit"

    def __init__(self, limit: float) -> None:
        self.limit = float(limit)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.limit:g})"


class MaxOrderQuantity(LimitRule):
    """Deny an order larger than ``limit`` shares."""

    name = "max_order_quantity"

    def check(self, order: Order, context: Any) -> str | None:
        if order.quantity > self.limit:
            return f"{self.name}: order quantity {_num(order.quantity)} exceeds limit {_num(self.limit)} ({order.symbol})"
        return None


class MaxOrderNotional(LimitRule):
    """Deny an order worth more than ``limit`` (quantity x price x multiplier, currency)."""

    name = "max_order_notional"

    def check(self, order: Order, context: Any) -> str | None:
        notional = order_impact(order, context).notional
        if notional is None:
            return _no_price(self.name, order)
        if notional > self.limit:
            return f"{self.name}: order notional {_num(notional)} exceeds limit {_num(self.limit)} ({order.symbol})"
        return None


class MaxPositionQuantity(LimitRule):
    """Deny an order that could take the position beyond ``limit`` shares (either side)."""

    name = "max_position_quantity"

    def check(self, order: Order, context: Any) -> str | None:
        im = order_impact(order, context)
        if im.adds_risk and abs(im.quantity_after) > self.limit:
            return (f"{self.name}: {order.symbol} position could reach {_num(im.quantity_after)} shares "
                    f"(with open orders), limit {_num(self.limit)}")
        return None


class MaxPositionNotional(LimitRule):
    """Deny an order that could make one position worth more than ``limit`` (currency)."""

    name = "max_position_notional"

    def check(self, order: Order, context: Any) -> str | None:
        im = order_impact(order, context)
        if not im.adds_risk:
            return None
        if im.price is None:
            return _no_price(self.name, order)
        if abs(im.notional_after) > self.limit:
            return (f"{self.name}: {order.symbol} position could be worth {_num(abs(im.notional_after))} "
                    f"(with open orders), limit {_num(self.limit)}")
        return None


class MaxPositionPercentOfEquity(LimitRule):
    """Deny an order that could make one position worth more than ``percent`` of equity."""

    name = "max_position_percent_equity"

    @property
    def percent(self) -> float:
        """The limit (fraction of equity); ``limit`` is the same number (``SetLimit`` changes it)."""
        return self.limit

    def check(self, order: Order, context: Any) -> str | None:
        im = order_impact(order, context)
        if not im.adds_risk:
            return None
        if im.price is None:
            return _no_price(self.name, order)
        equity = context.portfolio.equity
        share = abs(im.notional_after) / equity if equity > 0 else float("inf")
        if share > self.percent:
            return (f"{self.name}: {order.symbol} position could be {share:.2%} of equity {_num(equity)}, "
                    f"limit {self.percent:.2%}")
        return None


class MaxOpenPositions:
    """Deny an order that opens a position in a new symbol when ``limit`` positions are held or pending."""

    name = "max_open_positions"

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)

    def check(self, order: Order, context: Any) -> str | None:
        pf = context.portfolio
        pos = pf.positions.get(order.symbol)
        if pos is not None and not pos.is_flat:
            return None
        held = {s for s, p in pf.positions.items() if not p.is_flat} | pending_symbols(context)
        held.discard(order.symbol)
        if len(held) + 1 > self.limit:
            return (f"{self.name}: opening {order.symbol} would make {len(held) + 1} positions "
                    f"(held or pending), limit {self.limit}")
        return None


def _worst_gross(order: Order, context: Any) -> float | None:
    return order_impact(order, context).gross_after()


class MaxGrossExposure(LimitRule):
    """Deny an order that could take gross exposure (sum of |position values|) beyond ``limit`` (currency)."""

    name = "max_gross_exposure"

    def check(self, order: Order, context: Any) -> str | None:
        if not order_impact(order, context).adds_risk:
            return None
        gross = _worst_gross(order, context)
        if gross is None:
            return _no_price(self.name, order)
        if gross > self.limit + 1e-6:
            return f"{self.name}: gross exposure could reach {_num(gross)} (with open orders), limit {_num(self.limit)}"
        return None


class BuyingPower:
    """Deny an order whose worst-case gross exposure exceeds ``equity * leverage``."""

    name = "buying_power"

    def __init__(self, leverage: float = 1.0) -> None:
        self.leverage = float(leverage)

    def check(self, order: Order, context: Any) -> str | None:
        if not order_impact(order, context).adds_risk:
            return None
        gross = _worst_gross(order, context)
        if gross is None:
            return _no_price(self.name, order)
        power = context.portfolio.equity * self.leverage
        if gross > power + 1e-6:
            return (f"{self.name}: gross exposure could reach {_num(gross)}, buying power {_num(power)} "
                    f"(equity x leverage {self.leverage:g})")
        return None


class MaxNetExposure(LimitRule):
    """Deny an order that could take |net exposure| (sum of signed position values) beyond ``limit``."""

    name = "max_net_exposure"

    def check(self, order: Order, context: Any) -> str | None:
        im = order_impact(order, context)
        if im.price is None:
            return _no_price(self.name, order)
        pf = context.portfolio
        buys, sells = pending_totals(context)
        net = pf.market_value + buys + im.notional if im.buy else pf.market_value - sells - im.notional
        if (im.buy and net <= 0) or (not im.buy and net >= 0) or abs(net) <= abs(pf.market_value):
            return None  # moves net exposure toward zero
        if abs(net) > self.limit + 1e-6:
            return f"{self.name}: net exposure could reach {_num(net)} (with open orders), limit {_num(self.limit)}"
        return None


class MinCashReserve:
    """Deny a buy that could leave less cash than ``amount`` or ``percent`` of equity (the larger)."""

    name = "min_cash_reserve"

    def __init__(self, amount: float = 0.0, percent: float = 0.0) -> None:
        self.amount = float(amount)
        self.percent = float(percent)

    def check(self, order: Order, context: Any) -> str | None:
        im = order_impact(order, context)
        if not im.buy or not im.adds_risk:
            return None
        if im.notional is None:
            return _no_price(self.name, order)
        pf = context.portfolio
        buys = pending_totals(context)[0]
        cash_after = pf.cash - buys - im.notional
        reserve = max(self.amount, self.percent * pf.equity)
        if cash_after < reserve - 1e-6:
            return f"{self.name}: cash could fall to {_num(cash_after)} (with open buys), reserve {_num(reserve)}"
        return None


class PriceBand:
    """Deny a limit or stop price more than ``percent`` away from the last price."""

    name = "price_band"

    def __init__(self, percent: float) -> None:
        self.percent = float(percent)

    def check(self, order: Order, context: Any) -> str | None:
        if order.limit_price is None and order.stop_price is None:
            return None
        last = context.portfolio.last_prices.get(order.symbol)
        if not last:
            return f"{self.name}: no last price for {order.symbol} to check the order price against"
        for label, price in (("limit", order.limit_price), ("stop", order.stop_price)):
            if price is not None:
                away = abs(price / last - 1.0)
                if away > self.percent + 1e-12:
                    return (f"{self.name}: {label} price {price:g} is {away:.2%} from last {last:g} ({order.symbol}), "
                            f"limit {self.percent:.2%}")
        return None


class MaxOrderRate:
    """Deny more than ``per_second`` approved orders overall, or ``per_symbol`` per symbol, in a window.

    Only approved orders count (the risk engine calls :meth:`on_approved`).
    """

    name = "max_order_rate"

    def __init__(self, per_second: float | None = None, per_symbol: float | None = None, window_seconds: float = 1.0) -> None:
        self.per_second = per_second
        self.per_symbol = per_symbol
        self.window_ns = int(window_seconds * NS_PER_SECOND)
        self.window_seconds = window_seconds
        self._all: deque[int] = deque()
        self._by_symbol: dict[str, deque[int]] = {}

    def _expire(self, times: deque[int], now: int) -> None:
        edge = now - self.window_ns
        while times and times[0] <= edge:
            times.popleft()

    def check(self, order: Order, context: Any) -> str | None:
        now = context.now_ns()
        if self.per_second is not None:
            self._expire(self._all, now)
            if len(self._all) + 1 > self.per_second * self.window_seconds:
                return (f"{self.name}: {len(self._all) + 1} orders in {self.window_seconds:g}s, "
                        f"limit {self.per_second:g}/s overall")
        if self.per_symbol is not None:
            times = self._by_symbol.get(order.symbol)
            if times is not None:
                self._expire(times, now)
                if len(times) + 1 > self.per_symbol * self.window_seconds:
                    return (f"{self.name}: {len(times) + 1} {order.symbol} orders in {self.window_seconds:g}s, "
                            f"limit {self.per_symbol:g}/s per symbol")
        return None

    def on_approved(self, order: Order, now: int) -> None:
        self._all.append(now)
        self._by_symbol.setdefault(order.symbol, deque()).append(now)


class RestrictedSymbols:
    """Deny every order in one of ``symbols`` (reducing orders pass when ``allow_reducing``)."""

    name = "restricted_symbols"

    def __init__(self, symbols: Iterable[str], allow_reducing: bool = True) -> None:
        self.symbols = frozenset(s.upper() for s in symbols)
        self.allow_reducing = allow_reducing

    def check(self, order: Order, context: Any) -> str | None:
        if order.symbol in self.symbols:
            if self.allow_reducing and not order_impact(order, context).adds_risk:
                return None
            return f"{self.name}: {order.symbol} is restricted (list of {len(self.symbols)} symbols)"
        return None


class ShortSelling:
    """Deny a sell that could open or increase a short position (when short selling is not allowed)."""

    name = "short_selling"

    def check(self, order: Order, context: Any) -> str | None:
        im = order_impact(order, context)
        if not im.buy and im.quantity_after < -1e-9:
            return (f"{self.name}: short selling not allowed; {order.symbol} position could reach "
                    f"{_num(im.quantity_after)} shares (with open orders), limit 0")
        return None


class SectorExposure:
    """Deny an order that could make one sector's gross exposure exceed ``limit`` (currency) or
    ``percent`` of equity; sectors come from ``sectors`` (symbol -> sector, unknown = ``"UNKNOWN"``).
    """

    name = "sector_exposure"

    def __init__(self, sectors: dict[str, str], limit: float | None = None, percent: float | None = None) -> None:
        if limit is None and percent is None:
            raise ValueError("SectorExposure needs limit or percent")
        self.sectors = {k.upper(): v for k, v in sectors.items()}
        self.limit = limit
        self.percent = percent

    def check(self, order: Order, context: Any) -> str | None:
        im = order_impact(order, context)
        if not im.adds_risk:
            return None
        if im.price is None:
            return _no_price(self.name, order)
        sector = self.sectors.get(order.symbol, "UNKNOWN")
        pf = context.portfolio
        total = abs(im.notional_after)
        for s, p in pf.positions.items():
            if s != order.symbol and not p.is_flat and self.sectors.get(s, "UNKNOWN") == sector:
                total += abs(pf.exposure(s))
        limits = []
        if self.limit is not None:
            limits.append(self.limit)
        if self.percent is not None:
            limits.append(self.percent * pf.equity)
        limit = min(limits)
        if total > limit + 1e-6:
            return f"{self.name}: sector {sector} exposure could reach {_num(total)}, limit {_num(limit)}"
        return None
