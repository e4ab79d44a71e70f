"""Alpaca <-> domain mapping: pure, table-like, the only place with Alpaca's spellings.

Inputs are what alpaca-py 0.44 hands over: its typed REST models (``Order``, ``Position``,
``TradeUpdate``), raw stream messages (the adapter runs both streams with ``raw_data=True``, so a
malformed message fails here, alone, instead of inside the client's receive loop), and raw FILL
activities. Outputs are domain objects: ``Bar``/``QuoteTick``/``TradeTick``, order events, reports.

Rules with their sources:

* A fill is the trade update's own ``qty`` at its own ``price`` with its ``execution_id`` as the
  fill id, never the order's cumulative ``filled_qty``/``filled_avg_price`` (Alpaca-API #103,
  LEAN #4014).
* The engine's order id is the ``client_order_id``; a replacement carries
  ``<order id>~r<n>`` (client order ids must be unique even after a cancel: alpaca-py #260), so
  :func:`engine_order_id` maps every order of a replace chain back to one engine order.
* Unknown trade-update events are tolerated (mapped to nothing) (alpaca-py #629).
* Market-data ``t`` is a msgpack Timestamp; a minute bar's ``t`` is its start, so a domain bar's
  ``ts_init`` (when it became known) is ``t`` + 1 minute.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import ContingencyType, OrderSide, OrderStatus, OrderType, TimeInForce, TrailingOffsetType
from workbench.model.orders import Order
from workbench.model.reports import FillReport, OrderStatusReport, PositionReport

REPLACE_SEPARATOR = "~r"
MINUTE_NS = 60_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ParseError(ValueError):
    """A payload that cannot be mapped (the message names the field)."""


class UnsupportedOrder(ValueError):
    """A domain order Alpaca cannot take (the message says why); the adapter rejects it locally."""


# ----------------------------------------------------------------------------------- primitives
def ns_of(value: Any) -> int:
    """A datetime (aware or naive UTC), an RFC-3339 string or a msgpack Timestamp -> ns since epoch UTC."""
    if value is None:
        raise ParseError("missing timestamp")
    to_nano = getattr(value, "to_unix_nano", None)
    if to_nano is not None:
        return int(to_nano())
    if isinstance(value, str):
        import pandas as pd

        ts = pd.Timestamp(value)
        return int((ts.tz_localize("UTC") if ts.tzinfo is None else ts).value)
    if isinstance(value, datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        delta = dt - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    raise ParseError(f"not a timestamp: {value!r}")


def _float(value: Any, field: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParseError(f"{field}: not a number: {value!r}") from None
    if out != out:
        raise ParseError(f"{field}: NaN")
    return out


def _text(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str) or "").lower()


def engine_order_id(client_order_id: str) -> str:
    """The engine order id behind a client order id (replacements carry ``~r<n>``)."""
    return client_order_id.split(REPLACE_SEPARATOR, 1)[0]


def replacement_id(order_id: str, n: int) -> str:
    return f"{order_id}{REPLACE_SEPARATOR}{n}"


# ---------------------------------------------------------------------------------- market data
def quote(msg: dict[str, Any]) -> QuoteTick:
    """Stream message ``{"T":"q","S","bp","bs","ap","as","t",...}`` -> QuoteTick."""
    try:
        ts = msg["t"].to_unix_nano()
        return QuoteTick(msg["S"], float(msg["bp"]), float(msg["ap"]), float(msg["bs"]), float(msg["as"]), ts, ts)
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise ParseError(f"bad quote message ({type(exc).__name__}: {exc}): {msg!r:.200}") from None


def trade(msg: dict[str, Any]) -> TradeTick:
    """Stream message ``{"T":"t","S","p","s","t",...}`` -> TradeTick (no aggressor on Alpaca's feed)."""
    try:
        ts = msg["t"].to_unix_nano()
        return TradeTick(msg["S"], float(msg["p"]), float(msg["s"]), ts, ts)
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise ParseError(f"bad trade message ({type(exc).__name__}: {exc}): {msg!r:.200}") from None


def bar(msg: dict[str, Any], interval_ns: int = MINUTE_NS) -> Bar:
    """Stream message ``{"T":"b"|"u","S","o","h","l","c","v","t"}`` -> Bar (``t`` = bar start)."""
    try:
        start = msg["t"].to_unix_nano()
        return Bar(msg["S"], float(msg["o"]), float(msg["h"]), float(msg["l"]), float(msg["c"]), float(msg["v"]),
                   start, start + interval_ns)
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise ParseError(f"bad bar message ({type(exc).__name__}: {exc}): {msg!r:.200}") from None


MARKET_PARSERS = {"q": quote, "t": trade, "b": bar, "u": bar}
"""Stream message type ``T`` -> parser."""

CHANNELS = {"bars": "bars", "quotes": "quotes", "trades": "trades", "updated_bars": "updatedBars",
            "statuses": "statuses"}
"""Domain subscription kind -> Alpaca channel."""


def historical_bar(symbol: str, model: Any, interval_ns: int = MINUTE_NS) -> Bar:
    """An alpaca-py ``Bar`` model from StockHistoricalDataClient -> Bar."""
    start = ns_of(model.timestamp)
    return Bar(symbol, float(model.open), float(model.high), float(model.low), float(model.close),
               float(model.volume), start, start + interval_ns)


# ---------------------------------------------------------------------------------- order requests
_TIF_OUT = {TimeInForce.DAY: "day", TimeInForce.GTC: "gtc", TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok"}


def order_request(order: Order, take_profit: Order | None = None) -> Any:
    """A domain order -> alpaca-py request model (``client_order_id`` = the engine's order id).

    With ``take_profit`` (an OCO pair from the engine: ``order`` is the stop, ``take_profit`` the
    limit), the pair becomes one ``order_class=oco`` request.

    Raises
    ------
    UnsupportedOrder
        GTD time in force, a missing price, an OCO pair that is not a limit plus a stop.
    """
    from alpaca.trading import enums as ae
    from alpaca.trading import requests as ar

    side = ae.OrderSide.BUY if order.side is OrderSide.BUY else ae.OrderSide.SELL
    t = order.order_type
    if t is OrderType.MARKET_ON_OPEN or t is OrderType.MARKET_ON_CLOSE:
        tif = ae.TimeInForce.OPG if t is OrderType.MARKET_ON_OPEN else ae.TimeInForce.CLS
    else:
        name = _TIF_OUT.get(order.time_in_force)
        if name is None:
            raise UnsupportedOrder(f"time in force {order.time_in_force} is not supported by Alpaca "
                                   "(day, gtc, ioc, fok, opg, cls)")
        tif = ae.TimeInForce(name)
    common: dict[str, Any] = dict(symbol=order.symbol, qty=order.quantity, side=side, time_in_force=tif,
                                  client_order_id=order.order_id)
    if take_profit is not None:
        if take_profit.order_type is not OrderType.LIMIT or t not in (OrderType.STOP, OrderType.STOP_LIMIT):
            raise UnsupportedOrder("an Alpaca OCO order is a take-profit limit plus a stop (or stop-limit) loss")
        common["client_order_id"] = take_profit.order_id
        return ar.LimitOrderRequest(
            **common, limit_price=take_profit.limit_price, order_class=ae.OrderClass.OCO,
            take_profit=ar.TakeProfitRequest(limit_price=take_profit.limit_price),
            stop_loss=ar.StopLossRequest(stop_price=order.stop_price,
                                         limit_price=order.limit_price if t is OrderType.STOP_LIMIT else None))
    try:
        if t in (OrderType.MARKET, OrderType.MARKET_ON_OPEN, OrderType.MARKET_ON_CLOSE):
            return ar.MarketOrderRequest(**common)
        if t is OrderType.LIMIT:
            return ar.LimitOrderRequest(**common, limit_price=order.limit_price)
        if t is OrderType.STOP:
            return ar.StopOrderRequest(**common, stop_price=order.stop_price)
        if t is OrderType.STOP_LIMIT:
            return ar.StopLimitOrderRequest(**common, stop_price=order.stop_price, limit_price=order.limit_price)
        if t is OrderType.TRAILING_STOP:
            key = "trail_percent" if order.trailing_offset_type is TrailingOffsetType.PERCENT else "trail_price"
            return ar.TrailingStopOrderRequest(**common, **{key: order.trailing_offset})
    except ValueError as exc:  # alpaca-py validates before sending
        raise UnsupportedOrder(f"alpaca-py refused the request: {exc}") from None
    raise UnsupportedOrder(f"order type {t} is not supported by Alpaca")


def is_oco_member(order: Order) -> bool:
    return order.contingency is ContingencyType.OCO and len(order.linked_order_ids) == 1


# ---------------------------------------------------------------------------------- order updates
_ACCEPTED = {"new", "accepted", "pending_new"}
_IGNORED = {"pending_cancel", "pending_replace", "replaced", "restated", "calculated", "stopped", "suspended",
            "held", "accepted_for_bidding", "pending_review"}


def trade_update(data: dict[str, Any]) -> Any:
    """Validate a raw ``trade_updates`` payload with alpaca-py's ``TradeUpdate`` model.

    Raises
    ------
    ParseError
        The payload does not validate (names the first bad field).
    """
    from alpaca.trading.models import TradeUpdate
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise ParseError(f"trade update is not an object: {data!r:.200}")
    try:
        return TradeUpdate(**data)
    except (ValidationError, TypeError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else {"loc": (), "msg": str(exc)}
        where = ".".join(str(p) for p in first["loc"])
        raise ParseError(f"trade update invalid at {where or 'payload'}: {first['msg']}") from None


def update_event(update: Any, order_id: str) -> ev.OrderEvent | None:
    """A validated TradeUpdate -> the domain event for engine order ``order_id`` (None: nothing to report).

    Raises
    ------
    ParseError
        A fill without its own ``qty``/``price`` (never booked from cumulative fields).
    """
    kind = _text(update.event)
    order = update.order
    symbol = order.symbol or ""
    ts = ns_of(update.timestamp)
    if kind in ("fill", "partial_fill"):
        if update.qty is None or update.price is None:
            raise ParseError(f"{kind} for order {order.id} without the execution's qty/price")
        side = OrderSide.BUY if _text(order.side) == "buy" else OrderSide.SELL
        fill_id = str(update.execution_id) if update.execution_id else f"{order.id}:{order.filled_qty}"
        return ev.OrderFilled(ts_event=ts, order_id=order_id, symbol=symbol, fill_id=fill_id, side=side,
                              last_quantity=float(update.qty), last_price=float(update.price))
    if kind in _ACCEPTED:
        return ev.OrderAccepted(ts_event=ts, order_id=order_id, symbol=symbol, broker_order_id=str(order.id))
    if kind == "canceled":
        return ev.OrderCanceled(ts_event=ts, order_id=order_id, symbol=symbol)
    if kind in ("expired", "done_for_day"):
        return ev.OrderExpired(ts_event=ts, order_id=order_id, symbol=symbol)
    if kind == "rejected":
        return ev.OrderRejected(ts_event=ts, order_id=order_id, symbol=symbol, reason="rejected by Alpaca")
    if kind == "order_replace_rejected":
        return ev.OrderModifyRejected(ts_event=ts, order_id=order_id, symbol=symbol, reason="replace rejected by Alpaca")
    if kind == "order_cancel_rejected":
        return ev.OrderCancelRejected(ts_event=ts, order_id=order_id, symbol=symbol, reason="cancel rejected by Alpaca")
    return None  # pending_*, replaced (answered by the REST call), unknown events (alpaca-py #629)


def rejection_reason(error: Any) -> str:
    """An alpaca-py ``APIError`` -> ``"403 40310000: insufficient buying power"`` (status, code, message)."""
    status = getattr(error, "status_code", None)
    try:
        code, message = error.code, error.message
    except Exception:  # a body without "code" (alpaca.md 1.2)
        code, message = "", str(error)
    return f"{status} {code}: {message}".replace(" :", ":").strip()


# ---------------------------------------------------------------------------------- reports
_STATUS_IN = {
    "new": OrderStatus.ACCEPTED, "accepted": OrderStatus.ACCEPTED, "pending_new": OrderStatus.SUBMITTED,
    "accepted_for_bidding": OrderStatus.ACCEPTED, "held": OrderStatus.ACCEPTED, "calculated": OrderStatus.ACCEPTED,
    "stopped": OrderStatus.ACCEPTED, "suspended": OrderStatus.ACCEPTED, "pending_review": OrderStatus.SUBMITTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED, "filled": OrderStatus.FILLED,
    "done_for_day": OrderStatus.EXPIRED, "expired": OrderStatus.EXPIRED, "canceled": OrderStatus.CANCELED,
    "replaced": OrderStatus.CANCELED, "pending_cancel": OrderStatus.PENDING_CANCEL,
    "pending_replace": OrderStatus.PENDING_REPLACE, "rejected": OrderStatus.REJECTED,
}
"""Alpaca order status -> domain status (``replaced`` orders are folded into their chain)."""


def flatten_orders(orders: Iterable[Any]) -> list[Any]:
    """Alpaca orders with their ``legs`` listed after them."""
    out = []
    for o in orders:
        out.append(o)
        out.extend(o.legs or ())
    return out


def order_status_reports(orders: Iterable[Any], leg_ids: dict[str, str] | None = None) -> list[OrderStatusReport]:
    """Alpaca orders -> one report per engine order (a replace chain summed: filled quantity and
    average price over the chain, quantity and status of its live end).

    ``leg_ids`` maps Alpaca ids of bracket/OCO legs (which carry Alpaca's own client order ids) to
    engine order ids.
    """
    leg_ids = leg_ids or {}
    chains: dict[str, list[Any]] = {}
    for o in orders:
        engine_id = leg_ids.get(str(o.id)) or engine_order_id(o.client_order_id)
        chains.setdefault(engine_id, []).append(o)
    out = []
    for engine_id, chain in chains.items():
        live = next((o for o in chain if _text(o.status) != "replaced"), chain[-1])
        filled = sum(float(o.filled_qty or 0) for o in chain)
        value = sum(float(o.filled_qty or 0) * float(o.filled_avg_price or 0) for o in chain)
        earlier = sum(float(o.filled_qty or 0) for o in chain if o is not live)
        status = _STATUS_IN.get(_text(live.status), OrderStatus.ACCEPTED)
        ts = max(ns_of(o.updated_at) for o in chain)
        out.append(OrderStatusReport(
            order_id=engine_id, symbol=live.symbol or "", side=OrderSide.BUY if _text(live.side) == "buy" else OrderSide.SELL,
            quantity=float(live.qty or 0) + earlier, filled_quantity=filled,
            avg_fill_price=value / filled if filled else 0.0, status=status, ts_last=ts, broker_order_id=str(live.id)))
    return out


def fill_report(activity: dict[str, Any], engine_ids: dict[str, str]) -> FillReport:
    """A raw FILL activity -> FillReport. Its id is ``<time>::<execution id>``: the fill id is the
    execution id, as in the trade update, so the engine books each execution once.

    ``engine_ids`` maps Alpaca order ids to engine order ids (unknown: the Alpaca id is kept, and
    the engine books the fill as external).

    Raises
    ------
    ParseError
        Missing or invalid fields.
    """
    try:
        raw_id = str(activity["id"])
        order_id = str(activity["order_id"])
        return FillReport(
            fill_id=raw_id.split("::", 1)[-1], order_id=engine_ids.get(order_id, order_id),
            symbol=str(activity["symbol"]), side=OrderSide.BUY if str(activity["side"]).lower() == "buy" else OrderSide.SELL,
            quantity=_float(activity["qty"], "qty"), price=_float(activity["price"], "price"), commission=0.0,
            ts_event=ns_of(activity["transaction_time"]))
    except KeyError as exc:
        raise ParseError(f"FILL activity without {exc.args[0]!r}: {activity!r:.200}") from None


def position_report(position: Any, ts: int) -> PositionReport:
    """An alpaca-py ``Position`` -> PositionReport (signed shares; ``qty`` is negative for shorts)."""
    return PositionReport(symbol=position.symbol, quantity=float(position.qty), avg_price=float(position.avg_entry_price),
                          ts_last=ts)
