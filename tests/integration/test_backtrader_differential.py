"""Differential test: our engine + simulated broker against backtrader on real bars.

Hypothesis draws a slice of real bars (SPY daily bars of the shipped LEAN file, or SPY minute
bars of the shipped demo week) and a random stream of market, limit, stop and stop-limit orders
(buy or sell, placed after a bar's close at prices around that close, some canceled a few bars
later). The same stream runs through ``run_backtest`` (TradingEngine + SimulatedBroker) and
through backtrader's ``Cerebro`` + ``BackBroker`` with matching settings:

* backtrader: cheat-on-open and cheat-on-close off (an order placed at bar k's close is first
  matched on bar k+1), no slippage, no commission, ``checksubmit=False`` and ample cash (no
  margin rejections), no volume filler (orders fill whole);
* ours: ``limit_requires_trade_through=False`` (backtrader fills a resting limit when the bar
  touches it), no buying-power check, shorting allowed, no slippage, zero commission.

Every order must fill on the same bar at the same price (1e-6), or stay unfilled in both, except
for these intended differences:

1. **Stop-limit triggered inside a bar** (the bar's open has not reached the stop): backtrader may
   fill it on that same bar, guessing the path from the open/close order (``_try_exec_stoplimit``:
   "can calculate execution for a few cases"); we never fill it on the trigger bar, because a bar
   does not say whether the price came back to the limit *after* the trigger (our documented,
   conservative rule). For such an order we check that ours does not fill on the trigger bar;
   when backtrader filled it there (or never), the rest of its life is not compared (the two
   orders are then in different states); when backtrader filled it later, the fills must match.
2. **Resting limits need a trade through by default** in our broker (``low < limit``, not
   ``low <= limit``), a conservative choice for queue position; the comparison runs with
   ``limit_requires_trade_through=False``, which is backtrader's touch rule.

Anything else that differs fails the test.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from workbench.brokers.fills import FillModel
from workbench.engine.backtest import run_backtest
from workbench.engine.strategy import Strategy
from workbench.feeds.samples import load_demo_spy, load_lean_daily
from workbench.model import events as ev
from workbench.model.data import Bar
from workbench.model.enums import OrderSide, OrderType

TYPES = ("market", "limit", "stop", "stop_limit")
PRICE_TOLERANCE = 1e-6


@functools.cache
def spy_bars(kind: str) -> pd.DataFrame:
    """Real SPY bars: ``daily`` (LEAN, 2008-2012) or ``minute`` (demo week, no quotes)."""
    if kind == "daily":
        daily, _ = load_lean_daily()
        frame = daily[(daily["symbol"] == "SPY") & (daily["ts_event"] >= pd.Timestamp("2008-01-01").value)
                      & (daily["ts_event"] < pd.Timestamp("2013-01-01").value)]
    else:
        frame, _ = load_demo_spy()
    return frame.reset_index(drop=True)[["ts_event", "ts_init", "open", "high", "low", "close", "volume"]]


@dataclass(frozen=True)
class Planned:
    """One order of the random stream: placed after bar ``at`` closes, prices relative to that close."""

    at: int
    side: str
    kind: str
    quantity: int
    limit_offset: float
    stop_offset: float
    cancel_after: int | None  # bars after placement; None: never canceled

    def prices(self, close: float, scale: float) -> tuple[float | None, float | None]:
        limit = round(close * (1 + self.limit_offset * scale), 2) if self.kind in ("limit", "stop_limit") else None
        stop = round(close * (1 + self.stop_offset * scale), 2) if self.kind in ("stop", "stop_limit") else None
        return limit, stop


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["daily", "minute"]))
    bars = spy_bars(kind)
    n = draw(st.integers(8, 40))
    start = draw(st.integers(0, len(bars) - n))
    orders = draw(st.lists(st.builds(
        Planned,
        at=st.integers(0, n - 2),
        side=st.sampled_from(["buy", "sell"]),
        kind=st.sampled_from(TYPES),
        quantity=st.integers(1, 500),
        limit_offset=st.floats(-2.0, 2.0, allow_nan=False),
        stop_offset=st.floats(-2.0, 2.0, allow_nan=False),
        cancel_after=st.one_of(st.none(), st.integers(1, 6)),
    ), min_size=1, max_size=12))
    return {"kind": kind, "start": start, "n": n, "orders": sorted(orders, key=lambda o: o.at)}


# ------------------------------------------------------------------------------------------ ours
class _Replay(Strategy):
    """Places the planned orders after each bar and records which bar each fill came on."""

    def __init__(self, plan: list[Planned], scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan, self.scale, self.k = plan, scale, -1
        self.ids: dict[int, str] = {}
        self.fills: dict[str, list[tuple[int, float, float]]] = {}

    def on_bar(self, bar: Bar) -> None:
        self.k += 1
        for i, p in enumerate(self.plan):
            if p.cancel_after is not None and i in self.ids and p.at + p.cancel_after == self.k:
                self.cancel(self.ids[i])
        for i, p in enumerate(self.plan):
            if p.at == self.k:
                limit, stop = p.prices(bar.close, self.scale)
                order_type = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "stop": OrderType.STOP,
                              "stop_limit": OrderType.STOP_LIMIT}[p.kind]
                side = OrderSide.BUY if p.side == "buy" else OrderSide.SELL
                self.ids[i] = self.order("SPY", side, p.quantity, order_type, limit_price=limit, stop_price=stop).order_id

    def on_fill(self, fill: ev.OrderFilled) -> None:
        # fills arrive while the broker matches bar k + 1, before this strategy sees that bar
        self.fills.setdefault(fill.order_id, []).append((self.k + 1, fill.last_price, fill.last_quantity))


def run_ours(bars: list[Bar], plan: list[Planned], scale: float) -> dict[int, list[tuple[int, float, float]]]:
    strategy = _Replay(plan, scale)
    run_backtest(strategy, bars, progress=False, starting_cash=1e12, check_buying_power=False, allow_short=True,
                 fill_model=FillModel(limit_requires_trade_through=False))
    return {i: strategy.fills.get(oid, []) for i, oid in strategy.ids.items()}


# ------------------------------------------------------------------------------------ backtrader
class _BtReplay(bt.Strategy):
    params = (("plan", None), ("scale", 0.0))

    def __init__(self) -> None:
        self.k = -1
        self.orders: dict[int, bt.Order] = {}
        self.fills: dict[int, list[tuple[int, float, float]]] = {}

    def notify_order(self, order: bt.Order) -> None:
        if order.status in (order.Completed, order.Partial):
            i = order.info["index"]
            # notified before next() of the bar it executed on: that bar is k + 1
            self.fills.setdefault(i, []).append((self.k + 1, order.executed.price, abs(order.executed.size)))

    def next(self) -> None:
        self.k += 1
        for i, p in enumerate(self.p.plan):
            if p.cancel_after is not None and i in self.orders and p.at + p.cancel_after == self.k:
                self.cancel(self.orders[i])
        for i, p in enumerate(self.p.plan):
            if p.at == self.k:
                limit, stop = p.prices(self.data.close[0], self.p.scale)
                place = self.buy if p.side == "buy" else self.sell
                if p.kind == "market":
                    o = place(size=p.quantity, exectype=bt.Order.Market)
                elif p.kind == "limit":
                    o = place(size=p.quantity, exectype=bt.Order.Limit, price=limit)
                elif p.kind == "stop":
                    o = place(size=p.quantity, exectype=bt.Order.Stop, price=stop)
                else:
                    o = place(size=p.quantity, exectype=bt.Order.StopLimit, price=stop, plimit=limit)
                o.addinfo(index=i)
                self.orders[i] = o


def run_backtrader(frame: pd.DataFrame, plan: list[Planned], scale: float) -> dict[int, list[tuple[int, float, float]]]:
    cerebro = bt.Cerebro(stdstats=False)
    data = frame.assign(datetime=pd.to_datetime(frame["ts_event"]).dt.tz_localize(None)).set_index("datetime")
    cerebro.adddata(bt.feeds.PandasData(dataname=data[["open", "high", "low", "close", "volume"]], openinterest=None))
    cerebro.broker.setcash(1e12)
    cerebro.broker.set_checksubmit(False)
    cerebro.broker.set_coc(False)
    cerebro.broker.set_coo(False)
    cerebro.addstrategy(_BtReplay, plan=plan, scale=scale)
    (strategy,) = cerebro.run()
    return strategy.fills


# ------------------------------------------------------------------------------------------ test
def _triggered_inside(p: Planned, frame: pd.DataFrame, scale: float) -> int | None:
    """For a stop-limit: the bar (index) whose range reaches the stop while its open does not."""
    if p.kind != "stop_limit":
        return None
    _, stop = p.prices(frame["close"].iloc[p.at], scale)
    assert stop is not None
    last = len(frame) if p.cancel_after is None else min(len(frame), p.at + p.cancel_after + 1)
    for k in range(p.at + 1, last):
        o, h, lo = frame["open"].iloc[k], frame["high"].iloc[k], frame["low"].iloc[k]
        if (p.side == "buy" and o >= stop) or (p.side == "sell" and o <= stop):
            return None  # triggered at an open: no intended difference
        if (p.side == "buy" and h >= stop) or (p.side == "sell" and lo <= stop):
            return k
    return None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_fills_match_backtrader_on_real_bars(scenario: dict[str, Any]) -> None:
    frame = spy_bars(scenario["kind"]).iloc[scenario["start"]:scenario["start"] + scenario["n"]].reset_index(drop=True)
    scale = 0.02 if scenario["kind"] == "daily" else 0.001
    plan: list[Planned] = scenario["orders"]
    bars = [Bar("SPY", r.open, r.high, r.low, r.close, r.volume, int(r.ts_event), int(r.ts_init))
            for r in frame.itertuples()]
    ours, theirs = run_ours(bars, plan, scale), run_backtrader(frame, plan, scale)
    compared = 0
    for i, p in enumerate(plan):
        mine, other = ours.get(i, []), theirs.get(i, [])
        trigger_bar = _triggered_inside(p, frame, scale)
        if trigger_bar is not None:  # intended difference 1
            assert all(k != trigger_bar for k, _, _ in mine), (p, mine)
            if other and other[0][0] == trigger_bar:
                continue
            if not other:
                # backtrader never filled: ours may fill only after the trigger bar, at its limit
                continue
        assert len(mine) == len(other), (p, mine, other)
        for (k1, px1, q1), (k2, px2, q2) in zip(mine, other, strict=True):
            assert k1 == k2 and abs(px1 - px2) <= PRICE_TOLERANCE and q1 == q2, (p, mine, other)
        compared += len(mine)
    event(f"fills compared: {'0' if not compared else '1-4' if compared < 5 else '5+'}")
