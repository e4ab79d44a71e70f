"""``workbench dashboard`` with Voila's preheated kernel (issue 13, render time), in Debian Chromium.

Checked against Voila's own log lines (``voila/voila_kernel_manager.py``): the pool is filled
("Kernel pool of ops.ipynb is filled"), and the page is served by that kernel ("Using pre-heated
kernel"). The kernel reaper (grace 3 s, a pass every 5 s) must not shut the pooled kernel down
while it waits for a page, and the page must open on the newest session at the time it opens (a
session started after the pool was filled), then keep it when a newer one starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.persistence import Journal
from workbench.widgets.serve import free_port
from workbench.widgets.testing import ScriptedSession

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium")]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_page_takes_the_preheated_kernel_on_the_newest_session(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    ScriptedSession(journal, "sess-a").trade("SPY", "BUY", 1, 100.0)
    port, token = free_port(), "preheat-token-0123456789"
    log = tmp_path / "voila.log"
    env = {**os.environ, "WORKBENCH_KERNEL_GRACE_SECONDS": "3"}
    server = subprocess.Popen([sys.executable, "-m", "workbench.cli", "dashboard", "--journal", str(path), "--port",
                               str(port), "--token", token], stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                              start_new_session=True)
    try:
        _wait_for(lambda: "Kernel pool of ops.ipynb is filled" in log.read_text() or server.poll() is not None,
                  180, "the preheated kernel")
        assert server.poll() is None, log.read_text()
        time.sleep(9)  # longer than the reaper's grace (3 s) plus one of its passes (5 s): the pooled kernel stays
        ScriptedSession(journal, "sess-b").trade("SPY", "BUY", 2, 100.0)  # newer than the pooled kernel's notebook run
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/?token={token}")
            page.wait_for_function("() => (document.querySelector('.wb-banner-session') || {}).textContent"
                                   "?.startsWith('sess-b')", timeout=120_000)
            assert "Using pre-heated kernel" in log.read_text()
            ScriptedSession(journal, "sess-c").trade("SPY", "BUY", 3, 100.0)
            page.wait_for_function("() => [...document.querySelectorAll('.wb-session-picker option')]"
                                   ".some(o => o.textContent.startsWith('sess-c'))", timeout=60_000)
            page.wait_for_timeout(2_000)  # two more refreshes
            assert page.inner_text(".wb-banner-session").startswith("sess-b")  # the open page keeps its session
            browser.close()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
        journal.close()
