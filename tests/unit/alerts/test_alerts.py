"""Alerts: levels and suggested actions per event, dedupe, rate limit, journaling, log and apprise delivery.

Apprise delivery goes to a JSON webhook served by this test on 127.0.0.1 (never an outside service).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest

from workbench.alerts import Alert, AlertLevel, AlertManager, AppriseSink, LogSink
from workbench.engine.backtest import build_engine
from workbench.errors import ConfigError
from workbench.model import events as ev
from workbench.model.enums import OrderSide, TradingState
from workbench.risk import build_alert_manager

T0 = pd.Timestamp("2013-10-07 14:00", tz="UTC").value
S = 1_000_000_000


class Collect:
    def __init__(self, levels=None):
        self.alerts: list[Alert] = []
        self.levels = levels

    def accepts(self, alert):
        return self.levels is None or alert.level in self.levels

    def send(self, alert):
        self.alerts.append(alert)


def denied(ts, rule="max_order_quantity", symbol="SPY", order_id="O-1"):
    return ev.OrderDenied(ts_event=ts, order_id=order_id, symbol=symbol, reason=f"{rule}: too big", rule=rule)


def test_levels_and_suggested_actions():
    sink = Collect()
    m = AlertManager([sink], dedupe_seconds=0)
    m.on_event(ev.RiskEvent(ts_event=T0, rule="max_drawdown", message="drawdown 11%", action="halt"))
    m.on_event(ev.RiskEvent(ts_event=T0, rule="daily_loss_limit", message="loss", action="reduce_only"))
    m.on_event(denied(T0))
    m.on_event(ev.OrderRejected(ts_event=T0, order_id="O-2", symbol="SPY", reason="insufficient buying power"))
    m.on_event(ev.OrderFilled(ts_event=T0, order_id="O-3", symbol="SPY", fill_id="F-1", side=OrderSide.BUY,
                              last_quantity=10, last_price=100.5))
    m.on_event(ev.TradingStateChanged(ts_event=T0, state=TradingState.HALTED, reason="kill switch"))
    m.on_event(ev.ConnectionStatusChanged(ts_event=T0, component="broker", connected=False, detail="timeout"))
    m.on_event(ev.SessionStarted(ts_event=T0, session_id="s1", mode="paper"))
    m.on_event(ev.AccountState(ts_event=T0, cash=1.0, equity=1.0))  # no rule: no alert
    levels = [(a.source, a.level) for a in sink.alerts]
    assert levels == [
        ("RiskEvent", AlertLevel.CRITICAL), ("RiskEvent", AlertLevel.WARNING), ("OrderDenied", AlertLevel.WARNING),
        ("OrderRejected", AlertLevel.WARNING), ("OrderFilled", AlertLevel.INFO), ("TradingStateChanged", AlertLevel.CRITICAL),
        ("ConnectionStatusChanged", AlertLevel.CRITICAL), ("SessionStarted", AlertLevel.INFO),
    ]
    assert "Resume" in sink.alerts[0].action
    assert sink.alerts[4].title == "Filled BUY 10 SPY @ 100.5"
    assert all(a.action for a in sink.alerts if a.level is not AlertLevel.INFO)


def test_dedupe_window():
    sink = Collect()
    m = AlertManager([sink], dedupe_seconds=60)
    assert m.on_event(denied(T0)) is not None
    assert m.on_event(denied(T0 + 59 * S, order_id="O-2")) is None  # same rule and symbol within 60 s
    other = m.on_event(denied(T0 + 59 * S, symbol="QQQ"))  # another symbol is another alert
    assert other is not None and other.message.endswith("(1 alerts suppressed before this one)")
    late = m.on_event(denied(T0 + 60 * S, order_id="O-3"))  # 60 s later the same key alerts again
    assert late is not None and late.message == "max_order_quantity: too big"
    assert len(sink.alerts) == 3


def test_rate_limit():
    sink = Collect()
    m = AlertManager([sink], dedupe_seconds=0, max_alerts=3, per_seconds=10)
    for i in range(5):
        m.on_event(denied(T0 + i * S, symbol=f"S{i}"))
    assert [a.title.split()[2] for a in sink.alerts] == ["S0", "S1", "S2"]
    m.on_event(denied(T0 + 10 * S, symbol="S9"))  # the first alert left the 10 s window
    assert sink.alerts[-1].title.split()[2] == "S9" and "(2 alerts suppressed" in sink.alerts[-1].message


def test_events_and_min_level_filters():
    sink = Collect()
    m = AlertManager([sink], events=["OrderDenied"], min_level="WARNING", dedupe_seconds=0)
    m.on_event(ev.RiskEvent(ts_event=T0, rule="x", message="m", action="halt"))
    m.on_event(denied(T0))
    assert [a.source for a in sink.alerts] == ["OrderDenied"]
    with pytest.raises(ValueError, match="no alert rule for \\['Nope'\\]"):
        AlertManager([], events=["Nope"])
    m2 = AlertManager([sink], min_level="CRITICAL")
    assert m2.on_event(denied(T0)) is None


def test_alerts_are_journaled_through_the_engine_and_routed_by_level():
    critical = Collect(levels={AlertLevel.CRITICAL})
    everything = Collect()
    eng = build_engine([])
    AlertManager([critical, everything], dedupe_seconds=0).attach(eng)
    eng.clock.advance_to(T0)
    eng.kill_switch("test")  # TradingStateChanged(HALTED) -> CRITICAL alert
    raised = [e for e in eng.events if type(e) is ev.AlertRaised]
    assert [(a.level, a.title, a.source) for a in raised] == [("CRITICAL", "Trading state HALTED", "TradingStateChanged")]
    assert len(critical.alerts) == len(everything.alerts) == 1


def test_alerts_land_in_the_journal(tmp_path):
    from workbench.persistence import Journal

    with Journal(f"sqlite:///{tmp_path / 'j.sqlite'}") as journal:
        session = journal.create_session(mode="paper")
        eng = build_engine([], event_sink=lambda e: journal.append(session, e))
        AlertManager([], dedupe_seconds=0).attach(eng)
        eng.clock.advance_to(T0)
        eng.record(ev.ConnectionStatusChanged(ts_event=T0, component="broker", connected=False, detail="timeout"))
        rows = journal.alerts(session)
        assert list(rows["level"]) == ["CRITICAL"]
        assert rows["title"].iloc[0] == "broker disconnected"


def test_log_sink(caplog):
    m = AlertManager([LogSink(levels=["WARNING", "CRITICAL"])], dedupe_seconds=0)
    with caplog.at_level(logging.INFO, logger="workbench.alerts"):
        m.on_event(denied(T0))
        m.on_event(ev.OrderFilled(ts_event=T0, order_id="O-3", symbol="SPY", fill_id="F-1", side=OrderSide.BUY,
                                  last_quantity=1, last_price=1.0))
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records] == [
        ("WARNING", "[WARNING] Order O-1 SPY denied by max_order_quantity")]
    assert "Suggested action: " in caplog.records[0].getMessage()


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_port}/alerts", _Hook.received
    server.shutdown()
    server.server_close()


def test_apprise_json_webhook_delivery(webhook):
    url, received = webhook
    sink = AppriseSink([url], levels=["CRITICAL"])
    m = AlertManager([sink], dedupe_seconds=0)
    m.on_event(denied(T0))  # WARNING: not routed to this sink
    m.on_event(ev.RiskEvent(ts_event=T0, rule="max_drawdown", message="drawdown 12.00%", action="halt"))
    assert len(received) == 1
    path, payload = received[0]
    assert path == "/alerts"
    assert payload["title"] == "[workbench] Risk limit max_drawdown fired (halt)"
    assert payload["message"].startswith("drawdown 12.00%\nSuggested action: ")
    assert payload["type"] == "failure"
    assert sink.failures == 0


async def test_apprise_inside_a_running_loop_does_not_block(webhook):
    url, received = webhook
    sink = AppriseSink([url])
    future = sink.send(Alert(AlertLevel.INFO, "hello", "world"))
    assert await future is True
    assert received[0][1]["title"] == "[workbench] hello"


def test_build_alert_manager_reads_urls_from_the_environment(webhook):
    url, received = webhook
    config = {"risk": {"alerts": {"log": False, "dedupe_seconds": 0,
                                  "routes": [{"name": "ops", "url_env": ["OPS_HOOK"], "levels": ["CRITICAL"]}]}}}
    with pytest.raises(ConfigError, match=r"risk.alerts.routes\[0\].url_env: environment variable 'OPS_HOOK'"):
        build_alert_manager(config, environ={})
    manager = build_alert_manager(config, environ={"OPS_HOOK": url})
    manager.on_event(ev.ConnectionStatusChanged(ts_event=T0, component="broker", connected=False))
    assert received[0][1]["title"] == "[workbench] broker disconnected"
    with pytest.raises(ConfigError, match="apprise does not understand"):
        build_alert_manager(config, environ={"OPS_HOOK": "notascheme://x"})
