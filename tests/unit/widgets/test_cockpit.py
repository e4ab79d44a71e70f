"""Issue 13: the session state rules, configured limits with usage, round trips with MAE/MFE,
daily P&L, blotter views, the chart's widget state, the kernel reaper and the journal's text."""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
import pandas as pd
import pytest

from workbench.model.enums import OrderSide
from workbench.persistence.text import frame_text
from workbench.widgets.charts import EquityChart, gap_breaks
from workbench.widgets.controls import RESET_KILL_SWITCH, Controls, OrderTicket, reset_kill_switch_args
from workbench.widgets.limits import configured_limits
from workbench.widgets.performance import daily_pnl, excursions
from workbench.widgets.reaper import KernelReaper, pooled_kernel_ids
from workbench.widgets.source import JournalView
from workbench.widgets.state import session_state
from workbench.widgets.tables import blotter_orders
from workbench.widgets.testing import ScriptedSession


def _state(session: ScriptedSession) -> str:
    return session_state(JournalView(session.journal, session.session_id).snapshot()).state


def test_state_follows_pause_resume_kill_and_stop(journal, session):
    view = JournalView(journal, session.session_id)
    assert _state(session) == "RUNNING"
    view.submit_command("pause")
    session.process_commands()
    st = session_state(view.snapshot())
    assert (st.state, st.by) == ("PAUSED", "dashboard")
    view.submit_command("resume")
    session.process_commands()
    assert _state(session) == "RUNNING"
    view.submit_command("kill", {"reason": "too many rejects", "flatten": False}, source="cli")
    session.process_commands()
    st = session_state(view.snapshot())
    assert (st.state, st.reason) == ("HALTED", "too many rejects")
    assert st.by.startswith("cli (kill command #")
    view.submit_command("pause")  # paused while halted: HALTED wins
    session.process_commands()
    assert _state(session) == "HALTED"
    session.stop("replay ended")
    st = session_state(view.snapshot())
    assert (st.state, st.reason) == ("STOPPED", "replay ended")


def test_a_session_whose_engine_died_is_failed(journal):
    s = ScriptedSession(journal, "died")
    journal.release_session("died")  # no SessionStopped: the process ended
    assert _state(s) == "FAILED"


def test_a_halt_by_a_breaker_is_by_the_risk_engine(journal, session):
    session.engine.set_trading_state(__import__("workbench.model.enums", fromlist=["TradingState"]).TradingState.HALTED,
                                     "daily loss 3% breached")
    st = session_state(JournalView(journal, session.session_id).snapshot())
    assert (st.state, st.reason, st.by) == ("HALTED", "daily loss 3% breached", "risk engine")


def test_configured_limits_usage_by_hand(journal):
    """Bought 100 SPY at 170 and 10 IBM at 180 with 100,000 cash: the largest position is
    17,000 (= 17 % of equity), gross exposure 18,800, 2 open positions."""
    risk = {"pre_trade": {"max_position_notional": {"limit": 20_000.0}, "max_open_positions": {"limit": 4},
                          "max_gross_exposure": {"limit": 40_000.0}, "max_position_percent_equity": {"percent": 0.2},
                          "max_order_quantity": {"limit": 1000.0}}}
    s = ScriptedSession(journal, "limits")
    journal.engine.dispose  # noqa: B018 - the in-memory journal stays open
    import sqlalchemy as sa

    from workbench.persistence import schema

    with journal.engine.begin() as conn:
        conn.execute(sa.update(schema.sessions).where(schema.sessions.c.session_id == "limits")
                     .values(parameters={"config": {"risk": risk}}))
    s.trade("SPY", "BUY", 100, 170.0)
    s.trade("IBM", "BUY", 10, 180.0)
    frame = configured_limits(JournalView(journal, "limits").snapshot()).set_index("rule")
    assert frame.loc["max_position_notional", "value"] == pytest.approx(17_000.0)
    assert frame.loc["max_position_notional", "used_percent"] == pytest.approx(85.0)
    assert frame.loc["max_open_positions", "used_percent"] == pytest.approx(50.0)
    assert frame.loc["max_gross_exposure", "value"] == pytest.approx(18_800.0, abs=1.0)
    assert frame.loc["max_position_percent_equity", "value"] == pytest.approx(0.17, abs=1e-3)
    assert frame.loc["max_order_quantity", "used_percent"] == pytest.approx(10.0)


def test_no_risk_configuration_means_no_configured_limits(journal, session):
    assert configured_limits(JournalView(journal, session.session_id).snapshot()) is None


def test_excursions_by_hand():
    """Long from 100 to 104: lows reach 97, highs 106 -> MAE -3 %, MFE +6 %. Short from 50 to 48:
    highs reach 51, lows 47 -> MAE -2 %, MFE +6 % (Sweeney's definitions)."""
    minute = 60_000_000_000
    t0 = pd.Timestamp("2024-01-02 15:00", tz="UTC").value
    bars = pd.DataFrame({
        "symbol": ["A"] * 4 + ["B"] * 3,
        "ts_event": [t0, t0 + minute, t0 + 2 * minute, t0 + 3 * minute, t0, t0 + minute, t0 + 2 * minute],
        "low": [99, 97, 101, 103, 49, 47.5, 47], "high": [101, 103, 106, 105, 51, 50, 49],
    })
    trips = pd.DataFrame({
        "symbol": ["A", "B"], "direction": ["LONG", "SHORT"], "entry_price": [100.0, 50.0],
        "entry_time": [pd.Timestamp(t0 + minute // 2, tz="UTC")] * 2,
        "exit_time": [pd.Timestamp(t0 + 2 * minute, tz="UTC"), pd.Timestamp(t0 + 2 * minute, tz="UTC")],
    })
    out = excursions(trips, bars)
    assert out["mae_percent"].tolist() == pytest.approx([-3.0, -2.0])
    assert out["mfe_percent"].tolist() == pytest.approx([6.0, 6.0])
    assert excursions(trips, None)["mae_percent"].isna().all()


def test_daily_pnl_is_the_change_of_end_of_day_equity():
    ts = pd.to_datetime(["2024-01-02 15:00", "2024-01-02 20:00", "2024-01-03 15:00", "2024-01-03 20:59"], utc=True)
    equity = pd.DataFrame({"ts_event": ts, "equity": [100.0, 103.0, 101.0, 99.5]})
    days = daily_pnl(equity)
    assert list(days.index) == ["2024-01-02", "2024-01-03"]
    assert days.tolist() == pytest.approx([3.0, -3.5])


def test_blotter_views(journal, session):
    session.engine.set_trading_state(__import__("workbench.model.enums", fromlist=["TradingState"]).TradingState.HALTED,
                                     "kill")
    for _ in range(3):
        session.engine.submit_order(session.engine.create_order("SPY", OrderSide.BUY, 5, strategy_id="sma"))
    orders = JournalView(journal, session.session_id).snapshot().orders
    assert (blotter_orders(orders, "denied")["status"] == "DENIED").sum() == 3
    assert not (blotter_orders(orders, "trades")["status"] == "DENIED").any()
    assert len(blotter_orders(orders, "all")) == len(orders)
    with pytest.raises(ValueError, match="blotter view"):
        blotter_orders(orders, "nope")


def _typed(y: object) -> np.ndarray:
    """Plotly's typed-array JSON ({"dtype", "bdata": base64} or {"dtype", "buffer"}) or a list."""
    if isinstance(y, dict):
        raw = base64.b64decode(y["bdata"]) if "bdata" in y else y["buffer"]
        return np.frombuffer(raw, dtype=y["dtype"])
    return np.asarray(y)


@pytest.mark.parametrize("dashboard", [True, False], ids=["dashboard FigureWidget", "notebook pane"])
def test_the_chart_state_holds_the_data_for_a_page_opened_later(journal, session, monkeypatch, dashboard):
    """What a newly opened view is sent (the widget state) is the journal's equity, point for point;
    outside the dashboard that state is the figure's JSON mime bundle with no plotly.js in it."""
    if dashboard:
        monkeypatch.setenv("WORKBENCH_PLOTLY_ESM", "http://127.0.0.1:1/voila/labextensions/widgetbundle.js")
    chart = EquityChart(journal, session.session_id)
    chart.refresh()
    view = chart.children[-1]
    state = view.get_state()
    if dashboard:
        y = state["_widget_data"][0]["y"]
        assert state["_esm"].startswith("http://127.0.0.1:1/")
    else:
        (output,) = state["outputs"]
        y = output["data"]["application/vnd.plotly.v1+json"]["data"][0]["y"]
        assert len(json.dumps(state)) < 100_000  # plotly.js alone is ~5 MB
    expected = journal.equity(session.session_id)["equity"].tolist()
    assert len(expected) >= 2 and _typed(y).tolist() == pytest.approx(expected)


def test_gap_breaks_cut_nights_only():
    x = np.array(["2024-01-02T15:59:00.000000", "2024-01-02T16:00:00.000000", "2024-01-03T09:30:00.000000"],
                 dtype=object)
    breaks = gap_breaks(x)
    assert len(breaks) == 1 and breaks[0]["bounds"][0].startswith("2024-01-02 16:00:01")


def test_reset_kill_switch_needs_a_reason_and_is_one_command(journal, session):
    with pytest.raises(ValueError, match="reason"):
        reset_kill_switch_args("  ")
    args = reset_kill_switch_args(" checked ")
    assert args["confirm"] is True and args["reason"] == "checked" and args["source"] == "dashboard" and args["by"]
    controls = Controls(journal, session.session_id)
    controls.reset_reason.value = "checked"
    controls.confirm_reset()
    sent = journal.commands(session.session_id)
    assert sent["name"].tolist()[-1] == RESET_KILL_SWITCH


def test_force_exit_sends_flatten_of_one_symbol(journal, session):
    controls = Controls(journal, session.session_id)
    controls.refresh()
    assert list(controls.exit_symbol.options) == ["SPY"]
    controls.exit_symbol.value = "SPY"
    controls.confirm_exit()
    record = journal.pending_commands(session.session_id)[-1]
    assert (record.name, record.args) == ("flatten", {"symbol": "SPY"})


def test_the_ticket_takes_only_reducing_orders_while_halted(journal, session):
    ticket = OrderTicket(journal, session.session_id)
    session.engine.set_trading_state(__import__("workbench.model.enums", fromlist=["TradingState"]).TradingState.HALTED,
                                     "kill")
    ticket.refresh()
    ticket.side.value, ticket.quantity.value = "BUY", 10
    assert ticket.submit.disabled and ticket.send() is None
    ticket.side.value = "SELL"  # long 60: selling 10 reduces
    assert not ticket.submit.disabled
    ticket.quantity.value = 100  # would flip the position
    assert ticket.submit.disabled


def test_money_prints_without_float_noise_and_limit_keeps_the_newest_rows():
    frame = pd.DataFrame({"realized_pnl": [-1.36e-12, 12.345], "price": [170.10000000000002, 1.0], "seq": [1, 2]})
    text = frame_text(frame)
    assert "e-12" not in text and "0.00" in text and "12.35" in text and "170.1 " in text + " "
    assert "-0.00" not in text
    assert frame_text(frame, 1).count("\n") == 1 and "12.35" in frame_text(frame, 1)


class _Kernels:
    def __init__(self) -> None:
        self.ids = ["a", "b"]
        self._kernel_connections = {"a": 1, "b": 0}
        self.shut: list[str] = []

    def list_kernel_ids(self) -> list[str]:
        return list(self.ids)

    async def shutdown_kernel(self, kid: str) -> None:
        self.shut.append(kid)
        self.ids.remove(kid)


def test_the_reaper_shuts_down_kernels_without_a_page_after_the_grace():
    km = _Kernels()
    reaper = KernelReaper(km, grace=30)
    assert asyncio.run(reaper.check(now=0.0)) == []
    assert asyncio.run(reaper.check(now=29.0)) == []
    km._kernel_connections["a"] = 0  # page a closed: first seen alone at t=31
    assert asyncio.run(reaper.check(now=31.0)) == ["b"]
    assert asyncio.run(reaper.check(now=60.0)) == []
    assert asyncio.run(reaper.check(now=61.0)) == ["a"]
    assert km.shut == ["b", "a"]


class _PoolKernels(_Kernels):
    """A kernel manager shaped like Voila's with the pool (``voila/voila_kernel_manager.py``,
    ``VoilaKernelManager``): ``_pools`` maps a notebook to a list of asyncio tasks; a finished task's
    result holds the ``kernel_id`` of a kernel that already ran the notebook; a page takes one by
    popping it from the list (``get_rendered_notebook``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.ids = ["page", "pooled", "starting"]
        self._kernel_connections = {"page": 0, "pooled": 0, "starting": 0}
        done = loop.create_future()
        done.set_result({"kernel_id": "pooled", "renderer": None, "task": None})
        self.pending = loop.create_future()  # a pool kernel still starting: its id is not known yet
        failed = loop.create_future()
        failed.set_exception(RuntimeError("kernel died at start"))
        self._pools = {"ops.ipynb": [done, self.pending, failed]}


def test_the_reaper_spares_pooled_kernels_until_a_page_takes_them():
    loop = asyncio.new_event_loop()
    try:
        km = _PoolKernels(loop)
        assert pooled_kernel_ids(km) == {"pooled"}
        reaper = KernelReaper(km, grace=30)
        assert loop.run_until_complete(reaper.check(now=0.0)) == []
        # no page ever connected to "page" or "starting": reaped after the grace; the pooled one waits
        assert sorted(loop.run_until_complete(reaper.check(now=31.0))) == ["page", "starting"]
        assert loop.run_until_complete(reaper.check(now=500.0)) == []
        assert km.ids == ["pooled"]
        taken = km._pools["ops.ipynb"].pop(0)  # a page takes it (Voila pops it from the pool)...
        assert taken.result()["kernel_id"] == "pooled" and pooled_kernel_ids(km) == set()
        assert loop.run_until_complete(reaper.check(now=501.0)) == []  # ...and gets the grace to connect
        assert loop.run_until_complete(reaper.check(now=530.0)) == []
        assert loop.run_until_complete(reaper.check(now=531.0)) == ["pooled"]  # the page never connected
        km.pending.cancel()
    finally:
        loop.close()


def test_a_manager_without_a_pool_has_no_pooled_kernels():
    class Plain:
        pass

    assert pooled_kernel_ids(Plain()) == set()


def test_performance_panel_on_a_session_with_round_trips(journal, session):
    """The session bought 100 at 170 and sold 40 at 172; selling the other 60 at 171 closes one long
    round trip: P&L = 40 x 2 + 60 x 1 = 140 (no commission)."""
    from workbench.widgets.performance import Performance

    session.trade("SPY", "SELL", 60, 171.0)
    panel = Performance(journal, session.session_id)
    panel.refresh()
    trips = panel.frame
    assert len(trips) == 1 and trips["direction"].iloc[0] == "LONG"
    assert trips["pnl"].iloc[0] == pytest.approx(140.0)
    assert trips["exit_reason"].iloc[0] == "strategy"
    assert "wb-round-trips" in panel.trips.value and "LONG" in panel.trips.value


def test_slow_panels_are_drawn_by_the_second_refresh(journal, session):
    """The price chart and the performance panel read the session's data and every fill: the page is
    built without them and the next refresh (the timer's first) draws them."""
    from workbench.widgets import Dashboard

    session.trade("SPY", "SELL", 60, 171.0)
    dash = Dashboard(journal)
    assert dash.performance.frame.empty and dash.prices.figure.data[1].x in (None, ())
    dash.refresh()
    assert len(dash.performance.frame) == 1
    assert len(dash.prices.figure.data[1].x) == 1  # the buy fill's marker
    dash.close()
