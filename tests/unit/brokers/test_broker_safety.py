"""Issue 9, items 1-5: what the simulated broker got wrong, each against the field's behaviour.

Each test failed on the broker before the fix; its docstring states the expected behaviour and
where it comes from (NautilusTrader, LEAN, backtrader, Interactive Brokers). Data are hand-made
bars and quotes run through a TradingEngine + SimulatedBroker (``trading`` fixture, conftest).
"""

from __future__ import annotations

import pytest

from workbench.model import events as ev
from workbench.model.enums import LiquiditySide, OrderSide, OrderStatus, OrderType

TAKER, MAKER = LiquiditySide.TAKER, LiquiditySide.MAKER


def _flat_bars(trading, n: int, price: float = 100.0) -> list:
    return [trading.bar(i, price, price + 0.5, price - 0.5, price) for i in range(n)]


# ------------------------------------------------------------------ item 1: no offsetting in checks
def test_item1_far_buy_limit_is_no_cover_for_a_sell_without_shorting(trading) -> None:
    """A working buy limit far below the market does not make a sell "end flat".

    With ``allow_short=False`` a sell that would go short if it filled before the buy limit is
    rejected: working orders never offset each other in a pre-trade check (NautilusTrader locks
    balance per open order and never nets a buy against a sell; LEAN's buying-power models judge
    each order against the holdings, reserving open orders, never crediting them).
    """
    data = _flat_bars(trading, 4)

    def place(s, _) -> None:
        s.buy("SPY", 100, limit_price=50.0)  # far away: never fills
        s.sell("SPY", 100)  # flat: would open a short

    r = trading.run(data, {0: place}, allow_short=False)
    far_buy, sell = trading.orders(r)
    assert far_buy.status is OrderStatus.ACCEPTED
    assert sell.status is OrderStatus.REJECTED and "short" in sell.reason
    assert r.engine.portfolio.quantity("SPY") == 0.0


def test_item1_working_sell_does_not_free_buying_power_for_a_buy(trading) -> None:
    """Long 100 at 100 with all 10,000 of cash, a far-away sell limit working: buying 100 more
    would make the account 2x levered at leverage 1, so it is rejected (a guard: the old check
    got this direction right, the new per-side one must too). Source: as above (per-order
    reservation; NautilusTrader ``CashAccount`` / ``MarginAccount``, LEAN ``CashBuyingPowerModel``).
    """
    data = _flat_bars(trading, 4)
    r = trading.run(data, {
        0: lambda s, d: s.buy("SPY", 100),  # fills at the next open, 100: all the cash
        1: lambda s, d: (s.sell("SPY", 100, limit_price=200.0), s.buy("SPY", 100)),
    }, starting_cash=10_000)
    first, far_sell, second = trading.orders(r)
    assert first.status is OrderStatus.FILLED
    assert far_sell.status is OrderStatus.ACCEPTED
    assert second.status is OrderStatus.REJECTED and "buying power" in second.reason
    assert r.engine.portfolio.quantity("SPY") == 100.0


def test_item1_both_sides_reserve_buying_power(trading) -> None:
    """Flat with 10,000: a far buy limit of 100 shares at a mark of 100 reserves 10,000, so a
    short sale of 100 more is refused (NautilusTrader sums the margin of all open orders)."""
    data = _flat_bars(trading, 3)
    r = trading.run(data, {0: lambda s, d: (s.buy("SPY", 100, limit_price=50.0), s.sell("SPY", 100))},
                    starting_cash=10_000)
    buy, sell = trading.orders(r)
    assert buy.status is OrderStatus.ACCEPTED
    assert sell.status is OrderStatus.REJECTED and "buying power" in sell.reason


# ------------------------------------------------------------- item 2: no fill outside the bar
@pytest.mark.parametrize(
    ("side", "limit", "bar", "expected"),
    [
        ("buy", 99.0, (97.0, 98.0, 96.5, 97.5), 97.0),  # gaps down through a buy limit: the open
        ("sell", 101.0, (103.0, 103.5, 102.0, 102.5), 103.0),  # gaps up through a sell limit: the open
    ],
)
def test_item2_resting_limit_gapped_through_fills_at_the_open_inside_the_bar(trading, side, limit, bar,
                                                                            expected) -> None:
    """A resting buy limit at 99 on a bar that gaps down (open 97, high 98) fills at 97, the open,
    never at 99 above the bar's high (and the mirror case for a sell).

    backtrader ``BackBroker._try_exec_limit``: "open smaller/equal than requested - buy cheaper":
    executes at the open; LEAN's ``EquityFillModel.LimitFill`` also caps a buy at the bar's high.
    """
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.5, 100), b(2, *bar)]
    r = trading.run(data, {0: lambda s, d: getattr(s, side)("SPY", 100, limit_price=limit)})
    (f,) = trading.fills(r)
    assert f.last_price == expected and f.ts_event == data[2].ts_event
    assert bar[2] <= f.last_price <= bar[1]


# ----------------------------------------------------- item 3: modified to marketable = taker
def test_item3_limit_modified_to_marketable_fills_at_the_quote_as_taker(trading) -> None:
    """A resting buy limit raised above the ask takes the ask as a taker, not its new limit.

    A modified price is a new arrival: NautilusTrader's ``OrderMatchingEngine._update_limit_order``
    sets ``liquidity_side = TAKER`` on a limit whose new price is marketable and fills it against
    the book; IB treats a price change as cancel/replace. (Here it meets the next quote, per the
    rule that an order meets only data after it.)
    """
    q = trading.quote
    data = [q(0, 100.00, 100.05), q(1, 100.00, 100.05), q(2, 100.01, 100.04), q(3, 100.02, 100.06)]
    r = trading.run(data, {
        0: lambda s, d: s.buy("SPY", 100, limit_price=99.0),
        1: lambda s, d: s.modify(s.open_orders("SPY")[0], limit_price=101.0),
    })
    (f,) = trading.fills(r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (100.04, TAKER, data[2].ts_event)


def test_item3_limit_modified_to_marketable_fills_at_the_bar_open_as_taker(trading) -> None:
    """Same on bars: the next bar opens at 101 below the new limit of 102: a taker fill at the
    open (backtrader: a limit at or above the open executes at the open), not 102 (outside the
    bar, whose high is 101.5)."""
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.5, 100), b(2, 101, 101.5, 100.5, 101)]
    r = trading.run(data, {
        0: lambda s, d: s.buy("SPY", 100, limit_price=95.0),
        1: lambda s, d: s.modify(s.open_orders("SPY")[0], limit_price=102.0),
    })
    (f,) = trading.fills(r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (101.0, TAKER, data[2].ts_event)


# ------------------------------------------------- item 4: only data that starts after the order
def test_item4_order_from_a_timer_between_bars_waits_for_the_next_bar(trading) -> None:
    """A market order placed by a timer at 09:31:30 is not matched against the 09:31-09:32 bar
    (which opened at 09:31:00, before the order existed) but fills at the 09:32 bar's open.

    Source: the promise in ``workbench.brokers.fills`` ("only ever matched against market data that
    arrives after it was submitted"); LEAN's fill models do not fill on data that ends before the
    order time, backtrader fills a market order at the open of the bar *after* the one it was
    placed in.
    """
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 101.5, 100.5, 101), b(2, 102, 102.5, 101.5, 102)]
    placed: list[int] = []

    def at_timer(s):
        def fire(event) -> None:
            placed.append(s.now_ns)
            s.buy("SPY", 100)
        return fire

    def arm(s, _) -> None:  # on the 09:30 bar, delivered at 09:31: a one-off timer at 09:31:30
        s.engine.clock.set_time_alert("once", trading.T0 + trading.MINUTE + 30 * 1_000_000_000, at_timer(s))

    r = trading.run(data, {0: arm})
    (f,) = trading.fills(r)
    assert placed == [trading.T0 + trading.MINUTE + 30 * 1_000_000_000]
    assert f.ts_event >= placed[0]
    assert (f.last_price, f.ts_event) == (102.0, data[2].ts_event)


def test_item4_modified_order_meets_only_data_after_the_modification(trading) -> None:
    """A limit raised by a timer at 09:31:30 does not fill on the 09:31 bar's low at 09:31:xx
    (which may have printed before the change); it fills on the next bar."""
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.2, 98.0, 99), b(2, 99.5, 99.8, 98.5, 99)]

    def arm(s, _) -> None:
        order = s.buy("SPY", 100, limit_price=90.0)
        s.engine.clock.set_time_alert("raise", trading.T0 + trading.MINUTE + 30 * 1_000_000_000,
                                      lambda e: s.modify(order, limit_price=99.0))

    r = trading.run(data, {0: arm})
    (f,) = trading.fills(r)
    assert (f.last_price, f.ts_event) == (99.0, data[2].ts_event)


# ------------------------------------------------------------- item 5: reduce-only never flips
def test_item5_two_reduce_only_closes_never_leave_the_account_short(trading) -> None:
    """The kill switch's close and a breaker's position reduction, both reduce-only sells of the
    full 100-share long, are working at once: the first closes the position, the second is
    canceled, the account ends flat, not short 100.

    NautilusTrader ``OrderMatchingEngine.apply_fills``: a reduce-only fill is limited to the
    position left ("Adjust fill to honor reduce only execution") and nothing fills once it is flat.
    """
    data = _flat_bars(trading, 4)
    r = trading.run(data, {
        0: lambda s, d: s.buy("SPY", 100),
        1: lambda s, d: (s.sell("SPY", 100, reduce_only=True, tag="kill_switch"),
                         s.sell("SPY", 100, reduce_only=True, tag="breaker")),
    })
    _, first, second = trading.orders(r)
    assert first.status is OrderStatus.FILLED and first.filled_quantity == 100
    assert second.status is OrderStatus.CANCELED and second.filled_quantity == 0
    assert "reduce-only" in trading.events_of(r, ev.OrderCanceled, second.order_id)[0].reason
    assert r.engine.portfolio.quantity("SPY") == 0.0


def test_item5_reduce_only_stop_after_a_close_is_canceled_not_filled(trading) -> None:
    """A reduce-only stop-loss left working after the position was closed by hand does not open a
    short when the price later falls through it (NautilusTrader, as above)."""
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.5, 100), b(2, 100, 100.5, 99.5, 100),
            b(3, 100, 100.5, 99.5, 100), b(4, 96, 96.5, 94, 95)]
    r = trading.run(data, {
        0: lambda s, d: s.buy("SPY", 100),
        1: lambda s, d: s.sell("SPY", 100, stop_price=97.0, reduce_only=True),
        2: lambda s, d: s.sell("SPY", 100),  # closes by hand, not through the stop
    })
    _, stop, close = trading.orders(r)
    assert close.status is OrderStatus.FILLED
    assert stop.status is OrderStatus.CANCELED and stop.filled_quantity == 0
    assert r.engine.portfolio.quantity("SPY") == 0.0


def test_item5_reduce_only_larger_than_the_position_is_clipped(trading) -> None:
    """A reduce-only sell of 150 against a long 100 fills 100 and ends FILLED at quantity 100
    (an ``OrderModified`` shrinks it first), as NautilusTrader's ``OrderUpdated`` does."""
    data = _flat_bars(trading, 4)
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100), 1: lambda s, d: s.sell("SPY", 150, reduce_only=True)})
    _, close = trading.orders(r)
    (mod,) = trading.events_of(r, ev.OrderModified, close.order_id)
    assert mod.quantity == 100
    assert (close.status, close.quantity, close.filled_quantity) == (OrderStatus.FILLED, 100, 100)
    assert r.engine.portfolio.quantity("SPY") == 0.0


def test_item5_reduce_only_that_would_open_a_position_is_rejected(trading) -> None:
    """A reduce-only order with nothing to reduce is rejected on arrival (NautilusTrader: "REDUCE_ONLY
    order would have increased position")."""
    data = _flat_bars(trading, 3)
    r = trading.run(data, {0: lambda s, d: s.order("SPY", OrderSide.SELL, 10, OrderType.MARKET, reduce_only=True)})
    (order,) = trading.orders(r)
    assert order.status is OrderStatus.REJECTED and "reduce-only" in order.reason


def test_a_sell_overtaken_by_a_reduce_only_exit_never_goes_short(trading) -> None:
    """Long 100 with shorting disallowed: a plain sell of 100 passes the pre-trade check, then a
    reduce-only exit of 100 arrives and fills first (it is at the open, the sell is a stop below).
    When the stop triggers there is nothing left to sell: it is canceled, never filled to -100.
    Shorting-disallowed accounts never go short (Alpaca rejects a sell beyond the long position
    unless the account may short; NautilusTrader's cash account denies it). Found by the property
    test (`test_broker_properties`): a market sell from a bracket overtaken by a reduce-only limit.
    """
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.5, 100), b(2, 100, 100.5, 99.5, 100),
            b(3, 96, 96.5, 94, 95), b(4, 95, 95.5, 94.5, 95)]
    r = trading.run(data, {
        0: lambda s, d: s.buy("SPY", 100),
        1: lambda s, d: (s.sell("SPY", 100, stop_price=97.0),  # plain sell: the long covers it now
                         s.sell("SPY", 100, reduce_only=True)),  # the exit that gets there first
    }, allow_short=False)
    _, stop, exit_ = trading.orders(r)
    assert exit_.status is OrderStatus.FILLED and exit_.filled_quantity == 100
    assert stop.status is OrderStatus.CANCELED and stop.filled_quantity == 0
    assert "short selling not allowed" in trading.events_of(r, ev.OrderCanceled, stop.order_id)[0].reason
    assert r.engine.portfolio.quantity("SPY") == 0.0
