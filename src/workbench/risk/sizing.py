"""Position sizing, dynamic stops and the ``LiveSignal`` a strategy emits.

Sizing functions return a quantity in shares (or contracts), rounded *down* to whole lots, never
negative. Prices are in the instrument's currency; equity in the account currency; volatility as
a fraction (0.2 = 20%).

* :func:`fixed_fractional_size`: risk a fraction of equity between entry and stop
  (Van K. Tharp, *Trade Your Way to Financial Freedom*, ch. 14: "percent risk" model).
* :func:`atr_size`: the same with the stop ``atr_multiple`` ATRs away (the "Turtle" unit).
* :func:`volatility_target_size`: scale a position so its volatility is a target share of equity
  (Moreira & Muir 2017, "Volatility-Managed Portfolios").
* :func:`confidence_scaled_size`: shrink a size by the signal's confidence.
* :func:`atr_stop`, :class:`TrailingStop`: stops an ATR multiple away, fixed or ratcheting.
* :class:`LiveSignal` and :func:`submit_signal`: journal the signal, then send the entry with its
  exit legs (a take-profit and a stop, or a trailing stop) as a bracket.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.model import events as ev
from workbench.model.enums import ContingencyType, OrderSide, OrderType, TimeInForce, TrailingOffsetType
from workbench.model.orders import Order

if TYPE_CHECKING:
    from workbench.engine.strategy import Strategy


def _lots(quantity: float, lot_size: float) -> float:
    if not quantity > 0 or not math.isfinite(quantity):
        return 0.0
    return math.floor(quantity / lot_size + 1e-9) * lot_size


def _positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")


def fixed_fractional_size(equity: float, risk_fraction: float, entry: float, stop: float, *,
                          multiplier: float = 1.0, lot_size: float = 1.0) -> float:
    """Shares such that hitting ``stop`` loses ``risk_fraction`` of ``equity``.

    ``quantity = equity * risk_fraction / (|entry - stop| * multiplier)``, rounded down to lots.

    Raises
    ------
    ValueError
        If ``entry == stop`` or an input is not positive.
    """
    for name, value in (("equity", equity), ("risk_fraction", risk_fraction), ("entry", entry), ("stop", stop)):
        _positive(name, value)
    distance = abs(entry - stop) * multiplier
    if distance == 0:
        raise ValueError(f"entry and stop must differ, both are {entry!r}")
    return _lots(equity * risk_fraction / distance, lot_size)


def atr_size(equity: float, risk_fraction: float, atr: float, atr_multiple: float = 2.0, *, multiplier: float = 1.0,
             lot_size: float = 1.0) -> float:
    """Shares such that a move of ``atr_multiple * atr`` loses ``risk_fraction`` of ``equity``."""
    for name, value in (("equity", equity), ("risk_fraction", risk_fraction), ("atr", atr), ("atr_multiple", atr_multiple)):
        _positive(name, value)
    return _lots(equity * risk_fraction / (atr * atr_multiple * multiplier), lot_size)


def volatility_target_size(equity: float, target_volatility: float, price: float, volatility: float, *,
                           max_leverage: float = 1.0, multiplier: float = 1.0, lot_size: float = 1.0) -> float:
    """Shares whose position volatility is ``target_volatility`` of equity.

    ``weight = min(target_volatility / volatility, max_leverage)``;
    ``quantity = equity * weight / (price * multiplier)``. ``volatility`` and the target share
    the same horizon (both annualized, e.g. a RollingVolatility with ``annualization=252``).
    An ATR-based volatility is ``atr / price`` per bar.
    """
    for name, value in (("equity", equity), ("target_volatility", target_volatility), ("price", price),
                        ("volatility", volatility), ("max_leverage", max_leverage)):
        _positive(name, value)
    weight = min(target_volatility / volatility, max_leverage)
    return _lots(equity * weight / (price * multiplier), lot_size)


def confidence_scaled_size(quantity: float, confidence: float, *, min_confidence: float = 0.0, exponent: float = 1.0,
                           lot_size: float = 1.0) -> float:
    """``quantity * confidence ** exponent``, or 0 below ``min_confidence``; ``confidence`` in [0, 1].

    Raises
    ------
    ValueError
        If ``confidence`` is outside [0, 1].
    """
    if not 0.0 <= confidence <= 1.0:
        raise ValueError(f"confidence must be in [0, 1], got {confidence!r}")
    if confidence < min_confidence:
        return 0.0
    return _lots(quantity * confidence ** exponent, lot_size)


def atr_stop(entry: float, atr: float, multiple: float, direction: int) -> float:
    """Stop ``multiple`` ATRs against a position of ``direction`` (+1 long: below entry; -1 short: above)."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction!r}")
    _positive("atr", atr)
    return entry - direction * multiple * atr


class TrailingStop:
    """A stop ``offset`` (price units, e.g. ``3 * ATR``) behind the best price seen; it only tightens.

    ``update(price)`` returns the stop and ``hit(price)`` says whether ``price`` crossed it. For a
    broker-held trailing stop use :func:`submit_signal` with ``trailing=True``.
    """

    def __init__(self, direction: int, offset: float, price: float) -> None:
        if direction not in (1, -1):
            raise ValueError(f"direction must be +1 or -1, got {direction!r}")
        _positive("offset", offset)
        self.direction = direction
        self.offset = offset
        self.best = price
        self.stop = price - direction * offset

    def update(self, price: float, offset: float | None = None) -> float:
        """Move the best price (and the stop with it) if ``price`` is better; optionally a new offset."""
        if offset is not None:
            _positive("offset", offset)
            self.offset = offset
        if (price - self.best) * self.direction > 0:
            self.best = price
        candidate = self.best - self.direction * self.offset
        if (candidate - self.stop) * self.direction > 0:
            self.stop = candidate
        return self.stop

    def hit(self, price: float) -> bool:
        return (price - self.stop) * self.direction <= 0


class LiveSignal(BaseModel):
    """A trading decision: the shape strategies emit and the journal keeps (``SignalGenerated``).

    ``direction`` +1 long, -1 short, 0 flat; ``confidence`` in [0, 1]; ``entry``/``target``/``stop``
    prices (currency; ``entry`` None = market); ``size`` in shares; ``inputs`` the indicator values
    behind the decision.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(min_length=1)
    direction: int = Field(ge=-1, le=1)
    confidence: float = Field(1.0, ge=0, le=1)
    entry: float | None = Field(None, gt=0)
    target: float | None = Field(None, gt=0)
    stop: float | None = Field(None, gt=0)
    size: float | None = Field(None, ge=0)
    reason: str = ""
    inputs: dict[str, float] = {}

    @model_validator(mode="after")
    def _sides(self) -> LiveSignal:
        ref = self.entry
        if ref is not None and self.direction:
            d = self.direction
            if self.stop is not None and (ref - self.stop) * d <= 0:
                raise ValueError(f"stop {self.stop} must be on the losing side of entry {ref} for direction {d}")
            if self.target is not None and (self.target - ref) * d <= 0:
                raise ValueError(f"target {self.target} must be on the winning side of entry {ref} for direction {d}")
        return self

    def to_event(self, ts_event: int, strategy_id: str = "") -> ev.SignalGenerated:
        return ev.SignalGenerated(ts_event=ts_event, symbol=self.symbol, direction=self.direction, strategy_id=strategy_id,
                                  confidence=self.confidence, entry=self.entry, target=self.target, stop=self.stop,
                                  size=self.size, reason=self.reason, inputs=dict(self.inputs))

    @classmethod
    def from_event(cls, event: ev.SignalGenerated) -> LiveSignal:
        return cls(symbol=event.symbol, direction=event.direction, confidence=event.confidence, entry=event.entry,
                   target=event.target, stop=event.stop, size=event.size, reason=event.reason, inputs=event.inputs)


def submit_signal(strategy: Strategy, signal: LiveSignal, *, trailing: bool = False,
                  time_in_force: TimeInForce = TimeInForce.GTC) -> Order | None:
    """Journal ``signal`` and send its orders; returns the entry order (None when nothing to trade).

    ``direction`` 0 closes the position. Otherwise the entry (market, or limit at ``entry``) buys
    or sells ``size`` shares; once it fills, its exits go to the broker as one-cancels-other legs:
    a take-profit limit at ``target`` (if any) and a stop at ``stop`` (if any) - or, with
    ``trailing=True``, a trailing stop whose offset is the entry-to-stop distance (price units).

    Raises
    ------
    ValueError
        If ``size`` is missing or zero for a directional signal, or ``trailing`` without ``stop``.
    """
    eng = strategy._engine
    eng.record(signal.to_event(eng.now_ns(), strategy.strategy_id))
    if signal.direction == 0:
        return strategy.close_position(signal.symbol)
    if not signal.size:
        raise ValueError(f"signal for {signal.symbol} has no size; size it with workbench.risk.sizing first")
    if trailing and signal.stop is None:
        raise ValueError("trailing=True needs a stop (its distance to the entry is the trailing offset)")
    side = OrderSide.BUY if signal.direction > 0 else OrderSide.SELL
    legs = [(kind, x) for kind, x in (("take_profit", signal.target), ("stop", signal.stop)) if x is not None]
    ids = [eng.next_order_id() for _ in range(1 + len(legs))]
    entry = eng.create_order(
        signal.symbol, side, signal.size, OrderType.LIMIT if signal.entry is not None else OrderType.MARKET,
        limit_price=signal.entry, time_in_force=time_in_force, strategy_id=strategy.strategy_id, tag="signal_entry",
        order_id=ids[0], contingency=ContingencyType.OTO if legs else ContingencyType.NONE, linked_order_ids=tuple(ids[1:]),
    )
    children = []
    exit_side = side.opposite()
    for i, (kind, price) in enumerate(legs, start=1):
        others = tuple(x for x in ids[1:] if x != ids[i])
        common: dict[str, Any] = {"reduce_only": True, "parent_order_id": ids[0], "order_id": ids[i],
                                  "contingency": ContingencyType.OCO if others else ContingencyType.NONE,
                                  "linked_order_ids": others, "strategy_id": strategy.strategy_id}
        if kind == "take_profit":
            children.append(eng.create_order(signal.symbol, exit_side, entry.quantity, OrderType.LIMIT, limit_price=price,
                                             tag="take_profit", **common))
        elif trailing:
            ref = signal.entry if signal.entry is not None else eng.portfolio.last_prices.get(signal.symbol)
            if ref is None:
                raise ValueError(f"no entry or last price for {signal.symbol} to set the trailing offset")
            children.append(eng.create_order(signal.symbol, exit_side, entry.quantity, OrderType.TRAILING_STOP,
                                             trailing_offset=abs(ref - price), trailing_offset_type=TrailingOffsetType.PRICE,
                                             tag="trailing_stop", **common))
        else:
            children.append(eng.create_order(signal.symbol, exit_side, entry.quantity, OrderType.STOP, stop_price=price,
                                             tag="stop_loss", **common))
    if children:
        eng.hold_until_filled(entry, children)
    return eng.submit_order(entry)
