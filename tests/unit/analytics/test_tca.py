"""Transaction cost analysis on a tiny hand-worked case, and on a real paper session.

The case: SPY quotes at 10:30 (99.90 / 100.10) and 11:30 (100.90 / 101.10) New York time, a bar
closing 100.00 at 10:30. Order 1 buys 10 at market, submitted 10:30 with a signal entry of 99.95,
filled 10:31 at 100.20. Order 2 sells 20 with a limit, submitted 11:30 with no signal, filled 5 at
100.80 at 11:45. Worked by hand:

* fill 1: arrival mid 100.00, spread 0.20 = 20 bps; vs arrival (100.20 - 100) / 100 = +20 bps;
  vs decision (100.20 - 99.95) / 99.95 = +25.0125 bps; arrival cost 0.20 x 10 = 2.00; 60 s to fill;
  vs the backtest's 100.10: 0.10 / 100.10 = +9.99001 bps.
* fill 2 (a sell: sign -1): arrival mid 101.00, spread 0.20 / 101 = 19.80198 bps; vs arrival
  -(100.80 - 101) / 101 = +19.80198 bps; decision = last bar close 100.00 (no signal):
  -(100.80 - 100) / 100 = -80 bps (a gain); arrival cost -(-0.20) x 5 = 1.00; 900 s to fill.
* fill rate: order 1 10/10, order 2 5/20; overall 15/30 = 0.5.
"""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.analytics.tca import aggregate_costs, transaction_costs


def ns(text: str) -> int:
    return int(pd.Timestamp(text, tz="America/New_York").value)


@pytest.fixture
def case():
    quotes = pd.DataFrame({"ts_event": [ns("2013-10-07 10:30"), ns("2013-10-07 11:30")],
                           "ts_init": [ns("2013-10-07 10:30"), ns("2013-10-07 11:30")], "symbol": "SPY",
                           "bid": [99.90, 100.90], "ask": [100.10, 101.10], "bid_size": 100.0, "ask_size": 100.0})
    bars = pd.DataFrame({"ts_event": [ns("2013-10-07 10:29")], "ts_init": [ns("2013-10-07 10:30")], "symbol": "SPY",
                         "open": 100.0, "high": 100.0, "low": 100.0, "close": 100.0, "volume": 1000.0})
    orders = pd.DataFrame({
        "order_id": ["O-1", "O-2"], "symbol": "SPY", "side": ["BUY", "SELL"], "order_type": ["MARKET", "LIMIT"],
        "quantity": [10.0, 20.0], "filled_quantity": [10.0, 5.0], "status": ["FILLED", "PARTIALLY_FILLED"],
        "ts_init": pd.to_datetime([ns("2013-10-07 10:30"), ns("2013-10-07 11:30")], utc=True),
        "ts_submitted": pd.to_datetime([ns("2013-10-07 10:30"), ns("2013-10-07 11:30")], utc=True),
        "ts_first_fill": pd.to_datetime([ns("2013-10-07 10:31"), ns("2013-10-07 11:45")], utc=True),
    })
    fills = pd.DataFrame({
        "ts_event": [ns("2013-10-07 10:31"), ns("2013-10-07 11:45")], "order_id": ["O-1", "O-2"],
        "fill_id": ["F-1", "F-2"], "symbol": "SPY", "side": ["BUY", "SELL"], "quantity": [10.0, 5.0],
        "price": [100.20, 100.80], "commission": [1.0, 1.0],
    })
    signals = pd.DataFrame({"ts_event": [ns("2013-10-07 10:30")], "symbol": ["SPY"], "entry": [99.95]})
    return transaction_costs(fills, orders, quotes, bars=bars, signals=signals, backtest_prices={"F-1": 100.10})


def test_per_fill_numbers(case):
    f = case.fills.set_index("fill_id")
    assert f.loc["F-1", "arrival_mid"] == pytest.approx(100.0)
    assert f.loc["F-1", "spread_bps"] == pytest.approx(20.0)
    assert f.loc["F-1", "slippage_vs_arrival_bps"] == pytest.approx(20.0)
    assert f.loc["F-1", "decision_source"] == "signal"
    assert f.loc["F-1", "slippage_vs_decision_bps"] == pytest.approx(25.012506, rel=1e-6)
    assert f.loc["F-1", "arrival_cost"] == pytest.approx(2.0)
    assert f.loc["F-1", "time_to_fill"] == 60.0
    assert f.loc["F-1", "slippage_vs_backtest_bps"] == pytest.approx(9.990010, rel=1e-6)
    assert f.loc["F-1", "hour"] == 10
    assert f.loc["F-2", "arrival_mid"] == pytest.approx(101.0)
    assert f.loc["F-2", "spread_bps"] == pytest.approx(19.801980, rel=1e-6)
    assert f.loc["F-2", "slippage_vs_arrival_bps"] == pytest.approx(19.801980, rel=1e-6)
    assert f.loc["F-2", "decision_source"] == "bar close"
    assert f.loc["F-2", "slippage_vs_decision_bps"] == pytest.approx(-80.0)
    assert f.loc["F-2", "arrival_cost"] == pytest.approx(1.0)
    assert f.loc["F-2", "time_to_fill"] == 900.0
    assert pd.isna(f.loc["F-2", "slippage_vs_backtest_bps"])


def test_orders_and_aggregates(case):
    o = case.orders.set_index("order_id")
    assert o.loc["O-1", "fill_rate"] == 1.0 and o.loc["O-2", "fill_rate"] == 0.25
    assert case.summary["fill_rate"] == 0.5
    # notional weights: 10 x 100.20 = 1002, 5 x 100.80 = 504
    expected = (20.0 * 1002 + 19.801980 * 504) / (1002 + 504)
    assert case.summary["slippage_vs_arrival_bps"] == pytest.approx(expected, rel=1e-6)
    assert case.summary["arrival_cost"] == pytest.approx(3.0)
    assert case.summary["commission"] == 2.0
    by_side = case.by_side
    assert by_side.loc["SELL", "fill_rate"] == 0.25 and by_side.loc["BUY", "fill_rate"] == 1.0
    assert by_side.loc["SELL", "slippage_vs_decision_bps"] == pytest.approx(-80.0)
    assert list(case.by_hour.index) == [10, 11]
    assert list(case.by_order_type.index) == ["LIMIT", "MARKET"]
    two = case.by(["symbol", "side"])
    assert two.loc[("SPY", "BUY"), "fills"] == 1


def test_unknown_group_key_is_named(case):
    with pytest.raises(ValueError, match="venue"):
        aggregate_costs(case.fills, case.orders, "venue")


def test_session_tca_of_a_slipped_paper_session(tmp_path):
    """A 5 bps slippage model: every market fill is 5 bps worse than the backtest's fill of the same order,
    and (filled at the ask/bid of the arrival quote) half the spread plus 5 bps worse than the arrival mid."""
    from paper_runs import run_paper

    from workbench.analytics.compare import compare_session
    from workbench.brokers.fills import FillModel, SlippageModel

    run = run_paper(tmp_path, "sma_crossover", {"fast": 5, "slow": 20, "record_signals": True}, days=1,
                    fill_model=FillModel(slippage=SlippageModel(bps=5.0)))
    costs = compare_session(run.session_id, run.journal, run.recording).tca()
    f = costs.fills
    assert len(f) > 0 and (f["decision_source"] == "signal").all()
    pd.testing.assert_series_equal(f["slippage_vs_backtest_bps"], pd.Series(5.0, index=f.index), check_names=False,
                                   rtol=1e-6)
    touch = f["arrival_ask"].where(f["side"] == "BUY", f["arrival_bid"])
    sign = f["side"].map({"BUY": 1.0, "SELL": -1.0})
    expected = sign * (touch * (1 + sign * 5e-4) - f["arrival_mid"]) / f["arrival_mid"] * 1e4
    pd.testing.assert_series_equal(f["slippage_vs_arrival_bps"], expected, check_names=False, rtol=1e-6)
    assert costs.summary["fill_rate"] == 1.0
