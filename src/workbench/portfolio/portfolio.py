"""Portfolio: positions, cash, exposure and equity, marked to market.

Equity = cash + sum(quantity * last price * multiplier) over positions. The market value is kept
incrementally (one multiply-add per price update) and recomputed exactly after every fill, so the
per-bar cost stays O(1).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from workbench.model.enums import OrderSide
from workbench.model.instruments import Instrument, equity
from workbench.model.position import Position
from workbench.portfolio.ledger import CashLedger


class Portfolio:
    """Positions and cash of one account (single currency).

    Parameters
    ----------
    starting_cash : float
        Initial cash, in ``currency``.
    instruments : Mapping[str, Instrument] | None
        Known instruments (multiplier, currency); unknown symbols default to US equities.
    """

    def __init__(
        self,
        starting_cash: float = 100_000.0,
        instruments: Mapping[str, Instrument] | None = None,
        currency: str = "USD",
    ) -> None:
        self.starting_cash = float(starting_cash)
        self.ledger = CashLedger(starting_cash, currency)
        self.instruments: dict[str, Instrument] = dict(instruments or {})
        self.positions: dict[str, Position] = {}
        self.last_prices: dict[str, float] = {}
        self.market_value = 0.0  # signed, currency (= net exposure)
        self.gross_value = 0.0  # sum of |position value|, currency (= gross exposure)
        self.realized_total = 0.0  # realized P&L net of commissions, all symbols
        self.peak_equity = self.starting_cash

    # ------------------------------------------------------------------------------ instruments
    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            inst = self.instruments[symbol] = equity(symbol)
        return inst

    # -------------------------------------------------------------------------------- hot path
    def update_price(self, symbol: str, price: float) -> None:
        """Mark ``symbol`` at ``price`` (currency)."""
        pos = self.positions.get(symbol)
        if pos is not None:
            q = pos.quantity
            if q:
                d = (price - self.last_prices.get(symbol, price)) * pos.multiplier
                self.market_value += q * d
                self.gross_value += (q if q > 0 else -q) * d
        self.last_prices[symbol] = price

    # ------------------------------------------------------------------------------------ fills
    def apply_fill(
        self, symbol: str, side: OrderSide, quantity: float, price: float, commission: float, ts_event: int,
        reference: str = "",
    ) -> Position:
        """Book a fill: move cash, update the position, re-mark. Returns the position."""
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol, self.instrument(symbol).multiplier)
        realized = pos.apply_fill(side, quantity, price, commission, ts_event)
        self.realized_total += realized - commission
        signed = quantity if side is OrderSide.BUY else -quantity
        self.ledger.post(ts_event, -signed * price * pos.multiplier, "trade", reference)
        if commission:
            self.ledger.post(ts_event, -commission, "commission", reference)
        if symbol not in self.last_prices:
            self.last_prices[symbol] = price
        self._remark()
        return pos

    def _remark(self) -> None:
        lp = self.last_prices
        market = gross = 0.0
        for s, p in self.positions.items():
            q = p.quantity
            if q:
                v = q * lp.get(s, p.avg_price) * p.multiplier
                market += v
                gross += v if v >= 0 else -v
        self.market_value = market
        self.gross_value = gross

    # ---------------------------------------------------------------------------------- queries
    @property
    def cash(self) -> float:
        return self.ledger.balance

    @property
    def equity(self) -> float:
        """Cash plus signed market value of all positions (currency)."""
        return self.ledger.balance + self.market_value

    def position(self, symbol: str) -> Position | None:
        return self.positions.get(symbol)

    def quantity(self, symbol: str) -> float:
        pos = self.positions.get(symbol)
        return pos.quantity if pos is not None else 0.0

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if not p.is_flat]

    def exposure(self, symbol: str) -> float:
        """Signed market value of ``symbol`` (currency)."""
        pos = self.positions.get(symbol)
        if pos is None or not pos.quantity:
            return 0.0
        return pos.quantity * self.last_prices.get(symbol, pos.avg_price) * pos.multiplier

    @property
    def gross_exposure(self) -> float:
        """Sum of absolute position market values (currency)."""
        return sum(abs(self.exposure(s)) for s in self.positions)

    @property
    def net_exposure(self) -> float:
        """Sum of signed position market values (currency)."""
        return sum(self.exposure(s) for s in self.positions)

    @property
    def realized_pnl(self) -> float:
        """Realized P&L over all positions, net of commissions (currency)."""
        return sum(p.realized_pnl for p in self.positions.values())

    @property
    def unrealized_pnl(self) -> float:
        return sum(
            p.unrealized_pnl(self.last_prices.get(s, p.avg_price)) for s, p in self.positions.items() if p.quantity
        )

    def positions_frame(self) -> pd.DataFrame:
        """One row per symbol ever traded: quantity, avg_price, last_price, market_value, P&L."""
        rows = []
        for s, p in self.positions.items():
            last = self.last_prices.get(s, p.avg_price)
            rows.append(
                {
                    "symbol": s,
                    "quantity": p.quantity,
                    "avg_price": p.avg_price,
                    "last_price": last,
                    "market_value": p.market_value(last),
                    "unrealized_pnl": p.unrealized_pnl(last),
                    "realized_pnl": p.realized_pnl,
                    "commissions": p.commissions,
                }
            )
        cols = ["symbol", "quantity", "avg_price", "last_price", "market_value", "unrealized_pnl", "realized_pnl",
                "commissions"]
        return pd.DataFrame(rows, columns=cols)

    def __repr__(self) -> str:
        return (
            f"Portfolio(equity={self.equity:,.2f} cash={self.cash:,.2f} "
            f"positions={len(self.open_positions())})"
        )

    def _repr_html_(self) -> str:
        from workbench.model.display import table_html

        head = table_html(
            "Portfolio",
            [
                ("equity", self.equity),
                ("cash", self.cash),
                ("gross exposure", self.gross_exposure),
                ("net exposure", self.net_exposure),
                ("realized P&L", self.realized_pnl),
                ("unrealized P&L", self.unrealized_pnl),
            ],
        )
        frame = self.positions_frame()
        return head + (frame.to_html(index=False, float_format=lambda v: f"{v:,.2f}") if len(frame) else "")
