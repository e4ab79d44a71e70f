"""Cost of pre-trade risk checks per order: the full default rule set (``build_risk_engine()``).

Run: ``python benchmarks/risk_checks.py``. Prints microseconds per order for the default rules,
for every pre-trade rule and portfolio rule enabled, and for no rules (the baseline of the
engine's own bookkeeping is excluded: only ``RiskEngine.check`` is timed).

The engine holds positions in 20 symbols and 40 working orders (and, for the full set, 250 days of
price history for VaR and correlations), so rules that look at open
orders and positions do real work; the orders checked are a mix of market and limit orders in
those symbols, inside regular trading hours.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from workbench.engine.backtest import build_engine
from workbench.model.data import Bar
from workbench.model.enums import OrderSide, OrderType
from workbench.risk import build_risk_engine
from workbench.risk.engine import RiskEngine
from workbench.risk.history import PriceHistory

N_ORDERS = 20_000
SYMBOLS = [f"S{i:02d}" for i in range(20)]
T0 = pd.Timestamp("2013-10-07 10:00", tz="America/New_York").value


def make(risk: RiskEngine):
    for r in risk.rules:  # the rate rule keeps checking but never hits its limit (one clock for all orders)
        if r.name == "max_order_rate":
            r.per_second = r.per_symbol = 1e12
    eng = build_engine([], risk=risk, starting_cash=10_000_000, check_buying_power=False)
    for i, s in enumerate(SYMBOLS):
        p = 50.0 + i
        eng.on_bar(Bar(s, p, p, p, p, 1e6, T0 - 60_000_000_000, T0))
    for s in SYMBOLS:  # positions
        eng.submit_order(eng.create_order(s, OrderSide.BUY, 100))
    for i, s in enumerate(SYMBOLS):
        p = 50.0 + i
        eng.on_bar(Bar(s, p, p, p, p, 1e6, T0, T0 + 60_000_000_000))
    for i, s in enumerate(SYMBOLS):  # resting orders
        p = 50.0 + i
        eng.submit_order(eng.create_order(s, OrderSide.BUY, 10, OrderType.LIMIT, limit_price=p * 0.98))
        eng.submit_order(eng.create_order(s, OrderSide.SELL, 10, OrderType.LIMIT, limit_price=p * 1.02))
    orders = []
    for i in range(N_ORDERS):
        s = SYMBOLS[i % len(SYMBOLS)]
        p = 50.0 + i % len(SYMBOLS)
        side = OrderSide.BUY if i % 2 else OrderSide.SELL
        if i % 3:
            o = eng.create_order(s, side, 10 + i % 7)
        else:
            limit = round(p * (0.99 if side is OrderSide.BUY else 1.01), 2)
            o = eng.create_order(s, side, 10, OrderType.LIMIT, limit_price=limit)
        orders.append(o)
    return eng, orders


def time_checks(risk: RiskEngine) -> tuple[float, int]:
    eng, orders = make(risk)
    assert len(eng.portfolio.open_positions()) == len(SYMBOLS) and len(eng.open_orders()) == 2 * len(SYMBOLS)
    check = eng.risk.check
    denied = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for o in orders:
        if check(o, eng) is not None:
            denied += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall / len(orders) * 1e6, cpu / len(orders) * 1e6, denied


def main() -> None:
    everything = {
        "pre_trade": {"max_position_quantity": {"enabled": True}, "min_cash_reserve": {"amount": 1000.0},
                      "restricted_symbols": {"symbols": ["XYZ"]}, "short_selling": {"allowed": False},
                      "sector_exposure": {"enabled": True, "sectors": {s: f"sector{i % 4}" for i, s in enumerate(SYMBOLS)}},
                      "correlation_limit": {"enabled": True, "max_correlation": 1.0}},
        "portfolio": {"heat": {"enabled": True, "percent": 10.0}, "value_at_risk": {"enabled": True, "percent": 1.0}},
    }
    full = build_risk_engine(everything)
    history = next(m for m in full.monitors if isinstance(m, PriceHistory))
    rng = np.random.default_rng(1)  # 250 days of prices so VaR and correlations are computed
    walks = 50.0 * np.cumprod(1 + rng.normal(0, 0.01, (251, len(SYMBOLS))), axis=0)
    for day, row in enumerate(walks):
        history.sample(dict(zip(SYMBOLS, row)), day)
    cases = [("no rules", RiskEngine()), ("default rule set", build_risk_engine()), ("every rule enabled", full)]
    print(f"{N_ORDERS} orders checked, best of 3 runs; wall clock and CPU time (us per order)")
    for label, risk in cases:
        runs = [time_checks(risk) for _ in range(3)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        names = [r.name for r in risk.rules]
        print(f"{label:20s} wall {wall:6.2f}  cpu {cpu:6.2f}  denied {runs[0][2]:5d}/{N_ORDERS}  "
              f"({len(names)} rules: {', '.join(names) or '-'})")


if __name__ == "__main__":
    main()
