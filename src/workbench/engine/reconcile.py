"""Crash recovery: rebuild an engine from its journal, then reconcile it with the broker.

Restarting a session (DESIGN rule 5):

1. :func:`rebuild` replays the journaled events into a fresh engine *without side effects*:
   orders (through the same state machine), fills into the portfolio (positions, cash, realized
   P&L), held contingent orders, the order-id sequence, the trading state and pause.
2. Strategy-visible market state (indicators, windows) is rebuilt by
   :func:`warm_up` over the data before the resume point;
   strategies' order calls are ignored while warming up (their effects are already journaled).
3. :func:`reconcile` asks the broker for its orders, fills and positions, and journals a
   ``ReconciliationCorrected`` for every difference, followed by the event that corrects it (a
   missing fill is booked; a fill of an order the journal never had is booked as EXTERNAL; a
   fill that only the order's status report shows is inferred from its filled quantity and
   average price; an order the broker closed is closed), before trading resumes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from workbench.engine.containment import apply_action
from workbench.engine.engine import TradingEngine
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import ContingencyType, OrderStatus, TradingState
from workbench.model.orders import Order
from workbench.model.reports import FillReport, OrderStatusReport

_EPS = 1e-9


@dataclass
class RebuildReport:
    """What :func:`rebuild` restored."""

    events: int = 0
    orders: int = 0
    open_orders: int = 0
    fills: int = 0
    order_seq: int = 0
    positions: dict[str, float] = field(default_factory=dict)
    cash: float = 0.0


def _seq_of(order_id: str, prefix: str) -> int:
    tail = order_id[len(prefix):] if order_id.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else 0


def rebuild(engine: TradingEngine, events: Iterable[ev.Event]) -> RebuildReport:
    """Apply journaled ``events`` to a fresh ``engine`` (no broker calls, nothing re-journaled).

    Risk monitors that keep state over time (start-of-day equity of the daily loss limit, the
    equity peak of the drawdown limit) get the journaled equity samples through their
    ``restore_equity_history(history)`` method, ``history`` being ``[(ts_ns, equity), ...]`` in
    journal order starting with the portfolio's starting cash. The price history of the VaR and
    correlation limits gets its journaled closing prices (``ClosingPricesSampled``) through
    ``restore_samples([(ts_ns, prices), ...])``."""
    report = RebuildReport()
    orders = engine.orders
    pf = engine.portfolio
    equity_history: list[tuple[int, float]] = []  # (ts_ns, equity) of the journaled AccountState events
    closing_prices: list[tuple[int, dict[str, float]]] = []  # (ts_ns, prices) of ClosingPricesSampled
    for e in events:
        report.events += 1
        t = type(e)
        if t is ev.AccountState:
            if not equity_history:
                equity_history.append((e.ts_event, pf.starting_cash))
            equity_history.append((e.ts_event, e.equity))  # type: ignore[attr-defined]
        elif t is ev.OrderInitialized:
            order = Order(e)  # type: ignore[arg-type]
            orders[order.order_id] = order
            report.order_seq = max(report.order_seq, _seq_of(order.order_id, engine.order_id_prefix))
        elif isinstance(e, ev.OrderEvent):
            order = orders.get(e.order_id)
            if order is None:
                continue
            order.apply(e)
            if t is ev.OrderFilled:
                report.fills += 1
                engine._fill_ids.add(e.fill_id)  # type: ignore[attr-defined]
                pf.apply_fill(e.symbol, e.side, e.last_quantity, e.last_price, e.commission, e.ts_event,  # type: ignore[attr-defined]
                              e.fill_id)  # type: ignore[attr-defined]
        elif t is ev.StrategyFailed:
            apply_action(engine, e.strategy_id, e.action)  # type: ignore[attr-defined]
        elif t is ev.KillSwitchEngaged:
            engine.risk.kill_switch_engaged = True
        elif t is ev.KillSwitchReset:
            engine.risk.kill_switch_engaged = False
        elif t is ev.TradingStateChanged:
            engine.risk.state = e.state  # type: ignore[attr-defined]
            engine.risk.state_reason = e.reason  # type: ignore[attr-defined]
            if e.state is not TradingState.HALTED:  # type: ignore[attr-defined]
                engine._suppression_noted.clear()
            if e.state is TradingState.ACTIVE:  # type: ignore[attr-defined]
                engine.risk.tripped.clear()  # RiskEngine.resume
        elif t is ev.RiskEvent:
            _rebuild_risk_event(engine, e)  # type: ignore[arg-type]
        elif t is ev.ClosingPricesSampled:
            closing_prices.append((e.ts_event, dict(e.prices)))  # type: ignore[attr-defined]
        elif t is ev.SizeMultiplierChanged:
            from workbench.engine.sizing import set_size_multiplier

            set_size_multiplier(engine, e.new)  # type: ignore[attr-defined]
        elif t is ev.CommandAcknowledged and e.ok:  # type: ignore[attr-defined]
            if e.name == "pause":  # type: ignore[attr-defined]
                engine.paused = True
            elif e.name == "resume":  # type: ignore[attr-defined]
                engine.paused = False
    engine._open_orders = {oid: o for oid, o in orders.items() if o.status.is_open}
    for monitor in engine.risk.monitors:  # start-of-day equity, equity peak: as if never restarted
        restore = getattr(monitor, "restore_equity_history", None)
        if restore is not None and equity_history:
            restore(equity_history)
        restore_prices = getattr(monitor, "restore_samples", None)
        if restore_prices is not None and closing_prices:
            restore_prices(closing_prices)
    for parent in orders.values():
        if parent.contingency is ContingencyType.OTO and parent.linked_order_ids:
            kids = [orders[c] for c in parent.linked_order_ids if c in orders]
            held = [c for c in kids if c.status is OrderStatus.INITIALIZED]
            if held:
                engine._children[parent.order_id] = held
            elif kids and parent.is_open:  # exits already sent for a partial fill: resized as it fills
                engine._armed[parent.order_id] = kids
    engine._order_seq = max(engine._order_seq, report.order_seq)
    report.orders = len(orders)
    report.open_orders = len(engine._open_orders)
    report.order_seq = engine._order_seq
    report.positions = {s: p.quantity for s, p in pf.positions.items() if not p.is_flat}
    report.cash = pf.cash
    return report


def _rebuild_risk_event(engine: TradingEngine, e: ev.RiskEvent) -> None:
    """Latched monitors stay fired and a halted strategy's notice is not repeated after a restart."""
    if e.action in ("reduce_only", "halt", "kill"):
        engine.risk.tripped[e.rule] = e.message
    elif e.action == "suppress":
        engine._suppression_noted.add(e.message.partition(":")[0].removeprefix("strategy "))


def _correct(engine: TradingEngine, kind: str, detail: str, order_id: str = "", symbol: str = "") -> ev.ReconciliationCorrected:
    c = ev.ReconciliationCorrected(ts_event=engine.now_ns(), kind=kind, detail=detail, order_id=order_id, symbol=symbol)
    engine.record(c)
    return c


# Fills found by reconciliation enter as a broker's fills do (``_on_broker_event``): booked once by
# execution id, an unknown order's as EXTERNAL, and the working exits of a bracket grow with them.
def _fill_event(fr: FillReport) -> ev.OrderFilled:
    return ev.OrderFilled(ts_event=fr.ts_event, order_id=fr.order_id, symbol=fr.symbol, fill_id=fr.fill_id,
                          side=fr.side, last_quantity=fr.quantity, last_price=fr.price, commission=fr.commission)


def _infer_fill(engine: TradingEngine, order: Order, r: OrderStatusReport) -> ev.ReconciliationCorrected:
    """Book the fill a status report implies but no fill report carries (NautilusTrader's reconciliation
    "inferred fill": quantity = reported filled - known filled, price = the one that makes the order's
    average equal the reported average price). Commission unknown: 0."""
    quantity = min(r.filled_quantity - order.filled_quantity, order.leaves_quantity)
    price = (r.avg_fill_price * r.filled_quantity - order.avg_fill_price * order.filled_quantity) / quantity
    fill_id = f"INFERRED-{order.order_id}-{len(order.events)}"
    c = _correct(engine, "inferred_fill", f"broker reports order {order.order_id} {r.status} with {r.filled_quantity:g} "
                 f"filled @ {r.avg_fill_price} but the journal has {order.filled_quantity:g}: inferred fill {fill_id} "
                 f"of {quantity:g} @ {price}", order.order_id, order.symbol)
    engine._on_broker_event(ev.OrderFilled(ts_event=r.ts_last, order_id=order.order_id, symbol=order.symbol,
                                           fill_id=fill_id, side=order.side, last_quantity=quantity, last_price=price))
    return c


def reconcile(engine: TradingEngine, broker: object | None = None) -> list[ev.ReconciliationCorrected]:
    """Compare the rebuilt ``engine`` with the broker's reports; journal and apply corrections.

    Returns the corrections (empty when journal and broker agree).
    """
    broker = broker if broker is not None else engine.broker
    out: list[ev.ReconciliationCorrected] = []
    known_fills = {e.fill_id for o in engine.orders.values() for e in o.events if type(e) is ev.OrderFilled}
    for fr in sorted(broker.fill_reports(), key=lambda f: f.ts_event):  # type: ignore[attr-defined]
        if fr.fill_id in known_fills:
            continue
        order = engine.orders.get(fr.order_id)
        if order is None:  # an order placed outside this engine: booked as EXTERNAL (as a live fill would be)
            out.append(_correct(engine, "external_fill", f"broker fill {fr.fill_id} ({fr.side} {fr.quantity:g} "
                                f"{fr.symbol} @ {fr.price}) of an order the journal never had: booked as external",
                                fr.order_id, fr.symbol))
            engine._on_broker_event(_fill_event(fr))
            continue
        if order.is_closed or fr.quantity > order.leaves_quantity + _EPS:
            out.append(_correct(engine, "unmatched_fill",
                                f"broker fill {fr.fill_id} ({fr.side} {fr.quantity:g} {fr.symbol} @ {fr.price}) "
                                f"matches no open order in the journal", fr.order_id, fr.symbol))
            continue
        out.append(_correct(engine, "missing_fill", f"broker fill {fr.fill_id} of {fr.quantity:g} @ {fr.price} was "
                            "not in the journal: booked", fr.order_id, fr.symbol))
        engine._on_broker_event(_fill_event(fr))
    reports = {r.order_id: r for r in broker.order_status_reports()}  # type: ignore[attr-defined]
    for order in list(engine._open_orders.values()):
        r = reports.get(order.order_id)
        now = engine.now_ns()
        if r is not None and r.filled_quantity > order.filled_quantity + _EPS:
            out.append(_infer_fill(engine, order, r))
            if order.is_closed:
                continue
        if r is None:
            out.append(_correct(engine, "order_unknown_at_broker", f"order {order.order_id} is open in the journal but "
                                "unknown at the broker: closed", order.order_id, order.symbol))
            event: ev.OrderEvent = (ev.OrderRejected(ts_event=now, order_id=order.order_id, symbol=order.symbol,
                                                     reason="unknown at broker after restart")
                                    if order.status is OrderStatus.SUBMITTED else
                                    ev.OrderCanceled(ts_event=now, order_id=order.order_id, symbol=order.symbol,
                                                     reason="unknown at broker after restart"))
            engine._apply(event)
        elif r.status.is_closed and r.status is not OrderStatus.FILLED:
            out.append(_correct(engine, "order_closed_at_broker", f"order {order.order_id} is {r.status} at the broker "
                                f"but {order.status} in the journal", order.order_id, order.symbol))
            cls = ev.OrderExpired if r.status is OrderStatus.EXPIRED else ev.OrderCanceled
            engine._apply(cls(ts_event=r.ts_last, order_id=order.order_id, symbol=order.symbol))
        elif r.status is OrderStatus.ACCEPTED and order.status is OrderStatus.SUBMITTED:
            engine._apply(ev.OrderAccepted(ts_event=r.ts_last, order_id=order.order_id, symbol=order.symbol,
                                           broker_order_id=r.broker_order_id))
    pf = engine.portfolio
    for pr in broker.position_reports():  # type: ignore[attr-defined]
        mine = pf.quantity(pr.symbol)
        if abs(mine - pr.quantity) > _EPS:
            out.append(_correct(engine, "position_mismatch", f"{pr.symbol}: journal {mine:g}, broker {pr.quantity:g} "
                                "after booking missing fills; manual review needed", symbol=pr.symbol))
    for parent_id in [p for p in engine._children if engine.orders[p].filled_quantity > 0]:
        engine._arm_children(engine.orders[parent_id])  # a fill booked above (or a crash before arming)
    return out


def warm_up(engine: TradingEngine, items: Iterable[Bar | QuoteTick | TradeTick]) -> int:
    """Replay past data to strategies only (restart): no matching, no recording, orders ignored.

    Rebuilds strategy-visible market state (indicators, windows) up to a resume point, and the
    equity curve of that part (``record_equity``): the journaled fills replayed over the data, so the
    summary of a resumed session (drawdown, benchmark) covers the whole session, as if it had never
    stopped. Returns the number of items.
    """
    engine.warming_up = True
    n = 0
    pf = engine.portfolio
    curve = _PastEquity(engine) if engine.record_equity else None
    try:
        for item in items:
            ts = item.ts_init
            if ts != engine._last_ts:
                if engine._last_ts >= 0:
                    engine._dispatch(engine._slice_handlers, engine._last_ts)
                    if curve is not None:
                        curve.record(engine._last_ts)
                engine._last_ts = ts
                engine.clock.advance_to(ts)
            t = type(item)
            if t is Bar:
                pf.last_prices[item.symbol] = item.close
                table, kind = engine._handlers_bar, "on_bar"
            elif t is QuoteTick:
                if item.bid == item.bid and item.ask == item.ask:
                    pf.last_prices[item.symbol] = (item.bid + item.ask) * 0.5
                table, kind = engine._handlers_quote, "on_quote"
            else:
                pf.last_prices[item.symbol] = item.price
                table, kind = engine._handlers_trade, "on_trade"
            if curve is not None:
                curve.mark(item.symbol, pf.last_prices[item.symbol])
            handlers = table.get(item.symbol)
            if handlers is None:
                handlers = engine._resolve(table, kind, item.symbol)
            engine._dispatch(handlers, item)  # failures contained; not journaled again while warming up
            n += 1
    finally:
        engine.warming_up = False
        pf._remark()
    return n


class _PastEquity:
    """The equity curve before a resume point: a shadow portfolio fed the journaled fills in time order
    and the warm-up's prices, recorded once per data timestamp as the engine does."""

    def __init__(self, engine: TradingEngine) -> None:
        from workbench.portfolio.portfolio import Portfolio

        self.engine = engine
        self.portfolio = Portfolio(engine.portfolio.starting_cash, engine.portfolio.instruments)
        fills = [e for o in engine.orders.values() for e in o.events if type(e) is ev.OrderFilled]
        self.fills = sorted(fills, key=lambda f: f.ts_event)  # stable: journal order within a timestamp
        self.next = 0

    def mark(self, symbol: str, price: float) -> None:
        self.portfolio.update_price(symbol, price)

    def record(self, ts: int) -> None:
        pf, fills = self.portfolio, self.fills
        while self.next < len(fills) and fills[self.next].ts_event <= ts:
            f = fills[self.next]
            pf.apply_fill(f.symbol, f.side, f.last_quantity, f.last_price, f.commission, f.ts_event, f.fill_id)
            self.next += 1
        self.engine.append_equity(ts, pf)
