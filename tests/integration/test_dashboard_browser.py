"""The ops dashboard in a real browser: Voila served by ``serve_dashboard`` in a subprocess, Debian's
Chromium driven by Playwright, a journaled engine driven by the test (ScriptedSession).

Measured and printed: launch -> rendered page (target < 8 s) and fill journaled -> row on the page
(target < 2 s).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from workbench.model import events as ev
from workbench.persistence import Journal
from workbench.widgets.html import money
from workbench.widgets.serve import free_port
from workbench.widgets.testing import ScriptedSession

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]

playwright_sync = pytest.importorskip("playwright.sync_api")


def _wait(predicate, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def served(tmp_path):
    """A journal with a trading session, and the dashboard serving it; yields (session, url, port, log)."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    session = ScriptedSession(journal, mode="paper")
    session.record(ev.ConnectionStatusChanged(ts_event=time.time_ns(), component="feed", connected=True,
                                              detail="replay x60"))
    session.record(ev.ConnectionStatusChanged(ts_event=time.time_ns(), component="broker", connected=True,
                                              detail="simulated"))
    session.trade("SPY", "BUY", 100, 170.0)
    port, token = free_port(), "test-token-0123456789"
    log = (tmp_path / "voila.log").open("w")
    launched = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "workbench.widgets.serve", "--journal", str(path), "--port", str(port),
         "--token", token],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path,
    )
    try:
        yield session, f"http://127.0.0.1:{port}/?token={token}", port, launched
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
        journal.close()


def _goto_when_up(page, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            page.goto(url, wait_until="commit", timeout=30_000)
            return
        except playwright_sync.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _written(journal: Journal, sid: str) -> list[tuple[int, str]]:
    """(ts_written ns, type) of the session's events, newest first."""
    import sqlalchemy as sa

    from workbench.persistence import schema

    e = schema.events.c
    with journal.engine.connect() as conn:
        rows = conn.execute(sa.select(e.ts_written, e.type).where(e.session_id == sid).order_by(e.seq.desc())).all()
    return [(int(r[0]), r[1]) for r in rows]


def _texts(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.textContent.trim())")


def test_dashboard_in_chromium(served, tmp_path):
    session, url, port, launched = served
    journal, sid = session.journal, session.session_id
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1900})
            # no internet in tests: Voila's template asks a CDN for icon fonts
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1")
                       else route.abort())
            _goto_when_up(page, url, timeout=60)
            page.wait_for_selector(".wb-positions td[data-column='quantity']", timeout=90_000)
            rendered = time.monotonic() - launched
            print(f"\nlaunch -> rendered page: {rendered:.2f} s (target < 8 s)")

            # positions and P&L match the journal
            position = journal.positions(sid, open_only=True).iloc[0]
            assert _texts(page, ".wb-positions td[data-column='symbol']") == ["SPY"]
            assert _texts(page, ".wb-positions td[data-column='quantity']") == ["100"]
            assert _texts(page, ".wb-positions td[data-column='avg_price']") == [money(position["avg_price"])]
            account = journal.equity(sid).iloc[-1]
            equity_text = page.text_content(".wb-stat-equity")
            assert equity_text == money(account["equity"])
            assert page.text_content(".wb-stat-open-positions") == "1"
            assert "connected" in _texts(page, ".wb-connections td[data-column='status']")

            # a new fill appears within 2 s
            before = set(_texts(page, ".wb-fills td[data-column='fill_id']"))
            order = session.trade("SPY", "SELL", 40, 172.0)
            fill_id = journal.fills(sid).iloc[-1]["fill_id"]
            assert fill_id not in before and order.status == "FILLED"
            page.wait_for_function(
                "id => [...document.querySelectorAll(\".wb-fills td[data-column='fill_id']\")]"
                ".some(e => e.textContent.trim() === id)", arg=fill_id, timeout=10_000, polling=20)
            seen_ns = time.time_ns()
            written_ns = next(
                ts for ts, kind in _written(journal, sid) if kind == "OrderFilled")  # newest fill's commit time
            fill_latency = (seen_ns - written_ns) / 1e9
            print(f"fill journaled -> row on page: {fill_latency:.2f} s (target < 2 s)")
            page.wait_for_function("() => document.querySelector(\".wb-positions td[data-column='quantity']\")"
                                   ".textContent.trim() === '60'", timeout=5_000)
            account = journal.equity(sid).iloc[-1]
            page.wait_for_function("t => document.querySelector('.wb-stat-equity').textContent === t",
                                   arg=money(account["equity"]), timeout=5_000)

            page.wait_for_timeout(300)  # let the chart redraw
            docs = REPO / "docs"
            docs.mkdir(exist_ok=True)
            page.screenshot(path=str(docs / "dashboard.png"), full_page=True)  # for the README: a position open

            # Pause: the command is journaled; the engine's acknowledgement is shown
            page.get_by_role("button", name="Pause").click()
            pause = _wait(lambda: [c for c in journal.pending_commands(sid) if c.name == "pause"], 5, "pause command")
            assert len(pause) == 1 and pause[0].source == "dashboard"
            session.process_commands()
            page.wait_for_selector(".wb-ack:has-text('acknowledged')", timeout=5_000)
            page.wait_for_selector(".wb-commands tr.wb-command-acknowledged td[data-column='name']:has-text('pause')",
                                   timeout=5_000)

            # kill switch: first click only arms it; the confirmation sends it
            page.get_by_role("button", name="Kill switch").click()
            page.wait_for_selector("text=Kill switch armed", timeout=5_000)
            time.sleep(1.2)
            assert not [c for c in journal.commands(sid).itertuples() if c.name == "kill"]
            page.get_by_role("button", name="Confirm kill switch").click()
            kill = _wait(lambda: [c for c in journal.pending_commands(sid) if c.name == "kill"], 5, "kill command")
            assert kill[0].args["flatten"] is True
            session.process_commands()
            session.quote("SPY", 171.0, 171.01)  # the flatten order fills
            assert journal.positions(sid, open_only=True).empty
            page.wait_for_selector(".wb-positions.wb-empty", timeout=5_000)
            page.wait_for_selector(".wb-stat-trading-state:has-text('HALTED')", timeout=5_000)
            assert page.text_content(".wb-stat-open-positions") == "0"

            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()

    # a request without the token is refused
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as wrong:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/?token=wrong", timeout=10)
    assert wrong.value.code == 403
    # the < 8 s render target is reported, not asserted: it depends on the machine's load
    assert rendered < 90
    assert fill_latency < 2.0
