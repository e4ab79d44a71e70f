"""The API against the real server on 127.0.0.1 and a journal written by a running paper session.

A ``workbench paper`` subprocess trades the demo replay; ``workbench.service`` runs on uvicorn in
this process; httpx's AsyncClient and a ``websockets`` client talk to it over TCP.

Checks (the reference is always the journal's events, decoded independently of the projection
tables the API reads): every route's numbers equal the journal's; auth cases (no token, wrong
token: 401; read-only token on the command route: 403); a WebSocket client that disconnects and
reconnects with its last seq receives every event exactly once, in order; a command acknowledged
through the API is in the journal (command row, CommandAcknowledged with its id) and in the
dashboard's read model (:class:`workbench.widgets.source.JournalView`).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
import websockets
from live_helpers import fills, last_seq, start_cli, wait_for

from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.service import OPERATE, READ, TokenStore, create_app
from workbench.service.server import running_server

OPERATE_TOKEN = "operate-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"
SID = "served"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _ws_collect(ws_url: str, after_seq: int, until: int | None, max_messages: int | None) -> list[dict]:
    """Connect, resume after ``after_seq`` (all event types), collect events until seq >= ``until``
    or ``max_messages`` were received, then disconnect."""
    got: list[dict] = []
    async with websockets.connect(ws_url, additional_headers=_bearer(READ_TOKEN)) as ws:
        await ws.send(json.dumps({"session_id": SID, "after_seq": after_seq, "types": "all"}))
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello" and hello["after_seq"] == after_seq
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert message["type"] == "event"
            got.append(message)
            if max_messages is not None and len(got) >= max_messages:
                return got
            if until is not None and message["seq"] >= until:
                return got


async def _all_pages(client: httpx.AsyncClient, route: str, limit: int, **params: object) -> list[dict]:
    items: list[dict] = []
    after = 0
    while True:
        r = await client.get(route, params={"session_id": SID, "after_seq": after, "limit": limit, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        if body["next_after_seq"] is None:
            return items
        after = body["next_after_seq"]


@pytest.mark.slow
async def test_api_serves_the_journal_of_a_running_paper_session(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    proc = start_cli("paper", "--journal", url, "--session-id", SID, "--speed", "3000", "--quiet",
                     "--param", "fast=3", "--param", "slow=8", "--param", "long_short=true", cwd=tmp_path)
    journal = Journal(url)
    app = create_app(url, TokenStore({OPERATE_TOKEN: OPERATE, READ_TOKEN: READ}))
    try:
        wait_for(lambda: proc.poll() is not None or (last_seq(journal, SID) > 0 and len(fills(journal, SID)) >= 4),
                 timeout=90, interval=0.05)
        assert proc.poll() is None, proc.stderr.read()
        with running_server(app) as server:
            ws_url = server.url.replace("http", "ws") + "/ws/live-portfolio"
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as anonymous:
                # ---- auth
                assert (await anonymous.get("/healthz")).status_code == 200
                r = await anonymous.get("/api/live/positions", params={"session_id": SID})
                assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
                r = await anonymous.get("/api/live/positions", headers=_bearer("not-a-token"))
                assert r.status_code == 401
                r = await anonymous.post(f"/api/sessions/{SID}/commands", json={"name": "pause"},
                                         headers=_bearer(READ_TOKEN))
                assert r.status_code == 403
                assert (await anonymous.get("/metrics")).status_code == 401
                assert (await anonymous.get("/openapi.json")).status_code == 200
                with pytest.raises(websockets.exceptions.InvalidStatus):
                    async with websockets.connect(ws_url, additional_headers=_bearer("not-a-token")):
                        pass
                assert not (journal.commands(SID)["name"] == "pause").any()  # the 403 queued nothing

            # ---- WebSocket: first connection while the session trades, then reconnect with the last seq
            first = await _ws_collect(ws_url, 0, until=None, max_messages=25)
            async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=_bearer(OPERATE_TOKEN)) as api:
                assert (await api.get("/readyz")).status_code == 200
                # a bad command is refused with the validation message, nothing queued
                r = await api.post(f"/api/sessions/{SID}/commands", json={"name": "explode"})
                assert r.status_code == 422 and "unknown command 'explode'" in r.text
                # pause through the API: acknowledged by the engine, visible in the journal and the dashboard
                r = await api.post(f"/api/sessions/{SID}/commands", json={"name": "pause"},
                                   headers={"X-Request-ID": "ops-ticket-42"})
                assert r.status_code == 200, r.text
                assert r.headers["x-request-id"] == "ops-ticket-42"  # the correlation id of its log lines
                ack = r.json()
                assert (ack["status"], ack["detail"], ack["source"]) == ("acknowledged", "paused", "api")
                record = journal.command(ack["command_id"])
                assert record.status == "acknowledged" and record.ack_seq == ack["ack_seq"]
                acked = [e for e in journal.events(SID, types=[ev.CommandAcknowledged])
                         if e.command_id == ack["command_id"]]
                assert len(acked) == 1 and acked[0].name == "pause"
                from workbench.widgets.source import JournalView

                view = JournalView(journal, SID)
                shown = view.snapshot().commands
                assert ack["command_id"] in set(shown["command_id"])
                assert shown.set_index("command_id").loc[ack["command_id"], "status"] == "acknowledged"
                r = await api.post(f"/api/sessions/{SID}/commands", json={"name": "resume", "expires_after": 30})
                assert r.json()["status"] == "acknowledged"
                assert r.json()["ts_expires"] - r.json()["ts_created"] == 30 * 10**9  # the same expiry as ctl
                # let it trade on, then stop it through the API and wait for the process to end
                mark = last_seq(journal, SID)
                wait_for(lambda: last_seq(journal, SID) > mark + 50, timeout=60, interval=0.05)
                r = await api.post(f"/api/sessions/{SID}/commands", json={"name": "stop"})
                assert r.json()["status"] == "acknowledged"
                assert await asyncio.to_thread(proc.wait, 60) == 0
                final = journal.last_seq(SID)
                second = await _ws_collect(ws_url, first[-1]["seq"], until=final, max_messages=None)

                # resumed stream: every event exactly once, in order
                seqs = [m["seq"] for m in first + second]
                assert seqs == list(range(1, final + 1))
                records = list(journal.records(SID))
                for message, (seq, event) in zip(first + second, records):
                    assert message["seq"] == seq and message["event_type"] == type(event).__name__
                    assert journal.codec.decode(message["event"]) == event

                # a command to the stopped session is refused by the journal's own check, nothing queued
                r = await api.post(f"/api/sessions/{SID}/commands", json={"name": "pause"})
                assert r.status_code == 422 and "is not running" in r.json()["detail"]
                await _check_reads(api, journal)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        journal.close()


async def _check_reads(api: httpx.AsyncClient, journal: Journal) -> None:
    """Every read route against the journal's events (the session has ended: the journal is fixed)."""
    records = list(journal.records(SID))
    # fills: paged 7 at a time, equal to the OrderFilled events
    expected = fills(journal, SID)
    got = await _all_pages(api, "/api/live/fills", 7)
    assert len(got) == len(expected) > 4
    for row, fill in zip(got, expected.itertuples()):
        assert (row["order_id"], row["fill_id"], row["symbol"], row["side"]) == (
            fill.order_id, fill.fill_id, fill.symbol, fill.side)
        assert (row["quantity"], row["price"], row["commission"], row["ts_event"]) == (
            fill.quantity, fill.price, fill.commission, fill.ts_event)
    # since: the fills at or after the 4th fill's time
    cut = int(expected["ts_event"].iloc[3])
    since = await _all_pages(api, "/api/live/fills", 100, since=cut)
    assert [r["fill_id"] for r in since] == list(expected[expected["ts_event"] >= cut]["fill_id"])
    # positions: the last position event per symbol
    last_position: dict[str, ev.PositionEvent] = {}
    for _, event in records:
        if isinstance(event, ev.PositionEvent):
            last_position[event.symbol] = event
    positions = {p["symbol"]: p for p in await _all_pages(api, "/api/live/positions", 100)}
    assert set(positions) == set(last_position)
    for symbol, event in last_position.items():
        row = positions[symbol]
        assert (row["quantity"], row["avg_price"], row["realized_pnl"]) == (
            event.quantity, event.avg_price, event.realized_pnl)
        assert row["status"] == ("closed" if isinstance(event, ev.PositionClosed) else "open")
    # orders: one per OrderInitialized; filled quantity = sum of its fills
    initialized = [e.order_id for _, e in records if isinstance(e, ev.OrderInitialized)]
    orders = await _all_pages(api, "/api/live/orders", 10)
    assert sorted(o["order_id"] for o in orders) == sorted(initialized)
    filled = expected.groupby("order_id")["quantity"].sum()
    for order in orders:
        assert order["filled_quantity"] == pytest.approx(float(filled.get(order["order_id"], 0.0)), abs=1e-9)
    # P&L: the final AccountState; total against the starting cash (100,000)
    account = [e for _, e in records if isinstance(e, ev.AccountState)][-1]
    pnl = (await api.get("/api/live/pnl", params={"session_id": SID})).json()
    assert (pnl["equity"], pnl["cash"], pnl["realized"], pnl["unrealized"]) == (
        account.equity, account.cash, account.realized_pnl, account.unrealized_pnl)
    assert pnl["total"] == pytest.approx(account.equity - 100_000.0)
    assert pnl["starting_equity"] == 100_000.0
    # signals and alerts: counts and the last one
    signals = [e for _, e in records if isinstance(e, ev.SignalGenerated)]
    got_signals = await _all_pages(api, "/api/live/signals", 50)
    assert len(got_signals) == len(signals)
    if signals:
        assert (got_signals[-1]["symbol"], got_signals[-1]["direction"]) == (signals[-1].symbol, signals[-1].direction)
    alerts = [e for _, e in records if isinstance(e, ev.AlertRaised)]
    assert len(await _all_pages(api, "/api/live/alerts", 50)) == len(alerts)
    # risk: the trading state of the last TradingStateChanged (ACTIVE when none)
    states = [e for _, e in records if isinstance(e, ev.TradingStateChanged)]
    risk = (await api.get("/api/live/risk", params={"session_id": SID})).json()
    assert risk["trading_state"] == (states[-1].state.value if states else "ACTIVE")
    # health, sessions, metrics
    health = (await api.get("/api/live/health", params={"session_id": SID})).json()
    assert health["last_seq"] == len(records) and health["status"] == "stopped"
    sessions = (await api.get("/api/sessions")).json()["items"]
    assert [s["session_id"] for s in sessions] == [SID] and sessions[0]["last_seq"] == len(records)
    metrics = (await api.get("/metrics")).text
    assert f'workbench_journal_events_total{{session_id="{SID}"}} {float(len(records))}' in metrics
    assert f'workbench_equity{{session_id="{SID}"}} {account.equity}' in metrics or account.equity == 0
    assert "workbench_ws_push_latency_seconds_count" in metrics
    # the engine's own histograms, from its last checkpoint: one tick-to-order observation per order call
    orders_sent = sum(isinstance(e, ev.OrderSubmitted) for _, e in records)
    counted = float(metrics.split(f'workbench_tick_to_order_seconds_count{{session_id="{SID}"}} ')[1].split()[0])
    assert 0 < counted <= orders_sent + 10  # submits (+ cancels of a flatten); none after the last checkpoint
    assert f'workbench_journal_commit_seconds_bucket{{le="+Inf",session_id="{SID}"}}' in metrics
    denials = sum(isinstance(e, ev.OrderDenied) for _, e in records)
    assert f'workbench_risk_denials_total{{session_id="{SID}"}} {float(denials)}' in metrics
    # an unknown session is a 404, a stopped session is not "ready" only if it were running
    assert (await api.get("/api/live/pnl", params={"session_id": "nope"})).status_code == 404
    assert time.time() > 0
