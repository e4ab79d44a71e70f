"""Alpaca orders: ``TradingClient`` (REST) and ``TradingStream`` (trade_updates) as an ExecutionClient.

* Commands from the engine (submit, cancel, modify) are sent in order on one worker thread
  (alpaca-py's REST client blocks), never on the event loop. Answers come back as order events
  on the loop: the REST response of a submit acknowledges the order (``OrderAccepted``) or
  rejects it with Alpaca's status, code and message (``OrderRejected``).
* ``client_order_id`` = the engine's order id. A submit that times out or loses its connection is
  sent again with the same id; "client_order_id must be unique" then means the first one arrived,
  and the order is looked up by its client id (idempotent resubmission).
* An engine OCO pair (the exits of a bracket the engine armed) becomes one ``order_class=oco``
  request; the stop leg's Alpaca id is mapped to its engine order from the response.
* trade_updates (raw JSON, validated by alpaca-py's ``TradeUpdate``, mapped by :mod:`.parsing`):
  fills carry the execution's own quantity and price and its ``execution_id`` as fill id (the
  engine books each id once); acceptances are reported once per order (``pending_new`` then
  ``new``: LEAN Alpaca #41); unknown events are counted and ignored; updates of an order whose
  submit is still in flight are held until its REST answer maps the ids.
* After every (re)connect of trade_updates: :class:`~workbench.adapters.base.BrokerReports` from
  REST (open orders and orders since the session started, FILL activities since then, positions)
  for the engine to reconcile: fills made while disconnected are recovered (alpaca-py #740,
  LEAN IB #249).
* HTTP 429/504 retries are alpaca-py's (3 retries); every 429 is counted in the health
  (``rate_limit_hits``) through a ``requests`` response hook.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Callable
from typing import Any

from workbench.adapters.alpaca import parsing
from workbench.adapters.alpaca.config import AlpacaConfig
from workbench.adapters.base import AuthenticationError, BrokerReports, ExecutionClient, ReconnectPolicy
from workbench.errors import BrokerError
from workbench.model import events as ev
from workbench.model.orders import Order

_log = logging.getLogger(__name__)
DAY_NS = 86_400_000_000_000


class _Unresolved(BrokerError):
    """A submit whose outcome the API never told (transport errors until the retry deadline)."""


class AlpacaExecutionClient(ExecutionClient):
    """The engine's broker on an Alpaca account (paper by default).

    Parameters
    ----------
    config : AlpacaConfig
    since_ns : int | None
        Reconciliation window start (ns since epoch UTC): orders and fills before it belong to other
        sessions. None: the broker's clock at the first connect (a new session).
    """

    name = "alpaca"

    def __init__(self, config: AlpacaConfig, *, since_ns: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("reconnect", ReconnectPolicy(initial=config.reconnect_initial, maximum=config.reconnect_maximum))
        kwargs.setdefault("health_interval", config.health_interval)
        super().__init__("alpaca broker", **kwargs)
        from alpaca.trading.client import TradingClient
        from alpaca.trading.stream import TradingStream

        key, secret = config.credentials()
        self.config = config
        self.name = "alpaca paper" if config.paper else "alpaca live"
        self.rest = TradingClient(key, secret, paper=config.paper, url_override=config.rest_trading_url)
        self.rest._retry_wait = config.rest_retry_wait
        self.rest._session.hooks["response"].append(self._on_response)
        _with_timeout(self.rest._session, config.rest_timeout)
        freeze_environment(self.rest._session, config.rest_trading_url)
        self.stream = TradingStream(key, secret, paper=config.paper, raw_data=True,
                                    url_override=config.stream_trading_url)
        self.stream._trade_updates_handler = self._on_update
        self.since_ns = since_ns
        self.submit_retry_seconds = 10.0
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="alpaca-rest")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._alpaca_to_engine: dict[str, str] = {}  # Alpaca order id -> engine order id
        self._engine_to_alpaca: dict[str, str] = {}  # engine order id -> live Alpaca order id
        self._accepted: set[str] = set()  # engine order ids reported accepted
        self._replacements: dict[str, int] = {}
        self._in_flight = 0
        self._oco_in_flight = 0  # OCO submits whose answer maps the stop leg's Alpaca id
        self._held: list[Any] = []  # trade updates waiting for an in-flight OCO submit's answer
        self.unresolved = 0  # submits whose fate the REST API never told (resolved by reconciliation)
        self._oco_waiting: dict[str, Order] = {}
        self.parse_errors = 0
        self.unknown_events = 0

    # ------------------------------------------------------------------------------ connection
    async def _open(self) -> None:
        self._loop = asyncio.get_running_loop()
        stream = self.stream
        await stream._connect()
        try:
            await stream._auth()
        except ValueError as exc:
            raise AuthenticationError(f"alpaca trade_updates: {exc}") from None
        await stream._subscribe_trade_updates()

    async def _session(self) -> None:
        self.stream._running = True
        await self.stream._consume()

    async def _close(self) -> None:
        self.stream._running = False
        await self.stream.close()

    async def stop(self) -> None:
        await super().stop()
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _on_response(self, response: Any, *args: Any, **kwargs: Any) -> None:
        """requests hook (worker thread): count rate-limit answers for the health panel."""
        if response.status_code == 429:
            loop = self._loop
            if loop is not None:
                loop.call_soon_threadsafe(self.health.rate_limited)
            else:
                self.health.rate_limited()

    # ---------------------------------------------------------------------------- REST calls
    def _call(self, fn: Callable[..., Any], *args: Any, then: Callable[[Any, BaseException | None], None]) -> None:
        """Run ``fn(*args)`` on the REST worker (in order); ``then(result, error)`` on the loop."""
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        future = loop.run_in_executor(self._worker, fn, *args)

        def done(f: asyncio.Future[Any]) -> None:
            if f.cancelled():
                then(None, BrokerError("request canceled (adapter stopped)"))
                return
            error = f.exception()
            then(None if error else f.result(), error)

        future.add_done_callback(done)

    async def _rest(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        self._loop = loop
        return await loop.run_in_executor(self._worker, fn, *args)

    def _now(self) -> int:
        return self.clock()

    # ---------------------------------------------------------------------------- commands
    def submit_order(self, order: Order) -> None:
        """Send ``order`` (engine thread, non-blocking). An OCO pair is sent when both halves arrived."""
        partner = None
        if parsing.is_oco_member(order):
            other = order.linked_order_ids[0]
            if other not in self._oco_waiting:
                self._oco_waiting[order.order_id] = order
                return
            partner = self._oco_waiting.pop(other)
        try:
            if partner is None:
                request = parsing.order_request(order)
                members = [order]
            else:
                stop, take = (order, partner) if partner.order_type.value == "LIMIT" else (partner, order)
                request = parsing.order_request(stop, take_profit=take)
                members = [take, stop]
        except parsing.UnsupportedOrder as exc:
            for o in ([order] if partner is None else [order, partner]):
                self.emit(ev.OrderRejected(ts_event=self._now(), order_id=o.order_id, symbol=o.symbol, reason=str(exc)))
            return
        for o in members:
            self.note_sent(o)
        self._in_flight += 1
        self._oco_in_flight += partner is not None
        self._call(self._submit_blocking, request, then=lambda result, error: self._submitted(members, result, error))

    def _submit_blocking(self, request: Any) -> Any:
        """Worker thread: POST; after a transport error (the order may or may not have arrived) send it
        again with the same client_order_id, with backoff, for up to ``submit_retry_seconds``: a
        "client_order_id must be unique" answer means the first one arrived (then it is fetched by
        its client id). Raises :class:`_Unresolved` when the API stayed unreachable."""
        import tenacity
        from alpaca.common.exceptions import APIError
        from requests.exceptions import ConnectionError as RequestsConnectionError
        from requests.exceptions import Timeout

        attempts = 0

        def once() -> Any:
            nonlocal attempts
            attempts += 1
            try:
                return self.rest.submit_order(request)
            except APIError as exc:
                if attempts > 1 and exc.status_code == 422 and "client_order_id" in str(exc):
                    return self.rest.get_order_by_client_id(request.client_order_id)
                raise

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((RequestsConnectionError, Timeout)),
            wait=tenacity.wait_exponential_jitter(multiplier=0.1, max=2.0, jitter=0.1),
            stop=tenacity.stop_after_delay(self.submit_retry_seconds), reraise=True)
        try:
            return retrying(once)
        except (RequestsConnectionError, Timeout) as exc:
            raise _Unresolved(f"{type(exc).__name__}: {exc}") from None

    def _submitted(self, members: list[Order], result: Any, error: BaseException | None) -> None:
        self._in_flight -= 1
        if len(members) > 1:
            self._oco_in_flight -= 1
        if isinstance(error, _Unresolved):
            # it may have arrived: the order stays SUBMITTED; reconciliation (at the next connect, or
            # now if the API answers) accepts it if Alpaca knows it, else closes it
            self.unresolved += 1
            self.health.error(f"submit of {members[0].order_id} unresolved: {error}")
            _log.warning("alpaca broker: submit of %s unresolved (%s); reconciliation will settle it",
                         members[0].order_id, error)
            if self._loop is not None and self.state.value == "CONNECTED":
                self._loop.create_task(self._reconcile_quietly("unresolved submit"))
        elif error is not None:
            reason = parsing.rejection_reason(error) if hasattr(error, "status_code") else \
                f"{type(error).__name__}: {error}"
            for o in members:
                self.emit(ev.OrderRejected(ts_event=self._now(), order_id=o.order_id, symbol=o.symbol, reason=reason))
        else:
            alpaca_orders = [result, *(result.legs or [])]
            for o, a in zip(members, alpaca_orders, strict=False):
                self._map(str(a.id), o.order_id)
                self._accept(o.order_id, o.symbol, str(a.id))
        if self._oco_in_flight == 0 and self._held:
            held, self._held = self._held, []
            for update in held:
                self._route(update, final=True)

    def _map(self, alpaca_id: str, engine_id: str) -> None:
        self._alpaca_to_engine[alpaca_id] = engine_id
        self._engine_to_alpaca[engine_id] = alpaca_id

    def _accept(self, engine_id: str, symbol: str, alpaca_id: str, ts: int | None = None) -> None:
        if engine_id in self._accepted:
            return
        self._accepted.add(engine_id)
        self.emit(ev.OrderAccepted(ts_event=self._now() if ts is None else ts, order_id=engine_id, symbol=symbol,
                                   broker_order_id=alpaca_id))

    def _alpaca_id(self, engine_id: str) -> str | None:
        return self._engine_to_alpaca.get(engine_id)

    def cancel_order(self, order_id: str) -> None:
        waiting = self._oco_waiting.pop(order_id, None)
        if waiting is not None:  # never sent: its partner has not arrived
            self.emit(ev.OrderCanceled(ts_event=self._now(), order_id=order_id, symbol=waiting.symbol,
                                       reason="canceled before it was sent"))
            return

        def blocking() -> None:
            alpaca_id = self._alpaca_id(order_id) or str(self.rest.get_order_by_client_id(order_id).id)
            self.rest.cancel_order_by_id(alpaca_id)

        def then(_: Any, error: BaseException | None) -> None:
            if error is not None:
                reason = parsing.rejection_reason(error) if hasattr(error, "status_code") else str(error)
                self.emit(ev.OrderCancelRejected(ts_event=self._now(), order_id=order_id, symbol="", reason=reason))
            # success: the ``canceled`` trade update closes the order

        self._call(blocking, then=then)

    def modify_order(self, order_id: str, quantity: float | None = None, limit_price: float | None = None,
                     stop_price: float | None = None) -> None:
        n = self._replacements.get(order_id, 0) + 1
        self._replacements[order_id] = n

        def blocking() -> Any:
            from alpaca.trading.requests import ReplaceOrderRequest

            alpaca_id = self._alpaca_id(order_id) or str(self.rest.get_order_by_client_id(order_id).id)
            old = self.rest.get_order_by_id(alpaca_id)
            qty = None if quantity is None else round(quantity - float(old.filled_qty or 0))  # the new order's own qty
            request = ReplaceOrderRequest(qty=qty, limit_price=limit_price, stop_price=stop_price,
                                          client_order_id=parsing.replacement_id(order_id, n))
            return old, self.rest.replace_order_by_id(alpaca_id, request)

        def then(result: Any, error: BaseException | None) -> None:
            if error is not None:
                reason = parsing.rejection_reason(error) if hasattr(error, "status_code") else str(error)
                self.emit(ev.OrderModifyRejected(ts_event=self._now(), order_id=order_id, symbol="", reason=reason))
                return
            old, new = result
            self._map(str(new.id), order_id)
            total = float(new.qty or 0) + float(old.filled_qty or 0)
            self.emit(ev.OrderModified(ts_event=self._now(), order_id=order_id, symbol=new.symbol or "", quantity=total,
                                       limit_price=limit_price, stop_price=stop_price))

        self._call(blocking, then=then)

    # --------------------------------------------------------------------------- trade updates
    async def _on_update(self, msg: Any) -> None:
        self.health.message_received()
        data = msg.get("data") if isinstance(msg, dict) else None
        try:
            update = parsing.trade_update(data)
        except parsing.ParseError as exc:
            self.parse_errors += 1
            self.health.error(str(exc))
            _log.warning("alpaca broker: skipped a malformed trade update: %s", exc)
            return
        self._route(update)

    def _route(self, update: Any, final: bool = False) -> None:
        alpaca_id = str(update.order.id)
        engine_id = self._alpaca_to_engine.get(alpaca_id)
        if engine_id is None:
            if self._oco_in_flight and not final:
                self._held.append(update)  # an OCO stop leg: its submit's answer maps it
                return
            engine_id = parsing.engine_order_id(update.order.client_order_id)
        try:
            event = parsing.update_event(update, engine_id)
        except parsing.ParseError as exc:
            self.parse_errors += 1
            self.health.error(str(exc))
            return
        if event is None:
            self.unknown_events += parsing._text(update.event) not in ("pending_cancel", "pending_replace", "replaced")
            return
        if type(event) is ev.OrderAccepted:
            if parsing.REPLACE_SEPARATOR in (update.order.client_order_id or ""):
                return  # the replacement of an accepted order: OrderModified already reported it
            self._accept(engine_id, event.symbol, alpaca_id, event.ts_event)
            return
        if type(event) is ev.OrderCanceled and update.order.replaced_by:
            return
        self.emit(event)

    # ------------------------------------------------------------------------------ reports
    async def _reconcile_quietly(self, reason: str) -> None:
        try:
            await self.reconcile(reason)
        except Exception as exc:  # the next (re)connect reconciles anyway
            self.health.error(f"reconciliation ({reason}) failed: {type(exc).__name__}: {exc}")

    async def _fetch_reports(self, reason: str) -> BrokerReports:
        return await self._rest(self._reports_blocking, reason)

    def _reports_blocking(self, reason: str) -> BrokerReports:
        """Worker thread: orders (open, and all since ``since_ns``), FILL activities since
        ``since_ns``, positions."""
        from datetime import UTC, datetime

        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        clock = self.rest.get_clock()
        now = parsing.ns_of(clock.timestamp)
        if self.since_ns is None:
            self.since_ns = now
        after = datetime.fromtimestamp((self.since_ns - 1_000_000_000) / 1e9, UTC)
        open_orders = self.rest.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500, nested=True))
        recent = self.rest.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500, nested=True, after=after))
        by_id = {str(o.id): o for o in parsing.flatten_orders([*open_orders, *recent])}
        for o in by_id.values():
            if str(o.id) not in self._alpaca_to_engine:
                self._alpaca_to_engine.setdefault(str(o.id), parsing.engine_order_id(o.client_order_id))
        engine_ids = {a: self._alpaca_to_engine[a] for a in by_id}
        orders = parsing.order_status_reports(by_id.values(), engine_ids)
        activities: list[dict[str, Any]] = []
        params: dict[str, Any] = {"after": after.isoformat(), "direction": "asc", "page_size": 100}
        while True:  # paginated by the last activity id (Alpaca's page_token)
            page = self.rest.get("/account/activities/FILL", params)
            page = json.loads(page) if isinstance(page, str) else list(page or [])
            activities.extend(page)
            if len(page) < params["page_size"]:
                break
            params["page_token"] = page[-1]["id"]
        fills = [parsing.fill_report(a, self._alpaca_to_engine) for a in activities]
        positions = [parsing.position_report(p, now) for p in self.rest.get_all_positions()]
        return BrokerReports(self.component, orders=tuple(orders), fills=tuple(fills), positions=tuple(positions),
                             reason=reason, ts_event=now)


def freeze_environment(session: Any, url: str) -> None:
    """Read the proxy, CA-bundle and client-certificate settings of the environment once, now, instead of
    on every request (``requests`` does so while ``trust_env`` is on: ~0.2-0.3 ms per order on the
    order path, measured, most of it ``getproxies_environment`` scanning ``os.environ`` twice and a
    ``~/.netrc`` lookup). Proxies (``HTTPS_PROXY``, ``NO_PROXY``), ``REQUESTS_CA_BUNDLE`` and
    ``CURL_CA_BUNDLE`` still apply: they are copied onto the session; a change of them after the
    client was made is not seen, and ``~/.netrc`` is not consulted (Alpaca authenticates by headers)."""
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(settings.get("proxies") or {})
    session.verify = settings.get("verify", session.verify)
    if settings.get("cert") is not None:
        session.cert = settings["cert"]
    session.trust_env = False


def _with_timeout(session: Any, seconds: float) -> None:
    """Give every request of a ``requests.Session`` a timeout (alpaca-py passes none)."""
    request = session.request

    def timed(method: str, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", seconds)
        return request(method, url, **kwargs)

    session.request = timed
