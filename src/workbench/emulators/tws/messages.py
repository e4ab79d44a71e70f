"""Server -> client messages of the TWS API, encoded for a negotiated server version (157-178).

Field lists follow ``../shared/protocols/tws.md`` section 4 (validated field by field against
ib_async 2.1's decoder at version 178); the version gates are those of ib_async's decoder
(``decoder.py``): error's advancedOrderRejectJson from 166, contractDetails without the version
field and mdSizeMultiplier from 164, execDetails' pendingPriceRevision from 178, openOrder's and
completedOrder's faProfile below 177 and their duration/postToAts/autoCancelParent (159/160/162)
and minTradeQty.. (170) tails. Each function returns one framed message (bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.emulators.tws.codec import UNSET_DOUBLE, encode

# message ids sent by the server (EWrapper "IN" ids)
TICK_PRICE = 1
TICK_SIZE = 2
ORDER_STATUS = 3
ERROR = 4
OPEN_ORDER = 5
ACCOUNT_VALUE = 6
PORTFOLIO_VALUE = 7
ACCOUNT_UPDATE_TIME = 8
NEXT_VALID_ID = 9
CONTRACT_DATA = 10
EXECUTION_DATA = 11
MANAGED_ACCTS = 15
HISTORICAL_DATA = 17
TICK_GENERIC = 45
TICK_STRING = 46
CURRENT_TIME = 49
REAL_TIME_BARS = 50
CONTRACT_DATA_END = 52
OPEN_ORDER_END = 53
ACCT_DOWNLOAD_END = 54
EXECUTION_DATA_END = 55
MARKET_DATA_TYPE = 58
COMMISSION_REPORT = 59
POSITION_DATA = 61
POSITION_END = 62
ACCOUNT_SUMMARY = 63
ACCOUNT_SUMMARY_END = 64
ACCOUNT_UPDATE_MULTI = 73
ACCOUNT_UPDATE_MULTI_END = 74
TICK_REQ_PARAMS = 81
TICK_BY_TICK = 99
COMPLETED_ORDER = 101
COMPLETED_ORDERS_END = 102


@dataclass(frozen=True, slots=True)
class ContractInfo:
    """A contract as the emulator knows it (a US stock routed SMART by default)."""

    con_id: int
    symbol: str
    sec_type: str = "STK"
    exchange: str = "SMART"
    primary_exchange: str = "ARCA"
    currency: str = "USD"
    long_name: str = ""
    min_tick: float = 0.01

    def block(self) -> tuple[object, ...]:
        """The 11-field block (C11) of execDetails, openOrder, position."""
        return (self.con_id, self.symbol, self.sec_type, "", 0, "", "", self.exchange, self.currency, self.symbol,
                self.symbol)


@dataclass(slots=True)
class OrderRecord:
    """One order on the emulated TWS: what openOrder/orderStatus/completedOrder report."""

    order_id: int
    client_id: int
    perm_id: int
    contract: ContractInfo
    action: str
    quantity: float
    order_type: str
    limit_price: float | None
    aux_price: float | None
    tif: str
    oca_group: str
    account: str
    order_ref: str
    parent_id: int = 0
    outside_rth: bool = False
    oca_type: int = 0
    trailing_percent: float | None = None
    trail_stop_price: float | None = None
    status: str = "PreSubmitted"
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    completed_time: str = ""

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.filled, 0.0)


def _price(value: float | None) -> object:
    return UNSET_DOUBLE if value is None else value


# ------------------------------------------------------------------------------------- connection
def handshake(version: int, connection_time: str) -> bytes:
    """The server's first frame: exactly two fields (version, connection time)."""
    return encode(version, connection_time)


def next_valid_id(order_id: int) -> bytes:
    return encode(NEXT_VALID_ID, 1, order_id)


def managed_accounts(accounts: list[str]) -> bytes:
    return encode(MANAGED_ACCTS, 1, ",".join(accounts))


def error(version: int, req_id: int, code: int, message: str) -> bytes:
    """error (4); reqId -1 when not tied to a request or order."""
    if version >= 166:
        return encode(ERROR, 2, req_id, code, message, "")
    return encode(ERROR, 2, req_id, code, message)


def current_time(epoch_seconds: int) -> bytes:
    return encode(CURRENT_TIME, 1, epoch_seconds)


# ------------------------------------------------------------------------------------ market data
def tick_req_params(req_id: int, min_tick: float) -> bytes:
    return encode(TICK_REQ_PARAMS, req_id, min_tick, "9c0001", 3)


def market_data_type(req_id: int, data_type: int) -> bytes:
    return encode(MARKET_DATA_TYPE, 1, req_id, data_type)


def tick_price(req_id: int, tick_type: int, price: float, size: float) -> bytes:
    """tickPrice (1): 1 bid, 2 ask, 4 last (carry a size), 6 high, 7 low, 9 close, 14 open."""
    return encode(TICK_PRICE, 6, req_id, tick_type, price, size, 0)


def tick_size(req_id: int, tick_type: int, size: float) -> bytes:
    """tickSize (2): 0 bidSize, 3 askSize, 5 lastSize, 8 volume."""
    return encode(TICK_SIZE, 6, req_id, tick_type, size)


def tick_string(req_id: int, tick_type: int, value: str) -> bytes:
    """tickString (46): 45 lastTimestamp (epoch s), 48 RTVolume."""
    return encode(TICK_STRING, 6, req_id, tick_type, value)


def tick_by_tick_bid_ask(req_id: int, epoch_seconds: int, bid: float, ask: float, bid_size: float,
                         ask_size: float) -> bytes:
    return encode(TICK_BY_TICK, req_id, 3, epoch_seconds, bid, ask, bid_size, ask_size, 0)


def tick_by_tick_last(req_id: int, tick_type: int, epoch_seconds: int, price: float, size: float) -> bytes:
    """tickByTick Last (1) / AllLast (2)."""
    return encode(TICK_BY_TICK, req_id, tick_type, epoch_seconds, price, size, 0, "", "")


def real_time_bar(req_id: int, epoch_seconds: int, open_: float, high: float, low: float, close: float,
                  volume: float, wap: float, count: int) -> bytes:
    return encode(REAL_TIME_BARS, 3, req_id, epoch_seconds, open_, high, low, close, volume, wap, count)


def historical_data(req_id: int, start: str, end: str, bars: list[tuple[object, ...]]) -> bytes:
    """historicalData (17); each bar is ``(date, open, high, low, close, volume, wap, count)``."""
    flat: list[object] = []
    for bar in bars:
        flat.extend(bar)
    return encode(HISTORICAL_DATA, req_id, start, end, len(bars), *flat)


def contract_details(version: int, req_id: int, c: ContractInfo) -> bytes:
    """contractDetails (10) for a stock: one match."""
    head: list[object] = [CONTRACT_DATA]
    if version < 164:
        head.append(8)
    head += [req_id, c.symbol, c.sec_type, "", 0, "", c.exchange, c.currency, c.symbol, c.symbol, c.symbol, c.con_id,
             c.min_tick]
    if version < 164:
        head.append(1)  # mdSizeMultiplier
    head += ["", "ACTIVETIM,AD,LMT,MKT,MOC,MOO,STP,STPLMT,TRAIL,TRAILLIMIT", f"SMART,{c.primary_exchange}", 1, 0,
             c.long_name or c.symbol, c.primary_exchange, "", "", "", "", "US/Eastern", "", "", "", "", 0, "", "", "",
             "26", "", "COMMON"]
    if version == 163:
        head.append(100)
    if version >= 164:
        head += [1, 1, 100]
    return encode(*head)


def contract_details_end(req_id: int) -> bytes:
    return encode(CONTRACT_DATA_END, 1, req_id)


# ------------------------------------------------------------------------------------------ orders
def order_status(o: OrderRecord) -> bytes:
    """orderStatus (3), no version field."""
    return encode(ORDER_STATUS, o.order_id, o.status, o.filled, o.remaining, o.avg_fill_price, o.perm_id,
                  o.parent_id, o.last_fill_price, o.client_id, "", 0)


def _order_head(o: OrderRecord) -> list[object]:
    """Fields 13-33 of openOrder (action .. faPercentage), shared with completedOrder's layout."""
    return [o.action, o.quantity, o.order_type, _price(o.limit_price), _price(o.aux_price), o.tif, o.oca_group,
            o.account]


def open_order(version: int, o: OrderRecord) -> bytes:
    """openOrder (5): 127 fields at 178 (``tws.md`` 4.1), fewer/more by version."""
    f: list[object] = [OPEN_ORDER, o.order_id, *o.contract.block(), *_order_head(o),
                       "O", 0, o.order_ref, o.client_id, o.perm_id, o.outside_rth, 0, 0, "", "", "", "", ""]
    if version < 177:
        f.append("")  # faProfile
    f += ["", "", "", "", "", 0, "", -1, 0, "", "", "", "", "", 0, 0, 0, 0, "", o.oca_type, 0, 0, "", o.parent_id,
          0, "", "", "", "", 0, "", _price(o.trail_stop_price), _price(o.trailing_percent), "", "", "", 0, 0, 0,
          "", "", "", "", 0, "", "", 0, 0, "", 0, 0, o.status, "", "", "", "", "", "", "", "", "", "", "", "", "",
          "", 0, 0, 0, "", "", "", "", "", "", "", 0, "", "", "", "", 0, 0, 0, 0]
    if version >= 159:
        f.append("")  # duration
    if version >= 160:
        f.append("")  # postToAts
    if version >= 162:
        f.append(0)  # autoCancelParent
    if version >= 170:
        f += ["", "", "", "", ""]
    return encode(*f)


def open_order_end() -> bytes:
    return encode(OPEN_ORDER_END, 1)


def completed_order(version: int, o: OrderRecord) -> bytes:
    """completedOrder (101): 96 fields at 178 (``tws.md`` 4.2); no orderId (the client keys it by permId)."""
    f: list[object] = [COMPLETED_ORDER, *o.contract.block(), *_order_head(o), "O", 0, o.order_ref, o.perm_id,
                       o.outside_rth, 0, 0, "", "", "", ""]
    if version < 177:
        f.append("")  # faProfile
    f += ["", "", "", "", "", 0, "", -1, "", "", "", "", "", 0, 0, 0, "", o.oca_type, 0, "", "", "", "", 0, "",
          _price(o.trail_stop_price), _price(o.trailing_percent), "", 0, 0, 0, "", "", "", "", "", "", 0, 0, "", 0,
          o.status, 0, 0, 0, "", "", "", 0, 0, "", o.filled, "", 0, "", 0, 0, 0, o.completed_time, o.status]
    if version >= 170:
        f += ["", "", "", "", ""]
    return encode(*f)


def completed_orders_end() -> bytes:
    return encode(COMPLETED_ORDERS_END)


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One execution as TWS reports it (``time`` as ``YYYYMMDD HH:MM:SS UTC``)."""

    exec_id: str
    order: OrderRecord
    time: str
    side: str
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    commission: float
    ts_ns: int


def exec_details(version: int, req_id: int, x: ExecutionRecord) -> bytes:
    """execDetails (11): reqId -1 for a live fill, the request's id for a reqExecutions answer."""
    o = x.order
    f: list[object] = [EXECUTION_DATA, req_id, o.order_id, *o.contract.block(), x.exec_id, x.time, o.account,
                       o.contract.primary_exchange, x.side, x.shares, x.price, o.perm_id, o.client_id, 0, x.cum_qty,
                       x.avg_price, o.order_ref, "", "", "", 2]
    if version >= 178:
        f.append(0)
    return encode(*f)


def exec_details_end(req_id: int) -> bytes:
    return encode(EXECUTION_DATA_END, 1, req_id)


def commission_report(exec_id: str, commission: float, currency: str = "USD") -> bytes:
    return encode(COMMISSION_REPORT, 1, exec_id, commission, currency, UNSET_DOUBLE, UNSET_DOUBLE, "")


# ----------------------------------------------------------------------------------------- account
def position(account: str, c: ContractInfo, quantity: float, avg_cost: float) -> bytes:
    return encode(POSITION_DATA, 3, account, *c.block(), quantity, avg_cost)


def position_end() -> bytes:
    return encode(POSITION_END, 1)


def account_value(key: str, value: object, currency: str, account: str) -> bytes:
    return encode(ACCOUNT_VALUE, 2, key, value, currency, account)


def portfolio_value(c: ContractInfo, quantity: float, market_price: float, market_value: float, avg_cost: float,
                    unrealized: float, realized: float, account: str) -> bytes:
    return encode(PORTFOLIO_VALUE, 8, c.con_id, c.symbol, c.sec_type, "", 0, "", "", c.primary_exchange, c.currency,
                  c.symbol, c.symbol, quantity, market_price, market_value, avg_cost, unrealized, realized, account)


def account_update_time(hh_mm: str) -> bytes:
    return encode(ACCOUNT_UPDATE_TIME, 1, hh_mm)


def account_download_end(account: str) -> bytes:
    return encode(ACCT_DOWNLOAD_END, 1, account)


def account_update_multi(req_id: int, account: str, key: str, value: object, currency: str) -> bytes:
    return encode(ACCOUNT_UPDATE_MULTI, 1, req_id, account, "", key, value, currency)


def account_update_multi_end(req_id: int) -> bytes:
    return encode(ACCOUNT_UPDATE_MULTI_END, 1, req_id)


def account_summary(req_id: int, account: str, tag: str, value: object, currency: str) -> bytes:
    return encode(ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency)


def account_summary_end(req_id: int) -> bytes:
    return encode(ACCOUNT_SUMMARY_END, 1, req_id)


def tick_snapshot_end(req_id: int) -> bytes:
    """tickSnapshotEnd (57): a snapshot reqMktData is complete."""
    return encode(57, 1, req_id)
