"""Paper-to-live graduation on a real paper session (the SPY demo week, replayed and recorded).

The scorecard's figures are checked against independent sources: the number of New York dates
(the demo is 2013-10-07..11: five), the fills table, and Sharpe ratio and maximum drawdown of the
daily returns computed here with empyrical (Quantopian's reference implementation); the signal
agreement comes from ``compare_session`` on the recording (a full-speed replay agrees 100%).
Criteria set just beside those figures make the session graduate, or be refused with the
scorecard naming exactly the failed criterion; an unresolved reconciliation refuses it too. The
CLI prints the scorecard with exit code 1 (refused) / 0 (eligible) / 2 (confirmed, but no broker
keys). A session that graduates starts live on the Alpaca emulator (through alpaca-py) at the first
size step: its orders are the paper session's sizes x 10%. The size multiplier follows the documented steps
(hand-worked sequence) and live/shadow agreement is checked on hand-made signals.
"""

from __future__ import annotations

import math
from pathlib import Path

import empyrical
import pandas as pd
import pytest
import yaml
from live_helpers import run_cli

from workbench.analytics.compare import compare_session
from workbench.errors import ConfigError
from workbench.model import events as ev
from workbench.operations.graduation import (
    GraduationCriteria,
    GraduationRefused,
    SizeSchedule,
    graduate,
    scorecard,
    shadow_agreement,
)
from workbench.persistence import Journal
from workbench.session import paper_session

SID = "paper-record"


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A finished paper session with a recording, its comparison and independent figures."""
    import asyncio

    tmp = tmp_path_factory.mktemp("graduation")
    url = f"sqlite:///{tmp / 'journal.sqlite'}"

    async def run() -> None:
        session = paper_session("sma_crossover", params={"fast": 5, "slow": 15, "record_signals": True}, data="demo",
                                speed=None, journal=url, session_id=SID, record_to=tmp / "rec")
        await session
        session.journal.close()

    asyncio.run(run())
    journal = Journal(url)
    closes: dict = {}
    for state in journal.events(SID, types=[ev.AccountState]):
        day = pd.Timestamp(state.ts_event, unit="ns", tz="UTC").tz_convert("America/New_York").date()
        closes[day] = state.equity  # the last state of each date wins
    equity = pd.Series(closes)
    returns = equity / pd.Series([100_000.0, *equity.iloc[:-1]], index=equity.index) - 1.0
    figures = {
        "days": len(equity),
        "trades": len(journal.fills(SID)),
        "sharpe": empyrical.sharpe_ratio(returns, period="daily"),
        "drawdown": -empyrical.max_drawdown(returns),
    }
    comparison = compare_session(SID, journal, tmp / "rec")
    yield {"url": url, "journal": journal, "tmp": tmp, "figures": figures, "comparison": comparison}
    journal.close()


def _criteria(figures: dict, **changes: float) -> GraduationCriteria:
    values = {"min_days": figures["days"], "min_trades": figures["trades"], "min_sharpe": figures["sharpe"] - 1e-6,
              "max_drawdown": figures["drawdown"] + 1e-6, "min_signal_agreement": 0.995}
    return GraduationCriteria(**{**values, **changes})


def test_scorecard_figures_match_independent_calculations(record: dict) -> None:
    f = record["figures"]
    assert f["days"] == 5 and f["trades"] >= 20 and f["drawdown"] > 0
    card = scorecard(record["journal"], SID, _criteria(f), comparison=record["comparison"])
    values = {c.name: c.value for c in card.criteria}
    assert values["days"] == 5
    assert values["trades"] == f["trades"]
    assert values["sharpe"] == pytest.approx(f["sharpe"], rel=1e-9)
    assert values["max_drawdown"] == pytest.approx(f["drawdown"], rel=1e-9)
    assert values["signal_agreement"] == 1.0 and record["comparison"].summary["signals_live"] > 0
    assert values["reconciliation"] == 0
    assert card.passed, str(card)


def test_graduates_when_every_criterion_passes(record: dict) -> None:
    criteria = _criteria(record["figures"])
    card, live = graduate(record["journal"], SID, criteria, comparison=record["comparison"])
    assert card.passed and live is None  # no live start without the explicit confirmation
    started = []
    card, live = graduate(record["journal"], SID, criteria, comparison=record["comparison"], confirm_live=True,
                          start_live=lambda sid, journal, multiplier: started.append((sid, multiplier)) or "live-1")
    assert live == "live-1" and started == [(SID, 0.10)]  # the first step of the size schedule
    with pytest.raises(ConfigError, match="APCA_API_KEY_ID"):  # the default: Alpaca, keys from the environment
        graduate(record["journal"], SID, criteria, comparison=record["comparison"], confirm_live=True)


@pytest.mark.parametrize(("failing", "change"), [
    ("days", {"min_days": 6}),
    ("trades", {"min_trades": 10_000}),
    ("sharpe", {"min_sharpe": math.inf}),
    ("max_drawdown", {"max_drawdown": 1e-9}),
])
def test_refused_with_the_scorecard_when_a_criterion_fails(record: dict, failing: str, change: dict) -> None:
    f = record["figures"]
    if failing == "sharpe":
        change = {"min_sharpe": f["sharpe"] + 1e-6}
    if failing == "max_drawdown":
        change = {"max_drawdown": f["drawdown"] - 1e-6}
    started = []
    with pytest.raises(GraduationRefused) as info:
        graduate(record["journal"], SID, _criteria(f, **change), comparison=record["comparison"], confirm_live=True,
                 start_live=lambda *a: started.append(a))
    assert info.value.scorecard.failed == [failing] and not started
    assert f"[FAIL] {failing}" in str(info.value.scorecard)


def test_signal_disagreement_refuses(record: dict) -> None:
    other = compare_session(SID, record["journal"], record["tmp"] / "rec", params={"fast": 6, "slow": 15,
                                                                                    "record_signals": True})
    assert other.signal_agreement < 0.995
    with pytest.raises(GraduationRefused) as info:
        graduate(record["journal"], SID, _criteria(record["figures"]), comparison=other)
    assert info.value.scorecard.failed == ["signal_agreement"]


@pytest.mark.slow
def test_command_line_prints_the_scorecard(record: dict) -> None:
    tmp, url = record["tmp"], record["url"]
    for name, changes in (("pass", {}), ("fail", {"min_days": 30})):
        section = _criteria(record["figures"], **changes).model_dump(mode="json")
        (tmp / f"{name}.yaml").write_text(yaml.safe_dump({"graduation": section}))
    common = ["--journal", url, "--recording", str(tmp / "rec")]
    done = run_cli("graduate", SID, *common, "--config", str(tmp / "fail.yaml"), cwd=tmp)
    assert done.returncode == 1 and "REFUSED" in done.stdout and "[FAIL] days" in done.stdout
    done = run_cli("graduate", SID, *common, "--config", str(tmp / "pass.yaml"), cwd=tmp)
    assert done.returncode == 0 and "PASSED" in done.stdout and "--confirm-live" in done.stdout
    done = run_cli("graduate", SID, *common, "--config", str(tmp / "pass.yaml"), "--confirm-live", cwd=tmp)
    assert done.returncode == 2 and "APCA_API_KEY_ID" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("graduate", SID, *common, "--cadence", "week", cwd=tmp)
    assert done.returncode == 2 and "--cadence must be 'day' or a number" in done.stderr


def test_unresolved_reconciliation_refuses(record: dict, tmp_path: Path) -> None:
    journal = Journal(f"sqlite:///{tmp_path / 'copy.sqlite'}")
    sid = journal.create_session("with-correction", mode="paper",
                                 parameters=record["journal"].session(SID)["parameters"])
    for event in record["journal"].events(SID):
        journal.append(sid, event)
    journal.append(sid, ev.ReconciliationCorrected(ts_event=1, kind="position_mismatch",
                                                   detail="SPY: journal 100, broker 0; manual review needed"))
    card = scorecard(journal, sid, _criteria(record["figures"]), comparison=record["comparison"])
    assert card.failed == ["reconciliation"] and "position_mismatch" in str(card)
    journal.close()


def test_size_multiplier_follows_the_documented_steps() -> None:
    schedule = SizeSchedule(steps=(0.10, 0.25, 0.50, 1.00), step_days=2, min_agreement=0.995)
    days = [1.0, 1.0, 1.0, 0.9, math.nan, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    expected = [0.10, 0.25, 0.25, 0.10, 0.10, 0.10, 0.25, 0.25, 0.50, 0.50, 1.00, 1.00, 1.00]
    assert [schedule.record_day(a) for a in days] == expected
    schedule.index = 1  # 25%
    assert schedule.scale(100) == 25 and schedule.scale(-130) == -32 and schedule.scale(250, lot_size=100) == 0
    state = schedule.state()
    other = SizeSchedule()
    other.restore(state)
    assert other.multiplier == 0.25
    with pytest.raises(ValueError, match="steps must increase"):
        GraduationCriteria(steps=(0.5, 0.25, 1.0))


def test_shadow_agreement_on_hand_made_signals() -> None:
    t = 1_381_152_600_000_000_000  # 2013-10-07 13:30 UTC (09:30 New York)
    day = 86_400_000_000_000

    def signal(ts: int, direction: int) -> ev.SignalGenerated:
        return ev.SignalGenerated(ts_event=ts, symbol="SPY", direction=direction)

    live = [signal(t, 1), signal(t + 60, -1), signal(t + day, 1)]
    shadow = [signal(t, 1), signal(t + 120, -1), signal(t + day, -1)]
    # t: matched; t+60 live only; t+120 shadow only; next day: same time, other direction
    assert shadow_agreement(live, shadow) == pytest.approx(1 / 4)
    assert shadow_agreement(live, shadow, day="2013-10-07") == pytest.approx(1 / 3)
    assert shadow_agreement(live, shadow, tolerance_ns=60, day="2013-10-07") == 1.0
    assert math.isnan(shadow_agreement([], []))


async def test_graduated_session_trades_live_on_the_alpaca_emulator_at_the_first_step(record: dict) -> None:
    from alpaca_helpers import FAST_RECONNECT, demo_bars, run_to_end, start_emulator

    from workbench.operations.graduation import start_live_session

    emulator = start_emulator(data=demo_bars(240), speed=2400.0)
    try:
        card, live = graduate(
            record["journal"], SID, _criteria(record["figures"]), comparison=record["comparison"], confirm_live=True,
            start_live=lambda sid, journal, multiplier: start_live_session(
                sid, journal, multiplier, emulator=emulator, alpaca=FAST_RECONNECT, snapshot_interval=0.5))
        assert card.passed and live.mode == "live"
        assert record["journal"].session(live.session_id)["mode"] == "live"
        await run_to_end(live, emulator)
        orders = list(record["journal"].events(live.session_id, types=[ev.OrderInitialized]))
        paper = {e.quantity for e in record["journal"].events(SID, types=[ev.OrderInitialized])}
        assert paper == {100.0}
        assert orders and {e.quantity for e in orders} == {10.0}  # 100 shares x the first step (10%)
        assert any(True for _ in record["journal"].events(live.session_id, types=[ev.OrderFilled]))
    finally:
        emulator.stop_thread()
