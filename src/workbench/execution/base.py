"""The execution-algorithm base: a parent order worked through child orders on the engine's clock.

An :class:`ExecAlgorithm` owns one parent order (symbol, side, quantity, horizon, optional limit
price guard) and emits child orders through the engine, so every child passes the risk engine and is
journaled like any order; it runs on the engine's clock and data, so a backtest, a replayed paper
session and a live session work the parent the same way.

Parent state machine: ``WORKING`` -> ``COMPLETED`` (filled, or the horizon ended) | ``CANCELED``
(by the user, or by the kill switch: a ``TradingStateChanged`` to HALTED cancels every algorithm).
Every change is an event: ``ParentOrderStarted``, ``ParentOrderChildSent``,
``ParentOrderProgressed``, ``ParentOrderModified``, ``ParentOrderCompleted``,
``ParentOrderCanceled`` (:mod:`workbench.model.events`). Children carry the tag
``algo:<parent_id>``.

Children: ``style="cross"`` sends market orders (limit orders at the guard when a ``limit_price`` is
set: marketable only while the market is inside the guard); ``style="passive"`` posts limit orders at
the near touch (bid for a buy, ask for a sell; the last price without quotes), capped by the guard,
and a slice still working at the next slice is canceled and its quantity rolled into the next one.
A slice whose reference price is outside the guard is skipped (its quantity carries over).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, ClassVar

from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce, TradingState

__all__ = ["ExecAlgorithm", "ParentStatus"]

NS_PER_SECOND = 1_000_000_000
_EPS = 1e-9


class ParentStatus(StrEnum):
    WORKING = "WORKING"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


class ExecAlgorithm:
    """Base class. Subclasses set ``name`` and implement :meth:`_on_start` (and data hooks).

    Parameters
    ----------
    engine : TradingEngine
    symbol : str
    quantity : float
        Signed shares: > 0 buys, < 0 sells.
    horizon_seconds : float
        Seconds from the start to ``end_ns`` (ignored when ``end_ns`` is given).
    start_ns, end_ns : int, optional
        ns since epoch UTC; default start = now.
    limit_price : float, optional
        Guard: never buy above / sell below it (currency).
    style : ``"cross"`` | ``"passive"``
    min_child : float
        Smallest child (shares); smaller remainders wait for the next slice (except the last).
    parent_id, strategy_id : str

    Raises
    ------
    ValueError
        Zero quantity, a non-positive horizon, an unknown style.
    """

    name: ClassVar[str] = ""

    def __init__(self, engine: Any, symbol: str, quantity: float, *, horizon_seconds: float = 1800.0,
                 start_ns: int | None = None, end_ns: int | None = None, limit_price: float | None = None,
                 style: str = "cross", min_child: float = 0.0, parent_id: str | None = None,
                 strategy_id: str = "", **params: Any) -> None:
        if not quantity or not math.isfinite(quantity):
            raise ValueError(f"{self.name}: quantity must be a finite non-zero number of shares, got {quantity!r}")
        if style not in ("cross", "passive"):
            raise ValueError(f"{self.name}: style must be 'cross' or 'passive', got {style!r}")
        self.engine = engine
        self.symbol = symbol
        self.side = OrderSide.BUY if quantity > 0 else OrderSide.SELL
        inst = engine.instrument(symbol)
        self.lot_size = inst.lot_size
        self.quantity = inst.round_quantity(abs(quantity))
        self.start_ns = engine.now_ns() if start_ns is None else int(start_ns)
        self.end_ns = int(end_ns) if end_ns is not None else self.start_ns + int(horizon_seconds * NS_PER_SECOND)
        if self.end_ns <= self.start_ns:
            raise ValueError(f"{self.name}: the horizon must end after it starts ({self.start_ns}..{self.end_ns})")
        self.limit_price = limit_price
        self.style = style
        self.min_child = float(min_child)
        self.strategy_id = strategy_id
        self.params = params
        self.parent_id = parent_id or f"P-{engine.next_order_id()}"
        self.status = ParentStatus.WORKING
        self.filled_quantity = 0.0
        self.avg_price = 0.0
        self.children: dict[str, Any] = {}  # order id -> Order
        self.arrival_price: float | None = None
        self.bid: float | None = None
        self.ask: float | None = None

    # ------------------------------------------------------------------------------ lifecycle
    def start(self) -> ExecAlgorithm:
        """Journal ``ParentOrderStarted`` (with the arrival price), listen to fills and the kill switch,
        and let the subclass schedule its children."""
        eng = self.engine
        self.arrival_price = self._arrival()
        eng.record(ev.ParentOrderStarted(
            ts_event=eng.now_ns(), parent_id=self.parent_id, symbol=self.symbol, side=self.side,
            quantity=self.quantity, algorithm=self.name, start_ns=self.start_ns, end_ns=self.end_ns,
            arrival_price=self.arrival_price, limit_price=self.limit_price, strategy_id=self.strategy_id,
            params={k: v for k, v in self._journal_params().items()},
        ))
        eng.bus.subscribe("events", self._on_event)
        eng.subscribe_data("on_quote", self.symbol, self._on_quote)
        algorithms = eng.__dict__.setdefault("algorithms", {})
        algorithms[self.parent_id] = self
        self._on_start()
        eng.clock.set_time_alert(f"{self.parent_id}.end", self.end_ns, self._on_end)
        return self

    def _journal_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"style": self.style, "min_child": self.min_child}
        for k, v in self.params.items():
            if isinstance(v, int | float | str | bool) or v is None:
                out[k] = v
        return out

    def cancel(self, reason: str = "canceled by the user") -> None:
        """Cancel the parent as a whole: working children canceled, ``ParentOrderCanceled`` journaled."""
        if self.status is not ParentStatus.WORKING:
            return
        self.status = ParentStatus.CANCELED
        self._stop()
        self.engine.record(ev.ParentOrderCanceled(ts_event=self.engine.now_ns(), parent_id=self.parent_id,
                                                  symbol=self.symbol, filled_quantity=self.filled_quantity,
                                                  reason=reason))

    def modify(self, *, quantity: float | None = None, limit_price: float | None = None) -> None:
        """Change the total quantity (shares, unsigned, not below what is filled) or the guard.

        Raises
        ------
        ValueError
            A quantity below the filled quantity, or the parent is not working.
        """
        if self.status is not ParentStatus.WORKING:
            raise ValueError(f"parent {self.parent_id} is {self.status}: it cannot be modified")
        if quantity is not None:
            q = self.engine.instrument(self.symbol).round_quantity(abs(quantity))
            if q < self.filled_quantity - _EPS:
                raise ValueError(f"parent {self.parent_id}: quantity {q} is below the {self.filled_quantity} filled")
            self.quantity = q
        if limit_price is not None:
            self.limit_price = limit_price
        self.engine.record(ev.ParentOrderModified(ts_event=self.engine.now_ns(), parent_id=self.parent_id,
                                                  symbol=self.symbol, quantity=self.quantity,
                                                  limit_price=self.limit_price))
        self._on_modified()
        self._check_done()

    @property
    def remaining(self) -> float:
        """Shares still to fill."""
        return max(self.quantity - self.filled_quantity, 0.0)

    @property
    def working_quantity(self) -> float:
        """Shares in open children (not yet filled)."""
        return sum(o.leaves_quantity for o in self.children.values() if not o.status.is_closed)

    # ------------------------------------------------------------------------------ subclass hooks
    def _on_start(self) -> None:
        raise NotImplementedError

    def _on_modified(self) -> None:
        """Reschedule after a modify (default: nothing; slices target the new remainder)."""

    def _on_end(self, _event: Any = None) -> None:
        if self.status is not ParentStatus.WORKING:
            return
        self.status = ParentStatus.COMPLETED
        self._stop()
        self.engine.record(ev.ParentOrderCompleted(
            ts_event=self.engine.now_ns(), parent_id=self.parent_id, symbol=self.symbol, quantity=self.quantity,
            filled_quantity=self.filled_quantity, avg_price=self.avg_price,
            reason="filled" if self.remaining <= _EPS else "horizon ended"))

    # ------------------------------------------------------------------------------ children
    def _on_quote(self, quote: Any) -> None:
        self.bid, self.ask = quote.bid, quote.ask

    def _reference(self) -> float | None:
        """The price a child would trade at now: the far touch to cross, the near touch to post (the
        last price when the symbol has no quotes)."""
        if self.bid is not None and self.ask is not None:
            if self.style == "cross":
                return self.ask if self.side is OrderSide.BUY else self.bid
            return self.bid if self.side is OrderSide.BUY else self.ask
        return self.engine.portfolio.last_prices.get(self.symbol)

    def _arrival(self) -> float | None:
        """The mid when the parent starts (the portfolio marks quoted symbols at the mid), else the last price."""
        return self.engine.portfolio.last_prices.get(self.symbol)

    def _within_guard(self, price: float | None) -> bool:
        if self.limit_price is None or price is None:
            return True
        return price <= self.limit_price if self.side is OrderSide.BUY else price >= self.limit_price

    def _cancel_working(self) -> list[str]:
        """Cancel the open children; returns their ids."""
        ids = []
        for order in list(self.children.values()):
            if not order.status.is_closed and order.status is not OrderStatus.PENDING_CANCEL:
                ids.append(order.order_id)
                self.engine.cancel_order(order.order_id)
        return ids

    def _send(self, quantity: float, scheduled: float = 0.0, *, final: bool = False, cross: bool = False) -> Any | None:
        """Send a child for ``quantity`` shares (rounded down to lots, capped at what is left); None
        when nothing is sent (too small, outside the guard, or trading not active). ``cross``: take the
        market even in the passive style (a passive algorithm's last slice, unless ``finish_passive``)."""
        eng = self.engine
        if self.status is not ParentStatus.WORKING or eng.risk.state is not TradingState.ACTIVE:
            return None
        room = self.remaining - self.working_quantity
        qty = math.floor(min(quantity, room) / self.lot_size + 1e-9) * self.lot_size
        if qty <= _EPS or (qty < self.min_child - _EPS and not final and qty < room - _EPS):
            return None
        reference = self._reference()
        if not self._within_guard(reference):
            return None
        kwargs: dict[str, Any] = {}
        if self.style == "passive" and not cross:
            price = reference if reference is not None else self.limit_price
            if price is None:
                return None
            if self.limit_price is not None:
                price = min(price, self.limit_price) if self.side is OrderSide.BUY else max(price, self.limit_price)
            order_type, kwargs["limit_price"] = OrderType.LIMIT, price
        elif self.limit_price is not None:
            order_type, kwargs["limit_price"] = OrderType.LIMIT, self.limit_price
        else:
            order_type = OrderType.MARKET
        order = eng.create_order(self.symbol, self.side, qty, order_type, time_in_force=TimeInForce.DAY,
                                 strategy_id=self.strategy_id, tag=f"algo:{self.parent_id}", **kwargs)
        self.children[order.order_id] = order
        eng.record(ev.ParentOrderChildSent(ts_event=eng.now_ns(), parent_id=self.parent_id, symbol=self.symbol,
                                           order_id=order.order_id, quantity=qty, scheduled=scheduled))
        eng.submit_order(order)
        return order

    # ------------------------------------------------------------------------------ events
    def _on_event(self, event: ev.Event) -> None:
        t = type(event)
        if t is ev.OrderFilled:
            if event.order_id in self.children:  # type: ignore[attr-defined]
                self._on_fill(event)  # type: ignore[arg-type]
        elif t is ev.OrderCanceled:
            if event.order_id in self.children:  # type: ignore[attr-defined]
                self._on_child_canceled(event.order_id)  # type: ignore[attr-defined]
        elif t is ev.TradingStateChanged and event.state is TradingState.HALTED:  # type: ignore[attr-defined]
            self.cancel(reason=f"trading halted: {event.reason}")  # type: ignore[attr-defined]

    def _on_child_canceled(self, order_id: str) -> None:
        """A child was canceled (subclasses roll its quantity into a new child when they asked)."""

    def _on_fill(self, fill: ev.OrderFilled) -> None:
        q = fill.last_quantity
        total = self.filled_quantity + q
        self.avg_price = (self.avg_price * self.filled_quantity + fill.last_price * q) / total
        self.filled_quantity = total
        self.engine.record(ev.ParentOrderProgressed(ts_event=fill.ts_event, parent_id=self.parent_id,
                                                    symbol=self.symbol, filled_quantity=total,
                                                    avg_price=self.avg_price, last_order_id=fill.order_id))
        self._check_done()

    def _check_done(self) -> None:
        if self.status is ParentStatus.WORKING and self.remaining <= _EPS:
            self.status = ParentStatus.COMPLETED
            self._stop()
            self.engine.record(ev.ParentOrderCompleted(
                ts_event=self.engine.now_ns(), parent_id=self.parent_id, symbol=self.symbol, quantity=self.quantity,
                filled_quantity=self.filled_quantity, avg_price=self.avg_price, reason="filled"))

    def _stop(self) -> None:
        eng = self.engine
        for name in (f"{self.parent_id}.slice", f"{self.parent_id}.end"):
            eng.clock.cancel_timer(name)
        self._cancel_working()
        eng.unsubscribe_data("on_quote", self.symbol, self._on_quote)
        self._unsubscribe_data()
        eng.bus.unsubscribe("events", self._on_event)

    def _unsubscribe_data(self) -> None:
        """Drop further data subscriptions (subclasses that subscribe override)."""
