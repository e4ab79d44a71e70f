"""A restarted session's risk monitors keep the state they had before the crash.

The daily loss limit measures the day's loss from start-of-day equity and the drawdown limit from
the equity peak (NautilusTrader and LEAN keep both for the life of the trading node/algorithm; a
restart must not hand the day a fresh loss allowance). The rebuild gives the monitors the journaled
equity samples (``AccountState``, written on every fill and every snapshot interval); here the
samples are taken after every bar, as the live runner's snapshot interval does.

Hand-worked scenario: 100 SPY bought at 100 (equity 100,000); day 1 closes at 200 (equity
110,000); day 2 opens at 192 (loss 800 of the 1,000 allowed; drawdown 0.73%); the session
restarts; then 190 (loss 1,000: at the limit), 189 (loss 1,100: breach) and 150 / 140
(drawdown 4.5% / 5.45% from the 110,000 peak).
Before the fix the restarted engine measured both from its starting cash, 100,000, and saw neither.
"""

from __future__ import annotations

import pytest
from risk_helpers import MINUTE_NS, hold, make_engine, ny_ns, push_bar

from workbench.engine.reconcile import rebuild
from workbench.model.enums import TradingState
from workbench.risk.portfolio_rules import DailyLossLimit, MaxDrawdown


def _bar(engine, price: float, ts: int) -> None:
    push_bar(engine, "SPY", price, ts)
    engine.record(engine.account_state(ts))  # the runner's snapshot-interval sample


def _run_to_restart(monitor_factory):
    straight = make_engine(monitors=[monitor_factory()])
    hold(straight, "SPY", 100, 100.0, ny_ns("2013-10-07 15:00"))
    _bar(straight, 200.0, ny_ns("2013-10-07 16:00"))  # day 1 close: equity 110,000
    _bar(straight, 192.0, ny_ns("2013-10-08 09:31"))  # new session: start-of-day 110,000 (close's)
    _bar(straight, 192.0, ny_ns("2013-10-08 09:32"))
    restarted = make_engine(monitors=[monitor_factory()])
    rebuild(restarted, list(straight.events))
    assert restarted.portfolio.positions["SPY"].quantity == 100
    return straight, restarted


def test_daily_loss_limit_keeps_the_start_of_day_equity_across_a_restart():
    straight, restarted = _run_to_restart(lambda: DailyLossLimit(limit=1_000))
    assert straight.risk.monitors[0].start_equity == pytest.approx(110_000)  # equity at day 1's close
    assert restarted.risk.monitors[0].start_equity == pytest.approx(110_000)
    for engine in (straight, restarted):
        _bar(engine, 190.0, ny_ns("2013-10-08 10:00"))  # day 2 loss 1,000: at the limit
        _bar(engine, 190.0, ny_ns("2013-10-08 10:01"))
        assert engine.risk.state is TradingState.ACTIVE
        _bar(engine, 189.0, ny_ns("2013-10-08 10:02"))  # loss 1,100: breach
        _bar(engine, 189.0, ny_ns("2013-10-08 10:03"))
        assert engine.risk.state is TradingState.REDUCE_ONLY, engine is restarted


def test_drawdown_limit_keeps_the_equity_peak_across_a_restart():
    straight, restarted = _run_to_restart(lambda: MaxDrawdown(percent=0.05))
    assert restarted.risk.monitors[0].peak == pytest.approx(110_000)
    for engine in (straight, restarted):
        _bar(engine, 150.0, ny_ns("2013-10-08 10:00"))  # equity 105,000: drawdown 4.55%
        _bar(engine, 150.0, ny_ns("2013-10-08 10:00") + MINUTE_NS)
        assert engine.risk.state is TradingState.ACTIVE
        _bar(engine, 140.0, ny_ns("2013-10-08 10:02"))  # equity 104,000: drawdown 5.45%
        _bar(engine, 140.0, ny_ns("2013-10-08 10:03"))
        assert engine.risk.state is TradingState.HALTED, engine is restarted
