"""Dashboard: session picking, in-place refresh, waiting for a journal, the refresh task."""

from __future__ import annotations

import asyncio

import pytest

from workbench.errors import JournalError
from workbench.persistence import Journal
from workbench.widgets import Dashboard
from workbench.widgets.testing import ScriptedSession


def test_dashboard_shows_the_newest_session_and_refreshes_in_place(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        older = ScriptedSession(journal, "a-older")
        older.trade("SPY", "BUY", 1, 100.0)
        newer = ScriptedSession(journal, "b-newer")
        newer.trade("SPY", "BUY", 7, 100.0)
        dash = Dashboard(journal)
        assert dash.session_id == "b-newer"
        assert [value for _, value in dash.picker.options] == ["b-newer", "a-older"]
        body = dash.body.children
        figure = dash.chart.figure
        newer.trade("SPY", "BUY", 3, 101.0)
        dash.refresh()
        assert dash.body.children == body and dash.chart.figure is figure
        assert "<td data-column='quantity' class='num'>10</td>" in dash.positions.table.value
        assert len(figure.data[0].y) == len(journal.equity("b-newer"))
        dash.select("a-older")
        assert "<td data-column='quantity' class='num'>1</td>" in dash.positions.table.value
        with pytest.raises(ValueError, match="nope"):
            dash.select("nope")
        dash.close()


def test_dashboard_waits_for_a_missing_journal_without_creating_it(tmp_path):
    path = tmp_path / "later.sqlite"
    dash = Dashboard(path)
    assert "does not exist yet" in dash.message.value
    assert not path.exists()
    with Journal(path) as journal:
        ScriptedSession(journal, "late").trade("SPY", "BUY", 2, 50.0)
        dash.refresh()
        assert dash.session_id == "late" and dash.message.value == ""
        dash.close()


def test_refresh_errors_are_shown_not_raised(tmp_path, monkeypatch):
    with Journal(tmp_path / "j.sqlite") as journal:
        ScriptedSession(journal, "s")
        dash = Dashboard(journal)

        def broken() -> None:
            raise JournalError("database is locked")

        monkeypatch.setattr(dash.view, "snapshot", broken)
        assert dash.refresh() is None
        assert "refresh failed: JournalError: database is locked" in dash.message.value
        monkeypatch.undo()
        assert dash.refresh() is not None and dash.message.value == ""
        dash.close()


def test_bad_intervals_are_refused(tmp_path):
    with pytest.raises(ValueError, match="interval"):
        Dashboard(tmp_path / "x.sqlite", interval=0.01)
    with pytest.raises(ValueError, match="poll"):
        Dashboard(tmp_path / "x.sqlite", poll=0.0)


async def test_start_refreshes_on_the_running_loop_and_new_events_come_fast(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        session = ScriptedSession(journal, "timer")
        dash = Dashboard(journal, interval=0.3, poll=0.05)
        count = dash.refresh_count
        task = dash.start()
        assert dash.start() is task and dash.running
        await asyncio.sleep(1.5)
        assert dash.refresh_count - count >= 3  # about one full refresh per interval (5 unloaded; slack for CI load)
        session.trade("SPY", "BUY", 4, 10.0)
        for _ in range(40):  # new events trigger a refresh within about one poll
            await asyncio.sleep(0.05)
            if "<td data-column='quantity' class='num'>4</td>" in dash.positions.table.value:
                break
        assert "<td data-column='quantity' class='num'>4</td>" in dash.positions.table.value
        dash.stop()
        await asyncio.sleep(0)
        assert not dash.running
        dash.close()


def test_refreshing_creates_no_widgets(tmp_path):
    from ipywidgets.widgets.widget import _instances

    with Journal(tmp_path / "j.sqlite") as journal:
        session = ScriptedSession(journal, "bounded")
        dash = Dashboard(journal)
        dash.refresh()
        count = len(_instances)
        for i in range(15):
            session.trade("SPY", "BUY" if i % 2 == 0 else "SELL", 10, 100.0 + i)
            dash.refresh()
        assert len(_instances) == count
        dash.close()
