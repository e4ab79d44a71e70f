"""Fixtures for the widget tests: an in-memory journal with a hand-driven (scripted) session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from workbench.persistence import Journal
from workbench.widgets.testing import ScriptedSession


@pytest.fixture
def journal() -> Iterator[Journal]:
    with Journal("sqlite://") as j:
        yield j


@pytest.fixture
def session(journal: Journal) -> ScriptedSession:
    """A paper session that bought 100 SPY at 170.00 and sold 40 at 172.00 (no commission)."""
    s = ScriptedSession(journal, "paper-test", starting_cash=100_000.0)
    s.trade("SPY", "BUY", 100, 170.0)
    s.trade("SPY", "SELL", 40, 172.0)
    return s
