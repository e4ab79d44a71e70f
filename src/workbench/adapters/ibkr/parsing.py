"""Pure mapping between ib_async objects and the workbench domain (no I/O, no state).

Vendor spellings stay here. Sources for the rules:

- order types and fields: TWS API "Basic Orders" (MKT, LMT, STP, STP LMT, TRAIL with ``auxPrice`` =
  trailing amount or ``trailingPercent``, MOC, MKT with tif OPG = market-on-open);
- statuses: TWS API ``orderStatus`` (PendingSubmit, PreSubmitted, Submitted, ApiPending,
  PendingCancel, ApiCancelled, Cancelled, Filled, Inactive);
- execution corrections: "a correction ... is received as an additional execDetails with all
  parameters identical except for the execId, which differs only in the digits after the final
  period" (TWS API, Executions and Commissions): :func:`execution_key` drops that suffix;
- error codes: TWS API "Message Codes" (2100-2199 and 10349 informational, 1100/1101/1102
  connectivity, 201 rejected, 202 canceled, 326 client id in use, 162 historical pacing, 100 message
  rate, 103 duplicate order id, 200 no security definition).
"""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum
from typing import Any

from workbench.adapters.ibkr.client import Contract, Order, Stock
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce, TrailingOffsetType
from workbench.model.orders import Order as DomainOrder
from workbench.model.reports import FillReport, OrderStatusReport, PositionReport

_NS = 1_000_000_000
UNSET_DOUBLE = 1.7976931348623157e308

ORDER_TYPES: dict[OrderType, str] = {
    OrderType.MARKET: "MKT", OrderType.LIMIT: "LMT", OrderType.STOP: "STP", OrderType.STOP_LIMIT: "STP LMT",
    OrderType.TRAILING_STOP: "TRAIL", OrderType.MARKET_ON_CLOSE: "MOC", OrderType.MARKET_ON_OPEN: "MKT",
}
TIME_IN_FORCE: dict[TimeInForce, str] = {
    TimeInForce.DAY: "DAY", TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
    TimeInForce.GTD: "GTD",
}
STATUSES: dict[str, OrderStatus] = {
    "PendingSubmit": OrderStatus.SUBMITTED, "ApiPending": OrderStatus.SUBMITTED,
    "PreSubmitted": OrderStatus.ACCEPTED, "Submitted": OrderStatus.ACCEPTED,
    "PendingCancel": OrderStatus.PENDING_CANCEL, "ApiCancelled": OrderStatus.CANCELED,
    "Cancelled": OrderStatus.CANCELED, "Filled": OrderStatus.FILLED, "Inactive": OrderStatus.REJECTED,
}


class ErrorKind(StrEnum):
    """What an IB error code means for the adapter."""

    INFO = "INFO"  # informational: changes nothing (farm status, TIF preset 10349, ...)
    CONNECTIVITY_LOST = "CONNECTIVITY_LOST"  # 1100
    RESTORED_DATA_LOST = "RESTORED_DATA_LOST"  # 1101: resubscribe market data
    RESTORED = "RESTORED"  # 1102
    REJECTED = "REJECTED"  # 201 (and other order errors before acceptance)
    CANCELED = "CANCELED"  # 202
    CLIENT_ID_IN_USE = "CLIENT_ID_IN_USE"  # 326
    PACING = "PACING"  # 100, 162 with "pacing"
    DUPLICATE_ORDER_ID = "DUPLICATE_ORDER_ID"  # 103
    NO_CONTRACT = "NO_CONTRACT"  # 200
    WARNING = "WARNING"  # order still live (ib_async's warning codes)
    ERROR = "ERROR"


_INFO_CODES = frozenset({10349, 10167, 2100, 2101, 2102, 2103, 2104, 2105, 2106, 2107, 2108, 2109, 2110, 2119,
                         2137, 2150, 2157, 2158, 2168, 2169, 10197, 10090})
_WARNING_CODES = frozenset({105, 110, 165, 321, 329, 399, 404, 434, 492})


def classify_error(code: int, message: str = "") -> ErrorKind:
    """The kind of an IB error code (see the module docstring for the sources)."""
    if code in _INFO_CODES or 2100 <= code < 2200:
        return ErrorKind.INFO
    if code == 1100:
        return ErrorKind.CONNECTIVITY_LOST
    if code == 1101:
        return ErrorKind.RESTORED_DATA_LOST
    if code == 1102:
        return ErrorKind.RESTORED
    if code == 202:
        return ErrorKind.CANCELED
    if code == 201:
        return ErrorKind.REJECTED
    if code == 326:
        return ErrorKind.CLIENT_ID_IN_USE
    if code == 100 or (code == 162 and "pacing" in message.lower()):
        return ErrorKind.PACING
    if code == 103:
        return ErrorKind.DUPLICATE_ORDER_ID
    if code == 200:
        return ErrorKind.NO_CONTRACT
    if code in _WARNING_CODES:
        return ErrorKind.WARNING
    return ErrorKind.ERROR


def rejection_reason(code: int, message: str) -> str:
    """IB's text without its boilerplate prefix: ``"Order rejected - reason:X"`` -> ``"X"`` (code kept)."""
    text = message
    for prefix in ("Order rejected - reason:", "Order Canceled - reason:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return f"IB {code}: {text.strip()}" if text.strip() else f"IB {code}"


# ------------------------------------------------------------------------------------- contracts
def stock_contract(symbol: str, currency: str = "USD", exchange: str = "SMART") -> Contract:
    """A US stock routed SMART (qualify it once to get its conId)."""
    return Stock(symbol, exchange, currency)


# ---------------------------------------------------------------------------------------- orders
def to_ib_order(order: DomainOrder, order_id: int, *, account: str = "", parent_id: int = 0,
                transmit: bool = True, oca_group: str = "", oca_type: int = 0) -> Order:
    """Our order as an IB order with ``orderId`` and our id as ``orderRef``.

    Raises
    ------
    ValueError
        For an order type or time in force IB cannot express here (names the value).
    """
    kind = ORDER_TYPES.get(order.order_type)
    if kind is None:
        raise ValueError(f"order {order.order_id}: order_type {order.order_type} has no IB equivalent")
    tif = TIME_IN_FORCE.get(order.time_in_force)
    if tif is None:
        raise ValueError(f"order {order.order_id}: time_in_force {order.time_in_force} has no IB equivalent")
    if order.order_type is OrderType.MARKET_ON_OPEN:
        tif = "OPG"
    o = Order(orderId=order_id, action="BUY" if order.side is OrderSide.BUY else "SELL",
              totalQuantity=float(order.quantity), orderType=kind, tif=tif, orderRef=order.order_id,
              account=account, parentId=parent_id, transmit=transmit, ocaGroup=oca_group, ocaType=oca_type)
    if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        o.lmtPrice = order.limit_price
    if order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        o.auxPrice = order.stop_price
    if order.order_type is OrderType.TRAILING_STOP:
        if order.trailing_offset_type is TrailingOffsetType.PERCENT:
            o.trailingPercent = float(order.trailing_offset or 0.0) * 100.0
        else:
            o.auxPrice = order.trailing_offset
        if order.stop_price is not None:
            o.trailStopPrice = order.stop_price
    if order.time_in_force is TimeInForce.GTD and order.expire_time_ns is not None:
        o.goodTillDate = dt.datetime.fromtimestamp(order.expire_time_ns / _NS, dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")
    return o


def order_status(status: str) -> OrderStatus | None:
    """IB's status string -> ours (None for statuses that carry no state, e.g. ``ValidationError``)."""
    return STATUSES.get(status)


def side_of(action_or_side: str) -> OrderSide:
    """``BUY``/``BOT`` -> BUY, ``SELL``/``SLD``/``SSHORT`` -> SELL."""
    return OrderSide.BUY if action_or_side.upper() in ("BUY", "BOT") else OrderSide.SELL


def execution_key(exec_id: str) -> str:
    """The execution id without its correction suffix (``0001f4e8.6574a1b2.01.01`` -> ``0001f4e8.6574a1b2.01``)."""
    head, dot, _ = exec_id.rpartition(".")
    return head if dot else exec_id


def time_ns(value: Any) -> int:
    """A datetime (aware or UTC-naive), date, epoch seconds or None -> ns since epoch UTC (None -> 0)."""
    if value is None or value == "":
        return 0
    if isinstance(value, int | float):
        return int(value * _NS)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp()) * _NS + value.microsecond * 1000
    if isinstance(value, dt.date):
        return int(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp()) * _NS
    raise ValueError(f"cannot read a time from {value!r}")


def _commission(report: Any) -> float:
    value = getattr(report, "commission", 0.0) if report is not None else 0.0
    return 0.0 if value is None or not math.isfinite(value) or value >= UNSET_DOUBLE else float(value)


def fill_event(order_id: str, symbol: str, execution: Any, commission_report: Any = None,
               currency: str = "USD") -> ev.OrderFilled:
    """One execution as :class:`OrderFilled`: its own ``shares`` and ``price`` (never the cumulative
    ones), ``fill_id`` = IB's execution id without the correction suffix."""
    return ev.OrderFilled(
        ts_event=time_ns(execution.time), order_id=order_id, symbol=symbol,
        fill_id=execution_key(execution.execId), side=side_of(execution.side), last_quantity=float(execution.shares),
        last_price=float(execution.price), commission=_commission(commission_report), currency=currency,
    )


def fill_report(order_id: str, symbol: str, execution: Any, commission_report: Any = None) -> FillReport:
    return FillReport(fill_id=execution_key(execution.execId), order_id=order_id, symbol=symbol,
                      side=side_of(execution.side), quantity=float(execution.shares), price=float(execution.price),
                      commission=_commission(commission_report), ts_event=time_ns(execution.time))


def order_status_report(order_id: str, trade: Any, ts_last: int) -> OrderStatusReport | None:
    """A Trade (ib_async) as our status report; None if its status carries no state."""
    status = order_status(trade.orderStatus.status)
    if status is None:
        return None
    fills = list(trade.fills)
    filled = sum(float(f.execution.shares) for f in fills) or float(trade.orderStatus.filled or 0.0)
    avg = (sum(float(f.execution.shares) * float(f.execution.price) for f in fills) / filled if fills and filled
           else float(trade.orderStatus.avgFillPrice or 0.0))
    quantity = float(trade.order.totalQuantity)
    if status is OrderStatus.ACCEPTED and 0 < filled < quantity:
        status = OrderStatus.PARTIALLY_FILLED
    perm = trade.order.permId or trade.orderStatus.permId
    return OrderStatusReport(order_id=order_id, symbol=trade.contract.symbol, side=side_of(trade.order.action),
                             quantity=quantity, filled_quantity=filled, avg_fill_price=avg, status=status,
                             ts_last=ts_last, broker_order_id=str(perm or trade.order.orderId))


def position_report(position: Any, ts_last: int) -> PositionReport:
    return PositionReport(symbol=position.contract.symbol, quantity=float(position.position),
                          avg_price=float(position.avgCost) / float(position.contract.multiplier or 1),
                          ts_last=ts_last)


# ----------------------------------------------------------------------------------- market data
def _valid(x: Any) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x) and x > 0


def quote_tick(symbol: str, ticker: Any, ts_ns: int) -> QuoteTick | None:
    """The ticker's best bid/offer; None until both sides are quoted (IB sends -1 or NaN for none)."""
    bid, ask = ticker.bid, ticker.ask
    if not (_valid(bid) and _valid(ask)):
        return None
    return QuoteTick(symbol, float(bid), float(ask), float(ticker.bidSize or 0.0), float(ticker.askSize or 0.0),
                     ts_ns, ts_ns)


def book_quote(symbol: str, book: list[float], ts_ns: int) -> QuoteTick | None:
    """``[bid, ask, bid size, ask size]`` as a QuoteTick; None until both sides are quoted."""
    bid, ask = book[0], book[1]
    if not (_valid(bid) and _valid(ask)):
        return None
    return QuoteTick(symbol, float(bid), float(ask), float(book[2]), float(book[3]), ts_ns, ts_ns)


def trade_tick(symbol: str, price: float, size: float, ts_ns: int) -> TradeTick | None:
    if not _valid(price):
        return None
    return TradeTick(symbol, float(price), float(size or 0.0), ts_ns, ts_ns)


def real_time_bar(symbol: str, bar: Any, seconds: int = 5) -> Bar:
    """A 5-second real-time bar: ``ts_event`` its start, ``ts_init`` its end."""
    start = time_ns(bar.time)
    return Bar(symbol, float(bar.open_), float(bar.high), float(bar.low), float(bar.close), float(bar.volume),
               start, start + seconds * _NS)


def historical_bar(symbol: str, bar: Any, seconds: int) -> Bar:
    """A reqHistoricalData bar (``date`` its start) of ``seconds`` length."""
    start = time_ns(bar.date)
    return Bar(symbol, float(bar.open), float(bar.high), float(bar.low), float(bar.close), float(bar.volume),
               start, start + seconds * _NS)


def bar_size_setting(seconds: int) -> str:
    """IB's ``barSizeSetting`` for a bar length: 60 -> ``"1 min"``, 300 -> ``"5 mins"``, 86400 -> ``"1 day"``."""
    if seconds % 86_400 == 0:
        return "1 day"
    if seconds % 3600 == 0:
        n = seconds // 3600
        return f"{n} hour" if n == 1 else f"{n} hours"
    if seconds % 60 == 0:
        n = seconds // 60
        return f"{n} min" if n == 1 else f"{n} mins"
    return f"{seconds} secs"
