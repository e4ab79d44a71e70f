"""The broker-agnostic emulator core: a replayed market, accounts matched by ``SimulatedBroker``, faults.

A protocol front-end (``emulators/alpaca``, ``emulators/tws``) speaks one broker's wire protocol
to that broker's real client library and calls this core for everything else (DESIGN rule 7:
emulators import no vendor client):

* :class:`EmulatedMarket` replays the shipped real data (``"demo"``), a recording directory or a
  bar file (anything :func:`workbench.session.load_stream` accepts) at ``speed`` times real time
  (None: as fast as the listeners take it), through the same
  :class:`~workbench.feeds.replay.ReplayFeed` the in-process paper mode uses. Each item is first
  given to every account's matching, then to the market listeners (the front-end's data streams),
  exactly the order in which the in-process engine feeds its simulated broker and then its
  strategies: the same strategy on the same data therefore gets the same fills through the wire
  as in process, when the round trip is short compared with the data's spacing.
* :class:`EmulatedAccount` is one account: credentials, a :class:`~workbench.brokers.simulated.SimulatedBroker`
  (matching, cash, positions, fills: the in-process paper broker, so results are comparable) and
  the emulator's own order records (:class:`EmulatedOrder`: ids, client order ids, cumulative
  fills, timestamps, contingent legs) that front-ends render in their broker's format.
* :class:`FaultRegistry` holds the faults a test or an operator armed (by CLI flag or the
  front-end's control API); front-ends consult it at the points where the fault applies.

Time is the market's data time (ns since epoch UTC): :meth:`EmulatorCore.now_ns` is the time of
the last replayed item, so acceptances and expiries are stamped as in the in-process replay.

Everything runs on one asyncio loop (the front-end's); nothing here blocks or locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.brokers.fills import CommissionModel, FillModel
from workbench.brokers.simulated import SimulatedBroker, SimulatedBrokerConfig
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.enums import (
    ContingencyType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from workbench.model.orders import Order

_log = logging.getLogger(__name__)
_EPS = 1e-9

# ------------------------------------------------------------------------------------------ faults
FAULTS: dict[str, str] = {
    "drop_stream": "close a stream's connection after `after` more messages (param `stream`)",
    "silence": "keep a stream's socket open but send nothing for `seconds` (param `stream`)",
    "delay": "delay each message of a stream by `seconds` (param `stream`)",
    "duplicate": "send each of the next `count` order updates twice",
    "reorder": "hold the next order update and send it after the one that follows (`count` pairs)",
    "rate_limit": "answer the next `count` requests with HTTP 429 (or the protocol's pacing error)",
    "reject_next_order": "reject the next `count` orders (param `reason`)",
    "restart": "drop every connection and refuse new ones for `seconds` (state is kept, as a broker's)",
    "error_next_request": "answer the next `count` requests with `status` (e.g. 500, 504)",
}
"""Fault names a front-end understands, with what they do (and their parameters)."""


@dataclass
class Fault:
    """One armed fault: ``name`` (a key of :data:`FAULTS`), parameters, and uses left (None = until cleared)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    remaining: int | None = 1
    armed_at: float = field(default_factory=time.monotonic)

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


class FaultRegistry:
    """Faults armed by name; front-ends :meth:`take` them where they apply.

    ``arm("drop_stream", stream="trading", after=3)`` arms a fault; :meth:`take` returns it and
    uses it up (``count`` uses, default 1); :meth:`peek` looks without using. Every use is kept in
    :attr:`fired` (name, params) so tests can assert what happened.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.fired: list[tuple[str, dict[str, Any]]] = []

    def arm(self, name: str, count: int | None = 1, **params: Any) -> Fault:
        """Arm ``name`` for ``count`` uses (None: until cleared).

        Raises
        ------
        ValueError
            For an unknown fault name (the message lists the known ones).
        """
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {sorted(FAULTS)}")
        if count is not None and count < 1:
            raise ValueError(f"fault {name}: count must be >= 1 or None, got {count!r}")
        fault = Fault(name, dict(params), count)
        self._faults.append(fault)
        return fault

    def arm_spec(self, spec: str) -> Fault:
        """Arm from a CLI spec ``name[:key=value,...]``, e.g. ``drop_stream:stream=trading,after=5``.

        Values are parsed as int, then float, else kept as text; ``count`` sets the uses.
        """
        name, _, rest = spec.partition(":")
        params: dict[str, Any] = {}
        for part in filter(None, rest.split(",")):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"fault spec {spec!r}: expected key=value, got {part!r}")
            params[key.strip()] = _scalar(value.strip())
        count = params.pop("count", 1)
        return self.arm(name.strip(), count=None if count in (0, "forever") else int(count), **params)

    def _match(self, name: str, stream: str | None) -> Fault | None:
        for fault in self._faults:
            if fault.name == name and (stream is None or fault.params.get("stream") in (None, stream)):
                return fault
        return None

    def peek(self, name: str, stream: str | None = None) -> Fault | None:
        """The armed fault ``name`` (for ``stream``, when the fault names one), without using it."""
        return self._match(name, stream)

    def take(self, name: str, stream: str | None = None) -> Fault | None:
        """Use one of fault ``name``'s uses; None when it is not armed."""
        fault = self._match(name, stream)
        if fault is None:
            return None
        self.fired.append((name, dict(fault.params)))
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
        return fault

    def clear(self, name: str | None = None) -> None:
        self._faults = [f for f in self._faults if name is not None and f.name != name]

    def armed(self) -> list[Fault]:
        return list(self._faults)


def _scalar(text: str) -> Any:
    for cast in (int, float):
        with contextlib.suppress(ValueError):
            return cast(text)
    return text


# ------------------------------------------------------------------------------------------ orders
class OrderRefused(Exception):
    """The emulator refuses an order request. ``status`` is HTTP-like (403, 404, 422, 429),
    ``reason`` the text a front-end puts in its error message."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class OrderRequest:
    """A new order as a front-end parsed it from the wire (domain names and units: shares, currency).

    ``legs`` are the contingent child orders: for ``contingency=OTO`` they are held until this
    order fills and then sent (as an OCO pair when there are two: a bracket); for
    ``contingency=OCO`` this order and its legs are live at once and one fill cancels the others.
    """

    symbol: str
    side: OrderSide
    quantity: float
    order_type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    limit_price: float | None = None
    stop_price: float | None = None
    trailing_offset: float | None = None
    trailing_offset_type: TrailingOffsetType | None = None
    client_order_id: str = ""
    contingency: ContingencyType = ContingencyType.NONE
    legs: list[OrderRequest] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class EmulatedOrder:
    """The emulator's record of an order (what a front-end renders).

    Quantities in shares, prices in currency, times ns since epoch UTC (0 = not yet). ``status``
    is the domain status, plus ``held`` (a contingent leg waiting for its parent) in ``held``.
    """

    order_id: str
    client_order_id: str
    request: OrderRequest
    account_id: str
    quantity: float
    status: OrderStatus = OrderStatus.SUBMITTED
    held: bool = False
    filled_quantity: float = 0.0
    avg_fill_price: float = 0.0
    limit_price: float | None = None
    stop_price: float | None = None
    created_ns: int = 0
    updated_ns: int = 0
    filled_ns: int = 0
    canceled_ns: int = 0
    expired_ns: int = 0
    parent_id: str = ""
    leg_ids: list[str] = field(default_factory=list)
    replaces: str = ""
    replaced_by: str = ""
    reject_reason: str = ""

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def side(self) -> OrderSide:
        return self.request.side

    @property
    def is_open(self) -> bool:
        return not self.status.is_closed and not self.replaced_by


@dataclass(frozen=True)
class OrderUpdate:
    """What happened to an order (the front-end's order stream message).

    ``kind``: ``new``, ``fill``, ``partial_fill``, ``canceled``, ``expired``, ``rejected``,
    ``replaced``, ``triggered``. For fills, ``fill_id`` (unique per account), ``quantity`` and
    ``price`` are the execution's own, ``position_quantity`` the signed position after it.
    """

    kind: str
    order: EmulatedOrder
    ts_event: int
    fill_id: str = ""
    quantity: float = 0.0
    price: float = 0.0
    position_quantity: float = 0.0
    seq: int = 0


@dataclass
class EmulatedAccount:
    """One account: credentials, matching and book (``broker``), and the emulator's order records."""

    account_id: str
    key: str
    secret: str
    broker: SimulatedBroker
    orders: dict[str, EmulatedOrder] = field(default_factory=dict)
    by_client_id: dict[str, str] = field(default_factory=dict)
    updates: list[OrderUpdate] = field(default_factory=list)
    fill_times: dict[str, int] = field(default_factory=dict)

    def position(self, symbol: str) -> float:
        book = self.broker.positions.get(symbol)
        return book[0] if book is not None else 0.0

    def open_orders(self) -> list[EmulatedOrder]:
        return [o for o in self.orders.values() if o.is_open]


# ------------------------------------------------------------------------------------------ market
MarketListener = Callable[[Bar | QuoteTick | TradeTick], None]
OrderListener = Callable[[EmulatedAccount, OrderUpdate], None]


class EmulatedMarket:
    """Replay of recorded market data at ``speed`` times real time, as the emulator's market.

    Parameters
    ----------
    data : str | MarketDataStream | Recording | DataFrame(s)
        ``"demo"`` (shipped SPY minute bars with quotes), a recording directory, a bar file, ...
    speed : float | None
        Multiple of real time; None = as fast as possible.
    regular : bool
        Regular trading hours only.
    """

    def __init__(self, data: Any = "demo", *, speed: float | None = 60.0, regular: bool = True) -> None:
        from workbench.session import load_stream

        self.stream = load_stream(data, regular=regular)
        self.speed = speed
        self.position = 0
        self.now_ns = getattr(self.stream, "start_ns", None) or 0
        self.last: dict[str, Bar | QuoteTick | TradeTick] = {}
        self.done = False

    def __len__(self) -> int:
        return len(self.stream)

    async def items(self, start: int = 0):  # type: ignore[no-untyped-def]
        """Paced items from position ``start`` (async iterator)."""
        from workbench.feeds.replay import ReplayFeed

        feed = ReplayFeed(self.stream, speed=self.speed, start=start)
        async for item in feed:
            yield item

    def symbols(self) -> list[str]:
        return sorted(self.stream.symbols) if hasattr(self.stream, "symbols") else sorted(self.last)

    def bars(self, symbol: str, start_ns: int, end_ns: int, limit: int | None = None) -> list[Bar]:
        """Bars of ``symbol`` with ``start_ns <= ts_event < end_ns`` that the market has already
        replayed (historical bars never reach into the emulated future)."""
        out: list[Bar] = []
        for item in itertools.islice(iter(self.stream), self.position):
            if type(item) is Bar and item.symbol == symbol and start_ns <= item.ts_event < end_ns:
                out.append(item)
                if limit is not None and len(out) >= limit:
                    break
        return out


# ------------------------------------------------------------------------------------------ core
class EmulatorCore:
    """Market + accounts + faults; the state every protocol front-end shares.

    Parameters
    ----------
    data, speed, regular
        The market (see :class:`EmulatedMarket`).
    starting_cash : float
        Cash of each new account (currency).
    fill_model, commission
        Matching rules of every account (defaults: the in-process paper defaults).
    allow_short, leverage
        Account rules (see :class:`~workbench.brokers.simulated.SimulatedBrokerConfig`).
    autostart : bool
        Start the market as soon as :meth:`run` runs; else when :meth:`start_market` is called
        (a front-end calls it at the first data subscription, so a client never misses the start).
    manual : bool
        No paced replay: the market moves only by :meth:`step` (lockstep tests: each item is
        published when the client has finished reacting to the previous one).
    """

    def __init__(
        self,
        data: Any = "demo",
        *,
        speed: float | None = 60.0,
        regular: bool = True,
        starting_cash: float = 100_000.0,
        fill_model: FillModel | None = None,
        commission: CommissionModel | None = None,
        allow_short: bool = True,
        leverage: float = 1.0,
        autostart: bool = False,
        manual: bool = False,
    ) -> None:
        self.market = EmulatedMarket(data, speed=speed, regular=regular)
        self.manual = manual
        self._steps: Any = None
        self.faults = FaultRegistry()
        self.accounts: dict[str, EmulatedAccount] = {}
        self.starting_cash = starting_cash
        self._broker_config = dict(fill_model=fill_model or FillModel(), commission=commission,
                                   allow_short=allow_short, leverage=leverage)
        self.market_listeners: list[MarketListener] = []
        self.order_listeners: list[OrderListener] = []
        self.autostart = autostart
        self._start: asyncio.Event | None = None  # created on the running loop in run()
        self._update_seq = itertools.count(1)

    # ----------------------------------------------------------------------------- accounts
    def add_account(self, key: str, secret: str, *, account_id: str | None = None,
                    starting_cash: float | None = None) -> EmulatedAccount:
        """Open an account reachable with ``key`` / ``secret``."""
        cfg = {k: v for k, v in self._broker_config.items() if v is not None}
        broker = SimulatedBroker(SimulatedBrokerConfig(
            starting_cash=self.starting_cash if starting_cash is None else starting_cash, **cfg))
        account = EmulatedAccount(account_id or str(uuid.uuid4()), key, secret, broker)
        broker.set_clock(self.now_ns)
        broker.connect(lambda event, a=account: self._on_broker_event(a, event))
        self.accounts[key] = account
        return account

    def authenticate(self, key: str | None, secret: str | None) -> EmulatedAccount | None:
        """The account for these credentials, or None (constant-time comparison)."""
        account = self.accounts.get(key or "")
        if account is None or not hmac.compare_digest((secret or "").encode(), account.secret.encode()):
            return None
        return account

    def now_ns(self) -> int:
        """Market time: ns since epoch UTC of the last replayed item."""
        return self.market.now_ns

    # ------------------------------------------------------------------------------- market
    def start_market(self) -> None:
        """Let the replay begin (idempotent)."""
        if self._start is not None:
            self._start.set()
        else:
            self.autostart = True

    def step(self, count: int = 1) -> int:
        """Publish the next ``count`` items now (manual mode); returns how many there were."""
        market = self.market
        if self._steps is None:
            self._steps = itertools.islice(iter(market.stream), market.position, None)
        n = 0
        for item in itertools.islice(self._steps, count):
            self.publish(item)
            n += 1
        if n < count:
            market.done = True
        return n

    async def run(self) -> None:
        """Replay the market to its end (a task on the front-end's loop); nothing in manual mode."""
        if self.manual:
            return
        self._start = asyncio.Event()
        if self.autostart:
            self._start.set()
        await self._start.wait()
        market = self.market
        async for item in market.items(market.position):
            self.publish(item)  # the feed yields to the loop between paced items, every 16 at full speed
        market.done = True

    def publish(self, item: Bar | QuoteTick | TradeTick) -> None:
        """One market item: matching in every account first, then the market listeners."""
        market = self.market
        market.now_ns = item.ts_init
        market.position += 1
        market.last[item.symbol] = item
        t = type(item)
        for account in self.accounts.values():
            if t is Bar:
                account.broker.on_bar(item)  # type: ignore[arg-type]
            elif t is QuoteTick:
                account.broker.on_quote(item)  # type: ignore[arg-type]
            else:
                account.broker.on_trade(item)  # type: ignore[arg-type]
        for listener in self.market_listeners:
            listener(item)

    # ------------------------------------------------------------------------------- orders
    def submit(self, account: EmulatedAccount, request: OrderRequest) -> EmulatedOrder:
        """Place ``request`` (and its legs). Returns the parent record.

        Raises
        ------
        OrderRefused
            403 for insufficient buying power or an armed ``reject_next_order``, 422 for an
            invalid request or a duplicate ``client_order_id`` (unique even after cancel).
        """
        if request.client_order_id and request.client_order_id in account.by_client_id:
            raise OrderRefused(422, f"client_order_id must be unique: {request.client_order_id!r} was used")
        if not request.quantity > 0:
            raise OrderRefused(422, f"qty must be > 0, got {request.quantity!r}")
        fault = self.faults.take("reject_next_order")
        if fault is not None:
            raise OrderRefused(int(fault.get("status", 403)), str(fault.get("reason", "order rejected (injected)")))
        now = self.now_ns()
        parent = self._record(account, request, now)
        if request.contingency is ContingencyType.OTO and request.legs:
            for leg in request.legs:
                child = self._record(account, leg, now, parent_id=parent.order_id, held=True)
                parent.leg_ids.append(child.order_id)
        elif request.contingency is ContingencyType.OCO and request.legs:
            for leg in request.legs:
                child = self._record(account, leg, now, parent_id=parent.order_id)
                parent.leg_ids.append(child.order_id)
        self._send(account, parent, linked=parent.leg_ids if request.contingency is ContingencyType.OCO else ())
        if parent.status is OrderStatus.REJECTED:
            for leg_id in parent.leg_ids:
                account.orders[leg_id].status = OrderStatus.CANCELED
            raise OrderRefused(403, parent.reject_reason)
        if request.contingency is ContingencyType.OCO:
            for leg_id in parent.leg_ids:
                self._send(account, account.orders[leg_id], linked=[parent.order_id, *[i for i in parent.leg_ids
                                                                                          if i != leg_id]])
        return parent

    def _record(self, account: EmulatedAccount, request: OrderRequest, now: int, *, parent_id: str = "",
                held: bool = False) -> EmulatedOrder:
        order = EmulatedOrder(
            order_id=str(uuid.uuid4()), client_order_id=request.client_order_id or str(uuid.uuid4()),
            request=request, account_id=account.account_id, quantity=request.quantity,
            limit_price=request.limit_price, stop_price=request.stop_price, created_ns=now, updated_ns=now,
            parent_id=parent_id, held=held)
        account.orders[order.order_id] = order
        account.by_client_id[order.client_order_id] = order.order_id
        return order

    def _send(self, account: EmulatedAccount, order: EmulatedOrder, linked: Iterable[str] = ()) -> None:
        r = order.request
        linked = tuple(linked)
        init = ev.OrderInitialized(
            ts_event=self.now_ns(), order_id=order.order_id, symbol=r.symbol, side=r.side, order_type=r.order_type,
            quantity=order.quantity, time_in_force=r.time_in_force, limit_price=order.limit_price,
            stop_price=order.stop_price, trailing_offset=r.trailing_offset, trailing_offset_type=r.trailing_offset_type,
            contingency=ContingencyType.OCO if linked else ContingencyType.NONE, linked_order_ids=linked)
        order.held = False
        account.broker.submit_order(Order(init))

    def cancel(self, account: EmulatedAccount, order_id: str) -> EmulatedOrder:
        """Cancel an open order (a held leg is canceled at once).

        Raises
        ------
        OrderRefused
            404 unknown order, 422 when it is not open any more.
        """
        order = account.orders.get(order_id)
        if order is None:
            raise OrderRefused(404, "order not found")
        if not order.is_open:
            raise OrderRefused(422, f"order is not cancelable (status {order.status.value.lower()})")
        if order.held:
            self._close(account, order, "canceled", self.now_ns())
        else:
            account.broker.cancel_order(order_id)
        for leg_id in order.leg_ids:
            leg = account.orders[leg_id]
            if leg.is_open:
                self.cancel(account, leg_id)
        return order

    def replace(self, account: EmulatedAccount, order_id: str, *, quantity: float | None = None,
                limit_price: float | None = None, stop_price: float | None = None,
                client_order_id: str = "") -> EmulatedOrder:
        """Replace an open order by a new one with new terms (the old one ends ``replaced``).

        Raises
        ------
        OrderRefused
            404 unknown, 422 not open or the new quantity is below what already filled.
        """
        old = account.orders.get(order_id)
        if old is None:
            raise OrderRefused(404, "order not found")
        if not old.is_open or old.held:
            raise OrderRefused(422, f"order is not replaceable (status {old.status.value.lower()})")
        qty = old.quantity if quantity is None else quantity
        if qty <= old.filled_quantity + _EPS:
            raise OrderRefused(422, f"qty {qty:g} must exceed the filled quantity {old.filled_quantity:g}")
        new_request = OrderRequest(
            symbol=old.symbol, side=old.side, quantity=qty - old.filled_quantity, order_type=old.request.order_type,
            time_in_force=old.request.time_in_force,
            limit_price=old.limit_price if limit_price is None else limit_price,
            stop_price=old.stop_price if stop_price is None else stop_price,
            trailing_offset=old.request.trailing_offset, trailing_offset_type=old.request.trailing_offset_type,
            client_order_id=client_order_id, extra=dict(old.request.extra))
        if new_request.client_order_id and new_request.client_order_id in account.by_client_id:
            raise OrderRefused(422, f"client_order_id must be unique: {client_order_id!r} was used")
        now = self.now_ns()
        new = self._record(account, new_request, now)
        new.replaces = old.order_id
        old.replaced_by = new.order_id  # so the broker's OrderCanceled below reports ``replaced``
        account.broker.cancel_order(order_id)
        old.status = OrderStatus.CANCELED
        self._update(account, "replaced", old, now)
        self._send(account, new)
        return new

    # --------------------------------------------------------------------------- broker events
    def _on_broker_event(self, account: EmulatedAccount, event: ev.OrderEvent) -> None:
        order = account.orders.get(event.order_id)
        if order is None:
            return
        t = type(event)
        ts = event.ts_event
        order.updated_ns = max(order.updated_ns, ts)
        if t is ev.OrderAccepted:
            order.status = OrderStatus.ACCEPTED
            self._update(account, "new", order, ts)
        elif t is ev.OrderRejected:
            order.status = OrderStatus.REJECTED
            order.reject_reason = event.reason  # type: ignore[attr-defined]
        elif t is ev.OrderFilled:
            self._on_fill(account, order, event)  # type: ignore[arg-type]
        elif t is ev.OrderCanceled:
            if order.replaced_by:
                return  # reported as ``replaced`` by replace()
            self._close(account, order, "canceled", ts)
        elif t is ev.OrderExpired:
            self._close(account, order, "expired", ts)
        elif t is ev.OrderTriggered:
            order.status = OrderStatus.TRIGGERED
        elif t is ev.OrderModified:  # an OCO sibling shrunk after a partial fill
            order.quantity = event.quantity  # type: ignore[attr-defined]

    def _on_fill(self, account: EmulatedAccount, order: EmulatedOrder, fill: ev.OrderFilled) -> None:
        qty, price = fill.last_quantity, fill.last_price
        order.avg_fill_price = (order.avg_fill_price * order.filled_quantity + price * qty) / (order.filled_quantity + qty)
        order.filled_quantity += qty
        done = order.filled_quantity >= order.quantity - _EPS
        order.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        if done:
            order.filled_ns = fill.ts_event
        account.fill_times[fill.fill_id] = fill.ts_event
        self._update(account, "fill" if done else "partial_fill", order, fill.ts_event, fill_id=fill.fill_id,
                     quantity=qty, price=price, position_quantity=account.position(order.symbol))
        if done and order.leg_ids and order.request.contingency is ContingencyType.OTO:
            self._arm_legs(account, order)

    def _arm_legs(self, account: EmulatedAccount, parent: EmulatedOrder) -> None:
        legs = [account.orders[i] for i in parent.leg_ids if account.orders[i].held]
        for leg in legs:
            leg.quantity = min(leg.quantity, parent.filled_quantity)
        ids = [leg.order_id for leg in legs]
        for leg in legs:
            self._send(account, leg, linked=[i for i in ids if i != leg.order_id] if len(ids) > 1 else ())

    def _close(self, account: EmulatedAccount, order: EmulatedOrder, kind: str, ts: int) -> None:
        order.status = OrderStatus.CANCELED if kind == "canceled" else OrderStatus.EXPIRED
        if kind == "canceled":
            order.canceled_ns = ts
        else:
            order.expired_ns = ts
        order.held = False
        self._update(account, kind, order, ts)
        if order.leg_ids and order.request.contingency is ContingencyType.OTO:
            if order.filled_quantity > _EPS:
                self._arm_legs(account, order)
            else:
                for leg_id in order.leg_ids:
                    leg = account.orders[leg_id]
                    if leg.held:
                        self._close(account, leg, "canceled", ts)

    def _update(self, account: EmulatedAccount, kind: str, order: EmulatedOrder, ts: int, **fill: Any) -> None:
        update = OrderUpdate(kind=kind, order=order, ts_event=ts, seq=next(self._update_seq), **fill)
        account.updates.append(update)
        for listener in self.order_listeners:
            listener(account, update)

    # ------------------------------------------------------------------------------ queries
    def fills(self, account: EmulatedAccount, since_ns: int = 0) -> list[OrderUpdate]:
        """Fill updates of ``account`` at or after ``since_ns``, oldest first."""
        return [u for u in account.updates if u.fill_id and u.ts_event >= since_ns]

    def snapshot(self) -> Mapping[str, Any]:
        """Counts for logs and tests."""
        return {"position": self.market.position, "now_ns": self.now_ns(),
                "accounts": {a.account_id: {"orders": len(a.orders), "cash": a.broker.cash,
                                            "positions": {s: q for s, (q, _) in a.broker.positions.items() if q}}
                             for a in self.accounts.values()}}
