"""Overhead of an execution algorithm: the SMA crossover backtest on ~1M real bars, with and without
a TWAP parent of 100 children working across the whole run.

Data: ``backtest_throughput.tiled_bars`` (the shipped LEAN hourly bars repeated 5x under labelled
symbols: 1,020,525 bars). Run A: SMA crossover alone. Run B: the same plus a strategy that starts,
on the first bar, a TWAP buying 10,000 shares of ``SPY#1`` in 100 slices spread over the data's span.
Each run is timed ``--repeat`` times (best kept). Target: B no slower than 1.2x A. Also prints the
cost per child order and per data event of the algorithm.

Usage: python benchmarks/execution_overhead.py [--repeat 2] [--bars-repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest_throughput import CASH, FAST, QUANTITY, SLOW, tiled_bars

from workbench.engine.backtest import run_backtest
from workbench.engine.strategy import Strategy
from workbench.feeds import MarketDataStream
from workbench.model import events as ev
from workbench.risk.engine import RiskEngine
from workbench.strategies import SmaCrossover


class StartTwap(Strategy):
    def __init__(self, symbol: str, start_ns: int, end_ns: int) -> None:
        super().__init__(symbols=[symbol])
        self.symbol, self.start, self.end, self.algo = symbol, start_ns, end_ns, None

    def on_bar(self, bar: Any) -> None:
        if self.algo is None:
            span = self.end - self.start
            self.algo = self.execute(self.symbol, 10_000, "twap", end_ns=self.end,
                                     interval_seconds=span / 100 / 1e9)


def run(stream: MarketDataStream, with_twap: bool, start: int, end: int) -> tuple[float, Any]:
    strategies: list[Strategy] = [SmaCrossover(fast=FAST, slow=SLOW, quantity=QUANTITY)]
    if with_twap:
        strategies.append(StartTwap("SPY#1", start, end))
    t0 = time.perf_counter()
    result = run_backtest(strategies, stream, starting_cash=CASH, progress=False, risk=RiskEngine(), keep_events=with_twap)
    return time.perf_counter() - t0, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--bars-repeat", type=int, default=5)
    args = ap.parse_args()
    bars = tiled_bars(args.bars_repeat)
    stream = MarketDataStream(bars)
    start, end = int(bars["ts_init"].min()), int(bars["ts_init"].max())
    base = min(run(stream, False, start, end)[0] for _ in range(args.repeat))
    timed = [run(stream, True, start, end) for _ in range(args.repeat)]
    algo_s, result = min(timed, key=lambda x: x[0])
    children = sum(1 for e in result.events if type(e) is ev.ParentOrderChildSent)
    done = [e for e in result.events if type(e) is ev.ParentOrderCompleted]
    filled = done[-1].filled_quantity if done else 0.0
    extra = algo_s - base
    print(f"bars: {len(stream):,}; load average {os.getloadavg()[0]:.2f}")
    print(f"without the algorithm: {base:.2f} s")
    print(f"with a TWAP of {children} children ({filled:,.0f} of 10,000 shares of SPY#1 filled): {algo_s:.2f} s")
    print(f"ratio: {algo_s / base:.3f}x (target <= 1.2x)")
    print(f"extra: {extra:.3f} s = {extra / max(children, 1) * 1e3:.2f} ms per child, "
          f"{extra / len(stream) * 1e9:.0f} ns per data event")


if __name__ == "__main__":
    main()
