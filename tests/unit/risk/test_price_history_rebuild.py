"""A restarted session keeps the daily closing prices behind its VaR and correlation limits.

The price history samples every symbol's last price at each exchange close (``exchange_calendars``
XNYS) and the VaR limit needs ``min_observations`` daily returns before it judges anything. Before
this, a restart emptied it: a session that had run for months lost its VaR limit for weeks. Now each
sample is journaled (``ClosingPricesSampled``) and the rebuild replays them.

Hand-worked: SPY closes at 100, 102, 99.96 (+2%, -2%), ... on consecutive October 2013 sessions; the
restarted engine's returns equal the uninterrupted one's (numpy, from the closes by hand), and after
the restart both take the next close at the next session's 16:00 New York.
"""

from __future__ import annotations

import numpy as np
import pytest
from risk_helpers import make_engine, ny_ns, push_bar

from workbench.engine.reconcile import rebuild
from workbench.model import events as ev
from workbench.risk.history import PriceHistory

DAYS = ["2013-10-01", "2013-10-02", "2013-10-03", "2013-10-04", "2013-10-07", "2013-10-08"]


def _closes() -> list[float]:
    price, out = 100.0, []
    for i in range(len(DAYS)):
        out.append(price)
        price *= 1.02 if i % 2 == 0 else 0.98
    return out


def _run(engine, days: list[str], closes: list[float]) -> None:
    for day, close in zip(days, closes, strict=True):
        push_bar(engine, "SPY", close, ny_ns(f"{day} 15:59"))
        push_bar(engine, "SPY", close, ny_ns(f"{day} 16:00"))  # the session's last bar: sampled at the close
        push_bar(engine, "SPY", close, ny_ns(f"{day} 16:01"))  # (monitors run when the next timestamp arrives)


def test_the_closing_prices_are_journaled_and_restored_by_the_rebuild():
    closes = _closes()
    straight = make_engine(monitors=[PriceHistory(window=10)])
    _run(straight, DAYS[:4], closes[:4])
    sampled = [e for e in straight.events if type(e) is ev.ClosingPricesSampled]
    assert [e.prices["SPY"] for e in sampled] == pytest.approx(closes[:4])
    assert [e.ts_event for e in sampled] == [ny_ns(f"{d} 16:00") for d in DAYS[:4]]

    restarted = make_engine(monitors=[PriceHistory(window=10)])
    rebuild(restarted, list(straight.events))
    expected = np.diff(closes[:4]) / np.asarray(closes[:3])  # +2%, -2%, +2%
    for engine in (straight, restarted):
        assert engine.risk.monitors[0].returns(["SPY"])[:, 0] == pytest.approx(expected)

    for engine in (straight, restarted):  # both go on sampling at the next closes, as one
        _run(engine, DAYS[4:], closes[4:])
    expected = np.diff(closes) / np.asarray(closes[:-1])
    assert restarted.risk.monitors[0].returns(["SPY"])[:, 0] == pytest.approx(expected)
    assert list(restarted.risk.monitors[0].times) == list(straight.risk.monitors[0].times)


def test_without_the_journaled_samples_a_restart_starts_from_nothing():
    """What the restore prevents: the history of an engine rebuilt from the journal minus the samples."""
    straight = make_engine(monitors=[PriceHistory(window=10)])
    _run(straight, DAYS[:4], _closes()[:4])
    restarted = make_engine(monitors=[PriceHistory(window=10)])
    rebuild(restarted, [e for e in straight.events if type(e) is not ev.ClosingPricesSampled])
    assert restarted.risk.monitors[0].returns(["SPY"]).shape == (0, 1)


def test_the_samples_survive_the_journal(tmp_path):
    """Through the SQLite journal (the codec's round trip) into the rebuild of a new engine."""
    from workbench.persistence import Journal

    closes = _closes()
    with Journal(tmp_path / "j.sqlite") as journal:
        sid = journal.create_session("var", mode="paper", strategy="none")
        straight = make_engine(monitors=[PriceHistory(window=10)], event_sink=lambda e: journal.append(sid, e))
        _run(straight, DAYS[:4], closes[:4])
        read = list(journal.events(sid))
    assert [e.prices for e in read if type(e) is ev.ClosingPricesSampled] == [{"SPY": c} for c in closes[:4]]
    restarted = make_engine(monitors=[PriceHistory(window=10)])
    rebuild(restarted, read)
    assert restarted.risk.monitors[0].returns(["SPY"])[:, 0] == pytest.approx(np.diff(closes[:4]) / np.asarray(closes[:3]))
