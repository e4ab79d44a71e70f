"""A time-ordered, deterministic stream of market data built from canonical frames or objects.

Order of delivery: by ``ts_init``; at equal ``ts_init`` bars before quotes before trades
(:class:`~workbench.feeds.frames.DataKind` priority); then source order (the order of the
sources given to the constructor, then row order inside a source). The same inputs always give
the same sequence.

Objects (:class:`~workbench.model.data.Bar`, :class:`~workbench.model.data.QuoteTick`,
:class:`~workbench.model.data.TradeTick`) are created lazily, ``chunk_size`` rows at a time, from
numpy columns converted with ``.tolist()`` (no per-row pandas access), so memory stays at the
columnar size plus one chunk, however long the stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from operator import call
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import DataError
from workbench.feeds.frames import DataKind, detect_kind, empty_frame, to_canonical
from workbench.model.data import Bar, MarketData, QuoteTick, TradeTick
from workbench.model.enums import OrderSide

DEFAULT_CHUNK_SIZE = 16_384
"""Rows converted to objects at a time by :meth:`MarketDataStream.__iter__`."""

_FLOATS = {
    DataKind.BAR: ("open", "high", "low", "close", "volume"),
    DataKind.QUOTE: ("bid", "ask", "bid_size", "ask_size"),
    DataKind.TRADE: ("price", "size"),
}
_AGGRESSORS = np.array([None, OrderSide.BUY, OrderSide.SELL], dtype=object)
_AGGRESSOR_CODES = {"": 0, "BUY": 1, "SELL": 2}
_TYPES: dict[type, DataKind] = {Bar: DataKind.BAR, QuoteTick: DataKind.QUOTE, TradeTick: DataKind.TRADE}


class MarketDataStream:
    """Market data of any number of symbols and kinds, merged in delivery order.

    Parameters
    ----------
    *sources : DataFrame or iterable of Bar/QuoteTick/TradeTick
        Canonical frames (:mod:`workbench.feeds.frames`; kind detected from the columns) or
        iterables of already-built objects (kinds may be mixed).
    chunk_size : int
        Rows turned into objects at a time during iteration.

    Raises
    ------
    DataError
        If a frame is not canonical or an iterable holds something that is not market data.

    Examples
    --------
    >>> stream = MarketDataStream(bars_frame, quotes_frame)  # doctest: +SKIP
    >>> for item in stream:  # Bar, QuoteTick or TradeTick, in ts_init order  # doctest: +SKIP
    ...     ...
    """

    def __init__(self, *sources: pd.DataFrame | Iterable[MarketData], chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self._chunk_size = chunk_size
        parts: dict[DataKind, list[pd.DataFrame]] = {kind: [] for kind in DataKind}  # in source order
        for source in sources:
            if isinstance(source, pd.DataFrame):
                kind = detect_kind(source)
                parts[kind].append(to_canonical(source, kind))
            elif isinstance(source, (str, bytes)) or not isinstance(source, Iterable):
                raise DataError(f"a stream source must be a DataFrame or an iterable of market data, got {type(source)}")
            else:
                for kind, frame in _frames_from_objects(source).items():
                    parts[kind].append(frame)
        self._build(parts)

    @classmethod
    def from_objects(cls, objects: Iterable[MarketData], *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> MarketDataStream:
        """Stream of already-built objects (sorted into delivery order; ties keep the given order).

        The objects are stored as columns, so iteration yields new objects equal to the given ones.
        """
        return cls(objects, chunk_size=chunk_size)

    # -- construction -----------------------------------------------------------------------

    def _build(self, frames: dict[DataKind, list[pd.DataFrame]]) -> None:
        symbols = pd.concat([f["symbol"] for kind in DataKind for f in frames[kind]] or [pd.Series([], dtype="str")])
        codes, uniques = pd.factorize(symbols, sort=True)
        self._symbol_table = np.asarray(uniques, dtype=object)
        self._columns: dict[DataKind, dict[str, np.ndarray]] = {}  # per kind, rows in source order
        self._order: dict[DataKind, np.ndarray] = {}  # per kind: delivery position -> row (absent: same)
        ts_init_all, kind_all = [], []
        offset = 0
        for kind in DataKind:
            n = sum(len(f) for f in frames[kind])
            if n == 0:
                continue
            joined = pd.concat(frames[kind], ignore_index=True) if len(frames[kind]) > 1 else frames[kind][0]
            columns = {
                "ts_event": joined["ts_event"].to_numpy(dtype=np.int64),
                "ts_init": joined["ts_init"].to_numpy(dtype=np.int64),
                "symbol": codes[offset : offset + n].astype(np.int32),
            }
            for name in _FLOATS[kind]:
                columns[name] = joined[name].to_numpy(dtype=np.float64)
            if kind is DataKind.TRADE:
                columns["aggressor"] = joined["aggressor"].map(_AGGRESSOR_CODES).to_numpy(dtype=np.int8)
            self._columns[kind] = columns
            ts_init_all.append(columns["ts_init"])
            kind_all.append(np.full(n, int(kind), dtype=np.int8))
            offset += n
        if not ts_init_all:
            self._kinds = np.empty(0, dtype=np.int8)
            return
        # Delivery order: by (ts_init, kind), stably. Source order needs no key of its own: inside
        # each kind's block the rows are already in source order (sources in the given order, rows
        # in file order), and a stable sort keeps that order among equal keys. The columns are not
        # reordered (that would copy them all): each kind keeps a permutation, None when in order.
        if len(ts_init_all) == 1:  # one kind: its rows only need ordering by ts_init
            ts_init = ts_init_all[0]
            self._kinds = kind_all[0]
            if (ts_init[1:] < ts_init[:-1]).any():
                (kind,) = self._columns
                self._order[kind] = np.argsort(ts_init, kind="stable")
            return
        order = np.lexsort((np.concatenate(kind_all), np.concatenate(ts_init_all)))
        self._kinds = np.concatenate(kind_all)[order]
        base = 0
        for kind in DataKind:
            if kind not in self._columns:
                continue
            n = len(self._columns[kind]["ts_init"])
            permutation = order[self._kinds == int(kind)] - base
            if not np.array_equal(permutation, np.arange(n)):
                self._order[kind] = permutation
            base += n

    # -- properties ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._kinds)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols present, sorted."""
        return tuple(self._symbol_table.tolist())

    @property
    def start_ns(self) -> int | None:
        """``ts_init`` of the first item (ns since epoch UTC), None when empty."""
        return min((int(self._ts_init_at(kind, 0)) for kind in self._columns), default=None)

    @property
    def end_ns(self) -> int | None:
        """``ts_init`` of the last item (ns since epoch UTC), None when empty."""
        return max((int(self._ts_init_at(kind, -1)) for kind in self._columns), default=None)

    def _ts_init_at(self, kind: DataKind, position: int) -> int:
        order = self._order.get(kind)
        return self._columns[kind]["ts_init"][position if order is None else order[position]]

    @property
    def counts(self) -> dict[str, int]:
        """Number of items per kind: ``{"bars": ..., "quotes": ..., "trades": ...}``."""
        return {kind.label: len(self._columns[kind]["ts_init"]) if kind in self._columns else 0 for kind in DataKind}

    def __repr__(self) -> str:
        return f"MarketDataStream({len(self)} items, {self.counts}, symbols={list(self.symbols)[:10]})"

    # -- iteration -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[MarketData]:
        """Yield Bar, QuoteTick and TradeTick objects in delivery order, created chunk by chunk."""
        # chained iterators, one per chunk: a chunk of one kind is a plain ``map`` over its columns,
        # so most items reach the caller without passing through a Python generator frame
        return chain.from_iterable(self._chunks())

    def _chunks(self) -> Iterator[Iterator[MarketData]]:
        cursors = dict.fromkeys(self._columns, 0)
        size = self._chunk_size
        for start in range(0, len(self._kinds), size):
            kinds = self._kinds[start : start + size]
            first = int(kinds[0])
            if (kinds == first).all():
                kind = DataKind(first)
                yield self._objects(kind, cursors[kind], cursors[kind] + len(kinds))
                cursors[kind] += len(kinds)
                continue
            makers: list[Any] = [None, None, None]
            for kind in self._columns:
                count = int(np.count_nonzero(kinds == int(kind)))
                if count:
                    makers[kind] = self._objects(kind, cursors[kind], cursors[kind] + count).__next__
                    cursors[kind] += count
            yield map(call, map(makers.__getitem__, kinds.tolist()))

    def _rows(self, kind: DataKind, start: int, stop: int) -> dict[str, np.ndarray]:
        """Columns of ``kind`` for its items ``start:stop`` in delivery order (views when in order)."""
        columns = self._columns[kind]
        order = self._order.get(kind)
        if order is None:
            return {name: values[start:stop] for name, values in columns.items()}
        rows = order[start:stop]
        return {name: values[rows] for name, values in columns.items()}

    def _objects(self, kind: DataKind, start: int, stop: int) -> Iterator[MarketData]:
        c = self._rows(kind, start, stop)
        symbols = self._symbol_table[c["symbol"]].tolist()
        ts_event = c["ts_event"].tolist()
        ts_init = c["ts_init"].tolist()
        values = [c[name].tolist() for name in _FLOATS[kind]]
        if kind is DataKind.BAR:
            return map(Bar, symbols, *values, ts_event, ts_init)
        if kind is DataKind.QUOTE:
            return map(QuoteTick, symbols, *values, ts_event, ts_init)
        aggressors = _AGGRESSORS[c["aggressor"]].tolist()
        return map(TradeTick, symbols, *values, ts_event, ts_init, aggressors)

    def iter_chunks(self, chunk_size: int | None = None) -> Iterator[tuple[DataKind, dict[str, np.ndarray]]]:
        """Yield ``(kind, columns)`` for consecutive runs of one kind, in delivery order.

        ``columns`` maps each canonical column name to a numpy array (``symbol`` as ``object``,
        ``aggressor`` as ``"BUY"``/``"SELL"``/``""``). Runs are at most ``chunk_size`` rows long.
        Use this for vectorised consumers that do not need objects.
        """
        size = chunk_size or self._chunk_size
        cursors = dict.fromkeys(self._columns, 0)
        for start in range(0, len(self._kinds), size):
            kinds = self._kinds[start : start + size]
            bounds = np.flatnonzero(np.diff(kinds)) + 1
            for run in np.split(kinds, bounds):
                kind = DataKind(int(run[0]))
                begin = cursors[kind]
                cursors[kind] = begin + len(run)
                yield kind, self._slice(kind, begin, begin + len(run))

    def _slice(self, kind: DataKind, start: int, stop: int) -> dict[str, np.ndarray]:
        c = self._rows(kind, start, stop)
        out = {"ts_event": c["ts_event"], "ts_init": c["ts_init"]}
        out["symbol"] = self._symbol_table[c["symbol"]]
        for name in _FLOATS[kind]:
            out[name] = c[name]
        if kind is DataKind.TRADE:
            out["aggressor"] = np.array(["", "BUY", "SELL"], dtype=object)[c["aggressor"]]
        return out

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Canonical frames per kind, each in delivery order: keys ``"bars"``, ``"quotes"``, ``"trades"``."""
        out = {}
        for kind in DataKind:
            if kind not in self._columns:
                out[kind.label] = empty_frame(kind)
                continue
            columns = self._slice(kind, 0, len(self._columns[kind]["ts_init"]))
            out[kind.label] = to_canonical(pd.DataFrame(columns)[list(kind.columns)], kind)
        return out


def _frames_from_objects(objects: Iterable[MarketData]) -> dict[DataKind, pd.DataFrame]:
    """Canonical frame of the objects of each kind present, rows in the order given."""
    rows: dict[DataKind, list[tuple]] = {kind: [] for kind in DataKind}
    for position, item in enumerate(objects):
        kind = _TYPES.get(type(item))
        if kind is None:
            raise DataError(f"item {position} of a stream source is {type(item).__name__}, not Bar/QuoteTick/TradeTick")
        rows[kind].append(tuple(_value(item, name) for name in kind.columns))
    return {
        kind: to_canonical(pd.DataFrame.from_records(rows[kind], columns=list(kind.columns)), kind)
        for kind in DataKind
        if rows[kind]
    }


def _value(item: MarketData, name: str) -> object:
    value = getattr(item, name)
    if name == "aggressor":
        return "" if value is None else str(value)
    return value
