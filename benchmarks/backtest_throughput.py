"""Backtest throughput: SMA crossover through the full event-driven engine on ~1M real bars.

Data: the shipped LEAN hourly bars (204,105 real bars of SPY, AAPL, IBM, BAC, AIG, 1998-2021)
**repeated 5 times under labelled symbols** (``SPY#1`` ... ``AIG#5``): 1,020,525 bars, 25
instruments, in real time order. Each copy trades exactly like the original, so the result is
cross-checked against a plain pandas computation of the same rule (round trips and final equity).

Prints bars/s, peak RSS and the cross-check. Targets on the 2-core CI machine: >= 250,000 bars/s,
< 400 MB peak RSS.

Usage: python benchmarks/backtest_throughput.py [--repeat 5] [--profile]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

from workbench.engine.backtest import run_backtest
from workbench.feeds import MarketDataStream
from workbench.feeds.samples import load_lean_hourly
from workbench.strategies import SmaCrossover
from workbench.strategies.sma_crossover import TIE_TOLERANCE

FAST, SLOW, QUANTITY, CASH = 10, 30, 100, 50_000_000.0


def tiled_bars(repeat: int) -> pd.DataFrame:
    """``repeat`` labelled copies of the real bars, one after the other (built column by column)."""
    bars, _ = load_lean_hourly()
    columns = {
        name: (pd.concat([bars[name] + f"#{k + 1}" for k in range(repeat)], ignore_index=True) if name == "symbol"
               else np.tile(bars[name].to_numpy(), repeat))
        for name in bars.columns
    }
    return pd.DataFrame(columns, copy=False)


def pandas_crosscheck(bars: pd.DataFrame) -> tuple[int, float]:
    """Round trips and final equity of the same rule, computed with pandas only.

    Rule: regime = 1 while SMA(fast) > SMA(slow) of closes (0 before the slow window is full);
    a regime change at bar t trades at bar t+1's open; final equity marks at the last close.
    "Above" uses the strategy's documented relative tie tolerance (``TIE_TOLERANCE``): averages
    that are equal in exact arithmetic differ only by float rounding noise, whose sign depends on
    the summation order (pandas' rolling sum vs the engine's running sum).
    """
    trips, pnl_total, open_value = 0, 0.0, 0.0
    for _, g in bars.sort_values(["symbol", "ts_init"], kind="stable").groupby("symbol", sort=True):
        close, opens = g["close"], g["open"].to_numpy()
        fast = close.rolling(FAST).mean()
        slow = close.rolling(SLOW).mean()
        regime = ((fast - slow) > TIE_TOLERANCE * slow.abs()).astype(int).where(slow.notna(), 0).to_numpy()
        change = np.flatnonzero(np.diff(np.concatenate([[0], regime])) != 0)
        change = change[change + 1 < len(g)]  # the last bar's order never fills
        fills = opens[change + 1]
        sides = regime[change]  # 1 = buy, 0 = sell
        entries, exits = fills[sides == 1], fills[sides == 0]
        n = len(exits)
        trips += n
        pnl_total += float(((exits - entries[:n]) * QUANTITY).sum())
        if len(entries) > n:
            open_value += (g["close"].iloc[-1] - entries[-1]) * QUANTITY
    return trips, CASH + pnl_total + open_value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="run under pyinstrument if installed")
    args = ap.parse_args()

    bars = tiled_bars(args.repeat)
    stream = MarketDataStream(bars)
    strategy = SmaCrossover(fast=FAST, slow=SLOW, quantity=QUANTITY)
    t0 = time.perf_counter()
    if args.profile:
        from pyinstrument import Profiler

        with Profiler() as prof:
            result = run_backtest(strategy, stream, starting_cash=CASH, progress=False)
        prof.print()
    else:
        result = run_backtest(strategy, stream, starting_cash=CASH, progress=False)
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    trips, equity = pandas_crosscheck(bars)
    print(f"bars:            {len(stream):,} ({args.repeat} x 204,105 real LEAN hourly bars, labelled copies)")
    print(f"wall time:       {elapsed:.2f} s (engine loop {result.elapsed_seconds:.2f} s)")
    print(f"throughput:      {len(stream) / result.elapsed_seconds:,.0f} bars/s")
    print(f"peak RSS:        {peak_mb:,.0f} MB")
    print(f"round trips:     engine {len(result.trades):,}  pandas {trips:,}")
    print(f"final equity:    engine {result.final_equity:,.2f}  pandas {equity:,.2f}")
    ok = len(result.trades) == trips and abs(result.final_equity - equity) < 1e-6 * CASH
    print("cross-check:     " + ("OK" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
