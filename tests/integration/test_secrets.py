"""Secrets never appear in output, logs, the journal, reports or the dashboard (issue 10, items 11-12).

A paper session journals to PostgreSQL through a URL holding a planted password (the throwaway
server trusts local connections, so any password connects), with API keys and an alert-channel URL
planted in the environment (``APCA_API_KEY_ID``, ``APCA_API_SECRET_KEY``, ``WORKBENCH_*``) and a
config file whose ``journal.url`` holds the password. Then every printed line of ``paper``,
``journal sessions|events|commands|verify``, ``report`` (printed and written to a file), ``ctl`` and
``dashboard``, every row of every journal table, and the dashboard page rendered in Chromium are
searched for the planted secrets. The dashboard's command line (what ``ps`` shows any local user)
holds neither the password nor its access token.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from live_helpers import end_process_group, workbench_args

from workbench.persistence import schema as t
from workbench.widgets.serve import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

_RUN = secrets.token_hex(6)  # planted values are made per run: no key-like literal in the repository
PASSWORD = f"planted-pg-{_RUN}"
SECRETS = {
    "APCA_API_KEY_ID": f"planted-key-id-{_RUN}",
    "APCA_API_SECRET_KEY": f"planted-alpaca-secret-{_RUN}",
    "WORKBENCH_API_TOKEN": f"planted-service-token-{_RUN}",
    "WORKBENCH_ALERT_URL": f"json://127.0.0.1:9/planted-webhook-{_RUN}",
}
CHROMIUM = "/usr/bin/chromium"


def _leaks(text: str) -> list[str]:
    return [s for s in (PASSWORD, *SECRETS.values()) if s in text]


def _run(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(workbench_args(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    return f"$ workbench {args[0]} -> {done.returncode}\n{done.stdout}\n{done.stderr}"  # the argv holds the URL


def test_planted_secrets_appear_nowhere(pg_url: str, tmp_path: Path) -> None:
    url = pg_url.replace("postgres@/", f"postgres:{PASSWORD}@/", 1)
    assert PASSWORD in url
    env = {**os.environ, **SECRETS, "PYTHONUNBUFFERED": "1"}
    config = tmp_path / "paper.yaml"
    config.write_text(f"""
session: {{strategy: sma_crossover, params: {{fast: 5, slow: 15}}, data: demo, speed: null}}
journal: {{url: "{url}"}}
risk:
  alerts:
    routes: [{{name: ops, url_env: [WORKBENCH_ALERT_URL], levels: [CRITICAL]}}]
""")
    out = [_run("paper", "--config", str(config), "--session-id", "cfg", "--quiet", cwd=tmp_path, env=env),
           _run("paper", "--journal", url, "--session-id", "cli", "--speed", "max", "--quiet", cwd=tmp_path, env=env)]
    assert "-> 0" in out[0] and "-> 0" in out[1], out
    for sid in ("cfg", "cli"):
        for what in ("events", "commands", "verify", "orders", "fills", "risk_events", "alerts"):
            out.append(_run("journal", what, sid, "--journal", url, cwd=tmp_path, env=env))
        out.append(_run("report", sid, "--journal", url, cwd=tmp_path, env=env))
        out.append(_run("report", sid, "--journal", url, "-o", str(tmp_path / f"{sid}.html"), cwd=tmp_path, env=env))
        out.append((tmp_path / f"{sid}.html").read_text())
        out.append(_run("ctl", sid, "pause", "--journal", url, cwd=tmp_path, env=env))  # refused: not running
    out.append(_run("journal", "sessions", "--journal", url, cwd=tmp_path, env=env))
    assert "journal: postgresql+psycopg://postgres:***@" in out[1]
    printed = "\n".join(out)
    assert "Traceback" not in printed, printed[-3000:]
    assert _leaks(printed) == [], [line for line in printed.splitlines() if _leaks(line)][:5]

    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            assert _leaks(repr(rows)) == [], table.name
    engine.dispose()

    _dashboard_has_no_secrets(url, tmp_path, env)


def _dashboard_has_no_secrets(url: str, tmp_path: Path, env: dict[str, str]) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian chromium at /usr/bin/chromium for the dashboard page")
    playwright = pytest.importorskip("playwright.sync_api")
    port, token = free_port(), "planted-dashboard-token-0005"
    log = tmp_path / "dashboard.log"
    process = subprocess.Popen(workbench_args("dashboard", "--journal", url, "--port", str(port), "--token", token,
                                              "--session-id", "cli"),
                               cwd=tmp_path, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        voila = None
        while voila is None and time.monotonic() < deadline:  # the Voila server the CLI started
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    except OSError:
                        continue
                    if "workbench.widgets.voila_main" in cmdline and str(port) in cmdline:
                        voila = cmdline
            time.sleep(0.1)
        assert voila is not None, log.read_text()
        assert token not in voila and PASSWORD not in voila, "visible to every local user through ps"
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            try:
                page = browser.new_page()
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1")
                           else route.abort())
                while True:
                    try:
                        page.goto(f"http://127.0.0.1:{port}/?token={token}", wait_until="commit", timeout=30_000)
                        break
                    except playwright.Error:
                        assert time.monotonic() < deadline + 60
                        time.sleep(0.2)
                page.wait_for_selector(".wb-fills td[data-column='fill_id']", timeout=90_000)
                html = page.content()
            finally:
                browser.close()
        assert _leaks(html) == []
    finally:
        end_process_group(process)
    printed = log.read_text()
    assert "workbench dashboard: journal postgresql+psycopg://postgres:***@" in printed
    assert _leaks(printed) == [], [line for line in printed.splitlines() if _leaks(line)][:5]
