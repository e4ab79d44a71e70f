"""Research figures and the parameter grid, on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.engine.backtest import run_backtest
from workbench.model import events as ev
from workbench.strategies import SmaCrossover
from workbench.widgets.research import (
    equity_drawdown_figure,
    heatmap_figure,
    parameter_grid,
    price_figure,
    signals_frame,
)

MINUTE = 60_000_000_000
START = pd.Timestamp("2013-10-07 09:30", tz="America/New_York").value


def _bars(closes: list[float], symbol: str = "SPY") -> pd.DataFrame:
    ts = START + MINUTE * np.arange(len(closes))
    c = np.asarray(closes, dtype=float)
    return pd.DataFrame({"ts_event": ts, "ts_init": ts + MINUTE, "symbol": symbol, "open": c, "high": c + 0.1,
                         "low": c - 0.1, "close": c, "volume": 1000.0})


def test_signals_frame_keeps_only_signals():
    events = [ev.SignalGenerated(ts_event=START, symbol="SPY", direction=1, entry=10.5, reason="up"),
              ev.OrderCanceled(ts_event=START, order_id="O-1", symbol="SPY")]
    frame = signals_frame(events)
    assert frame[["symbol", "direction", "entry", "reason"]].values.tolist() == [["SPY", 1, 10.5, "up"]]
    assert frame["ts_event"].iloc[0] == pd.Timestamp(START, unit="ns", tz="UTC")


def test_price_figure_marks_fills_by_side_in_new_york_time():
    bars = _bars([10, 11, 12])
    fills = pd.DataFrame({"ts_event": pd.to_datetime([START + MINUTE, START + 2 * MINUTE], unit="ns", utc=True),
                          "symbol": "SPY", "side": ["BUY", "SELL"], "price": [11.0, 12.0], "quantity": [5.0, 5.0]})
    figure = price_figure(bars, fills)
    traces = {t.name: t for t in figure.data}
    assert list(traces["buy fill"].y) == [11.0] and list(traces["sell fill"].y) == [12.0]
    assert str(pd.Timestamp(traces["buy fill"].x[0])) == "2013-10-07 09:31:00"  # wall clock, not UTC (13:31)
    assert figure.data[0].type == "candlestick"


def test_price_figure_needs_a_symbol_when_there_are_several():
    bars = pd.concat([_bars([1, 2]), _bars([3, 4], "IBM")])
    with pytest.raises(ValueError, match="symbol"):
        price_figure(bars)
    with pytest.raises(ValueError, match="MSFT"):
        price_figure(bars, symbol="MSFT")
    assert list(price_figure(bars, symbol="IBM").data[0].close) == [3.0, 4.0]


def test_drawdown_from_the_running_peak():
    index = pd.date_range("2013-10-07 14:00", periods=4, freq="min", tz="UTC")
    figure = equity_drawdown_figure(pd.Series([100.0, 110.0, 99.0, 121.0], index=index))
    assert np.allclose(figure.data[1].y, [0.0, 0.0, 99 / 110 - 1, 0.0])


def test_parameter_grid_runs_every_combination_and_skips_invalid_ones():
    closes = [10, 10, 10, 11, 12, 13, 12, 11, 10, 9, 10, 11, 12, 13, 14]
    data = _bars(closes)
    table = parameter_grid(SmaCrossover, data, {"fast": [2, 3], "slow": [3, 5]}, metrics=("final_equity",))
    assert table[["fast", "slow"]].values.tolist() == [[2, 3], [2, 5], [3, 3], [3, 5]]
    invalid = table[(table["fast"] == 3) & (table["slow"] == 3)].iloc[0]
    assert np.isnan(invalid["final_equity"]) and "fast (3) must be smaller than slow (3)" in invalid["error"]
    direct = run_backtest(SmaCrossover(fast=2, slow=5), data)
    assert table.iloc[1]["final_equity"] == pytest.approx(direct.final_equity)
    with pytest.raises(Exception, match="smaller"):
        parameter_grid(SmaCrossover, data, {"fast": [3], "slow": [3]}, skip_invalid=False)


def test_heatmap_orientation():
    table = pd.DataFrame({"fast": [1, 1, 2, 2], "slow": [10, 20, 10, 20], "value": [0.1, 0.2, 0.3, 0.4]})
    heat = heatmap_figure(table, "fast", "slow", "value").data[0]
    assert list(heat.x) == ["1", "2"] and list(heat.y) == ["10", "20"]
    assert heat.z[1][0] == 0.2  # row slow=20, column fast=1


def test_heatmap_is_centred_on_zero_with_a_percent_colour_bar_and_a_short_sample_caveat():
    table = pd.DataFrame({"fast": [1, 1, 2, 2], "slow": [10, 20, 10, 20], "sharpe_ratio": [-1.0, 0.5, 2.0, 3.0],
                          "total_return": [-0.01, 0.0, 0.02, 0.03], "days": [5, 5, 5, 5]})
    heat = heatmap_figure(table, "fast", "slow", "total_return", value_format=".2%")
    assert heat.data[0].zmid == 0.0 and heat.data[0].colorbar.tickformat == ".2%"
    assert "caveat" not in heat.layout.title.text  # a total return is not annualised
    sharpe = heatmap_figure(table, "fast", "slow", "sharpe_ratio")
    assert "annualised from 5 trading days" in sharpe.layout.title.text
    positive = heatmap_figure(table.assign(total_return=[0.1, 0.2, 0.3, 0.4]), "fast", "slow", "total_return")
    assert positive.data[0].zmid is None  # one sign only: the scale spans the values


def test_moving_average_overlay_matches_pandas_and_the_night_is_cut_out():
    bars = _bars([100.0 + i for i in range(20)])
    night = bars.assign(ts_event=bars["ts_event"] + 18 * 3600 * 10**9)  # the next morning
    both = pd.concat([bars, night], ignore_index=True)
    figure = price_figure(both, symbol="SPY", moving_averages=(5,))
    sma = next(t for t in figure.data if t.name == "SMA 5")
    expected = both["close"].rolling(5).mean().to_numpy()
    assert np.allclose(np.asarray(sma.y, dtype=float)[4:], expected[4:])
    assert len(figure.layout.xaxis.rangebreaks) == 1


def test_benchmark_line_is_buy_and_hold_from_the_starting_equity():
    index = pd.date_range("2013-10-07 13:30", periods=4, freq="min", tz="UTC")
    equity = pd.Series([1000.0, 1010.0, 990.0, 1020.0], index=index)
    prices = pd.Series([50.0, 55.0, 45.0], index=index[[0, 1, 3]])  # no price at index[2]: the last one holds
    figure = equity_drawdown_figure(equity, benchmark=prices, benchmark_name="SPY")
    hold = next(t for t in figure.data if t.name == "SPY buy and hold")
    assert np.allclose(hold.y, [1000.0, 1100.0, 1100.0, 900.0])
