"""The Alpaca emulator's REST API: trading v2, historical bars, and the emulator's control API.

Endpoints and shapes as alpaca-py 0.44 uses them (``/work/shared/protocols/alpaca.md`` section 3):
``/v2/account``, ``/v2/orders`` (POST, GET, DELETE), ``/v2/orders/{id}`` (GET, PATCH, DELETE),
``/v2/orders:by_client_order_id``, ``/v2/positions`` (GET, DELETE), ``/v2/positions/{symbol}``,
``/v2/account/activities/FILL``, ``/v2/clock``, ``/v2/calendar``, ``/v2/assets/{symbol}``,
``/v2/stocks/bars``. Errors are ``{"code": <8 digits>, "message": ...}`` with Alpaca's statuses
(401 bad keys, 403 buying power, 404 unknown, 422 invalid, 429 rate limit).

Control API (``/emulator/...``, ``Authorization: Bearer <control token>``): arm a fault, read the
state, restart.
"""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from workbench.emulators.alpaca import wire
from workbench.emulators.core import EmulatedAccount, OrderRefused

if TYPE_CHECKING:
    from workbench.emulators.alpaca.server import AlpacaEmulator

_NS = 1_000_000_000


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(wire.error_body(status, message), status_code=status)


def _ok(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def build_router(emulator: AlpacaEmulator) -> APIRouter:
    core = emulator.core
    router = APIRouter()

    def gate(request: Request) -> tuple[EmulatedAccount | None, Response | None]:
        """Authenticate, count, apply request faults."""
        emulator.requests += 1
        fault = core.faults.take("rate_limit")
        if fault is not None:
            emulator.rate_limited += 1
            return None, _error(429, "rate limit exceeded")
        fault = core.faults.take("error_next_request")
        if fault is not None:
            status = int(fault.get("status", 500))
            return None, _error(status, str(fault.get("message", f"injected error {status}")))
        account = core.authenticate(request.headers.get("apca-api-key-id"),
                                    request.headers.get("apca-api-secret-key"))
        if account is None:
            return None, _error(401, "request is not authorized")
        return account, None

    async def body_of(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except json.JSONDecodeError as exc:
            raise wire.BadRequest(f"request body is not JSON: {exc}", 400) from None

    # ------------------------------------------------------------------------------ account
    @router.get("/v2/account")
    async def account(request: Request) -> Response:
        acct, err = gate(request)
        return err or _ok(wire.account_json(acct))  # type: ignore[arg-type]

    @router.get("/v2/clock")
    async def clock(request: Request) -> Response:
        _, err = gate(request)
        if err:
            return err
        from workbench.calendars import is_open as market_open
        from workbench.calendars import next_open_at_or_after, session_close_after

        now = core.now_ns()
        is_open = bool(market_open(now, "XNYS"))
        return _ok({"timestamp": wire.rfc3339(now), "is_open": is_open,
                    "next_open": wire.rfc3339(next_open_at_or_after(now + 1, "XNYS")),
                    "next_close": wire.rfc3339(session_close_after(now, "XNYS"))})

    @router.get("/v2/assets/{symbol}")
    async def asset(symbol: str, request: Request) -> Response:
        _, err = gate(request)
        if err:
            return err
        if symbol not in emulator.symbols:
            return _error(404, f"asset not found for {symbol}")
        return _ok(wire.asset_json(symbol))

    # ------------------------------------------------------------------------------- orders
    @router.post("/v2/orders")
    async def submit(request: Request) -> Response:
        acct, err = gate(request)
        if err:
            return err
        try:
            order_request = wire.order_request(await body_of(request))
            if order_request.symbol not in emulator.symbols:
                return _error(422, f'asset "{order_request.symbol}" not found')
            order = core.submit(acct, order_request)  # type: ignore[arg-type]
        except wire.BadRequest as exc:
            return _error(exc.status, str(exc))
        except OrderRefused as exc:
            return _error(exc.status, exc.reason)
        return _ok(wire.order_json(acct, order))  # type: ignore[arg-type]

    @router.get("/v2/orders")
    async def list_orders(request: Request) -> Response:
        acct, err = gate(request)
        if err:
            return err
        q = request.query_params
        status = q.get("status", "open")
        after = wire.parse_time(q.get("after")) or 0
        until = wire.parse_time(q.get("until"))
        symbols = set(filter(None, (q.get("symbols") or "").split(",")))
        limit = int(q.get("limit") or 50)
        nested = q.get("nested", "False").lower() == "true"
        leg_ids = {i for o in acct.orders.values() for i in o.leg_ids}  # type: ignore[union-attr]
        rows = []
        for order in acct.orders.values():  # type: ignore[union-attr]
            if nested and order.order_id in leg_ids:
                continue
            if (status == "open" and not order.is_open) or (status == "closed" and order.is_open):
                continue
            if order.created_ns <= after or (until is not None and order.created_ns > until):
                continue
            if symbols and order.symbol not in symbols:
                continue
            rows.append(order)
        rows.sort(key=lambda o: o.created_ns, reverse=q.get("direction", "desc") == "desc")
        return _ok([wire.order_json(acct, o, nested=nested) for o in rows[:limit]])  # type: ignore[arg-type]

    @router.delete("/v2/orders")
    async def cancel_all(request: Request) -> Response:
        acct, err = gate(request)
        if err:
            return err
        out = []
        for order in [o for o in acct.orders.values() if o.is_open and not o.parent_id]:  # type: ignore[union-attr]
            try:
                core.cancel(acct, order.order_id)  # type: ignore[arg-type]
                out.append({"id": order.order_id, "status": 200})
            except OrderRefused as exc:
                out.append({"id": order.order_id, "status": exc.status, "body": wire.error_body(exc.status, exc.reason)})
        return _ok(out, 207)

    @router.get("/v2/orders:by_client_order_id")
    async def by_client_id(request: Request) -> Response:
        acct, err = gate(request)
        if err:
            return err
        oid = acct.by_client_id.get(request.query_params.get("client_order_id", ""))  # type: ignore[union-attr]
        if oid is None:
            return _error(404, "order not found")
        return _ok(wire.order_json(acct, acct.orders[oid]))  # type: ignore[union-attr, arg-type]

    @router.get("/v2/orders/{order_id}")
    async def get_order(order_id: str, request: Request) -> Response:
        acct, err = gate(request)
        if err:
            return err
        order = acct.orders.get(order_id)  # type: ignore[union-attr]
        return _error(404, "order not found") if order is None else _ok(wire.order_json(acct, order))  # type: ignore[arg-type]

    @router.delete("/v2/orders/{order_id}")
    async def cancel(order_id: str, request: Request) -> Response:
        acct, err = gate(request)
        if err:
            return err
        try:
            core.cancel(acct, order_id)  # type: ignore[arg-type]
        except OrderRefused as exc:
            return _error(exc.status, exc.reason)
        return Response(status_code=204)

    @router.patch("/v2/orders/{order_id}")
    async def replace(order_id: str, request: Request) -> Response:
        acct, err = gate(request)
        if err:
            return err
        try:
            body = await body_of(request)
            if not isinstance(body, dict):
                raise wire.BadRequest("request body must be a JSON object", 400)
            qty = body.get("qty")  # the replacing order's own quantity (what is left to trade)
            old = acct.orders.get(order_id)  # type: ignore[union-attr]
            filled = old.filled_quantity if old is not None else 0.0
            new = core.replace(acct, order_id, quantity=None if qty is None else filled + float(qty),  # type: ignore[arg-type]
                               limit_price=wire._price(body, "limit_price"), stop_price=wire._price(body, "stop_price"),
                               client_order_id=body.get("client_order_id") or "")
        except (wire.BadRequest, ValueError) as exc:
            return _error(getattr(exc, "status", 422), str(exc))
        except OrderRefused as exc:
            return _error(exc.status, exc.reason)
        return _ok(wire.order_json(acct, new))  # type: ignore[arg-type]

    # ---------------------------------------------------------------------------- positions
    @router.get("/v2/positions")
    async def positions(request: Request) -> Response:
        acct, err = gate(request)
        if err:
            return err
        return _ok([wire.position_json(acct, s) for s, (q, _) in sorted(acct.broker.positions.items()) if q])  # type: ignore[union-attr, arg-type]

    @router.get("/v2/positions/{symbol}")
    async def position(symbol: str, request: Request) -> Response:
        acct, err = gate(request)
        if err:
            return err
        book = acct.broker.positions.get(symbol)  # type: ignore[union-attr]
        if not book or not book[0]:
            return _error(404, "position does not exist")
        return _ok(wire.position_json(acct, symbol))  # type: ignore[arg-type]

    @router.get("/v2/account/activities/{activity_type}")
    async def activities(activity_type: str, request: Request) -> Response:
        acct, err = gate(request)
        if err:
            return err
        if activity_type.upper() != "FILL":
            return _ok([])
        q = request.query_params
        after = wire.parse_time(q.get("after")) or 0
        cum: dict[str, float] = {}
        rows = []
        for update in acct.updates:  # type: ignore[union-attr]
            if not update.fill_id:
                continue
            oid = update.order.order_id
            cum[oid] = cum.get(oid, 0.0) + update.quantity
            if update.ts_event > after:
                rows.append(wire.fill_activity_json(acct, update, cum[oid]))  # type: ignore[arg-type]
        if q.get("direction", "desc") == "desc":
            rows.reverse()
        token = q.get("page_token")
        if token:  # the page after the activity with this id
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(token) + 1:] if token in ids else []
        return _ok(rows[: int(q.get("page_size") or 100)])

    # ------------------------------------------------------------------------- market data
    @router.get("/v2/stocks/bars")
    async def bars(request: Request) -> Response:
        _, err = gate(request)
        if err:
            return err
        q = request.query_params
        symbols = [s for s in (q.get("symbols") or "").split(",") if s]
        timeframe = q.get("timeframe", "1Min")
        if timeframe not in ("1Min", "1T"):
            return _error(422, f"invalid timeframe {timeframe!r}: the emulator serves 1Min bars")
        start = wire.parse_time(q.get("start")) or 0
        end = wire.parse_time(q.get("end")) or core.now_ns()
        limit = min(int(q.get("limit") or 10_000), emulator.bars_page_size)
        skip = int(q.get("page_token") or 0)
        found: list[tuple[str, Any]] = []
        for symbol in symbols:
            found.extend((symbol, b) for b in core.market.bars(symbol, start, min(end, core.now_ns() + 1)))
        page = found[skip: skip + limit]
        out: dict[str, list[dict[str, Any]]] = {}
        for symbol, bar in page:
            out.setdefault(symbol, []).append(wire.bar_rest(bar))
        token = str(skip + limit) if skip + limit < len(found) else None
        return _ok({"bars": out, "next_page_token": token, "currency": "USD"})

    # ----------------------------------------------------------------------------- control
    def control_ok(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {emulator.control_token}".encode())

    @router.post("/emulator/faults")
    async def arm(request: Request) -> Response:
        if not control_ok(request):
            return _error(401, "control API: missing or wrong token")
        try:
            body = json.loads(await request.body() or b"{}")
            fault = core.faults.arm(body["name"], count=body.get("count", 1), **dict(body.get("params") or {}))
        except (KeyError, TypeError, ValueError) as exc:
            return _error(422, f"invalid fault: {exc}")
        return _ok({"armed": fault.name, "params": fault.params, "count": fault.remaining})

    @router.get("/emulator/state")
    async def state(request: Request) -> Response:
        if not control_ok(request):
            return _error(401, "control API: missing or wrong token")
        return _ok({**core.snapshot(), "requests": emulator.requests, "rate_limited": emulator.rate_limited,
                    "data_connections": len(emulator.data_connections),
                    "trading_connections": len(emulator.trading_connections),
                    "faults_fired": [name for name, _ in core.faults.fired]})

    @router.post("/emulator/restart")
    async def restart(request: Request) -> Response:
        if not control_ok(request):
            return _error(401, "control API: missing or wrong token")
        seconds = float(request.query_params.get("seconds", "1"))
        emulator.schedule_restart(seconds)
        return _ok({"restarting_for": seconds})

    return router
