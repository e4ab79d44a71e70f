"""Simulated broker: matches orders against the engine's market data.

The broker keeps its own book (orders, fills, positions, cash), independent of the engine's, as a
real broker would; :meth:`SimulatedBroker.snapshot` / :meth:`SimulatedBroker.restore` make that
book persistable so a restarted session can reconcile against it. The fill rules are documented
in :mod:`workbench.brokers.fills`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.brokers.checks import (
    added_exposure,
    position_after_side,
    reduce_only_room,
    reserved_exposure,
    short_sale_reason,
    side_totals,
)
from workbench.brokers.fills import CommissionModel, FillModel, ZeroCommission
from workbench.calendars import next_open_at_or_after, session_close_after
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import (
    ContingencyType,
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from workbench.model.instruments import Instrument, equity
from workbench.model.orders import Order
from workbench.model.reports import FillReport, OrderStatusReport, PositionReport

BUY = OrderSide.BUY
_NEVER = 1 << 62
_STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)
_EPS = 1e-9
# order fields added after the snapshot format was first written: values for older snapshots
_SNAPSHOT_DEFAULTS: dict[str, Any] = {"reduce_only": False, "ts_eligible": 0}


@dataclass
class SimulatedBrokerConfig:
    """Settings of :class:`SimulatedBroker`.

    Parameters
    ----------
    starting_cash : float
        Cash of the simulated account (currency).
    fill_model : FillModel
        Slippage, volume cap, limit rule.
    commission : CommissionModel
    allow_short : bool
        Reject sells that would open or increase a short position when False.
    check_buying_power : bool
        Reject orders whose added exposure exceeds ``equity * leverage - gross exposure - open
        order exposure``.
    leverage : float
        1.0 = cash account.
    keep_history : bool
        Keep closed orders and every fill report, as a real broker does: what
        :meth:`SimulatedBroker.order_status_reports`, :meth:`SimulatedBroker.fill_reports` and
        :meth:`SimulatedBroker.snapshot` return for a restarted session to reconcile against. A
        backtest turns it off (its results come from the engine's own orders and events), so its
        memory does not grow with a second copy of every order and fill.
    """

    starting_cash: float = 100_000.0
    fill_model: FillModel = field(default_factory=FillModel)
    commission: CommissionModel = field(default_factory=ZeroCommission)
    allow_short: bool = True
    check_buying_power: bool = True
    leverage: float = 1.0
    keep_history: bool = True


class _SimOrder:
    """The broker's own record of an order."""

    __slots__ = (
        "order_id", "symbol", "side", "order_type", "quantity", "filled", "limit_price", "stop_price",
        "trailing_offset", "trailing_type", "tif", "expire_ns", "status", "fresh", "triggered", "extreme",
        "avg_price", "oco", "ts_last", "broker_order_id", "auction_ns", "reduce_only", "ts_eligible",
    )

    def __init__(self, order: Order, expire_ns: int, broker_order_id: str) -> None:
        self.order_id = order.order_id
        self.symbol = order.symbol
        self.side = order.side
        self.order_type = order.order_type
        self.quantity = order.quantity
        self.filled = 0.0
        self.limit_price = order.limit_price
        self.stop_price = order.stop_price
        self.trailing_offset = order.trailing_offset
        self.trailing_type = order.trailing_offset_type
        self.tif = order.time_in_force
        self.expire_ns = expire_ns
        self.status = OrderStatus.ACCEPTED
        self.fresh = True
        self.triggered = False
        self.extreme: float | None = None
        self.avg_price = 0.0
        self.oco: tuple[str, ...] = (
            order.linked_order_ids if order.contingency is ContingencyType.OCO else ()
        )
        self.ts_last = 0
        self.broker_order_id = broker_order_id
        self.auction_ns = 0  # MARKET_ON_OPEN / MARKET_ON_CLOSE: the auction it takes part in
        self.reduce_only = order.reduce_only
        # earliest start (ns) of the data it may be matched against: its submission (or last
        # modification) time; a bar or quote that starts earlier happened (partly) before it existed
        self.ts_eligible = 0

    @property
    def leaves(self) -> float:
        return self.quantity - self.filled


class SimulatedBroker:
    """In-process broker for backtests and local paper trading.

    Parameters
    ----------
    config : SimulatedBrokerConfig | None
    instruments : Mapping[str, Instrument] | None
        Tick sizes and multipliers; unknown symbols are US equities.
    clock : Callable[[], int] | None
        Returns the current time in ns (the engine's clock), used to stamp acceptances.
    """

    name = "simulated"

    def __init__(
        self,
        config: SimulatedBrokerConfig | None = None,
        instruments: Mapping[str, Instrument] | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.config = config or SimulatedBrokerConfig()
        self.instruments: dict[str, Instrument] = dict(instruments or {})
        self._clock = clock or (lambda: self._ts)
        self._emit: Callable[[ev.OrderEvent], None] = lambda e: None
        self._ts = 0
        self._orders: dict[str, _SimOrder] = {}
        self._open: dict[str, list[_SimOrder]] = {}  # symbol -> working orders
        self._quoted: set[str] = set()
        self._bid: dict[str, float] = {}
        self._ask: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self._impact_shift: dict[str, tuple[int, float]] = {}  # symbol -> (session, permanent impact), impact model
        self._next_expiry = _NEVER
        self._fill_seq = 0
        self._order_seq = 0
        self.fills: list[FillReport] = []
        self.positions: dict[str, list[float]] = {}  # symbol -> [quantity, avg_price]
        self.cash = float(self.config.starting_cash)
        self._volume_left: dict[str, float] = {}

    # ------------------------------------------------------------------------------ interface
    def connect(self, on_event: Callable[[ev.OrderEvent], None]) -> None:
        self._emit = on_event

    def set_clock(self, clock: Callable[[], int]) -> None:
        self._clock = clock

    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            inst = self.instruments[symbol] = equity(symbol)
        return inst

    def submit_order(self, order: Order) -> None:
        now = self._clock()
        reason = self._pre_check(order)
        if reason:
            self._emit(ev.OrderRejected(ts_event=now, order_id=order.order_id, symbol=order.symbol, reason=reason))
            return
        expire = _NEVER
        if order.time_in_force is TimeInForce.DAY:
            expire = session_close_after(now, self.instrument(order.symbol).exchange)
        elif order.time_in_force is TimeInForce.GTD:
            if order.expire_time_ns is None:
                self._emit(ev.OrderRejected(ts_event=now, order_id=order.order_id, symbol=order.symbol,
                                            reason="GTD order needs expire_time_ns"))
                return
            expire = order.expire_time_ns
        self._order_seq += 1
        so = _SimOrder(order, expire, f"SIM-{self._order_seq}")
        so.ts_last = so.ts_eligible = now
        if so.order_type is OrderType.MARKET_ON_OPEN:
            so.auction_ns = next_open_at_or_after(now, self.instrument(so.symbol).exchange)
        elif so.order_type is OrderType.MARKET_ON_CLOSE:
            so.auction_ns = session_close_after(now, self.instrument(so.symbol).exchange)
        if so.order_type is OrderType.TRAILING_STOP:
            ref = self._ref_price(so.symbol, so.side)  # bid for a sell, ask for a buy
            so.extreme = ref
            so.stop_price = self._trail_stop(so) if ref is not None else None
        self._orders[so.order_id] = so
        self._open.setdefault(so.symbol, []).append(so)
        if expire < self._next_expiry:
            self._next_expiry = expire
        self._emit(ev.OrderAccepted(ts_event=now, order_id=so.order_id, symbol=so.symbol,
                                    broker_order_id=so.broker_order_id))

    def cancel_order(self, order_id: str) -> None:
        now = self._clock()
        so = self._orders.get(order_id)
        if so is None or so.status.is_closed:
            self._emit(ev.OrderCancelRejected(ts_event=now, order_id=order_id, symbol=so.symbol if so else "",
                                              reason="order is not open at the broker"))
            return
        self._close(so, ev.OrderCanceled(ts_event=now, order_id=order_id, symbol=so.symbol))

    def modify_order(
        self, order_id: str, quantity: float | None = None, limit_price: float | None = None,
        stop_price: float | None = None,
    ) -> None:
        now = self._clock()
        so = self._orders.get(order_id)
        if so is None or so.status.is_closed:
            self._emit(ev.OrderModifyRejected(ts_event=now, order_id=order_id, symbol=so.symbol if so else "",
                                              reason="order is not open at the broker"))
            return
        if quantity is not None and quantity < so.filled - _EPS:
            self._emit(ev.OrderModifyRejected(ts_event=now, order_id=order_id, symbol=so.symbol,
                                              reason=f"quantity {quantity} below filled {so.filled}"))
            return
        if quantity is not None and quantity > so.quantity + _EPS and not so.reduce_only:
            # the increase is judged like a new order on the same side (short sale, buying power)
            reason = self._account_check(so.symbol, so.side, quantity - so.quantity,
                                         limit_price or stop_price or so.limit_price or so.stop_price)
            if reason:
                self._emit(ev.OrderModifyRejected(ts_event=now, order_id=order_id, symbol=so.symbol, reason=reason))
                return
        if quantity is not None:
            so.quantity = quantity
        if limit_price is not None:
            so.limit_price = limit_price
            # a new limit is a new arrival: marketable on its first evaluation it takes the market
            # (taker at the touch / the open), otherwise it rests again (NautilusTrader, IB replace)
            so.fresh = True
        if stop_price is not None:
            so.stop_price = stop_price
        # the modified terms meet only data that starts after the modification (like a new order)
        so.ts_eligible = max(so.ts_eligible, now)
        self._emit(ev.OrderModified(ts_event=now, order_id=order_id, symbol=so.symbol, quantity=so.quantity,
                                    limit_price=limit_price, stop_price=stop_price))
        if so.leaves <= _EPS:
            self._close(so, ev.OrderCanceled(ts_event=now, order_id=order_id, symbol=so.symbol,
                                             reason="quantity reduced to filled quantity"))

    # ----------------------------------------------------------------------------- market data
    def on_quote(self, q: QuoteTick) -> None:
        sym = q.symbol
        self._ts = q.ts_init
        if q.ts_init >= self._next_expiry:
            self._expire(q.ts_init)
        self._quoted.add(sym)
        if q.bid == q.bid:
            self._bid[sym] = q.bid
        if q.ask == q.ask:
            self._ask[sym] = q.ask
        orders = self._open.get(sym)
        if orders:
            self._match_quote(q, orders)

    def on_bar(self, bar: Bar) -> None:
        sym = bar.symbol
        self._ts = bar.ts_init
        # A bar spans [ts_event, ts_init): an order working until E still trades on a bar that starts
        # before E (the session's last minute bar, a daily bar), and expires once the bar is over.
        if bar.ts_event >= self._next_expiry:
            self._expire(bar.ts_event)
        self._last[sym] = bar.close
        orders = self._open.get(sym)
        if orders:
            self._match_bar(bar, orders)
        if bar.ts_init >= self._next_expiry:
            self._expire(bar.ts_init, sym)

    def on_trade(self, t: TradeTick) -> None:
        sym = t.symbol
        self._ts = t.ts_init
        if t.ts_init >= self._next_expiry:
            self._expire(t.ts_init)
        self._last[sym] = t.price
        orders = self._open.get(sym)
        if orders:  # a trade print is a one-price bar
            self._match_bar(Bar(sym, t.price, t.price, t.price, t.price, t.size, t.ts_event, t.ts_init), orders,
                            from_trade=True)

    # -------------------------------------------------------------------------------- matching
    def _match_quote(self, q: QuoteTick, orders: list[_SimOrder]) -> None:
        bid, ask, ts = q.bid, q.ask, q.ts_event
        slip = self.config.fill_model.slippage
        for so in list(orders):
            if so.status.is_closed or so.ts_eligible > ts:
                continue  # closed, or this quote is older than the order (or its last modification)
            buy = so.side is BUY
            touch = ask if buy else bid  # price we can take
            if touch != touch:
                continue
            tick = self.instrument(so.symbol).tick_size
            t = so.order_type
            price: float | None = None
            liq = LiquiditySide.TAKER
            if t is OrderType.MARKET:
                price = slip.apply(touch, so.side, tick)
            elif t is OrderType.MARKET_ON_OPEN or t is OrderType.MARKET_ON_CLOSE:
                continue  # auction orders execute at the opening/closing print, not on quotes
            elif t is OrderType.LIMIT or (t is OrderType.STOP_LIMIT and so.triggered):
                price, liq = self._limit_on_price(so, touch, so.fresh)
            elif t is OrderType.STOP:
                if (buy and touch >= so.stop_price) or (not buy and touch <= so.stop_price):
                    price = slip.apply(touch, so.side, tick)
            elif t is OrderType.STOP_LIMIT:
                if (buy and touch >= so.stop_price) or (not buy and touch <= so.stop_price):
                    self._trigger(so, ts)
                    price, liq = self._limit_on_price(so, touch, True)
            elif t is OrderType.TRAILING_STOP:
                ref = bid if buy is False else ask
                self._trail_update(so, ref)
                if so.stop_price is not None and ((buy and touch >= so.stop_price) or (not buy and touch <= so.stop_price)):
                    price = slip.apply(touch, so.side, tick)
            if price is not None:
                qty = so.leaves
                size = q.ask_size if buy else q.bid_size
                if (so.tif is TimeInForce.IOC or so.tif is TimeInForce.FOK) and size == size and 0 < size < qty:
                    # an immediate order gets at most the displayed size; FOK then gets nothing
                    lot = self.instrument(so.symbol).lot_size
                    qty = 0.0 if so.tif is TimeInForce.FOK else math.floor(size / lot + 1e-9) * lot
                if so.reduce_only and qty > _EPS:
                    qty = self._clip_reduce_only(so, qty, ts)
                elif so.side is not BUY and not self.config.allow_short and qty > _EPS:
                    qty = self._clip_short_sale(so, qty, ts)
                if qty > _EPS:
                    self._fill(so, qty, price, liq, ts)
            self._after_first_look(so, ts)

    def _limit_on_price(self, so: _SimOrder, touch: float, fresh: bool) -> tuple[float | None, LiquiditySide]:
        lim = so.limit_price
        if (so.side is BUY and touch <= lim) or (so.side is not BUY and touch >= lim):
            if fresh:
                return touch, LiquiditySide.TAKER
            return lim, LiquiditySide.MAKER
        return None, LiquiditySide.NONE

    def _match_bar(self, bar: Bar, orders: list[_SimOrder], from_trade: bool = False) -> None:
        sym = bar.symbol
        quoted = sym in self._quoted
        fm = self.config.fill_model
        cap = fm.max_volume_participation
        self._volume_left[sym] = bar.volume * cap if cap is not None and bar.volume == bar.volume else math.inf
        tick = self.instrument(sym).tick_size
        o, h, lo, ts = bar.open, bar.high, bar.low, bar.ts_event
        # intrabar order: what executes at the open first (market orders, limits marketable at the
        # open), then stop types, then the other limits
        if len(orders) == 1:  # the common case: nothing to rank (a copy: fills remove from ``orders``)
            ranked: Iterable[_SimOrder] = (orders[0],)
        else:
            ranked = sorted((so for so in orders if not so.status.is_closed), key=lambda so: _intrabar_rank(so, o))
        for so in ranked:
            if so.status.is_closed:
                continue  # canceled by an OCO sibling earlier in this bar
            t = so.order_type
            if so.ts_eligible > ts and t is not OrderType.MARKET_ON_CLOSE:
                continue  # the bar started before the order existed: the next one is its first
            buy = so.side is BUY
            price: float | None = None
            liq = LiquiditySide.TAKER
            fill_ts = ts
            if t is OrderType.MARKET:
                if quoted and not from_trade:
                    continue  # quotes exist: market orders wait for the next quote
                price = fm.slippage.apply(o, so.side, tick)
            elif t is OrderType.MARKET_ON_OPEN:
                if bar.ts_event < so.auction_ns:
                    continue  # waits for the first bar (or print) of the next session
                price = fm.slippage.apply(o, so.side, tick)
            elif t is OrderType.MARKET_ON_CLOSE:
                if bar.ts_init < so.auction_ns:
                    continue  # waits for the bar that ends at the session close
                price = fm.slippage.apply(bar.close, so.side, tick)
                fill_ts = bar.ts_init  # the closing auction, at the bar's end (after the order)
            elif t is OrderType.STOP:
                stop = so.stop_price
                if (buy and o >= stop) or (not buy and o <= stop):
                    price = fm.slippage.apply(o, so.side, tick)
                elif (buy and h >= stop) or (not buy and lo <= stop):
                    price = fm.slippage.apply(stop, so.side, tick)
            elif t is OrderType.TRAILING_STOP:
                if so.stop_price is None:
                    so.extreme = o
                    so.stop_price = self._trail_stop(so)
                stop = so.stop_price
                if (buy and o >= stop) or (not buy and o <= stop):
                    price = fm.slippage.apply(o, so.side, tick)
                elif (buy and h >= stop) or (not buy and lo <= stop):
                    price = fm.slippage.apply(stop, so.side, tick)
                else:
                    self._trail_update(so, lo if buy else h)
            elif t is OrderType.STOP_LIMIT and not so.triggered:
                stop = so.stop_price
                if (buy and o >= stop) or (not buy and o <= stop):
                    self._trigger(so, ts)  # at the open: a limit from the open on, for the whole bar
                    price, liq = self._limit_in_bar(so, bar, True, from_trade)
                elif (buy and h >= stop) or (not buy and lo <= stop):
                    self._trigger(so, ts)  # rests as a limit from the next bar on
            else:  # LIMIT, or triggered STOP_LIMIT
                price, liq = self._limit_in_bar(so, bar, so.fresh, from_trade)
            if price is not None:
                left = self._volume_left[sym]
                qty = so.leaves if left >= so.leaves else math.floor(left / self.instrument(sym).lot_size) * \
                    self.instrument(sym).lot_size
                if so.tif is TimeInForce.FOK and qty < so.leaves - _EPS:
                    qty = 0.0
                if so.reduce_only and qty > _EPS:
                    qty = self._clip_reduce_only(so, qty, ts)
                elif so.side is not BUY and not self.config.allow_short and qty > _EPS:
                    qty = self._clip_short_sale(so, qty, ts)
                if qty > _EPS:
                    self._volume_left[sym] = left - qty
                    self._fill(so, qty, price, liq, fill_ts)
            self._after_first_look(so, ts)

    def _limit_in_bar(self, so: _SimOrder, bar: Bar, fresh: bool, from_trade: bool) -> tuple[float | None, LiquiditySide]:
        """Fill price and liquidity of a limit working through ``bar`` (``None``: no fill)."""
        lim, o = so.limit_price, bar.open
        buy = so.side is BUY
        if (buy and o <= lim) or (not buy and o >= lim):
            # the open trades at or through the limit: fill at the open, never outside the bar
            # (a resting order gets the gap's price improvement, as in backtrader)
            return o, (LiquiditySide.TAKER if fresh else LiquiditySide.MAKER)
        if fresh and (so.tif is TimeInForce.IOC or so.tif is TimeInForce.FOK):
            return None, LiquiditySide.NONE  # not marketable on arrival: an immediate order never rests
        if self.config.fill_model.limit_requires_trade_through and not from_trade:
            if (buy and bar.low < lim) or (not buy and bar.high > lim):
                return lim, LiquiditySide.MAKER
        elif (buy and bar.low <= lim) or (not buy and bar.high >= lim):
            return lim, LiquiditySide.MAKER
        return None, LiquiditySide.NONE

    def _after_first_look(self, so: _SimOrder, ts: int) -> None:
        if so.fresh:
            so.fresh = False
            if (so.tif is TimeInForce.IOC or so.tif is TimeInForce.FOK) and not so.status.is_closed:
                self._close(so, ev.OrderCanceled(ts_event=ts, order_id=so.order_id, symbol=so.symbol,
                                                 reason=f"{so.tif}: not filled on arrival"))

    def _trigger(self, so: _SimOrder, ts: int) -> None:
        so.triggered = True
        so.status = OrderStatus.TRIGGERED
        self._emit(ev.OrderTriggered(ts_event=ts, order_id=so.order_id, symbol=so.symbol))

    # ----------------------------------------------------------------------------- trailing
    def _trail_stop(self, so: _SimOrder) -> float:
        off = so.trailing_offset or 0.0
        x = so.extreme
        assert x is not None
        sign = 1.0 if so.side is BUY else -1.0
        if so.trailing_type is TrailingOffsetType.PERCENT:
            raw = x * (1.0 + sign * off / 100.0)
        else:
            raw = x + sign * off
        return self.instrument(so.symbol).round_price(raw)

    def _trail_update(self, so: _SimOrder, price: float) -> None:
        if price != price:
            return
        x = so.extreme
        if x is None or (so.side is BUY and price < x) or (so.side is not BUY and price > x):
            so.extreme = price
            so.stop_price = self._trail_stop(so)

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

    def _clip_reduce_only(self, so: _SimOrder, qty: float, ts: int) -> float:
        """Fill quantity of a reduce-only order: at most the position left, never a flip.

        With no position left to reduce the order is canceled; a fill larger than the position is
        clipped to it and the order's quantity shrunk to match (an ``OrderModified``), so it ends
        FILLED, as NautilusTrader's matching engine does (``OrderUpdated`` to the position size).
        """
        book = self.positions.get(so.symbol)
        room = reduce_only_room(book[0] if book is not None else 0.0, so.side)
        if not room:
            self._close(so, ev.OrderCanceled(ts_event=ts, order_id=so.order_id, symbol=so.symbol,
                                             reason="reduce-only: no position left to reduce"))
            return 0.0
        if qty > room + _EPS:
            qty = room
            so.quantity = so.filled + room
            self._emit(ev.OrderModified(ts_event=ts, order_id=so.order_id, symbol=so.symbol, quantity=so.quantity))
        return qty

    def _clip_short_sale(self, so: _SimOrder, qty: float, ts: int) -> float:
        """Fill quantity of a sell when shorting is not allowed: at most the long position left.

        The pre-trade check passed when the order arrived, but other sells (a reduce-only exit that
        arrived later, a manual close) may have filled first; the rest of the order would open a short.
        It is clipped (an ``OrderModified``) or, with nothing left to sell, canceled.
        """
        book = self.positions.get(so.symbol)
        room = max(book[0] if book is not None else 0.0, 0.0)
        if room <= _EPS:
            self._close(so, ev.OrderCanceled(ts_event=ts, order_id=so.order_id, symbol=so.symbol,
                                             reason="short selling not allowed: no position left to sell"))
            return 0.0
        if qty > room + _EPS:
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

    # ------------------------------------------------------------------------------ bookkeeping
    def _fill(self, so: _SimOrder, qty: float, price: float, liq: LiquiditySide, ts: int) -> None:
        inst = self.instrument(so.symbol)
        impact = self.config.fill_model.impact
        if impact is not None and liq is LiquiditySide.TAKER:
            price = self._impacted(impact, so, qty, price, ts)
        # a maker fill at its limit is on the tick grid; any other price is the market's own
        price = inst.round_price(price) if liq is LiquiditySide.MAKER and price == so.limit_price else round(price, 10)
        commission = self.config.commission.commission(qty, price, inst.multiplier)
        self._fill_seq += 1
        fill_id = f"F-{self._fill_seq}"
        so.avg_price = (so.avg_price * so.filled + price * qty) / (so.filled + qty)
        so.filled += qty
        so.ts_last = ts
        signed = qty if so.side is BUY else -qty
        pq = self.positions.setdefault(so.symbol, [0.0, 0.0])
        q0, avg = pq
        q1 = q0 + signed
        if q0 == 0 or (q0 > 0) == (signed > 0):
            pq[1] = (avg * abs(q0) + price * qty) / abs(q1)
        elif abs(q1) < _EPS:
            q1, pq[1] = 0.0, 0.0
        elif (q1 > 0) != (q0 > 0):
            pq[1] = price
        pq[0] = q1
        self.cash -= signed * price * inst.multiplier + commission
        if self.config.keep_history:
            self.fills.append(FillReport(fill_id=fill_id, order_id=so.order_id, symbol=so.symbol, side=so.side,
                                         quantity=qty, price=price, commission=commission, ts_event=ts))
        done = so.leaves <= _EPS
        so.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        if done:
            self._remove_open(so)
        self._emit(ev.OrderFilled(ts_event=ts, order_id=so.order_id, symbol=so.symbol, fill_id=fill_id, side=so.side,
                                  last_quantity=qty, last_price=price, commission=commission,
                                  currency=inst.currency, liquidity_side=liq))
        if so.oco:
            self._oco_sync(so, ts)

    def _impacted(self, impact: Any, so: _SimOrder, qty: float, price: float, ts: int) -> float:
        """A taker fill's price under the impact model: the session's permanent shift, then the
        temporary concession against the trader; the fill then moves the market (permanent)."""
        from workbench.calendars import session_label

        sign = 1.0 if so.side is BUY else -1.0
        day = session_label(ts)
        shifts = self._impact_shift
        held_day, shift = shifts.get(so.symbol, (day, 0.0))
        if held_day != day:
            shift = 0.0
        market = price + shift
        filled = market + sign * impact.temporary(so.symbol, qty, market, so.symbol in self._quoted)
        shifts[so.symbol] = (day, shift + sign * impact.permanent(so.symbol, qty, market))
        return filled

    def _oco_sync(self, so: _SimOrder, ts: int) -> None:
        """One-cancels-other: a full fill cancels the siblings; a partial fill shrinks them."""
        for oid in so.oco:
            sib = self._orders.get(oid)
            if sib is None or sib.status.is_closed:
                continue
            if so.status is OrderStatus.FILLED:
                self._close(sib, ev.OrderCanceled(ts_event=ts, order_id=oid, symbol=sib.symbol,
                                                  reason=f"OCO: {so.order_id} filled"))
            else:
                new_qty = sib.filled + so.leaves  # the sibling may still exit what is left, no more
                if new_qty < sib.quantity - _EPS:
                    sib.quantity = new_qty
                    self._emit(ev.OrderModified(ts_event=ts, order_id=oid, symbol=sib.symbol, quantity=new_qty))

    def _close(self, so: _SimOrder, event: ev.OrderEvent) -> None:
        so.status = OrderStatus.CANCELED if isinstance(event, ev.OrderCanceled) else OrderStatus.EXPIRED
        so.ts_last = event.ts_event
        self._remove_open(so)
        self._emit(event)

    def _remove_open(self, so: _SimOrder) -> None:
        orders = self._open.get(so.symbol)
        if orders and so in orders:
            orders.remove(so)
            if not orders:
                del self._open[so.symbol]
        if not self.config.keep_history:
            self._orders.pop(so.order_id, None)

    def _expire(self, ts: int, symbol: str | None = None) -> None:
        """Expire the working orders (of ``symbol`` only, when given) whose expiry is at or before ``ts``."""
        nxt = _NEVER
        for sym, orders in list(self._open.items()):
            for so in list(orders):
                if so.expire_ns <= ts and (symbol is None or sym == symbol):
                    self._close(so, ev.OrderExpired(ts_event=so.expire_ns, order_id=so.order_id, symbol=so.symbol))
                elif so.expire_ns < nxt:
                    nxt = so.expire_ns
        self._next_expiry = nxt

    # -------------------------------------------------------------------------------- reports
    def order_status_reports(self) -> list[OrderStatusReport]:
        return [
            OrderStatusReport(order_id=so.order_id, symbol=so.symbol, side=so.side, quantity=so.quantity,
                              filled_quantity=so.filled, avg_fill_price=so.avg_price, status=so.status,
                              ts_last=so.ts_last, broker_order_id=so.broker_order_id)
            for so in self._orders.values()
        ]

    def open_order_ids(self) -> list[str]:
        return [so.order_id for orders in self._open.values() for so in orders]

    def fill_reports(self, since_ns: int = 0) -> list[FillReport]:
        return [f for f in self.fills if f.ts_event >= since_ns]

    def position_reports(self) -> list[PositionReport]:
        return [PositionReport(symbol=s, quantity=q, avg_price=a, ts_last=self._ts) for s, (q, a) in self.positions.items()]

    # ------------------------------------------------------------------------------ persistence
    def snapshot(self, recent_fills: int = 20) -> dict[str, Any]:
        """JSON-able state of the broker's book: working orders, the last ``recent_fills`` fills,
        positions, cash and id sequences (bounded in size, so it can be saved after every change).

        The live runner saves it with every journal commit, so only the fills since the previous
        commit (a handful) are needed to reconcile; 20 keeps the checkpoint ~4 KB (200 fills made it
        ~33 KB and doubled the cost of a commit)."""
        return {
            "cash": self.cash,
            "fill_seq": self._fill_seq,
            "order_seq": self._order_seq,
            "positions": {s: list(v) for s, v in self.positions.items()},
            "fills": [
                {"fill_id": f.fill_id, "order_id": f.order_id, "symbol": f.symbol, "side": str(f.side),
                 "quantity": f.quantity, "price": f.price, "commission": f.commission, "ts_event": f.ts_event}
                for f in self.fills[-recent_fills:]
            ],
            "orders": [{k: _plain(getattr(so, k)) for k in _SimOrder.__slots__}
                       for orders in self._open.values() for so in orders],
            "quoted": sorted(self._quoted),
            "bid": dict(self._bid),
            "ask": dict(self._ask),
            "last": dict(self._last),
            "ts": self._ts,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Load a :meth:`snapshot`."""
        self.cash = float(state["cash"])
        self._fill_seq = int(state["fill_seq"])
        self._order_seq = int(state["order_seq"])
        self.positions = {s: [float(q), float(a)] for s, (q, a) in state["positions"].items()}
        self.fills = [
            FillReport(**{**f, "side": OrderSide(f["side"])}) for f in state["fills"]
        ]
        self._orders.clear()
        self._open.clear()
        for raw in state["orders"]:
            so = _SimOrder.__new__(_SimOrder)
            for k in _SimOrder.__slots__:
                setattr(so, k, raw.get(k, _SNAPSHOT_DEFAULTS.get(k)))
            so.side = OrderSide(raw["side"])
            so.order_type = OrderType(raw["order_type"])
            so.tif = TimeInForce(raw["tif"])
            so.status = OrderStatus(raw["status"])
            so.trailing_type = TrailingOffsetType(raw["trailing_type"]) if raw["trailing_type"] else None
            so.oco = tuple(raw["oco"])
            self._orders[so.order_id] = so
            if not so.status.is_closed:
                self._open.setdefault(so.symbol, []).append(so)
        self._next_expiry = min((so.expire_ns for o in self._open.values() for so in o), default=_NEVER)
        self._quoted = set(state["quoted"])
        self._bid, self._ask, self._last = dict(state["bid"]), dict(state["ask"]), dict(state["last"])
        self._ts = int(state["ts"])


def _intrabar_rank(so: _SimOrder, open_price: float) -> int:
    """0: executes at the bar's open (market, limit through the open); 1: stop types; 2: other limits."""
    t = so.order_type
    if t is OrderType.MARKET or t is OrderType.MARKET_ON_OPEN or t is OrderType.MARKET_ON_CLOSE:
        return 0
    if t in _STOP_TYPES and not so.triggered:
        return 1
    lim = so.limit_price
    if (so.side is BUY and open_price <= lim) or (so.side is not BUY and open_price >= lim):
        return 0
    return 2


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, str):
        return str(v)
    return v
