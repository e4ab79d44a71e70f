"""The ops dashboard: every component on one page, refreshed in place on the kernel's event loop.

:class:`Dashboard` reads a journal (it never starts an engine, DESIGN rule 8): pick a session,
and :meth:`Dashboard.refresh` reads one :class:`~workbench.widgets.source.Snapshot` and hands it
to every component, which changes only widget values and figure data. :meth:`Dashboard.start`
schedules that refresh every ``interval`` seconds as an asyncio task on the running loop (the
Jupyter/Voila kernel's); no thread, no ``time.sleep``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from html import escape
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import sqlalchemy as sa

from workbench.persistence import Journal
from workbench.persistence.audit import integrity_warning
from workbench.persistence.database import mask_url, normalize_url
from workbench.widgets.charts import EquityChart
from workbench.widgets.controls import Controls, OrderTicket
from workbench.widgets.html import STYLE, HtmlPane
from workbench.widgets.memory import release_memory
from workbench.widgets.performance import Performance
from workbench.widgets.prices import PriceChart
from workbench.widgets.scans import ScanPanel
from workbench.widgets.serve import DEFAULT_JOURNAL_PATH, JOURNAL_ENV
from workbench.widgets.sessions import session_rows, sessions_html
from workbench.widgets.shadow import ShadowPanel
from workbench.widgets.source import JournalView, Snapshot
from workbench.widgets.state import StateBanner
from workbench.widgets.status import Overview, RiskStatus, SystemHealth
from workbench.widgets.tables import AlertsList, Blotter, LogView, PositionsTable, SignalsTable

__all__ = ["DEFAULT_JOURNAL_PATH", "JOURNAL_ENV", "Dashboard", "default_journal_url"]

log = logging.getLogger(__name__)

PREHEAT_ENV = "VOILA_PREHEAT"
"""Set to ``"True"`` by Voila in the kernels of its preheated pool (started before any page asks)."""


def wait_for_page() -> None:
    """Block until Voila hands this preheated kernel to a page, then put the page's request info
    (``QUERY_STRING``, ``SERVER_NAME``, ...) into ``os.environ``.

    The protocol of ``voila.utils.wait_for_request`` (Voila 0.5): a websocket to the Voila server's
    ``voila/query/<kernel id>`` that receives one JSON message when a page takes the kernel. Done
    with ``websockets`` directly because importing ``voila.utils`` imports Jupyter Server (~1.2 s
    of CPU, on the kernel's first render, and ~30 MB in every dashboard kernel).

    Raises
    ------
    OSError, websockets.exceptions.WebSocketException
        The Voila server cannot be reached (the caller keeps the session shown then).
    """
    from websockets.sync.client import connect

    env = os.environ
    base = env.get("VOILA_WS_BASE_URL") or env.get("VOILA_SERVER_URL") or "/"
    url = (f"{env.get('VOILA_WS_PROTOCOL', 'ws')}://{env.get('VOILA_APP_IP', '127.0.0.1')}:"
           f"{env.get('VOILA_APP_PORT', '8866')}{base}voila/query/{env.get('VOILA_KERNEL_ID', '')}")
    with connect(url, open_timeout=5, max_size=2**20) as websocket:
        message = websocket.recv()
    for key, value in json.loads(message).items():
        os.environ[key] = str(value)


def default_journal_url() -> str:
    """The journal URL from ``$WORKBENCH_JOURNAL``, else :data:`DEFAULT_JOURNAL_PATH` (as a URL)."""
    return normalize_url(os.environ.get(JOURNAL_ENV) or DEFAULT_JOURNAL_PATH)


def _missing_sqlite_file(url: str) -> Path | None:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


class Dashboard(widgets.VBox):
    """The ops cockpit on one page: state banner, overview cards, equity chart and positions on the
    first screen; then controls, price chart, orders and fills, risk limits, performance (round
    trips, daily P&L, per symbol), alerts, system health, signals, order ticket, event log, and
    the session list (pick one; a finished session opens as a post-mortem with the same panels).

    Parameters
    ----------
    journal : Journal | str | os.PathLike, optional
        The journal or its URL/path; default :func:`default_journal_url`. A SQLite file that does
        not exist yet is waited for (the dashboard says so and retries at every refresh) rather
        than created.
    session_id : str, optional
        Session shown first; default the newest session.
    live : object, optional
        A running paper/live session object in this kernel (see :class:`JournalView`).
    interval : float
        Seconds between full refreshes once :meth:`start` is called (at least 0.1).
    poll : float
        Seconds between cheap checks of the session's ``last_seq`` (at least 0.05); a new event
        triggers a refresh at once, so a fill shows up within about ``poll`` seconds plus one refresh.

    In a kernel of Voila's preheated pool (``$VOILA_PREHEAT`` is ``"True"``: the notebook ran before
    any page asked for it) and without ``session_id``, the dashboard follows the newest session
    until a page takes the kernel (:func:`wait_for_page`, on a daemon thread), so the page opens on
    the newest session at the time it is opened, as a kernel started for the page would.
    """

    def __init__(self, journal: Journal | str | os.PathLike[str] | None = None, session_id: str | None = None, *,
                 live: Any = None, interval: float = 1.0, poll: float = 0.2) -> None:
        self._task: asyncio.Task[None] | None = None
        if interval < 0.1:
            raise ValueError(f"interval must be at least 0.1 s, got {interval!r}")
        if poll < 0.05:
            raise ValueError(f"poll must be at least 0.05 s, got {poll!r}")
        self.interval = float(interval)
        self.url = journal.url if isinstance(journal, Journal) else normalize_url(journal or default_journal_url())
        self._journal = journal if isinstance(journal, Journal) else None
        self._integrity = ""  # a warning shown while the journal fails SQLite's quick check
        self._wanted = session_id
        self._live = live
        self._session_ids: tuple[str, ...] = ()
        self.refresh_count = 0
        self.poll = float(poll)
        self._shown_seq = -1
        self._shown_session: str | None = None
        self.sessions_every = 2.0
        self.release_every = 30.0  # seconds between returns of freed memory to the OS (release_memory)
        self.session_limit = 20
        self._labels: tuple = ()
        self._deferred_due = False
        self._sessions_read = -1e9
        self._refreshing = False
        self.last_refresh_seconds = 0.0
        self.page_opened = threading.Event()  # set: stop following the newest session (see the class doc)
        self._follow_once = False  # the page just opened: one last look for a newer session
        if session_id is None and os.environ.get(PREHEAT_ENV) == "True":
            threading.Thread(target=self._await_page, name="wb-await-page", daemon=True).start()
        else:
            self.page_opened.set()
        self.picker = widgets.Dropdown(options=[], description="session", layout=widgets.Layout(width="520px"))
        self.picker.add_class("wb-session-picker")
        self.picker.observe(self._on_pick, names="value")
        self.clock = widgets.HTML("", layout=widgets.Layout(margin="0 0 0 12px"))
        self.message = widgets.HTML("")
        self.session_list = HtmlPane()
        self.view: JournalView | None = None
        self.components: list[Any] = []
        self.body = widgets.VBox([])
        super().__init__([widgets.HTML(STYLE), widgets.HBox([self.picker, self.clock]), self.message, self.body])
        self.add_class("wb-dashboard")
        self.refresh()

    # ------------------------------------------------------------------------------ layout
    def _build(self, view: JournalView) -> None:
        self.banner = StateBanner(view)
        self.overview = Overview(view)
        self.chart = EquityChart(view, width=660)
        self.positions = PositionsTable(view)
        self.blotter = Blotter(view)
        self.signals = SignalsTable(view)
        self.risk = RiskStatus(view)
        self.alerts = AlertsList(view)
        self.health = SystemHealth(view)
        self.log_view = LogView(view)
        self.controls = Controls(view)
        self.ticket = OrderTicket(view)
        self.prices = PriceChart(view, width=660)
        self.performance = Performance(view)
        self.scans = ScanPanel(view)
        self.shadow = ShadowPanel(view)  # shown only for a graduated live session or its paper shadow
        self.components = [self.banner, self.overview, self.chart, self.positions, self.blotter, self.signals,
                           self.risk, self.alerts, self.health, self.log_view, self.controls, self.ticket,
                           self.prices, self.performance, self.scans, self.shadow]

        def half(*children: Any) -> widgets.Box:
            return widgets.VBox(list(children), layout=widgets.Layout(width="50%", padding="0 8px 0 0"))

        self.body.children = (
            self.banner,
            self.overview,
            self.shadow,
            widgets.HBox([half(self.chart), half(self.positions, self.controls)]),
            widgets.HBox([half(self.prices), half(self.risk)]),
            self.blotter,
            self.performance,
            widgets.HBox([half(self.health), half(self.alerts)]),
            widgets.HBox([half(self.signals), half(self.ticket)]),
            self.scans,
            self.log_view,
            widgets.HTML("<div class='wb-title'>Sessions</div>"),
            self.session_list,
        )

    def _open(self) -> JournalView | None:
        if self.view is not None:
            return self.view
        if self._journal is None:
            missing = _missing_sqlite_file(self.url)
            if missing is not None:
                self.message.value = (f"<span class='wb-warn'>journal {escape(str(missing))} does not exist yet; "
                                      "start a session (e.g. <code>workbench paper</code>) and this page will "
                                      "pick it up.</span>")
                return None
            self._journal = Journal(self.url)
        self._integrity = integrity_warning(self._journal)
        self.view = JournalView(self._journal, live=self._live)
        self._build(self.view)
        return self.view

    # ------------------------------------------------------------------------------ sessions
    def _await_page(self) -> None:
        try:
            wait_for_page()
            self._follow_once = True
        except Exception:  # no Voila to ask: keep the session shown now
            log.debug("waiting for the page failed", exc_info=True)
        finally:
            self.page_opened.set()

    def _sync_sessions(self, view: JournalView) -> None:
        frame = session_rows(view.journal, limit=self.session_limit)
        ids = tuple(frame["session_id"]) if len(frame) else ()
        labels = tuple((f"{r.session_id}  [{r.mode}, {r.state}]", r.session_id) for r in frame.itertuples())
        if labels != self._labels:  # ids, or a session's state, changed
            self._labels = labels
            self._session_ids = ids
            current = self.picker.value
            wanted = self._wanted if self._wanted in ids else (current if current in ids else (ids[0] if ids else None))
            if self._wanted is None and ids and (self._follow_once or not self.page_opened.is_set()):
                wanted = ids[0]  # a preheated kernel before its page: the newest session
            self._refreshing, was = True, self._refreshing
            try:
                self.picker.options = labels
                self.picker.value = wanted
            finally:
                self._refreshing = was
            if wanted != current and self.view is not None:
                self.view.session_id = wanted
        self.session_list.show(sessions_html(frame, self.picker.value))
        if not ids:
            self.message.value = "<span class='wb-warn'>the journal has no session yet</span>"

    def _on_pick(self, change: dict[str, Any]) -> None:
        if self.view is None or change["new"] == self.view.session_id:
            return
        self.view.session_id = change["new"]
        if not self._refreshing:  # a pick on the page (the dashboard's own changes happen while refreshing)
            self._wanted = change["new"]
            self.refresh()

    @property
    def session_id(self) -> str | None:
        """The session shown."""
        return None if self.view is None else self.view.session_id

    def select(self, session_id: str) -> None:
        """Show ``session_id`` (ValueError if the journal has no such session)."""
        view = self._open()
        if view is None:
            raise ValueError(f"journal {self.url} does not exist yet")
        self._sync_sessions(view)
        if session_id not in self._session_ids:
            raise ValueError(f"session_id {session_id!r} is not in journal {mask_url(self.url)}")
        self._wanted = session_id
        self.picker.value = session_id
        if self.view.session_id != session_id:
            self.view.session_id = session_id
            self.refresh()

    # ------------------------------------------------------------------------------ refresh
    def refresh(self) -> Snapshot | None:
        """Read the journal once and update every component in place; return the snapshot.

        Errors (database busy, a session deleted, ...) are shown on the page, logged, and do not
        stop later refreshes.
        """
        started = time.perf_counter()
        snap = None
        self._refreshing = True
        try:
            view = self._open()
            if view is None:
                return None
            follow_once = self._follow_once and self.page_opened.is_set()
            if time.monotonic() - self._sessions_read >= self.sessions_every or view.session_id is None or follow_once:
                self._sync_sessions(view)
                self._sessions_read = time.monotonic()
                if follow_once:
                    self._follow_once = False
            if self.picker.value is not None and view.session_id != self.picker.value:
                view.session_id = self.picker.value
            if view.session_id is None:
                return None
            snap = view.snapshot()
            self._shown_seq = snap.health.last_seq
            everything = snap.changed or self.view.live is not None or self._shown_session != snap.session_id
            self._shown_session = snap.session_id
            first = self.refresh_count == 0
            for component in self.components:
                if getattr(component, "deferred", False):
                    if first:  # the page shows without it; the next refresh (the timer's) draws it
                        self._deferred_due = True
                        continue
                    if self._deferred_due:
                        component.update(snap)
                        continue
                if everything or component.volatile:
                    component.update(snap)
            if not first:
                self._deferred_due = False
            if self.message.value != self._integrity:
                self.message.value = self._integrity  # empty unless the file fails SQLite's quick check
        except Exception as exc:  # keep the page alive; show what went wrong
            log.exception("dashboard refresh failed")
            self.message.value = f"<span class='wb-bad'>refresh failed: {escape(type(exc).__name__)}: " \
                                  f"{escape(str(exc))}</span>"
        finally:
            self._refreshing = False
            self.refresh_count += 1
            self.last_refresh_seconds = time.perf_counter() - started
        stamp = snap.ts_taken.strftime("%H:%M:%S UTC") if snap is not None else ""
        self.clock.value = f"<span class='wb-clock'>updated {stamp}</span>"
        return snap

    # ------------------------------------------------------------------------------ timer
    def start(self, interval: float | None = None) -> asyncio.Task[None]:
        """Refresh every ``interval`` seconds (default :attr:`interval`) in a task on the running loop.

        Call from a notebook cell (the kernel's loop is running). Idempotent while running.

        Raises
        ------
        RuntimeError
            No event loop is available in this thread.
        """
        if interval is not None:
            if interval < 0.1:
                raise ValueError(f"interval must be at least 0.1 s, got {interval!r}")
            self.interval = float(interval)
        if self._task is not None and not self._task.done():
            return self._task
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        self._task = loop.create_task(self._run())
        return self._task

    async def _run(self) -> None:
        last_full = last_trim = time.monotonic()
        while True:
            await asyncio.sleep(min(self.poll, self.interval))
            due = time.monotonic() - last_full >= self.interval
            if due or self._journal_moved():
                self.refresh()
                last_full = time.monotonic()
            if last_full - last_trim >= self.release_every:  # keeps the kernel's memory flat (widgets/memory.py)
                release_memory()
                last_trim = last_full

    def _journal_moved(self) -> bool:
        """True when the shown session has events the page has not shown yet (one indexed query)."""
        view = self.view
        if view is None or view.session_id is None:
            return False
        try:
            return view.journal.last_seq(view.session_id) != self._shown_seq
        except Exception:  # the next full refresh reports it
            return True

    def stop(self) -> None:
        """Stop the periodic refresh (the page keeps its last values)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def close(self) -> None:
        """Stop refreshing and close the widgets."""
        self.stop()
        with contextlib.suppress(Exception):
            super().close()
