"""The simulated broker's reports (orders, fills, positions, as a real broker's reconciliation API
returns them) and the snapshot/restore of its book, so a restarted session reconciles against it.

A mixin of :class:`workbench.brokers.simulated.SimulatedBroker`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.brokers.sim_order import NEVER, SNAPSHOT_DEFAULTS, SimOrder
from workbench.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce, TrailingOffsetType
from workbench.model.reports import FillReport, OrderStatusReport, PositionReport


class BrokerState:
    """Reports and persistence of the simulated broker's book."""

    # -------------------------------------------------------------------------------- reports
    def order_status_reports(self) -> list[OrderStatusReport]:
        return [
            OrderStatusReport(order_id=so.order_id, symbol=so.symbol, side=so.side, quantity=so.quantity,
                              filled_quantity=so.filled, avg_fill_price=so.avg_price, status=so.status,
                              ts_last=so.ts_last, broker_order_id=so.broker_order_id)
            for so in self._orders.values()
        ]

    def open_order_ids(self) -> list[str]:
        return [so.order_id for orders in self._open.values() for so in orders]

    def fill_reports(self, since_ns: int = 0) -> list[FillReport]:
        return [f for f in self.fills if f.ts_event >= since_ns]

    def position_reports(self) -> list[PositionReport]:
        return [PositionReport(symbol=s, quantity=q, avg_price=a, ts_last=self._ts) for s, (q, a) in self.positions.items()]

    # ------------------------------------------------------------------------------ persistence
    def snapshot(self, recent_fills: int = 20) -> dict[str, Any]:
        """JSON-able state of the broker's book: working orders, the last ``recent_fills`` fills,
        positions, cash and id sequences (bounded in size, so it can be saved after every change).

        The live runner saves it with every journal commit, so only the fills since the previous
        commit (a handful) are needed to reconcile; 20 keeps the checkpoint ~4 KB (200 fills made it
        ~33 KB and doubled the cost of a commit)."""
        return {
            "cash": self.cash,
            "fill_seq": self._fill_seq,
            "order_seq": self._order_seq,
            "positions": {s: list(v) for s, v in self.positions.items()},
            "fills": [
                {"fill_id": f.fill_id, "order_id": f.order_id, "symbol": f.symbol, "side": str(f.side),
                 "quantity": f.quantity, "price": f.price, "commission": f.commission, "ts_event": f.ts_event}
                for f in self.fills[-recent_fills:]
            ],
            "orders": [{k: _plain(getattr(so, k)) for k in SimOrder.__slots__}
                       for orders in self._open.values() for so in orders],
            "quoted": sorted(self._quoted),
            "bid": dict(self._bid),
            "ask": dict(self._ask),
            "last": dict(self._last),
            "ts": self._ts,
            # the impact model's permanent shift of each symbol's prices in the current session
            "impact_shift": {s: [day, shift] for s, (day, shift) in self._impact_shift.items()},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Load a :meth:`snapshot`."""
        self.cash = float(state["cash"])
        self._fill_seq = int(state["fill_seq"])
        self._order_seq = int(state["order_seq"])
        self.positions = {s: [float(q), float(a)] for s, (q, a) in state["positions"].items()}
        self.fills = [
            FillReport(**{**f, "side": OrderSide(f["side"])}) for f in state["fills"]
        ]
        self._orders.clear()
        self._open.clear()
        for raw in state["orders"]:
            so = SimOrder.__new__(SimOrder)
            for k in SimOrder.__slots__:
                setattr(so, k, raw.get(k, SNAPSHOT_DEFAULTS.get(k)))
            so.side = OrderSide(raw["side"])
            so.order_type = OrderType(raw["order_type"])
            so.tif = TimeInForce(raw["tif"])
            so.status = OrderStatus(raw["status"])
            so.trailing_type = TrailingOffsetType(raw["trailing_type"]) if raw["trailing_type"] else None
            so.oco = tuple(raw["oco"])
            self._orders[so.order_id] = so
            if not so.status.is_closed:
                self._open.setdefault(so.symbol, []).append(so)
        self._next_expiry = min((so.expire_ns for o in self._open.values() for so in o), default=NEVER)
        self._quoted = set(state["quoted"])
        self._bid, self._ask, self._last = dict(state["bid"]), dict(state["ask"]), dict(state["last"])
        self._ts = int(state["ts"])
        self._impact_shift = {s: (int(day), float(shift)) for s, (day, shift) in state.get("impact_shift", {}).items()}


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, str):
        return str(v)
    return v
