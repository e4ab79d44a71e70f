"""The scan strategy's trade plans and exit rules on hand-built daily bars.

Each path is built so that one exit rule fires, and the exit reason journaled with the signal is
checked: ``target`` and ``stop`` (the bracket's legs, as Interactive Brokers' bracket orders work),
``max_holding_days`` counted in trading days (sessions of the XNYS calendar, so a holiday does not
count), ``reversal`` (rank beyond ``exit_rank``), and ``manual`` (an operator's flatten, an order
that is not the strategy's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.calendars import _sessions
from workbench.engine.backtest import build_engine, run_backtest
from workbench.feeds.stream import MarketDataStream
from workbench.model import events as ev
from workbench.scanning import Panel
from workbench.scanning.plans import PlanConfig, make_plan
from workbench.strategies.scan_strategy import ScanStrategy

FACTORS = {"momentum_3": {"factor": "momentum", "lookback": 3}}
BASE = {"factors": FACTORS, "weights": {"momentum_3": 1.0}, "filters": [], "top": 1, "max_positions": 1,
        "history": 40, "times": ("09:00",), "exit_on_reversal": False, "max_holding_days": 50}


def _bars(paths: dict[str, list[float]], start: str = "2021-01-04", wick: float = 0.25) -> pd.DataFrame:
    days, opens, closes = _sessions("XNYS")
    i = int(np.searchsorted(days, pd.Timestamp(start).value))
    rows = []
    for symbol, path in paths.items():
        previous = path[0]
        for k, close in enumerate(path):
            o = previous
            rows.append({"ts_event": int(opens[i + k]), "ts_init": int(closes[i + k]), "symbol": symbol, "open": o,
                         "high": max(o, close) + wick, "low": min(o, close) - wick, "close": close, "volume": 1e6})
            previous = close
    return pd.DataFrame(rows).sort_values(["ts_init", "symbol"], kind="mergesort").reset_index(drop=True)


def _exits(events: list[ev.Event]) -> list[tuple[str, str]]:
    return [(e.symbol, e.reason) for e in events if type(e) is ev.SignalGenerated and e.direction == 0]


def _entries(events: list[ev.Event]) -> list[ev.SignalGenerated]:
    return [e for e in events if type(e) is ev.SignalGenerated and e.direction != 0]


def _run(paths: dict[str, list[float]], **params: object) -> list[ev.Event]:
    result = run_backtest(ScanStrategy(**{**BASE, **params}), _bars(paths), keep_events=True, progress=False)
    return result.events


WARM = 16  # sessions before the first plan: ATR(14) needs 15 bars


def test_take_profit_exit() -> None:
    up = [100.0 + k for k in range(WARM + 15)]
    events = _run({"AAA": up, "BBB": [50.0] * len(up), "CCC": [80.0 - 0.1 * k for k in range(len(up))]})
    entries = _entries(events)
    assert entries and entries[0].symbol == "AAA"
    assert _exits(events)[0] == ("AAA", "exit: target")
    fills = [e for e in events if type(e) is ev.OrderFilled and e.symbol == "AAA"]
    assert fills[1].last_price == pytest.approx(entries[0].target)


def test_stop_exit() -> None:
    path = [100.0 + k for k in range(WARM + 2)] + [100.0 + WARM + 1 - 5.0 * k for k in range(1, 6)]
    events = _run({"AAA": path, "BBB": [50.0] * len(path), "CCC": [80.0] * len(path)})
    assert _exits(events)[0] == ("AAA", "exit: stop")
    entry = _entries(events)[0]
    stop_fill = [e for e in events if type(e) is ev.OrderFilled and e.symbol == "AAA"][1]
    assert stop_fill.last_price <= entry.stop  # a stop fills at or through its trigger


def test_max_holding_days_counts_trading_days() -> None:
    """Entered on the session after the scan; 3 trading days later the next scan closes it. The
    path straddles MLK day (2021-01-18, NYSE closed), which is not counted."""
    slow = [100.0 + 0.05 * k for k in range(WARM + 10)]
    events = _run({"AAA": slow, "BBB": [50.0] * len(slow), "CCC": [80.0] * len(slow)}, max_holding_days=3,
                  target_r_multiple=50.0)
    assert _exits(events)[0] == ("AAA", "exit: max_holding_days")
    fills = [e for e in events if type(e) is ev.OrderFilled and e.symbol == "AAA"]
    days, _, _ = _sessions("XNYS")

    def session(ns: int) -> int:
        return int(np.searchsorted(days, pd.Timestamp(ns, tz="UTC").tz_convert("America/New_York")
                                   .tz_localize(None).normalize().value))

    assert session(fills[1].ts_event) - session(fills[0].ts_event) == 3


def test_reversal_exit() -> None:
    n = WARM + 12
    aaa = [100.0 + 0.5 * k for k in range(WARM + 3)] + [100.0 + 0.5 * (WARM + 2)] * (n - WARM - 3)
    bbb = [50.0] * (WARM + 3) + [50.0 + 2.0 * k for k in range(1, n - WARM - 2)]
    events = _run({"AAA": aaa, "BBB": bbb, "CCC": [80.0] * n}, exit_on_reversal=True, exit_rank=1,
                  target_r_multiple=50.0)
    assert _exits(events)[0] == ("AAA", "exit: reversal")
    assert [e.symbol for e in _entries(events)][:2] == ["AAA", "BBB"]


def test_manual_exit_by_an_operator_flatten() -> None:
    up = [100.0 + 0.2 * k for k in range(WARM + 10)]
    bars = _bars({"AAA": up, "BBB": [50.0] * len(up), "CCC": [80.0] * len(up)})
    strategy = ScanStrategy(**{**BASE, "target_r_multiple": 50.0})
    engine = build_engine(strategy, keep_events=True)
    engine.start()
    flattened = False
    for item in MarketDataStream(bars):
        engine.process(item)
        if not flattened and engine.portfolio.quantity("AAA") > 0:
            engine.flatten(tag="flatten")  # the operator: strategy_id "", not the strategy's order
            flattened = True
    engine.stop()
    assert flattened
    assert _exits(engine.events)[0] == ("AAA", "exit: manual")


def test_trade_plan_hand_worked() -> None:
    """Close 100, ATR(14) of true ranges all 2.0 -> 2.0: stop 100 - 2*2 = 96, target 100 + 3*4 = 112,
    size 1% of 100,000 / 4 per share = 250 shares (cap 25% of equity = 250 shares, equal)."""
    closes = [100.0] * 20
    bars = _bars({"AAA": closes}, wick=1.0)
    plan = make_plan("AAA", Panel.from_bars(bars), 100_000.0, PlanConfig(target_r_multiple=3.0, risk_fraction=0.01),
                     score=1.0, rank=1)
    assert plan is not None
    assert (plan.entry_price, plan.stop, plan.target, plan.quantity, plan.risk) == (100.0, 96.0, 112.0, 250.0, 1000.0)
    limit = make_plan("AAA", Panel.from_bars(bars), 100_000.0, PlanConfig(entry="limit", limit_offset_bps=50))
    assert limit is not None and limit.entry_price == 99.5
    breakout = make_plan("AAA", Panel.from_bars(bars), 100_000.0, PlanConfig(entry="breakout", stop="structure"))
    assert breakout is not None and (breakout.entry_price, breakout.stop) == (101.0, 98.99)
    signal = plan.to_signal()
    assert signal.entry is None and signal.stop == 96.0 and signal.size == 250.0
