"""``workbench dashboard`` with Voila's preheated kernel (issue 13, render time), in Debian Chromium.

Checked against Voila's own log lines (``voila/voila_kernel_manager.py``): the pool is filled
("Kernel pool of ops.ipynb is filled"), and the page is served by that kernel ("Using pre-heated
kernel"). The kernel reaper (grace 3 s, a pass every 5 s) must not shut the pooled kernel down
while it waits for a page, and the page must open on the newest session at the time it opens (a
session started after the pool was filled), then keep it when a newer one starts.

A page requested the moment ``workbench dashboard`` prints its URL (the pooled kernel still
starting) must wait for that kernel rather than start a second one (Voila 0.5 starts its own kernel
for a page that comes before the pooled kernel has started: ``VoilaHandler.should_use_rendered_notebook``).
"""

from __future__ import annotations

import contextlib
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


SLOW_POOL = """
import sys
if any("voila_main" in arg for arg in sys.orig_argv):  # (sys.argv is still ["-m", ...] here)
    import asyncio, importlib.abc, importlib.util
    print("slow pool: the pooled kernel starts 4 s late", file=sys.stderr, flush=True)

    class _SlowPool(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "voila.voila_kernel_manager":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                factory = module.voila_kernel_manager_factory

                def slow_factory(*args, **kwargs):
                    cls = factory(*args, **kwargs)
                    if hasattr(cls, "_initialize"):
                        initialize = cls._initialize

                        async def _initialize(self, *a, **k):
                            await asyncio.sleep(4)
                            return await initialize(self, *a, **k)

                        cls._initialize = _initialize
                    return cls

                module.voila_kernel_manager_factory = slow_factory

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _SlowPool())
"""


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@contextlib.contextmanager
def _served(tmp_path, session_id: str, env: dict[str, str]):
    """A journal with one scripted session and ``workbench dashboard`` serving it (its output in
    ``voila.log``); yields (journal, server process, log path, page URL); stops both after."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    ScriptedSession(journal, session_id).trade("SPY", "BUY", 1, 100.0)
    port, token = free_port(), "preheat-token-0123456789"
    log = tmp_path / "voila.log"
    server = subprocess.Popen([sys.executable, "-m", "workbench.cli", "dashboard", "--journal", str(path), "--port",
                               str(port), "--token", token], stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                              start_new_session=True)
    try:
        yield journal, server, log, f"http://127.0.0.1:{port}/?token={token}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
        journal.close()


def test_a_page_takes_the_preheated_kernel_on_the_newest_session(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    env = {**os.environ, "WORKBENCH_KERNEL_GRACE_SECONDS": "3"}
    with _served(tmp_path, "sess-a", env) as (journal, server, log, url):
        _wait_for(lambda: "Kernel pool of ops.ipynb is filled" in log.read_text() or server.poll() is not None,
                  180, "the preheated kernel")
        assert server.poll() is None, log.read_text()
        time.sleep(9)  # longer than the reaper's grace (3 s) plus one of its passes (5 s): the pooled kernel stays
        ScriptedSession(journal, "sess-b").trade("SPY", "BUY", 2, 100.0)  # newer than the pooled kernel's notebook run
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("() => (document.querySelector('.wb-banner-session') || {}).textContent"
                                   "?.startsWith('sess-b')", timeout=120_000)
            assert "Using pre-heated kernel" in log.read_text()
            ScriptedSession(journal, "sess-c").trade("SPY", "BUY", 3, 100.0)
            page.wait_for_function("() => [...document.querySelectorAll('.wb-session-picker option')]"
                                   ".some(o => o.textContent.startsWith('sess-c'))", timeout=60_000)
            page.wait_for_timeout(2_000)  # two more refreshes
            assert page.inner_text(".wb-banner-session").startswith("sess-b")  # the open page keeps its session
            browser.close()


def test_the_first_page_right_after_the_url_takes_the_starting_preheated_kernel(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    # the race made sure: the Voila server starts its pooled kernel 4 s late (its kernel manager's
    # ``_initialize`` waits first), so the page asks before that kernel exists
    slow = tmp_path / "slow_pool"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(SLOW_POOL)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(slow), os.environ.get("PYTHONPATH")]))}
    with _served(tmp_path, "sess-first", env) as (_journal, server, log, url), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        _wait_for(lambda: f"open {url}" in log.read_text() or server.poll() is not None, 180, "the URL")
        assert server.poll() is None, log.read_text()
        assert "slow pool: the pooled kernel starts 4 s late" in log.read_text()  # the hook is in place
        assert "Kernel started" not in log.read_text()
        page.goto(url)
        page.wait_for_function("() => (document.querySelector('.wb-banner-session') || {}).textContent"
                               "?.startsWith('sess-first')", timeout=120_000)
        text = log.read_text()
        # served by the pooled kernel, and no other kernel started before it was taken (the pool's
        # refill, 8 s after, comes later in the log)
        assert "Using pre-heated kernel: " in text, text
        before, _, after = text.partition("Using pre-heated kernel: ")
        started = [line.split()[-1] for line in before.splitlines() if "Kernel started:" in line]
        assert started == [after.split()[0]], text
        browser.close()
