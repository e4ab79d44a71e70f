"""Loading bar, quote and trade files (CSV, CSV.gz, Parquet) into canonical frames.

Each loader reads the file, finds its columns (exact canonical name, a usual alias, or the
``columns`` mapping; case-insensitive), parses timestamps (:mod:`workbench.feeds.timestamps`),
validates rows (:mod:`workbench.feeds.validation`) and returns ``(frame, report)``.

Returned frames have the canonical layout of :mod:`workbench.feeds.frames`, are sorted by
``ts_init`` (stable: file order among equal ``ts_init``) and keep the 1-based source data-row
number as index (named ``row``) so that any row can be traced back to the file.

Bar timing
----------
* Timestamps are bar **starts**. ``ts_init = ts_event + interval``; ``interval`` is given or
  inferred per symbol as the most common gap between consecutive bars.
* A date-only timestamp column (``2013-10-07``) means daily bars: ``ts_event`` is the session
  open and ``ts_init`` the session close of ``calendar`` (default XNYS, New York Stock Exchange;
  13:00 on half days). Dates that are not sessions of the calendar (or ``calendar=None``) fall
  back to local midnight of the date and local midnight of the next date, in ``timezone``
  (default: the calendar's zone, else UTC).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import DataError
from workbench.feeds.frames import SIZE_COLUMNS, TEXT_COLUMNS, TIMESTAMP_COLUMNS, DataKind, text_column
from workbench.feeds.timestamps import parse_times, session_times
from workbench.feeds.validation import ValidationPolicy, ValidationReport, validate

_ALIASES: dict[str, tuple[str, ...]] = {
    "ts_event": ("ts_event", "timestamp", "datetime", "date", "time", "timestamp_utc"),
    "ts_init": ("ts_init",),
    "symbol": ("symbol", "ticker"),
    "bid": ("bid", "bid_price"),
    "ask": ("ask", "ask_price"),
    "bid_size": ("bid_size", "bid_amount"),
    "ask_size": ("ask_size", "ask_amount"),
    "size": ("size", "amount", "quantity"),
    "aggressor": ("aggressor", "side", "aggressor_side"),
}
_AGGRESSOR = {"buy": "BUY", "b": "BUY", "sell": "SELL", "s": "SELL", "": ""}


def load_bars(
    path: str | Path,
    *,
    symbol: str | Sequence[str] | None = None,
    columns: Mapping[str, str] | None = None,
    timezone: str | None = None,
    interval: pd.Timedelta | str | None = None,
    calendar: str | None = "XNYS",
    policy: ValidationPolicy | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Load OHLCV bars stamped at bar start.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.csv.gz`` or ``.parquet`` file.
    symbol : str or sequence of str, optional
        With a symbol column in the file: keep only these symbols. Without one: the symbol of
        every row (required then).
    columns : Mapping[str, str], optional
        Canonical name -> column name in the file, e.g. ``{"ts_event": "Date", "close": "Last"}``.
        Unmapped canonical columns are found by name or alias, case-insensitively. A missing
        ``volume`` column gives NaN volume (unknown).
    timezone : str, optional
        IANA zone of timestamps written without a UTC offset (required for such files).
    interval : Timedelta or str, optional
        Bar length, e.g. ``"1min"``, ``"1h"``, ``"1D"``; inferred per symbol when None.
        Ignored when the file maps a ``ts_init`` column.
    calendar : str, optional
        exchange_calendars name timing daily (date-only) bars; see the module docstring.
    policy : ValidationPolicy, optional
        Defaults to ``ValidationPolicy()``.

    Returns
    -------
    (DataFrame, ValidationReport)
        Canonical bars (:data:`~workbench.feeds.frames.BAR_COLUMNS`) and what was kept or dropped.

    Raises
    ------
    DataError
        Unreadable file, missing column, unparseable value, or a row failing a check whose
        policy is ``raise`` (the message names file, 1-based data row, field and value).
    FileNotFoundError
        If ``path`` does not exist.
    """
    return _load(DataKind.BAR, path, symbol, columns, timezone, policy, interval=interval, calendar=calendar)


def load_quotes(
    path: str | Path,
    *,
    symbol: str | Sequence[str] | None = None,
    columns: Mapping[str, str] | None = None,
    timezone: str | None = None,
    policy: ValidationPolicy | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Load best bid/ask quotes; ``ts_init = ts_event`` unless a ``ts_init`` column is mapped.

    Parameters and errors are those of :func:`load_bars`. Missing size columns give NaN sizes.

    Returns
    -------
    (DataFrame, ValidationReport)
        Canonical quotes (:data:`~workbench.feeds.frames.QUOTE_COLUMNS`).
    """
    return _load(DataKind.QUOTE, path, symbol, columns, timezone, policy)


def load_trades(
    path: str | Path,
    *,
    symbol: str | Sequence[str] | None = None,
    columns: Mapping[str, str] | None = None,
    timezone: str | None = None,
    policy: ValidationPolicy | None = None,
    nrows: int | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Load trade prints; ``ts_init = ts_event`` unless a ``ts_init`` column is mapped.

    Parameters and errors are those of :func:`load_bars`, plus ``nrows`` (read only the first
    data rows). The aggressor column (alias ``side``) is optional; ``buy``/``b`` and ``sell``/``s``
    (any case) map to ``"BUY"``/``"SELL"``, empty to ``""``, anything else raises.

    Returns
    -------
    (DataFrame, ValidationReport)
        Canonical trades (:data:`~workbench.feeds.frames.TRADE_COLUMNS`).
    """
    return _load(DataKind.TRADE, path, symbol, columns, timezone, policy, nrows=nrows)


def read_table(path: str | Path, *, nrows: int | None = None) -> pd.DataFrame:
    """Read a CSV (optionally gzip-compressed) or Parquet file, index = 1-based data-row number.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataError
        If the file cannot be parsed or has an unknown extension.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such market-data file: {path}")
    suffixes = [s.lower() for s in path.suffixes]
    try:
        if suffixes and suffixes[-1] in (".parquet", ".pq"):
            raw = pd.read_parquet(path)
            raw = raw.iloc[:nrows] if nrows is not None else raw
        elif ".csv" in suffixes or ".txt" in suffixes:
            raw = _read_csv(path, nrows)
        else:
            raise DataError(f"{path}: unknown file type; expected .csv, .csv.gz or .parquet")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    except (ValueError, OSError, EOFError, zlib.error, pd.errors.ParserError) as exc:
        what = "truncated or corrupt compressed file" if isinstance(exc, EOFError | zlib.error | gzip.BadGzipFile) else \
            "cannot read file"
        raise DataError(f"{path}: {what}: {exc}") from None
    raw.index = pd.RangeIndex(1, len(raw) + 1, name="row")
    return raw


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> DataError:
    """A DataError naming the first data row (1-based, header not counted) holding a byte that is not UTF-8."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for number, line in enumerate(handle):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as bad:
                    return DataError(f"{path}: data row {number}: byte {line[bad.start:bad.start + 1]!r} at column "
                                     f"{bad.start + 1} is not UTF-8 (save the file as UTF-8)")
    except (OSError, EOFError, zlib.error):
        pass
    return DataError(f"{path}: not UTF-8 text: {exc}")


def _read_csv(path: Path, nrows: int | None) -> pd.DataFrame:
    if nrows is None:
        try:
            return pd.read_csv(path, engine="pyarrow")
        except (ValueError, TypeError, ImportError):  # pyarrow cannot handle this file: use the C parser
            pass
    return pd.read_csv(path, nrows=nrows)


def frame_from_table(
    raw: pd.DataFrame,
    kind: DataKind,
    *,
    source: str,
    symbol: str | Sequence[str] | None = None,
    columns: Mapping[str, str] | None = None,
    timezone: str | None = None,
    policy: ValidationPolicy | None = None,
    interval: pd.Timedelta | str | None = None,
    calendar: str | None = "XNYS",
) -> tuple[pd.DataFrame, ValidationReport]:
    """Turn a raw table (as from :func:`read_table`) into a validated canonical frame.

    This is the body of :func:`load_bars`, :func:`load_quotes` and :func:`load_trades`, for
    tables that are already in memory; ``raw``'s index must hold 1-based data-row numbers.
    """
    found = _find_columns(raw, kind, columns or {}, source)
    raw = _select_symbols(raw, found.get("symbol"), symbol, source)
    times = parse_times(raw[found["ts_event"]], source=source, field=found["ts_event"], timezone=timezone)
    data: dict[str, object] = {"ts_event": times.ns, "ts_init": times.ns}
    for name in kind.columns:
        if name in TIMESTAMP_COLUMNS:
            continue
        if name == "symbol":
            data[name] = text_column(raw[found["symbol"]]) if "symbol" in found else _constant(raw, symbol)
        elif name == "aggressor":
            data[name] = _aggressor(raw[found[name]], source, found[name]) if name in found else _constant(raw, "")
        elif name in found:
            data[name] = _numbers(raw[found[name]], source, found[name])
        else:
            data[name] = np.full(len(raw), np.nan)
    frame = pd.DataFrame(data, index=raw.index)
    optional = tuple(name for name in SIZE_COLUMNS[kind] if name not in found)
    frame, report = validate(frame, kind, policy=policy, source=source, field_names=found, optional=optional)
    if "ts_init" in found:
        init = parse_times(raw.loc[frame.index, found["ts_init"]], source=source, field=found["ts_init"], timezone=timezone)
        frame["ts_init"] = init.ns
    elif kind is DataKind.BAR:
        _time_bars(frame, times.date_only, interval, calendar, timezone, source)
    frame = frame.sort_values("ts_init", kind="stable")
    return frame, report


def _load(
    kind: DataKind,
    path: str | Path,
    symbol: str | Sequence[str] | None,
    columns: Mapping[str, str] | None,
    timezone: str | None,
    policy: ValidationPolicy | None,
    *,
    interval: pd.Timedelta | str | None = None,
    calendar: str | None = "XNYS",
    nrows: int | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    raw = read_table(path, nrows=nrows)
    try:
        return _from_table(raw, kind, path, symbol, columns, timezone, policy, interval, calendar)
    except UnicodeDecodeError as exc:  # a parser that hands back bytes: decoding fails on the first use
        raise _not_utf8(Path(path), exc) from None


def _from_table(raw: pd.DataFrame, kind: DataKind, path: str | Path, symbol: Any, columns: Any, timezone: Any,
                policy: Any, interval: Any, calendar: Any) -> tuple[pd.DataFrame, ValidationReport]:
    return frame_from_table(
        raw,
        kind,
        source=str(path),
        symbol=symbol,
        columns=columns,
        timezone=timezone,
        policy=policy,
        interval=interval,
        calendar=calendar,
    )


def _find_columns(raw: pd.DataFrame, kind: DataKind, mapping: Mapping[str, str], source: str) -> dict[str, str]:
    unknown = sorted(set(mapping) - set(kind.columns))
    if unknown:
        raise DataError(f"{source}: columns mapping has keys {unknown} that are not {kind.label} columns {list(kind.columns)}")
    by_lower = {str(name).lower().strip(): name for name in raw.columns}
    found: dict[str, str] = {}
    for name in kind.columns:
        if name in mapping:
            if mapping[name] not in raw.columns:
                raise DataError(f"{source}: mapped column {mapping[name]!r} (for {name}) not in file columns {list(raw.columns)}")
            found[name] = mapping[name]
            continue
        for alias in _ALIASES.get(name, (name,)):
            if alias in by_lower:
                found[name] = by_lower[alias]
                break
    required = {"ts_event"} | {n for n in kind.columns if n not in TIMESTAMP_COLUMNS + TEXT_COLUMNS + SIZE_COLUMNS[kind]}
    absent = sorted(required - set(found))
    if absent:
        raise DataError(
            f"{source}: no column for {absent} among {list(raw.columns)}; pass columns={{canonical: file_column}}"
        )
    return found


def _select_symbols(
    raw: pd.DataFrame, column: str | None, symbol: str | Sequence[str] | None, source: str
) -> pd.DataFrame:
    if column is None:
        if not isinstance(symbol, str):
            raise DataError(f"{source}: the file has no symbol column; pass symbol='...' (one symbol)")
        return raw
    if symbol is None:
        return raw
    wanted = [symbol] if isinstance(symbol, str) else list(symbol)
    kept = raw[raw[column].isin(wanted)]
    missing = sorted(set(wanted) - set(kept[column].unique()))
    if missing:
        present = sorted(map(str, raw[column].dropna().unique()))[:20]
        raise DataError(f"{source}: symbol(s) {missing} not in the file; symbols present: {present}")
    return kept


def _constant(raw: pd.DataFrame, value: object) -> pd.Series:
    return pd.Series(value, index=raw.index, dtype="str")


def _numbers(column: pd.Series, source: str, field: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(column, errors="coerce")
    bad = converted.isna() & column.notna() & (column.astype("string").str.strip() != "")
    if bad.any():
        first = bad.idxmax()
        raise DataError(
            f"{source}: data row {first}: {field}={column[first]!r} is not a number "
            f"({int(bad.sum())} rows fail; data rows are 1-based, header not counted)"
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def _aggressor(column: pd.Series, source: str, field: str) -> pd.Series:
    text = text_column(column).str.strip().str.lower()
    mapped = text.map(_AGGRESSOR)
    bad = mapped.isna()
    if bad.any():
        first = bad.idxmax()
        raise DataError(f"{source}: data row {first}: {field}={column[first]!r} is not buy/sell/empty")
    return mapped.astype("str")


def _time_bars(
    frame: pd.DataFrame,
    date_only: bool,
    interval: pd.Timedelta | str | None,
    calendar: str | None,
    timezone: str | None,
    source: str,
) -> None:
    """Set ts_event/ts_init of bars in place (see the module docstring)."""
    if frame.empty:
        return
    if date_only:
        if interval is not None and pd.Timedelta(interval) != pd.Timedelta("1D"):
            raise DataError(f"{source}: date-only timestamps are daily bars, but interval={interval!r} was given")
        opens, closes = session_times(frame["ts_event"].to_numpy(), calendar=calendar, timezone=timezone)
        frame["ts_event"] = opens
        frame["ts_init"] = closes
        return
    ts = frame["ts_event"]
    if interval is not None:
        step = pd.Timedelta(interval)
        if step <= pd.Timedelta(0):
            raise DataError(f"{source}: interval must be positive, got {interval!r}")
        frame["ts_init"] = ts.to_numpy() + step.value
        return
    frame["ts_init"] = ts.to_numpy() + infer_interval(frame, source=source)


def infer_interval(frame: pd.DataFrame, *, source: str = "<frame>") -> np.ndarray:
    """Bar length per row, in ns: the most common positive gap between consecutive bars of its symbol.

    A symbol with a single bar gets the most common gap over all symbols.

    Raises
    ------
    DataError
        If no symbol has two bars at different times (pass ``interval`` then).
    """
    ts = frame["ts_event"]
    gaps = ts.groupby(frame["symbol"], sort=False).diff()
    gaps = gaps[gaps > 0]
    if gaps.empty:
        raise DataError(f"{source}: cannot infer the bar interval from fewer than two bar times; pass interval=")
    modes = gaps.groupby(frame["symbol"].loc[gaps.index], sort=False).agg(lambda g: g.mode().iloc[0])
    overall = gaps.mode().iloc[0]
    per_row = frame["symbol"].map(modes).fillna(overall)
    return per_row.to_numpy(dtype=np.int64)

