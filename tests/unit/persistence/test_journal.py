"""Journal append/read on SQLite and on a real PostgreSQL server (see conftest.py)."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from workbench.errors import JournalError
from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderType, TradingState
from workbench.persistence import Journal
from workbench.persistence import schema as t
from workbench.persistence.serde import EventCodec


def _submitted(ts: int, order_id: str = "o-1") -> ev.OrderSubmitted:
    return ev.OrderSubmitted(ts_event=ts, order_id=order_id, symbol="SPY")


def test_every_event_type_round_trips_through_the_journal(journal: Journal, every_event: list[ev.Event]) -> None:
    single = journal.create_session("single", mode="paper", strategy="sma", parameters={"fast": 10, "slow": 30.5})
    batch = journal.create_session("batch", mode="backtest")
    seqs = [journal.append(single, event) for event in every_event]
    assert seqs == list(range(1, len(every_event) + 1))
    assert journal.append_many(batch, every_event) == range(1, len(every_event) + 1)
    for session_id in (single, batch):
        assert list(journal.events(session_id)) == every_event
        assert journal.last_seq(session_id) == len(every_event)
        assert journal.verify(session_id) == len(every_event)


def test_non_finite_values_survive_the_database(journal: Journal) -> None:
    sid = journal.create_session(mode="paper")
    event = ev.AccountState(ts_event=3, cash=math.nan, equity=math.inf, gross_exposure=-math.inf, net_exposure=-0.0)
    journal.append(sid, event)
    (back,) = journal.events(sid)
    assert back == event and math.copysign(1.0, back.net_exposure) == -1.0


def test_read_filters_by_seq_and_type(journal: Journal) -> None:
    sid = journal.create_session(mode="paper")
    stream = [_submitted(1), ev.OrderAccepted(ts_event=2, order_id="o-1", symbol="SPY"), _submitted(3, "o-2")]
    journal.append_many(sid, stream)
    assert list(journal.events(sid, after_seq=1)) == stream[1:]
    assert list(journal.events(sid, types=[ev.OrderSubmitted])) == [stream[0], stream[2]]
    assert list(journal.records(sid, types=["OrderAccepted"])) == [(2, stream[1])]
    assert list(journal.events(sid, after_seq=3)) == []


def test_sessions_are_isolated_and_listed(journal: Journal) -> None:
    a = journal.create_session("a", mode="paper", name="first")
    b = journal.create_session("b", mode="live", name="second")
    journal.append(a, _submitted(1))
    journal.append_many(b, [_submitted(1), _submitted(2)])
    journal.append(a, _submitted(3))
    assert journal.last_seq(a) == 2 and journal.last_seq(b) == 2
    frame = journal.sessions().set_index("session_id")
    assert frame.loc["a", "name"] == "first" and frame.loc["b", "mode"] == "live"
    assert frame.loc["a", "last_seq"] == 2
    assert str(frame["ts_created"].dtype) == "datetime64[ns, UTC]"


def test_session_lifecycle_events_update_the_sessions_row(journal: Journal) -> None:
    sid = journal.create_session(mode="paper", strategy="sma")
    assert journal.session(sid)["status"] == "created"
    journal.append(sid, ev.SessionStarted(ts_event=100, session_id=sid, mode="paper"))
    assert journal.session(sid)["status"] == "running" and journal.session(sid)["ts_started"] == 100
    journal.append(sid, ev.SessionStopped(ts_event=200, session_id=sid, reason="done"))
    journal.append(sid, ev.SessionStarted(ts_event=300, session_id=sid, mode="paper", resumed=True))
    row = journal.session(sid)
    assert (row["status"], row["ts_started"], row["ts_stopped"]) == ("running", 100, None)


def test_duplicate_and_unknown_sessions(journal: Journal) -> None:
    journal.create_session("s1", mode="paper")
    with pytest.raises(JournalError, match="session 's1' already exists"):
        journal.create_session("s1", mode="paper")
    with pytest.raises(JournalError, match="unknown session 'nope'"):
        journal.append("nope", _submitted(1))
    with pytest.raises(JournalError, match="unknown session 'nope'"):
        journal.last_seq("nope")
    with pytest.raises(ValueError, match=r"mode must be one of .* got 'dream'"):
        journal.create_session(mode="dream")


def test_bad_event_writes_nothing_and_batches_are_atomic(journal: Journal) -> None:
    sid = journal.create_session(mode="paper")
    journal.append(sid, _submitted(1))
    bad = ev.OrderCanceled(ts_event=2, order_id="o-1", symbol=None)  # type: ignore[arg-type]
    with pytest.raises(JournalError, match=r"OrderCanceled\.symbol"):
        journal.append_many(sid, [_submitted(2), bad])
    with pytest.raises(JournalError, match="not an Event"):
        journal.append(sid, "OrderFilled")  # type: ignore[arg-type]
    init = ev.OrderInitialized(ts_event=3, order_id="dup", symbol="SPY", side=OrderSide.BUY,
                               order_type=OrderType.MARKET, quantity=1.0)
    journal.append(sid, init)
    with pytest.raises(JournalError, match="projection rejected"):  # database-level failure rolls back the batch
        journal.append_many(sid, [_submitted(4), init])
    assert journal.last_seq(sid) == 2
    assert [type(e).__name__ for e in journal.events(sid)] == ["OrderSubmitted", "OrderInitialized"]
    assert journal.verify(sid) == 2
    assert journal.append_many(sid, []) == range(3, 3)


def test_events_table_columns(journal: Journal) -> None:
    sid = journal.create_session(mode="paper")
    journal.append(sid, ev.TradingStateChanged(ts_event=77, state=TradingState.HALTED, reason="kill"))
    with journal.engine.connect() as conn:
        row = conn.execute(sa.select(t.events)).mappings().one()
    assert (row["seq"], row["ts_event"], row["type"], row["version"]) == (1, 77, "TradingStateChanged", 1)
    assert len(row["checksum"]) == 64 and row["ts_written"] > 1_600_000_000 * 10**9


def test_reading_uses_the_journal_codec_upcasters(journal_url: str) -> None:
    with Journal(journal_url) as old:
        sid = old.create_session(mode="paper")
        old.append(sid, ev.OrderCanceled(ts_event=1, order_id="o", symbol="SPY", reason="user"))
    codec = EventCodec(versions={"OrderCanceled": 2})
    codec.register_upcaster("OrderCanceled", 1, lambda p: {**p, "reason": p["reason"].upper()})
    with Journal(journal_url, codec=codec) as new:
        assert [e.reason for e in new.events(sid)] == ["USER"]


def test_many_events_page_through(tmp_path) -> None:
    with Journal(tmp_path / "big.db", synchronous="NORMAL") as journal:
        sid = journal.create_session(mode="backtest")
        stream = [_submitted(i, f"o-{i}") for i in range(5001)]
        journal.append_many(sid, stream)
        assert [e.ts_event for e in journal.events(sid, after_seq=10)] == list(range(10, 5001))
        assert journal.verify(sid) == 5001


def test_checkpoint_state_is_committed_with_the_events(journal: Journal) -> None:
    sid = journal.create_session(mode="paper")
    assert journal.load_state(sid) is None
    journal.append_many(sid, [_submitted(1), _submitted(2)], state={"bar_index": 2, "next_order": 7})
    assert journal.load_state(sid) == {"bar_index": 2, "next_order": 7, "last_seq": 2}
    bad = ev.OrderCanceled(ts_event=3, order_id="o", symbol=None)  # type: ignore[arg-type]
    with pytest.raises(JournalError):
        journal.append_many(sid, [_submitted(3), bad], state={"bar_index": 3})
    assert journal.load_state(sid)["bar_index"] == 2  # the failed batch left the checkpoint alone
    journal.append_many(sid, [], state={"bar_index": 4})
    assert journal.load_state(sid) == {"bar_index": 4, "last_seq": 2}
    with pytest.raises(JournalError, match="not JSON-able"):
        journal.append_many(sid, [_submitted(5)], state={"when": object()})
    assert journal.last_seq(sid) == 2
