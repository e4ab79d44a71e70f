"""The broker interface the engine talks to.

A broker receives orders that already passed the risk engine and reports back through the
``on_event`` callback given to :meth:`Broker.connect` (order events, in the order they happened).
Snapshots for reconciliation come back as reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from workbench.model.events import OrderEvent
from workbench.model.orders import Order
from workbench.model.reports import FillReport, OrderStatusReport, PositionReport

EventCallback = Callable[[OrderEvent], None]


@runtime_checkable
class Broker(Protocol):
    """What every broker (simulated, Alpaca, IB) provides to the engine."""

    name: str

    def connect(self, on_event: EventCallback) -> None:
        """Start sending order events to ``on_event``."""

    def submit_order(self, order: Order) -> None:
        """Send a new order; the answer comes back as OrderAccepted/OrderRejected events."""

    def cancel_order(self, order_id: str) -> None: ...

    def modify_order(
        self, order_id: str, quantity: float | None = None, limit_price: float | None = None,
        stop_price: float | None = None,
    ) -> None: ...

    def order_status_reports(self) -> list[OrderStatusReport]: ...

    def fill_reports(self, since_ns: int = 0) -> list[FillReport]: ...

    def position_reports(self) -> list[PositionReport]: ...


@runtime_checkable
class MarketDataConsumer(Protocol):
    """A broker that matches orders against the engine's own market data (the simulated broker)."""

    def on_bar(self, bar: object) -> None: ...

    def on_quote(self, quote: object) -> None: ...

    def on_trade(self, trade: object) -> None: ...
