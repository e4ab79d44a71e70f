"""Issue 10, items 1-4: commands are checked before they are queued and again when the engine
takes them; any failure is the command's journaled rejection, never the session's end; a command
runs at most once; a default session has a risk engine; commands expire and are refused for a
session nobody runs.

The session runs in a background thread (``session_thread``); commands are written as another
process would: through :meth:`Journal.submit_command` (checked) or straight into the ``commands``
table (unchecked, as hostile code could).
"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import pytest
from live_helpers import run_cli, wait_for
from session_thread import SessionThread, raw_command

from workbench.errors import CommandError
from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.persistence.serde import json_value
from workbench.session import paper_session


def _done(journal: Journal, command_id: int, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    return wait_for(lambda: (r := journal.command(command_id)).status not in ("pending", "received") and r,
                    timeout=timeout, interval=0.01)


@pytest.fixture
def running(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    with SessionThread(url, session_id="s") as thread, Journal(url) as journal:
        yield thread, journal, url


@pytest.mark.parametrize(("args", "field"), [
    ({"quantity": math.inf}, "quantity=inf"),
    ({"quantity": math.nan}, "quantity=nan"),
    ({"quantity": -10.0}, "quantity=-10.0"),
    ({"quantity": 0}, "quantity=0"),
    ({"quantity": 2.5}, "whole number of lots"),
    ({"symbol": "NOPE"}, "symbol='NOPE' is not traded by this session"),
    ({"side": "HOLD"}, "side='HOLD'"),
    ({"order_type": "LIMIT"}, "limit_price=None is required"),
    ({"order_type": "LIMIT", "limit_price": 100.001}, "tick size"),
    ({"order_type": "LIMIT", "limit_price": -math.inf}, "limit_price=-inf"),
])
def test_bad_order_is_refused_before_it_is_queued(running, args: dict, field: str) -> None:  # type: ignore[no-untyped-def]
    thread, journal, _ = running
    order = {"symbol": "SPY", "side": "BUY", "quantity": 10.0, **args}
    with pytest.raises(CommandError, match="submit_order") as info:
        journal.submit_command("s", "submit_order", order)
    assert field in str(info.value)
    assert journal.commands("s").empty
    with pytest.raises(CommandError):  # the notebook's path refuses it the same way
        thread.session.submit_order(**order)


def test_poison_command_in_the_table_is_rejected_and_the_session_lives(running) -> None:  # type: ignore[no-untyped-def]
    """The audit's poison: ``quantity=Infinity`` crashed the session and every resume after it."""
    thread, journal, url = running
    poison = raw_command(url, "s", "submit_order", json_value({"symbol": "SPY", "side": "BUY", "quantity": math.inf},
                                                              "args"))
    negative = raw_command(url, "s", "submit_order", {"symbol": "SPY", "side": "BUY", "quantity": -10})
    unknown = raw_command(url, "s", "submit_order", {"symbol": "ZZZZ", "side": "BUY", "quantity": 10})
    for cid, text in ((poison, "quantity=inf"), (negative, "quantity=-10"), (unknown, "symbol='ZZZZ'")):
        record = _done(journal, cid)
        assert record.status == "rejected" and text in record.detail, record
    assert thread.alive
    assert journal.orders("s").empty  # no BUY 10 from the negative quantity, no order left ACCEPTED
    ok = journal.submit_command("s", "pause")
    assert _done(journal, ok).status == "acknowledged"


def test_default_session_has_a_risk_engine(running) -> None:  # type: ignore[no-untyped-def]
    thread, journal, _ = running
    rules = {r.name for r in thread.session.engine.risk.rules}
    assert {"max_order_quantity", "max_order_notional", "price_band", "max_position_percent_equity",
            "max_order_rate", "trading_hours"} <= rules
    monitors = {getattr(m, "name", "") for m in thread.session.engine.risk.monitors}
    assert {"daily_loss_limit", "max_drawdown"} <= monitors
    huge = journal.submit_command("s", "submit_order", {"symbol": "SPY", "side": "BUY", "quantity": 1e12})
    record = _done(journal, huge)
    assert record.status == "rejected" and "denied" in record.detail and "max_order_quantity" in record.detail
    denied = journal.orders("s")
    assert list(denied["status"]) == ["DENIED"]


def test_expired_command_is_journaled_as_expired_never_run(running) -> None:  # type: ignore[no-untyped-def]
    _, journal, url = running
    stale = raw_command(url, "s", "kill", {"reason": "stale", "flatten": True}, ts_expires=time.time_ns() - 1)
    record = _done(journal, stale)
    assert record.status == "rejected" and record.detail.startswith("expired")
    assert not [e for e in journal.events("s", types=[ev.TradingStateChanged]) if e.reason == "stale"]
    fresh = journal.submit_command("s", "pause", expires_after=30)
    assert journal.command(fresh).ts_expires - journal.command(fresh).ts_created == 30 * 10**9
    assert _done(journal, fresh).status == "acknowledged"
    with pytest.raises(CommandError, match="expires_after"):
        journal.submit_command("s", "pause", expires_after=-1)


def test_command_to_a_session_nobody_runs_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"

    async def run() -> None:
        session = paper_session("sma_crossover", data="demo", speed=None, journal=url, session_id="done")
        await session
        session.journal.close()

    asyncio.run(run())
    with Journal(url) as journal:
        with pytest.raises(CommandError, match="session 'done' is not running"):
            journal.submit_command("done", "flatten")
        assert journal.commands("done").empty
        from workbench.widgets.source import JournalView

        view = JournalView(journal, "done")
        with pytest.raises(CommandError, match="not running"):  # the dashboard's path
            view.submit_command("kill", {"reason": "late"})
    done = run_cli("ctl", "done", "flatten", "--journal", url, cwd=tmp_path)
    assert done.returncode == 2 and "not running" in done.stderr and "Traceback" not in done.stderr


def test_interrupted_command_is_never_run_twice(tmp_path: Path) -> None:
    """A command the previous process took (CommandReceived journaled, status ``received``) but never
    acknowledged is journaled as failed when the session starts again, not carried out."""
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"

    async def run() -> tuple[int, int]:
        session = paper_session("sma_crossover", params={"fast": 5000, "slow": 6000}, data="demo", speed=None,
                                journal=url, session_id="s")
        taken = raw_command(url, "s", "flatten", {}, status="received")
        stop = raw_command(url, "s", "stop", {})
        await session
        session.journal.close()
        return taken, stop

    taken, _ = asyncio.run(run())
    with Journal(url) as journal:
        record = journal.command(taken)
        assert record.status == "rejected" and record.detail.startswith("interrupted")
        acks = [e.command_id for e in journal.events("s", types=[ev.CommandAcknowledged])]
        assert acks.count(taken) == 1
        assert not [e for e in journal.events("s", types=[ev.CommandReceived]) if e.command_id == taken
                    and e.name == "flatten" and e.args]
