"""Issue 9, item 10: an exception in a strategy's handler is contained, journaled and acted on by policy.

Expected behaviour and its source: NautilusTrader stops a component whose handler raised
(``ComponentState.FAULTED``) and logs the error while the trading node keeps running; LEAN stops an
algorithm on a runtime error with the error and stack trace in its log. Here a paper/live session
journals ``StrategyFailed`` (handler, error, traceback), commits everything that happened before
the exception (including the order just placed), halts that strategy (default policy), stays
controllable and ends cleanly; a restart rebuilds the halted strategy instead of replaying into
the same crash.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from core_state import engine_state, rebuilt_state

from workbench.engine.backtest import build_engine
from workbench.engine.reconcile import warm_up
from workbench.engine.strategy import Strategy
from workbench.model import events as ev
from workbench.model.data import Bar
from workbench.model.enums import OrderSide, OrderStatus, TradingState

MINUTE = 60_000_000_000
T0 = 1381156200 * 1_000_000_000 + 30 * MINUTE  # 2013-10-07 10:00 New York


def _bars(n: int, symbol: str = "SPY") -> list[Bar]:
    return [Bar(symbol, 100.0, 100.5, 99.5, 100.0, 1e6, T0 + (i - 1) * MINUTE, T0 + i * MINUTE) for i in range(1, n + 1)]


class Buggy(Strategy):
    """Buys 1 share on every bar; from bar ``fail_at`` on, raises in ``where`` (right after the order)."""

    def __init__(self, fail_at: int = 5, where: str = "on_bar", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_at, self.where, self.seen = fail_at, where, 0

    def on_bar(self, bar: Bar) -> None:
        self.seen += 1
        self.buy(bar.symbol, 1)
        if self.where == "on_bar" and self.seen == self.fail_at:
            raise ZeroDivisionError("bad signal")

    def on_fill(self, fill: ev.OrderFilled) -> None:
        if self.where == "on_fill" and self.seen >= self.fail_at:
            raise KeyError("missing state")


class Steady(Strategy):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen = 0

    def on_bar(self, bar: Bar) -> None:
        self.seen += 1


@pytest.mark.parametrize("where", ["on_bar", "on_fill"])
def test_halt_policy_stops_only_the_failing_strategy(where: str) -> None:
    buggy, steady = Buggy(fail_at=5, where=where, strategy_id="buggy"), Steady(strategy_id="steady")
    eng = build_engine([buggy, steady], check_buying_power=False)
    eng.strategy_error_policy = "halt"
    eng.start()
    for bar in _bars(12):
        eng.on_bar(bar)
    eng.stop()
    (failed,) = [e for e in eng.events if type(e) is ev.StrategyFailed]
    assert (failed.strategy_id, failed.handler, failed.action) == ("buggy", where, "halt")
    assert failed.error.startswith("ZeroDivisionError" if where == "on_bar" else "KeyError")
    assert failed.traceback.startswith("Traceback") and f"in {where}" in failed.traceback
    assert steady.seen == 12 and eng.halted_strategies == {"buggy"}
    if where == "on_bar":
        assert buggy.seen == 5
        # the order placed just before the exception was sent and filled (nothing of the step was lost)
        assert eng.portfolio.quantity("SPY") == 5
    assert not eng._busy
    assert rebuilt_state(eng.events, check_buying_power=False) == engine_state(eng)


@pytest.mark.parametrize(("policy", "paused", "seen"), [("pause", True, 5), ("keep", False, 12)])
def test_pause_and_keep_policies(policy: str, paused: bool, seen: int) -> None:
    buggy = Buggy(fail_at=5)
    eng = build_engine([buggy], check_buying_power=False)
    eng.strategy_error_policy = policy
    eng.start()
    for bar in _bars(12):
        eng.on_bar(bar)
    assert eng.paused is paused and buggy.seen == seen
    assert [e.action for e in eng.events if type(e) is ev.StrategyFailed] == [policy]
    assert eng.risk.state is TradingState.ACTIVE


def test_raise_policy_propagates_and_restores_the_busy_flag() -> None:
    eng = build_engine([Buggy(fail_at=3)], check_buying_power=False)
    assert eng.strategy_error_policy == "raise"  # a backtest shows the bug
    eng.start()
    with pytest.raises(ZeroDivisionError):
        for bar in _bars(5):
            eng.on_bar(bar)
    assert not eng._busy


def test_rebuild_restores_the_halt_and_warm_up_does_not_crash_again() -> None:
    eng = build_engine([Buggy(fail_at=3, strategy_id="b")], check_buying_power=False)
    eng.strategy_error_policy = "halt"
    eng.start()
    bars = _bars(6)
    for bar in bars:
        eng.on_bar(bar)
    restarted = Buggy(fail_at=3, strategy_id="b")
    fresh = build_engine([restarted], check_buying_power=False)
    fresh.strategy_error_policy = "halt"
    from workbench.engine.reconcile import rebuild

    rebuild(fresh, eng.events)
    assert fresh.halted_strategies == {"b"}
    warm_up(fresh, bars)
    assert restarted.seen == 0 and not [e for e in fresh.events if type(e) is ev.StrategyFailed]


async def test_a_failing_strategy_does_not_kill_the_live_session(tmp_path: Path) -> None:
    from workbench.feeds.replay import regular_hours
    from workbench.feeds.samples import load_demo_spy
    from workbench.session import paper_session

    bars, quotes = (regular_hours(f).iloc[:120] for f in load_demo_spy())
    strategy = Buggy(fail_at=20, strategy_id="buggy")
    # paced: the 2 hours of data take ~1 s, so the flatten below arrives while the session runs
    session = paper_session(strategy, data=(bars, quotes), speed=7200.0, journal=f"sqlite:///{tmp_path / 'j.sqlite'}")
    seen: list[ev.Event] = []
    session.engine.bus.subscribe("events", lambda e: seen.append(e) if type(e) is ev.StrategyFailed else None)
    session.start()
    while not seen and not session.runner.done:
        await asyncio.sleep(0.001)
    session.flatten()  # still controllable after the failure
    await session
    assert session.runner.state == "stopped" and session.runner.position == 240
    events = list(session.journal.events(session.session_id))
    (failed,) = [e for e in events if type(e) is ev.StrategyFailed]
    assert failed.strategy_id == "buggy" and "ZeroDivisionError: bad signal" in failed.traceback
    # the order placed in the failing step is journaled before the failure, and it filled
    orders = [e for e in events if type(e) is ev.OrderInitialized and e.strategy_id == "buggy"]
    assert len(orders) == 20 and events.index(orders[-1]) < events.index(failed)
    assert session.engine.orders[orders[-1].order_id].status is OrderStatus.FILLED
    acks = [e for e in events if type(e) is ev.CommandAcknowledged]
    assert [(a.name, a.ok) for a in acks] == [("flatten", True)]
    assert session.engine.portfolio.quantity("SPY") == 0
    assert [e for e in events if type(e) is ev.SessionStopped]
    assert session.engine.orders[orders[0].order_id].side is OrderSide.BUY
