"""The simulated broker's snapshot/restore keeps everything that decides the next fill.

Property checked: a broker restored from a snapshot taken between two fills prices the second fill
exactly as the broker that never stopped. With the impact model's permanent impact on (Almgren et
al. 2005: a fill moves the market for the rest of the session), that includes the session's
permanent shift: before it was part of the snapshot, a restarted paper session's next taker fill
came back one permanent impact cheaper than the uninterrupted run's.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench.brokers.fills import FillModel
from workbench.brokers.impact import ImpactModel
from workbench.brokers.simulated import SimulatedBroker, SimulatedBrokerConfig
from workbench.model import events as ev
from workbench.model.data import QuoteTick
from workbench.model.enums import OrderSide, OrderType
from workbench.model.orders import Order

T0 = pd.Timestamp("2013-10-07 14:00", tz="UTC").value  # 10:00 New York, inside the session


def _broker(fills: list[ev.OrderFilled], permanent: float) -> SimulatedBroker:
    impact = ImpactModel(daily_volatility=0.01, daily_volume=1_000_000, temporary_coefficient=0.5,
                         permanent_coefficient=permanent)
    config = SimulatedBrokerConfig(starting_cash=10_000_000, fill_model=FillModel(impact=impact))
    broker = SimulatedBroker(config, clock=lambda: T0)
    broker.connect(lambda e: fills.append(e) if isinstance(e, ev.OrderFilled) else None)
    return broker


def _buy(broker: SimulatedBroker, order_id: str, quantity: float, ts: int) -> None:
    broker.submit_order(Order(ev.OrderInitialized(ts_event=ts, order_id=order_id, symbol="SPY", side=OrderSide.BUY,
                                                  order_type=OrderType.MARKET, quantity=quantity)))
    broker.on_quote(QuoteTick("SPY", 100.00, 100.02, 5_000, 5_000, ts + 1_000_000_000, ts + 1_000_000_000))


@pytest.mark.parametrize("permanent", [0.0, 0.3])
def test_restored_broker_fills_the_next_order_as_the_uninterrupted_one(permanent: float) -> None:
    straight: list[ev.OrderFilled] = []
    a = _broker(straight, permanent)
    a.on_quote(QuoteTick("SPY", 100.00, 100.02, 5_000, 5_000, T0, T0))
    _buy(a, "O-1", 20_000, T0)
    state = json.loads(json.dumps(a.snapshot()))  # what the journal stores: JSON
    _buy(a, "O-2", 20_000, T0 + 10_000_000_000)

    restarted: list[ev.OrderFilled] = []
    b = _broker(restarted, permanent)
    b.restore(state)
    _buy(b, "O-2", 20_000, T0 + 10_000_000_000)
    assert [f.order_id for f in straight] == ["O-1", "O-2"] and [f.order_id for f in restarted] == ["O-2"]
    assert restarted[0].last_price == pytest.approx(straight[1].last_price, abs=1e-12)
    # hand-worked: the first 20,000 shares (2% of the daily volume) move the market permanently by
    # 0.3 * 1% * 2% * 100.02 = 0.0060012; the second fill pays that shift plus its temporary impact
    # 0.5 * 1% * sqrt(2%) on the shifted price
    shift = permanent * 0.01 * 0.02 * 100.02
    temporary = 0.5 * 0.01 * 0.02 ** 0.5
    assert straight[0].last_price == pytest.approx(100.02 * (1 + temporary), abs=1e-9)
    assert straight[1].last_price == pytest.approx((100.02 + shift) * (1 + temporary), abs=1e-9)
