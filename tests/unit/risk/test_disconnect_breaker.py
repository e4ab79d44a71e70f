"""The broker-disconnect breaker (workbench.risk.disconnect) behaves as LEAN and NautilusTrader do:

* LEAN ``DefaultBrokerageMessageHandler`` (Common/Brokerages/DefaultBrokerageMessageHandler.cs): a
  brokerage Disconnect does not stop the algorithm; a Reconnect within the allowed time (5 minutes
  by default) lets it go on by itself; a longer outage stops it with an error.
* NautilusTrader live reconciliation (docs: concepts/live, "Reconciliation"): after a (re)connect the
  execution state is reconciled from the venue's order, fill and position reports before trading
  state is trusted.

Connections are watched by their documented kind (``ConnectionStatusChanged.kind``: execution or
data, set by ``adapters/base.py`` for Alpaca and IB alike), whatever their name.
"""

from __future__ import annotations

import pytest
from risk_helpers import BUY, MINUTE_NS, SELL, T0, hold, make_engine, place, push_bar

from workbench.adapters.base import BrokerReports
from workbench.alerts.rules import DEFAULT_RULES, AlertLevel
from workbench.model import commands as cmd
from workbench.model import events as ev
from workbench.model.enums import OrderStatus, TradingState
from workbench.risk.disconnect import BrokerDisconnect

S = 1_000_000_000


def default_rule(event):
    return DEFAULT_RULES[type(event)](event)


def risk_events(eng):
    return [(e.action, e.message) for e in eng.events if type(e) is ev.RiskEvent]


def status(eng, component, state, ts, kind="execution", detail=""):
    eng.record(ev.ConnectionStatusChanged(ts_event=ts, component=component, connected=state == "CONNECTED",
                                          state=state, kind=kind, detail=detail))


@pytest.mark.parametrize("component", ["alpaca broker", "ibkr.execution", "questrade orders"])
def test_execution_outage_holds_orders_then_resumes_by_itself_after_reconnect_and_reconciliation(component):
    eng = make_engine(monitors=[BrokerDisconnect(max_disconnect_seconds=300)])
    push_bar(eng, "SPY", 100.0, T0)
    status(eng, component, "CONNECTING", T0)  # the first connect is no outage
    status(eng, component, "CONNECTED", T0)
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.ACCEPTED
    status(eng, component, "RECONNECTING", T0 + S, detail="connection lost")
    held = place(eng, "SPY", BUY, 1)
    assert held.status is OrderStatus.DENIED
    denial = [e for e in eng.events if type(e) is ev.OrderDenied][-1]
    assert denial.rule == "broker_disconnect" and component in denial.reason
    assert eng.risk.state is TradingState.ACTIVE  # held, not halted: no Resume needed later
    status(eng, component, "CONNECTED", T0 + 2 * S)
    # connected again but not reconciled yet: still held (NautilusTrader reconciles first)
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.DENIED
    BrokerReports(component).apply_to(eng)  # the adapter's reports after the reconnect, reconciled by the engine
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.ACCEPTED
    actions = [a for a, _ in risk_events(eng)]
    assert actions == ["hold", "resume"]
    assert eng.risk.state is TradingState.ACTIVE and not eng.risk.tripped


def test_an_outage_longer_than_the_limit_halts_with_a_critical_alert_and_stays_halted():
    eng = make_engine(monitors=[BrokerDisconnect(max_disconnect_seconds=60)])
    push_bar(eng, "SPY", 100.0, T0)
    status(eng, "ibkr.execution", "CONNECTED", T0)
    status(eng, "ibkr.execution", "RECONNECTING", T0 + S)
    push_bar(eng, "SPY", 100.0, T0 + S + 59 * S)  # 59 s: within the limit
    assert eng.risk.state is TradingState.ACTIVE
    eng.clock.advance_to(T0 + S + 60 * S)  # the escalation timer (no data needed: a dead feed sends none)
    assert eng.risk.state is TradingState.HALTED
    halt = [e for e in eng.events if type(e) is ev.RiskEvent and e.action == "halt"]
    assert len(halt) == 1 and halt[0].value == pytest.approx(60.0) and halt[0].limit == 60
    assert default_rule(halt[0]).level is AlertLevel.CRITICAL
    changed = [e for e in eng.events if type(e) is ev.TradingStateChanged][-1]
    assert changed.state is TradingState.HALTED and default_rule(changed).level is AlertLevel.CRITICAL
    # reconnect + reconciliation lift the hold, not the halt (LEAN stops; here a deliberate Resume)
    status(eng, "ibkr.execution", "CONNECTED", T0 + 100 * S)
    BrokerReports("ibkr.execution").apply_to(eng)
    assert eng.risk.state is TradingState.HALTED
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.DENIED
    eng.execute(cmd.Resume())
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.ACCEPTED


def test_outage_holds_new_risk_but_lets_reduce_only_orders_go_and_data_resumes_on_connect():
    eng = make_engine(monitors=[BrokerDisconnect()])
    hold(eng, "SPY", 10, 100.0, T0)
    status(eng, "alpaca feed", "CONNECTED", T0, kind="data")
    status(eng, "alpaca feed", "RECONNECTING", T0 + S, kind="data")
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.DENIED
    assert place(eng, "SPY", SELL, 10, reduce_only=True).status is not OrderStatus.DENIED
    status(eng, "alpaca broker", "RECONNECTING", T0 + S)
    assert place(eng, "SPY", SELL, 5, reduce_only=True).status is not OrderStatus.DENIED  # a flatten is attempted
    status(eng, "alpaca broker", "CONNECTED", T0 + 2 * S)
    BrokerReports("alpaca broker").apply_to(eng)
    status(eng, "alpaca feed", "CONNECTED", T0 + 2 * S, kind="data")  # no reconciliation for data
    assert [a for a, _ in risk_events(eng)] == ["hold", "hold", "hold", "resume"]
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.ACCEPTED


def test_watched_by_kind_not_by_name():
    eng = make_engine(monitors=[BrokerDisconnect(kinds=["execution"])])
    push_bar(eng, "SPY", 100.0, T0)
    status(eng, "broker of something", "RECONNECTING", T0, kind="")  # a name with "broker", no kind: not watched
    status(eng, "ibkr.data", "RECONNECTING", T0, kind="data")  # data not in kinds
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.ACCEPTED and not risk_events(eng)
    status(eng, "x", "RECONNECTING", T0, kind="execution")
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.DENIED
    with pytest.raises(ValueError, match="unknown kind"):
        BrokerDisconnect(kinds=["broker"])


def test_two_connections_down_resume_only_when_both_are_back():
    eng = make_engine(monitors=[BrokerDisconnect()])
    push_bar(eng, "SPY", 100.0, T0)
    status(eng, "alpaca broker", "RECONNECTING", T0)
    status(eng, "alpaca feed", "RECONNECTING", T0, kind="data")
    status(eng, "alpaca feed", "CONNECTED", T0 + S, kind="data")
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.DENIED
    status(eng, "alpaca broker", "CONNECTED", T0 + 2 * S)
    BrokerReports("alpaca broker").apply_to(eng)
    assert [a for a, _ in risk_events(eng)] == ["hold", "hold", "hold", "resume"]
    assert place(eng, "SPY", BUY, 1).status is OrderStatus.ACCEPTED
    push_bar(eng, "SPY", 100.0, T0 + MINUTE_NS)


def test_config_builds_the_breaker_with_kinds_and_limit():
    from workbench.risk.config import RiskConfig
    from workbench.risk.factory import build_risk_engine

    config = RiskConfig.model_validate({"breakers": {"broker_disconnect": {
        "kinds": ["execution"], "max_disconnect_seconds": 30, "action": "kill"}}})
    (breaker,) = [m for m in build_risk_engine(config).monitors if m.name == "broker_disconnect"]
    assert breaker.kinds == ("execution",) and breaker.max_disconnect_ns == 30 * S and breaker.action.value == "kill"


def test_every_adapter_client_journals_its_kind():
    """Alpaca and IB clients declare the kind the breaker watches (adapters/base.py), so no name convention
    is needed (IB's components are ``ibkr.execution`` / ``ibkr.data``, Alpaca's ``alpaca broker`` / ``alpaca feed``)."""
    from workbench.adapters.alpaca.data import AlpacaDataClient
    from workbench.adapters.alpaca.execution import AlpacaExecutionClient
    from workbench.adapters.ibkr.data import IbkrDataClient
    from workbench.adapters.ibkr.execution import IbkrExecutionClient

    assert AlpacaExecutionClient.kind == IbkrExecutionClient.kind == "execution"
    assert AlpacaDataClient.kind == IbkrDataClient.kind == "data"
