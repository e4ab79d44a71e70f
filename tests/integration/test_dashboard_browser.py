"""The ops dashboard in a real browser: Voila served by ``workbench dashboard`` in a subprocess, Debian's
Chromium driven by Playwright; the engine is either driven by the test (ScriptedSession: exact
control over fills) or a real ``workbench paper`` subprocess replaying the shipped SPY minutes.

Measured and printed: launch -> rendered page (target < 4 s) and fill journaled -> row on the page
(target < 1 s p90, see benchmarks/dashboard_latency.py for the distribution).

Issue 13's defects, each checked here: a page opened on a finished session draws the whole equity
curve (points compared with the journal); PAUSED and HALTED show with reason and colour right
after the command; after a kill the strategy's denied orders stay out of the blotter's default
view; force-exit closes one position and leaves the others; the first request after the printed
URL succeeds; no request leaves 127.0.0.1; the whole-page screenshot is taller than the viewport.
Screenshots of the banner in each state go to ``docs/banner_<state>.png``.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from live_helpers import end_process_group

from workbench.model import events as ev
from workbench.model.enums import OrderSide
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


DOCS = REPO / "docs"


@contextlib.contextmanager
def _dashboard(journal_path: Path, tmp_path: Path, session_id: str | None = None):
    """Serve the dashboard with ``workbench dashboard`` (the CLI); yields (url, port, launch time).

    Waits for the printed URL and requests it at once: that first request must succeed.
    """
    port, token = free_port(), "test-token-0123456789"
    argv = [sys.executable, "-m", "workbench.cli", "dashboard", "--journal", str(journal_path), "--port", str(port),
            "--token", token]
    if session_id:
        argv += ["--session-id", session_id]
    launched = time.monotonic()
    log = tmp_path / "voila.log"
    process = _spawn(argv, log, tmp_path)
    try:
        url = f"http://127.0.0.1:{port}/?token={token}"
        _wait(lambda: f"open {url}" in log.read_text() or process.poll() is not None, 120, "the printed URL",
              step=0.01)
        assert process.poll() is None, log.read_text()
        with urllib.request.urlopen(url, timeout=60) as first:  # the first request after the printed URL
            assert first.status == 200
        yield url, port, launched
    finally:
        _end(process)


OUTSIDE: list[str] = []
"""Requests of the browser to anything but 127.0.0.1 (aborted; must stay empty)."""


def _route(route) -> None:
    if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
        route.continue_()
    else:
        OUTSIDE.append(route.request.url)
        route.abort()


@contextlib.contextmanager
def _page(url: str, viewport: dict | None = None):
    """Headless Debian Chromium on ``url`` (only 127.0.0.1 reachable); yields the Playwright page."""
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport=viewport or {"width": 1500, "height": 1900})
            page.route("**/*", _route)  # no internet in tests, and the page must not need it
            _goto_when_up(page, url, timeout=60)
            yield page
        finally:
            browser.close()


def _replay() -> dict:
    """Replay checkpoints (``workbench.feeds.progress``) of 100 items one minute apart, the first 40
    before now: a scripted session (its data time is the wall clock) shows about 40% replayed."""
    start = time.time_ns() - 40 * 60_000_000_000 - 30_000_000_000
    return {"events": 100, "ts_init": [start + k * 60_000_000_000 for k in range(1, 101)]}


def _banner(page, state: str, timeout: float = 10_000) -> float:
    """Wait for the banner to show ``state``; return the seconds waited."""
    started = time.monotonic()
    page.wait_for_selector(f".wb-banner[data-state='{state}'] .wb-state-{state}", timeout=timeout)
    return time.monotonic() - started


def _banner_shot(page, state: str) -> None:
    """The banner's picture for docs/ (not an assertion): the banner is re-rendered on every refresh,
    so an element screenshot can find it detached; retry on a fresh locator, then give up quietly."""
    DOCS.mkdir(exist_ok=True)
    for _ in range(5):
        try:
            page.locator(".wb-banner").screenshot(path=str(DOCS / f"banner_{state.lower()}.png"), timeout=5_000)
            return
        except Exception:  # playwright Error: element detached / not stable while the page refreshes
            time.sleep(0.2)
    warnings.warn(f"no banner screenshot for {state}: the element kept re-rendering", stacklevel=2)


def _background(page, selector: str) -> str:
    return page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor")


@pytest.fixture
def served(tmp_path):
    """A journal with a hand-driven session, and the dashboard serving it; yields (session, url, port, launched)."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    session = ScriptedSession(journal, mode="paper", parameters={"replay": _replay()})
    session.record(ev.ConnectionStatusChanged(ts_event=time.time_ns(), component="feed", connected=True,
                                              detail="replay x60"))
    session.record(ev.ConnectionStatusChanged(ts_event=time.time_ns(), component="broker", connected=True,
                                              detail="simulated"))
    session.trade("SPY", "BUY", 100, 170.0)
    session.trade("IBM", "BUY", 10, 180.0)
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
    OUTSIDE.clear()
    with _page(url) as page:
        page.wait_for_selector(".wb-positions td[data-column='quantity']", timeout=90_000)
        rendered = time.monotonic() - launched
        print(f"\nlaunch -> rendered page: {rendered:.2f} s (target < 4 s)")

        # positions and P&L match the journal
        positions = journal.positions(sid, open_only=True)
        assert _texts(page, ".wb-positions td[data-column='symbol']") == ["IBM", "SPY"]
        assert _texts(page, ".wb-positions td[data-column='quantity']") == ["10", "100"]
        assert _texts(page, ".wb-positions td[data-column='avg_price']") == [money(p) for p in positions["avg_price"]]
        account = journal.equity(sid).iloc[-1]
        assert page.text_content(".wb-stat-equity") == money(account["equity"])
        assert page.text_content(".wb-stat-open-positions") == "2"
        assert "connected" in _texts(page, ".wb-connections td[data-column='status']")
        _banner(page, "RUNNING")
        assert _background(page, ".wb-banner") == "rgb(26, 127, 55)"
        assert page.text_content(".wb-count-fills") == "2"
        # replay progress: the share of the checkpoints at or before the data time shown (numpy's count;
        # the page shows the time to the second, so one more may have passed within that second)
        checkpoints = journal.session(sid)["parameters"]["replay"]["ts_init"]
        shown = pd.Timestamp(page.text_content(".wb-data-time").removesuffix(" UTC"), tz="UTC").value
        consumed = int(np.searchsorted(np.asarray(checkpoints), shown, side="right"))
        assert page.text_content(".wb-replay-progress") in (f"{consumed}%", f"{consumed + 1}%")
        _banner_shot(page, "RUNNING")

        # a new fill appears within 2 s
        before = set(_texts(page, ".wb-fills td[data-column='fill_id']"))
        order = session.trade("SPY", "SELL", 40, 172.0)
        fill_id = journal.fills(sid).iloc[-1]["fill_id"]
        assert fill_id not in before and order.status == "FILLED"
        page.wait_for_function(
            "id => [...document.querySelectorAll(\".wb-fills td[data-column='fill_id']\")]"
            ".some(e => e.textContent.trim() === id)", arg=fill_id, timeout=30_000, polling=20)
        seen_ns = time.time_ns()
        written_ns = next(
            ts for ts, kind in _written(journal, sid) if kind == "OrderFilled")  # newest fill's commit time
        fill_latency = (seen_ns - written_ns) / 1e9
        print(f"fill journaled -> row on page: {fill_latency:.2f} s (target < 1 s)")
        page.wait_for_function("() => document.querySelectorAll(\".wb-positions td[data-column='quantity']\")[1]"
                               ".textContent.trim() === '60'", timeout=20_000)

        # the daily P&L bars: a category axis of days, also after the fill above reached the open page
        # (plotly.js re-types an axis whose trace x is restyled: ISO days became a date axis)
        last = journal.equity(sid)["ts_event"].iloc[-1].tz_convert("America/New_York")
        label = f"{last:%a %Y-%m-%d}"
        page.wait_for_function("label => [...document.querySelectorAll('.js-plotly-plot')].some(p => "
                               "(p.data[0] || {}).type === 'bar' && (p.data[0].x || []).includes(label))",
                               arg=label, timeout=30_000)
        daily = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => "
                              "(p.data[0] || {}).type === 'bar').map(p => p._fullLayout.xaxis.type)")
        assert daily == ["category"], daily

        # Pause: journaled, acknowledged, and the banner says PAUSED (amber) right after
        session.heartbeat()  # a running engine beats every few seconds; commands need it
        page.get_by_role("button", name="Pause", exact=True).click()
        pause = _wait(lambda: [c for c in journal.pending_commands(sid) if c.name == "pause"], 20, "pause command")
        assert len(pause) == 1 and pause[0].source == "dashboard"
        session.process_commands()
        paused_after = _banner(page, "PAUSED")
        print(f"pause acknowledged -> PAUSED on the banner: {paused_after:.2f} s (target < 1 s)")
        assert _background(page, ".wb-banner") == "rgb(178, 106, 0)"
        page.wait_for_selector(".wb-state-by:has-text('dashboard')", timeout=20_000)
        page.wait_for_selector(".wb-commands tr.wb-command-acknowledged td[data-column='name']:has-text('pause')",
                               timeout=20_000)
        _banner_shot(page, "PAUSED")
        session.heartbeat()  # a running engine beats every few seconds; commands need it
        page.get_by_role("button", name="Resume", exact=True).click()
        _wait(lambda: [c for c in journal.pending_commands(sid) if c.name == "resume"], 20, "resume command")
        session.process_commands()
        _banner(page, "RUNNING")

        # force exit of one position (IBM): a flatten of that symbol only; SPY stays
        page.select_option(".wb-exit-symbol select", "IBM")
        page.get_by_role("button", name="Force exit").click()
        session.heartbeat()  # a running engine beats every few seconds; commands need it
        page.get_by_role("button", name="Confirm exit").click()
        exit_ = _wait(lambda: [c for c in journal.pending_commands(sid) if c.name == "flatten"], 20, "force exit")
        assert exit_[0].args == {"symbol": "IBM"}
        session.process_commands()
        session.quote("IBM", 181.0, 181.02)  # the closing order fills
        assert list(journal.positions(sid, open_only=True)["symbol"]) == ["SPY"]
        page.wait_for_function("() => [...document.querySelectorAll(\".wb-positions td[data-column='symbol']\")]"
                               ".map(e => e.textContent.trim()).join() === 'SPY'", timeout=20_000)

        # kill switch: first click only arms it; the confirmation sends it
        page.get_by_role("button", name="Kill switch", exact=True).click()
        page.wait_for_selector("text=Kill switch armed", timeout=20_000)
        time.sleep(1.2)
        assert not [c for c in journal.commands(sid).itertuples() if c.name == "kill"]
        session.heartbeat()  # a running engine beats every few seconds; commands need it
        page.get_by_role("button", name="Confirm kill switch").click()
        kill = _wait(lambda: [c for c in journal.pending_commands(sid) if c.name == "kill"], 20, "kill command")
        assert kill[0].args["flatten"] is True
        session.process_commands()
        halted_after = _banner(page, "HALTED")
        print(f"kill acknowledged -> HALTED on the banner: {halted_after:.2f} s (target < 1 s)")
        assert _background(page, ".wb-banner") == "rgb(198, 40, 40)"
        assert page.text_content(".wb-state-reason") == "manual kill switch"
        page.wait_for_selector(".wb-state-by:has-text('dashboard (kill command')", timeout=20_000)
        session.quote("SPY", 171.0, 171.01)  # the flatten order fills
        assert journal.positions(sid, open_only=True).empty
        page.wait_for_selector(".wb-positions.wb-empty", timeout=20_000)
        page.wait_for_selector(".wb-stat-trading-state:has-text('HALTED')", timeout=20_000)
        assert page.text_content(".wb-stat-open-positions") == "0"
        _banner_shot(page, "HALTED")
        # the ticket only takes reducing orders now: with no position, nothing
        playwright_sync.expect(page.get_by_role("button", name="Submit order")).to_be_disabled(timeout=20_000)

        # a halted strategy keeps trying: its denials stay out of the blotter's default view
        shown_orders = _texts(page, ".wb-orders td[data-column='order_id']")
        for _ in range(30):
            session.engine.submit_order(session.engine.create_order("SPY", OrderSide.BUY, 10, strategy_id="sma"))
        denied = journal.orders(sid, status=["DENIED"])
        assert len(denied) == 30
        page.wait_for_function("n => Number(document.querySelector('.wb-count-denials').textContent) === n",
                               arg=len(denied), timeout=30_000)
        assert page.locator(".wb-orders tr.wb-order-denied").count() == 0
        assert _texts(page, ".wb-orders td[data-column='order_id']") == shown_orders
        page.locator(".wb-blotter-filter button", has_text="denied").click()
        page.wait_for_selector(".wb-orders tr.wb-order-denied", timeout=20_000)

        # the kill switch is reset only through its own confirmed command (not by Resume)
        playwright_sync.expect(page.get_by_role("button", name="Resume", exact=True)).to_be_disabled(timeout=20_000)
        page.get_by_role("button", name="Reset kill switch").click()
        page.get_by_role("button", name="Confirm reset").click()  # no reason yet: refused on the page
        page.wait_for_selector("text=say why the kill switch is reset", timeout=20_000)
        page.locator("input[placeholder='why is it safe to trade again?']").fill("checked the positions")
        session.heartbeat()
        page.get_by_role("button", name="Confirm reset").click()
        reset = _wait(lambda: [c for c in journal.pending_commands(sid) if c.name == "reset_kill_switch"], 5,
                      "the reset command")
        assert reset[0].args["reason"] == "checked the positions" and reset[0].args["confirm"] is True
        session.process_commands()
        _banner(page, "RUNNING")
        reset_event = next(iter(journal.events(sid, types=["KillSwitchReset"])))
        assert (reset_event.reason, reset_event.source) == ("checked the positions", "dashboard")

        # a stopped session: STOPPED, every control disabled
        session.stop("end of test")
        _banner(page, "STOPPED")
        playwright_sync.expect(page.get_by_role("button", name="Kill switch", exact=True)).to_be_disabled(timeout=20_000)
        _banner_shot(page, "STOPPED")

        assert page.locator("text=refresh failed").count() == 0  # no panel failed along the way
        shot = tmp_path / "dashboard.png"
        page.set_viewport_size({"width": 1400, "height": 900})
        page.screenshot(path=str(shot), full_page=True)
        from PIL import Image

        with Image.open(shot) as image:
            assert image.size[1] > 900 * 1.5, image.size  # the whole page, not one screen of an inner box

    assert OUTSIDE == [], OUTSIDE
    # a request without the token is refused
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as wrong:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/?token=wrong", timeout=10)
    assert wrong.value.code == 403
    # the render and latency targets are reported, not asserted tightly: they depend on the machine's load
    assert rendered < 90
    # generous bounds: under CI load the page still follows; the targets are measured by the benchmark
    assert fill_latency < 5.0
    assert paused_after < 10.0 and halted_after < 10.0


def test_post_mortem_of_finished_and_failed_sessions(tmp_path):
    """A page opened on a finished session draws its whole equity curve (every journaled point), shows
    STOPPED; a session whose engine died without stopping shows FAILED; the session list has both."""
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        done = ScriptedSession(journal, "finished")
        for i in range(12):
            done.trade("SPY", "BUY" if i % 2 == 0 else "SELL", 100, 170.0 + (i % 5))
        done.stop("replay ended")
        crashed = ScriptedSession(journal, "crashed")
        crashed.trade("SPY", "BUY", 50, 171.0)
        journal.release_session("crashed")  # the process ended without SessionStopped
        equity = journal.equity("finished")
        OUTSIDE.clear()
        with _dashboard(path, tmp_path, "finished") as (url, _port, _launched), _page(url) as page:
            page.wait_for_selector(".wb-banner[data-state='STOPPED']", timeout=90_000)
            _banner_shot(page, "STOPPED")
            assert page.text_content(".wb-state-reason") == "replay ended"
            # the equity chart: plotted points are the journal's AccountState rows
            page.wait_for_function("() => { const g = document.querySelector('.js-plotly-plot');"
                                   " return g && g.data && g.data[0].y && g.data[0].y.length > 0; }", timeout=30_000)
            ys = page.evaluate("() => Array.from(document.querySelector('.js-plotly-plot').data[0].y)")
            assert [round(y, 6) for y in ys] == [round(y, 6) for y in equity["equity"]]
            states = dict(zip(_texts(page, ".wb-sessions td[data-column='session_id']"),
                              _texts(page, ".wb-sessions td[data-column='state']"), strict=True))
            assert states == {"finished": "STOPPED", "crashed": "FAILED"}
            picker = page.locator(".wb-session-picker select")
            labels = picker.evaluate("s => [...s.options].map(o => o.textContent)")
            picker.select_option(index=next(i for i, text in enumerate(labels) if text.startswith("crashed")))
            page.wait_for_selector(".wb-banner[data-state='FAILED']", timeout=30_000)
            _banner_shot(page, "FAILED")
            assert page.locator("text=refresh failed").count() == 0
    assert OUTSIDE == [], OUTSIDE


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
                                       arg=seq_shown, timeout=30_000)
                page.wait_for_selector(".wb-fills td[data-column='fill_id']", timeout=30_000)

                # Pause: the running engine acknowledges; then positions and equity stop moving with
                # the strategy and must equal the journal's
                page.get_by_role("button", name="Pause", exact=True).click()
                page.wait_for_selector(".wb-ack:has-text('acknowledged')", timeout=30_000)
                pause = journal.commands(sid)
                assert pause["name"].tolist()[-1] == "pause" and pause["status"].tolist()[-1] == "acknowledged"
                _wait(lambda: _page_matches_journal(page, journal, sid), 10, "page == journal")
                page.wait_for_timeout(300)  # let the chart redraw
                # the daily P&L bars stay on a category axis of days after the page's data updates
                # (plotly.js re-types an axis whose trace x is restyled; ISO days would become dates)
                daily = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => "
                                      "(p.data[0] || {}).type === 'bar').map(p => [p._fullLayout.xaxis.type, p.data[0].x])")
                assert daily and daily[0][0] == "category" and daily[0][1][0] == "Mon 2013-10-07", daily  # a Monday
                docs = REPO / "docs"
                docs.mkdir(exist_ok=True)
                page.screenshot(path=str(docs / "dashboard.png"), full_page=True)  # the README's screenshot

                # kill switch through its confirmation: halted, flattened, no open position
                page.get_by_role("button", name="Kill switch", exact=True).click()
                page.get_by_role("button", name="Confirm kill switch").click()
                _wait(lambda: (journal.commands(sid)["name"] == "kill").any(), 20, "the kill command")
                _wait(lambda: journal.commands(sid)["status"].iloc[-1] == "acknowledged", 20, "kill acknowledged")
                _wait(lambda: journal.positions(sid, open_only=True).empty, 60, "the positions to be flat")
                page.wait_for_selector(".wb-positions.wb-empty", timeout=30_000)
                page.wait_for_selector(".wb-stat-trading-state:has-text('HALTED')", timeout=30_000)
                assert page.text_content(".wb-stat-open-positions") == "0"
                page.screenshot(path=str(tmp_path / "paper_dashboard.png"), full_page=True)
                assert page.locator("text=refresh failed").count() == 0
    finally:
        _end(paper)
