"""The kill switch, from each trigger, leaves no open order and no position after the next event cycle,
and pulling it again changes nothing."""

from __future__ import annotations

import pytest
from risk_helpers import BUY, MINUTE_NS, SELL, T0, hold, make_engine, place, push_bar

from workbench.model import commands as cmd
from workbench.model import events as ev
from workbench.model.enums import ContingencyType, OrderStatus, OrderType, TradingState
from workbench.risk.breakers import BrokerDisconnect
from workbench.risk.portfolio_rules import DailyLossLimit


def _busy_book(eng):
    """Long SPY, short QQQ, resting orders, and a filled bracket whose exits are working."""
    hold(eng, "SPY", 100, 100.0, T0)
    hold(eng, "QQQ", -50, 80.0, T0 + 2 * MINUTE_NS)
    place(eng, "SPY", BUY, 10, limit_price=95.0)
    place(eng, "QQQ", SELL, 10, limit_price=85.0)
    ids = [eng.next_order_id() for _ in range(3)]
    entry = eng.create_order("IWM", BUY, 20, order_id=ids[0], contingency=ContingencyType.OTO, linked_order_ids=tuple(ids[1:]))
    tp = eng.create_order("IWM", SELL, 20, OrderType.LIMIT, limit_price=120.0, reduce_only=True, order_id=ids[1],
                          parent_order_id=ids[0], contingency=ContingencyType.OCO, linked_order_ids=(ids[2],))
    sl = eng.create_order("IWM", SELL, 20, OrderType.STOP, stop_price=90.0, reduce_only=True, order_id=ids[2],
                          parent_order_id=ids[0], contingency=ContingencyType.OCO, linked_order_ids=(ids[1],))
    push_bar(eng, "IWM", 100.0, T0 + 4 * MINUTE_NS)
    eng.hold_until_filled(entry, [tp, sl])
    eng.submit_order(entry)
    push_bar(eng, "IWM", 100.0, T0 + 5 * MINUTE_NS)
    assert eng.portfolio.quantity("IWM") == 20 and tp.is_open and sl.is_open
    assert len(eng.open_orders()) == 4


def _next_cycle(eng, minute):
    for symbol, price in (("SPY", 100.0), ("QQQ", 80.0), ("IWM", 100.0)):
        push_bar(eng, symbol, price, T0 + minute * MINUTE_NS)


def _assert_flat_and_halted(eng):
    assert eng.open_orders() == []
    assert all(p.is_flat for p in eng.portfolio.positions.values())
    assert eng.risk.state is TradingState.HALTED


def _trigger_api(eng):
    eng.kill_switch("test")


def _trigger_command(eng):
    eng.execute(cmd.KillSwitch(reason="from the dashboard"))


@pytest.mark.parametrize("trigger", [_trigger_api, _trigger_command], ids=["api", "command"])
def test_kill_switch_from_api_and_command(trigger):
    eng = make_engine()
    _busy_book(eng)
    trigger(eng)
    assert eng.risk.state is TradingState.HALTED
    _next_cycle(eng, 10)
    _assert_flat_and_halted(eng)
    states = [e for e in eng.events if type(e) is ev.TradingStateChanged]
    n_events = len(eng.events)
    trigger(eng)  # idempotent: nothing left to cancel or close, no second state change
    _next_cycle(eng, 11)
    _assert_flat_and_halted(eng)
    assert [e for e in eng.events if type(e) is ev.TradingStateChanged] == states
    assert not [e for e in eng.events[n_events:] if isinstance(e, ev.OrderEvent)]
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.DENIED


def test_kill_switch_from_a_rule():
    eng = make_engine(monitors=[DailyLossLimit(limit=2_000, action="kill")])
    _busy_book(eng)
    push_bar(eng, "SPY", 75.0, T0 + 10 * MINUTE_NS)  # SPY loss 2,500: breach
    _next_cycle(eng, 11)  # the rule fires at the start of this cycle and the closing orders fill in it
    _assert_flat_and_halted(eng)
    (risk_event,) = [e for e in eng.events if type(e) is ev.RiskEvent]
    assert (risk_event.rule, risk_event.action) == ("daily_loss_limit", "kill")
    _next_cycle(eng, 12)
    _assert_flat_and_halted(eng)
    assert len([e for e in eng.events if type(e) is ev.RiskEvent]) == 1


def test_kill_switch_from_a_breaker_fired_inside_event_dispatch():
    """A disconnect recorded while the engine dispatches broker events still flattens everything."""
    eng = make_engine(monitors=[BrokerDisconnect(action="kill", max_disconnect_seconds=60)])
    _busy_book(eng)
    eng._busy = True  # as inside a strategy callback: broker events are queued
    eng.record(ev.ConnectionStatusChanged(ts_event=T0, component="broker", connected=False))
    # still down past the limit (a later RECONNECTING): the escalation fires the kill
    eng.record(ev.ConnectionStatusChanged(ts_event=T0 + 61_000_000_000, component="alpaca broker", connected=False,
                                          state="RECONNECTING", kind="execution"))
    eng.record(ev.ConnectionStatusChanged(ts_event=T0 + 61_000_000_000, component="broker", connected=False))
    eng._busy = False
    eng._drain()
    _next_cycle(eng, 10)
    _assert_flat_and_halted(eng)
