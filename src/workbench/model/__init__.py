"""Pure domain model: no I/O, no vendor imports."""

from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import (
    AssetClass,
    ContingencyType,
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
    TradingState,
    TrailingOffsetType,
)
from workbench.model.instruments import Instrument, equity
from workbench.model.orders import Order
from workbench.model.position import Position

__all__ = [
    "AssetClass",
    "Bar",
    "ContingencyType",
    "Instrument",
    "LiquiditySide",
    "Order",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionSide",
    "QuoteTick",
    "TimeInForce",
    "TradeTick",
    "TradingState",
    "TrailingOffsetType",
    "equity",
]
