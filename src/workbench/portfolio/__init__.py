"""Portfolio accounting: cash ledger, positions, exposure and equity."""

from workbench.portfolio.ledger import CashLedger, LedgerEntry
from workbench.portfolio.portfolio import Portfolio

__all__ = ["CashLedger", "LedgerEntry", "Portfolio"]
