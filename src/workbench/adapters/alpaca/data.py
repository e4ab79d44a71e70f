"""Alpaca market data: ``StockDataStream`` (live) and ``StockHistoricalDataClient`` (warm-up), as a DataClient.

The stream runs under :class:`~workbench.adapters.base.LiveClient`'s supervision instead of its
own ``run()`` (which calls ``asyncio.run`` and cannot run in a notebook: alpaca-py #193): each
connection attempt is alpaca-py's ``_connect`` + ``_auth``, the session its ``_consume`` loop,
resubscription its ``_send_subscribe_msg`` with our handlers (pinned to alpaca-py 0.44's stream
internals). Messages arrive raw (``raw_data=True``) and are mapped by :mod:`.parsing`, so one bad
message is counted and skipped without dropping its frame or the connection.

Auth errors (``auth failed``, ``not authenticated``, ``insufficient subscription``) are fatal;
``connection limit exceeded`` (406, another process uses the keys: alpaca-py #248) is retried with
backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from workbench.adapters.alpaca import parsing
from workbench.adapters.alpaca.config import AlpacaConfig
from workbench.adapters.base import AuthenticationError, DataClient, ReconnectPolicy
from workbench.errors import BrokerError
from workbench.model.data import Bar

_log = logging.getLogger(__name__)
_FATAL = ("auth failed", "not authenticated", "insufficient subscription", "failed to authenticate")


class AlpacaDataClient(DataClient):
    """Bars, quotes, trades (and updated bars) from Alpaca's market-data stream.

    Parameters
    ----------
    config : AlpacaConfig
    subscriptions : mapping kind -> symbols, optional
        Subscribed before connecting (kinds: ``bars``, ``quotes``, ``trades``, ``updated_bars``).
    follow_clock : ReplayClock | None
        Set to the first item's time, then moved forward to each later item's time as it arrives, so
        the engine's clock follows the stream's data time (a replaying emulator, or the real market
        at speed 1).
    """

    def __init__(self, config: AlpacaConfig, subscriptions: dict[str, Iterable[str]] | None = None,
                 *, follow_clock: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("reconnect", ReconnectPolicy(initial=config.reconnect_initial, maximum=config.reconnect_maximum))
        kwargs.setdefault("silence_timeout", config.silence_timeout)
        kwargs.setdefault("health_interval", config.health_interval)
        super().__init__("alpaca feed", **kwargs)
        from alpaca.data.live.stock import StockDataStream

        key, secret = config.credentials()
        self.config = config
        self.stream = StockDataStream(key, secret, raw_data=True, url_override=config.stream_data_url)
        self._historical: Any = None
        self.follow_clock = follow_clock
        self._anchored = False  # the clock has been set to the stream's data time once
        self.parse_errors = 0
        self.last_parse_error = ""
        for kind, symbols in (subscriptions or {}).items():
            self.subscriptions.add(kind, symbols)

    # ---------------------------------------------------------------------------- connection
    async def _open(self) -> None:
        stream = self.stream
        await stream._connect()
        try:
            await stream._auth()
        except ValueError as exc:
            text = str(exc)
            if any(f in text.lower() for f in _FATAL):
                raise AuthenticationError(f"alpaca data stream: {text}") from None
            raise BrokerError(f"alpaca data stream: {text}") from None

    async def _session(self) -> None:
        self.stream._running = True
        await self.stream._consume()

    async def _close(self) -> None:
        self.stream._running = False
        await self.stream.close()

    async def _resubscribe(self) -> None:
        handlers = self.stream._handlers
        for channel in handlers.values():
            channel.clear()
        for kind, symbols in self.subscriptions.items():
            for symbol in symbols:
                handlers[parsing.CHANNELS[kind]][symbol] = self._on_message
        await self.stream._send_subscribe_msg()

    async def _send_subscribe(self, kind: str, symbols: list[str]) -> None:
        await self._resubscribe()

    async def _send_unsubscribe(self, kind: str, symbols: list[str]) -> None:
        channel = parsing.CHANNELS[kind]
        for symbol in symbols:
            self.stream._handlers[channel].pop(symbol, None)
        await self.stream._send_unsubscribe_msg(channel, symbols)

    async def subscribe(self, kind: str, symbols: Iterable[str]) -> None:
        if kind not in parsing.CHANNELS:
            raise ValueError(f"alpaca: unknown subscription kind {kind!r}; known: {sorted(parsing.CHANNELS)}")
        await super().subscribe(kind, symbols)

    # ------------------------------------------------------------------------------ messages
    async def _on_message(self, msg: dict[str, Any]) -> None:
        self.health.message_received()
        parser = parsing.MARKET_PARSERS.get(msg.get("T"))  # type: ignore[arg-type]
        if parser is None:
            return  # statuses, corrections, ...: not market data the engine consumes
        try:
            item = parser(msg)
        except parsing.ParseError as exc:
            self.parse_errors += 1
            self.last_parse_error = str(exc)[:300]
            self.health.error(self.last_parse_error)
            if self.parse_errors <= 10 or self.parse_errors % 1000 == 0:
                _log.warning("alpaca feed: skipped a malformed message (#%d): %s", self.parse_errors, exc)
            return
        clock = self.follow_clock
        # the first item anchors the clock (a replaying emulator's data time may be years before the
        # wall clock the session started on); later ones only move it forward
        if clock is not None and (not self._anchored or item.ts_init > clock.timestamp_ns()):
            clock.rebase(item.ts_init)
            self._anchored = True
        self.emit(item)

    # ---------------------------------------------------------------------------- historical
    async def historical_bars(self, symbols: Iterable[str], start_ns: int, end_ns: int,
                              timeframe: str = "1Min") -> list[Bar]:
        """Minute bars in [start_ns, end_ns) through ``StockHistoricalDataClient.get_stock_bars``
        (paginated by the client), in time order, off the event loop. Only ``1Min`` is supported."""
        return await asyncio.to_thread(self.historical_bars_blocking, symbols, start_ns, end_ns, timeframe)

    def historical_bars_blocking(self, symbols: Iterable[str], start_ns: int, end_ns: int,
                              timeframe: str = "1Min") -> list[Bar]:
        """:meth:`historical_bars`, blocking (a restart's warm-up, before the session runs)."""
        if timeframe != "1Min":
            raise ValueError(f"alpaca historical_bars: timeframe {timeframe!r} not supported (1Min)")
        from datetime import UTC, datetime

        from alpaca.data.enums import DataFeed
        from alpaca.data.historical import StockHistoricalDataClient
        from alpaca.data.requests import StockBarsRequest
        from alpaca.data.timeframe import TimeFrame

        if self._historical is None:
            key, secret = self.config.credentials()
            self._historical = StockHistoricalDataClient(key, secret, url_override=self.config.rest_data_url)
            self._historical._retry_wait = self.config.rest_retry_wait
            from workbench.adapters.alpaca.execution import _with_timeout, freeze_environment

            _with_timeout(self._historical._session, self.config.rest_timeout)
            freeze_environment(self._historical._session, self.config.rest_data_url)
        symbols = list(symbols)
        request = StockBarsRequest(symbol_or_symbols=symbols, timeframe=TimeFrame.Minute,
                                   start=datetime.fromtimestamp(start_ns / 1e9, UTC),
                                   end=datetime.fromtimestamp(end_ns / 1e9, UTC),
                                   feed=DataFeed(self.config.feed))
        barset = self._historical.get_stock_bars(request)
        out = [parsing.historical_bar(symbol, b) for symbol in symbols for b in barset.data.get(symbol, [])]
        out = [b for b in out if start_ns <= b.ts_event < end_ns]
        out.sort(key=lambda b: (b.ts_init, b.symbol))
        return out
