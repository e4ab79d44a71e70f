"""Market impact of the simulated broker's taker fills (off unless a :class:`ImpactModel` is set).

For a taker fill of ``Q`` shares of a symbol with daily volatility ``sigma`` (fraction) and average
daily volume ``V`` (shares), at market price ``p`` (the quote or bar price the fill rules pick):

* **temporary impact** (square-root law): the fill pays ``Y * sigma * sqrt(Q / V) * p`` on top of the
  price, against the trader (Torre & Ferrari, BARRA Market Impact Model, 1997; Almgren, Thum,
  Hauptmann & Li, "Direct estimation of equity market impact", Risk 2005; Toth et al., "Anomalous
  price impact and the critical nature of liquidity in financial markets", PRX 2011);
* **permanent impact** (linear): after the fill the market is ``gamma * sigma * (Q / V) * p`` higher
  (buy) or lower (sell) for the rest of the session (Almgren et al. 2005: linear permanent impact);
  later fills of the symbol that session trade from the moved price;
* **spread cost**: on bars (no quotes) a taker also pays ``half_spread_bps`` of the price; with quotes
  the fill is already at the bid or ask.

Maker fills (resting limits at their price) pay none of these. Participation caps are the fill
model's ``max_volume_participation``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["ImpactModel"]


@dataclass(frozen=True)
class ImpactModel:
    """Parameters of the impact model (see the module docstring).

    ``daily_volatility`` (fraction per day) and ``daily_volume`` (shares per day) are one value for
    every symbol or a mapping per symbol (a symbol missing from a mapping gets no impact).
    """

    daily_volatility: float | Mapping[str, float] = 0.01
    daily_volume: float | Mapping[str, float] = field(default_factory=dict)
    temporary_coefficient: float = 1.0
    permanent_coefficient: float = 0.0
    half_spread_bps: float = 0.0

    def __post_init__(self) -> None:
        for name in ("temporary_coefficient", "permanent_coefficient", "half_spread_bps"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"ImpactModel.{name} must be >= 0 and finite, got {value!r}")

    @staticmethod
    def _get(value: float | Mapping[str, float], symbol: str) -> float | None:
        return value.get(symbol) if isinstance(value, Mapping) else float(value)

    def participation(self, symbol: str, quantity: float) -> float | None:
        """``Q / V`` (None when the symbol has no daily volume)."""
        volume = self._get(self.daily_volume, symbol)
        return quantity / volume if volume else None

    def temporary(self, symbol: str, quantity: float, price: float, quoted: bool) -> float:
        """Price concession of one taker fill (currency per share, >= 0)."""
        share = self.participation(symbol, quantity)
        sigma = self._get(self.daily_volatility, symbol)
        cost = 0.0 if quoted else price * self.half_spread_bps * 1e-4
        if share is not None and sigma:
            cost += self.temporary_coefficient * sigma * math.sqrt(share) * price
        return cost

    def permanent(self, symbol: str, quantity: float, price: float) -> float:
        """Lasting move of the market after a fill of ``quantity`` shares (currency per share, >= 0)."""
        share = self.participation(symbol, quantity)
        sigma = self._get(self.daily_volatility, symbol)
        if share is None or not sigma or not self.permanent_coefficient:
            return 0.0
        return self.permanent_coefficient * sigma * share * price
