"""Paper session vs backtest parity, and record-then-replay identity, on the shipped SPY demo.

* Parity: the same strategy on the same data gives the same orders and fills in ``run_backtest``
  and in a paper session replayed as fast as possible (live runner, asyncio, journal), and also
  in one paced at 60,000x. Compared
  event by event as read back from the journal: every order event (initialized, submitted,
  accepted, filled, canceled, ... with ids, sides, types, quantities, prices and timestamps) and
  every position event, for ``sma_crossover`` and ``rsi_mean_reversion`` with bracket exits.
* Record, then replay: a paper session with ``record_to`` writes a recording equal (==, same
  order) to the stream it played; a second session on the recording journals identical orders
  and fills.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.engine.backtest import run_backtest
from workbench.feeds.recorder import Recording
from workbench.model import events as ev
from workbench.session import default_risk_engine, load_stream, make_strategy, paper_session

TRADING_EVENTS = (ev.OrderEvent, ev.PositionOpened, ev.PositionChanged, ev.PositionClosed)


def _trading(events: Any) -> list[ev.Event]:
    return [e for e in events if isinstance(e, TRADING_EVENTS)]


CASES = {
    "sma_crossover": ("sma_crossover", {"fast": 5, "slow": 15}),
    "rsi_brackets": ("rsi_mean_reversion", {"stop_atr": 1.5, "target_atr": 2.0, "period": 10}),
}


@pytest.mark.parametrize(("case", "speed"), [(case, None) for case in CASES] + [("sma_crossover", 60_000.0)],
                         ids=[*CASES, "sma_crossover-paced"])
async def test_paper_session_matches_the_backtest(tmp_path: Path, case: str, speed: float | None) -> None:
    """As fast as possible, and paced at 60,000x (the 5 days in ~2 s): the replay clock is held at
    the data being processed, so even the paced session's timestamps equal the backtest's."""
    name, params = CASES[case]
    # a paper session without a config has the default risk profile (issue 10): the backtest gets the same
    backtest = run_backtest(make_strategy(name, params), load_stream("demo"), progress=False,
                            risk=default_risk_engine())
    expected = _trading(backtest.events)
    session = paper_session(name, params=params, data="demo", speed=speed, journal=tmp_path / "j.sqlite")
    await session
    got = _trading(session.journal.events(session.session_id))
    kinds = {type(e).__name__ for e in expected}
    assert {"OrderInitialized", "OrderSubmitted", "OrderAccepted", "OrderFilled"} <= kinds
    if case == "rsi_brackets":
        assert "OrderCanceled" in kinds  # OCO exits: one leg fills, its sibling is canceled
        assert any(e.order_type.value in ("STOP", "LIMIT") for e in expected if type(e) is ev.OrderInitialized)
    fills = [e for e in expected if type(e) is ev.OrderFilled]
    assert len(fills) >= 20
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        assert a == b, f"event {i}: paper {a} != backtest {b}"
    # and the paper session's own result tables agree with the backtest's
    result = session.result()
    cols = ["order_id", "fill_id", "side", "quantity", "price", "commission", "ts_event"]
    assert result.fills[cols].equals(backtest.fills[cols])
    assert session.engine.portfolio.cash == backtest.engine.portfolio.cash


async def test_record_then_replay_the_recording(tmp_path: Path) -> None:
    params = {"fast": 5, "slow": 15}
    journal = tmp_path / "j.sqlite"
    first = paper_session("sma_crossover", params=params, data="demo", speed=None, journal=journal,
                          record_to=tmp_path / "rec")
    await first
    played = list(load_stream("demo"))
    recording = Recording(tmp_path / "rec")
    assert len(recording) == len(played) == 3900
    assert list(recording) == played

    second = paper_session("sma_crossover", params=params, data=str(tmp_path / "rec"), speed=None, journal=journal)
    await second
    one = _trading(first.journal.events(first.session_id))
    two = _trading(second.journal.events(second.session_id))
    assert len([e for e in one if type(e) is ev.OrderFilled]) >= 20
    assert one == two
    assert first.journal.fills(first.session_id).drop(columns=["session_id", "seq"]).equals(
        second.journal.fills(second.session_id).drop(columns=["session_id", "seq"]))
