"""The engine's size multiplier (a graduated live session trades a fraction of what its strategy decides).

Hand-worked: a strategy that holds a scripted target position (order_target_quantity, the
sma_crossover's way) and one that buys and sells increments (buy/sell, the RSI strategy's way),
at 10%, stepped to 25% and 50% mid-run by journaled ``SizeMultiplierChanged`` events. The live
position must be the strategy's full-size position x the multiplier rounded toward zero to whole
shares, closing to flat must close everything, a strategy without a ``quantity`` parameter is
scaled too, and a rebuild from the events gives the same multiplier and book.
"""

from __future__ import annotations

from typing import Any

import pytest
from core_state import engine_state, rebuilt_state

from workbench.engine.backtest import build_engine
from workbench.engine.sizing import ChangeSizeMultiplier, SizeMultiplier
from workbench.engine.strategy import Strategy
from workbench.model import events as ev
from workbench.model.data import Bar
from workbench.model.enums import OrderSide

MINUTE = 60_000_000_000
T0 = 1381156200 * 1_000_000_000 + 30 * MINUTE  # 2013-10-07 10:00 New York


def _bar(i: int) -> Bar:
    return Bar("SPY", 100.0, 100.5, 99.5, 100.0, 1e6, T0 + (i - 1) * MINUTE, T0 + i * MINUTE)


class Targets(Strategy):
    """Holds ``script[i]`` shares after bar i (no ``quantity`` parameter)."""

    def __init__(self, script: list[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script, self.seen, self.views = script, 0, []

    def on_bar(self, bar: Bar) -> None:
        self.views.append(self.position_quantity(bar.symbol))
        if self.seen < len(self.script):
            self.order_target_quantity(bar.symbol, self.script[self.seen])
        self.seen += 1


class Increments(Strategy):
    """Buys (> 0) or sells (< 0) ``script[i]`` shares on bar i."""

    def __init__(self, script: list[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script, self.seen = script, 0

    def on_bar(self, bar: Bar) -> None:
        if self.seen < len(self.script) and self.script[self.seen]:
            q = self.script[self.seen]
            (self.buy if q > 0 else self.sell)(bar.symbol, abs(q))
        self.seen += 1


def _run(strategy: Strategy, steps: dict[int, float], bars: int) -> tuple[Any, list[float]]:
    """Run ``bars`` bars; before bar i, change the multiplier to ``steps[i]`` (as the live runner does)."""
    eng = build_engine(strategy, check_buying_power=False)
    eng.start()
    held = []
    for i in range(1, bars + 1):
        if i in steps:
            ChangeSizeMultiplier(steps[i], 1.0, f"step {i}").apply_to(eng)
        eng.on_bar(_bar(i))
        held.append(eng.portfolio.quantity("SPY"))
    eng.stop()
    return eng, held


def test_target_strategy_trades_the_multiplier_of_its_position_and_rebalances_on_a_step() -> None:
    # full-size targets 100, 100, 130, 130, 0, -50; multiplier 10% from bar 1, 25% from bar 3, 50% from bar 6
    strategy = Targets([100, 100, 130, 130, 0, -50, -50])
    eng, held = _run(strategy, {1: 0.10, 3: 0.25, 6: 0.50}, 8)
    # market orders fill on the next bar: position after bar i+1 reflects the order of bar i
    # bar1 10% of 100 = 10; bar2 holds; bar3 25% of 130 = 32.5 -> 32; bar4 holds; bar5 -> 0; bar6 50% of -50 = -25
    assert held[1:8] == [10.0, 10.0, 32.0, 32.0, 0.0, -25.0, -25.0]
    # the strategy saw its full-size position: 100 at 10%; right after the step 10 / 0.25 = 40, so it
    # tops up to its target 130 (32 shares, 32.5 rounded down), which it then sees as 130
    assert strategy.views[1:4] == pytest.approx([100.0, 40.0, 130.0])
    quantities = [e.quantity for e in eng.events if type(e) is ev.OrderInitialized]
    assert quantities == [10.0, 22.0, 32.0, 25.0]
    changes = [(e.old, e.new) for e in eng.events if type(e) is ev.SizeMultiplierChanged]
    assert changes == [(0.0, 0.10), (0.10, 0.25), (0.25, 0.50)]


def test_increment_strategy_closes_to_flat_exactly() -> None:
    # +70, +70, -140 at 25%: 17 (17.5 down), then the 140-share position is 35, then flat: sell all 35
    eng, held = _run(Increments([70, 70, -140]), {1: 0.25}, 4)
    assert held[1:4] == [17.0, 35.0, 0.0]
    assert [(e.side, e.quantity) for e in eng.events if type(e) is ev.OrderInitialized] == [
        (OrderSide.BUY, 17.0), (OrderSide.BUY, 18.0), (OrderSide.SELL, 35.0)]


def test_an_order_that_rounds_to_nothing_is_not_sent() -> None:
    eng, held = _run(Increments([5, 5]), {1: 0.10}, 3)  # 0.5 share, then 1 share
    assert held == [0.0, 0.0, 1.0]
    assert [e.quantity for e in eng.events if type(e) is ev.OrderInitialized] == [1.0]
    assert eng.sizing.skipped == [("SPY", "BUY", T0 + MINUTE)]  # the first bar's order, at its ts_init


def test_rebuild_from_the_journal_gives_the_same_multiplier_and_book() -> None:
    eng, _ = _run(Targets([100, 100, 130]), {1: 0.10, 3: 0.25}, 4)
    fresh = build_engine([], check_buying_power=False)
    from workbench.engine.reconcile import rebuild

    rebuild(fresh, eng.events)
    assert fresh.sizing.multiplier == eng.sizing.multiplier == 0.25
    assert rebuilt_state(eng.events, check_buying_power=False) == engine_state(eng)


def test_multiplier_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="size multiplier"):
        SizeMultiplier(1.5)
    with pytest.raises(ValueError, match="size multiplier"):
        SizeMultiplier(0.0)
    assert SizeMultiplier(0.25).scale(-130) == -32.0 and SizeMultiplier(0.5).scale(250, lot_size=100) == 100.0
