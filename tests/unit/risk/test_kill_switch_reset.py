"""Issue 9, item 7: the kill switch holds until a separately named, confirmed and journaled reset.

Expected behaviour and its source: a kill switch latches. In NautilusTrader the risk engine's
``TradingState.HALTED`` is left only by an explicit ``set_trading_state(ACTIVE)`` call, never by
resuming a strategy; in LEAN ``Quit()``/a halt stops the algorithm's order routing. Here ``Resume``
only undoes ``Pause``; ``ResetKillSwitch`` (``confirm=True`` and a reason, journaled with who and
from where) is the one way back to ACTIVE. While halted, a strategy's order calls are not sent and
leave no DENIED row (one ``RiskEvent`` says they are held back), and the order ticket takes only
orders that reduce a position.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from risk_helpers import MINUTE_NS, T0, hold, make_engine, push_bar

from workbench.engine.strategy import Strategy
from workbench.errors import CommandError
from workbench.model import commands as cmd
from workbench.model import events as ev
from workbench.model.data import Bar
from workbench.model.enums import OrderStatus, TradingState


class Buyer(Strategy):
    """Buys 10 SPY on every bar."""

    def on_bar(self, bar: Bar) -> None:
        self.buy(bar.symbol, 10)


def _events(eng: Any, t: type) -> list[Any]:
    return [e for e in eng.events if type(e) is t]


def test_resume_does_not_lift_the_kill_switch_and_a_confirmed_reset_does() -> None:
    eng = make_engine()
    strategy = eng.add_strategy(Buyer())
    eng.start()
    push_bar(eng, "SPY", 100.0, T0)
    push_bar(eng, "SPY", 100.0, T0 + MINUTE_NS)
    assert eng.portfolio.quantity("SPY") == 10
    eng.execute(cmd.KillSwitch(reason="operator"))
    assert eng.risk.state is TradingState.HALTED and eng.risk.kill_switch_engaged
    assert [(e.reason, e.flatten) for e in _events(eng, ev.KillSwitchEngaged)] == [("operator", True)]

    # Resume (the bug: it set trading back to ACTIVE and the strategy traded again)
    detail = eng.execute(cmd.Resume())
    assert "kill switch is still engaged" in detail
    assert eng.risk.state is TradingState.HALTED
    n_orders = len(eng.orders)
    for minute in range(2, 8):
        push_bar(eng, "SPY", 100.0, T0 + minute * MINUTE_NS)
    assert eng.portfolio.quantity("SPY") == 0  # the kill switch flattened and nothing bought since
    # the strategy's 6 order calls: none sent, none journaled as DENIED, one RiskEvent saying why
    assert len(eng.orders) == n_orders and eng.suppressed_orders == 6
    assert not [e for e in _events(eng, ev.OrderDenied)]
    (held_back,) = [e for e in _events(eng, ev.RiskEvent) if e.action == "suppress"]
    assert held_back.message.startswith(f"strategy {strategy.strategy_id}: orders are not sent while trading is HALTED")

    # a reset must be confirmed and give a reason
    with pytest.raises(CommandError, match="not confirmed"):
        eng.execute(cmd.ResetKillSwitch(reason="checked"))
    with pytest.raises(CommandError, match="reason"):
        eng.execute(cmd.ResetKillSwitch(confirm=True))
    assert eng.risk.state is TradingState.HALTED and not _events(eng, ev.KillSwitchReset)

    eng.execute(cmd.ResetKillSwitch(reason="fixed the feed", confirm=True, by="alice", source="cli"))
    (reset,) = _events(eng, ev.KillSwitchReset)
    assert (reset.reason, reset.by, reset.source) == ("fixed the feed", "alice", "cli")
    assert eng.risk.state is TradingState.ACTIVE and not eng.risk.kill_switch_engaged
    push_bar(eng, "SPY", 100.0, T0 + 8 * MINUTE_NS)
    push_bar(eng, "SPY", 100.0, T0 + 9 * MINUTE_NS)
    assert eng.portfolio.quantity("SPY") == 10  # trading again
    with pytest.raises(CommandError, match="not engaged"):
        eng.execute(cmd.ResetKillSwitch(reason="again", confirm=True))


def test_a_killing_breaker_also_needs_the_reset_and_resume_still_undoes_pause() -> None:
    from workbench.risk.portfolio_rules import DailyLossLimit

    eng = make_engine(monitors=[DailyLossLimit(limit=500, action="kill")])
    hold(eng, "SPY", 100, 100.0, T0)
    push_bar(eng, "SPY", 90.0, T0 + 3 * MINUTE_NS)
    push_bar(eng, "SPY", 90.0, T0 + 4 * MINUTE_NS)
    assert eng.risk.kill_switch_engaged and eng.risk.state is TradingState.HALTED
    eng.execute(cmd.Pause())
    eng.execute(cmd.Resume())
    assert not eng.paused and eng.risk.state is TradingState.HALTED
    eng.execute(cmd.ResetKillSwitch(reason="loss understood", confirm=True, by="bob"))
    assert eng.risk.state is TradingState.ACTIVE and not eng.risk.tripped


def test_order_ticket_accepts_only_reducing_orders_while_halted() -> None:
    eng = make_engine()
    hold(eng, "SPY", 100, 100.0, T0)
    eng.kill_switch("test", flatten=False)
    n_orders = len(eng.orders)
    with pytest.raises(CommandError, match="accepts only orders that reduce"):
        eng.execute(cmd.PlaceOrder(symbol="SPY", side="BUY", quantity=10))
    with pytest.raises(CommandError, match="accepts only orders that reduce"):
        eng.execute(cmd.PlaceOrder(symbol="SPY", side="SELL", quantity=150))  # would flip to short
    with pytest.raises(CommandError, match="accepts only orders that reduce"):
        eng.execute(cmd.PlaceOrder(symbol="QQQ", side="SELL", quantity=1))  # opens a position
    assert len(eng.orders) == n_orders, "a refused ticket must not create (or deny) an order"
    eng.execute(cmd.PlaceOrder(symbol="SPY", side="SELL", quantity=40))
    order = list(eng.orders.values())[-1]
    assert order.reduce_only and order.status is OrderStatus.ACCEPTED
    push_bar(eng, "SPY", 100.0, T0 + 5 * MINUTE_NS)
    assert eng.portfolio.quantity("SPY") == 60


def test_rebuild_keeps_the_kill_switch_engaged_until_the_journaled_reset() -> None:
    from workbench.engine.reconcile import rebuild

    eng = make_engine()
    hold(eng, "SPY", 10, 100.0, T0)
    eng.kill_switch("test")
    eng.execute(cmd.Resume())
    fresh = make_engine()
    rebuild(fresh, eng.events)
    assert fresh.risk.kill_switch_engaged and fresh.risk.state is TradingState.HALTED
    eng.reset_kill_switch("ok", by="carol")
    fresh = make_engine()
    rebuild(fresh, eng.events)
    assert not fresh.risk.kill_switch_engaged and fresh.risk.state is TradingState.ACTIVE


def _cli(*args: str) -> int:
    from workbench.cli import main

    return main(list(args))


def test_cli_reset_kill_switch_needs_confirm_and_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.persistence import Journal

    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    running = Journal(url)  # holds the session's lock: commands are only queued for a running session
    sid = running.create_session(mode="paper")
    running.acquire_session(sid, "test engine")
    assert _cli("ctl", sid, "reset_kill_switch", "--journal", url, "--no-wait", "--reason", "x") == 2
    assert "--confirm" in capsys.readouterr().err
    assert _cli("ctl", sid, "reset_kill_switch", "--journal", url, "--no-wait", "--confirm") == 2
    assert "--reason" in capsys.readouterr().err
    assert _cli("ctl", sid, "reset_kill_switch", "--journal", url, "--no-wait", "--confirm", "--reason", "feed ok") == 0
    with Journal(url) as journal:
        (row,) = journal.pending_commands(sid)
    assert row.name == "reset_kill_switch" and row.source == "cli"
    assert row.args["confirm"] is True and row.args["reason"] == "feed ok" and row.args["by"]
    running.close()


async def test_session_api_kill_resume_reset(tmp_path: Path) -> None:
    """The notebook path: kill, resume (still halted), reset (journaled with the source ``api``)."""
    from workbench.feeds.replay import regular_hours
    from workbench.feeds.samples import load_demo_spy
    from workbench.session import paper_session

    bars, quotes = (regular_hours(f).iloc[:200] for f in load_demo_spy())
    session = paper_session(Buyer(), data=(bars, quotes), speed=None, journal=f"sqlite:///{tmp_path / 'j.sqlite'}")
    engine = session.engine
    acks: list[ev.CommandAcknowledged] = []
    engine.bus.subscribe("events", lambda e: acks.append(e) if type(e) is ev.CommandAcknowledged else None)
    session.start()
    while engine.data_count < 20:
        await asyncio.sleep(0.001)
    session.pause()  # holds the data flowing to the strategy while we check the states
    session.kill("notebook test")
    session.resume()
    session.reset_kill_switch("checked", confirm=False)
    while len(acks) < 4:
        await asyncio.sleep(0.001)
    assert [a.ok for a in acks] == [True, True, True, False]
    assert engine.risk.state is TradingState.HALTED
    session.reset_kill_switch("checked", confirm=True, by="dave")
    while len(acks) < 5:
        await asyncio.sleep(0.001)
    session.stop()
    await session
    assert acks[-1].ok, acks[-1].detail
    (reset,) = [e for e in session.journal.events(session.session_id) if type(e) is ev.KillSwitchReset]
    assert (reset.by, reset.source, reset.reason) == ("dave", "api", "checked")

