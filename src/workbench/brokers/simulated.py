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

from workbench.brokers.fills import CommissionModel, FillModel, ZeroCommission
from workbench.brokers.sim_account import AccountChecks
from workbench.brokers.sim_order import EPS, NEVER, SimOrder
from workbench.brokers.sim_state import BrokerState
from workbench.calendars import next_open_at_or_after, session_close_after
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from workbench.model.instruments import Instrument, equity
from workbench.model.orders import Order
from workbench.model.reports import FillReport

BUY = OrderSide.BUY
_STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)


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


class SimulatedBroker(AccountChecks, BrokerState):
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
        self._orders: dict[str, SimOrder] = {}
        self._open: dict[str, list[SimOrder]] = {}  # symbol -> working orders
        self._quoted: set[str] = set()
        self._bid: dict[str, float] = {}
        self._ask: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self._impact_shift: dict[str, tuple[int, float]] = {}  # symbol -> (session, permanent impact), impact model
        self._next_expiry = NEVER
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
        expire = NEVER
        if order.time_in_force is TimeInForce.DAY:
            expire = session_close_after(now, self.instrument(order.symbol).exchange)
        elif order.time_in_force is TimeInForce.GTD:
            if order.expire_time_ns is None:
                self._emit(ev.OrderRejected(ts_event=now, order_id=order.order_id, symbol=order.symbol,
                                            reason="GTD order needs expire_time_ns"))
                return
            expire = order.expire_time_ns
        self._order_seq += 1
        so = SimOrder(order, expire, f"SIM-{self._order_seq}")
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
        if quantity is not None and quantity < so.filled - EPS:
            self._emit(ev.OrderModifyRejected(ts_event=now, order_id=order_id, symbol=so.symbol,
                                              reason=f"quantity {quantity} below filled {so.filled}"))
            return
        if quantity is not None and quantity > so.quantity + EPS and not so.reduce_only:
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
        if so.leaves <= EPS:
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
    def _match_quote(self, q: QuoteTick, orders: list[SimOrder]) -> None:
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
                if so.reduce_only and qty > EPS:
                    qty = self._clip_reduce_only(so, qty, ts)
                elif so.side is not BUY and not self.config.allow_short and qty > EPS:
                    qty = self._clip_short_sale(so, qty, ts)
                if qty > EPS:
                    self._fill(so, qty, price, liq, ts)
            self._after_first_look(so, ts)

    def _limit_on_price(self, so: SimOrder, touch: float, fresh: bool) -> tuple[float | None, LiquiditySide]:
        lim = so.limit_price
        if (so.side is BUY and touch <= lim) or (so.side is not BUY and touch >= lim):
            if fresh:
                return touch, LiquiditySide.TAKER
            return lim, LiquiditySide.MAKER
        return None, LiquiditySide.NONE

    def _match_bar(self, bar: Bar, orders: list[SimOrder], from_trade: bool = False) -> None:
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
            ranked: Iterable[SimOrder] = (orders[0],)
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
                if so.tif is TimeInForce.FOK and qty < so.leaves - EPS:
                    qty = 0.0
                if so.reduce_only and qty > EPS:
                    qty = self._clip_reduce_only(so, qty, ts)
                elif so.side is not BUY and not self.config.allow_short and qty > EPS:
                    qty = self._clip_short_sale(so, qty, ts)
                if qty > EPS:
                    self._volume_left[sym] = left - qty
                    self._fill(so, qty, price, liq, fill_ts)
            self._after_first_look(so, ts)

    def _limit_in_bar(self, so: SimOrder, bar: Bar, fresh: bool, from_trade: bool) -> tuple[float | None, LiquiditySide]:
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

    def _after_first_look(self, so: SimOrder, ts: int) -> None:
        if so.fresh:
            so.fresh = False
            if (so.tif is TimeInForce.IOC or so.tif is TimeInForce.FOK) and not so.status.is_closed:
                self._close(so, ev.OrderCanceled(ts_event=ts, order_id=so.order_id, symbol=so.symbol,
                                                 reason=f"{so.tif}: not filled on arrival"))

    def _trigger(self, so: SimOrder, ts: int) -> None:
        so.triggered = True
        so.status = OrderStatus.TRIGGERED
        self._emit(ev.OrderTriggered(ts_event=ts, order_id=so.order_id, symbol=so.symbol))

    # ----------------------------------------------------------------------------- trailing
    def _trail_stop(self, so: SimOrder) -> float:
        off = so.trailing_offset or 0.0
        x = so.extreme
        assert x is not None
        sign = 1.0 if so.side is BUY else -1.0
        if so.trailing_type is TrailingOffsetType.PERCENT:
            raw = x * (1.0 + sign * off / 100.0)
        else:
            raw = x + sign * off
        return self.instrument(so.symbol).round_price(raw)

    def _trail_update(self, so: SimOrder, price: float) -> None:
        if price != price:
            return
        x = so.extreme
        if x is None or (so.side is BUY and price < x) or (so.side is not BUY and price > x):
            so.extreme = price
            so.stop_price = self._trail_stop(so)

    # ------------------------------------------------------------------------------ bookkeeping
    def _fill(self, so: SimOrder, qty: float, price: float, liq: LiquiditySide, ts: int) -> None:
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
        elif abs(q1) < EPS:
            q1, pq[1] = 0.0, 0.0
        elif (q1 > 0) != (q0 > 0):
            pq[1] = price
        pq[0] = q1
        self.cash -= signed * price * inst.multiplier + commission
        if self.config.keep_history:
            self.fills.append(FillReport(fill_id=fill_id, order_id=so.order_id, symbol=so.symbol, side=so.side,
                                         quantity=qty, price=price, commission=commission, ts_event=ts))
        done = so.leaves <= EPS
        so.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        if done:
            self._remove_open(so)
        self._emit(ev.OrderFilled(ts_event=ts, order_id=so.order_id, symbol=so.symbol, fill_id=fill_id, side=so.side,
                                  last_quantity=qty, last_price=price, commission=commission,
                                  currency=inst.currency, liquidity_side=liq))
        if so.oco:
            self._oco_sync(so, ts)

    def _impacted(self, impact: Any, so: SimOrder, qty: float, price: float, ts: int) -> float:
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

    def _oco_sync(self, so: SimOrder, ts: int) -> None:
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
                if new_qty < sib.quantity - EPS:
                    sib.quantity = new_qty
                    self._emit(ev.OrderModified(ts_event=ts, order_id=oid, symbol=sib.symbol, quantity=new_qty))

    def _close(self, so: SimOrder, event: ev.OrderEvent) -> None:
        so.status = OrderStatus.CANCELED if isinstance(event, ev.OrderCanceled) else OrderStatus.EXPIRED
        so.ts_last = event.ts_event
        self._remove_open(so)
        self._emit(event)

    def _remove_open(self, so: SimOrder) -> None:
        orders = self._open.get(so.symbol)
        if orders and so in orders:
            orders.remove(so)
            if not orders:
                del self._open[so.symbol]
        if not self.config.keep_history:
            self._orders.pop(so.order_id, None)

    def _expire(self, ts: int, symbol: str | None = None) -> None:
        """Expire the working orders (of ``symbol`` only, when given) whose expiry is at or before ``ts``."""
        nxt = NEVER
        for sym, orders in list(self._open.items()):
            for so in list(orders):
                if so.expire_ns <= ts and (symbol is None or sym == symbol):
                    self._close(so, ev.OrderExpired(ts_event=so.expire_ns, order_id=so.order_id, symbol=so.symbol))
                elif so.expire_ns < nxt:
                    nxt = so.expire_ns
        self._next_expiry = nxt

def _intrabar_rank(so: SimOrder, open_price: float) -> int:
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
