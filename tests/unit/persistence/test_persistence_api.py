"""The public API of workbench.persistence."""

from __future__ import annotations

import inspect

import workbench.persistence as persistence
from workbench.model import events as ev
from workbench.persistence import Journal


def test_exports_resolve() -> None:
    assert persistence.__all__ == sorted(persistence.__all__, key=lambda name: (not name.isupper(), name))
    for name in persistence.__all__:
        assert getattr(persistence, name) is not None, name


def test_journal_methods_have_docstrings() -> None:
    public = [name for name, _ in inspect.getmembers(Journal, inspect.isfunction) if not name.startswith("_")]
    assert {"append", "append_many", "events", "verify", "submit_command", "acquire_session"} <= set(public)
    assert [name for name in public if not inspect.getdoc(getattr(Journal, name))] == []


def test_in_memory_journal_for_quick_experiments() -> None:
    with Journal("sqlite://") as journal:
        sid = journal.create_session(mode="backtest")
        journal.append(sid, ev.OrderSubmitted(ts_event=1, order_id="o", symbol="SPY"))
        assert journal.verify(sid) == 1
