"""Property: random order streams and prices through a TradingEngine + SimulatedBroker never produce a fill
that takes a position, exposure or loss beyond a configured limit (fills that shrink a position excepted),
and every denied order is recorded - and journaled - with its reason. The streams include modifies of
working orders (to up to 3x their size and a new limit): every modify is risk-checked (issue 9 item 6)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from risk_helpers import MINUTE_NS, T0, make_engine, push_bar

from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderStatus, OrderType
from workbench.risk import rules as r
from workbench.risk.portfolio_rules import DailyLossLimit, MaxDrawdown

SYMBOLS = ("AAA", "BBB", "CCC")


@dataclass(frozen=True)
class OrderSpec:
    symbol: int
    buy: bool
    quantity: int
    kind: str  # market | limit | cancel | modify
    offset: float  # limit price offset from the last price, fraction


order_specs = st.builds(
    OrderSpec,
    symbol=st.integers(0, len(SYMBOLS) - 1),
    buy=st.booleans(),
    quantity=st.integers(1, 400),
    kind=st.sampled_from(["market", "market", "limit", "cancel", "modify"]),
    offset=st.floats(-0.05, 0.05),
)


def _submit(eng, spec: OrderSpec, price: float):
    symbol = SYMBOLS[spec.symbol]
    if spec.kind == "cancel":
        open_orders = eng.open_orders(symbol)
        if open_orders:
            eng.cancel_order(open_orders[0].order_id)
        return
    if spec.kind == "modify":  # grow a working order (and make a limit marketable): risk-checked
        open_orders = [o for o in eng.open_orders(symbol) if not o.reduce_only]
        if open_orders:
            order = open_orders[-1]
            limit = round(price * (1 + spec.offset), 2) if order.limit_price is not None else None
            eng.modify_order(order.order_id, quantity=order.quantity * (1 + spec.quantity % 3), limit_price=limit)
        return
    side = OrderSide.BUY if spec.buy else OrderSide.SELL
    if spec.kind == "market":
        order = eng.create_order(symbol, side, spec.quantity)
    else:
        order = eng.create_order(symbol, side, spec.quantity, OrderType.LIMIT, limit_price=round(price * (1 + spec.offset), 2))
    eng.submit_order(order)


class FillAudit:
    """Checks every position change caused by a fill against ``check(engine, symbol)``."""

    def __init__(self, eng, check):
        self.eng, self.check = eng, check
        self.previous: dict[str, float] = {}
        self.violations: list[str] = []
        self.increasing_fills = 0
        eng.bus.subscribe("events", self.on_event)

    def on_event(self, e):
        if isinstance(e, ev.PositionEvent):
            before = self.previous.get(e.symbol, 0.0)
            self.previous[e.symbol] = e.quantity
            if abs(e.quantity) > abs(before) + 1e-9 or before * e.quantity < 0:  # grew or flipped
                self.increasing_fills += 1
                problem = self.check(self.eng, e.symbol)
                if problem:
                    self.violations.append(problem)


def _assert_denials_recorded(eng, journal_rows=None):
    denied = [o for o in eng.orders.values() if o.status is OrderStatus.DENIED]
    events = [e for e in eng.events if type(e) is ev.OrderDenied]
    assert sorted(o.order_id for o in denied) == sorted(e.order_id for e in events)
    modifies = [e for e in eng.events if type(e) is ev.OrderModifyRejected and e.reason.startswith("risk: ")]
    assert len(modifies) == len([e for e in eng.events if type(e) is ev.RiskEvent and e.action == "deny_modify"])
    assert len(events) + len(modifies) == eng.risk.denials
    for e in events:
        assert e.rule and e.reason.startswith(e.rule if e.rule != "trading_state" else "trading is ")
    if journal_rows is not None:
        assert journal_rows == len(events)


LIMITS = {"order_quantity": 300, "position_quantity": 500, "position_notional": 40_000, "gross": 90_000,
          "net": 60_000, "cash_reserve": 20_000}


def _static_price_rules():
    return [
        r.MaxOrderQuantity(LIMITS["order_quantity"]),
        r.MaxPositionQuantity(LIMITS["position_quantity"]),
        r.MaxPositionNotional(LIMITS["position_notional"]),
        r.MaxGrossExposure(LIMITS["gross"]),
        r.MaxNetExposure(LIMITS["net"]),
        r.MinCashReserve(amount=LIMITS["cash_reserve"]),
    ]


def _exposure_problem(eng, symbol):
    pf = eng.portfolio
    q = pf.quantity(symbol)
    value = abs(pf.exposure(symbol))
    checks = [
        ("position quantity", abs(q), LIMITS["position_quantity"]),
        ("position notional", value, LIMITS["position_notional"]),
        ("gross exposure", pf.gross_exposure, LIMITS["gross"]),
        ("net exposure", abs(pf.net_exposure), LIMITS["net"]),
    ]
    for name, value, limit in checks:
        if value > limit + 1e-6:
            return f"{name} {value} > {limit} after a fill in {symbol}"
    if pf.cash < LIMITS["cash_reserve"] - 1e-6 and q > 0:
        return f"cash {pf.cash} below reserve after a buy of {symbol}"
    return None


def _run(eng, prices_by_step, orders_by_step):
    for step, (prices, orders) in enumerate(zip(prices_by_step, orders_by_step)):
        ts = T0 + step * MINUTE_NS
        for symbol, price in zip(SYMBOLS, prices):
            push_bar(eng, symbol, price, ts)
        for spec in orders:
            _submit(eng, spec, prices[spec.symbol])
    push_bar(eng, SYMBOLS[0], prices_by_step[-1][0], T0 + len(prices_by_step) * MINUTE_NS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prices=st.lists(st.floats(5.0, 400.0).map(lambda x: round(x, 2)), min_size=3, max_size=3),
    orders=st.lists(st.lists(order_specs, max_size=4), min_size=3, max_size=25),
)
def test_static_prices_no_fill_breaches_position_or_exposure_limits(prices, orders):
    eng = make_engine(_static_price_rules(), cash=100_000)
    audit = FillAudit(eng, _exposure_problem)
    _run(eng, [prices] * len(orders), orders)
    assert audit.violations == []
    for e in eng.events:
        if type(e) is ev.OrderFilled:
            assert e.last_quantity <= LIMITS["order_quantity"]
    _assert_denials_recorded(eng)


LOSS_LIMIT, DRAWDOWN = 800.0, 0.012


def _loss_problem(eng, symbol):
    """The equity the monitors last saw (end of the previous timestamp) must be within the limits."""
    start = eng.portfolio.starting_cash
    seen = list(eng.equity_values)
    ref = seen[-1] if seen else start
    peak = max([start, *seen])
    if start - ref > LOSS_LIMIT + 1e-6:
        return f"fill in {symbol} after the daily loss reached {start - ref}"
    if ref < (1 - DRAWDOWN) * peak - 1e-6:
        return f"fill in {symbol} after a drawdown of {1 - ref / peak:.4f}"
    return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.lists(st.floats(20.0, 200.0).map(lambda x: round(x, 2)), min_size=3, max_size=3),
    moves=st.lists(st.lists(st.floats(-0.05, 0.03), min_size=3, max_size=3), min_size=3, max_size=30),
    orders=st.lists(st.lists(order_specs, max_size=3), min_size=30, max_size=30),
    halt=st.booleans(),
)
def test_random_walk_no_risk_adding_fill_after_a_loss_limit_is_breached(start, moves, orders, halt):
    prices_by_step, current = [], list(start)
    for move in moves:
        current = [max(round(p * (1 + m), 2), 0.01) for p, m in zip(current, move)]
        prices_by_step.append(current)
    monitors = [DailyLossLimit(limit=LOSS_LIMIT, action="halt" if halt else "reduce_only"),
                MaxDrawdown(DRAWDOWN, action="reduce_only")]
    eng = make_engine([r.MaxPositionQuantity(600)], monitors, cash=100_000)
    audit = FillAudit(eng, _loss_problem)
    qty_audit = FillAudit(eng, lambda e, s: f"{s} position {e.portfolio.quantity(s)}"
                          if abs(e.portfolio.quantity(s)) > 600 else None)
    after_trip = FillAudit(eng, lambda e, s: f"{s} grew after {sorted(e.risk.tripped)}" if e.risk.tripped else None)
    _run(eng, prices_by_step, orders[: len(prices_by_step)])
    assert audit.violations == []
    assert qty_audit.violations == []
    assert after_trip.violations == []  # once a limit fired, only fills that shrink a position happen
    _assert_denials_recorded(eng)
    assert all(math.isfinite(x) for x in eng.equity_values)


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    from workbench.persistence import Journal

    path = tmp_path_factory.mktemp("journal") / "risk.sqlite"
    with Journal(f"sqlite:///{path}", synchronous="OFF") as j:
        yield j


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    prices=st.lists(st.floats(5.0, 400.0).map(lambda x: round(x, 2)), min_size=3, max_size=3),
    orders=st.lists(st.lists(order_specs, min_size=1, max_size=4), min_size=3, max_size=10),
)
def test_denied_orders_are_journaled_with_their_reason(journal, prices, orders):
    session = journal.create_session(mode="backtest")
    eng = make_engine(_static_price_rules(), cash=100_000)
    eng.event_sink = lambda e: journal.append(session, e)
    _run(eng, [prices] * len(orders), orders)
    rows = journal.risk_events(session)
    denied_rows = rows[rows["kind"] == "order_denied"]
    _assert_denials_recorded(eng, len(denied_rows))
    journaled = dict(zip(denied_rows["order_id"], zip(denied_rows["rule"], denied_rows["message"])))
    for e in eng.events:
        if type(e) is ev.OrderDenied:
            assert journaled[e.order_id] == (e.rule, e.reason)
