"""JournalView snapshots: what is read, what is reused, bounds, health."""

from __future__ import annotations

import time

import pytest

from workbench.model import events as ev
from workbench.widgets import source
from workbench.widgets.source import JournalView, event_summary


def test_snapshot_reflects_the_journal(session):
    snap = JournalView(session.journal, session.session_id).snapshot()
    position = snap.positions.set_index("symbol").loc["SPY"]
    # hand-worked: bought 100 @ 170, sold 40 @ 172 -> 60 left at 170, realized 40 x 2 = 80
    assert position["quantity"] == 60
    assert position["avg_price"] == 170.0
    assert position["realized_pnl"] == pytest.approx(80.0)
    assert list(snap.fills["price"]) == [170.0, 172.0]
    assert list(snap.fills["side"]) == ["BUY", "SELL"]
    assert snap.trading_state == ("ACTIVE", "")
    assert snap.log["seq"].is_monotonic_decreasing
    assert snap.log["seq"].iloc[0] == session.journal.last_seq(session.session_id)


def test_unchanged_journal_reuses_frames_and_a_new_event_rereads_only_what_it_touches(session):
    view = JournalView(session.journal, session.session_id)
    first = view.snapshot()
    second = view.snapshot()
    assert second.changed is False
    assert second.fills is first.fills and second.log is first.log
    session.record(ev.AlertRaised(ts_event=time.time_ns(), level="warning", title="feed slow", message="5 s gap"))
    third = view.snapshot()
    assert third.changed is True
    assert list(third.alerts["title"]) == ["feed slow"]
    assert third.fills is first.fills  # an alert does not touch fills, orders, positions or equity
    assert third.positions is first.positions
    assert third.log is not first.log and third.log["type"].iloc[0] == "AlertRaised"
    session.trade("SPY", "BUY", 10, 171.0)
    fourth = view.snapshot()
    assert len(fourth.fills) == 3 and fourth.fills is not first.fills
    assert fourth.positions.set_index("symbol").loc["SPY", "quantity"] == 70


def test_frames_are_bounded_to_the_newest_rows(session, monkeypatch):
    monkeypatch.setitem(source.ROW_LIMITS, "fills", 3)
    monkeypatch.setitem(source.ROW_LIMITS, "log", 4)
    for price in (171.0, 172.0, 173.0):
        session.trade("SPY", "BUY", 1, price)
    snap = JournalView(session.journal, session.session_id).snapshot()
    every_fill = session.journal.fills(session.session_id)
    assert len(every_fill) == 5
    assert list(snap.fills["fill_id"]) == list(every_fill["fill_id"].iloc[-3:])
    assert len(snap.log) == 4


def test_health_connections_heartbeat_and_rate(session):
    now = time.time_ns()
    session.record(ev.ConnectionStatusChanged(ts_event=now, component="feed", connected=True))
    session.record(ev.ConnectionStatusChanged(ts_event=now + 1, component="broker", connected=True))
    session.record(ev.ConnectionStatusChanged(ts_event=now + 2, component="feed", connected=False,
                                              detail="socket closed"))
    health = JournalView(session.journal, session.session_id).snapshot().health
    assert health.connections["feed"][:2] == (False, "socket closed")
    assert health.connections["broker"][0] is True
    assert health.last_seq == session.journal.last_seq(session.session_id)
    assert health.event_rate * source.HEALTH_WINDOW_SECONDS == health.last_seq  # all written just now
    assert health.last_event_age is not None and health.last_event_age < 5
    assert health.heartbeat_age is not None and health.heartbeat_age < 5
    assert "pid" in health.owner
    assert health.latency_ms is not None and health.latency_ms >= 0  # a paper session


def test_trading_state_follows_the_kill_switch(session):
    view = JournalView(session.journal, session.session_id)
    session.journal.submit_command(session.session_id, "kill", {"reason": "drill", "flatten": False})
    session.process_commands()
    assert view.snapshot().trading_state == ("HALTED", "drill")


def test_no_session_selected_is_a_clear_error(journal):
    view = JournalView(journal)
    with pytest.raises(ValueError, match="no session selected"):
        view.snapshot()
    with pytest.raises(ValueError, match="choose a session"):
        view.submit_command("pause")


def test_event_summary_lists_the_fields_but_not_the_time():
    event = ev.OrderCanceled(ts_event=123, order_id="O-1", symbol="SPY", reason="user")
    assert event_summary(event) == "order_id=O-1 symbol=SPY reason=user"
    assert len(event_summary(event, limit=10)) == 10
