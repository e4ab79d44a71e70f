"""Client -> server messages of the TWS API (at server versions 157-178), parsed into plain records.

Field positions are those ib_async 2.1 and ib_insync 0.9.86 send (``tws.md`` section 5); a request
is read from its fixed prefix and any tail we do not use is ignored, as TWS tolerates newer fields.
Every parser raises :class:`~workbench.emulators.tws.codec.ProtocolError` naming the field and the
value it could not read.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.emulators.tws.codec import ProtocolError, to_float, to_int

# message ids sent by the client (EClient "OUT" ids)
REQ_MKT_DATA = 1
CANCEL_MKT_DATA = 2
PLACE_ORDER = 3
CANCEL_ORDER = 4
REQ_OPEN_ORDERS = 5
REQ_ACCOUNT_UPDATES = 6
REQ_EXECUTIONS = 7
REQ_IDS = 8
REQ_CONTRACT_DETAILS = 9
REQ_AUTO_OPEN_ORDERS = 15
REQ_ALL_OPEN_ORDERS = 16
REQ_MANAGED_ACCTS = 17
REQ_HISTORICAL_DATA = 20
CANCEL_HISTORICAL_DATA = 25
REQ_CURRENT_TIME = 49
REQ_REAL_TIME_BARS = 50
CANCEL_REAL_TIME_BARS = 51
REQ_GLOBAL_CANCEL = 58
REQ_MARKET_DATA_TYPE = 59
REQ_POSITIONS = 61
REQ_ACCOUNT_SUMMARY = 62
CANCEL_ACCOUNT_SUMMARY = 63
CANCEL_POSITIONS = 64
START_API = 71
REQ_ACCOUNT_UPDATES_MULTI = 76
CANCEL_ACCOUNT_UPDATES_MULTI = 77
REQ_TICK_BY_TICK = 97
CANCEL_TICK_BY_TICK = 98
REQ_COMPLETED_ORDERS = 99


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """The 12-field contract block a client sends (conId 0 = not qualified)."""

    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str


def _get(fields: list[str], index: int, name: str) -> str:
    try:
        return fields[index]
    except IndexError:
        raise ProtocolError(f"message {fields[0] if fields else '?'}: field {name} (#{index}) missing") from None


def contract_at(fields: list[str], start: int) -> ContractSpec:
    """The contract block at ``fields[start:start + 12]``."""
    _get(fields, start + 11, "contract.tradingClass")
    return ContractSpec(
        con_id=to_int(fields[start], "contract.conId"),
        symbol=fields[start + 1].upper(),
        sec_type=fields[start + 2] or "STK",
        exchange=fields[start + 7],
        primary_exchange=fields[start + 8],
        currency=fields[start + 9],
        local_symbol=fields[start + 10],
    )


def int_at(fields: list[str], index: int, name: str) -> int:
    return to_int(_get(fields, index, name), name)


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """A placeOrder (3) request: the fields the emulator acts on (prices None when unset)."""

    order_id: int
    contract: ContractSpec
    action: str
    quantity: float
    order_type: str
    limit_price: float | None
    aux_price: float | None
    tif: str
    oca_group: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool
    good_till_date: str
    oca_type: int
    trail_stop_price: float | None
    trailing_percent: float | None


def parse_place_order(fields: list[str]) -> PlaceOrder:
    """placeOrder at 157-178: the fixed prefix (``tws.md`` 5.1); the tail is ignored."""
    _get(fields, 69, "trailingPercent")
    quantity = to_float(fields[17], "totalQuantity")
    if quantity is None or quantity <= 0:
        raise ProtocolError(f"placeOrder: field totalQuantity must be positive, got {fields[17]!r}")
    action = fields[16].upper()
    if action not in ("BUY", "SELL", "SSHORT"):
        raise ProtocolError(f"placeOrder: field action must be BUY or SELL, got {fields[16]!r}")
    return PlaceOrder(
        order_id=to_int(fields[1], "orderId"),
        contract=contract_at(fields, 2),
        action="SELL" if action == "SSHORT" else action,
        quantity=quantity,
        order_type=fields[18].upper(),
        limit_price=to_float(fields[19], "lmtPrice"),
        aux_price=to_float(fields[20], "auxPrice"),
        tif=fields[21].upper() or "DAY",
        oca_group=fields[22],
        account=fields[23],
        order_ref=fields[26],
        transmit=fields[27] != "0",
        parent_id=to_int(fields[28], "parentId"),
        outside_rth=fields[33] == "1",
        good_till_date=fields[38],
        oca_type=to_int(fields[46], "ocaType"),
        trail_stop_price=to_float(fields[68], "trailStopPrice"),
        trailing_percent=to_float(fields[69], "trailingPercent"),
    )


@dataclass(frozen=True, slots=True)
class MarketDataRequest:
    """reqMktData (1): ``generic_ticks`` is the comma list, e.g. ``"233,236"``."""

    req_id: int
    contract: ContractSpec
    generic_ticks: str
    snapshot: bool


def parse_market_data(fields: list[str]) -> MarketDataRequest:
    contract = contract_at(fields, 3)
    i = 15
    if contract.sec_type == "BAG":
        legs = int_at(fields, i, "comboLegsCount")
        i += 1 + 4 * legs
    if _get(fields, i, "deltaNeutralContractPresent") == "1":
        i += 3
    i += 1
    return MarketDataRequest(
        req_id=int_at(fields, 2, "reqId"),
        contract=contract,
        generic_ticks=_get(fields, i, "genericTickList"),
        snapshot=_get(fields, i + 1, "snapshot") == "1",
    )


@dataclass(frozen=True, slots=True)
class HistoricalDataRequest:
    """reqHistoricalData (20): bar size like ``"1 min"``, duration like ``"2 D"``."""

    req_id: int
    contract: ContractSpec
    end: str
    bar_size: str
    duration: str
    use_rth: bool
    what_to_show: str
    format_date: int
    keep_up_to_date: bool


def parse_historical_data(fields: list[str]) -> HistoricalDataRequest:
    contract = contract_at(fields, 2)
    i = 15
    end, bar_size, duration = _get(fields, i, "endDateTime"), _get(fields, i + 1, "barSize"), fields[i + 2]
    use_rth, what = _get(fields, i + 3, "useRTH") == "1", _get(fields, i + 4, "whatToShow")
    fmt = int_at(fields, i + 5, "formatDate")
    i += 6
    if contract.sec_type == "BAG":
        legs = int_at(fields, i, "comboLegsCount")
        i += 1 + 4 * legs
    return HistoricalDataRequest(
        req_id=int_at(fields, 1, "reqId"), contract=contract, end=end, bar_size=bar_size, duration=duration,
        use_rth=use_rth, what_to_show=what.upper(), format_date=fmt,
        keep_up_to_date=_get(fields, i, "keepUpToDate") == "1",
    )


@dataclass(frozen=True, slots=True)
class ExecutionFilter:
    """reqExecutions (7) filter; empty strings / 0 mean "all"."""

    req_id: int
    client_id: int
    account: str
    time: str
    symbol: str


def parse_executions(fields: list[str]) -> ExecutionFilter:
    return ExecutionFilter(
        req_id=int_at(fields, 2, "reqId"), client_id=to_int(_get(fields, 3, "clientId"), "clientId"),
        account=_get(fields, 4, "acctCode"), time=_get(fields, 5, "time"), symbol=_get(fields, 6, "symbol").upper(),
    )
