"""A strategy for the crash-recovery tests (imported by the ``workbench paper`` subprocess as
``crash_strategies:BracketTrader``; not a test module)."""

from __future__ import annotations

import pandas as pd

from workbench.engine import Strategy, StrategyParams
from workbench.model.data import Bar
from workbench.model.enums import OrderSide


class BracketTrader(Strategy):
    """Every ``every`` bars, when flat and without working orders, buys ``quantity`` shares in a bracket
    (market entry, take-profit and stop-loss ``width`` away); at ``kill_at`` (New York time) it pulls
    the kill switch, as a risk rule would. With a volume cap the entries fill over several bars."""

    class Params(StrategyParams):
        every: int = 15
        quantity: float = 500
        width: float = 0.001
        kill_at: str = "2013-10-10 11:00"

    def on_start(self) -> None:
        self.bars = 0
        self.kill_ns = pd.Timestamp(self.params.kill_at, tz="America/New_York").value

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        eng = self.engine
        if bar.ts_init >= self.kill_ns and not eng.risk.kill_switch_engaged and not eng.warming_up:
            eng.kill_switch("scheduled by BracketTrader")
            return
        if self.bars % self.params.every or self.open_orders() or self.position_quantity(bar.symbol):
            return
        w = self.params.width
        self.bracket(bar.symbol, OrderSide.BUY, self.params.quantity, take_profit=round(bar.close * (1 + w), 2),
                     stop_loss=round(bar.close * (1 - w), 2))
