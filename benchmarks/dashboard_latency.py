"""Dashboard figures (issue 13): time from ``workbench dashboard`` to a rendered page, fill in the
journal to its row on the page (p50/p90), and the Voila kernel's memory over a running session.

A hand-driven session (:class:`~workbench.widgets.testing.ScriptedSession`, the real engine and
journal) trades SPY every ``--every`` seconds for ``--minutes`` minutes while headless Debian
Chromium shows the dashboard. For each fill the time from its commit (``ts_written``) to its row
appearing on the page is measured (a MutationObserver in the page stamps when each fill id
appears). The kernel's resident memory (RSS of the ``ipykernel`` child of the Voila server, from
``/proc``) is sampled every 10 s.

    PYTHONPATH=src .venv/bin/python benchmarks/dashboard_latency.py --minutes 10

Targets: render < 4 s, fill-to-row p90 < 1 s, kernel memory flat within 10 MB over 30 minutes.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from workbench.persistence import Journal, schema
from workbench.widgets.serve import free_port
from workbench.widgets.testing import ScriptedSession

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
OBSERVER = """() => { window.__seen = {}; const note = () => {
  for (const td of document.querySelectorAll(".wb-fills td[data-column='fill_id']")) {
    const id = td.textContent.trim(); if (!(id in window.__seen)) window.__seen[id] = Date.now(); } };
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, characterData: true}); note(); }"""


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _started(pid: int) -> int:
    """Start time of process ``pid`` in clock ticks since boot (field 22 of ``/proc/<pid>/stat``)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def _kernel_pids(root: int) -> list[int]:
    """ipykernel processes descending from ``root`` (workbench dashboard -> Voila -> kernel), oldest
    first: with Voila's preheated pool the first page takes the kernel started with the server, and
    the pool's replacement starts later."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    parent, kernels = {}, []
    for line in out.splitlines():
        pid, ppid, *args = line.split(maxsplit=2)
        parent[int(pid)] = int(ppid)
        if args and "ipykernel" in args[0]:
            kernels.append(int(pid))

    def descends(pid: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = parent.get(pid, 1)
        return False

    return sorted((pid for pid in kernels if descends(pid)), key=_started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between trades")
    parser.add_argument("--progress", action="store_true", help="print every memory sample as it is taken")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="dashboard_bench_"))
    path = folder / "journal.sqlite"
    journal = Journal(path)
    session = ScriptedSession(journal, "bench")
    session.trade("SPY", "BUY", 100, 170.0)
    port, token = free_port(), "bench-token-0123456789"
    log = folder / "voila.log"
    # the operator's browser is already running: launch it before the clock starts, so the figure is
    # the dashboard's (command -> page), not Chromium's start-up (printed separately)
    t0 = time.monotonic()
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    print(f"(browser launched in {time.monotonic() - t0:.2f} s, before the clock starts)", flush=True)
    started = time.monotonic()
    voila = subprocess.Popen([sys.executable, "-m", "workbench.cli", "dashboard", "--journal", str(path), "--port",
                              str(port), "--token", token], stdout=log.open("w"), stderr=subprocess.STDOUT,
                             start_new_session=True)
    url = f"http://127.0.0.1:{port}/?token={token}"
    try:
        while f"open {url}" not in log.read_text():
            if voila.poll() is not None:
                raise SystemExit(log.read_text())
            time.sleep(0.02)
        printed = time.monotonic() - started
        page.goto(url, wait_until="commit")
        page.wait_for_selector(".wb-fills td[data-column='fill_id']", timeout=120_000)
        rendered = time.monotonic() - started
        print(f"workbench dashboard -> URL printed {printed:.2f} s, -> rendered page {rendered:.2f} s "
              f"(target < 4 s)", flush=True)
        page.evaluate(OBSERVER)
        kernels = _kernel_pids(voila.pid) or []
        pid = kernels[0] if kernels else None
        memory: list[tuple[float, int]] = []
        fills: dict[str, int] = {}
        side = "SELL"
        end = time.monotonic() + 60 * args.minutes
        next_sample = 0.0
        f = schema.fills.c
        while time.monotonic() < end:
            session.trade("SPY", side, 100, 170.0 + np.random.default_rng(len(fills)).normal(0, 0.5))
            side = "BUY" if side == "SELL" else "SELL"
            with journal.engine.connect() as conn:
                row = conn.execute(sa.select(f.fill_id, f.seq).where(f.session_id == "bench")
                                   .order_by(f.seq.desc()).limit(1)).first()
                written = conn.execute(sa.select(schema.events.c.ts_written).where(
                    schema.events.c.session_id == "bench", schema.events.c.seq == row.seq)).scalar_one()
            fills[row.fill_id] = written
            now = time.monotonic()
            if pid and now >= next_sample:
                memory.append((now - started, _rss_kb(pid)))
                next_sample = now + 10.0
                if args.progress:
                    print(f"  t={memory[-1][0]:7.0f} s  RSS {memory[-1][1] / 1024:7.1f} MB  fills {len(fills)}",
                          flush=True)
            page.wait_for_timeout(int(args.every * 1000))
        seen = page.evaluate("() => window.__seen")
        lat = np.array([(seen[k] * 1e6 - v) / 1e9 for k, v in fills.items() if k in seen])
        missing = len(fills) - len(lat)
        print(f"fills: {len(fills)} (not seen on the page: {missing}); fill journaled -> row on page: "
              f"p50 {np.percentile(lat, 50):.3f} s, p90 {np.percentile(lat, 90):.3f} s, max {lat.max():.3f} s "
              f"(target p90 < 1 s)")
        if memory:
            values = np.array([m for _, m in memory]) / 1024
            warm = values[len(values) // 5:] if len(values) >= 5 else values
            print(f"kernel RSS over {memory[-1][0] / 60:.1f} min: start {values[0]:.1f} MB, end {values[-1]:.1f} MB, "
                  f"min/max after warm-up {warm.min():.1f}/{warm.max():.1f} MB (spread {warm.max() - warm.min():.1f} MB; "
                  f"target flat within 10 MB over 30 min)")
            for t, m in memory[:: max(1, len(memory) // 12)]:
                print(f"  t={t:7.0f} s  RSS {m / 1024:7.1f} MB")
    finally:
        browser.close()
        playwright.stop()
        if voila.poll() is None:
            os.killpg(voila.pid, signal.SIGTERM)
            voila.wait(timeout=30)
        journal.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
