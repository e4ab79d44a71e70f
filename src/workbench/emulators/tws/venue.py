"""The emulated IB back office behind the TWS front-end, on the shared emulator core.

The market (replayed real data), the account's matching (``SimulatedBroker``) and the fault
registry are :class:`~workbench.emulators.core.EmulatorCore`'s. The venue adds what TWS does around
them: order ids per client id, perm ids, execution ids, modify = the same order id placed again,
brackets held until the child with ``transmit=1`` arrives (then sent as the core's OTO order with
its legs, which the core arms as an OCO pair when the parent fills), OCA groups (``ocaType`` 1
cancels the siblings on a fill, 2/3 reduce them), and TWS's error codes for what it refuses (103
duplicate order id, 200 unknown contract, 201 rejected with the reason).

The TCP front-end (:mod:`workbench.emulators.tws.server`) subscribes with :meth:`TwsVenue.listen`.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

from workbench.emulators.core import EmulatedAccount, EmulatorCore, OrderRefused, OrderRequest, OrderUpdate
from workbench.emulators.tws.messages import ContractInfo, ExecutionRecord, OrderRecord
from workbench.emulators.tws.requests import PlaceOrder
from workbench.model.data import QuoteTick
from workbench.model.enums import ContingencyType, OrderSide, OrderType, TimeInForce, TrailingOffsetType

# IB's real conIds for a few symbols so recorded messages look familiar; others are derived
_KNOWN_CON_IDS = {"SPY": 756733, "AAPL": 265598, "IBM": 8314, "MSFT": 272093, "QQQ": 320227571}
_ORDER_TYPES = {
    "MKT": OrderType.MARKET, "LMT": OrderType.LIMIT, "STP": OrderType.STOP, "STP LMT": OrderType.STOP_LIMIT,
    "TRAIL": OrderType.TRAILING_STOP, "MOC": OrderType.MARKET_ON_CLOSE,
}
_TIFS = {"DAY": TimeInForce.DAY, "GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK,
         "GTD": TimeInForce.GTD, "OPG": TimeInForce.DAY}
_DONE = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
_EPS = 1e-9


class VenueListener(Protocol):
    """What the front-end receives from the venue (synchronously, on the loop)."""

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
    """An order waiting for its bracket's transmit."""

    record: OrderRecord
    request: PlaceOrder


class TwsVenue:
    """Contracts, orders, executions and the account of the emulated TWS.

    Parameters
    ----------
    core : EmulatorCore | None
        Market, matching and faults (default: the shipped demo data, as fast as possible, started
        by hand with ``core.start_market()``, IB's fixed US commission of USD 0.005/share, min USD 1).
    symbols : iterable of str
        Contracts the venue resolves besides the market's symbols (others get error 200).
    account : str
        The managed account id, e.g. ``"DU123"``.
    """

    def __init__(self, core: EmulatorCore | None = None, *, symbols: tuple[str, ...] = (), account: str = "DU123",
                 starting_cash: float | None = None) -> None:
        if core is None:
            from workbench.brokers.fills import PerShareCommission

            core = EmulatorCore("demo", speed=None, commission=PerShareCommission())  # IB's US fixed rate
        self.core = core
        self.account_id = account
        self.account: EmulatedAccount = self.core.add_account(f"tws:{account}", "", account_id=account,
                                                              starting_cash=starting_cash)
        self.contracts: dict[str, ContractInfo] = {}
        for s in (*self.core.market.symbols(), *symbols):
            self.add_contract(s)
        self.listeners: list[VenueListener] = []
        self.orders: dict[int, OrderRecord] = {}  # perm id -> order
        self.by_client: dict[tuple[int, int], int] = {}  # (client id, order id) -> perm id
        self.by_core: dict[str, int] = {}  # core order id -> perm id
        self.core_ids: dict[int, str] = {}  # perm id -> current core order id
        self.executions: list[ExecutionRecord] = []
        self.quotes: dict[str, QuoteTick] = {}
        self.next_order_id = 1
        self._perm_seq = 1000
        self._exec_seq = 0
        self._held: dict[int, _Held] = {}
        self.core.order_listeners.append(self._on_update)
        self.core.market_listeners.append(self._on_market)

    # ----------------------------------------------------------------------------- contracts
    def add_contract(self, symbol: str, long_name: str = "") -> ContractInfo:
        c = ContractInfo(con_id=con_id_for(symbol), symbol=symbol, long_name=long_name or symbol)
        self.contracts[symbol] = c
        return c

    def resolve(self, symbol: str, con_id: int = 0) -> ContractInfo | None:
        """The contract by symbol (and conId when given), or by conId alone; None if unknown."""
        if symbol:
            c = self.contracts.get(symbol)
            return c if c is not None and (not con_id or con_id == c.con_id) else None
        return next((c for c in self.contracts.values() if c.con_id == con_id), None)

    def listen(self, listener: VenueListener) -> None:
        self.listeners.append(listener)

    @property
    def now_ns(self) -> int:
        return self.core.now_ns()

    # -------------------------------------------------------------------------------- market
    def publish(self, item: Any) -> None:
        """One market data item (tests and the replay): matching first, then the data streams."""
        self.core.publish(item)

    def _on_market(self, item: Any) -> None:
        if type(item) is QuoteTick:
            self.quotes[item.symbol] = item
        for listener in self.listeners:
            listener.market(item)

    def mark(self, symbol: str) -> float:
        q = self.quotes.get(symbol)
        if q is not None and q.bid > 0 and q.ask > 0:
            return q.mid
        last = self.core.market.last.get(symbol)
        return float(getattr(last, "close", getattr(last, "price", 0.0)) or 0.0) if last is not None else 0.0

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
            oca_group=request.oca_group, account=request.account or self.account_id, order_ref=request.order_ref,
            parent_id=request.parent_id, outside_rth=request.outside_rth, oca_type=request.oca_type,
            trailing_percent=request.trailing_percent, trail_stop_price=request.trail_stop_price,
            status="PreSubmitted",
        )
        self.orders[record.perm_id] = record
        self.by_client[key] = record.perm_id
        self.next_order_id = max(self.next_order_id, request.order_id + 1)
        if not request.transmit:
            self._held[record.perm_id] = _Held(record, request)
            self._notify_order(record)
            return None
        if request.parent_id:
            parent = self.by_client.get((client_id, request.parent_id))
            if parent is not None and parent in self._held:
                return self._send_bracket(client_id, self._held.pop(parent), _Held(record, request))
        return self._send(record, self._request(record, request))

    def _request(self, record: OrderRecord, request: PlaceOrder) -> OrderRequest:
        order_type = _ORDER_TYPES.get(record.order_type, OrderType.MARKET)
        if record.order_type == "MKT" and record.tif == "OPG":
            order_type = OrderType.MARKET_ON_OPEN
        trailing_offset, trailing_type = None, None
        if order_type is OrderType.TRAILING_STOP:
            if record.trailing_percent is not None:
                trailing_offset, trailing_type = record.trailing_percent / 100.0, TrailingOffsetType.PERCENT
            else:
                trailing_offset, trailing_type = record.aux_price, TrailingOffsetType.PRICE
        return OrderRequest(
            symbol=record.contract.symbol, side=OrderSide.BUY if record.action == "BUY" else OrderSide.SELL,
            quantity=record.remaining, order_type=order_type, time_in_force=_TIFS.get(record.tif, TimeInForce.DAY),
            limit_price=record.limit_price if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
            stop_price=record.aux_price if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
            trailing_offset=trailing_offset, trailing_offset_type=trailing_type, client_order_id=f"tws-{record.perm_id}")

    def _send(self, record: OrderRecord, request: OrderRequest) -> tuple[int, str] | None:
        try:
            sent = self.core.submit(self.account, request)
        except OrderRefused as exc:
            record.status = "Cancelled"
            record.completed_time = ib_time(self.now_ns)
            return 201, f"Order rejected - reason:{exc.reason}"
        self._bind(sent.order_id, record)
        return None

    def _send_bracket(self, client_id: int, parent: _Held, last: _Held) -> tuple[int, str] | None:
        """The transmit=1 child arrived: the parent goes out with every held child as its OTO legs."""
        children = [h for p, h in list(self._held.items()) if h.record.client_id == client_id
                    and h.record.parent_id == parent.record.order_id]
        for h in children:
            del self._held[h.record.perm_id]
        children.append(last)
        request = self._request(parent.record, parent.request)
        request.contingency = ContingencyType.OTO
        request.legs = [self._request(h.record, h.request) for h in children]
        refused = self._send(parent.record, request)
        if refused is not None:
            for h in children:
                h.record.status = "Cancelled"
            return refused
        sent = self.core_ids[parent.record.perm_id]
        for h, leg_id in zip(children, self.account.orders[sent].leg_ids, strict=True):
            self._bind(leg_id, h.record)
        self._notify_order(last.record)  # held by the core until the parent fills
        return None

    def _bind(self, core_id: str, record: OrderRecord) -> None:
        self.by_core[core_id] = record.perm_id
        self.core_ids[record.perm_id] = core_id

    def _modify(self, record: OrderRecord, request: PlaceOrder) -> tuple[int, str] | None:
        if request.quantity < record.filled - _EPS:
            return 201, f"Order rejected - reason:quantity {request.quantity:g} below filled {record.filled:g}"
        record.quantity, record.limit_price, record.aux_price = request.quantity, request.limit_price, request.aux_price
        held = self._held.get(record.perm_id)
        core_id = self.core_ids.get(record.perm_id)
        if held is not None or core_id is None or self.account.orders[core_id].held:
            if held is not None:
                held.request = request
            self._notify_order(record)
            return None
        stop = request.aux_price if record.order_type in ("STP", "STP LMT") else None
        limit = request.limit_price if record.order_type in ("LMT", "STP LMT") else None
        try:
            new = self.core.replace(self.account, core_id, quantity=request.quantity, limit_price=limit,
                                    stop_price=stop, client_order_id=f"tws-{record.perm_id}-{len(self.by_core)}")
        except OrderRefused as exc:
            return 201, f"Order rejected - reason:{exc.reason}"
        self._bind(new.order_id, record)
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
            for p, h in list(self._held.items()):
                if h.record.client_id == client_id and h.record.parent_id == order_id:
                    del self._held[p]
                    self._cancelled(h.record)
            return None
        try:
            self.core.cancel(self.account, self.core_ids[perm])
        except OrderRefused as exc:
            return 161, f"Cancel attempted when order is not in a cancellable state: {exc.reason}"
        return None

    def cancel_all(self) -> None:
        """reqGlobalCancel: every working order of every client."""
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
        return {s: (q, a) for s, (q, a) in self.account.broker.positions.items() if abs(q) > _EPS}

    def account_values(self) -> dict[str, float]:
        """NetLiquidation, TotalCashValue, ... (USD) from the simulated book at the venue's marks."""
        cash = self.account.broker.cash
        held = self.positions()
        gross = sum(abs(q) * (self.mark(s) or a) for s, (q, a) in held.items())
        net = cash + sum(q * (self.mark(s) or a) for s, (q, a) in held.items())
        unrealized = sum(q * ((self.mark(s) or a) - a) for s, (q, a) in held.items())
        free = max(net - gross, 0.0)
        return {"NetLiquidation": net, "TotalCashValue": cash, "CashBalance": cash, "BuyingPower": free,
                "AvailableFunds": free, "EquityWithLoanValue": net, "GrossPositionValue": gross,
                "UnrealizedPnL": unrealized, "ExcessLiquidity": free}

    # ------------------------------------------------------------------------ core -> venue
    def _on_update(self, account: EmulatedAccount, update: OrderUpdate) -> None:
        if account is not self.account:
            return
        perm = _perm_of(update.order.client_order_id)
        record = self.orders.get(perm) if perm is not None else None
        kind = update.kind
        if record is None or kind == "replaced":
            return  # not ours, or the old half of a modify (its successor reports)
        self._bind(update.order.order_id, record)
        if kind == "new":
            record.status = "Submitted"
            self._notify_order(record)
        elif kind in ("fill", "partial_fill"):
            self._executed(record, update)
        elif kind in ("canceled", "expired"):
            self._cancelled(record)

    def _commission(self, fill_id: str) -> float:
        for report in reversed(self.account.broker.fills):
            if report.fill_id == fill_id:
                return report.commission
        return 0.0

    def _executed(self, record: OrderRecord, update: OrderUpdate) -> None:
        qty, price = update.quantity, update.price
        record.avg_fill_price = (record.avg_fill_price * record.filled + price * qty) / (record.filled + qty)
        record.filled += qty
        record.last_fill_price = price
        done = record.remaining <= _EPS
        record.status = "Filled" if done else "Submitted"
        if done:
            record.completed_time = ib_time(update.ts_event)
        self._exec_seq += 1
        execution = ExecutionRecord(
            exec_id=f"0000e0d5.{self._exec_seq:08x}.01.01", order=record, time=ib_time(update.ts_event),
            side="BOT" if record.action == "BUY" else "SLD", shares=qty, price=price, cum_qty=record.filled,
            avg_price=record.avg_fill_price, commission=self._commission(update.fill_id), ts_ns=update.ts_event,
        )
        self.executions.append(execution)
        for listener in list(self.listeners):
            listener.executed(execution)
        self._notify_order(record)
        for listener in list(self.listeners):
            listener.account_changed(record.contract.symbol)
        self._oca(record, qty)

    def _oca(self, record: OrderRecord, quantity: float) -> None:
        """IB OCA groups of separately placed orders (bracket legs are linked by the core)."""
        if not record.oca_group or record.parent_id:
            return
        for other in list(self.orders.values()):
            if other is record or other.oca_group != record.oca_group or other.status in _DONE:
                continue
            if record.oca_type == 1 or other.remaining <= quantity + _EPS:
                self.cancel(other.client_id, other.order_id)
            else:
                other.quantity -= quantity
                self._modify(other, _with_quantity(self._held.get(other.perm_id), other))

    def _cancelled(self, record: OrderRecord) -> None:
        if record.status in _DONE:
            return
        record.status = "Cancelled"
        record.completed_time = ib_time(self.now_ns)
        self._notify_order(record)
        for listener in list(self.listeners):
            listener.order_error(record, 202, "Order Canceled - reason:")

    def _notify_order(self, record: OrderRecord) -> None:
        for listener in list(self.listeners):
            listener.order_changed(record)

    # ------------------------------------------------------------------------------ queries
    def roll_back_ids(self, to: int = 1) -> None:
        """Fault: the next ``nextValidId`` goes back to ``to`` (a restart that lost its id counter)."""
        self.next_order_id = to

    def executions_for(self, client_id: int = 0, symbol: str = "") -> list[ExecutionRecord]:
        return [x for x in self.executions if (not client_id or x.order.client_id == client_id)
                and (not symbol or x.order.contract.symbol == symbol)]


def _perm_of(client_order_id: str) -> int | None:
    """Our perm id from the core's client order id ``tws-<perm>[-<n>]``."""
    parts = client_order_id.split("-")
    return int(parts[1]) if len(parts) >= 2 and parts[0] == "tws" and parts[1].isdigit() else None


def _with_quantity(held: _Held | None, record: OrderRecord) -> PlaceOrder:
    """A placeOrder request for ``record`` at its (reduced) quantity (OCA types 2 and 3)."""
    from dataclasses import replace

    from workbench.emulators.tws.requests import ContractSpec

    if held is not None:
        return replace(held.request, quantity=record.quantity)
    c = record.contract
    return PlaceOrder(order_id=record.order_id, contract=ContractSpec(c.con_id, c.symbol, c.sec_type, c.exchange,
                                                                      c.primary_exchange, c.currency, c.symbol),
                      action=record.action, quantity=record.quantity, order_type=record.order_type,
                      limit_price=record.limit_price, aux_price=record.aux_price, tif=record.tif,
                      oca_group=record.oca_group, account=record.account, order_ref=record.order_ref, transmit=True,
                      parent_id=0, outside_rth=record.outside_rth, good_till_date="", oca_type=record.oca_type,
                      trail_stop_price=record.trail_stop_price, trailing_percent=record.trailing_percent)
