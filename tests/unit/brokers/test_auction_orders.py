"""MARKET_ON_OPEN / MARKET_ON_CLOSE against the XNYS calendar (hand-worked, 2013-10-07/08)."""

from __future__ import annotations

from workbench.model.enums import OrderSide, OrderStatus, OrderType


def _session_bars(trading, day: str, closes: list[tuple[str, float, float]]):
    """Minute bars at the given New York times: (start, open, close)."""
    return [trading.bar(0, o, max(o, c), min(o, c), c, start=trading.ny_ns(f"{day} {hm}")) for hm, o, c in closes]


def test_market_on_open_fills_at_the_next_sessions_first_open(trading) -> None:
    day1 = _session_bars(trading, "2013-10-07", [("15:58", 100.0, 100.5), ("15:59", 100.5, 101.0)])
    day2 = _session_bars(trading, "2013-10-08", [("09:30", 99.0, 99.5), ("09:31", 99.5, 98.0)])
    quote = trading.quote(0, 100.9, 101.1, start=trading.ny_ns("2013-10-07 16:00"))  # after-hours quote: ignored
    data = [day1[0], day1[1], quote, *day2]

    def place(s, _):
        s.order("SPY", OrderSide.BUY, 10, OrderType.MARKET_ON_OPEN)

    result = trading.run(data, {0: place})
    (order,) = trading.orders(result)
    (fill,) = trading.fills(result)
    assert order.status is OrderStatus.FILLED
    assert fill.last_price == 99.0  # the 09:30 bar's open on 2013-10-08, not the 15:59 bar nor the quote
    assert fill.ts_event == trading.ny_ns("2013-10-08 09:30")


def test_market_on_close_fills_at_the_close_of_the_last_regular_bar(trading) -> None:
    bars = _session_bars(trading, "2013-10-07", [("10:00", 100.0, 100.2), ("15:58", 101.0, 101.5),
                                                 ("15:59", 101.5, 102.25), ("16:00", 102.3, 102.4)])
    quotes = [trading.quote(0, 100.1, 100.3, start=trading.ny_ns("2013-10-07 10:01"))]

    def place(s, _):
        s.order("SPY", OrderSide.SELL, 10, OrderType.MARKET_ON_CLOSE)

    result = trading.run([bars[0], quotes[0], *bars[1:]], {0: place})
    (fill,) = trading.fills(result)
    assert fill.last_price == 102.25  # close of the 15:59 bar, which ends at the 16:00 close
    assert fill.side is OrderSide.SELL
