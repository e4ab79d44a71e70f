"""Parent-order TCA (Perold's implementation shortfall) and the simulated broker's impact model.

* The decomposition adds up exactly to the total shortfall on random executions (hypothesis), and
  matches a hand-worked example in Perold's (1988) terms.
* Temporary impact grows as the square root of the order size (Almgren et al. 2005; Toth et al.
  2011): market orders of Q, 4Q and 16Q on the same bar pay 1x, 2x and 4x the concession.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.analytics.parent_tca import aggregate_parent_tca, compare_children, parent_tca, perold_shortfall
from workbench.brokers.fills import FillModel
from workbench.brokers.impact import ImpactModel
from workbench.engine.backtest import run_backtest
from workbench.engine.strategy import Strategy
from workbench.model import events as ev
from workbench.model.enums import OrderSide
from workbench.risk.engine import RiskEngine
from workbench.session import load_stream


def test_perold_hand_worked() -> None:
    """Decide to buy 1,000 at 50.00; the order reaches the market at 50.10; 600 fill at 50.20 and 200
    at 50.30; 200 are never bought and the price ends at 50.50; fees 10.
    Delay 0.10 x 800 = 80; execution 600 x 0.10 + 200 x 0.20 = 100; opportunity 0.50 x 200 = 100;
    total = 600 x 0.20 + 200 x 0.30 + 100 + 10 = 290 = 80 + 100 + 100 + 10 (58 bps of 50,000)."""
    got = perold_shortfall(1, 1000, 50.0, 50.10, [(600, 50.20), (200, 50.30)], 50.50, fees=10.0)
    assert got["delay_cost"] == pytest.approx(80.0)
    assert got["execution_cost"] == pytest.approx(100.0)
    assert got["opportunity_cost"] == pytest.approx(100.0)
    assert got["implementation_shortfall"] == pytest.approx(290.0)
    assert got["implementation_shortfall_bps"] == pytest.approx(58.0)
    sell = perold_shortfall(-1, 1000, 50.0, 49.90, [(1000, 49.80)], 49.0)
    assert sell["implementation_shortfall"] == pytest.approx(200.0) and sell["opportunity_cost"] == 0.0


@settings(max_examples=200, deadline=None)
@given(side=st.sampled_from([1, -1]), quantity=st.integers(1, 100_000), decision=st.floats(1, 1000),
       moves=st.lists(st.tuples(st.integers(1, 5000), st.floats(-0.05, 0.05)), max_size=20),
       arrival_move=st.floats(-0.02, 0.02), end_move=st.floats(-0.1, 0.1), fees=st.floats(0, 100))
def test_decomposition_adds_up_exactly(side: int, quantity: int, decision: float, moves: list[tuple[int, float]],
                                       arrival_move: float, end_move: float, fees: float) -> None:
    fills, left = [], quantity
    for q, m in moves:
        q = min(q, left)
        if q:
            fills.append((float(q), decision * (1 + m)))
            left -= q
    got = perold_shortfall(side, quantity, decision, decision * (1 + arrival_move), fills, decision * (1 + end_move), fees)
    parts = got["delay_cost"] + got["execution_cost"] + got["opportunity_cost"] + got["fees"]
    assert parts == pytest.approx(got["implementation_shortfall"], rel=1e-9, abs=1e-6)
    paper = side * sum(q * (p - decision) for q, p in fills)  # paper vs reality, computed directly
    assert got["implementation_shortfall"] == pytest.approx(paper + got["opportunity_cost"] + fees, rel=1e-9, abs=1e-6)


class _Once(Strategy):
    def __init__(self, quantity: float, algorithm: str = "", **params: Any) -> None:
        super().__init__()
        self.quantity, self.algorithm, self.exec_params, self.sent = quantity, algorithm, params, False

    def on_bar(self, bar: Any) -> None:
        if not self.sent and pd.Timestamp(bar.ts_init, tz="UTC").tz_convert("America/New_York").hour >= 10:
            self.sent = True
            if self.algorithm:
                self.execute(bar.symbol, self.quantity, self.algorithm, **self.exec_params)
            else:
                self.buy(bar.symbol, self.quantity)


def _first_fill(quantity: float, impact: ImpactModel | None) -> float:
    result = run_backtest(_Once(quantity), load_stream("demo"), keep_events=True, progress=False,
                          fill_model=FillModel(impact=impact), starting_cash=1e9, risk=RiskEngine())
    return next(e.last_price for e in result.events if type(e) is ev.OrderFilled)


def test_temporary_impact_grows_as_the_square_root_of_size() -> None:
    model = ImpactModel(daily_volatility=0.01, daily_volume=50_000_000, temporary_coefficient=1.0)
    base = _first_fill(100, None)  # the same quote, no impact
    costs = [_first_fill(q, model) - base for q in (10_000, 40_000, 160_000)]
    assert costs[0] == pytest.approx(1.0 * 0.01 * math.sqrt(10_000 / 50_000_000) * base, rel=1e-6)
    assert costs[1] / costs[0] == pytest.approx(2.0, rel=1e-6)
    assert costs[2] / costs[0] == pytest.approx(4.0, rel=1e-6)


def test_parent_tca_on_a_backtest() -> None:
    result = run_backtest(_Once(600, "twap", horizon_seconds=3600, interval_seconds=600), load_stream("demo"),
                          keep_events=True, progress=False, starting_cash=1e6)
    bars, _ = __import__("workbench.feeds.samples", fromlist=["load_demo_spy"]).load_demo_spy()
    table = parent_tca(result.events, bars)
    assert len(table) == 1
    row = table.iloc[0]
    fills = [e for e in result.events if type(e) is ev.OrderFilled]
    avg = sum(f.last_quantity * f.last_price for f in fills) / 600
    assert row["filled_quantity"] == 600 and row["avg_price"] == pytest.approx(avg)
    assert row["execution_cost"] == pytest.approx(sum(f.last_quantity * (f.last_price - row["arrival_price"]) for f in fills))
    window = bars[(bars["ts_event"] >= row["start"]) & (bars["ts_event"] < row["end"])]
    typical = (window["high"] + window["low"] + window["close"]) / 3
    assert row["interval_vwap"] == pytest.approx((typical * window["volume"]).sum() / window["volume"].sum())
    assert row["participation"] == pytest.approx(600 / window["volume"].sum())
    grouped = aggregate_parent_tca(table, ["algorithm", "side"])
    assert grouped.loc[("twap", OrderSide.BUY.value), "implementation_shortfall"] == pytest.approx(
        row["implementation_shortfall"])
    same = compare_children(result.events, result.events)
    assert len(same) == 6 and (same["price_difference_bps"] == 0).all()
