"""Display components and the numbers they show, against hand-worked values."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest

from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderType
from workbench.widgets import Blotter, JournalView, Overview, PositionsTable, RiskStatus, limits_used, overview_numbers
from workbench.widgets.html import HtmlPane, table_html
from workbench.widgets.testing import ScriptedSession


def _column(html: str, name: str) -> list[str]:
    """Cell texts of column ``name`` in a rendered table (see workbench.widgets.html.table_html)."""
    return re.findall(rf"<td data-column='{name}'(?: class='num')?>([^<]*)</td>", html)


def _ns(text: str, tz: str = "America/New_York") -> int:
    return pd.Timestamp(text, tz=tz).value


def test_day_pnl_uses_the_new_york_day(journal):
    sid = journal.create_session("days", mode="paper")

    def account(ts: int, pnl: float) -> ev.AccountState:
        return ev.AccountState(ts_event=ts, cash=100_000.0, equity=100_000.0 + pnl, realized_pnl=pnl)

    journal.append_many(sid, [
        account(_ns("2013-10-07 15:00"), 100.0),
        account(_ns("2013-10-07 23:30"), 150.0),  # 2013-10-08 03:30 UTC, still Monday in New York
        account(_ns("2013-10-08 10:00"), 120.0),
    ])
    numbers = overview_numbers(JournalView(journal, sid).snapshot())
    assert numbers.day == "2013-10-08"
    assert numbers.pnl == pytest.approx(120.0)
    assert numbers.day_pnl == pytest.approx(120.0 - 150.0)  # a UTC day would give 120 - 100
    assert numbers.equity == pytest.approx(100_120.0)


def test_overview_without_account_snapshots_shows_dashes(journal):
    sid = journal.create_session("empty", mode="paper")
    widget = Overview(journal, sid)
    widget.refresh()
    assert "wb-stat-equity'>-<" in widget.cards.value
    assert "wb-stat-open-positions'>0<" in widget.cards.value


def test_positions_table_shows_journal_values(session):
    table = PositionsTable(session.journal, session.session_id)
    table.refresh()
    html = table.table.value
    assert "<td data-column='symbol'>SPY</td>" in html
    assert "<td data-column='quantity' class='num'>60</td>" in html
    assert "<td data-column='avg_price' class='num'>170.00</td>" in html
    assert "<td data-column='cost_basis' class='num'>10,200.00</td>" in html  # 60 x 170
    assert "<td data-column='realized_pnl' class='num'>80.00</td>" in html
    assert "<td data-column='side'>LONG</td>" in html


def test_positions_table_prefers_the_live_engine_marks(session):
    session.quote("SPY", 175.0, 175.02)
    live = type("Live", (), {"engine": session.engine})()
    table = PositionsTable(session.journal, session.session_id, live=live)
    table.refresh()
    # unrealized = 60 x (mid 175.01 - 170)
    assert f"<td data-column='unrealized_pnl' class='num'>{60 * 5.01:,.2f}</td>" in table.table.value


def test_blotter_lists_open_orders_first_then_newest(session):
    order = session.engine.create_order("SPY", OrderSide.BUY, 10, OrderType.LIMIT, limit_price=150.0)
    session.engine.submit_order(order)
    session.quote("SPY", 171.0, 171.02)  # accepted, far from the market: stays open
    blotter = Blotter(session.journal, session.session_id)
    blotter.refresh()
    assert _column(blotter.orders.value, "order_id") == [order.order_id, "O-000002", "O-000001"]
    assert _column(blotter.orders.value, "status")[0] == "ACCEPTED"
    assert _column(blotter.fills.value, "fill_id") == ["F-2", "F-1"]
    assert _column(blotter.fills.value, "price") == ["172.00", "170.00"]


def test_limits_used_from_risk_events(session):
    now = time.time_ns()
    session.record(ev.RiskEvent(ts_event=now, rule="max_gross", message="gross 50k of 100k", action="warn",
                                value=50_000.0, limit=100_000.0))
    session.record(ev.RiskEvent(ts_event=now + 1, rule="max_gross", message="gross 75k of 100k", action="warn",
                                value=-75_000.0, limit=100_000.0))
    session.record(ev.RiskEvent(ts_event=now + 2, rule="max_order", message="max_order changed", action="set_limit",
                                value=500.0, limit=1000.0))
    frame = limits_used(JournalView(session.journal, session.session_id).snapshot())
    assert frame["rule"].tolist() == ["max_gross"]
    assert frame["used_percent"].iloc[0] == pytest.approx(75.0)


def test_risk_status_shows_halted_with_reason(session):
    risk = RiskStatus(session.journal, session.session_id)
    risk.refresh()
    assert "ACTIVE" in risk.state.value
    session.journal.submit_command(session.session_id, "kill", {"reason": "too fast", "flatten": True})
    session.process_commands()
    risk.refresh()
    assert "<span class='wb-bad'>HALTED</span> (too fast)" in risk.state.value
    assert "trading_state" in risk.events.value


def test_html_pane_sends_only_changes_and_tables_escape_text():
    pane = HtmlPane()
    assert pane.show("<b>x</b>") is True
    assert pane.show("<b>x</b>") is False
    html = table_html(pd.DataFrame({"symbol": ["<script>"]}), "t", ["symbol"])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert table_html(pd.DataFrame({"symbol": []}), "t", ["symbol"], empty="nothing") == (
        "<div class='wb-empty wb-t'>nothing</div>")


def test_components_update_in_place(journal):
    session = ScriptedSession(journal, "in-place")
    table = PositionsTable(journal, session.session_id)
    table.refresh()
    children = table.children
    session.trade("SPY", "BUY", 5, 100.0)
    table.refresh()
    assert table.children == children and table.children[1] is children[1]
    assert "<td data-column='quantity' class='num'>5</td>" in table.table.value
