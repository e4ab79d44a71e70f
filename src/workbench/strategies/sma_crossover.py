"""SMA crossover: long (or long/short) when the fast SMA of closes is above the slow one."""

from __future__ import annotations

from pydantic import Field, model_validator

from workbench.engine.indicators import SMA
from workbench.engine.strategy import Strategy, StrategyParams
from workbench.model.data import Bar


class SmaCrossoverParams(StrategyParams):
    fast: int = Field(10, ge=1, description="fast SMA period (bars)")
    slow: int = Field(30, ge=2, description="slow SMA period (bars)")
    quantity: float = Field(100, gt=0, description="position size (shares)")
    long_short: bool = Field(False, description="go short when fast < slow (else flat)")
    record_signals: bool = Field(False, description="journal a SignalGenerated on every crossover")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossoverParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


class SmaCrossover(Strategy):
    """Hold ``+quantity`` shares while SMA(fast) > SMA(slow) of closes; flat (or ``-quantity`` when
    ``long_short``) otherwise. Decides on each bar's close; market orders fill at the next quote or
    the next bar's open. Works on any number of symbols (independent state per symbol).
    """

    Params = SmaCrossoverParams

    def on_start(self) -> None:
        self._state: dict[str, tuple[SMA, SMA, list[int]]] = {}

    def on_bar(self, bar: Bar) -> None:
        st = self._state.get(bar.symbol)
        if st is None:
            st = self._state[bar.symbol] = (SMA(self.params.fast), SMA(self.params.slow), [0])
        fast, slow, regime = st
        close = bar.close
        fast.update(close)
        slow.update(close)
        if not slow.ready:
            return
        f, s = fast.value, slow.value
        new = 1 if f > s else (-1 if self.params.long_short else 0)
        if new == regime[0]:
            return
        regime[0] = new
        if self.params.record_signals:
            self.signal(bar.symbol, new, entry=close, reason=f"SMA{self.params.fast} {'>' if f > s else '<='} "
                        f"SMA{self.params.slow}", inputs={"fast": f, "slow": s})
        self.order_target_quantity(bar.symbol, new * self.params.quantity)
