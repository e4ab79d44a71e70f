"""Market data: bars, quote ticks and trade ticks.

All timestamps are ``int`` nanoseconds since the epoch, UTC.

For a :class:`Bar`, ``ts_event`` is the bar's **start** (as in the shipped files: a one-minute
bar stamped 09:30 covers 09:30:00-09:30:59.999) and ``ts_init`` is the moment the bar became
known, i.e. its end (``ts_event + interval``). The engine delivers every item at its ``ts_init``,
so a strategy never sees a bar before it has closed.

These are plain ``__slots__`` classes rather than dataclasses because a backtest creates one per
row on its hot path.
"""

from __future__ import annotations

from workbench.model.enums import OrderSide


class Bar:
    """An OHLCV bar.

    Attributes
    ----------
    symbol : str
    open, high, low, close : float
        Trade prices in the instrument's currency.
    volume : float
        Traded quantity (shares) during the bar.
    ts_event : int
        Bar start, ns since epoch UTC.
    ts_init : int
        Bar end / time the bar became available, ns since epoch UTC.
    """

    __slots__ = ("close", "high", "low", "open", "symbol", "ts_event", "ts_init", "volume")

    def __init__(
        self,
        symbol: str,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        ts_event: int,
        ts_init: int,
    ) -> None:
        self.symbol = symbol
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.ts_event = ts_event
        self.ts_init = ts_init

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bar) and _slots_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Bar({self.symbol} o={self.open} h={self.high} l={self.low} c={self.close} "
            f"v={self.volume} ts_event={self.ts_event} ts_init={self.ts_init})"
        )


class QuoteTick:
    """Best bid and offer at a moment.

    Attributes
    ----------
    symbol : str
    bid, ask : float
        Prices; NaN when a side is absent.
    bid_size, ask_size : float
        Displayed quantity (shares) at each side.
    ts_event, ts_init : int
        ns since epoch UTC.
    """

    __slots__ = ("ask", "ask_size", "bid", "bid_size", "symbol", "ts_event", "ts_init")

    def __init__(
        self,
        symbol: str,
        bid: float,
        ask: float,
        bid_size: float,
        ask_size: float,
        ts_event: int,
        ts_init: int,
    ) -> None:
        self.symbol = symbol
        self.bid = bid
        self.ask = ask
        self.bid_size = bid_size
        self.ask_size = ask_size
        self.ts_event = ts_event
        self.ts_init = ts_init

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) * 0.5

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QuoteTick) and _slots_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"QuoteTick({self.symbol} {self.bid}x{self.bid_size} / {self.ask}x{self.ask_size} "
            f"ts_event={self.ts_event})"
        )


class TradeTick:
    """One trade print.

    Attributes
    ----------
    symbol : str
    price : float
    size : float
        Shares traded.
    aggressor : OrderSide | None
        Side of the aggressor when the venue reports it.
    ts_event, ts_init : int
        ns since epoch UTC.
    """

    __slots__ = ("aggressor", "price", "size", "symbol", "ts_event", "ts_init")

    def __init__(
        self,
        symbol: str,
        price: float,
        size: float,
        ts_event: int,
        ts_init: int,
        aggressor: OrderSide | None = None,
    ) -> None:
        self.symbol = symbol
        self.price = price
        self.size = size
        self.aggressor = aggressor
        self.ts_event = ts_event
        self.ts_init = ts_init

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TradeTick) and _slots_equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TradeTick({self.symbol} {self.size}@{self.price} ts_event={self.ts_event})"


MarketData = Bar | QuoteTick | TradeTick


def _slots_equal(a: object, b: object) -> bool:
    for name in type(a).__slots__:  # type: ignore[attr-defined]
        x, y = getattr(a, name), getattr(b, name)
        if x != y and not (x != x and y != y):  # NaN == NaN for data equality
            return False
    return True
