"""Time in force (DAY at the XNYS close, GTD, IOC, FOK) and partial fills capped by bar volume.

Times are real New York wall-clock times of 2013-10-07 (a Monday; XNYS closed at 16:00 EDT =
20:00 UTC) so DAY expiry comes from the exchange calendar.
"""

from __future__ import annotations

import pytest

from workbench.brokers.fills import FillModel
from workbench.model import events as ev
from workbench.model.enums import OrderStatus, TimeInForce

DAY, GTD, IOC, FOK = TimeInForce.DAY, TimeInForce.GTD, TimeInForce.IOC, TimeInForce.FOK
CAP_10_PERCENT = FillModel(max_volume_participation=0.1)


def minute_bars(trading, start: str, rows: list[tuple]) -> list:
    return [trading.bar(i, *row, start=trading.ny_ns(start)) for i, row in enumerate(rows)]


# ------------------------------------------------------------------------------------------ DAY
def test_day_order_expires_at_the_session_close(trading) -> None:
    data = minute_bars(trading, "2013-10-07 15:57", [
        (100, 100.5, 99.5, 100),  # 15:57, order placed when it closes (15:58)
        (100, 100.5, 99.5, 100),  # 15:58
        (100, 100.5, 99.5, 100),  # 15:59 (ends at the 16:00 close)
        (100, 100.5, 99.5, 100),  # 16:00 after hours
    ]) + minute_bars(trading, "2013-10-08 09:30", [(98, 98.5, 97, 98)])  # next day trades through 99
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99, time_in_force=DAY)})
    order = trading.orders(r)[0]
    assert order.status is OrderStatus.EXPIRED
    [expired] = trading.events_of(r, ev.OrderExpired)
    assert expired.ts_event == trading.ny_ns("2013-10-07 16:00")
    assert trading.fills(r) == []


def test_day_order_can_fill_on_the_last_bar_of_the_session(trading) -> None:
    """The 15:59 bar trades before the close: a DAY order is still working during it."""
    data = minute_bars(trading, "2013-10-07 15:57", [
        (100, 100.5, 99.5, 100),
        (100, 100.5, 99.5, 100),
        (99.5, 99.8, 98.5, 99),  # 15:59-16:00 trades through 99
    ])
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99, time_in_force=DAY)})
    [fill] = trading.fills(r)
    assert fill.last_price == 99.0 and fill.ts_event == trading.ny_ns("2013-10-07 15:59")
    assert trading.orders(r)[0].status is OrderStatus.FILLED


def test_day_order_placed_after_the_close_lives_through_the_next_session(trading) -> None:
    data = minute_bars(trading, "2013-10-07 16:30", [(100, 100.5, 99.5, 100)]) + minute_bars(
        trading, "2013-10-08 15:59", [(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100)]
    )
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=90, time_in_force=DAY)})
    [expired] = trading.events_of(r, ev.OrderExpired)
    assert expired.ts_event == trading.ny_ns("2013-10-08 16:00")


def test_day_order_on_daily_bars_fills_on_the_next_session(trading) -> None:
    """Daily bars: ts_event 09:30, ts_init 16:00. A DAY order placed at the 16:00 close works next day."""
    day = 24 * 3600 * 10**9
    start = trading.ny_ns("2013-10-07 09:30")
    interval = trading.ny_ns("2013-10-07 16:00") - start

    def daily(i: int, *ohlc: float):
        bar = trading.bar(0, *ohlc, start=start + i * day, interval=interval)
        return bar

    data = [daily(0, 100, 101, 99, 100), daily(1, 99.5, 100, 98, 99), daily(2, 97, 98, 96, 97)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99.8, time_in_force=DAY)})
    [fill] = trading.fills(r)
    assert fill.last_price == 99.5  # marketable at the open of 2013-10-08
    assert fill.ts_event == data[1].ts_event
    # and one that does not fill that day expires at that day's close
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=97.5, time_in_force=DAY)})
    assert trading.fills(r) == []
    [expired] = trading.events_of(r, ev.OrderExpired)
    assert expired.ts_event == trading.ny_ns("2013-10-08 16:00")


# ------------------------------------------------------------------------------------------ GTD
def test_gtd_order_expires_at_its_time(trading) -> None:
    data = minute_bars(trading, "2013-10-07 10:00", [(100, 100.5, 99.5, 100)] * 4 + [(98, 98.5, 97, 98)])
    expire = trading.ny_ns("2013-10-07 10:03")
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99, time_in_force=GTD,
                                                  expire_time_ns=expire)})
    [expired] = trading.events_of(r, ev.OrderExpired)
    assert expired.ts_event == expire
    assert trading.fills(r) == []


def test_gtd_order_fills_before_its_time(trading) -> None:
    data = minute_bars(trading, "2013-10-07 10:00", [(100, 100.5, 99.5, 100), (100, 100.5, 98.5, 99)])
    expire = trading.ny_ns("2013-10-07 10:03")
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99, time_in_force=GTD,
                                                  expire_time_ns=expire)})
    assert [f.last_price for f in trading.fills(r)] == [99.0]


def test_gtd_without_expire_time_is_rejected(trading) -> None:
    data = minute_bars(trading, "2013-10-07 10:00", [(100, 100.5, 99.5, 100)] * 2)
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99, time_in_force=GTD)})
    order = trading.orders(r)[0]
    assert order.status is OrderStatus.REJECTED and "expire_time_ns" in order.reason


# ------------------------------------------------------------------------------------ IOC / FOK
def test_ioc_fills_what_the_volume_cap_allows_then_cancels(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100, volume=500), b(1, 101, 102, 100.5, 101.5, volume=500),
            b(2, 101, 102, 100.5, 101.5, volume=500)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, time_in_force=IOC)}, fill_model=CAP_10_PERCENT)
    order = trading.orders(r)[0]
    assert [(f.last_quantity, f.last_price) for f in trading.fills(r)] == [(50.0, 101.0)]  # 10% of 500
    assert order.status is OrderStatus.CANCELED and order.filled_quantity == 50.0
    assert r.engine.portfolio.quantity("SPY") == 50.0


def test_ioc_limit_not_marketable_on_arrival_is_canceled(trading) -> None:
    b = trading.bar
    # the arrival bar opens above the limit and only later trades through it: an IOC never rests
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 100, 100.5, 98.5, 99), b(2, 98, 98.5, 97, 98)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99, time_in_force=IOC)})
    order = trading.orders(r)[0]
    assert order.status is OrderStatus.CANCELED and trading.fills(r) == []


def test_ioc_limit_marketable_on_arrival_fills(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100), b(1, 98.8, 100.5, 98.5, 99)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, limit_price=99, time_in_force=IOC)})
    assert [f.last_price for f in trading.fills(r)] == [98.8]
    assert trading.orders(r)[0].status is OrderStatus.FILLED


@pytest.mark.parametrize(("quantity", "filled"), [(100, 0.0), (50, 50.0), (40, 40.0)])
def test_fok_is_all_or_nothing_under_the_volume_cap(trading, quantity, filled) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100, volume=500), b(1, 101, 102, 100.5, 101.5, volume=500),
            b(2, 101, 102, 100.5, 101.5, volume=5_000)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", quantity, time_in_force=FOK)}, fill_model=CAP_10_PERCENT)
    order = trading.orders(r)[0]
    assert order.filled_quantity == filled
    assert order.status is (OrderStatus.FILLED if filled else OrderStatus.CANCELED)
    assert sum(f.last_quantity for f in trading.fills(r)) == filled


@pytest.mark.parametrize(("ask_size", "filled"), [(50, 0.0), (100, 100.0), (500, 100.0)])
def test_fok_on_quotes_needs_the_displayed_size(trading, ask_size, filled) -> None:
    q = trading.quote
    data = [q(0, 99.98, 100.02), q(1, 100.00, 100.04, ask_size=ask_size), q(2, 100.00, 100.04, ask_size=10_000)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, time_in_force=FOK)})
    order = trading.orders(r)[0]
    assert order.filled_quantity == filled
    assert order.status is (OrderStatus.FILLED if filled else OrderStatus.CANCELED)


def test_ioc_on_quotes_takes_the_displayed_size_and_cancels_the_rest(trading) -> None:
    q = trading.quote
    data = [q(0, 99.98, 100.02), q(1, 100.00, 100.04, ask_size=30), q(2, 100.00, 100.04, ask_size=10_000)]
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 100, time_in_force=IOC)})
    order = trading.orders(r)[0]
    assert [(f.last_quantity, f.last_price) for f in trading.fills(r)] == [(30.0, 100.04)]
    assert order.status is OrderStatus.CANCELED and order.filled_quantity == 30.0


# --------------------------------------------------------------------------------- partial fills
def test_gtc_order_fills_over_several_bars_under_the_volume_cap(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100, volume=1_000), b(1, 101, 102, 100.5, 101.5, volume=1_000),
            b(2, 102, 103, 101.5, 102.5, volume=1_000), b(3, 103, 104, 102.5, 103.5, volume=1_000)]
    statuses = []
    r = trading.run(data, {0: lambda s, d: s.buy("SPY", 250),
                           1: lambda s, d: statuses.append(s.engine.orders["O-000001"].status)},
                    fill_model=CAP_10_PERCENT)
    assert [(f.last_quantity, f.last_price) for f in trading.fills(r)] == [(100.0, 101.0), (100.0, 102.0),
                                                                          (50.0, 103.0)]
    assert statuses == [OrderStatus.PARTIALLY_FILLED]
    order = trading.orders(r)[0]
    assert order.status is OrderStatus.FILLED
    assert order.avg_fill_price == pytest.approx((100 * 101 + 100 * 102 + 50 * 103) / 250)


def test_volume_cap_is_shared_by_the_orders_of_a_symbol_and_rounded_to_lots(trading) -> None:
    b = trading.bar
    data = [b(0, 100, 100.5, 99.5, 100, volume=1_000), b(1, 101, 102, 100.5, 101.5, volume=555),
            b(2, 102, 103, 101.5, 102.5, volume=1_000)]

    def place(s, d) -> None:
        s.buy("SPY", 40)
        s.buy("SPY", 40)

    r = trading.run(data, {0: place}, fill_model=CAP_10_PERCENT)
    first, second = trading.orders(r)
    by_order = [(f.order_id, f.last_quantity) for f in trading.fills(r)]
    # bar 1: 10% of 555 = 55.5 -> 55 shares: 40 to the first order, 15 to the second; bar 2: the last 25
    assert by_order == [(first.order_id, 40.0), (second.order_id, 15.0), (second.order_id, 25.0)]
