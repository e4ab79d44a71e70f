"""Loaders for the real market data shipped in ``workbench/sample_data`` (see ``SOURCES.md`` there).

Every function reads one shipped file through :mod:`workbench.feeds.loaders`, so rows are
validated with the default :class:`~workbench.feeds.validation.ValidationPolicy` and nothing is
dropped without being counted in a :class:`~workbench.feeds.validation.ValidationReport`.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pandas as pd

from workbench.feeds.frames import DataKind
from workbench.feeds.loaders import frame_from_table, load_trades, read_table
from workbench.feeds.validation import ValidationReport

DEMO_SPY = "spy_minute_bars_with_quotes_2013-10-07_to_11.csv.gz"
LEAN_DAILY = "lean_us_equities_daily_1998-2021.csv.gz"
LEAN_HOURLY = "lean_us_equities_hourly_1998-2021.csv.gz"
SPY_TRADE_TICKS = "lean_spy_trade_ticks_2013-10-07_to_11.csv.gz"
IBM_TRADE_TICKS = "lean_ibm_trade_ticks_2013-10-07_to_11.csv.gz"
SP500_INDEX_DAILY = "yahoo_sp500_gspc_daily_1999-2018.csv.gz"

_NEW_YORK = "America/New_York"
_MINUTE_NS = 60_000_000_000


def sample_path(name: str) -> Path:
    """Path of a shipped sample file.

    Parameters
    ----------
    name : str
        File name (e.g. :data:`DEMO_SPY`) or a part of it that matches one file only
        (e.g. ``"spy_minute"``).

    Raises
    ------
    FileNotFoundError
        If no file, or more than one, matches; the message lists the shipped files.
    """
    folder = Path(str(resources.files("workbench") / "sample_data"))
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith((".csv", ".csv.gz", ".parquet")))
    if name in files:
        return folder / name
    matches = [f for f in files if name.lower() in f.lower()]
    if len(matches) != 1:
        raise FileNotFoundError(f"sample {name!r} matches {matches or 'no file'}; shipped samples: {files}")
    return folder / matches[0]


@overload
def load_demo_spy(*, return_reports: Literal[False] = False) -> tuple[pd.DataFrame, pd.DataFrame]: ...


@overload
def load_demo_spy(
    *, return_reports: Literal[True]
) -> tuple[pd.DataFrame, pd.DataFrame, ValidationReport, ValidationReport]: ...


def load_demo_spy(
    *, return_reports: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame] | tuple[pd.DataFrame, pd.DataFrame, ValidationReport, ValidationReport]:
    """SPY one-minute bars and end-of-minute quotes, 2013-10-07..11, 04:00-20:00 New York time.

    Bars come from the OHLCV columns (``ts_event`` = minute start, ``ts_init`` = start + 60 s).
    Quotes come from ``bid``/``ask`` (and sizes), which are the best quote at the **end** of the
    minute, so ``ts_event = ts_init = minute start + 60 s``; at that instant the bar is delivered
    before the quote. Rows with empty OHLCV give no bar (455 rows) and rows with empty bid/ask give
    no quote (26 rows), all in extended hours; the counts are under ``skipped["missing"]`` of the
    two reports.

    Parameters
    ----------
    return_reports : bool
        Also return the :class:`ValidationReport` of the bars and of the quotes.

    Returns
    -------
    (bars, quotes) or (bars, quotes, bar_report, quote_report)
        Canonical bar and quote frames (4,128 and 4,557 rows).
    """
    path = sample_path(DEMO_SPY)
    raw = read_table(path)
    bars, bar_report = frame_from_table(raw, DataKind.BAR, source=str(path), interval="1min")
    quotes, quote_report = frame_from_table(raw, DataKind.QUOTE, source=str(path))
    quotes["ts_event"] += _MINUTE_NS
    quotes["ts_init"] = quotes["ts_event"]
    if return_reports:
        return bars, quotes, bar_report, quote_report
    return bars, quotes


def load_lean_daily(
    symbols: str | Sequence[str] | None = None, *, adjusted: bool = True
) -> tuple[pd.DataFrame, ValidationReport]:
    """LEAN daily bars of SPY, IWM, EEM, USO, AAPL, IBM, BAC, AIG, 1998-01-02..2021-03-31.

    Each bar runs from the XNYS session open (``ts_event``) to its close (``ts_init``).

    Parameters
    ----------
    symbols : str or sequence of str, optional
        Keep only these; all eight when None.
    adjusted : bool
        True: prices multiplied by ``split_factor * dividend_factor`` (LEAN's factor files; the
        adjusted close equals the file's ``adj_close``), so that close-to-close returns include
        splits and dividends; volume divided by ``split_factor`` (shares in 2021-03-31 terms).
        False: raw traded prices and share volume as printed on the day.

    Returns
    -------
    (DataFrame, ValidationReport)
    """
    path = sample_path(LEAN_DAILY)
    raw = read_table(path)
    frame, report = frame_from_table(raw, DataKind.BAR, source=str(path), symbol=symbols)
    if adjusted:
        _adjust(frame, raw)
    return frame, report


def load_lean_hourly(
    symbols: str | Sequence[str] | None = None, *, adjusted: bool = True
) -> tuple[pd.DataFrame, ValidationReport]:
    """LEAN hourly bars of SPY, AAPL, IBM, BAC, AIG, regular session, 1998-01-02..2021-03-31.

    The file stamps the first bar of each day 09:00 although it covers 09:30-10:00 (LEAN
    truncates bar starts to the hour). Here that bar gets ``ts_event`` = 09:30 New York time, its
    true start, and ``ts_init`` = 10:00; every other bar runs from its stamp to stamp + 1 hour
    (the last bar of a half day, stamped 12:00, ends at the 13:00 close).

    Parameters
    ----------
    symbols, adjusted
        As in :func:`load_lean_daily` (same factor semantics).

    Returns
    -------
    (DataFrame, ValidationReport)
        204,105 bars when all symbols are loaded.
    """
    path = sample_path(LEAN_HOURLY)
    raw = read_table(path)
    frame, report = frame_from_table(raw, DataKind.BAR, source=str(path), symbol=symbols, interval="1h")
    local = pd.to_datetime(frame["ts_event"].to_numpy(), utc=True).tz_convert(_NEW_YORK)
    first_bar = (local.hour == 9) & (local.minute == 0)
    frame.loc[first_bar, "ts_event"] += 30 * _MINUTE_NS
    if adjusted:
        _adjust(frame, raw)
    return frame, report


def load_spy_trade_ticks(
    nrows: int | None = None, *, include_suspicious: bool = True
) -> tuple[pd.DataFrame, ValidationReport]:
    """Every consolidated SPY trade print (LEAN/AlgoSeek), 2013-10-07..11, extended hours included.

    Parameters
    ----------
    nrows : int, optional
        Read only the first ``nrows`` prints (1,887,460 in the file; the first 1,000,000 cover
        2013-10-07, -08 and part of -09).
    include_suspicious : bool
        False drops the 10 prints AlgoSeek flagged as suspicious, counted in
        ``report.skipped["suspicious"]``.

    Returns
    -------
    (DataFrame, ValidationReport)
        Canonical trades; ``aggressor`` is ``""`` (not reported by the source).
    """
    return _trade_ticks(SPY_TRADE_TICKS, nrows, include_suspicious)


def load_ibm_trade_ticks(
    nrows: int | None = None, *, include_suspicious: bool = True
) -> tuple[pd.DataFrame, ValidationReport]:
    """Every consolidated IBM trade print, 2013-10-07..11 (126,395 rows); see :func:`load_spy_trade_ticks`."""
    return _trade_ticks(IBM_TRADE_TICKS, nrows, include_suspicious)


def _trade_ticks(name: str, nrows: int | None, include_suspicious: bool) -> tuple[pd.DataFrame, ValidationReport]:
    path = sample_path(name)
    if include_suspicious:
        return load_trades(path, nrows=nrows)
    raw = read_table(path, nrows=nrows)
    frame, report = frame_from_table(raw, DataKind.TRADE, source=str(path))
    flagged = raw.loc[frame.index, "suspicious"].to_numpy() == 1
    if flagged.any():
        frame = frame[~flagged]
        report.skipped["suspicious"] = int(flagged.sum())
        report.rows_kept = len(frame)
    return frame, report


def _adjust(frame: pd.DataFrame, raw: pd.DataFrame) -> None:
    """Scale LEAN prices by split*dividend factors and volume by 1/split, in place."""
    split = raw.loc[frame.index, "split_factor"].to_numpy(dtype=np.float64)
    dividend = raw.loc[frame.index, "dividend_factor"].to_numpy(dtype=np.float64)
    factor = split * dividend
    for name in ("open", "high", "low", "close"):
        frame[name] = frame[name].to_numpy() * factor
    frame["volume"] = frame["volume"].to_numpy() / split
