"""Issue 9, items 11 and 12: a bracket's exits are armed on the entry's first (partial) fill and resized as
further fills arrive; every change to an order is an event, so a rebuild from the journal equals live.

Expected behaviour and its source: Interactive Brokers' bracket orders ("Bracket Orders", TWS API
documentation and the TWS user guide) activate the attached profit-taker and stop-loss when the
parent executes, *including partially*, and keep the child quantity equal to the parent's filled
quantity. The rule "rebuild equals live" is DESIGN.md rule 3/4 (every change is an event; the journal
is the source of truth), the NautilusTrader model where every order change is an ``OrderEvent``.
"""

from __future__ import annotations

from core_state import engine_state, rebuilt_state

from workbench.brokers.fills import FillModel
from workbench.engine.backtest import build_engine
from workbench.engine.strategy import Strategy
from workbench.model import events as ev
from workbench.model.data import Bar
from workbench.model.enums import OrderSide, OrderStatus

MINUTE = 60_000_000_000
T0 = 1381156200 * 1_000_000_000 + 30 * MINUTE  # 2013-10-07 10:00 New York
S = OrderStatus
OPTIONS = {"check_buying_power": False, "fill_model": FillModel(max_volume_participation=0.5)}


def _bar(i: int, o: float, h: float, low: float, c: float, volume: float) -> Bar:
    return Bar("SPY", o, h, low, c, volume, T0 + (i - 1) * MINUTE, T0 + i * MINUTE)


class OneBracket(Strategy):
    entry_price: float | None = None  # market entry

    def on_bar(self, bar: Bar) -> None:
        if self.engine.data_count == 1:
            b = self.bracket("SPY", OrderSide.BUY, 100, take_profit=110.0, stop_loss=95.0, entry_price=self.entry_price)
            self.orders = (b.entry, b.take_profit, b.stop_loss)


def _run(bars: list[Bar]) -> tuple[object, OneBracket, list[dict]]:
    strategy = OneBracket()
    eng = build_engine(strategy, **OPTIONS)
    eng.start()
    checks = []
    for bar in bars:
        eng.on_bar(bar)
        checks.append((engine_state(eng), rebuilt_state(eng.events, **OPTIONS)))
    return eng, strategy, checks


def test_exits_are_armed_for_a_partial_fill_and_grow_with_the_entry() -> None:
    bars = [
        _bar(1, 100, 100.5, 99.5, 100, 1000),
        _bar(2, 100, 100.5, 99.5, 100, 160),  # the entry (market) gets 80 of 100: 50% of 160
        _bar(3, 100, 100.5, 99.5, 100, 1000),  # the other 20
        _bar(4, 99, 99, 94, 94.5, 1000),  # falls through the stop-loss at 95
    ]
    strategy = OneBracket()
    eng = build_engine(strategy, **OPTIONS)
    eng.start()
    eng.on_bar(bars[0])
    eng.on_bar(bars[1])
    entry, tp, sl = strategy.orders
    assert (entry.status, entry.filled_quantity) == (S.PARTIALLY_FILLED, 80)
    # before: the exits stayed INITIALIZED (held) and the 80 shares had no stop
    assert (tp.status, tp.quantity, sl.status, sl.quantity) == (S.ACCEPTED, 80, S.ACCEPTED, 80)
    updates = [(e.order_id, e.quantity) for e in eng.events if type(e) is ev.OrderUpdated]
    assert updates == [(tp.order_id, 80.0), (sl.order_id, 80.0)]
    eng.on_bar(bars[2])
    assert entry.status is S.FILLED and (tp.quantity, sl.quantity) == (100, 100)
    assert [(e.order_id, e.quantity) for e in eng.events if type(e) is ev.OrderModified] == [
        (tp.order_id, 100.0), (sl.order_id, 100.0)]
    eng.on_bar(bars[3])
    assert (sl.status, sl.filled_quantity, tp.status) == (S.FILLED, 100, S.CANCELED)
    assert eng.portfolio.quantity("SPY") == 0


def test_rebuild_equals_live_after_every_bar_of_a_partially_filled_bracket() -> None:
    """The old resize was ``child.quantity = filled`` with no event: the rebuild had 100-share exits
    working (phantom quantity) while live had 80."""
    bars = [
        _bar(1, 100, 100.5, 99.5, 100, 1000),
        _bar(2, 100, 100.5, 99.5, 100, 100),  # 50 filled
        _bar(3, 100, 100.5, 99.5, 100, 60),  # 30 more: 80
        _bar(4, 100, 100.5, 99.5, 100, 1000),  # the rest (20) at the open: the exits grow to 100
        _bar(5, 100, 111, 99.5, 110.5, 1000),  # the take-profit at 110, for all 100
    ]
    eng, strategy, checks = _run(bars)
    for i, (live, rebuilt) in enumerate(checks):
        assert rebuilt == live, f"after bar {i + 1}"
    entry, tp, sl = strategy.orders
    assert entry.status is S.FILLED and tp.status is S.FILLED and sl.status is S.CANCELED
    assert tp.filled_quantity == 100 and eng.portfolio.quantity("SPY") == 0


def test_the_journals_orders_table_follows_the_resized_exits(tmp_path) -> None:
    """The dashboard's read model (``orders`` projection) shows the same status and quantity as the engine:
    a held exit resized by ``OrderUpdated``, a partially filled exit grown by a broker-side ``OrderModified``
    (no pending replace: the status stays PARTIALLY_FILLED)."""
    from workbench.persistence import Journal

    class LimitEntry(OneBracket):
        entry_price = 100.0

    bars = [
        _bar(1, 100.2, 100.5, 100.1, 100.2, 1000),
        _bar(2, 100.2, 100.5, 99.5, 100, 100),  # the entry (buy limit 100) gets 50 of 100
        _bar(3, 100.5, 110.2, 100.2, 105, 60),  # take-profit 30 of 50 (stop-loss shrunk to 20 by the OCO)
        _bar(4, 99.8, 100.5, 99.5, 100, 1000),  # the entry's other 50: the partially filled take-profit grows
    ]
    with Journal(f"sqlite:///{tmp_path / 'j.sqlite'}") as journal:
        sid = journal.create_session(mode="backtest")
        strategy = LimitEntry()
        eng = build_engine(strategy, **OPTIONS)
        eng.event_sink = lambda e: journal.append(sid, e)
        eng.start()
        for bar in bars:
            eng.on_bar(bar)
            table = journal.orders(sid).set_index("order_id")
            for oid, order in eng.orders.items():
                row = table.loc[oid]
                assert (row["status"], row["quantity"], row["filled_quantity"]) == (
                    order.status.value, order.quantity, order.filled_quantity), (bar.ts_init, oid)
        entry, tp, sl = strategy.orders
        assert entry.status is S.FILLED and (tp.status, tp.filled_quantity, tp.quantity) == (S.PARTIALLY_FILLED, 30, 100)
        assert sl.quantity == 70 and eng.portfolio.quantity("SPY") == 70
