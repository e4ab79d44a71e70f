"""Controls and order ticket: what they write to the journal and how they show the engine's answer."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from workbench.widgets import Controls, OrderTicket, ticket_args


def _commands(session):
    return session.journal.commands(session.session_id)


def test_pause_writes_a_command_and_shows_the_acknowledgement(session):
    controls = Controls(session.journal, session.session_id)
    controls.buttons["pause"].click()
    rows = _commands(session)
    assert rows[["name", "status", "source"]].values.tolist() == [["pause", "pending", "dashboard"]]
    assert "waiting for the engine" in controls.status.value
    assert "wb-command-pending" in controls.table.value
    session.process_commands()
    assert session.engine.paused is True
    controls.refresh()
    assert "acknowledged" in controls.status.value and "paused" in controls.status.value
    assert "wb-command-acknowledged" in controls.table.value


@pytest.mark.parametrize("name", ["resume", "cancel_all", "flatten"])
def test_other_buttons_write_their_command(session, name):
    controls = Controls(session.journal, session.session_id)
    controls.buttons[name].click()
    assert _commands(session)["name"].tolist() == [name]


def test_kill_switch_needs_confirmation(session):
    controls = Controls(session.journal, session.session_id)
    controls.kill_button.click()
    assert _commands(session).empty
    assert controls.kill_box.layout.display == "flex"
    controls.kill_cancel.click()
    assert _commands(session).empty and controls.kill_box.layout.display == "none"
    controls.kill_button.click()
    controls.kill_reason.value = "drill"
    controls.kill_confirm.click()
    rows = _commands(session)
    assert rows["name"].tolist() == ["kill"]
    assert rows["args"].iloc[0] == {"reason": "drill", "flatten": True}
    assert controls.kill_box.layout.display == "none"
    session.process_commands()
    session.quote("SPY", 171.0, 171.01)  # the flattening order fills
    assert session.journal.positions(session.session_id, open_only=True).empty


def test_a_rejected_command_is_shown_as_rejected(session):
    controls = Controls(session.journal, session.session_id)
    command_id = controls.send("pause")
    session.journal.reject_command(command_id, "engine is stopping")
    controls.refresh()
    assert "wb-bad wb-ack'>rejected</span> engine is stopping" in controls.status.value


def test_ticket_args_validation_names_the_field():
    with pytest.raises(ValueError, match="symbol"):
        ticket_args(" ", "BUY", 1, "MARKET", None, None, "DAY")
    with pytest.raises(ValueError, match="quantity"):
        ticket_args("SPY", "BUY", 0, "MARKET", None, None, "DAY")
    with pytest.raises(ValueError, match="quantity"):
        ticket_args("SPY", "BUY", math.nan, "MARKET", None, None, "DAY")
    with pytest.raises(ValueError, match="limit_price"):
        ticket_args("SPY", "BUY", 1, "LIMIT", 0.0, None, "DAY")
    with pytest.raises(ValueError, match="stop_price"):
        ticket_args("SPY", "SELL", 1, "STOP_LIMIT", 100.0, None, "DAY")
    with pytest.raises(ValueError, match="HOLD"):
        ticket_args("SPY", "HOLD", 1, "MARKET", None, None, "DAY")
    args = ticket_args("spy", "buy", 5, "limit", 101.5, 99.0, "gtc")
    assert args == {"symbol": "SPY", "side": "BUY", "quantity": 5.0, "order_type": "LIMIT", "limit_price": 101.5,
                    "stop_price": None, "time_in_force": "GTC"}


def test_ticket_order_goes_through_the_engine_and_risk(session):
    ticket = OrderTicket(session.journal, session.session_id)
    ticket.quantity.value = 25
    ticket.submit.click()
    row = _commands(session).iloc[-1]
    assert row["name"] == "submit_order" and row["args"]["quantity"] == 25.0
    session.process_commands()
    session.quote("SPY", 172.0, 172.02)
    assert session.journal.positions(session.session_id).set_index("symbol").loc["SPY", "quantity"] == 85
    ticket.refresh()
    assert "acknowledged" in ticket.status.value
    # halted: the risk engine denies the next order and the ticket shows the reason
    session.journal.submit_command(session.session_id, "kill", {"reason": "halt", "flatten": False})
    session.process_commands()
    ticket.submit.click()
    session.process_commands()
    ticket.refresh()
    assert "rejected" in ticket.status.value and "HALTED" in ticket.status.value


def test_ticket_shows_bad_input_without_writing(session):
    ticket = OrderTicket(session.journal, session.session_id)
    ticket.order_type.value = "LIMIT"
    assert ticket.limit_price.disabled is False and ticket.stop_price.disabled is True
    ticket.submit.click()
    assert "limit_price" in ticket.status.value
    assert _commands(session).empty


def test_ticket_on_a_bare_engine_submits_directly(session):
    ticket = OrderTicket(session.journal, session.session_id, live=SimpleNamespace(engine=session.engine))
    order_id = ticket.send()
    order = session.engine.orders[order_id]
    assert order.quantity == 100 and str(order.status) in {"SUBMITTED", "ACCEPTED"}
    assert _commands(session).empty
    assert order_id in ticket.status.value


def test_a_command_to_a_stopped_session_is_refused_on_the_page(session):
    """Issue 10, item 4: the dashboard refuses at once a command nobody would carry out (it would
    otherwise run when the session is next started); nothing is queued."""
    session.stop()
    controls = Controls(session.journal, session.session_id)
    controls.buttons["flatten"].click()
    assert "is not running" in controls.status.value and "wb-bad" in controls.status.value
    assert _commands(session).empty
