"""RSI mean reversion: buy when RSI is oversold, exit when it recovers; optional bracket stops."""

from __future__ import annotations

from pydantic import Field

from workbench.engine.indicators import ATR, RSI
from workbench.engine.strategy import Strategy, StrategyParams
from workbench.model.data import Bar
from workbench.model.enums import OrderSide


class RsiMeanReversionParams(StrategyParams):
    period: int = Field(14, ge=2, description="RSI period (bars, Wilder)")
    oversold: float = Field(30.0, gt=0, lt=100)
    exit_level: float = Field(50.0, gt=0, lt=100, description="close the long when RSI rises above this")
    quantity: float = Field(100, gt=0, description="shares per entry")
    atr_period: int = Field(14, ge=1)
    stop_atr: float | None = Field(None, gt=0, description="if set, enter with a bracket: stop at entry - k*ATR")
    target_atr: float = Field(3.0, gt=0, description="bracket take-profit at entry + k*ATR")


class RsiMeanReversion(Strategy):
    """Long-only: enter ``quantity`` shares when RSI(period) < ``oversold``; exit when RSI >
    ``exit_level``. With ``stop_atr`` the entry is a bracket whose stop-loss and take-profit are
    ATR multiples from the close (the exits are OCO, armed on fill)."""

    Params = RsiMeanReversionParams

    def on_start(self) -> None:
        self._rsi: dict[str, RSI] = {}
        self._atr: dict[str, ATR] = {}

    def on_bar(self, bar: Bar) -> None:
        p = self.params
        rsi = self._rsi.get(bar.symbol)
        if rsi is None:
            rsi = self._rsi[bar.symbol] = RSI(p.period)
            self._atr[bar.symbol] = ATR(p.atr_period)
        atr = self._atr[bar.symbol]
        rsi.update(bar.close)
        atr.update(bar.high, bar.low, bar.close)
        if not rsi.ready:
            return
        qty = self.position_quantity(bar.symbol)
        busy = bool(self.open_orders(bar.symbol))
        if qty == 0 and not busy and rsi.value < p.oversold:
            inputs = {"rsi": rsi.value, "atr": atr.value}
            if p.stop_atr is not None and atr.ready:
                stop = bar.close - p.stop_atr * atr.value
                target = bar.close + p.target_atr * atr.value
                self.signal(bar.symbol, 1, entry=bar.close, stop=stop, target=target, size=p.quantity,
                            reason="RSI oversold", inputs=inputs)
                self.bracket(bar.symbol, OrderSide.BUY, p.quantity, take_profit=target, stop_loss=stop)
            else:
                self.signal(bar.symbol, 1, entry=bar.close, size=p.quantity, reason="RSI oversold", inputs=inputs)
                self.buy(bar.symbol, p.quantity)
        elif qty > 0 and rsi.value > p.exit_level:
            self.signal(bar.symbol, 0, entry=bar.close, reason="RSI recovered", inputs={"rsi": rsi.value})
            self.close_position(bar.symbol)
