"""Validation of canonical market-data frames, with a stated policy for every problem.

Checks, in the order they run (each on the rows that survived the previous ones):

=====================  ===========================================================  ========  =========
check (report key)     a row fails when                                             kinds     default
=====================  ===========================================================  ========  =========
``missing``            ``ts_event``, ``symbol``, a price or a size is empty/NaN    all       ``skip``
``non_positive_price`` a price is <= 0 (or infinite)                                all       ``raise``
``negative_size``      a volume/size is < 0 (or infinite)                           all       ``raise``
``inconsistent_ohlc``  ``high < low``, or ``open``/``close`` outside [low, high]    bars      ``raise``
``crossed_quote``      ``bid > ask``                                                quotes    ``keep``
``duplicate``          same ``symbol`` and ``ts_event`` as an earlier row           bars      ``raise``
``out_of_order``       ``ts_event`` earlier than an earlier row of the same symbol  all       ``raise``
``price_jump``         a price beyond ``price_jump_factor`` (default 50) times, or  all       ``raise``
                       below 1/``price_jump_factor`` of, the median of the
                       symbol's previous 5 rows' last price (close, ask, price)
=====================  ===========================================================  ========  =========

Policies (:class:`Policy`):

* ``raise``: raise :class:`~workbench.errors.DataError` naming the source file, the first failing
  row, the field (as spelled in the file) and its value, and how many rows fail the check.
* ``skip``: drop the failing rows and count them in :attr:`ValidationReport.skipped`.
* ``keep``: keep the rows but count them in :attr:`ValidationReport.flagged`.

Why these defaults: an empty price is common and harmless in real files (a minute with a quote
but no trade has an empty OHLC), so ``missing`` skips and counts. A non-positive price, an
impossible bar, a duplicate bar or time running backwards means the file is corrupt or mis-read
(wrong column mapping, wrong sort), and continuing would give a wrong backtest, so those raise.
Crossed quotes occur in real FX data (about 1-2% of FXCM minutes) and are kept but counted. A
price 50 times (or a 50th of) the symbol's recent prices is a mis-read or corrupt value (a price of
1e300 would otherwise be traded, a price in cents among dollars is 100x); real moves stay well
inside: the largest in the shipped LEAN daily data is AIG on 2008-09-16 (low 1.25 after 17.37,
13.9x). Unadjusted data with a large reverse split may need a larger ``price_jump_factor``.
Quotes and trades legitimately share timestamps (many prints per millisecond), so the duplicate
check applies to bars only. ``skip`` on ``out_of_order`` drops every row stamped earlier than
the latest earlier row of its symbol (so one far-future row drops everything after it: prefer
sorting the source when that happens).

Row numbers: the frame's index must hold the **1-based data-row number in the source** (the
first row after the header is 1; in a CSV without blank lines, data row ``n`` is on line
``n + 1``). Loaders set it; :func:`validate` keeps it on the returned frame.

Nothing is dropped silently: ``rows_read == rows_kept + sum(skipped.values())`` always holds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from workbench.errors import DataError
from workbench.feeds.frames import PRICE_COLUMNS, SIZE_COLUMNS, DataKind

MAX_EXAMPLES = 5
"""How many example rows per check a :class:`ValidationReport` keeps."""


class Policy(StrEnum):
    """What to do with rows that fail a check."""

    RAISE = "raise"
    SKIP = "skip"
    KEEP = "keep"


class ValidationPolicy(BaseModel):
    """Policy for each check; see the module docstring for the checks and why these defaults.

    Examples
    --------
    >>> ValidationPolicy(out_of_order="skip").out_of_order
    <Policy.SKIP: 'skip'>
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    missing: Policy = Policy.SKIP
    non_positive_price: Policy = Policy.RAISE
    negative_size: Policy = Policy.RAISE
    inconsistent_ohlc: Policy = Policy.RAISE
    crossed_quote: Policy = Policy.KEEP
    duplicate: Policy = Policy.RAISE
    out_of_order: Policy = Policy.RAISE
    price_jump: Policy = Policy.RAISE
    price_jump_factor: float = Field(50.0, gt=1.0, description="sanity band of the price_jump check")

    @classmethod
    def _checks(cls) -> list[str]:
        return [name for name, f in cls.model_fields.items() if f.annotation is Policy]

    @classmethod
    def lenient(cls) -> ValidationPolicy:
        """Skip (and count) every failing row instead of raising."""
        return cls(**{name: Policy.SKIP for name in cls._checks()})

    @classmethod
    def strict(cls) -> ValidationPolicy:
        """Raise on every failing row, including empty fields."""
        return cls(**{name: Policy.RAISE for name in cls._checks()})


@dataclass(frozen=True)
class Issue:
    """One failing row, kept as an example in a :class:`ValidationReport`.

    Attributes
    ----------
    check : str
        Name of the check (a :class:`ValidationPolicy` field).
    row : int
        1-based data-row number in the source (header not counted).
    field : str
        Column name as spelled in the source.
    value : object
        The offending value.
    detail : str
        Human-readable explanation.
    """

    check: str
    row: int
    field: str
    value: object
    detail: str

    def __str__(self) -> str:
        return f"data row {self.row}: {self.field}={self.value!r} ({self.detail})"


@dataclass
class ValidationReport:
    """What validation read, kept, skipped and flagged.

    Attributes
    ----------
    source : str
        File name (or a label) the rows came from.
    kind : str
        ``"bars"``, ``"quotes"`` or ``"trades"``.
    rows_read : int
        Rows considered (after any symbol selection).
    rows_kept : int
        Rows in the returned frame.
    skipped : dict[str, int]
        Rows dropped, by check name.
    flagged : dict[str, int]
        Rows kept under policy ``keep`` although they failed a check, by check name.
    examples : list[Issue]
        Up to :data:`MAX_EXAMPLES` failing rows per check, in row order.
    """

    source: str
    kind: str
    rows_read: int = 0
    rows_kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)
    examples: list[Issue] = field(default_factory=list)

    @property
    def rows_skipped(self) -> int:
        """Total rows dropped."""
        return sum(self.skipped.values())

    def __str__(self) -> str:
        text = f"{self.source} ({self.kind}): read {self.rows_read}, kept {self.rows_kept}"
        if self.skipped:
            text += f", skipped {self.skipped}"
        if self.flagged:
            text += f", flagged {self.flagged}"
        return text


# A check takes the frame and returns (mask of failing rows, function giving (field, value, detail) for a row).
_Check = Callable[[pd.DataFrame], tuple[np.ndarray, Callable[[pd.Series], tuple[str, object, str]]]]


def validate(
    frame: pd.DataFrame,
    kind: DataKind,
    *,
    policy: ValidationPolicy | None = None,
    source: str = "<frame>",
    field_names: Mapping[str, str] | None = None,
    optional: Collection[str] = (),
) -> tuple[pd.DataFrame, ValidationReport]:
    """Run the checks of the module docstring on a canonical frame.

    Parameters
    ----------
    frame : DataFrame
        Canonical layout of ``kind`` (``ts_init`` is not checked and may be a placeholder);
        missing ``ts_event`` values are the int64 minimum (``pd.NaT.value``). Its index holds the
        1-based source row numbers used in messages.
    kind : DataKind
    policy : ValidationPolicy, optional
        Defaults to ``ValidationPolicy()``.
    source : str
        File name for messages and the report.
    field_names : Mapping[str, str], optional
        Canonical column name -> name in the source file, so that messages use the file's spelling.
    optional : collection of str
        Size columns absent from the source (all NaN, meaning unknown): exempt from ``missing``.

    Returns
    -------
    (DataFrame, ValidationReport)
        The kept rows (index unchanged) and the report.

    Raises
    ------
    DataError
        On the first check, in the order of the table above, whose policy is ``raise`` and that
        some row fails.
    """
    policy = ValidationPolicy() if policy is None else policy
    names = dict(field_names or {})
    report = ValidationReport(source=source, kind=kind.label, rows_read=len(frame))
    for check_name, check in _checks(kind, tuple(optional), policy.price_jump_factor):
        if frame.empty:
            break
        mask, describe = check(frame)
        count = int(mask.sum())
        if count == 0:
            continue
        action = getattr(policy, check_name)
        failing = frame[mask]
        issues = []
        for row_number, row in failing.head(MAX_EXAMPLES).iterrows():
            canonical_field, value, detail = describe(row)
            issues.append(Issue(check_name, int(row_number), names.get(canonical_field, canonical_field), value, detail))
        if action is Policy.RAISE:
            first = issues[0]
            raise DataError(
                f"{source}: {first} [check {check_name!r}; {count} of {len(frame)} rows fail it; "
                f"data rows are 1-based, header not counted]. Fix the data or pass "
                f"policy=ValidationPolicy({check_name}='skip') to drop and count such rows"
            )
        report.examples.extend(issues)
        if action is Policy.SKIP:
            report.skipped[check_name] = count
            frame = frame[~mask]
        else:
            report.flagged[check_name] = count
    report.rows_kept = len(frame)
    return frame, report


def _checks(kind: DataKind, optional: tuple[str, ...], jump_factor: float = 50.0) -> list[tuple[str, _Check]]:
    checks: list[tuple[str, _Check]] = [
        ("missing", _missing(kind, optional)),
        ("non_positive_price", _non_positive(PRICE_COLUMNS[kind])),
        ("negative_size", _negative(SIZE_COLUMNS[kind])),
    ]
    if kind is DataKind.BAR:
        checks.append(("inconsistent_ohlc", _inconsistent_ohlc))
    if kind is DataKind.QUOTE:
        checks.append(("crossed_quote", _crossed))
    if kind is DataKind.BAR:
        checks.append(("duplicate", _duplicate))
    checks.append(("out_of_order", _out_of_order))
    checks.append(("price_jump", _price_jump(PRICE_COLUMNS[kind], jump_factor)))
    return checks


_NAT = np.iinfo(np.int64).min


def _timestamp_text(ns: int) -> str:
    return f"{pd.Timestamp(ns, tz='UTC').isoformat()} ({ns} ns)"


def _first_failing(row: pd.Series, columns: tuple[str, ...], test: Callable[[object], bool]) -> str:
    return next(name for name in columns if test(row[name]))


def _missing(kind: DataKind, optional: tuple[str, ...]) -> _Check:
    values = PRICE_COLUMNS[kind] + tuple(name for name in SIZE_COLUMNS[kind] if name not in optional)

    def check(frame: pd.DataFrame) -> tuple[np.ndarray, Callable[[pd.Series], tuple[str, object, str]]]:
        mask = frame[list(values)].isna().to_numpy().any(axis=1) | (frame["ts_event"].to_numpy() == _NAT)
        symbol = frame["symbol"]
        mask |= (symbol.isna() | (symbol == "")).to_numpy(dtype=bool, na_value=True)

        def describe(row: pd.Series) -> tuple[str, object, str]:
            if row["ts_event"] == _NAT:
                return "ts_event", None, "empty timestamp"
            if row["symbol"] == "" or pd.isna(row["symbol"]):
                return "symbol", row["symbol"], "empty symbol"
            name = _first_failing(row, values, pd.isna)
            return name, None, "empty value"

        return mask, describe

    return check


def _non_positive(columns: tuple[str, ...]) -> _Check:
    def check(frame: pd.DataFrame) -> tuple[np.ndarray, Callable[[pd.Series], tuple[str, object, str]]]:
        block = frame[list(columns)].to_numpy()
        mask = ~(np.isfinite(block) & (block > 0)).all(axis=1)

        def describe(row: pd.Series) -> tuple[str, object, str]:
            name = _first_failing(row, columns, lambda v: not (np.isfinite(v) and v > 0))
            return name, float(row[name]), "price must be finite and > 0"

        return mask, describe

    return check


def _negative(columns: tuple[str, ...]) -> _Check:
    def check(frame: pd.DataFrame) -> tuple[np.ndarray, Callable[[pd.Series], tuple[str, object, str]]]:
        block = frame[list(columns)].to_numpy()
        mask = ((block < 0) | np.isinf(block)).any(axis=1)

        def describe(row: pd.Series) -> tuple[str, object, str]:
            name = _first_failing(row, columns, lambda v: v < 0 or np.isinf(v))
            return name, float(row[name]), "size must be finite and >= 0 (empty means unknown)"

        return mask, describe

    return check


def _inconsistent_ohlc(frame: pd.DataFrame) -> tuple[np.ndarray, Callable[[pd.Series], tuple[str, object, str]]]:
    o, h, l, c = (frame[name].to_numpy() for name in ("open", "high", "low", "close"))
    mask = (h < l) | (o < l) | (o > h) | (c < l) | (c > h)

    def describe(row: pd.Series) -> tuple[str, object, str]:
        low, high = row["low"], row["high"]
        if high < low:
            return "high", float(high), f"high < low={low}"
        name = "open" if not low <= row["open"] <= high else "close"
        return name, float(row[name]), f"{name} outside [low={low}, high={high}]"

    return mask, describe


def _crossed(frame: pd.DataFrame) -> tuple[np.ndarray, Callable[[pd.Series], tuple[str, object, str]]]:
    mask = frame["bid"].to_numpy() > frame["ask"].to_numpy()

    def describe(row: pd.Series) -> tuple[str, object, str]:
        return "bid", float(row["bid"]), f"bid > ask={row['ask']}"

    return mask, describe


def _duplicate(frame: pd.DataFrame) -> tuple[np.ndarray, Callable[[pd.Series], tuple[str, object, str]]]:
    mask = frame.duplicated(["symbol", "ts_event"], keep="first").to_numpy()

    def describe(row: pd.Series) -> tuple[str, object, str]:
        return "ts_event", _timestamp_text(int(row["ts_event"])), f"second bar for {row['symbol']} at this time"

    return mask, describe


def _out_of_order(frame: pd.DataFrame) -> tuple[np.ndarray, Callable[[pd.Series], tuple[str, object, str]]]:
    ts = frame["ts_event"]
    if frame["symbol"].nunique() == 1:
        previous_max = ts.cummax().shift(1, fill_value=_NAT)
    else:
        by_symbol = frame["symbol"]
        running = ts.groupby(by_symbol, sort=False).cummax()
        previous_max = running.groupby(by_symbol, sort=False).shift(1, fill_value=_NAT)
    mask = (ts < previous_max).to_numpy()

    def describe(row: pd.Series) -> tuple[str, object, str]:
        earlier = _timestamp_text(int(previous_max.loc[row.name]))
        return "ts_event", _timestamp_text(int(row["ts_event"])), f"earlier than a previous {row['symbol']} row at {earlier}"

    return mask, describe


def _price_jump(columns: tuple[str, ...], factor: float) -> _Check:
    """Prices far from the median of the symbol's previous 5 rows' last price column (one outlier
    does not move that median, so only the bad row fails, not the rows after it)."""

    def check(frame: pd.DataFrame) -> tuple[np.ndarray, Callable[[pd.Series], tuple[str, object, str]]]:
        last = frame[columns[-1]]
        reference = last.groupby(frame["symbol"], sort=False).transform(
            lambda s: s.shift(1).rolling(5, min_periods=1).median())
        block = frame[list(columns)].to_numpy()
        ref = reference.to_numpy()[:, None]
        with np.errstate(invalid="ignore"):
            mask = ((block > ref * factor) | (block < ref / factor)).any(axis=1)

        def describe(row: pd.Series) -> tuple[str, object, str]:
            ref_value = float(reference.loc[row.name])
            name = _first_failing(row, columns, lambda v: v > ref_value * factor or v < ref_value / factor)
            return name, float(row[name]), (f"more than {factor:g}x away from the recent {row['symbol']} price "
                                            f"{ref_value:g} (sanity band: ValidationPolicy.price_jump_factor)")

        return mask, describe

    return check
