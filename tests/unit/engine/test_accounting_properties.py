"""Property test: after any random stream of orders and prices, the books balance.

Hypothesis draws a broker configuration, random bars (and optionally quotes) for two symbols and,
on each step, random orders (every type and time in force, brackets, OCO, target orders), cancels,
modifies and position closes, duplicate fill reports (a fill already booked, reported again),
external fills (an execution of an order the engine never created, as from the broker's own app),
kill switch pulls and confirmed resets. After the run (and during it, for equity and the journal)
we check, from the fill events alone:

* after every step, the state rebuilt from the recorded events (the journal, DESIGN rule 4) equals
  the live engine's: orders with status, terms and fills, held and armed bracket exits, positions,
  cash, fill ids, trading state and kill switch (issue 9: every change to an order is an event);
* a duplicate fill report changes nothing (booked once, journaled as ``DuplicateFillIgnored``);
  an external fill is booked once under the ``EXTERNAL`` strategy id;
* while the kill switch is engaged no strategy order is created (no DENIED rows);
* every fill id appears once, in the engine; the engine's fills of its own orders are the
  broker's fills, with the same terms (external fills are not in the simulated broker's book);
* the fills of each order add up to its filled quantity, never above its quantity;
* each position equals the sum of its signed fills, in the engine and in the broker;
* cash equals starting cash minus signed fill notional minus commissions, in both books;
* equity equals cash plus positions marked at the last price seen (close, or quote mid), and
  starting cash plus realized plus unrealized P&L.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import pytest
from core_state import engine_state, rebuilt_state
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from workbench.brokers.fills import FillModel, PercentCommission, PerShareCommission, SlippageModel, ZeroCommission
from workbench.engine.backtest import build_engine
from workbench.engine.engine import EXTERNAL_STRATEGY_ID
from workbench.engine.strategy import Strategy
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick
from workbench.model.enums import OrderSide, OrderType, TimeInForce, TrailingOffsetType

SYMBOLS = ("SPY", "QQQ")
MINUTE = 60 * 1_000_000_000
T0 = 1381175760 * 1_000_000_000  # 2013-10-07 15:56 New York: DAY orders meet the 16:00 close
TYPES = [OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP]
TIFS = [TimeInForce.GTC, TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTD]
EPS = 1e-6

offsets = st.floats(-0.04, 0.04, allow_nan=False)
small = st.floats(0.002, 0.05, allow_nan=False)
sides = st.sampled_from([OrderSide.BUY, OrderSide.SELL])
quantities = st.integers(1, 400)
symbol_index = st.integers(0, len(SYMBOLS) - 1)

actions = st.one_of(
    st.tuples(st.just("order"), symbol_index, sides, quantities, st.sampled_from(TYPES), st.sampled_from(TIFS),
              offsets, offsets, st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("modify"), st.integers(0, 50), st.floats(0.2, 2.0), offsets),
    st.tuples(st.just("bracket"), symbol_index, sides, quantities, small, small, st.booleans()),
    st.tuples(st.just("oco"), symbol_index, sides, quantities, small, small),
    st.tuples(st.just("target"), symbol_index, st.integers(-300, 300)),
    st.tuples(st.just("close"), symbol_index),
    st.tuples(st.just("duplicate"), st.integers(0, 50)),
    st.tuples(st.just("external"), symbol_index, sides, st.integers(1, 200)),
    st.tuples(st.just("kill"), st.booleans()),
    st.tuples(st.just("reset"),),
)

step_moves = st.tuples(
    st.floats(-0.02, 0.02), st.floats(-0.03, 0.03), st.floats(0, 0.02), st.floats(0, 0.02),
    st.integers(0, 3_000),  # volume
    st.floats(0.0001, 0.002),  # half spread (fraction of price)
    st.integers(0, 20),  # 0 -> this quote has no bid
)


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    n_steps = draw(st.integers(3, 25))
    return {
        "starting_cash": draw(st.sampled_from([20_000.0, 100_000.0])),
        "allow_short": draw(st.booleans()),
        "check_buying_power": draw(st.booleans()),
        "leverage": draw(st.sampled_from([1.0, 2.0])),
        "commission": draw(st.sampled_from([ZeroCommission(), PerShareCommission(), PercentCommission(bps=5)])),
        "fill_model": FillModel(
            slippage=SlippageModel(bps=draw(st.sampled_from([0.0, 5.0])), ticks=draw(st.sampled_from([0.0, 1.0]))),
            max_volume_participation=draw(st.sampled_from([None, 0.05, 0.5])),
            limit_requires_trade_through=draw(st.booleans()),
        ),
        "quotes": draw(st.booleans()),
        "moves": draw(st.lists(st.lists(step_moves, min_size=2, max_size=2), min_size=n_steps, max_size=n_steps)),
        "actions": draw(st.lists(st.lists(actions, max_size=3), min_size=n_steps, max_size=n_steps)),
    }


def make_data(scenario: dict[str, Any]) -> list[Bar | QuoteTick]:
    """Bars (and quotes in the middle of each bar) in ts_init order, prices on the cent grid."""
    closes = {"SPY": 100.0, "QQQ": 50.0}
    data: list[Bar | QuoteTick] = []
    for i, per_symbol in enumerate(scenario["moves"]):
        start = T0 + i * MINUTE
        bars = []
        for sym, (gap, ret, up, down, volume, half_spread, has_bid) in zip(SYMBOLS, per_symbol):
            o = round(closes[sym] * (1 + gap), 2)
            c = round(o * (1 + ret), 2)
            h = round(max(o, c) * (1 + up), 2)
            l = round(min(o, c) * (1 - down), 2)
            closes[sym] = c
            bars.append(Bar(sym, o, h, l, c, float(volume), start, start + MINUTE))
            if scenario["quotes"]:
                mid = (o + c) / 2
                bid = round(mid * (1 - half_spread), 2) if has_bid else math.nan
                ask = round(mid * (1 + half_spread), 2) + 0.01
                data.append(QuoteTick(sym, bid, ask, 300.0, 300.0, start + MINUTE // 2, start + MINUTE // 2))
        data.extend(bars)
    return data


class RandomTrader(Strategy):
    """Replays the drawn actions (one list per step, on the step's last bar) and checks equity."""

    def __init__(self, actions_per_step: list[list[tuple]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actions_per_step = actions_per_step
        self.step = 0
        self.marks: dict[str, float] = {}
        self.equity_errors: list[str] = []
        self.external = 0
        self.created_while_halted: list[str] = []

    def on_quote(self, quote: QuoteTick) -> None:
        mid = (quote.bid + quote.ask) / 2
        if mid == mid:
            self.marks[quote.symbol] = mid
        self.check_equity()

    def on_bar(self, bar: Bar) -> None:
        self.marks[bar.symbol] = bar.close
        self.check_equity()
        if bar.symbol != SYMBOLS[-1]:
            return
        for action in self.actions_per_step[self.step]:
            self.act(action)
        self.step += 1

    def check_equity(self) -> None:
        pf = self.portfolio
        value = sum(p.quantity * self.marks[s] for s, p in pf.positions.items() if p.quantity)
        if not math.isclose(pf.equity, pf.cash + value, rel_tol=1e-9, abs_tol=1e-6):
            self.equity_errors.append(f"equity {pf.equity} != cash {pf.cash} + value {value}")

    def act(self, action: tuple) -> None:
        kind = action[0]
        eng = self.engine
        orders = list(eng.orders.values())
        halted = eng.risk.kill_switch_engaged
        n_orders = len(eng.orders)
        self.act_on(kind, action, eng, orders)
        if halted and kind not in ("kill", "reset", "external"):
            self.created_while_halted += [oid for oid in list(eng.orders)[n_orders:]]

    def act_on(self, kind: str, action: tuple, eng: Any, orders: list) -> None:
        if kind == "duplicate":
            fills = [e for o in orders for e in o.events if type(e) is ev.OrderFilled]
            if fills:
                eng.process(fills[action[1] % len(fills)])  # the same execution reported again
        elif kind == "external":
            _, si, side, qty = action
            sym = SYMBOLS[si]
            self.external += 1
            eng.process(ev.OrderFilled(ts_event=self.now_ns, order_id=f"APP-{self.external}", symbol=sym,
                                       fill_id=f"X-{self.external}", side=side, last_quantity=float(qty),
                                       last_price=round(self.marks[sym], 2)))
        elif kind == "kill":
            eng.kill_switch("property test", flatten=action[1])
        elif kind == "reset":
            if eng.risk.kill_switch_engaged:
                eng.reset_kill_switch("property test", by="hypothesis")
        elif kind == "order":
            _, si, side, qty, otype, tif, off1, off2, percent = action
            sym = SYMBOLS[si]
            ref = self.marks[sym]
            kwargs: dict[str, Any] = {"time_in_force": tif}
            if tif is TimeInForce.GTD:
                kwargs["expire_time_ns"] = self.now_ns + int(1 + abs(off1) * 100) * MINUTE
            if otype in (OrderType.LIMIT, OrderType.STOP_LIMIT):
                kwargs["limit_price"] = ref * (1 + off1)
            if otype in (OrderType.STOP, OrderType.STOP_LIMIT):
                kwargs["stop_price"] = ref * (1 + off2)
            if otype is OrderType.TRAILING_STOP:
                kwargs["trailing_offset"] = abs(off1) * 100 + 0.1 if percent else ref * abs(off1) + 0.05
                kwargs["trailing_offset_type"] = TrailingOffsetType.PERCENT if percent else TrailingOffsetType.PRICE
            self.order(sym, side, qty, otype, **kwargs)
        elif kind == "cancel" and orders:
            self.cancel(orders[action[1] % len(orders)])
        elif kind == "modify" and orders:
            order = orders[action[1] % len(orders)]
            if order.is_open:
                price = self.marks[order.symbol] * (1 + action[3])
                self.modify(order, quantity=max(1.0, round(order.quantity * action[2])),
                            limit_price=price if order.limit_price is not None else None,
                            stop_price=price if order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) else None)
        elif kind == "bracket":
            _, si, side, qty, a, b, with_limit = action
            sym = SYMBOLS[si]
            ref = self.marks[sym]
            up, down = ref * (1 + a), ref * (1 - b)
            tp, sl = (up, down) if side is OrderSide.BUY else (down, up)
            self.bracket(sym, side, qty, take_profit=tp, stop_loss=sl, entry_price=ref if with_limit else None)
        elif kind == "oco":
            _, si, side, qty, a, b = action
            sym = SYMBOLS[si]
            ref = self.marks[sym]
            limit, stop = (ref * (1 + a), ref * (1 - b)) if side is OrderSide.SELL else (ref * (1 - a), ref * (1 + b))
            self.oco(sym, side, qty, limit_price=limit, stop_price=stop)
        elif kind == "target":
            self.order_target_quantity(SYMBOLS[action[1]], action[2])
        elif kind == "close":
            self.close_position(SYMBOLS[action[1]])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_books_balance_after_any_order_stream(scenario: dict[str, Any]) -> None:
    data = make_data(scenario)
    trader = RandomTrader(scenario["actions"])
    starting_cash = scenario["starting_cash"]
    engine = build_engine(
        trader, starting_cash=starting_cash, fill_model=scenario["fill_model"], commission=scenario["commission"],
        allow_short=scenario["allow_short"], check_buying_power=scenario["check_buying_power"],
        leverage=scenario["leverage"],
    )
    engine.start()
    options = {"starting_cash": starting_cash}
    for item in data:
        engine.process(item)
        if type(item) is Bar and item.symbol == SYMBOLS[-1]:  # a step: the strategy acted, broker events applied
            assert rebuilt_state(engine.events, **options) == engine_state(engine), f"step {trader.step}"
    engine.stop()
    assert rebuilt_state(engine.events, **options) == engine_state(engine)
    broker = engine.broker
    pf = engine.portfolio

    assert trader.equity_errors == []
    assert trader.created_while_halted == [], "a strategy order was created while the kill switch was engaged"

    fills = [e for e in engine.events if type(e) is ev.OrderFilled]
    kinds = {type(e).__name__ for e in engine.events}
    for name in ("OrderFilled", "OrderExpired", "OrderCanceled", "OrderModified", "OrderRejected", "OrderTriggered",
                 "OrderUpdated", "DuplicateFillIgnored", "ExternalFillBooked", "KillSwitchEngaged", "KillSwitchReset"):
        event(f"{name}: {name in kinds}")  # coverage of the draw, shown by --hypothesis-show-statistics
    ids = [f.fill_id for f in fills]
    assert len(ids) == len(set(ids)), "a fill was counted twice"
    external = {o.order_id for o in engine.orders.values() if o.strategy_id == EXTERNAL_STRATEGY_ID}
    assert len(external) == trader.external
    assert len([e for e in engine.events if type(e) is ev.ExternalFillBooked]) == trader.external
    own = [f for f in fills if f.order_id not in external]
    assert [(f.fill_id, f.order_id, f.last_quantity, f.last_price, f.commission) for f in own] == [
        (r.fill_id, r.order_id, r.quantity, r.price, r.commission) for r in broker.fills
    ], "engine and broker disagree on the fills"

    per_order: dict[str, float] = defaultdict(float)
    signed: dict[str, float] = defaultdict(float)
    broker_signed: dict[str, float] = defaultdict(float)  # the broker's book has no external fills
    cash = broker_cash = starting_cash
    for f in fills:
        sign = 1.0 if f.side is OrderSide.BUY else -1.0
        per_order[f.order_id] += f.last_quantity
        signed[f.symbol] += sign * f.last_quantity
        cash -= sign * f.last_quantity * f.last_price + f.commission
        if f.order_id not in external:
            broker_signed[f.symbol] += sign * f.last_quantity
            broker_cash -= sign * f.last_quantity * f.last_price + f.commission
        assert f.last_quantity > 0 and f.last_price > 0 and f.commission >= 0

    broker_orders = {r.order_id: r for r in broker.order_status_reports()}
    for order in engine.orders.values():
        assert per_order[order.order_id] == pytest.approx(order.filled_quantity, abs=EPS), order
        assert order.filled_quantity <= order.quantity + EPS, order
        if order.status.value == "FILLED":
            assert order.filled_quantity == pytest.approx(order.quantity, abs=EPS), order
        report = broker_orders.get(order.order_id)
        if report is not None:
            assert report.filled_quantity == pytest.approx(order.filled_quantity, abs=EPS), order
            assert report.status.is_closed == order.is_closed, (order, report)

    marks: dict[str, float] = {}
    for item in data:
        if type(item) is Bar:
            marks[item.symbol] = item.close
        elif (item.bid + item.ask) == (item.bid + item.ask):
            marks[item.symbol] = (item.bid + item.ask) / 2
    for sym in SYMBOLS:
        assert pf.quantity(sym) == pytest.approx(signed[sym], abs=EPS)
        assert broker.positions.get(sym, [0.0, 0.0])[0] == pytest.approx(broker_signed[sym], abs=EPS)
        pos = pf.position(sym)
        if pos is not None and not pos.is_flat and not external:
            assert broker.positions[sym][1] == pytest.approx(pos.avg_price, rel=1e-9)

    assert pf.cash == pytest.approx(cash, rel=1e-9, abs=1e-6)
    assert broker.cash == pytest.approx(broker_cash, rel=1e-9, abs=1e-6)
    value = sum(signed[s] * marks[s] for s in SYMBOLS)
    assert pf.equity == pytest.approx(cash + value, rel=1e-9, abs=1e-6)
    assert pf.equity == pytest.approx(starting_cash + pf.realized_pnl + pf.unrealized_pnl, rel=1e-9, abs=1e-6)
    assert pf.ledger.commissions == pytest.approx(sum(f.commission for f in fills), abs=1e-9)
    if len(engine.equity_values):
        assert engine.equity_values[-1] == pytest.approx(pf.equity, rel=1e-9, abs=1e-6)
