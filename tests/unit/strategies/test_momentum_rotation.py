"""Momentum rotation buys exactly the top symbols by trailing return (checked against pandas), and
pays for them with the sells it makes first (no buy rejected for buying power after a rotation)."""

from __future__ import annotations

import bisect

import pandas as pd

from workbench.engine.backtest import run_backtest
from workbench.feeds.samples import load_lean_daily
from workbench.strategies import MomentumRotation

LOOKBACK, EVERY, TOP = 63, 21, 2


def _top_by_pandas(bars: pd.DataFrame) -> dict[int, list[str]]:
    """Decision time (ns) -> the top symbols by ``LOOKBACK``-bar return, computed with pandas."""
    closes = bars.pivot(index="ts_init", columns="symbol", values="close")
    days = closes.index.to_numpy()[EVERY - 1::EVERY]
    out = {}
    for ts in days:
        scores = {}
        for sym in closes.columns:
            series = closes[sym].loc[:ts].dropna()
            if pd.isna(closes.at[ts, sym]) or len(series) < LOOKBACK + 1:
                continue
            ret = series.iloc[-1] / series.iloc[-1 - LOOKBACK] - 1.0
            if ret > 0:
                scores[sym] = ret
        out[int(ts)] = sorted(scores, key=lambda s: (-scores[s], s))[:TOP]
    return out


def test_buys_are_the_pandas_top_ranked_symbols_and_are_funded_by_the_sells() -> None:
    bars, _ = load_lean_daily(["SPY", "IWM", "AAPL", "IBM", "BAC"])
    bars = bars[(bars["ts_init"] >= pd.Timestamp("2004-01-01", tz="UTC").value)
                & (bars["ts_init"] < pd.Timestamp("2009-01-01", tz="UTC").value)]
    result = run_backtest(MomentumRotation(lookback=LOOKBACK, rebalance_every=EVERY, top=TOP), bars)
    expected = _top_by_pandas(bars)
    decisions = sorted(expected)
    buys = result.orders[result.orders["side"] == "BUY"]
    assert len(buys) > 20
    for ts, sym in zip(buys["ts_init"].astype("int64"), buys["symbol"]):
        decided = decisions[bisect.bisect_right(decisions, ts) - 1]  # the latest decision at or before the buy
        assert sym in expected[decided], f"bought {sym} at {pd.Timestamp(ts)}; pandas top: {expected[decided]}"
    # sells (drop-outs and trims) fill first and pay for the buys: nothing is refused for buying power
    assert set(result.orders["status"]) == {"FILLED"}, result.orders[result.orders["status"] != "FILLED"]
