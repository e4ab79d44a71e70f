"""Dashboard start-up and long runs (issue 13: render time, kernel memory): a dashboard in a kernel of
Voila's preheated pool (its environment has ``VOILA_PREHEAT=True``: ``voila/voila_kernel_manager.py``),
the fast CLI path, and returning freed memory to the OS. The reaper's handling of the pool is tested
in ``test_cockpit.py``."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import itertools
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from workbench.persistence import Journal
from workbench.widgets import dashboard as dashboard_module
from workbench.widgets import serve
from workbench.widgets.dashboard import Dashboard
from workbench.widgets.memory import release_memory
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
        dash.sessions_every = 3600.0  # no periodic look at the sessions from here on
        time.sleep(0.01)
        ScriptedSession(journal, "s2b").trade("SPY", "BUY", 2, 100.0)  # started just before the page opens
        released.set()  # Voila hands the kernel to a page
        _wait(dash.page_opened)
        dash.refresh()
        assert dash.session_id == "s2b"  # one last look when the page opens
        dash.sessions_every = 0.0
        time.sleep(0.01)
        ScriptedSession(journal, "s3").trade("SPY", "BUY", 3, 100.0)
        dash.refresh()
        assert dash.session_id == "s2b"  # the open page keeps its session
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


# ---------------------------------------------------------------------------------------- memory
def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc (Linux) only")
def test_release_memory_returns_freed_heap_to_the_os():
    """glibc keeps freed small chunks in its heap (RSS stays up) until ``malloc_trim`` returns the
    free pages (glibc manual, "Memory Allocation Tunables"; ``man malloc_trim``). Independent
    measure: the kernel's resident size in ``/proc/self/status``."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: no automatic trim by free() in this test
    chunks = [libc.malloc(16_000) for _ in range(6_000)]  # ~96 MB of small (heap, not mmap) chunks
    for chunk in chunks:
        ctypes.memset(chunk, 1, 16_000)
    keep = chunks[-1]
    for chunk in chunks[:-1]:
        libc.free(chunk)
    held = _rss_mb()
    assert release_memory() is True
    released = held - _rss_mb()
    libc.free(keep)
    assert released > 60, f"only {released:.1f} MB returned"


async def test_the_refresh_task_releases_memory_every_release_every_seconds(tmp_path, monkeypatch):
    calls: list[float] = []
    monkeypatch.setattr(dashboard_module, "release_memory", lambda: calls.append(time.monotonic()) or True)
    with Journal(tmp_path / "j.sqlite") as journal:
        ScriptedSession(journal, "s1").trade("SPY", "BUY", 1, 100.0)
        dash = Dashboard(journal, interval=0.1, poll=0.05)
        dash.release_every = 0.3
        dash.start()
        for _ in range(200):
            await asyncio.sleep(0.05)
            if len(calls) >= 3:
                break
        dash.close()
    assert len(calls) >= 3 and min(b - a for a, b in itertools.pairwise(calls)) >= 0.25


def test_dashboard_kernels_get_at_most_two_malloc_arenas(monkeypatch, tmp_path):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert serve.prepare_dashboard(tmp_path / "j.sqlite").env["MALLOC_ARENA_MAX"] == "2"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")  # the user's own setting wins
    assert serve.prepare_dashboard(tmp_path / "j.sqlite").env["MALLOC_ARENA_MAX"] == "8"


def test_dashboard_processes_use_arrows_system_pool(monkeypatch, tmp_path):
    """Arrow reads ``ARROW_DEFAULT_MEMORY_POOL`` when it loads (Arrow's documented variable): in a
    process started with the dashboard's environment its default pool is glibc's (``system``)."""
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    env = serve.prepare_dashboard(tmp_path / "j.sqlite").env
    assert env["ARROW_DEFAULT_MEMORY_POOL"] == "system"
    out = subprocess.run([sys.executable, "-c", "import pyarrow; print(pyarrow.default_memory_pool().backend_name)"],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "system"
    assert release_memory() in (True, False)  # with pyarrow loaded here too: no error


def test_equity_read_incrementally_equals_a_full_read(tmp_path, monkeypatch):
    """The snapshot appends only the account snapshots journaled since the last one shown; the result
    must equal the journal's own newest-``limit`` read (``Journal.equity``), rows, values and dtypes."""
    import pandas as pd

    from workbench.widgets import source

    monkeypatch.setitem(source.ROW_LIMITS, "equity", 7)
    with Journal(tmp_path / "j.sqlite") as journal:
        session = ScriptedSession(journal, "s1")
        view = source.JournalView(journal, "s1")
        view.snapshot()  # nothing yet
        for step in range(6):
            for i in range(step + 1):
                session.trade("SPY", "BUY" if i % 2 == 0 else "SELL", 10, 100.0 + step + i / 10)
            got = view.snapshot().equity
            pd.testing.assert_frame_equal(got, journal.equity("s1", limit=7))
        assert len(got) == 7
