"""Daily report of a journaled paper session: P&L by date, trades, risk events, alerts; Markdown, HTML, CLI."""

from __future__ import annotations

import pandas as pd
import pytest
from paper_runs import run_paper

from workbench.analytics.report import daily_report
from workbench.cli import main
from workbench.errors import ConfigError
from workbench.model import events as ev

NY = "America/New_York"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = run_paper(tmp_path_factory.mktemp("report"), "rsi_mean_reversion", {"stop_atr": 2.0}, days=2)
    journal = run.session.journal
    when = int(pd.Timestamp("2013-10-08 11:00", tz=NY).value)
    journal.append(run.session_id, ev.RiskEvent(ts_event=when, rule="max_drawdown", message="drawdown 2% > 1%",
                                                action="halt", symbol="SPY", value=0.02, limit=0.01))
    journal.append(run.session_id, ev.AlertRaised(ts_event=when, level="warning", title="drawdown",
                                                  message="drawdown limit hit", source="risk"))
    return run


def _dates(times: pd.Series) -> pd.Series:
    return times.dt.tz_convert(NY).dt.date


def test_daily_pnl_adds_up_to_the_session_pnl(run):
    report = daily_report(run.session_id, run.journal, "all")
    daily = report.daily_pnl
    assert [d.date().isoformat() for d in daily.index] == ["2013-10-07", "2013-10-08"]
    equity = run.session.journal.equity(run.session_id)
    assert daily["pnl"].sum() == pytest.approx(equity["equity"].iloc[-1] - 100_000.0, abs=1e-6)
    assert daily["start_equity"].iloc[0] == 100_000.0
    assert daily["start_equity"].iloc[1] == daily["end_equity"].iloc[0]
    fills = run.session.journal.fills(run.session_id)
    per_day = fills.groupby(_dates(fills["ts_event"])).size()
    assert list(daily["fills"]) == list(per_day)


def test_one_day_holds_only_that_days_rows(run):
    report = daily_report(run.session_id, run.journal, "2013-10-08")
    assert report.day.isoformat() == "2013-10-08"
    assert len(report.fills) > 0
    assert set(_dates(report.fills["ts_event"]).astype(str)) == {"2013-10-08"}
    assert set(_dates(report.trades["exit_time"]).astype(str)) <= {"2013-10-08"}
    risk = report.risk_events[report.risk_events["rule"] != "trading_hours"]  # orders at the close are denied
    assert list(risk["rule"]) == ["max_drawdown"]
    assert list(report.alerts["title"]) == ["drawdown"]
    head = report.headline()
    assert head["pnl"] == pytest.approx(report.daily_pnl.loc["2013-10-08", "pnl"])
    assert head["risk_events"] == len(report.risk_events) and head["alerts"] == 1
    first = daily_report(run.session_id, run.journal, "2013-10-07")
    assert set(first.risk_events["rule"]) <= {"trading_hours"} and first.alerts.empty


def test_default_day_is_the_last_date(run):
    assert daily_report(run.session_id, run.journal).day.isoformat() == "2013-10-08"


def test_bad_day_is_named(run):
    with pytest.raises(ConfigError, match="yesterday"):
        daily_report(run.session_id, run.journal, "yesterday")


def test_markdown_and_html(run):
    report = daily_report(run.session_id, run.journal, "2013-10-08")
    md = report.to_markdown()
    for heading in ("## Summary", "## Daily P&L", "## Round trips closed", "## Risk events", "## Alerts"):
        assert heading in md
    assert "max_drawdown" in md and "drawdown limit hit" in md
    page = report.to_html()
    assert page.startswith("<!DOCTYPE html>") and "drawdown limit hit" in page


def test_cli_writes_the_report(run, tmp_path, capsys):
    out = tmp_path / "report.md"
    assert main(["report", run.session_id, "--journal", run.journal, "--output", str(out), "--date", "2013-10-08"]) == 0
    text = out.read_text()
    assert text.startswith(f"# Daily report: session {run.session_id} (2013-10-08)")
    html_out = tmp_path / "report.html"
    assert main(["report", run.session_id, "--journal", run.journal, "-o", str(html_out), "--format", "html"]) == 0
    assert "<h2>Daily P&amp;L</h2>" in html_out.read_text()
    assert main(["report", run.session_id, "--journal", run.journal, "--format", "md"]) == 0
    assert "## Fills" in capsys.readouterr().out
