"""Broker snapshots (reports), used by reconciliation after a restart."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.model.enums import OrderSide, OrderStatus

_R = {"frozen": True, "slots": True, "kw_only": True}


@dataclass(**_R)
class OrderStatusReport:
    order_id: str
    symbol: str
    side: OrderSide
    quantity: float
    filled_quantity: float
    avg_fill_price: float
    status: OrderStatus
    ts_last: int
    broker_order_id: str = ""


@dataclass(**_R)
class FillReport:
    fill_id: str
    order_id: str
    symbol: str
    side: OrderSide
    quantity: float
    price: float
    commission: float
    ts_event: int


@dataclass(**_R)
class PositionReport:
    symbol: str
    quantity: float
    avg_price: float
    ts_last: int
