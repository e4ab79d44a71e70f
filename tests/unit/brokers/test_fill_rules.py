"""Each order type against the documented fill rules (workbench.brokers.fills), hand-worked.

Every case is a few hand-made bars or quotes run through a TradingEngine + SimulatedBroker. The
strategy submits on the item given as the action's key, so the order meets the *next* item first.
Expected prices are worked out from the rule text, not from the code.
"""

from __future__ import annotations

import pytest

from workbench.brokers.fills import FillModel, SlippageModel
from workbench.model import events as ev
from workbench.model.enums import LiquiditySide, OrderSide, OrderStatus, TrailingOffsetType

TAKER, MAKER = LiquiditySide.TAKER, LiquiditySide.MAKER
PRICE, PERCENT = TrailingOffsetType.PRICE, TrailingOffsetType.PERCENT


def one_fill(trading, result) -> ev.OrderFilled:
    fills = trading.fills(result)
    assert len(fills) == 1, fills
    return fills[0]


# ---------------------------------------------------------------------------------------- market
def test_market_on_bars_fills_at_next_open(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 102, 100.5, 101.5), b(2, 103, 104, 102, 103)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100)})
    f = one_fill(trading, r)
    assert (f.last_price, f.last_quantity, f.side, f.liquidity_side) == (101.0, 100.0, OrderSide.BUY, TAKER)
    assert f.ts_event == data[1].ts_event
    assert r.engine.portfolio.cash == pytest.approx(100_000 - 10_100)
    # marked at the last close: 100 * 103
    assert r.engine.portfolio.equity == pytest.approx(100_000 - 10_100 + 10_300)


@pytest.mark.parametrize(
    ("slippage", "side", "expected"),
    [
        (SlippageModel(bps=10), "buy", 101.101),  # 101 * (1 + 10 / 1e4)
        (SlippageModel(bps=10), "sell", 100.899),  # 101 * (1 - 10 / 1e4)
        (SlippageModel(ticks=2), "buy", 101.02),  # 101 + 2 * 0.01
        (SlippageModel(ticks=2), "sell", 100.98),
        (SlippageModel(bps=10, ticks=1), "buy", 101.111),
    ],
)
def test_market_slippage_bps_and_ticks(trading, slippage, side, expected) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 102, 100.5, 101.5)]
    r = trading.run(data, {0: lambda s, d: getattr(s, side)("SPY", 100)}, fill_model=FillModel(slippage=slippage))
    assert one_fill(trading, r).last_price == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("side", "expected"), [("buy", 100.04), ("sell", 100.00)])
def test_market_on_quotes_fills_at_next_ask_or_bid(trading, side, expected) -> None:
    q = trading.quote
    data = [q(0, 99.98, 100.02), q(1, 100.00, 100.04), q(2, 100.10, 100.12)]
    r = trading.run(data, {0: lambda s, d: getattr(s, side)("SPY", 100)})
    f = one_fill(trading, r)
    assert f.last_price == expected and f.ts_event == data[1].ts_event


def test_market_waits_for_the_next_quote_when_the_symbol_is_quoted(trading) -> None:
    q, b = trading.quote, trading.bar
    data = [q(0, 99.98, 100.02), b(0, 100.5, 101, 100, 100.8), q(2, 100.10, 100.12)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100)})
    f = one_fill(trading, r)
    assert f.last_price == 100.12 and f.ts_event == data[2].ts_event


def test_market_slippage_on_quotes(trading) -> None:
    q = trading.quote
    data = [q(0, 99.98, 100.02), q(1, 100.00, 100.04)]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100)}, fill_model=FillModel(slippage=SlippageModel(ticks=3)))
    assert one_fill(trading, r).last_price == pytest.approx(99.97)


# ----------------------------------------------------------------------------------------- limit
def test_marketable_limit_fills_at_open_as_taker(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 102, 100.5, 101.5)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=102)})
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side) == (101.0, TAKER)


def test_marketable_sell_limit_fills_at_open(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 101, 102, 100.5, 101.5)]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100, limit_price=100)})
    assert one_fill(trading, r).last_price == 101.0


def test_resting_limit_needs_a_trade_through_and_fills_at_limit_as_maker(trading) -> None:
    b = trading.bar
    data = [
        b(0, 100, 100.5, 99.5, 100),
        b(1, 100, 100.5, 99.0, 100),  # touches 99.00 only: no fill
        b(2, 99.5, 99.8, 98.9, 99.2),  # trades through: fill at 99.00
    ]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99)})
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (99.0, MAKER, data[2].ts_event)


def test_resting_limit_fills_on_touch_when_configured(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.0, 100)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99)},
                    fill_model=FillModel(limit_requires_trade_through=False))
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (99.0, MAKER, data[1].ts_event)


def test_sell_limit_trade_through_on_the_high(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 101, 99.5, 100.5), b(2, 100.5, 101.2, 100.2, 101)]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100, limit_price=101)})
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (101.0, MAKER, data[2].ts_event)


def test_limit_not_marketable_at_open_but_traded_through_in_first_bar(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.2, 98.5, 99.5)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99)})
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side) == (99.0, MAKER)


def test_resting_limit_gapped_through_fills_at_the_open(trading) -> None:
    """A resting buy limit at 99 on a bar that opens at 98 fills at the open, inside the bar.

    backtrader ``BackBroker._try_exec_limit``: a buy whose limit is at or above the open executes
    at the open ("open smaller/equal than requested - buy cheaper"); a fill is never outside the
    bar's range. (This test used to assert 99, above the bar's high of 98.5.)
    """
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 99.5, 100), b(2, 98, 98.5, 97.5, 98)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99)})
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (98.0, MAKER, data[2].ts_event)


def test_limit_on_quotes_marketable_then_resting(trading) -> None:
    q = trading.quote
    data = [q(0, 100.01, 100.05), q(1, 100.00, 100.03), q(2, 99.95, 99.99)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=100.0)})
    f = one_fill(trading, r)
    # not marketable at 100.03; resting, the ask reaches 99.99 <= 100: maker at the limit
    assert (f.last_price, f.liquidity_side, f.ts_event) == (100.0, MAKER, data[2].ts_event)

    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=100.04)})
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (100.03, TAKER, data[1].ts_event)


# ------------------------------------------------------------------------------------------ stop
@pytest.mark.parametrize(
    ("bar1", "expected"),
    [
        ((96, 96.5, 94.5, 95.5), 95.0),  # trades down through the stop: at the stop
        ((94, 94.5, 93, 94.2), 94.0),  # gaps through the stop at the open: at the open
        ((96, 96.5, 95.01, 95.5), None),  # stays above: no fill
    ],
)
def test_sell_stop_on_bars(trading, bar1, expected) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, *bar1)]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100, stop_price=95)})
    fills = trading.fills(r)
    if expected is None:
        assert fills == [] and trading.orders(r)[0].status is OrderStatus.ACCEPTED
    else:
        assert [f.last_price for f in fills] == [expected]
        assert fills[0].liquidity_side is TAKER


@pytest.mark.parametrize(("bar1", "expected"), [((104, 106, 103.5, 105.5), 105.01), ((106, 107, 105.5, 106.5), 106.01)])
def test_buy_stop_with_one_tick_slippage(trading, bar1, expected) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, *bar1)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, stop_price=105)},
                    fill_model=FillModel(slippage=SlippageModel(ticks=1)))
    assert one_fill(trading, r).last_price == pytest.approx(expected)


def test_stop_on_quotes_fills_at_the_touching_quote(trading) -> None:
    q = trading.quote
    data = [q(0, 96.00, 96.02), q(1, 95.01, 95.03), q(2, 94.90, 94.95)]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100, stop_price=95)})
    f = one_fill(trading, r)
    assert (f.last_price, f.ts_event) == (94.90, data[2].ts_event)


# ------------------------------------------------------------------------------------ stop-limit
def test_stop_limit_triggered_intrabar_rests_until_next_bar(trading) -> None:
    b = trading.bar
    data = [
        b(0, 100, 100.5, 99.5, 100),
        b(1, 104, 105.2, 103.8, 105.1),  # stop 105 hit inside the bar; low is below the limit but no fill
        b(2, 105.7, 105.8, 105.0, 105.4),  # opens above, trades through 105.50: maker fill at the limit
    ]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, stop_price=105, limit_price=105.5)})
    order = trading.orders(r)[0]
    triggered = trading.events_of(r, ev.OrderTriggered)
    assert [t.ts_event for t in triggered] == [data[1].ts_event]
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (105.5, MAKER, data[2].ts_event)
    assert order.status is OrderStatus.FILLED


def test_stop_limit_gapping_into_the_limit_fills_at_open(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 105.2, 105.8, 105.1, 105.6)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, stop_price=105, limit_price=105.5)})
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (105.2, TAKER, data[1].ts_event)


def test_stop_limit_gapping_beyond_the_limit_waits(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 106, 106.5, 105.8, 106.2), b(2, 105.6, 105.9, 105.4, 105.5)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, stop_price=105, limit_price=105.5)})
    f = one_fill(trading, r)
    assert (f.last_price, f.ts_event) == (105.5, data[2].ts_event)
    assert len(trading.events_of(r, ev.OrderTriggered)) == 1


def test_stop_limit_triggered_at_the_open_works_as_a_limit_for_the_whole_bar(trading) -> None:
    """Buy stop 105 / limit 105.5; the bar opens at 106 (triggered at the open, not marketable)
    and trades back down through 105.5: a maker fill at the limit on that same bar, since the
    order was a limit from the open on (backtrader ``_try_exec_stoplimit``: an open gap past the
    stop hands the bar to ``_try_exec_limit``)."""
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 106, 106.5, 105.2, 105.4)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, stop_price=105, limit_price=105.5)})
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (105.5, MAKER, data[1].ts_event)


def test_stop_limit_on_quotes(trading) -> None:
    q = trading.quote
    # sell stop 95 limit 94.80: triggered at bid 94.70 (below the limit: no fill), then the bid comes back
    data = [q(0, 96.00, 96.02), q(1, 94.70, 94.75), q(2, 94.85, 94.90)]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100, stop_price=95, limit_price=94.8)})
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side, f.ts_event) == (94.80, MAKER, data[2].ts_event)
    # triggered and marketable on the same quote: taker at the bid
    data = [q(0, 96.00, 96.02), q(1, 94.90, 94.95)]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100, stop_price=95, limit_price=94.8)})
    f = one_fill(trading, r)
    assert (f.last_price, f.liquidity_side) == (94.90, TAKER)


# --------------------------------------------------------------------------------- trailing stop
def test_trailing_stop_by_amount_conservative_intrabar_order(trading) -> None:
    b = trading.bar
    data = [
        b(0, 100, 100.5, 99.5, 100),  # stop starts at 100 - 2 = 98
        b(1, 100.5, 103, 100.2, 102.5),  # checked against 98 first (no trigger), then trails to 103 - 2 = 101
        b(2, 102, 102.5, 100.5, 101),  # low 100.5 <= 101: fill at the stop
    ]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100, trailing_offset=2.0, trailing_offset_type=PRICE)})
    f = one_fill(trading, r)
    assert (f.last_price, f.ts_event) == (101.0, data[2].ts_event)


def test_trailing_stop_by_percent(trading) -> None:
    b = trading.bar
    data = [
        b(0, 100, 100.5, 99.5, 100),  # 95.00
        b(1, 101, 110, 100.5, 108),  # trails to 110 * 0.95 = 104.50
        b(2, 106, 107, 104, 104.2),
    ]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100, trailing_offset=5.0, trailing_offset_type=PERCENT)})
    assert one_fill(trading, r).last_price == 104.5


def test_buy_trailing_stop_follows_the_low(trading) -> None:
    b = trading.bar
    data = [
        b(0, 100, 100.5, 99.5, 100),  # 102
        b(1, 99, 99.5, 95, 96),  # trails to 95 + 2 = 97
        b(2, 96, 97.5, 95.5, 97.2),  # high reaches 97: fill at 97
    ]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, trailing_offset=2.0, trailing_offset_type=PRICE)})
    assert one_fill(trading, r).last_price == 97.0


def test_trailing_stop_gap_fills_at_open(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 97, 97.5, 96.5, 97)]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100, trailing_offset=2.0, trailing_offset_type=PRICE)})
    assert one_fill(trading, r).last_price == 97.0


def test_trailing_stop_on_quotes_trails_the_bid_for_a_sell(trading) -> None:
    q = trading.quote
    data = [
        q(0, 100.00, 100.10),  # sell trails the bid: stop 99.00
        q(1, 99.05, 99.15),  # above the stop: no fill
        q(2, 100.50, 100.60),  # stop trails to 99.50
        q(3, 99.40, 99.50),  # fill at the bid
    ]
    r = trading.run(data, {0: lambda s, d: s.sell("SPY", 100, trailing_offset=1.0, trailing_offset_type=PRICE)})
    f = one_fill(trading, r)
    assert (f.last_price, f.ts_event) == (99.40, data[3].ts_event)


def test_buy_trailing_stop_on_quotes_trails_the_ask(trading) -> None:
    q = trading.quote
    data = [q(0, 99.90, 100.00), q(1, 100.85, 100.95), q(2, 98.90, 99.00), q(3, 99.90, 100.00)]
    # stop 101.00; 100.95 does not reach it; trails to 99.00 + 1 = 100.00; ask 100.00 reaches it
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, trailing_offset=1.0, trailing_offset_type=PRICE)})
    f = one_fill(trading, r)
    assert (f.last_price, f.ts_event) == (100.00, data[3].ts_event)


# -------------------------------------------------------------------------------- intrabar order
def test_market_orders_fill_before_limits_on_the_same_bar(trading) -> None:
    """Intrabar order: market first, so with a volume cap the market order takes the volume first."""
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100, volume=10_000), b(1, 101, 101.5, 98, 99, volume=1_000)]

    def place(s, d) -> None:
        s.buy("SPY", 100, limit_price=99.5)  # created first, but a limit
        s.buy("SPY", 100)

    r = trading.run(data, {0: place}, fill_model=FillModel(max_volume_participation=0.1))
    limit, market = trading.orders(r)
    assert market.filled_quantity == 100 and market.avg_fill_price == 101.0
    assert limit.filled_quantity == 0 and limit.status is OrderStatus.ACCEPTED


# ---------------------------------------------------------------------------------- trade prints
def _trade(trading, i: int, price: float, size: float = 100.0):
    from workbench.model.data import TradeTick

    ts = trading.T0 + i * trading.MINUTE
    return TradeTick("SPY", price, size, ts, ts)


def test_market_on_trade_prints_fills_at_the_next_trade(trading) -> None:
    data = [_trade(trading, 0, 100.00), _trade(trading, 1, 100.07), _trade(trading, 2, 100.20)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100)})
    f = one_fill(trading, r)
    assert (f.last_price, f.ts_event) == (100.07, data[1].ts_event)


def test_resting_limit_on_trade_prints_fills_on_a_print_at_the_limit(trading) -> None:
    data = [_trade(trading, 0, 100.00), _trade(trading, 1, 99.50), _trade(trading, 2, 99.00), _trade(trading, 3, 98.0)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99.0)})
    f = one_fill(trading, r)
    # 99.50 is above the limit; a print at 99.00 is a trade at the limit
    assert (f.last_price, f.liquidity_side, f.ts_event) == (99.0, MAKER, data[2].ts_event)
