"""IB market data: quotes and trades (``reqMktData``), 5-second real-time bars aggregated to the
strategy's bar size, tick-by-tick where asked, historical bars for warm-up (paced).

Contracts are qualified once (``reqContractDetails``) and cached; a symbol IB cannot resolve
(error 200) is reported in the health counters and skipped, never retried in a loop. After a
reconnect (or IB's 1101 "connectivity restored, data lost") every subscription is sent again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import Iterable
from typing import Any

from workbench.adapters.base import DataClient, ReconnectPolicy
from workbench.adapters.ibkr import parsing
from workbench.adapters.ibkr.connection import IbkrConnection
from workbench.adapters.ibkr.parsing import ErrorKind
from workbench.errors import BrokerError
from workbench.model.data import Bar

_log = logging.getLogger(__name__)
_NS = 1_000_000_000


class BarAggregator:
    """5-second bars -> bars of ``seconds`` (a multiple of 5), aligned to the epoch (UTC).

    A bar is emitted when its last 5-second bar arrives, or when a bar of a later period arrives
    first (a gap). OHLCV rule: first open, max high, min low, last close, summed volume.
    """

    def __init__(self, symbol: str, seconds: int) -> None:
        self.symbol, self.seconds = symbol, seconds
        self._start: int | None = None
        self._ohlcv: list[float] = []

    def add(self, bar: Bar) -> list[Bar]:
        span = self.seconds * _NS
        start = bar.ts_event - bar.ts_event % span
        out: list[Bar] = []
        if self._start is not None and start != self._start:
            out.append(self._flush())
        if self._start is None:
            self._start = start
            self._ohlcv = [bar.open, bar.high, bar.low, bar.close, bar.volume]
        else:
            o = self._ohlcv
            o[1], o[2], o[3], o[4] = max(o[1], bar.high), min(o[2], bar.low), bar.close, o[4] + bar.volume
        if bar.ts_init >= start + span:
            out.append(self._flush())
        return out

    def _flush(self) -> Bar:
        assert self._start is not None
        o, start = self._ohlcv, self._start
        self._start, self._ohlcv = None, []
        return Bar(self.symbol, o[0], o[1], o[2], o[3], o[4], start, start + self.seconds * _NS)


class IbkrDataClient(DataClient):
    """Market data from IB as domain items (an async iterable: the live runner's feed).

    ``subscriptions`` (kind -> symbols) are sent at every connect; ``follow_clock`` (a
    :class:`~workbench.clock.ReplayClock`) is rebased to each item's time, so the engine's clock
    follows the stream's data time (the real market, or an emulator's replay).

    Kinds: ``"quotes"`` and ``"trades"`` (one ``reqMktData`` per symbol), ``"bars"``
    (``reqRealTimeBars``, aggregated to ``config.bar_seconds``), ``"ticks"`` (``reqTickByTickData``
    BidAsk, when ``config.tick_by_tick``).
    """

    def __init__(self, connection: IbkrConnection, subscriptions: dict[str, Iterable[str]] | None = None, *,
                 follow_clock: Any = None, component: str = "ibkr.data", **kwargs: Any) -> None:
        cfg = connection.config
        kwargs.setdefault("reconnect", ReconnectPolicy(initial=cfg.reconnect_delays[0], maximum=cfg.reconnect_delays[-1],
                                                       max_attempts=cfg.max_reconnect_attempts or None))
        super().__init__(component, **kwargs)
        self.connection = connection
        self.ib = connection.ib
        self.contracts: dict[str, Any] = {}
        self.unknown: set[str] = set()
        self._tickers: dict[str, Any] = {}  # symbol -> Ticker (reqMktData)
        self._by_ticker: dict[int, str] = {}
        self._bars: dict[str, Any] = {}  # symbol -> RealTimeBarList
        self._aggregators: dict[str, BarAggregator] = {}
        self._tick_by_tick: dict[str, Any] = {}
        self._book: dict[str, list[float]] = {}  # symbol -> [bid, ask, bid size, ask size]
        self.follow_clock = follow_clock
        self._last_ts = 0
        for kind, symbols in (subscriptions or {}).items():
            self.subscriptions.add(kind, symbols)
        self.ib.pendingTickersEvent += self._on_tickers
        connection.error_listeners.append(self._on_error)

    def emit(self, item: Any) -> None:
        """Hand an item to the feed in time order; the engine's clock (``follow_clock``) moves to its time.

        IB's quotes carry no time: they are stamped on arrival (the followed clock), which can run
        ahead of the next bar's end; an item arriving after a later-stamped one gets that later
        ``ts_init`` (when we saw it), so the engine sees non-decreasing times.
        """
        first = not self._last_ts
        if item.ts_init < self._last_ts:
            if type(item) is not Bar:
                item.ts_event = self._last_ts
            item.ts_init = self._last_ts
        self._last_ts = item.ts_init
        clock = self.follow_clock
        # the first item anchors the clock (a replaying emulator's data time may be years before the
        # wall clock the session started on); later ones only move it forward
        if clock is not None and (first or item.ts_init > clock.timestamp_ns()):
            clock.rebase(item.ts_init)
        super().emit(item)

    # ------------------------------------------------------------------------- connection
    async def _open(self) -> None:
        await self.connection.connect()
        self._tickers.clear()
        self._by_ticker.clear()
        self._bars.clear()
        self._tick_by_tick.clear()

    async def _session(self) -> None:
        await self.connection.lost.wait()

    async def _close(self) -> None:
        return None

    def report_health(self) -> None:
        """Post health with IB's client id, pacing and last message age (the dashboard's health panel)."""
        self.post(self.connection.health_event(self))

    def _on_error(self, req_id: int, code: int, message: str, kind: ErrorKind) -> None:
        if kind is ErrorKind.RESTORED_DATA_LOST and self.connection.connected:
            self._tickers.clear()
            self._bars.clear()
            self._tick_by_tick.clear()
            asyncio.get_running_loop().create_task(self._resubscribe())

    # -------------------------------------------------------------------------- contracts
    async def qualify(self, symbol: str) -> Any | None:
        """The qualified contract for ``symbol`` (cached), or None if IB cannot resolve it."""
        contract = self.contracts.get(symbol)
        if contract is not None or symbol in self.unknown:
            return contract
        candidate = parsing.stock_contract(symbol)
        result = await self.ib.qualifyContractsAsync(candidate)
        if not result or not getattr(result[0], "conId", 0):
            self.unknown.add(symbol)
            self.health.error(f"IB cannot resolve {symbol!r} (error 200)")
            return None
        self.contracts[symbol] = result[0]
        return result[0]

    # ----------------------------------------------------------------------- subscriptions
    async def _send_subscribe(self, kind: str, symbols: list[str]) -> None:
        for symbol in symbols:
            contract = await self.qualify(symbol)
            if contract is None:
                continue
            if kind in ("quotes", "trades") and symbol not in self._tickers:
                ticker = self.ib.reqMktData(contract, "", False, False)
                self._tickers[symbol] = ticker
                self._by_ticker[id(ticker)] = symbol
            elif kind == "bars" and symbol not in self._bars:
                bars = self.ib.reqRealTimeBars(contract, 5, "TRADES", False)
                bars.updateEvent += self._on_bars
                self._bars[symbol] = bars
                self._aggregators.setdefault(symbol, BarAggregator(symbol, self.connection.config.bar_seconds))
            elif kind == "ticks" and symbol not in self._tick_by_tick:
                ticker = self.ib.reqTickByTickData(contract, "BidAsk", 0, False)
                self._tick_by_tick[symbol] = ticker
                self._by_ticker[id(ticker)] = symbol

    async def _send_unsubscribe(self, kind: str, symbols: list[str]) -> None:
        for symbol in symbols:
            contract = self.contracts.get(symbol)
            if contract is None:
                continue
            if kind in ("quotes", "trades") and not self._other_kind_wants(kind, symbol):
                ticker = self._tickers.pop(symbol, None)
                if ticker is not None:
                    self.ib.cancelMktData(contract)
            elif kind == "bars":
                bars = self._bars.pop(symbol, None)
                if bars is not None:
                    self.ib.cancelRealTimeBars(bars)
            elif kind == "ticks" and self._tick_by_tick.pop(symbol, None) is not None:
                self.ib.cancelTickByTickData(contract, "BidAsk")

    def _other_kind_wants(self, kind: str, symbol: str) -> bool:
        other = "trades" if kind == "quotes" else "quotes"
        return symbol in self.subscriptions.wanted.get(other, set())

    # ----------------------------------------------------------------------------- streams
    def _on_tickers(self, tickers: Iterable[Any]) -> None:
        health = self.health
        wants_quotes = self.subscriptions.wanted.get("quotes", set())
        wants_trades = self.subscriptions.wanted.get("trades", set())
        for ticker in tickers:
            symbol = self._by_ticker.get(id(ticker))
            if symbol is None:
                continue
            health.message_received()
            now = self.follow_clock.timestamp_ns() if self.follow_clock is not None else time.time_ns()
            if ticker.tickByTicks:
                # ib_async 2.1 stamps tick-by-tick ticks with their arrival (wrapper.tickByTickBidAsk drops
                # the exchange time), so they are stamped like the other quotes
                for tick in ticker.tickByTicks:
                    quote = parsing.book_quote(symbol, [getattr(tick, "bidPrice", 0.0), getattr(tick, "askPrice", 0.0),
                                                        getattr(tick, "bidSize", 0.0), getattr(tick, "askSize", 0.0)], now)
                    if quote is not None:
                        self.emit(quote)
                continue
            book = self._book.setdefault(symbol, [math.nan, math.nan, 0.0, 0.0])
            ticks = ticker.ticks
            last = len(ticks) - 1
            for i, tick in enumerate(ticks):
                t = tick.tickType
                if t in (1, 2, 0, 3):  # bid, ask, bid size, ask size
                    if t == 1:
                        book[0], book[2] = tick.price, tick.size
                    elif t == 2:
                        book[1], book[3] = tick.price, tick.size
                    else:
                        book[2 if t == 0 else 3] = tick.size
                    # one QuoteTick per update: after the ask, or a bid not followed by its ask
                    if symbol in wants_quotes and (t != 1 or i == last or ticks[i + 1].tickType != 2):
                        quote = parsing.book_quote(symbol, book, now)
                        if quote is not None:
                            self.emit(quote)
                elif t == 4 and tick.size and symbol in wants_trades:
                    trade = parsing.trade_tick(symbol, tick.price, tick.size, now)
                    if trade is not None:
                        self.emit(trade)

    def _on_bars(self, bars: Any, has_new_bar: bool) -> None:
        if not has_new_bar or not bars:
            return
        symbol = bars.contract.symbol
        self.health.message_received()
        bar = parsing.real_time_bar(symbol, bars[-1])
        for out in self._aggregators[symbol].add(bar):
            self.emit(out)

    # -------------------------------------------------------------------------- historical
    async def recent_bars(self, symbols: Iterable[str], count: int) -> list[Bar]:
        """The last ``count`` completed bars of ``bar_seconds`` per symbol, up to IB's "now" (warm-up
        after a restart), in time order."""
        seconds = self.connection.config.bar_seconds
        out: list[Bar] = []
        for symbol in symbols:
            contract = await self.qualify(symbol)
            if contract is None:
                raise BrokerError(f"ibkr: no security definition for {symbol!r} (error 200)")
            await self.connection.pacer.acquire()
            span = count * seconds
            duration = f"{span} S" if span <= 86_400 else f"{-(-span // 86_400)} D"
            bars = await self.ib.reqHistoricalDataAsync(contract, "", duration, parsing.bar_size_setting(seconds),
                                                        "TRADES", False, 2)
            out.extend(parsing.historical_bar(symbol, x, seconds) for x in list(bars or [])[-count:])
        out.sort(key=lambda b: (b.ts_event, b.symbol))
        return out

    async def historical_bars(self, symbols: Iterable[str], start_ns: int, end_ns: int,
                              timeframe: str = "1Min") -> list[Bar]:
        """Bars in [start_ns, end_ns) (ns since epoch UTC) of ``timeframe`` (``"1Min"``, ``"5Min"``,
        ``"1Hour"``, ``"1Day"``), paced under IB's historical-data limit.

        Raises
        ------
        BrokerError
            If a symbol cannot be resolved or IB answers an error.
        """
        seconds = _timeframe_seconds(timeframe)
        out: list[Bar] = []
        for symbol in symbols:
            contract = await self.qualify(symbol)
            if contract is None:
                raise BrokerError(f"ibkr: no security definition for {symbol!r} (error 200)")
            await self.connection.pacer.acquire()
            end = dt.datetime.fromtimestamp(end_ns / _NS, dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")
            span = max((end_ns - start_ns) // _NS, 1)
            duration = f"{span} S" if span < 86_400 else f"{-(-span // 86_400)} D"
            bars = await self.ib.reqHistoricalDataAsync(contract, end, duration, parsing.bar_size_setting(seconds),
                                                        "TRADES", True, 2)
            out.extend(b for b in (parsing.historical_bar(symbol, x, seconds) for x in bars or [])
                       if start_ns <= b.ts_event < end_ns)
        out.sort(key=lambda b: (b.ts_event, b.symbol))
        return out


_TIMEFRAMES = {"Min": 60, "Hour": 3600, "Day": 86_400, "Sec": 1}


def _timeframe_seconds(timeframe: str) -> int:
    """``"5Min"`` -> 300. Raises ValueError naming the value."""
    for unit, seconds in _TIMEFRAMES.items():
        if timeframe.endswith(unit):
            number = timeframe[: -len(unit)] or "1"
            if number.isdigit():
                return int(number) * seconds
    raise ValueError(f"timeframe {timeframe!r}: expected e.g. '1Min', '5Min', '1Hour', '1Day'")
