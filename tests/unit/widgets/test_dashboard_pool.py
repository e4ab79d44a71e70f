"""Dashboard start-up (issue 13, render time): a dashboard in a kernel of Voila's preheated pool
(its environment has ``VOILA_PREHEAT=True``: ``voila/voila_kernel_manager.py``) and the fast CLI path.
The reaper's handling of the pool is tested in ``test_cockpit.py``."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from workbench.persistence import Journal
from workbench.widgets import dashboard as dashboard_module
from workbench.widgets.dashboard import Dashboard
from workbench.widgets.testing import ScriptedSession


def _wait(event: threading.Event, seconds: float = 10.0) -> None:
    assert event.wait(seconds), "the page-opened event was not set"


def test_a_preheated_dashboard_follows_the_newest_session_until_its_page_opens(tmp_path, monkeypatch):
    """A preheated kernel runs the notebook before anyone asks; the page must still open on the newest
    session at the time it is opened (what a kernel started for the page shows), then keep it."""
    released = threading.Event()
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.setattr(dashboard_module, "wait_for_page", lambda: released.wait(30))
    with Journal(tmp_path / "j.sqlite") as journal:
        ScriptedSession(journal, "s1").trade("SPY", "BUY", 1, 100.0)
        dash = Dashboard(journal)
        dash.sessions_every = 0.0
        assert dash.session_id == "s1"
        time.sleep(0.01)  # sessions are ordered by their start time
        ScriptedSession(journal, "s2").trade("SPY", "BUY", 2, 100.0)
        dash.refresh()
        assert dash.session_id == "s2" and dash.picker.value == "s2"
        assert "<td data-column='quantity' class='num'>2</td>" in dash.positions.table.value
        released.set()  # Voila hands the kernel to a page
        _wait(dash.page_opened)
        time.sleep(0.01)
        ScriptedSession(journal, "s3").trade("SPY", "BUY", 3, 100.0)
        dash.refresh()
        assert dash.session_id == "s2"  # the open page keeps its session
        assert "s3" in [value for _, value in dash.picker.options]
        dash.close()


def test_a_dashboard_for_a_page_or_with_a_session_never_follows(tmp_path, monkeypatch):
    monkeypatch.setattr(dashboard_module, "wait_for_page", lambda: (_ for _ in ()).throw(AssertionError("waited")))
    with Journal(tmp_path / "j.sqlite") as journal:
        ScriptedSession(journal, "s1").trade("SPY", "BUY", 1, 100.0)
        monkeypatch.delenv("VOILA_PREHEAT", raising=False)
        plain = Dashboard(journal)  # a kernel started for its page
        monkeypatch.setenv("VOILA_PREHEAT", "True")
        pinned = Dashboard(journal, "s1")  # preheated, but a session was asked for
        assert plain.page_opened.is_set() and pinned.page_opened.is_set()
        time.sleep(0.01)
        ScriptedSession(journal, "s2").trade("SPY", "BUY", 2, 100.0)
        for dash in (plain, pinned):
            dash.sessions_every = 0.0
            dash.refresh()
            assert dash.session_id == "s1"
            dash.close()


def test_a_failed_wait_for_the_page_stops_following(tmp_path, monkeypatch):
    def broken() -> None:
        raise OSError("no Voila server")

    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.setattr(dashboard_module, "wait_for_page", broken)
    with Journal(tmp_path / "j.sqlite") as journal:
        ScriptedSession(journal, "s1").trade("SPY", "BUY", 1, 100.0)
        dash = Dashboard(journal)
        _wait(dash.page_opened)
        dash.close()


_FAST_PATH = """
import sys
from workbench.cli import main
code = main(["dashboard", "--port", "70000"])
heavy = sorted(m for m in ("workbench.engine", "workbench.research", "scipy", "pandas", "voila")
               if m in sys.modules)
print(code, heavy)
"""


def test_workbench_dashboard_starts_without_the_other_subcommands_imports():
    """``workbench dashboard`` parses its own options without building the whole CLI (which imports
    the engine, research and scipy: ~1.5 s before Voila even starts); bad input still exits 2."""
    done = subprocess.run([sys.executable, "-c", _FAST_PATH], capture_output=True, text=True, timeout=120)
    assert done.stdout.split("\n")[0] == "2 []", done.stdout + done.stderr
    assert "port must be in 1..65535, got 70000" in done.stderr and "Traceback" not in done.stderr
