"""Fill, slippage and commission models of the simulated broker.

Fill rules (what :class:`~workbench.brokers.simulated.SimulatedBroker` does)
----------------------------------------------------------------------------
An order is only ever matched against market data that **starts at or after** the time it was
submitted (or last modified), by the engine's clock: a bar whose ``ts_event`` (its start) is
earlier, or a quote or trade print stamped earlier, is skipped for that order, so an order placed
by a timer at 10:01:30 meets the 10:02 bar first, never the 10:01-10:02 bar's open. Fills are
stamped with the data's ``ts_event`` (a market-on-close fill with the bar's end, the close), so no
fill is ever stamped before its order existed. With a live feed and the wall clock this means an
order waits for the first bar that starts after it (a real order cannot trade at an earlier open).

* **Market**: at the next quote's ask (buy) / bid (sell) when the symbol has quotes, otherwise at
  the next bar's open (or the next trade's price), then slipped adversely by the slippage model.
* **Market on open / on close**: auction orders; they ignore quotes. A market-on-open order fills
  at the open of the first bar (or print) of the next session to open at or after it was placed;
  a market-on-close order at the close of the bar that ends at the close of the session in
  progress (or the next one), i.e. the last regular-session bar; both slipped like market orders.
* **Limit**: marketable on its first evaluation (ask <= limit for a buy / bid >= limit for a sell,
  or a bar opening at or through the limit) it fills as a taker at that quote / open. Resting, on
  quotes it fills as a maker **at its limit price** when the ask reaches the limit (buy) or the bid
  reaches it (sell): the market had to trade through the resting order to get there, as in
  NautilusTrader's L1 matching. On bars a resting limit that the open reaches or gaps through fills
  at the open (price improvement, as backtrader's ``_try_exec_limit``): a fill is never outside the
  bar's range. Otherwise it fills at its limit when the bar trades *through* it (low < limit for a
  buy, high > limit for a sell), or touches it with ``limit_requires_trade_through=False``.
  A limit whose price is modified is a new arrival: marketable, it takes the market as a taker.
* **Stop**: triggers when the ask (buy) / bid (sell) reaches the stop, or a bar's high (buy) /
  low (sell) reaches it; fills at the quote, at the bar open if the bar gapped through the stop,
  else at the stop price; slipped adversely.
* **Stop-limit**: triggers like a stop, then rests as a limit. Triggered at a bar's open it is a
  limit for that whole bar (at the open if marketable there, else by the limit rule inside the
  bar, as backtrader's ``_try_exec_stoplimit``). Triggered inside a bar (not at the open) it can
  fill from the next bar on only, since the bar does not say whether the price came back to the
  limit after the trigger.
* **Trailing stop**: the stop follows the most favourable price since acceptance (bid for a sell,
  ask for a buy; the bar high/low) by a fixed amount or a percent. On a bar the trigger is checked
  against the stop as it stood *before* the bar, and only then is the extreme updated with the
  bar: the conservative order.
* **Intrabar order** (bars only): what executes at the open first (market orders, and limit
  orders the open trades through or at), then stop-type orders, then the other limit orders. When
  a take-profit and a stop-loss of one OCO group are both touched inside the same bar, the
  stop-loss is assumed hit first (the adverse path), and the sibling is canceled; a take-profit
  the bar opens through fills first, since the open comes before anything inside the bar.
* **Reduce-only**: never opens, increases or flips a position. Rejected on arrival when it would
  not reduce the position; at fill time clipped to the position left (its quantity shrunk with an
  ``OrderModified``, so it ends FILLED) or canceled when none is left (NautilusTrader's matching
  engine). Pre-trade checks: :mod:`workbench.brokers.checks`.
* **Partial fills**: with ``max_volume_participation`` set, the fills on one bar are capped at
  that share of the bar's volume (all orders of the symbol together); the rest stays working.
* **Time in force**: DAY orders expire at the close of the session in progress (or the next one
  when placed outside it), from the exchange calendar; GTD at ``expire_time_ns``. A bar that starts
  before the expiry can still fill the order (the session's last minute bar, a daily bar); the order
  expires once such a bar is over. IOC fills what it can on its first evaluation and cancels the
  rest; FOK fills completely on its first evaluation or is canceled without a fill. On bars the
  first evaluation is the arrival at the open: an IOC/FOK limit not marketable at the open is
  canceled (it never rests). On quotes an IOC/FOK order gets at most the displayed size at the
  touch (a FOK larger than it gets nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.brokers.impact import ImpactModel
from workbench.model.enums import OrderSide


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """Adverse price move applied to taker fills: ``bps`` of the price plus ``ticks`` ticks.

    A buy pays ``price * (1 + bps/1e4) + ticks * tick_size``; a sell receives
    ``price * (1 - bps/1e4) - ticks * tick_size``.
    """

    bps: float = 0.0
    ticks: float = 0.0

    def __post_init__(self) -> None:
        if self.bps < 0 or self.ticks < 0:
            raise ValueError(f"slippage must be >= 0, got bps={self.bps} ticks={self.ticks}")

    def apply(self, price: float, side: OrderSide, tick_size: float) -> float:
        if not self.bps and not self.ticks:
            return price
        move = price * self.bps * 1e-4 + self.ticks * tick_size
        return price + move if side is OrderSide.BUY else price - move


class CommissionModel:
    """Base class: ``commission(quantity, price, multiplier) -> currency`` (>= 0)."""

    def commission(self, quantity: float, price: float, multiplier: float = 1.0) -> float:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ZeroCommission(CommissionModel):
    def commission(self, quantity: float, price: float, multiplier: float = 1.0) -> float:
        return 0.0


@dataclass(frozen=True, slots=True)
class PerShareCommission(CommissionModel):
    """``rate`` per share, at least ``minimum`` per order fill, at most ``maximum_pct`` of notional.

    Defaults follow Interactive Brokers' US fixed tiers: USD 0.005/share, USD 1.00 minimum,
    1% of trade value maximum.
    """

    rate: float = 0.005
    minimum: float = 1.0
    maximum_pct: float | None = 1.0

    def commission(self, quantity: float, price: float, multiplier: float = 1.0) -> float:
        fee = max(quantity * self.rate, self.minimum)
        if self.maximum_pct is not None:
            fee = min(fee, quantity * price * multiplier * self.maximum_pct / 100.0)
        return fee


@dataclass(frozen=True, slots=True)
class PercentCommission(CommissionModel):
    """``bps`` basis points of the fill's notional, at least ``minimum``."""

    bps: float = 1.0
    minimum: float = 0.0

    def commission(self, quantity: float, price: float, multiplier: float = 1.0) -> float:
        return max(quantity * price * multiplier * self.bps * 1e-4, self.minimum)


@dataclass(frozen=True, slots=True)
class FillModel:
    """Settings of the simulated broker's matching (see the module docstring for the rules).

    Parameters
    ----------
    slippage : SlippageModel
    max_volume_participation : float | None
        Cap on the share of a bar's volume the broker fills (0 < x <= 1); None = no cap.
    limit_requires_trade_through : bool
        Resting limits on bars need the price to trade through the limit (conservative, default).
    impact : ImpactModel | None
        Market impact of taker fills (:mod:`workbench.brokers.impact`); None (default) = none.
    """

    slippage: SlippageModel = SlippageModel()
    max_volume_participation: float | None = None
    limit_requires_trade_through: bool = True
    impact: ImpactModel | None = None

    def __post_init__(self) -> None:
        p = self.max_volume_participation
        if p is not None and not 0 < p <= 1:
            raise ValueError(f"max_volume_participation must be in (0, 1], got {p}")
