"""Workbench: a Jupyter-first research-to-live trading workbench.

One engine for backtest, paper and live trading. See README.md.
"""

from workbench.model import (
    Bar,
    Instrument,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    QuoteTick,
    TimeInForce,
    TradeTick,
    equity,
)

__version__ = "0.1.0"

__all__ = [
    "Bar",
    "Instrument",
    "Order",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "QuoteTick",
    "TimeInForce",
    "TradeTick",
    "__version__",
    "equity",
]
