"""IB execution client: the engine's broker over one ``IB`` connection (DESIGN rule 7: it translates).

Orders: market, limit, stop, stop-limit, trailing (amount or percent), market-on-open/close, time
in force; modify = the same order id placed again; cancel; OCO = an IB OCA group (``ocaType`` 1);
:meth:`IbkrExecutionClient.submit_bracket` sends a native IB bracket (``parentId``, ``transmit``).
Our order id travels as ``orderRef``, so reconciliation maps IB's orders back to ours; IB order ids
come from :class:`~workbench.adapters.ibkr.ids.OrderIdAllocator` (persisted, never reused).

Events back to the engine:

- ``OrderAccepted`` at the first Submitted/PreSubmitted ``orderStatus`` (``broker_order_id`` = IB's
  permId, stable across sessions, NautilusTrader #4276);
- ``OrderRejected`` on error 201 (IB's text as the reason), ``OrderCanceled`` on ``Cancelled`` or
  error 202. Informational codes (2104, 2106, 2158, 10349, ...) change nothing: ib_async marks a
  trade cancelled on any non-warning error code (ib_async #191), so statuses ib_async derived from
  an error message are ignored and only IB's own ``orderStatus`` messages and codes 201/202 count;
- ``OrderFilled`` once per execution (the execId without its correction suffix is the fill id;
  duplicates and corrections are dropped), with the execution's own shares and price and the
  commission from ``commissionReport``, also when that report arrived before the execution
  (rust-ibapi #788: ib_async drops such a report, so the adapter keeps its own copy). A fill waits
  for its commission at most ``commission_wait`` seconds. Executions of orders the workbench did
  not place are sent with the order id ``IB-<permId>``: the engine books them as external.

Reconciliation on every connect (``reqAllOpenOrders``, completed orders, ``reqExecutions``,
positions; ib_async's connect sync fetches most of them): posted as one
:class:`~workbench.adapters.base.BrokerReports`; the engine decides what to correct.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from workbench.adapters.base import BrokerReports, ExecutionClient, ReconnectPolicy
from workbench.adapters.ibkr import parsing
from workbench.adapters.ibkr.connection import IbkrConnection
from workbench.adapters.ibkr.ids import OrderIdAllocator
from workbench.adapters.ibkr.parsing import ErrorKind
from workbench.model import events as ev
from workbench.model.enums import ContingencyType
from workbench.model.orders import Order

_log = logging.getLogger(__name__)
_LIVE = frozenset({"PreSubmitted", "Submitted"})
_CANCELLED = frozenset({"Cancelled", "ApiCancelled"})


def external_order_id(perm_id: int) -> str:
    """Our id for an order placed outside the workbench (TWS window, another client)."""
    return f"IB-{perm_id}"


class IbkrExecutionClient(ExecutionClient):
    """Orders, fills and reports through IB (see the module docstring).

    Parameters
    ----------
    connection : IbkrConnection
        The session's one IB connection (shared with the data client).
    order_ids : OrderIdAllocator | None
    commission_wait : float
        Seconds an execution waits for its commissionReport before it is sent without one.
    """

    name = "ibkr"

    def __init__(self, connection: IbkrConnection, *, order_ids: OrderIdAllocator | None = None,
                 commission_wait: float = 1.0, component: str = "ibkr.execution", **kwargs: Any) -> None:
        cfg = connection.config
        kwargs.setdefault("reconnect", ReconnectPolicy(initial=cfg.reconnect_delays[0], maximum=cfg.reconnect_delays[-1],
                                                       max_attempts=cfg.max_reconnect_attempts or None))
        super().__init__(component, **kwargs)
        self.connection = connection
        self.ib = connection.ib
        self.order_ids = order_ids or OrderIdAllocator()
        self.commission_wait = commission_wait
        self.trades: dict[str, Any] = {}  # our order id -> ib Trade
        self.ib_ids: dict[int, str] = {}  # IB order id (this client) -> our order id
        self.seen_fills: set[str] = set()
        self.commissions: dict[str, Any] = {}  # execId -> CommissionReport (also early ones)
        self._held_fills: dict[str, tuple[str, str, Any, asyncio.TimerHandle | None]] = {}
        self._accepted: set[str] = set()
        self._closed: set[str] = set()
        self._pending_cancel: set[str] = set()
        self._pending_modify: set[str] = set()
        self.contracts: dict[str, Any] = {}
        self._hook()

    # ------------------------------------------------------------------------------ wiring
    def _hook(self) -> None:
        ib = self.ib
        ib.orderStatusEvent += self._on_status
        ib.openOrderEvent += self._on_open_order
        ib.execDetailsEvent += self._on_execution
        self.connection.error_listeners.append(self._on_error)
        wrapper = ib.wrapper
        original = wrapper.commissionReport

        def commission_report(report: Any, _original: Any = original) -> None:
            self._on_commission(report)
            _original(report)

        wrapper.commissionReport = commission_report  # ib_async drops reports that precede their execution

    async def _open(self) -> None:
        await self.connection.connect()
        self.order_ids.observe(int(getattr(self.ib.client, "_reqIdSeq", 1) or 1))

    async def _session(self) -> None:
        await self.connection.lost.wait()

    async def _close(self) -> None:
        return None

    def report_health(self) -> None:
        """Post health with IB's client id, pacing and last message age (the dashboard's health panel)."""
        self.post(self.connection.health_event(self))

    # ---------------------------------------------------------------------------- commands
    def _contract(self, symbol: str) -> Any:
        contract = self.contracts.get(symbol)
        return contract if contract is not None else parsing.stock_contract(symbol)

    def submit_order(self, order: Order, *, parent_id: int = 0, transmit: bool = True) -> None:
        """Place ``order`` (our id as orderRef). Answers come back as order events."""
        if not self.connection.connected:
            self.emit(ev.OrderRejected(ts_event=self.clock(), order_id=order.order_id, symbol=order.symbol,
                                       reason="IB not connected"))
            return
        oca_group, oca_type = "", 0
        if order.contingency is ContingencyType.OCO and order.linked_order_ids:
            oca_group, oca_type = "OCA-" + min((order.order_id, *order.linked_order_ids)), 1
        ib_id = self.order_ids.take()
        try:
            ib_order = parsing.to_ib_order(order, ib_id, account=self.connection.config.account, parent_id=parent_id,
                                           transmit=transmit, oca_group=oca_group, oca_type=oca_type)
        except ValueError as exc:
            self.emit(ev.OrderRejected(ts_event=self.clock(), order_id=order.order_id, symbol=order.symbol,
                                       reason=str(exc)))
            return
        self.ib_ids[ib_id] = order.order_id
        seq = self.ib.client._reqIdSeq
        self.ib.client._reqIdSeq = max(seq, ib_id + 1)  # request ids and order ids share ib_async's counter
        self.trades[order.order_id] = self.ib.placeOrder(self._contract(order.symbol), ib_order)

    def submit_bracket(self, parent: Order, take_profit: Order, stop_loss: Order) -> None:
        """A native IB bracket: parent (transmit=0), take-profit and stop-loss children with ``parentId``,
        the last one transmitting all three; the children form an OCA group."""
        self.submit_order(parent, transmit=False)
        parent_trade = self.trades.get(parent.order_id)
        if parent_trade is None:
            return
        parent_id = parent_trade.order.orderId
        self.submit_order(take_profit, parent_id=parent_id, transmit=False)
        self.submit_order(stop_loss, parent_id=parent_id, transmit=True)

    def cancel_order(self, order_id: str) -> None:
        trade = self.trades.get(order_id)
        if trade is None or not self.connection.connected or order_id in self._closed:
            reason = "unknown order" if trade is None else ("IB not connected" if not self.connection.connected
                                                             else "order is not open")
            self.emit(ev.OrderCancelRejected(ts_event=self.clock(), order_id=order_id,
                                             symbol=trade.contract.symbol if trade else "", reason=reason))
            return
        self._pending_cancel.add(order_id)
        self.ib.cancelOrder(trade.order)

    def modify_order(self, order_id: str, quantity: float | None = None, limit_price: float | None = None,
                     stop_price: float | None = None) -> None:
        """Re-place the same IB order id with new terms (IB's way to modify)."""
        trade = self.trades.get(order_id)
        if trade is None or not self.connection.connected or order_id in self._closed:
            self.emit(ev.OrderModifyRejected(ts_event=self.clock(), order_id=order_id,
                                             symbol=trade.contract.symbol if trade else "",
                                             reason="order is not open at IB" if trade else "unknown order"))
            return
        o = trade.order
        if quantity is not None:
            o.totalQuantity = float(quantity)
        if limit_price is not None:
            o.lmtPrice = limit_price
        if stop_price is not None:
            o.auxPrice = stop_price
        self._pending_modify.add(order_id)
        self.ib.placeOrder(trade.contract, o)

    # ------------------------------------------------------------------------------ events
    def _our_id(self, trade: Any) -> str | None:
        """Our order id for an IB trade: by IB order id (this client), else by orderRef; None if external."""
        oid = self.ib_ids.get(trade.order.orderId) if trade.order.orderId else None
        if oid is None and trade.order.orderRef and trade.order.orderRef in self.trades:
            oid = trade.order.orderRef
        return oid

    def _on_open_order(self, trade: Any) -> None:
        oid = self._our_id(trade)
        if oid is None or oid not in self._pending_modify:
            return
        self._pending_modify.discard(oid)
        o = trade.order
        self.emit(ev.OrderModified(ts_event=self.clock(), order_id=oid, symbol=trade.contract.symbol,
                                   quantity=float(o.totalQuantity), limit_price=_price(o.lmtPrice),
                                   stop_price=_price(o.auxPrice)))

    def _on_status(self, trade: Any) -> None:
        oid = self._our_id(trade)
        if oid is None:
            return
        if trade.log and getattr(trade.log[-1], "errorCode", 0):
            return  # a status ib_async derived from an error message: codes are handled in _on_error
        status = trade.orderStatus.status
        symbol = trade.contract.symbol
        if status in _LIVE and oid not in self._accepted and oid not in self._closed:
            self._accepted.add(oid)
            perm = trade.order.permId or trade.orderStatus.permId
            self.emit(ev.OrderAccepted(ts_event=self.clock(), order_id=oid, symbol=symbol,
                                       broker_order_id=str(perm or trade.order.orderId)))
        elif status in _CANCELLED and oid not in self._closed:
            self._closed.add(oid)
            self.emit(ev.OrderCanceled(ts_event=self.clock(), order_id=oid, symbol=symbol))
        elif status == "Inactive" and oid not in self._accepted and oid not in self._closed:
            self._closed.add(oid)
            self.emit(ev.OrderRejected(ts_event=self.clock(), order_id=oid, symbol=symbol,
                                       reason="IB: order inactive"))
        elif status == "Filled":
            self._closed.add(oid)

    def _on_error(self, req_id: int, code: int, message: str, kind: ErrorKind) -> None:
        if kind in (ErrorKind.RESTORED, ErrorKind.RESTORED_DATA_LOST) and self.connection.connected:
            # fills made while TWS had lost IB (1100) never arrive as live messages: ask again (LEAN IB #249)
            asyncio.get_running_loop().create_task(self.reconcile(f"connectivity restored (IB {code})"))
            return
        oid = self.ib_ids.get(req_id)
        if oid is None or kind in (ErrorKind.INFO, ErrorKind.WARNING):
            return
        trade = self.trades.get(oid)
        symbol = trade.contract.symbol if trade is not None else ""
        reason = parsing.rejection_reason(code, message)
        now = self.clock()
        if oid in self._pending_modify and kind is not ErrorKind.CANCELED:
            self._pending_modify.discard(oid)
            self.emit(ev.OrderModifyRejected(ts_event=now, order_id=oid, symbol=symbol, reason=reason))
        elif oid in self._pending_cancel and kind is not ErrorKind.CANCELED and oid not in self._closed:
            self._pending_cancel.discard(oid)
            self.emit(ev.OrderCancelRejected(ts_event=now, order_id=oid, symbol=symbol, reason=reason))
        elif oid in self._closed:
            return
        elif kind is ErrorKind.CANCELED:
            self._closed.add(oid)
            self.emit(ev.OrderCanceled(ts_event=now, order_id=oid, symbol=symbol, reason=reason))
        elif oid not in self._accepted:
            self._closed.add(oid)
            self.emit(ev.OrderRejected(ts_event=now, order_id=oid, symbol=symbol, reason=reason))

    def _on_commission(self, report: Any) -> None:
        self.commissions[report.execId] = report
        key = parsing.execution_key(report.execId)
        held = self._held_fills.pop(key, None)
        if held is not None:
            oid, symbol, fill, timer = held
            if timer is not None:
                timer.cancel()
            self.emit(parsing.fill_event(oid, symbol, fill.execution, report))

    def _on_execution(self, trade: Any, fill: Any) -> None:
        execution = fill.execution
        key = parsing.execution_key(execution.execId)
        if key in self.seen_fills:
            return  # a duplicate execDetails or a correction of a booked execution
        self.seen_fills.add(key)
        oid = self._our_id(trade) or external_order_id(execution.permId)
        symbol = fill.contract.symbol or trade.contract.symbol
        report = self.commissions.get(execution.execId)
        if report is not None or self.commission_wait <= 0:
            self.emit(parsing.fill_event(oid, symbol, execution, report))
            return
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self.commission_wait, self._release_fill, key)
        self._held_fills[key] = (oid, symbol, fill, timer)

    def _release_fill(self, key: str) -> None:
        held = self._held_fills.pop(key, None)
        if held is not None:
            oid, symbol, fill, _ = held
            self.emit(parsing.fill_event(oid, symbol, fill.execution, fill.commissionReport))

    # ---------------------------------------------------------------------- reconciliation
    async def _fetch_reports(self, reason: str) -> BrokerReports:
        ib = self.ib
        await ib.reqAllOpenOrdersAsync()
        await ib.reqExecutionsAsync()  # fills made while disconnected (LEAN IB #249), all clients' included
        now = self.clock()
        orders, fills = [], []
        for trade in ib.trades():
            oid = trade.order.orderRef or external_order_id(trade.order.permId)
            if trade.order.orderRef:
                self.trades.setdefault(oid, trade)
                if trade.order.orderId and trade.order.clientId == self.connection.client_id:
                    self.ib_ids[trade.order.orderId] = oid
                    self.trades[oid] = trade
            report = parsing.order_status_report(oid, trade, now)
            if report is not None:
                orders.append(report)
        for fill in ib.fills():
            oid = fill.execution.orderRef or external_order_id(fill.execution.permId)
            report = self.commissions.get(fill.execution.execId) or fill.commissionReport
            fills.append(parsing.fill_report(oid, fill.contract.symbol, fill.execution, report))
            self.seen_fills.add(parsing.execution_key(fill.execution.execId))
        account = self.connection.config.account
        positions = [parsing.position_report(p, now) for p in ib.positions() if not account or p.account == account]
        return BrokerReports(component=self.component, orders=tuple(orders), fills=tuple(fills),
                             positions=tuple(positions), reason=reason, ts_event=now)

    # ------------------------------------------------------------------------- persistence
    def snapshot(self) -> dict[str, Any]:
        """Journaled with every checkpoint: the next IB order id (and a reserve) and our open orders' IB ids."""
        return {"ibkr": {**self.order_ids.snapshot(),
                         "orders": {oid: t.order.orderId for oid, t in self.trades.items()
                                    if oid not in self._closed and t.order.orderId}}}

    def restore(self, state: dict[str, Any]) -> None:
        saved = (state or {}).get("ibkr") or {}
        self.order_ids.restore(saved)
        for oid, ib_id in (saved.get("orders") or {}).items():
            self.ib_ids[int(ib_id)] = oid


def _price(value: Any) -> float | None:
    return None if value is None or value >= parsing.UNSET_DOUBLE else float(value)
