"""Issue 9, item 13: an alert leaves the process only after the journal has committed the event it reports.

Expected behaviour and its source: DESIGN.md rule 4 ("every non-market-data event is appended before
its effects are acknowledged to the outside") implemented as a transactional outbox (C. Richardson,
*Microservices Patterns*, ch. 3: messages are sent only once the transaction that produced them
has committed). Before, ``AlertManager.raise_alert`` called the sinks inside ``record()``, while the
event sat uncommitted in the writer's buffer: a crash right after could lose the journaled event
that a webhook had already announced.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from workbench.alerts import Alert, AlertManager
from workbench.engine.backtest import build_engine
from workbench.engine.live import JournalWriter
from workbench.model import events as ev
from workbench.model.enums import TradingState
from workbench.persistence import Journal


class JournalCheckingSink:
    """At each delivery, reads the journal (a second connection, as the dashboard would) for the alert."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session_id = ""
        self.seen: list[tuple[str, bool]] = []

    def accepts(self, alert: Alert) -> bool:
        return True

    def send(self, alert: Alert) -> None:
        with Journal(self.url) as journal:
            committed = any(e.title == alert.title for e in journal.events(self.session_id, types=[ev.AlertRaised]))
        self.seen.append((alert.title, committed))


def test_alerts_wait_in_the_outbox_until_the_writer_commits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    journal = Journal(url)
    sid = journal.create_session(mode="paper")
    sink = JournalCheckingSink(url)
    sink.session_id = sid
    eng = build_engine([])
    manager = AlertManager([sink]).attach(eng)
    writer = JournalWriter(journal, sid, eng.after_commit)
    eng.event_sink, eng.defer_delivery = writer, True
    eng.kill_switch("operator")
    assert sink.seen == [] and [a.title for a in manager.outbox] == ["Trading state HALTED"]
    writer.commit()
    assert sink.seen == [("Trading state HALTED", True)] and not manager.outbox
    journal.close()


def test_a_backtest_delivers_at_once() -> None:
    delivered: list[str] = []

    class Sink:
        def accepts(self, alert: Alert) -> bool:
            return True

        def send(self, alert: Alert) -> None:
            delivered.append(alert.title)

    eng = build_engine([])
    AlertManager([Sink()]).attach(eng)
    eng.set_trading_state(TradingState.REDUCE_ONLY, "test")
    assert delivered == ["Trading state REDUCE_ONLY"]


async def test_a_paper_session_delivers_only_committed_alerts(tmp_path: Path) -> None:
    from workbench.feeds.replay import regular_hours
    from workbench.feeds.samples import load_demo_spy
    from workbench.session import paper_session

    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    bars, quotes = (regular_hours(f).iloc[:60] for f in load_demo_spy())
    session = paper_session("sma_crossover", params={"fast": 3, "slow": 8}, data=(bars, quotes), speed=3600.0,
                            journal=url)
    sink = JournalCheckingSink(url)
    sink.session_id = session.session_id
    AlertManager([sink], dedupe_seconds=0).attach(session.engine)
    session.start()
    while not any(t.startswith("Filled") for t, _ in sink.seen) and not session.runner.done:
        await asyncio.sleep(0.001)
    session.kill("test")
    await session
    titles = [t for t, _ in sink.seen]
    assert "Trading state HALTED" in titles and any(t.startswith("Filled") for t in titles)
    assert all(committed for _, committed in sink.seen), sink.seen
