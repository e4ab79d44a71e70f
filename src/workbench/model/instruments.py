"""Tradable instruments."""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.model.enums import AssetClass


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable instrument.

    Parameters
    ----------
    symbol : str
        Ticker in upper case, e.g. ``"SPY"``.
    asset_class : AssetClass
    currency : str
        ISO code of the quote currency, e.g. ``"USD"``.
    tick_size : float
        Minimum price increment, in ``currency``.
    lot_size : float
        Minimum quantity increment, in shares/contracts/units.
    multiplier : float
        Contract multiplier: notional = quantity * price * multiplier.
    exchange : str
        Exchange calendar code (exchange_calendars), e.g. ``"XNYS"``.
    """

    symbol: str
    asset_class: AssetClass = AssetClass.EQUITY
    currency: str = "USD"
    tick_size: float = 0.01
    lot_size: float = 1.0
    multiplier: float = 1.0
    exchange: str = "XNYS"

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError("Instrument.symbol must not be empty")
        for name in ("tick_size", "lot_size", "multiplier"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"Instrument.{name} must be positive and finite, got {value!r}")

    def round_price(self, price: float) -> float:
        """Snap ``price`` to the nearest tick (ties away from zero)."""
        ticks = math.floor(price / self.tick_size + 0.5)
        return round(ticks * self.tick_size, 10)

    def round_quantity(self, quantity: float) -> float:
        """Snap ``quantity`` down to a whole number of lots (never rounds a quantity up)."""
        lots = math.floor(quantity / self.lot_size + 1e-9)
        return round(lots * self.lot_size, 10)

    def notional(self, quantity: float, price: float) -> float:
        """Notional value in ``currency``: ``quantity * price * multiplier``."""
        return quantity * price * self.multiplier


def equity(symbol: str, exchange: str = "XNYS") -> Instrument:
    """A US equity or ETF: USD, tick 0.01, lot 1 share, multiplier 1."""
    return Instrument(symbol=symbol.upper(), exchange=exchange)
