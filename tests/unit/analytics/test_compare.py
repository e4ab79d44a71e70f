"""Backtest vs live: a replayed recording agrees completely; injected differences land in their component.

Each case paper-trades two days of the shipped SPY minute bars and quotes through the live runtime
(journal + recorder), then re-runs the strategy as a backtest on the recording. Expected values are
worked out by hand from the fill model (a 5 bps slippage moves each fill by price x 5e-4) and the
commission schedule (USD 0.005/share, USD 1 minimum: 100 shares pay USD 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from paper_runs import run_paper

from workbench.analytics.compare import compare_session, stream_differences
from workbench.brokers.fills import FillModel, PerShareCommission, SlippageModel
from workbench.feeds.recorder import Recording
from workbench.model.data import Bar

SMA = {"fast": 5, "slow": 20, "record_signals": True}


@pytest.fixture(scope="module")
def sma_run(tmp_path_factory):
    return run_paper(tmp_path_factory.mktemp("sma"), "sma_crossover", SMA)


@pytest.fixture(scope="module")
def slipped_run(tmp_path_factory):
    return run_paper(tmp_path_factory.mktemp("slip"), "sma_crossover", SMA,
                     fill_model=FillModel(slippage=SlippageModel(bps=5.0)))


def _components(comparison) -> dict[str, float]:
    return comparison.attribution["pnl_gap"].to_dict()


def test_replayed_recording_agrees_completely(sma_run):
    c = compare_session(sma_run.session_id, sma_run.journal, sma_run.recording)
    s = c.summary
    assert s["signals_live"] > 10 and s["signals_live"] == s["signals_backtest"]
    assert c.signal_agreement == 1.0
    assert (c.signals["status"] == "matched").all()
    assert (c.orders["status"] == "matched").all() and len(c.orders) == s["orders_live"]
    assert (c.fills["status"] == "matched").all()
    assert (c.fills["price_difference_bps"] == 0).all()
    assert (c.fills["quantity_difference"] == 0).all()
    assert (c.fills["time_difference"] == 0).all()
    assert all(v == 0 for v in _components(c).values())
    # independent: the live P&L is the journal's last equity snapshot minus the starting cash
    equity = sma_run.session.journal.equity(sma_run.session_id)["equity"].iloc[-1]
    assert s["pnl_live"] == pytest.approx(equity - 100_000.0, abs=1e-9)
    assert s["pnl_backtest"] == pytest.approx(s["pnl_live"], abs=1e-9)
    assert c.data_differences.empty
    assert c.mismatches().empty


def test_rsi_with_brackets_agrees_completely(tmp_path):
    """Signals are always recorded by RsiMeanReversion; bracket children (limit + stop) match too."""
    run = run_paper(tmp_path, "rsi_mean_reversion", {"stop_atr": 2.0})
    c = compare_session(run.session_id, run.journal, run.recording)
    assert c.summary["signals_live"] > 0
    assert c.signal_agreement == 1.0
    assert set(c.orders["order_type"]) >= {"MARKET", "LIMIT", "STOP"}
    assert (c.orders["status"] == "matched").all()
    assert c.summary["max_abs_price_difference_bps"] == 0


def test_slipped_live_fills_show_up_as_execution(slipped_run):
    c = compare_session(slipped_run.session_id, slipped_run.journal, slipped_run.recording)
    assert c.signal_agreement == 1.0
    matched = c.fills[c.fills["status"] == "matched"]
    assert len(matched) == c.summary["fills_live"]
    np.testing.assert_allclose(matched["slippage_bps"], 5.0, rtol=1e-6)
    # hand-worked: each fill costs backtest price x 5 bps x quantity
    expected_gap = -float((matched["price_backtest"] * 5e-4 * matched["quantity_backtest"]).sum())
    parts = _components(c)
    assert parts["total"] == pytest.approx(expected_gap, abs=0.02)
    assert parts["execution_price"] == pytest.approx(expected_gap, abs=0.02)
    assert parts["signals"] == 0 and parts["fees"] == 0 and parts["execution_quantity"] == 0 and parts["other"] == 0


def test_same_fill_model_gives_zero_difference(slipped_run):
    c = compare_session(slipped_run.session_id, slipped_run.journal, slipped_run.recording,
                        fill_model=FillModel(slippage=SlippageModel(bps=5.0)))
    assert c.summary["max_abs_price_difference_bps"] == 0
    assert c.attribution["pnl_gap"].abs().max() == 0


def test_changed_commission_shows_up_as_fees(sma_run):
    c = compare_session(sma_run.session_id, sma_run.journal, sma_run.recording, commission=PerShareCommission())
    fills = int(c.summary["fills_backtest"])
    parts = _components(c)
    assert parts["fees"] == pytest.approx(fills * 1.0)  # USD 1 minimum per 100-share fill, paid by the backtest only
    assert parts["total"] == pytest.approx(fills * 1.0)
    assert parts["signals"] == 0 and parts["execution_price"] == 0 and parts["execution_quantity"] == 0
    assert c.signal_agreement == 1.0


def test_dropped_bar_shows_up_in_signals_with_its_cause(sma_run):
    items = list(Recording(sma_run.recording))
    signals = sma_run.session.journal.signals(sma_run.session_id)
    when = int(signals["ts_event"].iloc[5].value)
    drop = next(i for i, x in enumerate(items) if type(x) is Bar and x.ts_init == when)
    data = items[:drop] + items[drop + 1:]
    c = compare_session(sma_run.session_id, sma_run.journal, sma_run.recording, data=data)
    assert len(c.data_differences) == 1
    assert c.data_differences.iloc[0]["side"] == "recording"
    assert c.data_differences.iloc[0]["ts_init"] == pd.Timestamp(when, tz="UTC")
    assert c.signal_agreement < 1.0
    off = c.signals[c.signals["status"] != "matched"]
    assert len(off) > 0
    assert off["explanation"].str.contains("data differs from the recording").all()
    # the signal at the dropped bar's time is live only ("extra")
    assert "extra" in set(off.loc[off["ts_event"] == pd.Timestamp(when, tz="UTC"), "status"])
    parts = _components(c)
    assert parts["execution_price"] == 0 and parts["execution_quantity"] == 0 and parts["fees"] == 0
    assert parts["other"] == 0
    assert parts["signals"] == parts["total"]


def test_changed_parameters_are_named_in_explanations(sma_run):
    c = compare_session(sma_run.session_id, sma_run.journal, sma_run.recording, params={"slow": 21})
    off = c.signals[c.signals["status"] != "matched"]
    assert len(off) > 0
    assert off["explanation"].str.contains("slow: live 20 vs backtest 21").all()


def test_figures_and_html(sma_run):
    c = compare_session(sma_run.session_id, sma_run.journal, sma_run.recording)
    figures = c.figures()
    assert list(figures) == ["equity", "signals", "fill_prices", "attribution", "time_to_fill"]
    assert all(isinstance(f, go.Figure) for f in figures.values())
    waterfall = figures["attribution"].data[0]
    assert waterfall.y[0] == pytest.approx(c.summary["pnl_backtest"]) and waterfall.y[-1] == pytest.approx(
        c.summary["pnl_live"])
    assert "Backtest vs live" in c._repr_html_()


def test_stream_differences_counts_duplicates():
    a = Bar("SPY", 1.0, 2.0, 0.5, 1.5, 10.0, 0, 60)
    b = Bar("SPY", 1.0, 2.0, 0.5, 1.5, 10.0, 60, 120)
    out = stream_differences([a, a, b], [a, b, b])
    assert list(out["side"]) == ["recording", "backtest"]
    assert list(out["ts_init"]) == [60, 120]


def test_paced_replay_is_aligned_by_sequence(tmp_path):
    """A paced session's signal/order times come from the replay clock (ahead of the data when processing
    lags), so the comparison aligns by sequence: a replayed recording still agrees completely."""
    import asyncio

    from paper_runs import demo_days

    from workbench.session import paper_session

    journal, recording = str(tmp_path / "j.sqlite"), tmp_path / "rec"

    async def go():
        session = paper_session("sma_crossover", params=SMA, data=demo_days(1), speed=50_000, journal=journal,
                                record_to=recording)
        await session
        return session

    session = asyncio.run(go())
    c = compare_session(session.session_id, journal, recording)
    assert any("aligned by sequence" in n for n in c.notes)
    assert c.signal_agreement == 1.0 and c.summary["order_agreement"] == 1.0
    assert c.summary["max_abs_price_difference_bps"] == 0
    assert (c.fills["time_difference"] == 0).all()  # fills carry the data's timestamps
