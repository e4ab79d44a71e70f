"""Issue 9, item 6: every modify is a risk-checked command.

Expected behaviour and its source: LEAN's ``UpdateOrder`` goes through the brokerage model's
``CanUpdateOrder`` and the pre-order checks again, and NautilusTrader's ``RiskEngine`` checks
``ModifyOrder`` commands (quantity and price) against the same limits as ``SubmitOrder``. An order
approved at 100 shares must not become a 10,000-share order that fills.
"""

from __future__ import annotations

from risk_helpers import BUY, MINUTE_NS, T0, make_engine, place, push_bar

from workbench.model import events as ev
from workbench.model.enums import OrderStatus, TradingState
from workbench.risk import rules as r


def test_a_modify_beyond_the_order_quantity_limit_is_rejected_and_the_order_keeps_its_terms() -> None:
    eng = make_engine([r.MaxOrderQuantity(500)])
    push_bar(eng, "SPY", 100.0, T0)
    order = place(eng, "SPY", BUY, 100, limit_price=90.0)
    assert order.status is OrderStatus.ACCEPTED
    eng.modify_order(order.order_id, quantity=10_000, limit_price=101.0)
    assert order.quantity == 100 and order.limit_price == 90.0 and order.status is OrderStatus.ACCEPTED
    (rejected,) = [e for e in eng.events if type(e) is ev.OrderModifyRejected]
    assert rejected.reason.startswith("risk: max_order_quantity: order quantity 10,000 exceeds limit 500")
    (risk,) = [e for e in eng.events if type(e) is ev.RiskEvent]
    assert (risk.rule, risk.action) == ("max_order_quantity", "deny_modify")
    push_bar(eng, "SPY", 89.0, T0 + MINUTE_NS)  # trades through the original limit only
    assert order.status is OrderStatus.FILLED and eng.portfolio.quantity("SPY") == 100


def test_a_modify_is_checked_against_position_limits_without_counting_itself_twice() -> None:
    eng = make_engine([r.MaxPositionQuantity(500)])
    push_bar(eng, "SPY", 100.0, T0)
    order = place(eng, "SPY", BUY, 400, limit_price=90.0)
    eng.modify_order(order.order_id, quantity=450)  # 450 <= 500: passes (400 + 450 would not)
    assert order.quantity == 450 and not [e for e in eng.events if type(e) is ev.OrderModifyRejected]
    eng.modify_order(order.order_id, quantity=600)
    assert order.quantity == 450
    (rejected,) = [e for e in eng.events if type(e) is ev.OrderModifyRejected]
    assert "max_position_quantity" in rejected.reason
    assert eng.risk.pending.buy_quantity["SPY"] == 450  # the open-order totals are unchanged by the check


def test_a_modify_while_halted_is_rejected() -> None:
    eng = make_engine()
    push_bar(eng, "SPY", 100.0, T0)
    order = place(eng, "SPY", BUY, 100, limit_price=90.0)
    eng.set_trading_state(TradingState.HALTED, "test")
    eng.modify_order(order.order_id, limit_price=100.5)  # would make it marketable while halted
    assert order.limit_price == 90.0
    (rejected,) = [e for e in eng.events if type(e) is ev.OrderModifyRejected]
    assert rejected.reason.startswith("risk: trading is HALTED (test)")
