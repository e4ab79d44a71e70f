"""Sizing and stops, checked against hand-worked numbers; LiveSignal -> journaled signal + bracket orders."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from risk_helpers import MINUTE_NS, T0, make_engine, push_bar

from workbench.engine.strategy import Strategy
from workbench.model import events as ev
from workbench.model.enums import ContingencyType, OrderStatus, OrderType
from workbench.risk.sizing import (
    LiveSignal,
    TrailingStop,
    atr_size,
    atr_stop,
    confidence_scaled_size,
    fixed_fractional_size,
    submit_signal,
    volatility_target_size,
)


def test_fixed_fractional():
    # risk 1% of 100,000 = 1,000 with a stop 2.50 away: 400 shares
    assert fixed_fractional_size(100_000, 0.01, 50.0, 47.5) == 400
    # futures: multiplier 50, stop 10 points away: 1,000 / 500 = 2 contracts; 2.6 rounds down
    assert fixed_fractional_size(100_000, 0.013, 4000, 3990, multiplier=50) == 2
    assert fixed_fractional_size(100_000, 0.01, 50.0, 47.5, lot_size=100) == 400
    assert fixed_fractional_size(100_000, 0.01, 50.0, 47.0, lot_size=100) == 300  # 333.3 -> 300
    with pytest.raises(ValueError, match="entry and stop must differ"):
        fixed_fractional_size(100_000, 0.01, 50.0, 50.0)
    with pytest.raises(ValueError, match="risk_fraction must be positive"):
        fixed_fractional_size(100_000, -0.01, 50.0, 49.0)


def test_atr_and_volatility_target():
    # 1% of 50,000 = 500 over 2 x ATR 1.25 = 2.50 per share: 200 shares
    assert atr_size(50_000, 0.01, 1.25, 2.0) == 200
    # target 10% vol with 25% realized: weight 0.4 of 100,000 = 40,000 at 80 = 500 shares
    assert volatility_target_size(100_000, 0.10, 80.0, 0.25) == 500
    # low volatility is capped at max_leverage 1: 100,000 / 80 = 1,250
    assert volatility_target_size(100_000, 0.10, 80.0, 0.02) == 1250
    assert volatility_target_size(100_000, 0.10, 80.0, 0.02, max_leverage=2.0) == 2500


def test_confidence_scaling():
    assert confidence_scaled_size(1000, 0.5) == 500
    assert confidence_scaled_size(1000, 0.5, exponent=2) == 250
    assert confidence_scaled_size(1000, 0.3, min_confidence=0.4) == 0
    with pytest.raises(ValueError, match="confidence must be in"):
        confidence_scaled_size(1000, 1.5)


def test_stops():
    assert atr_stop(100.0, 2.0, 1.5, +1) == 97.0
    assert atr_stop(100.0, 2.0, 1.5, -1) == 103.0
    trail = TrailingStop(+1, 3.0, 100.0)
    assert trail.stop == 97.0
    assert trail.update(105.0) == 102.0
    assert trail.update(101.0) == 102.0  # never loosens
    assert trail.hit(102.0) and not trail.hit(102.01)
    short = TrailingStop(-1, 2.0, 50.0)
    assert short.update(45.0) == 47.0 and short.update(49.0) == 47.0


def test_live_signal_validation_and_round_trip():
    sig = LiveSignal(symbol="SPY", direction=1, confidence=0.7, entry=100.0, target=110.0, stop=95.0, size=10,
                     reason="breakout", inputs={"atr": 2.5})
    back = LiveSignal.from_event(sig.to_event(T0, "s"))
    assert back == sig
    with pytest.raises(ValidationError, match=r"stop 105\.0 must be on the losing side"):
        LiveSignal(symbol="SPY", direction=1, entry=100.0, stop=105.0)
    with pytest.raises(ValidationError, match=r"target 90\.0 must be on the winning side"):
        LiveSignal(symbol="SPY", direction=1, entry=100.0, target=90.0)
    with pytest.raises(ValidationError):
        LiveSignal(symbol="SPY", direction=2)


class _Signals(Strategy):
    pass


def test_submit_signal_journals_and_sends_a_bracket():
    eng = make_engine()
    strat = _Signals()
    eng.add_strategy(strat)
    push_bar(eng, "SPY", 100.0, T0)
    sig = LiveSignal(symbol="SPY", direction=1, confidence=0.8, target=110.0, stop=95.0, size=10, reason="test")
    entry = submit_signal(strat, sig)
    (journaled,) = [e for e in eng.events if type(e) is ev.SignalGenerated]
    assert (journaled.symbol, journaled.confidence, journaled.stop, journaled.strategy_id) == ("SPY", 0.8, 95.0, "_Signals")
    assert entry.status is OrderStatus.ACCEPTED and entry.contingency is ContingencyType.OTO
    push_bar(eng, "SPY", 100.0, T0 + MINUTE_NS)  # entry fills; the exits are armed
    legs = sorted(eng.open_orders(), key=lambda o: o.tag)
    assert [(o.tag, o.order_type, o.quantity, o.reduce_only) for o in legs] == [
        ("stop_loss", OrderType.STOP, 10, True), ("take_profit", OrderType.LIMIT, 10, True)]
    push_bar(eng, "SPY", 94.0, T0 + 2 * MINUTE_NS)  # stop hit; take-profit canceled (OCO)
    assert eng.portfolio.quantity("SPY") == 0 and eng.open_orders() == []


def test_submit_signal_trailing_stop_leg():
    eng = make_engine()
    strat = _Signals()
    eng.add_strategy(strat)
    push_bar(eng, "SPY", 100.0, T0)
    submit_signal(strat, LiveSignal(symbol="SPY", direction=-1, stop=103.0, size=5), trailing=True)
    push_bar(eng, "SPY", 100.0, T0 + MINUTE_NS)
    (leg,) = eng.open_orders()
    assert (leg.order_type, leg.trailing_offset, leg.side.value) == (OrderType.TRAILING_STOP, 3.0, "BUY")
    with pytest.raises(ValueError, match="has no size"):
        submit_signal(strat, LiveSignal(symbol="SPY", direction=1))
    assert submit_signal(strat, LiveSignal(symbol="SPY", direction=0)).side.value == "BUY"  # closes the short
