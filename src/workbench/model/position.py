"""Positions: long or short, average price, realized and unrealized P&L."""

from __future__ import annotations

from workbench.model.enums import OrderSide, PositionSide

_EPS = 1e-9


class Position:
    """Net position in one instrument.

    Attributes
    ----------
    symbol : str
    quantity : float
        Signed shares (negative = short).
    avg_price : float
        Average entry price of the open quantity (currency); 0 when flat.
    realized_pnl : float
        Cumulative realized P&L in currency, **net of commissions** (every commission paid on this
        symbol is subtracted when paid).
    commissions : float
        Cumulative commissions paid (currency).
    multiplier : float
        Contract multiplier of the instrument.

    Accounting: a fill in the direction of the position (or from flat) moves the average price to
    the quantity-weighted mean; a fill against it realizes ``closed * (price - avg_price) * sign``
    on the closed part; a fill larger than the position closes it and opens the remainder on the
    other side at the fill price (a flip).
    """

    __slots__ = ("avg_price", "commissions", "multiplier", "quantity", "realized_pnl", "symbol", "ts_last", "ts_opened")

    def __init__(self, symbol: str, multiplier: float = 1.0) -> None:
        self.symbol = symbol
        self.quantity = 0.0
        self.avg_price = 0.0
        self.realized_pnl = 0.0
        self.commissions = 0.0
        self.multiplier = multiplier
        self.ts_opened = 0
        self.ts_last = 0

    @property
    def side(self) -> PositionSide:
        if self.quantity > _EPS:
            return PositionSide.LONG
        if self.quantity < -_EPS:
            return PositionSide.SHORT
        return PositionSide.FLAT

    @property
    def is_flat(self) -> bool:
        return -_EPS < self.quantity < _EPS

    def apply_fill(self, side: OrderSide, quantity: float, price: float, commission: float, ts: int = 0) -> float:
        """Apply a fill; return the P&L it realized (currency, before commission).

        Raises
        ------
        ValueError
            If ``quantity`` is not positive or ``price`` is not positive.
        """
        if not quantity > 0:
            raise ValueError(f"fill quantity must be positive, got {quantity!r}")
        if not price > 0:
            raise ValueError(f"fill price must be positive, got {price!r}")
        signed = quantity if side is OrderSide.BUY else -quantity
        q = self.quantity
        realized = 0.0
        if q == 0.0 or (q > 0) == (signed > 0):
            if q == 0.0:
                self.ts_opened = ts
            new_q = q + signed
            self.avg_price = (self.avg_price * abs(q) + price * quantity) / abs(new_q)
            self.quantity = new_q
        else:
            closing = min(quantity, abs(q))
            direction = 1.0 if q > 0 else -1.0
            realized = closing * (price - self.avg_price) * direction * self.multiplier
            new_q = q + signed
            if -_EPS < new_q < _EPS:
                self.quantity = 0.0
                self.avg_price = 0.0
            elif (new_q > 0) != (q > 0):  # flipped: the remainder opens at the fill price
                self.quantity = new_q
                self.avg_price = price
                self.ts_opened = ts
            else:
                self.quantity = new_q
        self.realized_pnl += realized - commission
        self.commissions += commission
        self.ts_last = ts
        return realized

    def unrealized_pnl(self, mark: float) -> float:
        """P&L of the open quantity marked at ``mark`` (currency)."""
        return self.quantity * (mark - self.avg_price) * self.multiplier

    def market_value(self, mark: float) -> float:
        """Signed market value at ``mark`` (currency)."""
        return self.quantity * mark * self.multiplier

    def __repr__(self) -> str:
        return (
            f"Position({self.symbol} {self.side} {self.quantity:g} @ {self.avg_price:.4f} "
            f"realized={self.realized_pnl:.2f})"
        )

    def _repr_html_(self) -> str:
        from workbench.model.display import position_html

        return position_html(self)
