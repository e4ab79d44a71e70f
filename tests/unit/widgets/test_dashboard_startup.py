"""Time to the dashboard's first render (issue 13, target under 4 s): the pieces on the kernel's and
the server's start-up path, each against an independent reference.

- :func:`wait_for_page` speaks Voila 0.5's preheat protocol; it is checked against Voila's own
  server side (``voila.request_info_handler.RequestInfoSocketHandler`` on a Tornado app), both when
  the page came before the kernel asked and after.
- :func:`wait_for_pool` makes a page requested while the pooled kernel is still starting wait for
  it (Voila would start a second kernel: ``VoilaHandler.should_use_rendered_notebook`` is False
  until ``notebook_data`` is set).
- :func:`base_layout` keeps plotly's default look: its template equals plotly's bundled ``plotly``
  template in layout and in the defaults of the traces the dashboard draws.
- A dashboard kernel skips nbformat and kaleido; the Voila server (which reads notebooks with
  nbformat) does not.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from workbench.widgets.charts import TEMPLATE_TRACES, base_layout
from workbench.widgets.dashboard import wait_for_page
from workbench.widgets.serve import free_port
from workbench.widgets.voila_main import wait_for_pool

tornado_web = pytest.importorskip("tornado.web")
voila_request_info = pytest.importorskip("voila.request_info_handler")


class _VoilaQueryServer:
    """Voila's request-info websocket (``voila/query/<kernel id>``) on 127.0.0.1, on its own loop."""

    def __init__(self) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = tornado_web.Application([(r"/voila/query/(.*)", voila_request_info.RequestInfoSocketHandler)])
        self.server = app.listen(self.port, address="127.0.0.1")
        self.loop.call_soon(self.ready.set)
        self.loop.run_forever()

    def send(self, kernel_id: str, payload: dict[str, str]) -> None:
        """What Voila's page handler does when a page takes the kernel (``handler.py``)."""
        done = threading.Event()

        def send() -> None:
            voila_request_info.RequestInfoSocketHandler.send_updates({"kernel_id": kernel_id, "payload": payload})
            done.set()

        self.loop.call_soon_threadsafe(send)
        assert done.wait(10)

    def waiting(self, kernel_id: str) -> bool:
        return kernel_id in voila_request_info.RequestInfoSocketHandler._waiters

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def voila_query(monkeypatch):
    server = _VoilaQueryServer()
    monkeypatch.setenv("VOILA_APP_IP", "127.0.0.1")
    monkeypatch.setenv("VOILA_APP_PORT", str(server.port))
    monkeypatch.setenv("VOILA_SERVER_URL", "/")
    monkeypatch.delenv("VOILA_WS_BASE_URL", raising=False)
    monkeypatch.delenv("VOILA_WS_PROTOCOL", raising=False)
    yield server
    server.close()


def test_wait_for_page_returns_when_voila_hands_the_kernel_to_a_page(voila_query, monkeypatch):
    monkeypatch.setenv("VOILA_KERNEL_ID", "kernel-after")
    monkeypatch.delenv("QUERY_STRING", raising=False)
    finished = threading.Event()
    thread = threading.Thread(target=lambda: (wait_for_page(), finished.set()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not voila_query.waiting("kernel-after"):
        assert time.monotonic() < deadline, "wait_for_page never connected to voila/query/<kernel id>"
        time.sleep(0.02)
    assert not finished.wait(0.3)  # no page yet: still waiting
    voila_query.send("kernel-after", {"QUERY_STRING": "token=abc", "SERVER_NAME": "127.0.0.1"})
    assert finished.wait(10)
    assert os.environ["QUERY_STRING"] == "token=abc" and os.environ["SERVER_NAME"] == "127.0.0.1"


def test_wait_for_page_gets_a_request_that_came_before_it_asked(voila_query, monkeypatch):
    """Voila caches the request info of a kernel not yet listening and sends it on connection."""
    monkeypatch.setenv("VOILA_KERNEL_ID", "kernel-before")
    monkeypatch.delenv("SCRIPT_NAME", raising=False)
    voila_query.send("kernel-before", {"SCRIPT_NAME": "/"})
    wait_for_page()
    assert os.environ["SCRIPT_NAME"] == "/"


def test_wait_for_page_raises_when_the_server_is_gone(monkeypatch):
    monkeypatch.setenv("VOILA_APP_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setenv("VOILA_KERNEL_ID", "k")
    with pytest.raises(OSError):
        wait_for_page()


class _Manager:
    """The part of Voila's ``VoilaKernelManager`` that :func:`wait_for_pool` reads: ``_pools``, a
    notebook name -> list of tasks, each starting one kernel."""

    def __init__(self, pools: dict) -> None:
        self._pools = pools


def test_a_page_waits_for_the_pooled_kernel_that_is_still_starting():
    async def scenario() -> list[str]:
        order: list[str] = []

        async def start_kernel() -> dict:
            await asyncio.sleep(0.2)
            order.append("kernel started")
            return {"kernel_id": "k1"}

        pool = [asyncio.ensure_future(start_kernel())]
        await wait_for_pool(_Manager({"ops.ipynb": pool}))
        order.append("page served")
        assert pool[0].done() and len(pool) == 1  # waited for it, left it in the pool for Voila to take
        return order

    assert asyncio.run(scenario()) == ["kernel started", "page served"]


def test_a_page_does_not_wait_without_a_pool_or_for_a_kernel_that_never_starts():
    async def scenario() -> None:
        started = time.monotonic()
        await wait_for_pool(object())  # preheat off: Voila's plain kernel manager has no pools
        await wait_for_pool(_Manager({"ops.ipynb": []}))  # pool emptied by an earlier page
        assert time.monotonic() - started < 0.05
        stuck = asyncio.ensure_future(asyncio.sleep(3600))
        started = time.monotonic()
        await wait_for_pool(_Manager({"ops.ipynb": [stuck]}), timeout=0.2)
        assert 0.15 < time.monotonic() - started < 2 and not stuck.cancelled()  # gave up, left the task alone
        stuck.cancel()

    asyncio.run(scenario())


def test_base_layout_keeps_plotlys_default_look():
    """Reference: plotly's bundled default template (``pio.templates["plotly"]``)."""
    assert pio.templates.default == "plotly"
    reference = pio.templates["plotly"]
    template = go.Figure(layout=base_layout()).layout.template
    assert template.layout.to_plotly_json() == reference.layout.to_plotly_json()
    for kind in TEMPLATE_TRACES:
        assert [t.to_plotly_json() for t in template.data[kind]] == [t.to_plotly_json() for t in reference.data[kind]]
    assert not template.data.heatmap  # the trace types the dashboard does not draw are left out


def test_base_layout_leaves_a_users_own_default_template_alone(monkeypatch):
    pio.templates["wb-test-mine"] = go.layout.Template(layout={"paper_bgcolor": "#123456"})
    monkeypatch.setattr(pio.templates, "default", "wb-test-mine")
    assert base_layout() == {}
    assert go.Figure(layout=base_layout()).layout.template.layout.paper_bgcolor == "#123456"
    monkeypatch.setattr(pio.templates, "default", "plotly_white")
    assert go.Figure(layout=base_layout()).layout.template.layout.to_plotly_json() == \
        pio.templates["plotly_white"].layout.to_plotly_json()


def _imports(env: dict[str, str]) -> dict[str, bool]:
    code = ("import sys, workbench.widgets, plotly.graph_objs._figurewidget, json; "
            "print(json.dumps({m: sys.modules.get(m) is not None for m in ('nbformat', 'kaleido', 'rfc3987_syntax')}))")
    env = {k: v for k, v in os.environ.items() if k not in ("VOILA_KERNEL_ID", "WORKBENCH_DASHBOARD_KERNEL")} | env
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_dashboard_kernel_skips_nbformat_and_kaleido_but_its_server_does_not():
    kernel = _imports({"WORKBENCH_DASHBOARD_KERNEL": "1", "VOILA_KERNEL_ID": "k"})
    assert kernel == {"nbformat": False, "kaleido": False, "rfc3987_syntax": False}
    server = _imports({"WORKBENCH_DASHBOARD_KERNEL": "1"})
    assert server["nbformat"] is True and server["rfc3987_syntax"] is False
    import nbformat  # noqa: F401  (the server's own imports still work there)
