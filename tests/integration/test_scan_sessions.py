"""A replayed paper session of the scan strategy: the scheduled scans fire at 09:00 and 10:00 New
York time on trading days only (a weekend and the Christmas and New Year holidays in the window),
its journal equals a backtest of the same strategy event for event, and each signal's fate is one
query on the journal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from workbench.engine.backtest import run_backtest
from workbench.feeds.samples import load_lean_daily
from workbench.model import events as ev
from workbench.persistence import schema as t
from workbench.persistence.database import connect_engine, ensure_schema
from workbench.scanning.fates import signal_fates
from workbench.session import default_risk_engine, make_strategy, paper_session

PARAMS = {
    "history": 40, "top": 2, "max_positions": 2, "max_holding_days": 3,
    "factors": {"momentum_10": {"factor": "momentum", "lookback": 10},
                "volatility_10": {"factor": "volatility", "window": 10}, "atr_14": {"factor": "atr", "period": 14}},
    "weights": {"momentum_10": 1.0, "volatility_10": -0.3}, "filters": [{"filter": "liquidity", "min_price": 5}],
}
TRADED = (ev.OrderEvent, ev.PositionOpened, ev.PositionChanged, ev.PositionClosed, ev.ScanCompleted, ev.SignalGenerated)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    frame, _ = load_lean_daily()
    lo, hi = pd.Timestamp("2019-10-15", tz="UTC").value, pd.Timestamp("2020-01-08", tz="UTC").value
    return frame[(frame["ts_event"] >= lo) & (frame["ts_event"] < hi)].reset_index(drop=True)


@pytest.mark.parametrize("speed", [None, 1_000_000.0], ids=["max-speed", "paced"])
async def test_paper_scans_on_schedule_and_equal_the_backtest(tmp_path: Path, bars: pd.DataFrame,
                                                              speed: float | None) -> None:
    backtest = run_backtest(make_strategy("scan", PARAMS), bars, keep_events=True, progress=False,
                            risk=default_risk_engine())  # the risk profile every paper session gets
    expected = [e for e in backtest.events if isinstance(e, TRADED)]
    session = paper_session("scan", params=PARAMS, data=bars, speed=speed, regular=False,
                            journal=tmp_path / "j.sqlite")
    await session
    got = [e for e in session.journal.events(session.session_id) if isinstance(e, TRADED)]
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert a == b, f"event {i}: paper {a} != backtest {b}"

    scans = [e for e in got if type(e) is ev.ScanCompleted]
    local = [pd.Timestamp(e.ts_event, tz="UTC").tz_convert("America/New_York") for e in scans]
    assert {(x.hour, x.minute) for x in local} == {(9, 0), (10, 0)}
    days = sorted({x.date() for x in local})
    window = [d.date() for d in pd.bdate_range("2019-10-16", "2020-01-07")]
    holidays = {pd.Timestamp(d).date() for d in ("2019-11-28", "2019-12-25", "2020-01-01")}
    assert days == [d for d in window if d not in holidays]
    assert len(scans) == 2 * len(days)

    fates = signal_fates(session.journal.engine, session.session_id)
    entries = [e for e in got if type(e) is ev.SignalGenerated and e.direction != 0]
    assert list(fates["signal_id"]) == [e.signal_id for e in entries]
    closed = fates[fates["exit_reason"].notna()]
    assert len(closed) >= 5 and set(closed["exit_reason"]) <= {"target", "stop", "reversal", "max_holding_days"}
    assert (closed["entry_quantity"] == closed["exit_quantity"]).all()
    last = {}
    for e in got:
        if isinstance(e, ev.PositionOpened | ev.PositionChanged | ev.PositionClosed):
            last[e.symbol] = e
    flat = {s for s, e in last.items() if type(e) is ev.PositionClosed}
    for symbol in flat:  # the portfolio's running realized P&L per symbol = the sum over its closed signals
        mine = closed[closed["symbol"] == symbol]
        assert last[symbol].realized_pnl == pytest.approx((mine["realized_pnl"] + mine["commission"]).sum(), abs=1e-6)


def test_a_version_1_journal_is_migrated(tmp_path: Path) -> None:
    """A journal written before signals carried ids (schema 1) opens, gains the columns, keeps its rows."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = connect_engine(url)
    ensure_schema(engine, "old")
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_signals_session_signal"))
        conn.execute(sa.text("ALTER TABLE signals DROP COLUMN signal_id"))
        conn.execute(sa.text("ALTER TABLE signals DROP COLUMN scan_id"))
        conn.execute(sa.text("DROP TABLE scan_runs"))
        conn.execute(sa.delete(t.schema_version))
        conn.execute(sa.insert(t.schema_version), {"version": 1, "ts_applied": 0})
    assert ensure_schema(engine, "old") == t.SCHEMA_VERSION == 2
    columns = {c["name"] for c in sa.inspect(engine).get_columns("signals")}
    assert {"signal_id", "scan_id"} <= columns
    assert "scan_runs" in sa.inspect(engine).get_table_names()
    engine.dispose()
