"""Alpaca's wire format, emulator side: core records -> JSON / msgpack maps, request bodies -> core requests.

Shapes and value formats follow ``/work/shared/protocols/alpaca.md`` (checked against alpaca-py
0.44 on 127.0.0.1): ids are UUIDs, Account/Position money fields are strings, Order quantities
and prices strings, datetimes RFC-3339 with nanoseconds, market-data ``t`` a msgpack Timestamp.
No vendor import: this is the server side of the protocol.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgpack

from workbench.emulators.core import EmulatedAccount, EmulatedOrder, OrderRequest, OrderUpdate
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import ContingencyType, OrderSide, OrderStatus, OrderType, TimeInForce, TrailingOffsetType

_NS = 1_000_000_000
_ASSET_NS = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # uuid.NAMESPACE_URL
_EXCHANGES = {"SPY": "ARCA", "QQQ": "NASDAQ", "IWM": "ARCA", "DIA": "ARCA"}

ERROR_CODES = {400: 40010001, 401: 40110000, 403: 40310000, 404: 40410000, 422: 42210000, 429: 42910000,
               500: 50010000, 504: 50410000}
"""Alpaca's 8-digit error codes by HTTP status (documented codes start with the status)."""


class BadRequest(Exception):
    """A request body the emulator cannot accept (-> 422 or 400 with the message)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"code": ERROR_CODES.get(status, status * 100_000), "message": message}


def rfc3339(ns: int | None) -> str | None:
    """ns since epoch UTC -> ``2024-01-02T15:30:00.123456789Z`` (None/0 -> None)."""
    if not ns:
        return None
    seconds, frac = divmod(int(ns), _NS)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def parse_time(text: str | None) -> int | None:
    """RFC-3339 / ISO-8601 (offset or Z, naive = UTC) -> ns since epoch UTC."""
    if not text:
        return None
    import pandas as pd

    ts = pd.Timestamp(text)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.value)


def number(x: float | None) -> str | None:
    """A float as Alpaca's decimal string (shortest round-trip form; integers without ``.0``)."""
    if x is None:
        return None
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def asset_id(symbol: str) -> str:
    return str(uuid.uuid5(_ASSET_NS, f"alpaca-emulator:{symbol}"))


def execution_id(account: EmulatedAccount, fill_id: str) -> str:
    """A stable UUID per (account, fill): the same fill always has the same execution id."""
    return str(uuid.uuid5(_ASSET_NS, f"{account.account_id}:{fill_id}"))


# --------------------------------------------------------------------------------- REST objects
_TYPE_OUT = {OrderType.MARKET: "market", OrderType.LIMIT: "limit", OrderType.STOP: "stop",
             OrderType.STOP_LIMIT: "stop_limit", OrderType.TRAILING_STOP: "trailing_stop",
             OrderType.MARKET_ON_OPEN: "market", OrderType.MARKET_ON_CLOSE: "market"}
_TIF_OUT = {TimeInForce.DAY: "day", TimeInForce.GTC: "gtc", TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok"}
_STATUS_OUT = {OrderStatus.SUBMITTED: "pending_new", OrderStatus.ACCEPTED: "new", OrderStatus.TRIGGERED: "new",
               OrderStatus.PARTIALLY_FILLED: "partially_filled", OrderStatus.FILLED: "filled",
               OrderStatus.CANCELED: "canceled", OrderStatus.EXPIRED: "expired", OrderStatus.REJECTED: "rejected",
               OrderStatus.PENDING_CANCEL: "pending_cancel", OrderStatus.PENDING_REPLACE: "pending_replace"}


def order_status(order: EmulatedOrder) -> str:
    if order.replaced_by:
        return "replaced"
    if order.held:
        return "held"
    return _STATUS_OUT.get(order.status, "new")


def order_json(account: EmulatedAccount, order: EmulatedOrder, nested: bool = True) -> dict[str, Any]:
    """An Order object (alpaca.md 2.1)."""
    r = order.request
    tif = r.extra.get("time_in_force") or _TIF_OUT.get(r.time_in_force, "day")
    legs = None
    if nested and order.leg_ids:
        legs = [order_json(account, account.orders[i], nested=False) for i in order.leg_ids]
    trail_percent = trail_price = None
    if r.order_type is OrderType.TRAILING_STOP:
        if r.trailing_offset_type is TrailingOffsetType.PERCENT:
            trail_percent = number(r.trailing_offset)
        else:
            trail_price = number(r.trailing_offset)
    created = rfc3339(order.created_ns)
    return {
        "id": order.order_id, "client_order_id": order.client_order_id,
        "created_at": created, "updated_at": rfc3339(order.updated_ns) or created, "submitted_at": created,
        "filled_at": rfc3339(order.filled_ns), "expired_at": rfc3339(order.expired_ns), "expires_at": None,
        "canceled_at": rfc3339(order.canceled_ns), "failed_at": None,
        "replaced_at": rfc3339(order.updated_ns) if order.replaced_by else None,
        "replaced_by": order.replaced_by or None, "replaces": order.replaces or None,
        "asset_id": asset_id(order.symbol), "symbol": order.symbol, "asset_class": "us_equity",
        "notional": None, "qty": number(order.quantity), "filled_qty": number(order.filled_quantity),
        "filled_avg_price": number(order.avg_fill_price) if order.filled_quantity else None,
        "order_class": r.extra.get("order_class", ""), "order_type": _TYPE_OUT[r.order_type],
        "type": _TYPE_OUT[r.order_type], "side": r.side.value.lower(), "position_intent": None,
        "time_in_force": tif, "limit_price": number(order.limit_price), "stop_price": number(order.stop_price),
        "status": order_status(order), "extended_hours": bool(r.extra.get("extended_hours", False)), "legs": legs,
        "trail_percent": trail_percent, "trail_price": trail_price, "hwm": None,
    }


def account_json(account: EmulatedAccount) -> dict[str, Any]:
    """A TradeAccount object (alpaca.md 2.2): money as strings."""
    broker = account.broker
    equity = broker.equity()
    long_value = short_value = 0.0
    for symbol, (q, avg) in broker.positions.items():
        value = q * broker._mark(symbol, avg)
        if value > 0:
            long_value += value
        else:
            short_value += value
    bp = max(broker.buying_power(), 0.0)
    return {
        "id": account.account_id, "account_number": "EMU" + account.account_id[:8].upper(), "status": "ACTIVE",
        "crypto_status": "INACTIVE", "currency": "USD", "buying_power": number(round(bp, 2)),
        "regt_buying_power": number(round(bp, 2)), "daytrading_buying_power": "0",
        "non_marginable_buying_power": number(round(bp, 2)), "cash": number(round(broker.cash, 2)),
        "accrued_fees": "0", "portfolio_value": number(round(equity, 2)), "equity": number(round(equity, 2)),
        "last_equity": number(round(equity, 2)), "long_market_value": number(round(long_value, 2)),
        "short_market_value": number(round(short_value, 2)), "initial_margin": "0", "maintenance_margin": "0",
        "multiplier": number(broker.config.leverage), "pattern_day_trader": False, "trading_blocked": False,
        "transfers_blocked": False, "account_blocked": False, "trade_suspended_by_user": False,
        "shorting_enabled": bool(broker.config.allow_short), "daytrade_count": 0, "sma": "0",
    }


def position_json(account: EmulatedAccount, symbol: str) -> dict[str, Any]:
    """A Position object (alpaca.md 2.3)."""
    broker = account.broker
    q, avg = broker.positions[symbol]
    price = broker._mark(symbol, avg)
    value = q * price
    cost = q * avg
    return {
        "asset_id": asset_id(symbol), "symbol": symbol, "exchange": _EXCHANGES.get(symbol, "NYSE"),
        "asset_class": "us_equity", "avg_entry_price": number(avg), "qty": number(q), "qty_available": number(q),
        "side": "long" if q > 0 else "short", "market_value": number(round(value, 2)),
        "cost_basis": number(round(cost, 2)), "unrealized_pl": number(round(value - cost, 2)),
        "unrealized_plpc": number(round((value - cost) / abs(cost), 6)) if cost else "0",
        "current_price": number(price), "asset_marginable": True,
    }


def asset_json(symbol: str) -> dict[str, Any]:
    return {"id": asset_id(symbol), "class": "us_equity", "exchange": _EXCHANGES.get(symbol, "NYSE"),
            "symbol": symbol, "name": symbol, "status": "active", "tradable": True, "marginable": True,
            "shortable": True, "easy_to_borrow": True, "fractionable": False, "min_order_size": 1,
            "min_trade_increment": 1, "price_increment": 0.01, "attributes": []}


def fill_activity_json(account: EmulatedAccount, update: OrderUpdate, cum_qty: float) -> dict[str, Any]:
    """A FILL account activity (Alpaca's ``/v2/account/activities/FILL``)."""
    order = update.order
    seconds = update.ts_event // _NS
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y%m%d%H%M%S") + f"{(update.ts_event % _NS) // 1_000_000:03d}"
    return {
        "id": f"{stamp}::{execution_id(account, update.fill_id)}", "account_id": account.account_id,
        "activity_type": "FILL", "transaction_time": rfc3339(update.ts_event), "type": update.kind,
        "price": number(update.price), "qty": number(update.quantity), "side": order.side.value.lower(),
        "symbol": order.symbol, "leaves_qty": number(max(order.quantity - cum_qty, 0.0)), "order_id": order.order_id,
        "cum_qty": number(cum_qty), "order_status": "filled" if update.kind == "fill" else "partially_filled",
    }


def trade_update_json(account: EmulatedAccount, update: OrderUpdate) -> dict[str, Any]:
    """A ``trade_updates`` stream message (alpaca.md 5.3), rendered when the update happens (the
    order's cumulative fields are those right after it)."""
    data: dict[str, Any] = {"event": update.kind, "order": order_json(account, update.order),
                            "timestamp": rfc3339(update.ts_event)}
    if update.fill_id:
        data.update(execution_id=execution_id(account, update.fill_id), price=number(update.price),
                    qty=number(update.quantity), position_qty=number(update.position_quantity))
    return {"stream": "trade_updates", "data": data}


# --------------------------------------------------------------------------------- market data
def timestamp(ns: int) -> msgpack.Timestamp:
    return msgpack.Timestamp(int(ns) // _NS, int(ns) % _NS)


def bar_rest(bar: Bar) -> dict[str, Any]:
    """A historical bar (``/v2/stocks/bars``): ``t`` is the bar's start."""
    return {"t": rfc3339(bar.ts_event), "o": bar.open, "h": bar.high, "l": bar.low, "c": bar.close,
            "v": bar.volume, "n": None, "vw": None}


def market_message(item: Bar | QuoteTick | TradeTick, seq: int = 0) -> dict[str, Any]:
    """A market-data stream message (alpaca.md 4.3). Bars are stamped with their start, as Alpaca's."""
    t = type(item)
    if t is QuoteTick:
        return {"T": "q", "S": item.symbol, "bx": "V", "bp": item.bid, "bs": item.bid_size, "ax": "V",
                "ap": item.ask, "as": item.ask_size, "t": timestamp(item.ts_event), "c": ["R"], "z": "B"}
    if t is Bar:
        return {"T": "b", "S": item.symbol, "o": item.open, "h": item.high, "l": item.low, "c": item.close,
                "v": item.volume, "t": timestamp(item.ts_event), "n": None, "vw": None}
    return {"T": "t", "S": item.symbol, "i": seq, "x": "V", "p": item.price, "s": item.size,  # type: ignore[union-attr]
            "t": timestamp(item.ts_event), "c": ["@"], "z": "B"}


CHANNEL_OF = {QuoteTick: "quotes", Bar: "bars", TradeTick: "trades"}


# --------------------------------------------------------------------------------- requests
_TYPE_IN = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "stop": OrderType.STOP,
            "stop_limit": OrderType.STOP_LIMIT, "trailing_stop": OrderType.TRAILING_STOP}
_TIF_IN = {"day": TimeInForce.DAY, "gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK,
           "opg": TimeInForce.DAY, "cls": TimeInForce.DAY}


def _price(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"invalid {key}: {value!r}") from None
    if not price > 0:
        raise BadRequest(f"{key} must be > 0, got {value!r}")
    return price


def _enum(table: dict[str, Any], body: dict[str, Any], key: str, default: str | None = None) -> Any:
    value = body.get(key, default)
    try:
        return table[str(value).lower()]
    except KeyError:
        raise BadRequest(f"invalid {key}: {value!r}; expected one of {sorted(table)}") from None


def order_request(body: Any) -> OrderRequest:
    """POST /v2/orders JSON body -> :class:`OrderRequest` (alpaca.md 3.1).

    Raises
    ------
    BadRequest
        Missing or invalid fields (the message names the field), notional orders.
    """
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", 400)
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise BadRequest(f"invalid symbol: {symbol!r}")
    if body.get("notional") is not None:
        raise BadRequest("notional orders are not supported by the emulator: send qty")
    try:
        qty = float(body.get("qty"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRequest(f"invalid qty: {body.get('qty')!r}") from None
    if not qty > 0:
        raise BadRequest(f"qty must be > 0, got {body.get('qty')!r}")
    side = _enum({"buy": OrderSide.BUY, "sell": OrderSide.SELL}, body, "side")
    order_type = _enum(_TYPE_IN, body, "type", "market")
    tif_text = str(body.get("time_in_force", "day")).lower()
    tif = _enum(_TIF_IN, body, "time_in_force", "day")
    if tif_text in ("opg", "cls"):
        if order_type is not OrderType.MARKET:
            raise BadRequest(f"time_in_force {tif_text} is supported for market orders only by the emulator")
        order_type = OrderType.MARKET_ON_OPEN if tif_text == "opg" else OrderType.MARKET_ON_CLOSE
    limit = _price(body, "limit_price")
    stop = _price(body, "stop_price")
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and limit is None and body.get("order_class") != "oco":
        raise BadRequest("limit_price is required for limit orders")
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and stop is None:
        raise BadRequest("stop_price is required for stop orders")
    trail_offset = trail_type = None
    if order_type is OrderType.TRAILING_STOP:
        price, percent = _price(body, "trail_price"), _price(body, "trail_percent")
        if (price is None) == (percent is None):
            raise BadRequest("trailing_stop orders need exactly one of trail_price and trail_percent")
        trail_offset = price if price is not None else percent
        trail_type = TrailingOffsetType.PRICE if price is not None else TrailingOffsetType.PERCENT
    coid = body.get("client_order_id") or ""
    if not isinstance(coid, str) or len(coid) > 128:
        raise BadRequest("client_order_id must be a string of at most 128 characters")
    order_class = str(body.get("order_class") or "simple").lower()
    extra = {"order_class": "" if order_class == "simple" else order_class,
             "extended_hours": bool(body.get("extended_hours", False)), "time_in_force": tif_text}
    request = OrderRequest(symbol=symbol, side=side, quantity=qty, order_type=order_type, time_in_force=tif,
                           limit_price=limit, stop_price=stop, trailing_offset=trail_offset,
                           trailing_offset_type=trail_type, client_order_id=coid, extra=extra)
    if order_class in ("bracket", "oco", "oto"):
        _legs(request, body, order_class)
    elif order_class != "simple":
        raise BadRequest(f"invalid order_class: {order_class!r}")
    return request


def _legs(request: OrderRequest, body: dict[str, Any], order_class: str) -> None:
    exit_side = request.side.opposite()
    tp, sl = body.get("take_profit"), body.get("stop_loss")
    if order_class in ("bracket", "oco") and not (isinstance(tp, dict) and isinstance(sl, dict)):
        raise BadRequest(f"{order_class} orders need take_profit and stop_loss")
    if order_class == "oto" and not (isinstance(tp, dict) or isinstance(sl, dict)):
        raise BadRequest("oto orders need take_profit or stop_loss")
    legs: list[OrderRequest] = []
    tif = request.time_in_force
    extra = {"order_class": order_class}
    if isinstance(tp, dict) and order_class != "oco":
        legs.append(OrderRequest(request.symbol, exit_side, request.quantity, OrderType.LIMIT, tif,
                                 limit_price=_price(tp, "limit_price"), extra=dict(extra)))
    if isinstance(sl, dict):
        stop_limit = _price(sl, "limit_price")
        legs.append(OrderRequest(request.symbol, exit_side, request.quantity,
                                 OrderType.STOP_LIMIT if stop_limit else OrderType.STOP, tif,
                                 stop_price=_price(sl, "stop_price"), limit_price=stop_limit, extra=dict(extra)))
    if order_class == "oco":
        # the parent is the take-profit limit (an exit: its side is the request's), the leg the stop
        request.order_type = OrderType.LIMIT
        request.limit_price = _price(tp, "limit_price")  # type: ignore[arg-type]
        for leg in legs:
            leg.side = request.side
        request.contingency = ContingencyType.OCO
    else:
        request.contingency = ContingencyType.OTO
    if any(leg.limit_price is None and leg.order_type is OrderType.LIMIT for leg in legs):
        raise BadRequest("take_profit.limit_price is required")
    if any(leg.stop_price is None for leg in legs if leg.order_type is not OrderType.LIMIT):
        raise BadRequest("stop_loss.stop_price is required")
    request.legs = legs
