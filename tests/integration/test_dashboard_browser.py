"""The ops dashboard in a real browser: Voila served by ``workbench dashboard`` in a subprocess, Debian's
Chromium driven by Playwright; the engine is either driven by the test (ScriptedSession: exact
control over fills) or a real ``workbench paper`` subprocess replaying the shipped SPY minutes.

Measured and printed: launch -> rendered page (target < 8 s) and fill journaled -> row on the page
(target < 2 s).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from live_helpers import end_process_group

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


def _spawn(argv: list[str], log: Path, cwd: Path) -> subprocess.Popen:
    """Start a subprocess in its own process group (stopped with :func:`_end`)."""
    return subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd)


_end = end_process_group


@contextlib.contextmanager
def _dashboard(journal_path: Path, tmp_path: Path, session_id: str | None = None):
    """Serve the dashboard with ``workbench dashboard`` (the CLI); yields (url, port, launch time)."""
    port, token = free_port(), "test-token-0123456789"
    argv = [sys.executable, "-m", "workbench.cli", "dashboard", "--journal", str(journal_path), "--port", str(port),
            "--token", token]
    if session_id:
        argv += ["--session-id", session_id]
    launched = time.monotonic()
    process = _spawn(argv, tmp_path / "voila.log", tmp_path)
    try:
        yield f"http://127.0.0.1:{port}/?token={token}", port, launched
    finally:
        _end(process)


@contextlib.contextmanager
def _page(url: str):
    """Headless Debian Chromium on ``url`` (only 127.0.0.1 reachable); yields the Playwright page."""
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1900})
            # no internet in tests: Voila's template asks a CDN for icon fonts
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1")
                       else route.abort())
            _goto_when_up(page, url, timeout=60)
            yield page
        finally:
            browser.close()


@pytest.fixture
def served(tmp_path):
    """A journal with a hand-driven session, and the dashboard serving it; yields (session, url, port, launched)."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    session = ScriptedSession(journal, mode="paper")
    session.record(ev.ConnectionStatusChanged(ts_event=time.time_ns(), component="feed", connected=True,
                                              detail="replay x60"))
    session.record(ev.ConnectionStatusChanged(ts_event=time.time_ns(), component="broker", connected=True,
                                              detail="simulated"))
    session.trade("SPY", "BUY", 100, 170.0)
    try:
        with _dashboard(path, tmp_path) as (url, port, launched):
            yield session, url, port, launched
    finally:
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
    with _page(url) as page:
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


def _page_matches_journal(page, journal: Journal, sid: str) -> bool:
    """Positions (symbol, quantity, average price) and equity on the page equal the journal's latest."""
    positions = journal.positions(sid, open_only=True)
    account = journal.equity(sid)
    want = (
        [str(s) for s in positions["symbol"]],
        [f"{q:,.0f}" for q in positions["quantity"]],
        [money(p) for p in positions["avg_price"]],
        money(account["equity"].iloc[-1]) if len(account) else "-",
    )
    shown = (
        _texts(page, ".wb-positions td[data-column='symbol']"),
        _texts(page, ".wb-positions td[data-column='quantity']"),
        _texts(page, ".wb-positions td[data-column='avg_price']"),
        page.text_content(".wb-stat-equity"),
    )
    return shown == want


def test_dashboard_with_a_paper_session(tmp_path):
    """``workbench paper`` trades the shipped SPY replay in a subprocess; the page follows it, Pause and
    the kill switch go through the journal to the real engine, which acknowledges them."""
    path = tmp_path / "journal.sqlite"
    sid = "paper-browser"
    paper = _spawn([sys.executable, "-m", "workbench.cli", "paper", "--journal", str(path), "--session-id", sid,
                    "--speed", "600", "--quiet"], tmp_path / "paper.log", tmp_path)
    try:
        _wait(lambda: path.exists(), 60, "the paper session's journal")
        with Journal(path) as journal:
            _wait(lambda: sid in set(journal.sessions()["session_id"]), 60, "the paper session")
            with _dashboard(path, tmp_path, sid) as (url, _port, launched), _page(url) as page:
                page.wait_for_selector(".wb-overview", timeout=90_000)
                print(f"\npaper: launch -> rendered page: {time.monotonic() - launched:.2f} s")
                # the page changes while the session trades
                first = _wait(lambda: len(journal.fills(sid)) >= 1, 90, "a first fill")
                assert first
                seq_shown = int(page.text_content(".wb-stat-last-seq"))
                page.wait_for_function("s => Number(document.querySelector('.wb-stat-last-seq').textContent) > s",
                                       arg=seq_shown, timeout=10_000)
                page.wait_for_selector(".wb-fills td[data-column='fill_id']", timeout=30_000)

                # Pause: the running engine acknowledges; then positions and equity stop moving with
                # the strategy and must equal the journal's
                page.get_by_role("button", name="Pause").click()
                page.wait_for_selector(".wb-ack:has-text('acknowledged')", timeout=10_000)
                pause = journal.commands(sid)
                assert pause["name"].tolist()[-1] == "pause" and pause["status"].tolist()[-1] == "acknowledged"
                _wait(lambda: _page_matches_journal(page, journal, sid), 10, "page == journal")
                page.wait_for_timeout(300)  # let the chart redraw
                docs = REPO / "docs"
                docs.mkdir(exist_ok=True)
                page.screenshot(path=str(docs / "dashboard.png"), full_page=True)  # the README's screenshot

                # kill switch through its confirmation: halted, flattened, no open position
                page.get_by_role("button", name="Kill switch").click()
                page.get_by_role("button", name="Confirm kill switch").click()
                _wait(lambda: (journal.commands(sid)["name"] == "kill").any(), 5, "the kill command")
                _wait(lambda: journal.commands(sid)["status"].iloc[-1] == "acknowledged", 20, "kill acknowledged")
                _wait(lambda: journal.positions(sid, open_only=True).empty, 60, "the positions to be flat")
                page.wait_for_selector(".wb-positions.wb-empty", timeout=10_000)
                page.wait_for_selector(".wb-stat-trading-state:has-text('HALTED')", timeout=10_000)
                assert page.text_content(".wb-stat-open-positions") == "0"
                page.screenshot(path=str(tmp_path / "paper_dashboard.png"), full_page=True)
    finally:
        _end(paper)
