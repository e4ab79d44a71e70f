"""Portfolio rules: daily loss, drawdown, portfolio heat and value at risk.

Each rule is both a risk monitor (evaluated once per data timestamp by
:meth:`RiskEngine.on_time_slice`; a breach calls :meth:`RiskEngine.trip`, which journals a
``RiskEvent`` and moves trading to REDUCE_ONLY or HALTED, or pulls the kill switch, as configured)
and a pre-trade rule (``check`` denies orders that add risk while the limit is breached, so a
breach between two timestamps cannot be traded into). Amounts are in the account currency;
percentages are fractions (0.02 = 2%).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.model.enums import OrderSide, OrderType
from workbench.model.orders import Order
from workbench.risk.engine import BreachAction
from workbench.risk.history import PriceHistory, SessionBoundary
from workbench.risk.impact import order_impact

if TYPE_CHECKING:
    from workbench.engine.engine import TradingEngine
    from workbench.risk.engine import RiskEngine

_STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)


def _num(x: float) -> str:
    return f"{x:,.2f}"


class PortfolioRule:
    """Base: ``action`` on breach (:class:`BreachAction`) and an optional ``reduce_fraction`` of
    every position to cut automatically. Subclasses implement :meth:`breach`."""

    name = "portfolio_rule"

    def __init__(self, action: BreachAction | str = BreachAction.REDUCE_ONLY, reduce_fraction: float = 0.0) -> None:
        self.action = BreachAction(action)
        if not 0.0 <= reduce_fraction <= 1.0:
            raise ValueError(f"{self.name}.reduce_fraction must be in [0, 1], got {reduce_fraction!r}")
        self.reduce_fraction = reduce_fraction

    def attach(self, engine: TradingEngine, risk: RiskEngine) -> None:
        pass

    def breach(self, context: Any) -> tuple[str, float, float] | None:
        """(message, value, limit) when the limit is breached now, else None."""
        raise NotImplementedError

    def on_time_slice(self, engine: TradingEngine, risk: RiskEngine, ts_ns: int) -> None:
        if self.name in risk.tripped:
            return
        found = self.breach(engine)
        if found is not None:
            message, value, limit = found
            risk.trip(engine, self.name, message, self.action, value=value, limit=limit,
                      reduce_fraction=self.reduce_fraction)

    def check(self, order: Order, context: Any) -> str | None:
        if not order_impact(order, context).adds_risk:
            return None
        found = self.breach(context)
        return f"{self.name}: {found[0]}" if found is not None else None


class DailyLossLimit(PortfolioRule):
    """Breach when equity has fallen more than ``limit`` (currency) or ``percent`` of start-of-day
    equity (the smaller) below start-of-day equity.

    Start-of-day equity is the equity at the last data timestamp of the previous exchange session
    (its close), or the equity when the rule was attached for the first session.
    """

    name = "daily_loss_limit"

    def __init__(self, limit: float | None = None, percent: float | None = None, exchange: str = "XNYS",
                 action: BreachAction | str = BreachAction.REDUCE_ONLY, reduce_fraction: float = 0.0) -> None:
        super().__init__(action, reduce_fraction)
        if limit is None and percent is None:
            raise ValueError("DailyLossLimit needs limit or percent")
        self.limit = limit
        self.percent = percent
        self.boundary = SessionBoundary(exchange)
        self.start_equity: float | None = None

    def attach(self, engine: TradingEngine, risk: RiskEngine) -> None:
        self.start_equity = engine.portfolio.equity

    def allowed_loss(self, start: float) -> float:
        limits = [x for x in (self.limit, None if self.percent is None else self.percent * start) if x is not None]
        return min(limits)

    def breach(self, context: Any) -> tuple[str, float, float] | None:
        equity = context.portfolio.equity
        start = self.start_equity if self.start_equity is not None else equity
        loss = start - equity
        allowed = self.allowed_loss(start)
        if loss > allowed + 1e-9:
            return (f"loss {_num(loss)} since start-of-day equity {_num(start)} exceeds limit {_num(allowed)}",
                    loss, allowed)
        return None

    def on_time_slice(self, engine: TradingEngine, risk: RiskEngine, ts_ns: int) -> None:
        super().on_time_slice(engine, risk, ts_ns)
        if self.boundary.crossed(ts_ns):
            self.start_equity = engine.portfolio.equity

    def restore_equity_history(self, history: Sequence[tuple[int, float]]) -> None:
        """Rebuild start-of-day equity after a restart from the journaled equity samples
        ``(ts_ns, equity)`` in time order, the first being the session's starting equity: the same
        session-boundary rule as :meth:`on_time_slice`, applied to the samples (``AccountState``
        events, journaled on every fill and every snapshot interval), so a restart does not give the
        day a fresh loss allowance."""
        if not history:
            return
        self.boundary = SessionBoundary(self.boundary.exchange)
        self.start_equity = history[0][1]
        for ts_ns, equity in history:
            if self.boundary.crossed(ts_ns):
                self.start_equity = equity


class MaxDrawdown(PortfolioRule):
    """Breach when equity is more than ``percent`` below its peak (peak seen at data timestamps)."""

    name = "max_drawdown"

    def __init__(self, percent: float, action: BreachAction | str = BreachAction.HALT, reduce_fraction: float = 0.0) -> None:
        super().__init__(action, reduce_fraction)
        self.percent = percent
        self.peak: float | None = None

    def attach(self, engine: TradingEngine, risk: RiskEngine) -> None:
        self.peak = engine.portfolio.equity

    def breach(self, context: Any) -> tuple[str, float, float] | None:
        equity = context.portfolio.equity
        peak = equity if self.peak is None else max(self.peak, equity)
        drawdown = 1.0 - equity / peak if peak > 0 else 0.0
        if drawdown > self.percent + 1e-12:
            return (f"drawdown {drawdown:.2%} from peak equity {_num(peak)} exceeds limit {self.percent:.2%}",
                    drawdown, self.percent)
        return None

    def on_time_slice(self, engine: TradingEngine, risk: RiskEngine, ts_ns: int) -> None:
        equity = engine.portfolio.equity
        if self.peak is None or equity > self.peak:
            self.peak = equity
        super().on_time_slice(engine, risk, ts_ns)

    def restore_equity_history(self, history: Sequence[tuple[int, float]]) -> None:
        """Rebuild the equity peak after a restart from the journaled equity samples
        ``(ts_ns, equity)``, so the drawdown is measured from the session's real peak, not from the
        equity at the restart (a peak between two samples is missed: samples are taken on every
        fill and every snapshot interval)."""
        equities = [equity for _, equity in history]
        if self.peak is not None:
            equities.append(self.peak)
        if equities:
            self.peak = max(equities)


class PortfolioHeat(PortfolioRule):
    """Breach when the open risk to stops exceeds ``percent`` of equity.

    Open risk of a position = sum over its working stop orders (reduce side) of
    ``leaves * multiplier * max(0, (last - stop) * direction)``, plus, for the part of the position
    no stop covers, ``quantity * last * multiplier * default_stop_percent`` (the whole value when
    ``default_stop_percent`` is None: a position without a stop risks everything). A new order's
    risk uses the stop leg of its bracket (linked orders) when it has one.
    """

    name = "portfolio_heat"

    def __init__(self, percent: float, default_stop_percent: float | None = None,
                 action: BreachAction | str = BreachAction.REDUCE_ONLY, reduce_fraction: float = 0.0) -> None:
        super().__init__(action, reduce_fraction)
        self.percent = percent
        self.default_stop_percent = default_stop_percent

    def heat(self, context: Any) -> float:
        """Open risk to stops of the positions and of the working entry orders, currency."""
        pf = context.portfolio
        stops: dict[str, list[Order]] = {}
        total = 0.0
        for o in context.open_orders():
            if o.order_type in _STOP_TYPES and o.stop_price is not None and o.reduce_only:
                stops.setdefault(o.symbol, []).append(o)
            elif not o.reduce_only:
                total += self.order_risk(o, context, o.leaves_quantity)
        for symbol, pos in pf.positions.items():
            q = pos.quantity
            if pos.is_flat:
                continue
            last = pf.last_prices.get(symbol, pos.avg_price)
            direction = 1.0 if q > 0 else -1.0
            covered = 0.0
            for o in stops.get(symbol, ()):
                if (o.side is OrderSide.SELL) == (q > 0):
                    leaves = min(o.leaves_quantity, abs(q) - covered)
                    if leaves <= 0:
                        break
                    covered += leaves
                    total += leaves * pos.multiplier * max(0.0, (last - o.stop_price) * direction)  # type: ignore[operator]
            total += self._uncovered(abs(q) - covered, last, pos.multiplier)
        return total

    def _uncovered(self, quantity: float, price: float, multiplier: float) -> float:
        if quantity <= 1e-9:
            return 0.0
        fraction = 1.0 if self.default_stop_percent is None else self.default_stop_percent
        return quantity * price * multiplier * fraction

    def order_risk(self, order: Order, context: Any, quantity: float | None = None) -> float:
        """Risk an entry order adds (currency): distance to its bracket stop leg, else the default."""
        pf = context.portfolio
        price = order.limit_price or order.stop_price or pf.last_prices.get(order.symbol, 0.0)
        multiplier = pf.instrument(order.symbol).multiplier
        quantity = order.quantity if quantity is None else quantity
        orders = getattr(context, "orders", {})
        for oid in order.linked_order_ids:
            leg = orders.get(oid)
            if leg is not None and leg.order_type in _STOP_TYPES and leg.stop_price is not None:
                return quantity * multiplier * abs(price - leg.stop_price)
        return self._uncovered(quantity, price, multiplier)

    def breach(self, context: Any, extra: float = 0.0) -> tuple[str, float, float] | None:
        equity = context.portfolio.equity
        heat = self.heat(context) + extra
        limit = self.percent * equity
        if heat > limit + 1e-6:
            return (f"open risk to stops {_num(heat)} is {heat / equity:.2%} of equity, limit {self.percent:.2%}"
                    if equity > 0 else f"open risk {_num(heat)} with equity {_num(equity)}", heat, limit)
        return None

    def check(self, order: Order, context: Any) -> str | None:
        if not order_impact(order, context).adds_risk:
            return None
        found = self.breach(context, self.order_risk(order, context))
        return f"{self.name}: {found[0]}" if found is not None else None


def value_at_risk(values: np.ndarray, returns: np.ndarray, confidence: float = 0.99, horizon_days: float = 1.0,
                  method: str = "historical") -> float:
    """Value at risk of holdings ``values`` (currency, shape (n,)) from daily ``returns`` (shape (T, n)).

    ``historical``: ``-quantile(returns @ values, 1 - confidence)`` (numpy's linear interpolation),
    the loss not exceeded with probability ``confidence`` in the sampled history.
    ``parametric`` (delta-normal, mean taken as zero): ``z_confidence * sqrt(v' S v)`` with ``S`` the
    sample covariance (ddof=1) of the returns (Jorion, *Value at Risk*, 3rd ed., ch. 7).
    Both scale to ``horizon_days`` by the square root of time. Returns a loss in currency (>= 0).

    Raises
    ------
    ValueError
        If ``method`` is unknown, ``confidence`` is not in (0, 1) or there are fewer than 2 returns.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if returns.shape[0] < 2:
        raise ValueError(f"value_at_risk needs at least 2 returns, got {returns.shape[0]}")
    scale = math.sqrt(horizon_days)
    if method == "historical":
        pnl = returns @ values
        return max(0.0, -float(np.quantile(pnl, 1.0 - confidence))) * scale
    if method == "parametric":
        cov = np.atleast_2d(np.cov(returns, rowvar=False, ddof=1))
        sigma = math.sqrt(max(float(values @ cov @ values), 0.0))
        return NormalDist().inv_cdf(confidence) * sigma * scale
    raise ValueError(f"method must be 'historical' or 'parametric', got {method!r}")


class ValueAtRisk(PortfolioRule):
    """Breach when the portfolio's value at risk exceeds ``percent`` of equity (see :func:`value_at_risk`).

    Returns are daily closes sampled by a :class:`PriceHistory` (shared with other rules). Until
    ``min_observations`` returns exist the rule passes. The pre-trade check values the portfolio
    with the order added.
    """

    name = "value_at_risk"

    def __init__(self, percent: float, confidence: float = 0.99, horizon_days: float = 1.0, method: str = "historical",
                 history: PriceHistory | None = None, min_observations: int = 20,
                 action: BreachAction | str = BreachAction.REDUCE_ONLY, reduce_fraction: float = 0.0) -> None:
        super().__init__(action, reduce_fraction)
        if method not in ("historical", "parametric"):
            raise ValueError(f"ValueAtRisk.method must be 'historical' or 'parametric', got {method!r}")
        self.percent = percent
        self.confidence = confidence
        self.horizon_days = horizon_days
        self.method = method
        self.history = history if history is not None else PriceHistory()
        self.min_observations = min_observations
        self._seen = 0

    def var(self, context: Any, order: Order | None = None) -> float | None:
        """Value at risk (currency) of the current positions (plus ``order``), None without enough history."""
        pf = context.portfolio
        holdings = {s: pf.exposure(s) for s, p in pf.positions.items() if not p.is_flat}
        if order is not None:
            im = order_impact(order, context)
            holdings[order.symbol] = holdings.get(order.symbol, 0.0) + (im.notional or 0.0) * (1 if im.buy else -1)
        if not holdings:
            return 0.0
        symbols = list(holdings)
        rets = self.history.returns(symbols)
        if rets.shape[0] < self.min_observations:
            return None
        values = np.array([holdings[s] for s in symbols])
        return value_at_risk(values, rets, self.confidence, self.horizon_days, self.method)

    def breach(self, context: Any, order: Order | None = None) -> tuple[str, float, float] | None:
        var = self.var(context, order)
        if var is None:
            return None
        limit = self.percent * context.portfolio.equity
        if var > limit + 1e-6:
            return (f"{self.method} VaR({self.confidence:.0%}, {self.horizon_days:g}d) {_num(var)} exceeds "
                    f"{self.percent:.2%} of equity = {_num(limit)}", var, limit)
        return None

    def on_time_slice(self, engine: TradingEngine, risk: RiskEngine, ts_ns: int) -> None:
        """Evaluate once per new history sample (session close); orders are checked pre-trade."""
        if self.history not in risk.monitors:
            self.history.on_time_slice(engine, risk, ts_ns)
        n = len(self.history.times)
        if n != self._seen:
            self._seen = n
            super().on_time_slice(engine, risk, ts_ns)

    def check(self, order: Order, context: Any) -> str | None:
        if not order_impact(order, context).adds_risk:
            return None
        found = self.breach(context, order)
        return f"{self.name}: {found[0]}" if found is not None else None
