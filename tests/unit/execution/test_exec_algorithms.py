"""Execution algorithms working parent orders in the engine on the shipped SPY data: TWAP slices at
their times, POV's realized participation on real trade ticks, cancel / modify / kill switch of a
parent as a whole, every child through the risk engine, and the parent's events."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from workbench.engine.backtest import build_engine, run_backtest
from workbench.engine.strategy import Strategy
from workbench.execution import ParentStatus, twap_schedule
from workbench.feeds.samples import load_spy_trade_ticks
from workbench.feeds.stream import MarketDataStream
from workbench.model import events as ev
from workbench.risk.engine import RiskEngine
from workbench.risk.rules import MaxOrderQuantity
from workbench.session import load_stream

NY = "America/New_York"
MIN = 60_000_000_000


class Parent(Strategy):
    """Starts one algorithm at the first bar at or after ``at`` (New York time, 2013-10-08)."""

    def __init__(self, quantity: float, algorithm: str, at: str = "10:00", **params: Any) -> None:
        super().__init__()
        self.quantity, self.algorithm, self.exec_params = quantity, algorithm, params
        self.at = pd.Timestamp(f"2013-10-08 {at}", tz=NY).value
        self.algo: Any = None
        self.hooks: list[tuple[int, Any]] = []

    def _tick(self, ts: int, symbol: str) -> None:
        if self.algo is None and ts >= self.at:
            self.algo = self.execute(symbol, self.quantity, self.algorithm, **self.exec_params)
        for when, hook in list(self.hooks):
            if self.algo is not None and ts >= when:
                self.hooks.remove((when, hook))
                hook(self)

    def on_bar(self, bar: Any) -> None:
        self._tick(bar.ts_init, bar.symbol)

    def on_trade(self, trade: Any) -> None:
        self._tick(trade.ts_init, trade.symbol)


def _parent_events(events: list[ev.Event]) -> list[ev.Event]:
    return [e for e in events if isinstance(e, ev.ParentOrderEvent)]


def test_twap_sends_its_slices_on_time_and_completes() -> None:
    s = Parent(600, "twap", horizon_seconds=3600, interval_seconds=600)
    result = run_backtest(s, load_stream("demo"), keep_events=True, progress=False, starting_cash=1e6)
    sent = [e for e in result.events if type(e) is ev.ParentOrderChildSent]
    start = next(e for e in result.events if type(e) is ev.ParentOrderStarted)
    expected = twap_schedule(600, start.start_ns, start.end_ns, 600 * 1_000_000_000)
    assert [(e.ts_event, e.quantity) for e in sent] == expected
    fills = [e for e in result.events if type(e) is ev.OrderFilled]
    assert sum(f.last_quantity for f in fills) == 600 and s.algo.status is ParentStatus.COMPLETED
    for child, fill in zip(sent, fills, strict=True):  # a child meets the first bar that starts after it
        assert fill.order_id == child.order_id and child.ts_event <= fill.ts_event < child.ts_event + 2 * MIN
    done = _parent_events(result.events)[-1]
    assert type(done) is ev.ParentOrderCompleted and done.reason == "filled"
    assert done.avg_price == pytest.approx(sum(f.last_quantity * f.last_price for f in fills) / 600)
    assert {o.tag for o in result.engine.orders.values()} == {f"algo:{s.algo.parent_id}"}


def test_pov_participation_on_real_trade_ticks() -> None:
    """Target 10% of the SPY prints between 10:00 and 10:10, children of at least 500 shares: realized
    participation within 1 point of the target."""
    ticks, _ = load_spy_trade_ticks(nrows=400_000)
    lo, hi = pd.Timestamp("2013-10-07 09:55", tz=NY).value, pd.Timestamp("2013-10-07 10:12", tz=NY).value
    ticks = ticks[(ticks["ts_init"] >= lo) & (ticks["ts_init"] < hi)].reset_index(drop=True)
    s = Parent(1_000_000, "pov", at="10:00", horizon_seconds=600, rate=0.10, min_child=500)
    s.at = pd.Timestamp("2013-10-07 10:00", tz=NY).value
    result = run_backtest(s, MarketDataStream(ticks), keep_events=True, progress=False, starting_cash=1e9,
                          risk=RiskEngine())
    algo = s.algo
    window = ticks[(ticks["ts_event"] >= algo.start_ns) & (ticks["ts_event"] < algo.end_ns)]
    realized = algo.filled_quantity / window["size"].sum()
    assert realized == pytest.approx(0.10, abs=0.01)
    assert algo.status is ParentStatus.COMPLETED and algo.filled_quantity < 1_000_000
    assert _parent_events(result.events)[-1].reason == "horizon ended"  # type: ignore[attr-defined]


def _run(strategy: Strategy, risk: RiskEngine | None = None) -> Any:
    engine = build_engine(strategy, keep_events=True, starting_cash=1e6, **({"risk": risk} if risk is not None else {}))
    engine.start()
    for item in load_stream("demo"):
        engine.process(item)
    engine.stop()
    return engine


def test_cancel_modify_and_kill_switch_act_on_the_parent_as_a_whole() -> None:
    at = pd.Timestamp("2013-10-08 10:00", tz=NY).value
    cancel = Parent(600, "twap", horizon_seconds=3600, interval_seconds=600, style="passive")
    cancel.hooks.append((at + 25 * MIN, lambda s: s.algo.cancel("enough")))
    engine = _run(cancel)
    events = _parent_events(engine.events)
    canceled = [e for e in events if type(e) is ev.ParentOrderCanceled]
    assert len(canceled) == 1 and canceled[0].reason == "enough"
    assert not [e for e in events if type(e) is ev.ParentOrderChildSent and e.ts_event > canceled[0].ts_event]
    assert not engine.open_orders()  # the working child was canceled with the parent

    grow = Parent(300, "twap", horizon_seconds=3600, interval_seconds=600)
    grow.hooks.append((at + 25 * MIN, lambda s: s.algo.modify(quantity=900)))
    engine = _run(grow)
    assert grow.algo.filled_quantity == 900 and grow.algo.status is ParentStatus.COMPLETED
    assert any(type(e) is ev.ParentOrderModified and e.quantity == 900 for e in engine.events)

    kill = Parent(600, "twap", horizon_seconds=3600, interval_seconds=600)
    kill.hooks.append((at + 25 * MIN, lambda s: s._engine.kill_switch("test", flatten=False)))
    engine = _run(kill)
    stopped = [e for e in engine.events if type(e) is ev.ParentOrderCanceled]
    assert len(stopped) == 1 and stopped[0].reason.startswith("trading halted")
    assert not [e for e in engine.events if type(e) is ev.ParentOrderChildSent and e.ts_event > stopped[0].ts_event]


def test_every_child_passes_the_risk_engine() -> None:
    s = Parent(600, "twap", horizon_seconds=3600, interval_seconds=1200)  # 3 children of 200
    engine = _run(s, risk=RiskEngine([MaxOrderQuantity(150)]))
    denied = [e for e in engine.events if type(e) is ev.OrderDenied]
    assert denied and all("max_order_quantity" in e.reason for e in denied)
    assert s.algo.filled_quantity == 0


def test_the_same_strategy_without_impact_is_unchanged() -> None:
    """The impact model defaults to off: a FillModel without it and one with a zero-coefficient model
    give the same fills as today's default broker."""
    from workbench.brokers.fills import FillModel
    from workbench.brokers.impact import ImpactModel

    def fills(**options: Any) -> list[tuple[float, float]]:
        result = run_backtest(Parent(600, "twap", horizon_seconds=3600, interval_seconds=600), load_stream("demo"),
                              keep_events=True, progress=False, starting_cash=1e6, **options)
        return [(e.last_quantity, e.last_price) for e in result.events if type(e) is ev.OrderFilled]

    base = fills()
    assert fills(fill_model=FillModel()) == base
    assert fills(fill_model=FillModel(impact=ImpactModel(daily_volume=1e8, temporary_coefficient=0.0))) == base
