"""Cross-sectional momentum rotation on daily bars."""

from __future__ import annotations

from pydantic import Field

from workbench.engine.indicators import RollingWindow
from workbench.engine.strategy import Strategy, StrategyParams
from workbench.model.data import Bar


class MomentumRotationParams(StrategyParams):
    lookback: int = Field(126, ge=2, description="momentum lookback (bars): return over this many bars")
    rebalance_every: int = Field(21, ge=1, description="rebalance every N trading days")
    top: int = Field(2, ge=1, description="number of symbols held")
    gross_percent: float = Field(0.95, gt=0, le=1.0, description="share of equity invested, split equally")


class MomentumRotation(Strategy):
    """Every ``rebalance_every`` days hold the ``top`` symbols with the highest trailing return over
    ``lookback`` days (only symbols with a full window and a positive return), equally weighted at
    ``gross_percent`` of equity. Sells come first (symbols that dropped out, and holdings above their
    weight); the buys follow once those sells have filled, so the proceeds pay for them (a cash
    account). Decides in :meth:`on_time_slice`, once all
    symbols' bars of the day are in, so the orders meet the next day's open.
    """

    Params = MomentumRotationParams

    def on_start(self) -> None:
        self._closes: dict[str, RollingWindow[float]] = {}
        self._last_seen: dict[str, int] = {}
        self._days = 0
        self._to_buy: list[str] = []  # bought once the sells that pay for them have filled

    def on_bar(self, bar: Bar) -> None:
        w = self._closes.get(bar.symbol)
        if w is None:
            w = self._closes[bar.symbol] = RollingWindow(self.params.lookback + 1)
        w.append(bar.close)
        self._last_seen[bar.symbol] = bar.ts_init

    def on_time_slice(self, ts_ns: int) -> None:
        self._days += 1
        if self._to_buy and not self.open_orders():
            self._buy(self._to_buy)
            self._to_buy = []
        if self._days % self.params.rebalance_every:
            return
        p = self.params
        scores = {}
        for sym, w in self._closes.items():
            if w.ready and self._last_seen.get(sym) == ts_ns:
                past = w[len(w) - 1]
                if past > 0:
                    scores[sym] = w[0] / past - 1.0
        ranked = sorted((s for s in scores if scores[s] > 0), key=lambda s: (-scores[s], s))[: p.top]
        weight = p.gross_percent / p.top
        equity = self.portfolio.equity
        selling = False
        for sym in sorted(set(self.portfolio.positions) | set(ranked)):
            held = self.position_quantity(sym)
            if not held:
                continue
            if sym not in ranked:
                self.close_position(sym)
                selling = True
            else:  # trim a winner that grew above its weight
                target = self._engine.instrument(sym).round_quantity(equity * weight / self.last_price(sym))
                if target < held:
                    self.order_target_quantity(sym, target)
                    selling = True
        if selling:  # a cash account: buy with the proceeds once the sells have filled
            self._to_buy = ranked
        else:
            self._buy(ranked)

    def _buy(self, symbols: list[str]) -> None:
        weight = self.params.gross_percent / self.params.top
        for sym in symbols:
            self.order_target_percent(sym, weight)
