"""Cash ledger: every cash movement (trade settlement, commission, deposit) in one currency."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One cash movement: ``amount`` (currency; + in, - out), ``kind`` and a reference."""

    ts_event: int
    amount: float
    kind: str  # "deposit" | "trade" | "commission" | "correction"
    reference: str = ""


class CashLedger:
    """Cash balance in ``currency`` with its entries.

    ``balance`` is the starting cash plus every entry; ``commissions`` the sum of commissions paid.
    """

    __slots__ = ("currency", "balance", "commissions", "entries", "keep_entries")

    def __init__(self, starting_cash: float = 0.0, currency: str = "USD", keep_entries: bool = True) -> None:
        if starting_cash < 0:
            raise ValueError(f"starting_cash must be >= 0, got {starting_cash}")
        self.currency = currency
        self.balance = 0.0
        self.commissions = 0.0
        self.entries: list[LedgerEntry] = []
        self.keep_entries = keep_entries
        if starting_cash:
            self.post(0, starting_cash, "deposit")

    def post(self, ts_event: int, amount: float, kind: str, reference: str = "") -> None:
        """Record a cash movement (``amount`` > 0 adds cash)."""
        self.balance += amount
        if kind == "commission":
            self.commissions -= amount
        if self.keep_entries:
            self.entries.append(LedgerEntry(ts_event, amount, kind, reference))
