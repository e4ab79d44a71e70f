"""SMA crossover: long (or long/short) when the fast SMA of closes is above the slow one."""

from __future__ import annotations

from pydantic import Field, model_validator

from workbench.engine.indicators import SMA
from workbench.engine.strategy import Strategy, StrategyParams
from workbench.model.data import Bar

TIE_TOLERANCE = 1e-9
"""Default relative tolerance under which SMA(fast) and SMA(slow) count as equal (see ``SmaCrossover``)."""


class SmaCrossoverParams(StrategyParams):
    fast: int = Field(10, ge=1, description="fast SMA period (bars)")
    slow: int = Field(30, ge=2, description="slow SMA period (bars)")
    quantity: float = Field(100, gt=0, description="position size (shares)")
    long_short: bool = Field(False, description="go short when fast < slow (else flat)")
    record_signals: bool = Field(False, description="journal a SignalGenerated on every crossover")
    tie_tolerance: float = Field(
        TIE_TOLERANCE, ge=0, lt=1e-3,
        description="relative tolerance: fast counts as above slow only when fast - slow > tie_tolerance * |slow|",
    )

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossoverParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


class SmaCrossover(Strategy):
    """Hold ``+quantity`` shares while SMA(fast) > SMA(slow) of closes; flat (or ``-quantity`` when
    ``long_short``) otherwise. Decides on each bar's close; market orders fill at the next quote or
    the next bar's open. Works on any number of symbols (independent state per symbol).

    Notes
    -----
    *Ties.* "Above" means ``fast - slow > tie_tolerance * |slow|`` (default ``1e-9``). When the two
    averages are equal in exact arithmetic (flat prices; or split-adjusted prices, which are a
    common factor times prices that tie), the float values differ by rounding noise only (about
    1e-16 relative), and its sign depends on the order of the additions: a running sum and
    ``pandas.Series.rolling().mean()`` would then disagree at random. Counting such differences
    as equal makes the signal a property of the prices, not of the summation order. On the
    shipped LEAN hourly data the noise is below 2e-15 relative and the smallest genuine
    difference is about 4e-7 relative, so the default separates them by orders of magnitude.
    A plain pandas computation of the same rule:
    ``regime = (fast - slow > tie_tolerance * slow.abs()) & slow.notna()``.
    """

    Params = SmaCrossoverParams

    def on_start(self) -> None:
        p = self.params
        self._state: dict[str, tuple[SMA, SMA, list[int]]] = {}
        self._below = -1 if p.long_short else 0  # target sign when fast is not above slow
        self._tolerance = p.tie_tolerance

    def on_bar(self, bar: Bar) -> None:
        st = self._state.get(bar.symbol)
        if st is None:
            p = self.params
            st = self._state[bar.symbol] = (SMA(p.fast), SMA(p.slow), [0])
        fast, slow, regime = st
        close = bar.close
        fast.update(close)
        slow.update(close)
        if not slow.ready:
            return
        f, s = fast.value, slow.value
        above = f - s > self._tolerance * (s if s >= 0 else -s)
        new = 1 if above else self._below
        if new == regime[0]:
            return
        regime[0] = new
        p = self.params
        if p.record_signals:
            self.signal(bar.symbol, new, entry=close, reason=f"SMA{p.fast} {'>' if above else '<='} "
                        f"SMA{p.slow}", inputs={"fast": f, "slow": s})
        self.order_target_quantity(bar.symbol, new * p.quantity)
