"""Circuit breakers: volatility spike, stale market data, broker disconnect, rejected-order streak.

A breaker watches the engine (market data and events through the engine's message bus) and, when
it fires, calls :meth:`RiskEngine.trip` with its configured action (REDUCE_ONLY, HALT or KILL);
the ``RiskEvent`` and ``TradingStateChanged`` it causes are journaled. A fired breaker stays fired
until :meth:`RiskEngine.resume` (the ``Resume`` command): resuming is deliberate.

Breakers that watch market data note what they see in the data handler and act in
:meth:`on_time_slice` (after every input of a timestamp is processed), never in the middle of
the engine's dispatch. Breakers that watch events (disconnect, rejections) act when the event is
recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.calendars import session_bounds
from workbench.clock import NS_PER_SECOND
from workbench.engine.indicators import RollingVolatility
from workbench.model import events as ev
from workbench.risk.disconnect import BrokerDisconnect
from workbench.risk.engine import BreachAction

__all__ = ["Breaker", "BrokerDisconnect", "RejectStreak", "StaleData", "VolatilitySpike"]

if TYPE_CHECKING:
    from workbench.engine.engine import TradingEngine
    from workbench.risk.engine import RiskEngine


class Breaker:
    """Base: ``action`` (:class:`BreachAction`) taken when the breaker fires."""

    name = "breaker"

    def __init__(self, action: BreachAction | str = BreachAction.HALT) -> None:
        self.action = BreachAction(action)
        self.engine: TradingEngine | None = None
        self.risk: RiskEngine | None = None

    def attach(self, engine: TradingEngine, risk: RiskEngine) -> None:
        self.engine, self.risk = engine, risk

    def on_time_slice(self, engine: TradingEngine, risk: RiskEngine, ts_ns: int) -> None:
        pass

    def reset(self) -> None:
        """Forget what fired (called on resume)."""

    def fire(self, message: str, *, value: float | None = None, limit: float | None = None, symbol: str = "") -> bool:
        assert self.engine is not None and self.risk is not None, f"{self.name} is not attached to an engine"
        return self.risk.trip(self.engine, self.name, message, self.action, value=value, limit=limit, symbol=symbol)


class VolatilitySpike(Breaker):
    """Fires when a symbol's realized volatility of bar closes exceeds ``threshold``.

    Volatility is :class:`~workbench.engine.indicators.RollingVolatility` (sample standard
    deviation of the last ``period`` log returns, times ``sqrt(annualization)`` when given), so
    ``threshold`` is in the same units: per bar, or annualized.
    """

    name = "volatility_spike"

    def __init__(self, threshold: float, period: int = 20, annualization: float | None = None,
                 action: BreachAction | str = BreachAction.HALT) -> None:
        super().__init__(action)
        self.threshold = threshold
        self.period = period
        self.annualization = annualization
        self._vol: dict[str, RollingVolatility] = {}
        self._spike: tuple[str, float] | None = None

    def attach(self, engine: TradingEngine, risk: RiskEngine) -> None:
        super().attach(engine, risk)
        engine.bus.subscribe("data.on_bar.*", self._on_bar)

    def _on_bar(self, bar: Any) -> None:
        vol = self._vol.get(bar.symbol)
        if vol is None:
            vol = self._vol[bar.symbol] = RollingVolatility(self.period, self.annualization)
        close = bar.close
        if close == close and close > 0:
            vol.update(close)
            if vol.ready and vol.value > self.threshold and self._spike is None:
                self._spike = (bar.symbol, vol.value)

    def on_time_slice(self, engine: TradingEngine, risk: RiskEngine, ts_ns: int) -> None:
        if self._spike is not None and self.name not in risk.tripped:
            symbol, value = self._spike
            self.fire(f"{symbol} realized volatility {value:.4g} over {self.period} bars exceeds threshold "
                      f"{self.threshold:.4g}", value=value, limit=self.threshold, symbol=symbol)

    def reset(self) -> None:
        self._spike = None


class StaleData(Breaker):
    """Fires when a symbol has had no market data for more than ``max_age_seconds`` while its
    exchange is open (age counted from the later of its last data and the session open).

    Checked at every data timestamp and, when ``check_interval_seconds`` is set, on a clock timer
    (live runs: a feed that stops sending produces no timestamps). ``symbols`` limits the watch
    list; default every symbol seen.
    """

    name = "stale_data"

    def __init__(self, max_age_seconds: float, symbols: list[str] | None = None, exchange: str = "XNYS",
                 market_hours_only: bool = True, check_interval_seconds: float | None = None,
                 action: BreachAction | str = BreachAction.HALT) -> None:
        super().__init__(action)
        self.max_age_ns = int(max_age_seconds * NS_PER_SECOND)
        self.symbols = None if symbols is None else [s.upper() for s in symbols]
        self.exchange = exchange
        self.market_hours_only = market_hours_only
        self.check_interval_seconds = check_interval_seconds
        self.last_seen: dict[str, int] = {}

    def attach(self, engine: TradingEngine, risk: RiskEngine) -> None:
        super().attach(engine, risk)
        engine.bus.subscribe("data.*", self._on_data)
        if self.symbols is not None:
            now = engine.now_ns()
            for s in self.symbols:
                self.last_seen.setdefault(s, now)
        if self.check_interval_seconds:
            engine.clock.set_timer("risk.stale_data", int(self.check_interval_seconds * NS_PER_SECOND),
                                   lambda event: self.evaluate(event.ts_ns))

    def _on_data(self, item: Any) -> None:
        self.last_seen[item.symbol] = item.ts_init

    def stale(self, now_ns: int) -> tuple[str, float] | None:
        """(symbol, age in seconds) of the stalest watched symbol past the limit, else None."""
        open_ns = None
        if self.market_hours_only:
            open_ns, close_ns = session_bounds(now_ns, self.exchange)
            if not open_ns <= now_ns < close_ns:
                return None
        worst: tuple[str, float] | None = None
        for symbol in self.symbols if self.symbols is not None else self.last_seen:
            seen = self.last_seen.get(symbol, open_ns or now_ns)
            if open_ns is not None and seen < open_ns:
                seen = open_ns
            age = now_ns - seen
            if age > self.max_age_ns and (worst is None or age > worst[1]):
                worst = (symbol, age)
        return None if worst is None else (worst[0], worst[1] / NS_PER_SECOND)

    def evaluate(self, now_ns: int) -> bool:
        if self.risk is None or self.name in self.risk.tripped:
            return False
        found = self.stale(now_ns)
        if found is None:
            return False
        symbol, age = found
        return self.fire(f"no market data for {symbol} for {age:,.0f}s, limit {self.max_age_ns / NS_PER_SECOND:,.0f}s",
                         value=age, limit=self.max_age_ns / NS_PER_SECOND, symbol=symbol)

    def on_time_slice(self, engine: TradingEngine, risk: RiskEngine, ts_ns: int) -> None:
        self.evaluate(ts_ns)


class RejectStreak(Breaker):
    """Fires after ``count`` consecutive ``OrderRejected`` events (an acceptance or fill resets the streak)."""

    name = "reject_streak"

    def __init__(self, count: int = 5, action: BreachAction | str = BreachAction.HALT) -> None:
        super().__init__(action)
        if count < 1:
            raise ValueError(f"RejectStreak.count must be >= 1, got {count!r}")
        self.count = count
        self.streak = 0

    def attach(self, engine: TradingEngine, risk: RiskEngine) -> None:
        super().attach(engine, risk)
        engine.bus.subscribe("events", self._on_event)

    def _on_event(self, event: ev.Event) -> None:
        t = type(event)
        if t is ev.OrderRejected:
            self.streak += 1
            if self.streak >= self.count:
                self.fire(f"{self.streak} consecutive order rejections (last: {event.reason}), limit {self.count}",  # type: ignore[attr-defined]
                          value=self.streak, limit=self.count, symbol=event.symbol)  # type: ignore[attr-defined]
        elif t is ev.OrderAccepted or t is ev.OrderFilled:
            self.streak = 0

    def reset(self) -> None:
        self.streak = 0
