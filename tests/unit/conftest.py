"""Shared test harness: tiny hand-made market data run through a TradingEngine + SimulatedBroker.

The ``trading`` fixture gives :class:`TradingHarness`: build :class:`Bar` / :class:`QuoteTick`
objects at real New York timestamps, and run a :class:`ScriptedStrategy` whose ``actions`` map the
position of a data item in the stream to a callable ``(strategy, item) -> None`` that is invoked
when the strategy sees that item (after the broker has matched it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import pytest

from workbench.engine.backtest import BacktestResult, run_backtest
from workbench.engine.strategy import Strategy
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.orders import Order

NEW_YORK = "America/New_York"
MINUTE_NS = 60 * 1_000_000_000

Action = Callable[[Strategy, Any], None]


def ny_ns(text: str) -> int:
    """ns since epoch UTC of a New York wall-clock time such as ``"2013-10-07 09:30"``."""
    return int(pd.Timestamp(text, tz=NEW_YORK).value)


class ScriptedStrategy(Strategy):
    """Runs ``actions[k](self, item)`` when it sees the k-th item of the data stream."""

    def __init__(self, actions: dict[int, Action] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actions = dict(actions or {})
        self.seen = 0
        self.fills_seen: list[ev.OrderFilled] = []

    def _step(self, item: Any) -> None:
        action = self.actions.get(self.seen)
        self.seen += 1
        if action is not None:
            action(self, item)

    def on_bar(self, bar: Bar) -> None:
        self._step(bar)

    def on_quote(self, quote: QuoteTick) -> None:
        self._step(quote)

    def on_trade(self, trade: TradeTick) -> None:
        self._step(trade)

    def on_fill(self, fill: ev.OrderFilled) -> None:
        self.fills_seen.append(fill)


class TradingHarness:
    """Factories and a runner for hand-worked broker/engine tests (all times 2013-10-07, New York)."""

    T0 = ny_ns("2013-10-07 09:30")
    MINUTE = MINUTE_NS
    ny_ns = staticmethod(ny_ns)
    ScriptedStrategy = ScriptedStrategy

    @staticmethod
    def bar(
        i: int, open: float, high: float, low: float, close: float, volume: float = 1_000_000.0,
        symbol: str = "SPY", start: int | None = None, interval: int = MINUTE_NS,
    ) -> Bar:
        """The i-th bar of ``interval`` ns from ``start`` (default 09:30 NY): ts_event=start, ts_init=end."""
        begin = (TradingHarness.T0 if start is None else start) + i * interval
        return Bar(symbol, open, high, low, close, volume, begin, begin + interval)

    @staticmethod
    def quote(
        i: int, bid: float, ask: float, bid_size: float = 1_000.0, ask_size: float = 1_000.0,
        symbol: str = "SPY", start: int | None = None, interval: int = MINUTE_NS,
    ) -> QuoteTick:
        """A quote stamped ``start + i * interval`` (ts_event = ts_init)."""
        ts = (TradingHarness.T0 if start is None else start) + i * interval
        return QuoteTick(symbol, bid, ask, bid_size, ask_size, ts, ts)

    @staticmethod
    def run(data: Sequence[Any], actions: dict[int, Action] | None = None, **engine_options: Any) -> BacktestResult:
        """Run a :class:`ScriptedStrategy` over ``data`` (a list in time order) with a simulated broker."""
        return run_backtest(ScriptedStrategy(actions), list(data), progress=False, **engine_options)

    @staticmethod
    def orders(result: BacktestResult) -> list[Order]:
        """Orders in creation order."""
        return list(result.engine.orders.values())

    @staticmethod
    def fills(result: BacktestResult, order_id: str | None = None) -> list[ev.OrderFilled]:
        return [
            e for e in result.engine.events
            if type(e) is ev.OrderFilled and (order_id is None or e.order_id == order_id)
        ]

    @staticmethod
    def events_of(result: BacktestResult, kind: type, order_id: str | None = None) -> list[Any]:
        return [
            e for e in result.engine.events
            if type(e) is kind and (order_id is None or getattr(e, "order_id", None) == order_id)
        ]


@pytest.fixture(scope="session")
def trading() -> type[TradingHarness]:
    return TradingHarness
