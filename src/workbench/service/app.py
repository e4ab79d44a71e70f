"""The FastAPI application: REST reads, commands, the live WebSocket, health and metrics.

Routes (every one needs ``Authorization: Bearer <token>`` except ``/healthz``, ``/docs`` and
``/openapi.json``; see :mod:`workbench.service.auth`):

=========================================  =====================================================
``GET  /api/sessions``                     sessions (pages by ``after`` = last id, ``since`` ns)
``GET  /api/sessions/{id}``                one session
``GET  /api/sessions/{id}/commands``       its commands and their acknowledgements
``POST /api/sessions/{id}/commands``       queue a command (``operate`` token); waits up to
                                           ``wait`` s for the engine's journaled answer: 200
                                           with it, 202 while still pending, 422 for a bad one
``GET  /api/live/positions|orders|fills|   pages of the journal's read models for
signals|alerts|risk_events|equity``        ``session_id`` (default: newest running, live first)
                                           with ``after_seq``, ``since`` (ns), ``limit``
``GET  /api/live/pnl|risk|health``         P&L, risk limits and trading state, health
``GET  /api/live/shadow``                  a graduated live session beside its paper shadow
``WS   /ws/live-portfolio``                push of journaled events, resumable (:mod:`.live`)
``GET  /healthz``                          liveness: the process answers
``GET  /readyz``                           journal reachable; for each running session (or
                                           ``session_id``): heartbeat fresh, feed and broker
                                           connected. 503 with the failed checks otherwise
``GET  /metrics``                          Prometheus text (:mod:`.metrics`)
=========================================  =====================================================

The application only reads the journal and queues commands in it; it never runs an engine
(DESIGN rule 8). Commands go through :meth:`Journal.submit_command`, the same path (validation
included) as ``workbench ctl`` and the dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import sqlalchemy as sa
import structlog
from fastapi import Depends, FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from workbench.errors import CommandError, JournalError
from workbench.persistence import Journal
from workbench.persistence import schema as t
from workbench.service import models as m
from workbench.service import reads
from workbench.service.auth import OPERATE, TokenStore
from workbench.service.live import PORTFOLIO_TYPES, Client, LiveHub
from workbench.service.metrics import ServiceMetrics

__all__ = ["READY_HEARTBEAT_SECONDS", "create_app"]

log = logging.getLogger(__name__)  # stdlib: silent unless configured; JSON with fields via workbench.logs
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

READY_HEARTBEAT_SECONDS = 15.0
"""``/readyz`` fails for a running session whose engine heartbeat is older (the engine beats every 5 s)."""

_bearer = HTTPBearer(auto_error=False, description="an API token (role read or operate)")
_Limit = Annotated[int, Query(ge=1, le=reads.PAGE_LIMIT, description="rows per page")]
_After = Annotated[int, Query(ge=0, description="rows with seq > after_seq (the previous page's next_after_seq)")]
_Since = Annotated[int | None, Query(ge=0, description="rows at or after this time, ns since epoch UTC")]


def _role(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    tokens: TokenStore = request.app.state.tokens
    role = tokens.role(credentials.credentials if credentials is not None else None)
    if role is None:
        raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return role


async def reader(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """Dependency: any known token (401 otherwise)."""
    return _role(request, credentials)


async def operator(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """Dependency: an ``operate`` token (401 without a known token, 403 for a read-only one)."""
    role = _role(request, credentials)
    if role != OPERATE:
        raise HTTPException(403, "this token may read but not send commands")
    return role


class _Timing:
    """ASGI middleware: a correlation id per request and its duration per route template.

    The correlation id is the request's ``X-Request-ID`` header (when it is a short printable
    token) or a new random one; it is bound to the log context of the request (every log record
    written while handling it carries ``correlation_id``) and returned as ``X-Request-ID``.
    """

    def __init__(self, app: Any, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        correlation = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", correlation.encode("latin-1"))]}
            await send(message)

        start = time.perf_counter()
        with structlog.contextvars.bound_contextvars(correlation_id=correlation):
            try:
                await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
            finally:
                if scope["type"] == "http":
                    route = scope.get("route")
                    path = getattr(route, "path", "other")
                    self.metrics.requests.labels(path, scope["method"]).observe(time.perf_counter() - start)


def _journal(request: Request) -> Journal:
    return request.app.state.journal


def _session_or_404(journal: Journal, session_id: str) -> dict[str, Any]:
    try:
        return reads.session_row(journal, session_id)
    except JournalError as exc:
        if "unknown session" in str(exc):
            raise HTTPException(404, f"unknown session {session_id!r}") from None
        raise


def _default_session(journal: Journal, session_id: str | None) -> str:
    if session_id is not None:
        _session_or_404(journal, session_id)
        return session_id
    s = t.sessions.c
    with journal.engine.connect() as conn:
        sid = conn.execute(
            sa.select(s.session_id)  # a live session first: a graduated one runs beside its (newer) paper shadow
            .order_by((s.status == "running").desc(), (s.mode == "live").desc(), s.ts_created.desc()).limit(1)
        ).scalar()
    if sid is None:
        raise HTTPException(404, "the journal has no session yet")
    return str(sid)


_Sid = Annotated[str | None, Query(description="session id (default: the newest running session, a live one "
                                               "first, else the newest)")]


async def _call(journal: Journal, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a journal read: inline on SQLite (a local query of well under a millisecond costs less
    than a thread hop), in a worker thread on PostgreSQL (a network round trip must not stall the
    event loop and its WebSocket pushes)."""
    if journal.dialect == "sqlite":
        return function(*args, **kwargs)
    return await asyncio.to_thread(function, *args, **kwargs)


def _page_route(app: FastAPI, name: str, model: type, **filters: Any) -> None:
    """Register ``GET /api/live/<name>`` returning a page of the projection table ``name``."""

    def read(journal: Journal, session_id: str | None, where: dict[str, Any], **paging: Any) -> Any:
        sid = session_id if session_id is not None else _default_session(journal, None)
        page = reads.page(journal, name, sid, where=where, **paging)
        if not page.items and session_id is not None:
            _session_or_404(journal, session_id)  # an empty page of an unknown session is a 404
        return {"items": page.items, "next_after_seq": page.next_after_seq}

    async def route(request: Request, _: Annotated[str, Depends(reader)], session_id: _Sid = None,
                    after_seq: _After = 0, since: _Since = None, limit: _Limit = 100) -> Any:
        where = {column: request.query_params[column] for column in filters if column in request.query_params}
        page = await _call(_journal(request), read, _journal(request), session_id, where, after_seq=after_seq,
                           since=since, limit=limit)
        return JSONResponse(page)  # rows are the model's fields already: skip re-validation (the hot path)

    doc = reads.TABLES[name][0].name
    app.add_api_route(f"/api/live/{name}", route, methods=["GET"], response_model=m.PageOf[model],
                      summary=f"Page of {name} (journal table {doc}) in seq order",
                      description="Equality filters: " + (", ".join(filters) or "none"))


def create_app(journal: Journal | str, tokens: TokenStore, *, poll_interval: float = 0.01) -> FastAPI:
    """Build the application on ``journal`` (a Journal, URL or SQLite path) with ``tokens``.

    Raises
    ------
    ValueError
        ``tokens`` is empty (the API never runs without authentication).
    JournalError
        The journal cannot be opened.
    """
    if not tokens:
        raise ValueError("the API needs at least one token (see workbench.service.auth)")
    jr = journal if isinstance(journal, Journal) else Journal(journal)
    metrics = ServiceMetrics(jr)
    hub = LiveHub(jr, poll_interval, observe=metrics.push_latency.observe)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await hub.close()

    app = FastAPI(title="Workbench API", version="1", lifespan=lifespan,
                  description="Reads the journal and queues commands; never runs an engine.")
    app.state.journal, app.state.tokens, app.state.hub, app.state.metrics = jr, tokens, hub, metrics
    app.add_middleware(_Timing, metrics=metrics)

    @app.exception_handler(JournalError)
    async def _journal_error(request: Request, exc: JournalError) -> JSONResponse:
        return JSONResponse({"detail": f"journal unavailable: {type(exc).__name__}"}, status_code=503)

    # ----------------------------------------------------------------------------- sessions
    @app.get("/api/sessions", response_model=m.SessionPage, summary="Sessions in creation order")
    def sessions(request: Request, _: Annotated[str, Depends(reader)], after: str | None = None,
                 since: _Since = None, limit: _Limit = 100) -> Any:
        page = reads.sessions(_journal(request), after, since, limit)
        return {"items": page.items, "next_after": page.next_after_seq}

    @app.get("/api/sessions/{session_id}", response_model=m.Session)
    def session(request: Request, session_id: str, _: Annotated[str, Depends(reader)]) -> Any:
        return _session_or_404(_journal(request), session_id)

    # ------------------------------------------------------------------------------- pages
    _page_route(app, "positions", m.Position, status="open | closed")
    _page_route(app, "orders", m.Order, status="order status", symbol="symbol")
    _page_route(app, "fills", m.Fill, symbol="symbol", order_id="order id")
    _page_route(app, "signals", m.Signal, symbol="symbol")
    _page_route(app, "alerts", m.Alert, level="level")
    _page_route(app, "risk_events", m.RiskEvent, kind="risk | order_denied | trading_state")
    _page_route(app, "equity", m.EquitySnapshot)

    @app.get("/api/live/pnl", response_model=m.Pnl, summary="P&L: day, total, realized, unrealized, equity")
    async def pnl(request: Request, _: Annotated[str, Depends(reader)], session_id: _Sid = None) -> Any:
        journal = _journal(request)
        return await _call(journal, lambda: reads.pnl(journal, _default_session(journal, session_id)))

    @app.get("/api/live/risk", response_model=m.Risk, summary="Trading state, risk limits and their usage")
    async def risk(request: Request, _: Annotated[str, Depends(reader)], session_id: _Sid = None) -> Any:
        journal = _journal(request)
        return await _call(journal, lambda: reads.risk(journal, _default_session(journal, session_id)))

    @app.get("/api/live/health", response_model=m.Health, summary="Engine heartbeat, event rate, connections")
    async def health(request: Request, _: Annotated[str, Depends(reader)], session_id: _Sid = None) -> Any:
        journal = _journal(request)
        return await _call(journal, lambda: reads.health(journal, _default_session(journal, session_id)))

    @app.get("/api/live/shadow", response_model=m.ShadowPair, summary="A live session beside its paper shadow")
    async def shadow(request: Request, _: Annotated[str, Depends(reader)], session_id: _Sid = None) -> Any:
        from workbench.operations.shadow_report import shadow_report

        journal = _journal(request)
        sid = _default_session(journal, session_id)
        report = await _call(journal, lambda: shadow_report(journal, sid))
        if report is None:
            raise HTTPException(404, f"session {sid!r} has no paper shadow (it did not graduate to live)")
        return report.as_dict()

    # ----------------------------------------------------------------------------- commands
    @app.get("/api/sessions/{session_id}/commands", response_model=list[m.CommandAck])
    def commands(request: Request, session_id: str, _: Annotated[str, Depends(reader)],
                 limit: _Limit = 100) -> Any:
        journal = _journal(request)
        _session_or_404(journal, session_id)
        c = t.commands.c
        with journal.engine.connect() as conn:
            rows = conn.execute(sa.select(t.commands.c.command_id).where(c.session_id == session_id)
                                .order_by(c.command_id.desc()).limit(limit)).scalars().all()
        return [_ack(journal.command(int(i))) for i in reversed(rows)]

    @app.post("/api/sessions/{session_id}/commands", response_model=m.CommandAck,
              responses={202: {"model": m.CommandAck, "description": "queued, not yet acknowledged"},
                         403: {"description": "read-only token"}, 422: {"description": "bad command"}})
    async def command(request: Request, session_id: str, body: m.CommandRequest,
                      _: Annotated[str, Depends(operator)]) -> Any:
        journal = _journal(request)
        await asyncio.to_thread(_session_or_404, journal, session_id)
        try:
            expiry = {} if body.expires_after is None else {"expires_after": body.expires_after}
            command_id = await asyncio.to_thread(
                functools.partial(journal.submit_command, session_id, body.name, body.args, "api", **expiry))
        except CommandError as exc:
            log.info("command refused", extra={"session_id": session_id, "command": body.name, "detail": str(exc)})
            raise HTTPException(422, str(exc)) from None
        log.info("command submitted", extra={"session_id": session_id, "command_id": command_id, "command": body.name})
        deadline = time.monotonic() + body.wait
        record = await asyncio.to_thread(journal.command, command_id)
        while record.status == "pending" and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            record = await asyncio.to_thread(journal.command, command_id)
        return JSONResponse(m.CommandAck(**_ack(record)).model_dump(),
                            status_code=202 if record.status == "pending" else 200)

    # ------------------------------------------------------------------------------- health
    @app.get("/healthz", summary="Liveness (no token needed)")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: journal, engine heartbeat, feed and broker connections")
    def readyz(request: Request, _: Annotated[str, Depends(reader)], session_id: str | None = None) -> Any:
        return _readiness(_journal(request), session_id)

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    def prometheus(request: Request, _: Annotated[str, Depends(reader)]) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # ---------------------------------------------------------------------------- websocket
    @app.websocket("/ws/live-portfolio")
    async def live_portfolio(websocket: WebSocket) -> None:
        """Handshake: the client sends ``{"session_id": ..., "after_seq": N, "types": [...] | "all"}``;
        the server answers ``{"type": "hello", "session_id", "after_seq", "last_seq", "types"}``
        and then streams ``{"type": "event", "seq", "ts_written", "event_type", "event"}`` for
        every wanted event with seq > after_seq, in seq order. Reconnect with the last seq received."""
        header = websocket.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else websocket.query_params.get("token")
        if tokens.role(token) is None:
            await websocket.close(code=1008, reason="a valid bearer token is required")
            return
        await websocket.accept()
        metrics.ws_clients.inc()
        try:
            hello = await _handshake(websocket, jr)
            if hello is None:
                return
            client = Client(hello["session_id"], hello["after_seq"], hello["types"])
            await websocket.send_text(json.dumps({"type": "hello", **hello, "types": (
                "all" if client.types is None else sorted(client.types))}))
            stream = asyncio.create_task(hub.stream(client, websocket.send_text))
            receive = asyncio.create_task(_drain(websocket))
            done, pending = await asyncio.wait({stream, receive}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task
            for task in done:
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
                    task.result()
        except WebSocketDisconnect:
            pass
        finally:
            metrics.ws_clients.dec()

    return app


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until it disconnects."""
    while True:
        await websocket.receive_text()


async def _handshake(websocket: WebSocket, journal: Journal) -> dict[str, Any] | None:
    """Read and check the client's first message; close the socket with a reason and return None if bad."""
    try:
        text = await asyncio.wait_for(websocket.receive_text(), 30.0)
        request = json.loads(text)
        session_id = request["session_id"]
        after_seq = int(request.get("after_seq", 0))
        types = request.get("types")
        if not isinstance(session_id, str) or after_seq < 0:
            raise ValueError
    except (TimeoutError, ValueError, KeyError, TypeError):
        await websocket.close(code=1003, reason='expected {"session_id": str, "after_seq": int >= 0}')
        return None
    last = await asyncio.to_thread(_last_seq_or_none, journal, session_id)
    if last is None:
        await websocket.close(code=4404, reason=f"unknown session {session_id!r}")
        return None
    chosen = None if types == "all" else (PORTFOLIO_TYPES if types is None else frozenset(map(str, types)))
    return {"session_id": session_id, "after_seq": after_seq, "last_seq": last, "types": chosen}


def _last_seq_or_none(journal: Journal, session_id: str) -> int | None:
    from workbench.service.live import last_seq

    return last_seq(journal, session_id)


def _ack(record: Any) -> dict[str, Any]:
    return {"command_id": record.command_id, "session_id": record.session_id, "name": record.name,
            "args": record.args, "source": record.source, "status": record.status, "detail": record.detail,
            "ts_created": record.ts_created, "ts_acknowledged": record.ts_acknowledged, "ack_seq": record.ack_seq,
            "ts_expires": getattr(record, "ts_expires", None)}


def _readiness(journal: Journal, session_id: str | None) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        with journal.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            s = t.sessions.c
            if session_id is None:
                ids = list(conn.execute(sa.select(s.session_id).where(s.status == "running")).scalars())
            else:
                ids = [session_id]
        checks["journal"] = {"ok": True}
    except Exception as exc:  # unreachable database: not ready
        checks["journal"] = {"ok": False, "detail": type(exc).__name__}
        return JSONResponse({"ready": False, "checks": checks}, status_code=503)
    for sid in ids:
        try:
            info = reads.health(journal, sid)
        except JournalError:
            checks[sid] = {"ok": False, "detail": "unknown session"}
            continue
        problems = []
        age = info["heartbeat_age"]
        if info["status"] == "running" and (age is None or age > READY_HEARTBEAT_SECONDS):
            problems.append(f"engine heartbeat {'missing' if age is None else f'{age:.0f} s old'}")
        for component, link in info["connections"].items():
            if info["status"] == "running" and not link["connected"]:
                problems.append(f"{component} disconnected: {link['detail']}")
        checks[sid] = {"ok": not problems, "status": info["status"], "heartbeat_age": age,
                       "problems": problems}
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
