"""The simulated broker's record of one order, shared by its matching, checks and persistence."""

from __future__ import annotations

from typing import Any

from workbench.model.enums import ContingencyType, OrderStatus
from workbench.model.orders import Order

NEVER = 1 << 62
EPS = 1e-9
# order fields added after the snapshot format was first written: values for older snapshots
SNAPSHOT_DEFAULTS: dict[str, Any] = {"reduce_only": False, "ts_eligible": 0}


class SimOrder:
    """The simulated broker's own record of an order (quantities in shares, prices in the
    instrument's currency, times in ns since epoch UTC)."""

    __slots__ = (
        "order_id", "symbol", "side", "order_type", "quantity", "filled", "limit_price", "stop_price",
        "trailing_offset", "trailing_type", "tif", "expire_ns", "status", "fresh", "triggered", "extreme",
        "avg_price", "oco", "ts_last", "broker_order_id", "auction_ns", "reduce_only", "ts_eligible",
    )

    def __init__(self, order: Order, expire_ns: int, broker_order_id: str) -> None:
        self.order_id = order.order_id
        self.symbol = order.symbol
        self.side = order.side
        self.order_type = order.order_type
        self.quantity = order.quantity
        self.filled = 0.0
        self.limit_price = order.limit_price
        self.stop_price = order.stop_price
        self.trailing_offset = order.trailing_offset
        self.trailing_type = order.trailing_offset_type
        self.tif = order.time_in_force
        self.expire_ns = expire_ns
        self.status = OrderStatus.ACCEPTED
        self.fresh = True
        self.triggered = False
        self.extreme: float | None = None
        self.avg_price = 0.0
        self.oco: tuple[str, ...] = (
            order.linked_order_ids if order.contingency is ContingencyType.OCO else ()
        )
        self.ts_last = 0
        self.broker_order_id = broker_order_id
        self.auction_ns = 0  # MARKET_ON_OPEN / MARKET_ON_CLOSE: the auction it takes part in
        self.reduce_only = order.reduce_only
        # earliest start (ns) of the data it may be matched against: its submission (or last
        # modification) time; a bar or quote that starts earlier happened (partly) before it existed
        self.ts_eligible = 0

    @property
    def leaves(self) -> float:
        return self.quantity - self.filled
