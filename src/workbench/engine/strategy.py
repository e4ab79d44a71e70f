"""Strategy base class: callbacks, parameters, order helpers.

Subclass :class:`Strategy`, declare parameters in a nested ``Params`` model (pydantic) so a sweep
can set them, and override the callbacks you need::

    class SmaCross(Strategy):
        class Params(StrategyParams):
            fast: int = 10
            slow: int = 30
            quantity: float = 100

        def on_start(self):
            self.fast = SMA(self.params.fast)
            ...

        def on_bar(self, bar):
            ...
            self.order_target_quantity(bar.symbol, self.params.quantity)

A strategy only sees what it would see live: data arrives at its ``ts_init`` and history is kept in
bounded indicators/windows. The same class runs unchanged in backtest, paper and live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from workbench.clock import NS_PER_SECOND, TimeEvent
from workbench.errors import ConfigError
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import ContingencyType, OrderSide, OrderType, TimeInForce, TrailingOffsetType
from workbench.model.orders import Order
from workbench.model.position import Position

if TYPE_CHECKING:
    from workbench.engine.engine import TradingEngine


class StrategyParams(BaseModel):
    """Base of a strategy's parameters: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, slots=True)
class Bracket:
    """An entry with a take-profit and a stop-loss; the exits are OCO, armed on the entry's first fill and sized
    to its filled quantity."""

    entry: Order
    take_profit: Order
    stop_loss: Order


_CALLBACKS = ("on_bar", "on_quote", "on_trade")


class Strategy:
    """Base class of all strategies.

    Parameters
    ----------
    symbols : list[str] | None
        Symbols whose data this strategy receives; None = every symbol.
    strategy_id : str | None
        Defaults to the class name.
    **params
        Values for the fields of ``Params``.

    Raises
    ------
    ConfigError
        If a parameter is unknown or invalid (the message names it).
    """

    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def __init__(self, symbols: list[str] | None = None, strategy_id: str | None = None, **params: Any) -> None:
        try:
            self.params = self.Params(**params)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{type(self).__name__} parameter {loc!r}: {first['msg']} (got {first.get('input')!r})") \
                from None
        self.symbols = None if symbols is None else [s.upper() for s in symbols]
        self.strategy_id = strategy_id or type(self).__name__
        self.engine: TradingEngine | None = None

    # ------------------------------------------------------------------------- registration
    def _register(self, engine: TradingEngine) -> None:
        if self.engine is not None and self.engine is not engine:
            raise RuntimeError(f"strategy {self.strategy_id} is already registered with another engine")
        self.engine = engine

    def _wants(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols

    def _overrides(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(Strategy, name)

    # ------------------------------------------------------------------------------ callbacks
    def on_start(self) -> None:
        """Called once before the first data."""

    def on_bar(self, bar: Bar) -> None:
        """Called for every bar of a subscribed symbol, at the bar's end."""

    def on_quote(self, quote: QuoteTick) -> None:
        """Called for every quote of a subscribed symbol."""

    def on_trade(self, trade: TradeTick) -> None:
        """Called for every trade print of a subscribed symbol."""

    def on_order_event(self, event: ev.OrderEvent) -> None:
        """Called for every event of this strategy's orders."""

    def on_fill(self, fill: ev.OrderFilled) -> None:
        """Called for every fill of this strategy's orders (after ``on_order_event``)."""

    def on_time_slice(self, ts_ns: int) -> None:
        """Called once every input stamped ``ts_ns`` has been processed, before the next timestamp.

        Use it to decide on a cross-section (all symbols' bars of one day). It fires when the next
        timestamp arrives (or the run ends), with the clock still at ``ts_ns``, so an order placed
        here meets the next bar's open.
        """

    def on_stop(self) -> None:
        """Called once after the last data."""

    # -------------------------------------------------------------------------------- context
    @property
    def _engine(self) -> TradingEngine:
        if self.engine is None:
            raise RuntimeError(f"strategy {self.strategy_id} is not registered with an engine")
        return self.engine

    @property
    def now_ns(self) -> int:
        """Current engine time, ns since epoch UTC."""
        return self._engine.now_ns()

    @property
    def portfolio(self):
        return self._engine.portfolio

    def position(self, symbol: str) -> Position | None:
        return self._engine.portfolio.position(symbol)

    def position_quantity(self, symbol: str) -> float:
        """Signed quantity held (shares); at full size when the engine scales orders (``engine.sizing``)."""
        eng = self._engine
        if eng.sizing is not None:
            return eng.sizing.strategy_position(eng, self.strategy_id, symbol)
        return eng.portfolio.quantity(symbol)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._engine.open_orders(symbol) if o.strategy_id == self.strategy_id]

    def last_price(self, symbol: str) -> float | None:
        return self._engine.portfolio.last_prices.get(symbol)

    def set_timer(self, name: str, interval_seconds: float, callback: Any = None) -> None:
        """Call ``callback(TimeEvent)`` (default ``self.on_timer``) every ``interval_seconds``."""
        from workbench.engine.containment import guarded

        eng = self._engine
        eng.clock.set_timer(f"{self.strategy_id}.{name}", int(interval_seconds * NS_PER_SECOND),
                            guarded(eng, self, name, callback or self.on_timer))

    def on_timer(self, event: TimeEvent) -> None:
        """Default timer callback."""

    def signal(self, symbol: str, direction: int, **fields: Any) -> ev.SignalGenerated:
        """Record a trading decision (``LiveSignal`` shape: confidence, entry, target, stop, size, reason, inputs)."""
        if self._engine.warming_up:
            return None  # type: ignore[return-value]
        sig = ev.SignalGenerated(ts_event=self.now_ns, symbol=symbol, direction=direction,
                                 strategy_id=self.strategy_id, **fields)
        self._engine.record(sig)
        return sig

    # ---------------------------------------------------------------------------- order helpers
    def order(
        self,
        symbol: str,
        side: OrderSide,
        quantity: float,
        order_type: OrderType = OrderType.MARKET,
        *,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trailing_offset: float | None = None,
        trailing_offset_type: TrailingOffsetType | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_time_ns: int | None = None,
        reduce_only: bool = False,
        tag: str = "",
    ) -> Order:
        """Create and submit an order; returns it (check ``status`` for DENIED/REJECTED).

        Returns None while the engine is warming up after a restart (the order was journaled then),
        and while trading is HALTED (kill switch: the order is not sent, see
        :meth:`TradingEngine.strategy_may_trade`).
        """
        eng = self._engine
        if eng.warming_up or not eng.strategy_may_trade(self):
            return None  # type: ignore[return-value]
        if eng.sizing is not None:  # a graduated live session: see workbench.engine.sizing
            quantity = eng.sizing.live_quantity(eng, self.strategy_id, symbol, side, quantity)
            if not quantity:
                return None  # type: ignore[return-value]
        o = eng.create_order(
            symbol, side, quantity, order_type, limit_price=limit_price, stop_price=stop_price,
            trailing_offset=trailing_offset, trailing_offset_type=trailing_offset_type, time_in_force=time_in_force,
            expire_time_ns=expire_time_ns, reduce_only=reduce_only, strategy_id=self.strategy_id, tag=tag,
        )
        return eng.submit_order(o)

    def buy(self, symbol: str, quantity: float, **kwargs: Any) -> Order:
        """Buy ``quantity`` shares; a ``limit_price`` and/or ``stop_price`` picks the order type."""
        return self.order(symbol, OrderSide.BUY, quantity, _infer_type(kwargs), **kwargs)

    def sell(self, symbol: str, quantity: float, **kwargs: Any) -> Order:
        """Sell ``quantity`` shares; a ``limit_price`` and/or ``stop_price`` picks the order type."""
        return self.order(symbol, OrderSide.SELL, quantity, _infer_type(kwargs), **kwargs)

    def _pending_quantity(self, symbol: str) -> float:
        """Signed leaves quantity of this strategy's open orders in ``symbol`` (shares)."""
        pending = 0.0
        sid = self.strategy_id
        for o in self._engine.open_orders(symbol):
            if o.strategy_id == sid:
                pending += o.leaves_quantity if o.side is OrderSide.BUY else -o.leaves_quantity
        sizing = self._engine.sizing
        return pending if sizing is None else sizing.to_strategy(pending)

    def order_target_quantity(self, symbol: str, target: float, **kwargs: Any) -> Order | None:
        """Trade toward a signed position of ``target`` shares, net of open orders. None if already there."""
        eng = self._engine
        delta = target - self.position_quantity(symbol) - self._pending_quantity(symbol)
        if abs(delta) < eng.instrument(symbol).lot_size:
            return None
        side = OrderSide.BUY if delta > 0 else OrderSide.SELL
        return self.order(symbol, side, abs(delta), _infer_type(kwargs), **kwargs)

    def order_target_percent(self, symbol: str, percent: float, price: float | None = None, **kwargs: Any) -> Order | None:
        """Trade toward a position worth ``percent`` (0.5 = 50%) of equity at ``price`` (default: last)."""
        px = price if price is not None else self.last_price(symbol)
        if not px:
            raise ValueError(f"no price known for {symbol}: pass price=")
        inst = self._engine.instrument(symbol)
        raw = self.portfolio.equity * percent / (px * inst.multiplier)
        target = inst.round_quantity(abs(raw)) * (1 if raw >= 0 else -1)
        return self.order_target_quantity(symbol, target, **kwargs)

    def bracket(
        self,
        symbol: str,
        side: OrderSide,
        quantity: float,
        *,
        take_profit: float,
        stop_loss: float,
        entry_price: float | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        tag: str = "",
    ) -> Bracket:
        """Entry (market, or limit at ``entry_price``) + take-profit limit + stop-loss stop.

        The exits are one-cancels-other and are sent to the broker on the entry's first fill, for the
        filled quantity, and grown as further fills arrive (Interactive Brokers' brackets).

        Raises
        ------
        ValueError
            If the take-profit and stop-loss are on the wrong sides for ``side``.
        """
        buy = side is OrderSide.BUY
        if (buy and not stop_loss < take_profit) or (not buy and not stop_loss > take_profit):
            raise ValueError(f"bracket {side}: stop_loss {stop_loss} and take_profit {take_profit} are on the wrong sides")
        eng = self._engine
        if eng.warming_up or not eng.strategy_may_trade(self):
            return None  # type: ignore[return-value]
        quantity = self._sized(symbol, quantity)
        if not quantity:
            return None  # type: ignore[return-value]
        ids = [eng.next_order_id() for _ in range(3)]
        entry = eng.create_order(
            symbol, side, quantity, OrderType.LIMIT if entry_price is not None else OrderType.MARKET,
            limit_price=entry_price, time_in_force=time_in_force, contingency=ContingencyType.OTO,
            linked_order_ids=(ids[1], ids[2]), strategy_id=self.strategy_id, tag=tag or "entry", order_id=ids[0],
        )
        exit_side = side.opposite()
        tp = eng.create_order(
            symbol, exit_side, entry.quantity, OrderType.LIMIT, limit_price=take_profit, time_in_force=TimeInForce.GTC,
            reduce_only=True, parent_order_id=ids[0], contingency=ContingencyType.OCO, linked_order_ids=(ids[2],),
            strategy_id=self.strategy_id, tag="take_profit", order_id=ids[1],
        )
        sl = eng.create_order(
            symbol, exit_side, entry.quantity, OrderType.STOP, stop_price=stop_loss, time_in_force=TimeInForce.GTC,
            reduce_only=True, parent_order_id=ids[0], contingency=ContingencyType.OCO, linked_order_ids=(ids[1],),
            strategy_id=self.strategy_id, tag="stop_loss", order_id=ids[2],
        )
        eng.hold_until_filled(entry, (tp, sl))
        eng.submit_order(entry)
        return Bracket(entry, tp, sl)

    def oco(
        self,
        symbol: str,
        side: OrderSide,
        quantity: float,
        *,
        limit_price: float,
        stop_price: float,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        tag: str = "",
    ) -> tuple[Order, Order]:
        """A limit and a stop order on the same side, one-cancels-other (e.g. exits of a held position).

        When either fills completely the other is canceled; a partial fill shrinks the other.
        """
        eng = self._engine
        if eng.warming_up or not eng.strategy_may_trade(self):
            return None  # type: ignore[return-value]
        quantity = self._sized(symbol, quantity)
        if not quantity:
            return None  # type: ignore[return-value]
        a, b = eng.next_order_id(), eng.next_order_id()
        common = {"time_in_force": time_in_force, "reduce_only": reduce_only, "contingency": ContingencyType.OCO,
                  "strategy_id": self.strategy_id}
        limit = eng.create_order(symbol, side, quantity, OrderType.LIMIT, limit_price=limit_price, order_id=a,
                                 linked_order_ids=(b,), tag=tag or "oco_limit", **common)
        stop = eng.create_order(symbol, side, quantity, OrderType.STOP, stop_price=stop_price, order_id=b,
                                linked_order_ids=(a,), tag=tag or "oco_stop", **common)
        eng.submit_order(limit)
        eng.submit_order(stop)
        return limit, stop

    def execute(self, symbol: str, quantity: float, algorithm: str = "twap", **params: Any) -> Any:
        """Work ``quantity`` signed shares of ``symbol`` (> 0 buy) with an execution algorithm
        (``twap``, ``vwap``, ``pov``, ``implementation_shortfall``; see :mod:`workbench.execution`);
        returns the running algorithm (its ``parent_id``, ``cancel()``, ``modify()``), None while warming up.
        Every child order passes the risk engine."""
        if self._engine.warming_up:
            return None
        from workbench.execution import start_algorithm

        quantity = self._sized(symbol, quantity)
        if not quantity:
            return None
        return start_algorithm(self._engine, symbol, quantity, algorithm, strategy_id=self.strategy_id, **params)

    def _sized(self, symbol: str, quantity: float) -> float:
        """``quantity`` x the engine's size multiplier in whole lots (unchanged without one)."""
        sizing = self._engine.sizing
        return quantity if sizing is None else sizing.scale(quantity, self._engine.instrument(symbol).lot_size)

    def oto(self, parent: Order, *children: Order) -> Order:
        """One-triggers-other: submit ``parent`` now and ``children`` once it has filled.

        Create the orders (INITIALIZED) with ``self.engine.create_order``; returns ``parent``.
        """
        eng = self._engine
        if eng.warming_up or not eng.strategy_may_trade(self):
            return None  # type: ignore[return-value]
        eng.hold_until_filled(parent, children)
        return eng.submit_order(parent)

    def cancel(self, order: Order | str) -> None:
        if self._engine.warming_up:
            return
        self._engine.cancel_order(order if isinstance(order, str) else order.order_id)

    def modify(self, order: Order | str, *, quantity: float | None = None, limit_price: float | None = None,
               stop_price: float | None = None) -> None:
        if self._engine.warming_up or not self._engine.strategy_may_trade(self):
            return
        self._engine.modify_order(order if isinstance(order, str) else order.order_id, quantity, limit_price, stop_price)

    def cancel_all(self, symbol: str | None = None) -> None:
        if self._engine.warming_up:
            return
        for o in self.open_orders(symbol):
            self._engine.cancel_order(o.order_id)

    def close_position(self, symbol: str, **kwargs: Any) -> Order | None:
        """Cancel this strategy's open orders in ``symbol`` and close the position with a market order."""
        self.cancel_all(symbol)
        qty = self.position_quantity(symbol)
        if not qty:
            return None
        side = OrderSide.SELL if qty > 0 else OrderSide.BUY
        return self.order(symbol, side, abs(qty), reduce_only=True, tag=kwargs.pop("tag", "close"), **kwargs)

    def flatten(self) -> list[Order]:
        """Close every position this engine holds and cancel this strategy's orders."""
        self.cancel_all()
        out = []
        for pos in list(self.portfolio.positions.values()):
            if not pos.is_flat:
                o = self.close_position(pos.symbol)
                if o is not None:
                    out.append(o)
        return out


def _infer_type(kwargs: dict[str, Any]) -> OrderType:
    if "order_type" in kwargs:
        return OrderType(kwargs.pop("order_type"))
    limit, stop = kwargs.get("limit_price"), kwargs.get("stop_price")
    if kwargs.get("trailing_offset") is not None:
        return OrderType.TRAILING_STOP
    if limit is not None and stop is not None:
        return OrderType.STOP_LIMIT
    if limit is not None:
        return OrderType.LIMIT
    if stop is not None:
        return OrderType.STOP
    return OrderType.MARKET
