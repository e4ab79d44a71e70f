"""Record any feed's market data to Parquet, and replay a recording exactly.

A recording is a directory of Parquet part files per kind (``bars-<seq>.parquet``,
``quotes-<seq>.parquet``, ``trades-<seq>.parquet``) in the canonical layouts of
:mod:`workbench.feeds.frames`, plus a ``seq`` column: the position of the item in the stream as
received. :class:`Recording` replays them in ``seq`` order, so the replayed events equal the
recorded ones field by field (float64 and int64 are stored losslessly) and in the same order, even
where a live feed delivered out of timestamp order.

Each flush writes complete part files, so a process killed while recording leaves readable files
(it loses at most the unflushed items, and :attr:`Recorder.flushed_upto` says how far it got; a
resumed session re-records from there). A seq recorded twice keeps its first copy.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.errors import DataError
from workbench.feeds.frames import BAR_COLUMNS, QUOTE_COLUMNS, TRADE_COLUMNS
from workbench.model.data import Bar, MarketData, QuoteTick, TradeTick
from workbench.model.enums import OrderSide

_FILES = {Bar: ("bars", BAR_COLUMNS), QuoteTick: ("quotes", QUOTE_COLUMNS), TradeTick: ("trades", TRADE_COLUMNS)}
_STR = {"symbol", "aggressor"}


def _row(item: MarketData, columns: tuple[str, ...]) -> tuple:
    if type(item) is TradeTick:
        return tuple(("" if item.aggressor is None else str(item.aggressor)) if c == "aggressor" else getattr(item, c)
                     for c in columns)
    return tuple(getattr(item, c) for c in columns)


class Recorder:
    """Append market data items to Parquet part files in ``directory``.

    Parameters
    ----------
    directory : path
    batch : int
        Flush after this many items.
    start_seq : int
        Stream position of the first item recorded (a resumed session continues its recording).
    flush_seconds : float
        Also flush when this much wall time has passed since the last flush.

    Use as a context manager or call :meth:`close`; :meth:`record` is cheap (a tuple append).
    """

    def __init__(self, directory: str | Path, batch: int = 10_000, *, start_seq: int = 0,
                 flush_seconds: float = 1.0) -> None:
        import time

        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.batch = batch
        self.count = start_seq
        self.flushed_upto = start_seq
        self.flush_seconds = flush_seconds
        self._clock = time.monotonic
        self._last_flush = self._clock()
        self._rows: dict[type, list[tuple]] = {k: [] for k in _FILES}
        self._pending = 0

    def record(self, item: MarketData) -> None:
        kind = type(item)
        rows = self._rows.get(kind)
        if rows is None:
            raise DataError(f"Recorder.record: not market data: {kind.__name__}")
        rows.append((self.count, *_row(item, _FILES[kind][1])))
        self.count += 1
        self._pending += 1
        if self._pending >= self.batch or self._clock() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write every pending item (one complete part file per kind)."""
        for kind in _FILES:
            self._write(kind)
        self._pending = 0
        self.flushed_upto = self.count
        self._last_flush = self._clock()

    def _write(self, kind: type) -> None:
        rows = self._rows[kind]
        if not rows:
            return
        name, columns = _FILES[kind]
        cols = ("seq", *columns)
        data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
        schema = pa.schema([(c, pa.string() if c in _STR else (pa.int64() if c in ("seq", "ts_event", "ts_init")
                                                                  else pa.float64())) for c in cols])
        path = self.directory / f"{name}-{rows[0][0]:012d}.parquet"
        tmp = path.with_suffix(".tmp")
        pq.write_table(pa.table(data, schema=schema), tmp)
        tmp.replace(path)  # atomic: a part file is complete or absent
        rows.clear()

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Recording:
    """A recorded stream, iterated in the order it was received.

    Raises
    ------
    DataError
        If ``directory`` holds no recording.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.frames: dict[type, pd.DataFrame] = {}
        for kind, (name, _) in _FILES.items():
            parts = sorted(self.directory.glob(f"{name}-*.parquet"))
            if parts:
                frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
                frame = frame.drop_duplicates("seq", keep="first").sort_values("seq", kind="stable")
                self.frames[kind] = frame.reset_index(drop=True)
        if not self.frames:
            raise DataError(f"no recording in {self.directory} (expected bars-*/quotes-*/trades-*.parquet)")

    def __len__(self) -> int:
        return sum(len(f) for f in self.frames.values())

    @property
    def start_ns(self) -> int | None:
        firsts = [int(f["ts_init"].iloc[0]) for f in self.frames.values() if len(f)]
        seqs = [int(f["seq"].iloc[0]) for f in self.frames.values() if len(f)]
        return firsts[int(np.argmin(seqs))] if firsts else None

    def to_frames(self) -> dict[str, pd.DataFrame]:
        names = {Bar: "bars", QuoteTick: "quotes", TradeTick: "trades"}
        return {names[k]: f.drop(columns="seq") for k, f in self.frames.items()}

    def _objects(self, kind: type, frame: pd.DataFrame) -> Iterator[tuple[int, MarketData]]:
        cols = _FILES[kind][1]
        arrays = [frame[c].tolist() for c in ("seq", *cols)]
        if kind is TradeTick:
            for seq, tse, tsi, sym, price, size, aggr in zip(*arrays):
                yield seq, TradeTick(sym, price, size, tse, tsi, OrderSide(aggr) if aggr else None)
        elif kind is Bar:
            for seq, tse, tsi, sym, o, h, lo, c, v in zip(*arrays):
                yield seq, Bar(sym, o, h, lo, c, v, tse, tsi)
        else:
            for seq, tse, tsi, sym, b, a, bs, az in zip(*arrays):
                yield seq, QuoteTick(sym, b, a, bs, az, tse, tsi)

    def __iter__(self) -> Iterator[MarketData]:
        its = [self._objects(k, f) for k, f in self.frames.items()]
        for _, item in heapq.merge(*its, key=lambda pair: pair[0]):
            yield item
