"""Property test of the simulated broker on random slices of real bars and quotes.

Hypothesis draws a slice of the shipped real data (SPY minute bars with quotes, the same bars
without quotes, or daily bars of SPY and IBM), a broker configuration, and a stream of actions,
each placed either on a data item (as a strategy reacting to it) or between two items (as a
timer): submit any order type (market, limit, stop, stop-limit, trailing stop; GTC, DAY, IOC;
reduce-only or not), modify, cancel, brackets whose reduce-only OCO exits are armed and resized
as the entry fills, and reduce-only OCO exits of a held position. The broker is driven directly
(no engine) with a clock the test controls, and every event it emits is checked as it arrives:

* no fill outside the data it was matched against: inside a bar's [low, high]; on a quote a
  taker fills exactly at the ask (buy) / bid (sell), a maker at its own limit, which the touch
  reached (NautilusTrader's L1 rule: the market traded through the resting order to get there);
  a limit never fills beyond its limit;
* no fill before its order existed: the data item has ``ts_event`` at or after the order's
  submission or last modification, and so does the fill; nothing fills outside data processing;
* a reduce-only fill never flips or increases the position;
* no fill booked twice: fill ids are unique, an order's fills never exceed its quantity, the
  broker's positions and cash equal the sums of the fills;
* ``allow_short=False``: no position ever goes below zero;
* buying power: accepting an order (or a quantity increase) never takes the account's buying
  power below zero, nor lower than it already was when negative.

Fill rules: :mod:`workbench.brokers.fills`; account checks: :mod:`workbench.brokers.checks`.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from workbench.brokers.fills import FillModel, PerShareCommission, ZeroCommission
from workbench.brokers.simulated import SimulatedBroker, SimulatedBrokerConfig
from workbench.feeds import MarketDataStream
from workbench.feeds.samples import load_demo_spy, load_lean_daily
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick
from workbench.model.enums import ContingencyType, OrderSide, OrderType, TimeInForce, TrailingOffsetType
from workbench.model.orders import Order

BUY, SELL = OrderSide.BUY, OrderSide.SELL
EPS = 1e-6
TYPES = [OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP]
TIFS = [TimeInForce.GTC, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.IOC]


@functools.cache
def real_data(source: str) -> tuple[list[Any], tuple[str, ...]]:
    """Items of one shipped real data set in delivery order, and its symbols."""
    if source == "daily":
        daily, _ = load_lean_daily()
        daily = daily[daily["symbol"].isin(["SPY", "IBM"]) & (daily["ts_event"] >= pd.Timestamp("2008-01-01").value)]
        return list(MarketDataStream(daily.reset_index(drop=True))), ("SPY", "IBM")
    bars, quotes = load_demo_spy()
    if source == "minute_quotes":
        return list(MarketDataStream(bars, quotes)), ("SPY",)
    return list(MarketDataStream(bars)), ("SPY",)


symbol_index = st.integers(0, 1)
sides = st.sampled_from([BUY, SELL])
# price offsets in units of the data's typical move (0.1% for minute bars, 2% for daily bars)
offsets = st.floats(-2.0, 2.0, allow_nan=False)
small = st.floats(0.2, 3.0, allow_nan=False)
quantities = st.integers(1, 300)
timing = st.one_of(st.just(None), st.floats(0.01, 0.99))  # None: on the item; x: between items (a timer)

submits = st.tuples(st.just("submit"), symbol_index, sides, quantities, st.sampled_from(TYPES),
                    st.sampled_from(TIFS), offsets, offsets, st.booleans())
actions = st.one_of(
    submits,
    st.tuples(st.just("submit"), symbol_index, sides, quantities, st.sampled_from(TYPES), st.sampled_from(TIFS),
              offsets, offsets, st.booleans()),
    st.tuples(st.just("modify"), st.integers(0, 40), st.one_of(st.none(), st.floats(0.3, 2.5)),
              st.one_of(st.none(), offsets)),
    st.tuples(st.just("cancel"), st.integers(0, 40)),
    st.tuples(st.just("bracket"), symbol_index, sides, quantities, small, small, st.booleans()),
    st.tuples(st.just("bracket"), symbol_index, sides, quantities, small, small, st.booleans()),
    st.tuples(st.just("exits"), symbol_index, small, small),
)


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    source = draw(st.sampled_from(["minute_quotes", "minute_bars", "daily"]))
    items, _ = real_data(source)
    n = draw(st.integers(10, 50))
    start = draw(st.integers(0, len(items) - n))
    return {
        "source": source,
        "slice": (start, n),
        "config": SimulatedBrokerConfig(
            starting_cash=draw(st.sampled_from([30_000.0, 200_000.0, 1_000_000.0])),
            allow_short=draw(st.booleans()),
            check_buying_power=draw(st.booleans()),
            leverage=draw(st.sampled_from([1.0, 2.0])),
            commission=draw(st.sampled_from([ZeroCommission(), PerShareCommission()])),
            fill_model=FillModel(max_volume_participation=draw(st.sampled_from([None, 0.0005, 0.02, 0.3])),
                                 limit_requires_trade_through=draw(st.booleans())),
        ),
        "actions": draw(st.lists(st.tuples(st.integers(0, n - 1), timing, actions), min_size=3, max_size=40)),
    }


@dataclass
class Tracked:
    """What the test knows of one order, from its own commands and the broker's events."""

    order: Order
    eligible: int  # ns: submission or last accepted modification
    quantity: float
    limit: float | None
    filled: float = 0.0
    closed: bool = False
    fill_ids: list[str] = field(default_factory=list)


class Driver:
    """Drives a SimulatedBroker with the test's clock and checks each event as it is emitted."""

    def __init__(self, config: SimulatedBrokerConfig, symbols: tuple[str, ...], scale: float) -> None:
        self.now = 0
        self.scale = scale  # typical relative move of one data item
        self.config = config
        self.symbols = symbols
        self.broker = SimulatedBroker(config, clock=lambda: self.now)
        self.broker.connect(self.on_event)
        self.orders: dict[str, Tracked] = {}
        self.sequence: list[str] = []
        self.positions: dict[str, float] = defaultdict(float)
        self.cash = config.starting_cash
        self.fill_ids: set[str] = set()
        self.item: Any = None  # the data item being matched, None outside data processing
        self.ref: dict[str, float] = {}
        self.seq = 0
        self.brackets: list[dict[str, Any]] = []

    # ------------------------------------------------------------------------------- commands
    def new_order(self, symbol: str, side: OrderSide, quantity: float, order_type: OrderType, **kw: Any) -> Order:
        self.seq += 1
        init = ev.OrderInitialized(ts_event=self.now, order_id=f"T-{self.seq}", symbol=symbol, side=side,
                                   order_type=order_type, quantity=float(quantity), **kw)
        order = Order(init)
        self.orders[order.order_id] = Tracked(order, self.now, order.quantity, order.limit_price)
        self.sequence.append(order.order_id)
        return order

    def submit(self, order: Order) -> None:
        before = self.broker.buying_power()
        self.broker.submit_order(order)
        t = self.orders[order.order_id]
        if not t.closed and not order.reduce_only and self.config.check_buying_power:
            after = self.broker.buying_power()
            assert after >= min(before, 0.0) - EPS, (order, before, after)

    def modify(self, order_id: str, quantity: float | None, limit: float | None, stop: float | None) -> None:
        t = self.orders[order_id]
        before = self.broker.buying_power()
        grows = quantity is not None and quantity > t.quantity + EPS and not t.order.reduce_only
        self.broker.modify_order(order_id, quantity, limit, stop)
        if grows and self.config.check_buying_power and not t.closed:
            assert self.broker.buying_power() >= min(before, 0.0) - EPS

    # --------------------------------------------------------------------------------- events
    def on_event(self, e: ev.OrderEvent) -> None:
        t = self.orders[e.order_id]
        if isinstance(e, ev.OrderFilled):
            self.check_fill(t, e)
        elif isinstance(e, ev.OrderModified):
            t.quantity = e.quantity
            if self.item is None:  # a modification we asked for (not an OCO shrink or reduce-only clip)
                t.eligible = self.now
                if e.limit_price is not None:
                    t.limit = e.limit_price
        elif isinstance(e, (ev.OrderRejected, ev.OrderCanceled, ev.OrderExpired)):
            t.closed = True

    def check_fill(self, t: Tracked, f: ev.OrderFilled) -> None:
        item, order = self.item, t.order
        assert item is not None, f"fill outside data processing: {f}"
        assert f.fill_id not in self.fill_ids, f"fill booked twice: {f}"
        self.fill_ids.add(f.fill_id)
        t.fill_ids.append(f.fill_id)
        # no fill before its order existed: matched only against data starting after it
        assert item.ts_event >= t.eligible, (f, item, t.eligible)
        assert f.ts_event >= t.eligible
        price, buy = f.last_price, f.side is BUY
        if type(item) is QuoteTick:
            touch = item.ask if buy else item.bid
            if price == t.limit and f.liquidity_side.name == "MAKER":
                assert (touch <= price + EPS) if buy else (touch >= price - EPS), (f, item)
            else:
                assert abs(price - touch) < EPS, (f, item)
        else:
            low, high = (item.low, item.high) if type(item) is Bar else (item.price, item.price)
            assert low - EPS <= price <= high + EPS, f"fill {price} outside the bar [{low}, {high}]: {item}"
        if t.limit is not None and order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            assert (price <= t.limit + EPS) if buy else (price >= t.limit - EPS), (f, t.limit)
        # bookkeeping: never more than the order's quantity, positions and cash are sums of fills
        t.filled += f.last_quantity
        assert t.filled <= t.quantity + EPS, (f, t.quantity)
        t.closed = t.filled >= t.quantity - EPS
        before = self.positions[f.symbol]
        after = before + (f.last_quantity if buy else -f.last_quantity)
        if order.reduce_only:
            assert before != 0 and abs(after) < abs(before) + EPS and after * before >= -EPS, (f, before, after)
        if not self.config.allow_short:
            assert after >= -EPS, (f, before, after)
        self.positions[f.symbol] = after
        self.cash -= (f.last_quantity if buy else -f.last_quantity) * price + f.commission
        assert abs(self.broker.positions[f.symbol][0] - after) < EPS

    # ---------------------------------------------------------------------------------- data
    def feed(self, item: Any) -> None:
        self.now = max(self.now, item.ts_init)
        self.item = item
        if type(item) is Bar:
            self.broker.on_bar(item)
            self.ref[item.symbol] = item.close
        else:
            self.broker.on_quote(item)
            if item.bid == item.bid and item.ask == item.ask:
                self.ref[item.symbol] = (item.bid + item.ask) / 2
        self.item = None
        self.arm_brackets()

    def arm_brackets(self) -> None:
        """Arm and resize a bracket's reduce-only OCO exits to the entry's filled quantity."""
        for b in self.brackets:
            filled = self.orders[b["entry"]].filled
            if filled <= b["armed"] + EPS:
                continue
            b["armed"] = filled
            if not b["exits"]:
                b["exits"] = self.exit_pair(b["symbol"], b["side"].opposite(), filled, b["tp"], b["sl"])
            else:
                for oid in b["exits"]:
                    if not self.orders[oid].closed:
                        self.modify(oid, filled, None, None)

    def exit_pair(self, symbol: str, side: OrderSide, quantity: float, tp: float, sl: float) -> list[str]:
        ids = [f"T-{self.seq + 1}", f"T-{self.seq + 2}"]
        common = {"reduce_only": True, "contingency": ContingencyType.OCO}
        take = self.new_order(symbol, side, quantity, OrderType.LIMIT, limit_price=tp, linked_order_ids=(ids[1],),
                              **common)
        stop = self.new_order(symbol, side, quantity, OrderType.STOP, stop_price=sl, linked_order_ids=(ids[0],),
                              **common)
        self.submit(take)
        self.submit(stop)
        return ids

    def act(self, action: tuple) -> None:
        kind = action[0]
        open_ids = [oid for oid in self.sequence if not self.orders[oid].closed]
        if kind == "submit":
            _, si, side, qty, typ, tif, off1, off2, reduce_only = action
            symbol = self.symbols[si % len(self.symbols)]
            ref = self.ref.get(symbol)
            if ref is None:
                return
            kw: dict[str, Any] = {"time_in_force": tif, "reduce_only": reduce_only}
            if typ in (OrderType.LIMIT, OrderType.STOP_LIMIT):
                kw["limit_price"] = round(ref * (1 + off1 * self.scale), 2)
            if typ in (OrderType.STOP, OrderType.STOP_LIMIT):
                kw["stop_price"] = round(ref * (1 + off2 * self.scale), 2)
            if typ is OrderType.TRAILING_STOP:
                kw["trailing_offset"] = round(abs(off2) * self.scale * 100 + 0.01, 2)
                kw["trailing_offset_type"] = TrailingOffsetType.PERCENT
            self.submit(self.new_order(symbol, side, qty, typ, **kw))
        elif kind == "modify" and open_ids:
            _, pick, factor, off = action
            oid = open_ids[pick % len(open_ids)]
            t = self.orders[oid]
            qty = max(1.0, round(t.quantity * factor)) if factor is not None else None
            limit = stop = None
            ref = self.ref.get(t.order.symbol)
            if off is not None and ref is not None:
                if t.order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
                    limit = round(ref * (1 + off * self.scale), 2)
                elif t.order.order_type is OrderType.STOP:
                    stop = round(ref * (1 + off * self.scale), 2)
            self.modify(oid, qty, limit, stop)
        elif kind == "cancel" and open_ids:
            self.broker.cancel_order(open_ids[action[1] % len(open_ids)])
        elif kind == "bracket":
            _, si, side, qty, tp_off, sl_off, limit_entry = action
            symbol = self.symbols[si % len(self.symbols)]
            ref = self.ref.get(symbol)
            if ref is None:
                return
            sign = 1 if side is BUY else -1
            kw = {"limit_price": round(ref * (1 - sign * self.scale * 0.5), 2)} if limit_entry else {}
            entry = self.new_order(symbol, side, qty, OrderType.LIMIT if limit_entry else OrderType.MARKET, **kw)
            self.brackets.append({"entry": entry.order_id, "symbol": symbol, "side": side, "armed": 0.0, "exits": [],
                                  "tp": round(ref * (1 + sign * tp_off * self.scale), 2),
                                  "sl": round(ref * (1 - sign * sl_off * self.scale), 2)})
            self.submit(entry)
        elif kind == "exits":
            _, si, tp_off, sl_off = action
            symbol = self.symbols[si % len(self.symbols)]
            pos, ref = self.positions[symbol], self.ref.get(symbol)
            if pos and ref is not None:
                sign = 1 if pos > 0 else -1
                side = SELL if pos > 0 else BUY
                self.exit_pair(symbol, side, abs(pos), round(ref * (1 + sign * tp_off * self.scale), 2),
                               round(ref * (1 - sign * sl_off * self.scale), 2))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_broker_never_fills_outside_the_data_before_the_order_or_beyond_its_limits(scenario: dict[str, Any]) -> None:
    items, symbols = real_data(scenario["source"])
    start, n = scenario["slice"]
    data = items[start:start + n]
    driver = Driver(scenario["config"], symbols, 0.02 if scenario["source"] == "daily" else 0.001)
    plan: dict[int, list[tuple]] = defaultdict(list)
    for k, when, action in scenario["actions"]:
        plan[k].append((when, action))
    prev_ts = data[0].ts_init - 60_000_000_000
    for k, item in enumerate(data):
        for when, action in plan.get(k, ()):  # timers between the previous item and this one
            if when is not None:
                driver.now = max(driver.now, prev_ts + int((item.ts_init - prev_ts) * when))
                driver.act(action)
        driver.feed(item)
        for when, action in plan.get(k, ()):  # a strategy reacting to this item
            if when is None:
                driver.act(action)
        prev_ts = item.ts_init
    # books: the broker's positions and cash are the sums of the fills it reported
    for symbol, quantity in driver.positions.items():
        assert abs(driver.broker.positions.get(symbol, [0.0])[0] - quantity) < EPS
    assert abs(driver.broker.cash - driver.cash) < 1e-4 * max(1.0, abs(driver.cash))
    fills = driver.broker.fill_reports()
    assert len({f.fill_id for f in fills}) == len(fills) == len(driver.fill_ids)
    event(f"fills: {'0' if not fills else '1-4' if len(fills) < 5 else '5+'}")
    tracked = driver.orders.values()
    event(f"an order filled in parts: {any(len(t.fill_ids) > 1 for t in tracked)}")
    event(f"rejected: {'some' if any(t.closed and not t.filled for t in tracked) else 'none'}")
    event(f"reduce-only filled: {any(t.order.reduce_only and t.filled for t in tracked)}")
