"""The emulated IB back office behind the TWS front-end: contracts, orders, executions, account.

Matching is :class:`~workbench.brokers.simulated.SimulatedBroker` (our fill rules, on the replayed
market's quotes and bars). The venue adds what TWS does around it: IB order ids per client, perm
ids, execution ids, brackets held until the parent is transmitted and filled (``parentId`` /
``transmit``), OCA groups (``ocaType`` 1 cancels the siblings on a fill, 2/3 reduce them), and the
TWS error codes for what it refuses (103 duplicate order id, 200 unknown contract, 201 rejected).

The TCP front-end (:mod:`workbench.emulators.tws.server`) subscribes with :meth:`TwsVenue.listen`
and turns the notifications into protocol messages.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from workbench.brokers.fills import CommissionModel, FillModel
from workbench.brokers.simulated import SimulatedBroker, SimulatedBrokerConfig
from workbench.emulators.tws.messages import ContractInfo, ExecutionRecord, OrderRecord
from workbench.emulators.tws.requests import PlaceOrder
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import OrderSide, OrderType, TimeInForce, TrailingOffsetType
from workbench.model.orders import Order

# well-known conIds (IB's real ones) so recorded messages look familiar; others are derived
_KNOWN_CON_IDS = {"SPY": 756733, "AAPL": 265598, "IBM": 8314, "MSFT": 272093, "QQQ": 320227571}
_ORDER_TYPES = {
    "MKT": OrderType.MARKET, "LMT": OrderType.LIMIT, "STP": OrderType.STOP, "STP LMT": OrderType.STOP_LIMIT,
    "TRAIL": OrderType.TRAILING_STOP, "MOC": OrderType.MARKET_ON_CLOSE, "MOO": OrderType.MARKET_ON_OPEN,
}
_TIFS = {"DAY": TimeInForce.DAY, "GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK,
         "GTD": TimeInForce.GTD, "OPG": TimeInForce.DAY}
_DONE = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})

class VenueListener(Protocol):
    """What the front-end receives from the venue (all synchronous, on the loop)."""

    def order_changed(self, record: OrderRecord) -> None: ...

    def executed(self, execution: ExecutionRecord) -> None: ...

    def order_error(self, record: OrderRecord, code: int, message: str) -> None: ...

    def market(self, item: Any) -> None: ...

    def account_changed(self, symbol: str) -> None: ...

def con_id_for(symbol: str) -> int:
    """IB's conId for the few well-known symbols, else a stable one from the symbol's CRC32."""
    return _KNOWN_CON_IDS.get(symbol) or 10_000_000 + zlib.crc32(symbol.encode()) % 90_000_000

def ib_time(ts_ns: int) -> str:
    """``YYYYMMDD HH:MM:SS UTC``, the execution-time format ib_async parses with its zone."""
    return dt.datetime.fromtimestamp(ts_ns / 1e9, dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")

@dataclass
class _Held:
    """An order that waits: for its bracket's transmit, or for its parent to fill."""

    record: OrderRecord
    request: PlaceOrder

@dataclass
class TwsVenue:
    """Contracts, orders, executions and the account of the emulated TWS.

    Parameters
    ----------
    symbols : iterable of str
        Contracts the venue can resolve (others get error 200).
    account : str
        The managed account id, e.g. ``"DU123"``.
    starting_cash : float
        USD.
    commission : CommissionModel | None
        Per-execution commission (default: IB's fixed US-stock rate, USD 0.005/share, min USD 1).
    """

    symbols: Iterable[str] = ("SPY",)
    account: str = "DU123"
    starting_cash: float = 100_000.0
    commission: CommissionModel | None = None
    fill_model: FillModel | None = None
    now_ns: int = 0
    listeners: list[VenueListener] = field(default_factory=list)

    def __post_init__(self) -> None:
        from workbench.brokers.fills import PerShareCommission

        self.contracts: dict[str, ContractInfo] = {}
        for s in self.symbols:
            self.add_contract(s)
        config = SimulatedBrokerConfig(starting_cash=self.starting_cash, allow_short=True, check_buying_power=True,
                                       commission=self.commission or PerShareCommission(0.005, minimum=1.0),
                                       fill_model=self.fill_model or FillModel())
        self.broker = SimulatedBroker(config, clock=lambda: self.now_ns)
        self.broker.connect(self._on_broker_event)
        self.orders: dict[int, OrderRecord] = {}  # perm id -> order
        self.by_client: dict[tuple[int, int], int] = {}  # (client id, order id) -> perm id
        self.executions: list[ExecutionRecord] = []
        self.next_order_id = 1  # what nextValidId hands out (per venue, as TWS does per client id)
        self._perm_seq = 1000
        self._exec_seq = 0
        self._held: dict[int, _Held] = {}  # perm id -> waiting bracket order
        self.last: dict[str, float] = {}
        self.quotes: dict[str, QuoteTick] = {}

    # ----------------------------------------------------------------------------- contracts
    def add_contract(self, symbol: str, long_name: str = "") -> ContractInfo:
        c = ContractInfo(con_id=con_id_for(symbol), symbol=symbol, long_name=long_name or symbol)
        self.contracts[symbol] = c
        return c

    def resolve(self, symbol: str, con_id: int = 0) -> ContractInfo | None:
        """The contract by symbol, or by conId when the symbol is empty; None if unknown."""
        if symbol:
            c = self.contracts.get(symbol)
            return c if c is not None and (not con_id or con_id == c.con_id) else None
        return next((c for c in self.contracts.values() if c.con_id == con_id), None)

    def listen(self, listener: VenueListener) -> None:
        self.listeners.append(listener)

    def unlisten(self, listener: VenueListener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    # -------------------------------------------------------------------------------- market
    def publish(self, item: Bar | QuoteTick | TradeTick) -> None:
        """One market data item: advance time, match orders, tell the front-end."""
        ts = item.ts_init if isinstance(item, Bar) else item.ts_event
        self.now_ns = max(self.now_ns, ts)
        if isinstance(item, QuoteTick):
            self.quotes[item.symbol] = item
            self.broker.on_quote(item)
        elif isinstance(item, Bar):
            self.last[item.symbol] = item.close
            self.broker.on_bar(item)
        else:
            self.last[item.symbol] = item.price
            self.broker.on_trade(item)
        for listener in list(self.listeners):
            listener.market(item)

    def mark(self, symbol: str) -> float:
        q = self.quotes.get(symbol)
        if q is not None and q.bid > 0 and q.ask > 0:
            return q.mid
        return self.last.get(symbol, 0.0)

    # -------------------------------------------------------------------------------- orders
    def place(self, client_id: int, request: PlaceOrder) -> tuple[int, str] | None:
        """Place or modify (same order id) an order; returns ``(code, message)`` when refused."""
        contract = self.resolve(request.contract.symbol, request.contract.con_id)
        if contract is None:
            return 200, "No security definition has been found for the request"
        key = (client_id, request.order_id)
        perm = self.by_client.get(key)
        if perm is not None:
            record = self.orders[perm]
            if record.status in _DONE:
                return 103, f"Duplicate order id {request.order_id}"
            return self._modify(record, request)
        if request.order_id < 1:
            return 103, f"Duplicate order id {request.order_id}"
        if request.order_type not in _ORDER_TYPES:
            return 201, f"Order rejected - reason:order type {request.order_type!r} is not supported"
        self._perm_seq += 1
        record = OrderRecord(
            order_id=request.order_id, client_id=client_id, perm_id=self._perm_seq, contract=contract,
            action=request.action, quantity=request.quantity, order_type=request.order_type,
            limit_price=request.limit_price, aux_price=request.aux_price, tif=request.tif,
            oca_group=request.oca_group, account=request.account or self.account, order_ref=request.order_ref,
            parent_id=request.parent_id, outside_rth=request.outside_rth, oca_type=request.oca_type,
            trailing_percent=request.trailing_percent, trail_stop_price=request.trail_stop_price,
            status="PreSubmitted",
        )
        self.orders[record.perm_id] = record
        self.by_client[key] = record.perm_id
        self.next_order_id = max(self.next_order_id, request.order_id + 1)
        parent = self.by_client.get((client_id, request.parent_id)) if request.parent_id else None
        if not request.transmit or (parent is not None and self.orders[parent].status != "Filled"):
            self._held[record.perm_id] = _Held(record, request)
            self._notify_order(record)
            if request.transmit:
                self._release_bracket(client_id, request.parent_id)
            return None
        self._submit(record, request)
        return None

    def _release_bracket(self, client_id: int, parent_order_id: int) -> None:
        """The transmit=1 child arrived: send the parent (children wait for its fill)."""
        perm = self.by_client.get((client_id, parent_order_id))
        held = self._held.pop(perm, None) if perm is not None else None
        if held is not None:
            self._submit(held.record, held.request)

    def _submit(self, record: OrderRecord, request: PlaceOrder) -> None:
        side = OrderSide.BUY if record.action == "BUY" else OrderSide.SELL
        order_type = _ORDER_TYPES[record.order_type]
        if record.order_type == "MKT" and record.tif == "OPG":
            order_type = OrderType.MARKET_ON_OPEN
        trailing_offset, trailing_type = None, None
        if order_type is OrderType.TRAILING_STOP:
            if record.trailing_percent is not None:
                trailing_offset, trailing_type = record.trailing_percent / 100.0, TrailingOffsetType.PERCENT
            else:
                trailing_offset, trailing_type = record.aux_price, TrailingOffsetType.PRICE
        stop = record.aux_price if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) else None
        init = ev.OrderInitialized(
            ts_event=self.now_ns, order_id=str(record.perm_id), symbol=record.contract.symbol, side=side,
            order_type=order_type, quantity=record.remaining, time_in_force=_TIFS.get(record.tif, TimeInForce.DAY),
            limit_price=record.limit_price if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
            stop_price=stop, trailing_offset=trailing_offset, trailing_offset_type=trailing_type,
        )
        self.broker.submit_order(Order(init))

    def _modify(self, record: OrderRecord, request: PlaceOrder) -> tuple[int, str] | None:
        if request.quantity < record.filled:
            return 201, f"Order rejected - reason:quantity {request.quantity:g} below filled {record.filled:g}"
        held = self._held.get(record.perm_id)
        record.quantity, record.limit_price, record.aux_price = request.quantity, request.limit_price, request.aux_price
        if held is not None:
            held.request = request
            self._notify_order(record)
            return None
        stop = request.aux_price if record.order_type in ("STP", "STP LMT") else None
        self.broker.modify_order(str(record.perm_id), quantity=request.quantity,
                                 limit_price=request.limit_price, stop_price=stop)
        return None

    def cancel(self, client_id: int, order_id: int) -> tuple[int, str] | None:
        perm = self.by_client.get((client_id, order_id))
        if perm is None:
            return 10147, f"OrderId {order_id} that needs to be cancelled is not found."
        record = self.orders[perm]
        if record.status in _DONE:
            return 161, f"Cancel attempted when order is not in a cancellable state. Order permId ={perm}"
        if self._held.pop(perm, None) is not None:
            self._cancelled(record)
            return None
        self.broker.cancel_order(str(perm))
        return None

    def cancel_all(self) -> None:
        """reqGlobalCancel: every working order, any client."""
        for record in list(self.orders.values()):
            if record.status not in _DONE:
                self.cancel(record.client_id, record.order_id)

    def open_orders(self, client_id: int | None = None) -> list[OrderRecord]:
        return [o for o in self.orders.values() if o.status not in _DONE
                and (client_id is None or o.client_id == client_id)]

    def completed_orders(self) -> list[OrderRecord]:
        return [o for o in self.orders.values() if o.status in _DONE]

    def positions(self) -> dict[str, tuple[float, float]]:
        """symbol -> (quantity, average cost), open positions only."""
        return {s: (q, a) for s, (q, a) in self.broker.positions.items() if abs(q) > 1e-9}

    def account_values(self) -> dict[str, float]:
        """NetLiquidation, TotalCashValue, ... in USD, from the simulated book at the venue's marks."""
        cash = self.broker.cash
        gross = sum(abs(q) * self.mark(s) for s, (q, _) in self.positions().items())
        net = cash + sum(q * self.mark(s) for s, (q, _) in self.positions().items())
        unrealized = sum(q * (self.mark(s) - a) for s, (q, a) in self.positions().items())
        return {"NetLiquidation": net, "TotalCashValue": cash, "CashBalance": cash, "BuyingPower": max(net - gross, 0.0),
                "AvailableFunds": max(net - gross, 0.0), "EquityWithLoanValue": net, "GrossPositionValue": gross,
                "UnrealizedPnL": unrealized, "ExcessLiquidity": max(net - gross, 0.0)}

    # --------------------------------------------------------------------- broker -> venue
    def _on_broker_event(self, event: ev.OrderEvent) -> None:
        record = self.orders.get(int(event.order_id))
        if record is None:
            return
        t = type(event)
        if t is ev.OrderAccepted:
            record.status = "Submitted"
            self._notify_order(record)
        elif t is ev.OrderFilled:
            self._executed(record, event)  # type: ignore[arg-type]
        elif t is ev.OrderCanceled or t is ev.OrderExpired:
            self._cancelled(record)
        elif t is ev.OrderRejected:
            record.status = "Cancelled"
            self._error(record, 201, f"Order rejected - reason:{event.reason}")  # type: ignore[attr-defined]
            self._notify_order(record)
        elif t is ev.OrderModified:
            record.quantity = event.quantity  # type: ignore[attr-defined]
            self._notify_order(record)
        elif t is ev.OrderModifyRejected or t is ev.OrderCancelRejected:
            self._error(record, 201, f"Order rejected - reason:{event.reason}")  # type: ignore[attr-defined]

    def _executed(self, record: OrderRecord, fill: ev.OrderFilled) -> None:
        qty, price = fill.last_quantity, fill.last_price
        record.avg_fill_price = (record.avg_fill_price * record.filled + price * qty) / (record.filled + qty)
        record.filled += qty
        record.last_fill_price = price
        done = record.remaining <= 1e-9
        record.status = "Filled" if done else "Submitted"
        if done:
            record.completed_time = ib_time(fill.ts_event)
        self._exec_seq += 1
        execution = ExecutionRecord(
            exec_id=f"0000e0d5.{self._exec_seq:08x}.01.01", order=record, time=ib_time(fill.ts_event),
            side="BOT" if record.action == "BUY" else "SLD", shares=qty, price=price, cum_qty=record.filled,
            avg_price=record.avg_fill_price, commission=fill.commission, ts_ns=fill.ts_event,
        )
        self.executions.append(execution)
        for listener in list(self.listeners):
            listener.executed(execution)
        self._notify_order(record)
        for listener in list(self.listeners):
            listener.account_changed(record.contract.symbol)
        self._oca(record, qty)
        if done:
            self._arm_children(record)

    def _arm_children(self, parent: OrderRecord) -> None:
        for perm, held in list(self._held.items()):
            if held.record.client_id == parent.client_id and held.record.parent_id == parent.order_id:
                del self._held[perm]
                self._submit(held.record, held.request)

    def _oca(self, record: OrderRecord, quantity: float) -> None:
        if not record.oca_group:
            return
        for other in self.orders.values():
            if other is record or other.oca_group != record.oca_group or other.status in _DONE:
                continue
            if record.oca_type == 1 or other.remaining <= quantity + 1e-9:
                self.cancel(other.client_id, other.order_id)
            elif other.perm_id in self._held:
                other.quantity -= quantity
            else:
                self.broker.modify_order(str(other.perm_id), quantity=other.quantity - quantity)

    def _cancelled(self, record: OrderRecord) -> None:
        record.status = "Cancelled"
        record.completed_time = ib_time(self.now_ns)
        self._notify_order(record)
        self._error(record, 202, "Order Canceled - reason:")
        for perm, held in list(self._held.items()):  # a bracket's children go with their parent
            if held.record.client_id == record.client_id and held.record.parent_id == record.order_id:
                del self._held[perm]
                self._cancelled(held.record)

    def _notify_order(self, record: OrderRecord) -> None:
        for listener in list(self.listeners):
            listener.order_changed(record)

    def _error(self, record: OrderRecord, code: int, message: str) -> None:
        for listener in list(self.listeners):
            listener.order_error(record, code, message)

    # --------------------------------------------------------------------------- restart
    def roll_back_ids(self, to: int = 1) -> None:
        """Fault: the next nextValidId goes back to ``to`` (a gateway restart that lost its id counter)."""
        self.next_order_id = to

    def executions_for(self, client_id: int = 0, symbol: str = "") -> list[ExecutionRecord]:
        return [x for x in self.executions if (not client_id or x.order.client_id == client_id)
                and (not symbol or x.order.contract.symbol == symbol)]
