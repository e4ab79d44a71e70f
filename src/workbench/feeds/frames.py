"""Canonical columnar layouts of market data as pandas DataFrames.

Every loader in :mod:`workbench.feeds` returns one of three layouts, and
:class:`~workbench.feeds.stream.MarketDataStream` accepts exactly these. One row is one item; the
column order is fixed; timestamps are ``int64`` nanoseconds since the epoch, UTC.

bars (:data:`BAR_COLUMNS`)
    ``ts_event`` bar start, ``ts_init`` bar end (``ts_event + interval``: when the bar became
    known), ``symbol``, ``open``, ``high``, ``low``, ``close`` (price, quote currency) and
    ``volume`` (shares or contracts).
quotes (:data:`QUOTE_COLUMNS`)
    ``ts_event``, ``ts_init``, ``symbol``, ``bid``, ``ask`` (price), ``bid_size``, ``ask_size``
    (shares or contracts).
trades (:data:`TRADE_COLUMNS`)
    ``ts_event``, ``ts_init``, ``symbol``, ``price``, ``size`` and ``aggressor`` (``"BUY"``,
    ``"SELL"`` or ``""`` when the venue does not report it).

Prices and sizes are ``float64``; ``symbol`` and ``aggressor`` have pandas' ``str`` dtype (never
missing: an absent aggressor is ``""``).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import pandas as pd

from workbench.errors import DataError

BAR_COLUMNS: tuple[str, ...] = ("ts_event", "ts_init", "symbol", "open", "high", "low", "close", "volume")
"""Columns of a canonical bar frame, in order."""

QUOTE_COLUMNS: tuple[str, ...] = ("ts_event", "ts_init", "symbol", "bid", "ask", "bid_size", "ask_size")
"""Columns of a canonical quote frame, in order."""

TRADE_COLUMNS: tuple[str, ...] = ("ts_event", "ts_init", "symbol", "price", "size", "aggressor")
"""Columns of a canonical trade frame, in order."""

TIMESTAMP_COLUMNS: tuple[str, ...] = ("ts_event", "ts_init")
TEXT_COLUMNS: tuple[str, ...] = ("symbol", "aggressor")

AGGRESSOR_VALUES: tuple[str, ...] = ("BUY", "SELL", "")
"""Allowed values of the ``aggressor`` column of a trade frame."""


class DataKind(IntEnum):
    """Kind of a market-data frame; the integer value is the delivery priority at equal ``ts_init``.

    Bars come before quotes, quotes before trades (see the design notes: a bar that closes at ``t``
    is delivered before a quote stamped ``t``).
    """

    BAR = 0
    QUOTE = 1
    TRADE = 2

    @property
    def columns(self) -> tuple[str, ...]:
        """Canonical columns of this kind."""
        return _COLUMNS[self]

    @property
    def label(self) -> str:
        """Plural name used in messages and as key of :meth:`MarketDataStream.to_frames`: bars, quotes, trades."""
        return _LABELS[self]


_COLUMNS = {DataKind.BAR: BAR_COLUMNS, DataKind.QUOTE: QUOTE_COLUMNS, DataKind.TRADE: TRADE_COLUMNS}
_LABELS = {DataKind.BAR: "bars", DataKind.QUOTE: "quotes", DataKind.TRADE: "trades"}

PRICE_COLUMNS: dict[DataKind, tuple[str, ...]] = {
    DataKind.BAR: ("open", "high", "low", "close"),
    DataKind.QUOTE: ("bid", "ask"),
    DataKind.TRADE: ("price",),
}
"""Price columns of each kind (must be finite and positive)."""

SIZE_COLUMNS: dict[DataKind, tuple[str, ...]] = {
    DataKind.BAR: ("volume",),
    DataKind.QUOTE: ("bid_size", "ask_size"),
    DataKind.TRADE: ("size",),
}
"""Quantity columns of each kind (must be finite and non-negative)."""


def empty_frame(kind: DataKind) -> pd.DataFrame:
    """Return an empty canonical frame of ``kind`` with the right dtypes."""
    data: dict[str, object] = {}
    for name in kind.columns:
        if name in TIMESTAMP_COLUMNS:
            data[name] = np.empty(0, dtype=np.int64)
        elif name in TEXT_COLUMNS:
            data[name] = pd.Series([], dtype="str")
        else:
            data[name] = np.empty(0, dtype=np.float64)
    return pd.DataFrame(data)


def detect_kind(frame: pd.DataFrame) -> DataKind:
    """Tell which canonical layout ``frame`` has, from its columns.

    Raises
    ------
    DataError
        If the columns match none of :data:`BAR_COLUMNS`, :data:`QUOTE_COLUMNS`, :data:`TRADE_COLUMNS`.
    """
    present = set(frame.columns)
    for kind in DataKind:
        if set(kind.columns) <= present:
            return kind
    raise DataError(
        f"frame with columns {list(frame.columns)} is not a canonical bar, quote or trade frame; "
        f"expected {list(BAR_COLUMNS)}, {list(QUOTE_COLUMNS)} or {list(TRADE_COLUMNS)}"
    )


def to_canonical(frame: pd.DataFrame, kind: DataKind | None = None) -> pd.DataFrame:
    """Return ``frame`` restricted to the canonical columns of ``kind`` in order, with canonical dtypes.

    Parameters
    ----------
    frame : DataFrame
        Must contain every column of the kind; extra columns are dropped.
    kind : DataKind, optional
        Detected with :func:`detect_kind` when omitted.

    Raises
    ------
    DataError
        If a column is missing, a timestamp column is not integer nanoseconds (or datetime64),
        or an ``aggressor`` value is not one of :data:`AGGRESSOR_VALUES`.
    """
    kind = detect_kind(frame) if kind is None else kind
    missing = [name for name in kind.columns if name not in frame.columns]
    if missing:
        raise DataError(f"{kind.label} frame lacks column(s) {missing}; has {list(frame.columns)}")
    data: dict[str, object] = {}
    for name in kind.columns:
        column = frame[name]
        if name in TIMESTAMP_COLUMNS:
            data[name] = _as_ns(column, name)
        elif name in TEXT_COLUMNS:
            data[name] = text_column(column)
        elif column.dtype == np.float64:
            data[name] = column  # already canonical: shared (copy on write), not copied
        else:
            data[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    if kind is DataKind.TRADE:
        aggressor = data["aggressor"]
        bad = ~aggressor.isin(AGGRESSOR_VALUES)  # type: ignore[attr-defined]
        if bad.any():
            value = aggressor[bad].iloc[0]  # type: ignore[index]
            raise DataError(f"trades frame: aggressor={value!r} is not one of {AGGRESSOR_VALUES}")
    return pd.DataFrame(data, index=frame.index, copy=False)  # columns are new arrays or copy-on-write views


def text_column(column: pd.Series) -> pd.Series:
    """``column`` as pandas ``str`` dtype with missing values replaced by ``""``."""
    if column.dtype != "str":
        column = column.astype(object).where(column.notna(), "").astype("str")
    return column.fillna("")


def _as_ns(column: pd.Series, name: str) -> pd.Series | np.ndarray:
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column.dtype):
        if column.dt.tz is None:
            raise DataError(f"column {name!r} holds naive datetimes; localize them (tz_localize) first")
        return column.dt.as_unit("ns").to_numpy(dtype=np.int64)
    if not pd.api.types.is_integer_dtype(column.dtype):
        raise DataError(f"column {name!r} must be int64 ns since epoch UTC, got dtype {column.dtype}")
    if column.dtype == np.int64:
        return column  # already canonical: shared (copy on write), not copied
    return column.to_numpy(dtype=np.int64)
