"""Random, malformed and hostile commands sent to a running session through the journal's
``commands`` table (issue 10, "How it is checked").

Hypothesis draws batches mixing valid commands (small market buys of SPY, ``set_limit`` of the
order-size limit, pause/resume) with hostile ones (NaN, inf, huge, negative and non-numeric
values, unknown symbols, unknown names and args, args that are not a mapping, huge texts), written
straight into the table as foreign code could. Properties: the session never dies; every command
is acknowledged exactly once (one CommandAcknowledged with its id; executed, or rejected with a
reason); and the end state equals that of the valid commands alone, computed independently here:
the position is the sum of the valid buys, one manual order per valid buy, the order-size limit is
the last valid value, the pause flag the last valid pause/resume.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_helpers import wait_for
from session_thread import SessionThread, raw_command

from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.persistence.serde import json_value

HOSTILE_NUMBERS = [math.nan, math.inf, -math.inf, -1.0, 0.0, -1e12, "10", None, [], {"x": 1}, True]
"""Never a valid quantity, price or limit (a huge finite quantity is valid: the risk engine denies it)."""

valid_buy = st.builds(lambda q: ("submit_order", {"symbol": "SPY", "side": "BUY", "quantity": float(q)}),
                      st.integers(1, 5))
valid_limit = st.builds(lambda v: ("set_limit", {"name": "max_order_quantity", "value": float(v)}),
                        st.integers(100, 10_000))
valid_pause = st.sampled_from([("pause", {}), ("resume", {})])
valid = st.one_of(valid_buy, valid_limit, valid_pause)

hostile_value = st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.text(max_size=3), st.floats(max_value=0.0))
not_lots = st.floats(0.01, 1e6).filter(lambda x: x != int(x))
hostile = st.one_of(
    st.builds(lambda k, v: ("submit_order", {"symbol": "SPY", "side": "BUY", "quantity": 1.0, k: v}),
              st.sampled_from(["quantity", "limit_price", "stop_price"]), hostile_value)
    .filter(lambda c: c[1].get("limit_price", 0) is not None and c[1].get("stop_price", 0) is not None),
    # (a price of None is the same as no price: a valid market order, not a hostile one)
    st.builds(lambda q: ("submit_order", {"symbol": "SPY", "side": "BUY", "quantity": q}), not_lots),
    st.builds(lambda k, p: ("submit_order", {"symbol": "SPY", "side": "BUY", "quantity": 1.0, k: p}),
              st.sampled_from(["limit_price", "stop_price"]), st.floats(1, 1000)),  # a price on a MARKET order
    st.builds(lambda s: ("submit_order", {"symbol": s, "side": "BUY", "quantity": 1.0}),
              st.one_of(st.sampled_from(["ZZZZ", "", "spy; drop table", "X" * 500]), st.integers())),
    st.builds(lambda s: ("submit_order", {"symbol": "SPY", "side": s, "quantity": 1.0}),
              st.sampled_from(["HOLD", "", 1, None])),
    st.builds(lambda v: ("set_limit", {"name": "max_order_quantity", "value": v}), hostile_value),
    st.builds(lambda n: ("set_limit", {"name": n, "value": 5.0}), st.sampled_from(["nope", "", "a.b.c", 7])),
    st.builds(lambda n: (n, {}), st.text(max_size=12).filter(lambda n: n not in {
        "pause", "resume", "cancel_all", "flatten", "kill", "submit_order", "set_limit", "stop"})),
    st.builds(lambda a: ("pause", a), st.one_of(st.lists(st.integers(), max_size=3), st.text(max_size=5),
                                                st.dictionaries(st.text(max_size=4), st.integers(), min_size=1))),
    st.builds(lambda s: ("flatten", {"symbol": s}), st.sampled_from(["ZZZZ", 5, "Y" * 300])),
)
command = st.one_of(valid.map(lambda c: (True, c)), hostile.map(lambda c: (False, c)))


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'journal.sqlite'}"
    with SessionThread(url, session_id="h") as thread, Journal(url) as journal:
        ids = []
        for attribute in ("per_second", "per_symbol"):  # commands share a data time (the clock is held at a bar's)
            ids.append(journal.submit_command("h", "set_limit", {"name": f"max_order_rate.{attribute}", "value": 1e6}))
        for cid in ids:
            wait_for(lambda c=cid: journal.command(c).status == "acknowledged", timeout=20)
        yield thread, journal, url, {"ids": ids, "valid": []}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(command, min_size=1, max_size=6))
def test_hostile_commands_never_kill_the_session(session, batch) -> None:  # type: ignore[no-untyped-def]
    thread, journal, url, seen = session
    ids = []
    for ok, (name, args) in batch:
        try:
            stored = json_value(args, "args")
        except Exception:
            continue
        ids.append(raw_command(url, "h", name, stored))
        seen["ids"].append(ids[-1])
        if ok:
            seen["valid"].append((name, args))
    for cid in ids:
        record = wait_for(lambda c=cid: (r := journal.command(c)).status not in ("pending", "received") and r,
                          timeout=20, interval=0.01)
        assert record.status in ("acknowledged", "rejected") and record.detail
    assert thread.alive, thread.error


def test_end_state_equals_the_valid_commands_alone(session) -> None:  # type: ignore[no-untyped-def]
    thread, journal, _, seen = session
    assert seen["ids"], "run after the hypothesis test (same module)"
    assert thread.alive
    acks = [e.command_id for e in journal.events("h", types=[ev.CommandAcknowledged])]
    assert sorted(acks) == sorted(seen["ids"])  # every command once, nothing else
    valid = seen["valid"]
    expected_qty = sum(a["quantity"] for n, a in valid if n == "submit_order")
    wait_for(lambda: journal.orders("h", status=["SUBMITTED", "ACCEPTED"]).empty, timeout=30)
    orders = journal.orders("h")
    manual = orders[orders["strategy_id"] == "manual"] if len(orders) else orders
    assert len(manual) == sum(1 for n, _ in valid if n == "submit_order")
    denied = journal.risk_events("h")
    assert set(manual["status"]) <= {"FILLED"}, denied[["rule", "message"]].tail(5).to_string()
    positions = journal.positions("h")
    held = float(positions.set_index("symbol")["quantity"].get("SPY", 0.0)) if len(positions) else 0.0
    assert held == expected_qty
    engine = thread.session.engine
    limits = [a["value"] for n, a in valid if n == "set_limit"]
    rule = next(r for r in engine.risk.rules if r.name == "max_order_quantity")
    assert rule.limit == (limits[-1] if limits else 10_000)
    toggles = [n for n, _ in valid if n in ("pause", "resume")]
    assert engine.paused == (bool(toggles) and toggles[-1] == "pause")
    rejected = journal.commands("h")
    assert (rejected["status"] != "pending").all()
