"""Filters: which candidates a scan may select, each with the reason it refuses one.

A filter maps a :class:`ScanContext` to a Series of reasons per symbol: ``""`` passes, any other
text refuses (and is shown in the ranked table). Boundaries are inclusive on the passing side
unless a docstring says otherwise.

======================  ====================================================================
filter                  refuses
======================  ====================================================================
``regime``              every symbol, when the benchmark's close is not strictly above its
                        ``moving_average``-session mean, or (``max_volatility``) its annualized
                        ``volatility_window`` volatility is above the ceiling (Faber 2007's
                        10-month trend filter, in sessions)
``correlation``         a symbol not held whose return correlation over ``lookback`` sessions
                        with any held symbol is above ``max_correlation``
``earnings``            a symbol with an earnings date within ``days`` calendar days from the
                        scan date (0 = the scan date only), from an earnings-calendar file
``liquidity``           last close below ``min_price``, mean dollar volume over ``window``
                        below ``min_dollar_volume``, or quoted spread above ``max_spread_bps``
======================  ====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from workbench.errors import ConfigError, DataError
from workbench.scanning.factors import DollarVolume, RealizedVolatility
from workbench.scanning.panel import Panel

__all__ = [
    "FILTERS",
    "CorrelationFilter",
    "EarningsFilter",
    "Filter",
    "LiquidityFilter",
    "RegimeFilter",
    "ScanContext",
    "load_earnings_calendar",
    "make_filter",
]


@dataclass
class ScanContext:
    """What a filter sees: the panel cut at the scan, the candidates, what is held, quoted spreads.

    ``spreads_bps`` (optional) is the latest quoted spread per symbol in bps of the mid.
    """

    panel: Panel
    symbols: list[str]
    held: Sequence[str] = ()
    spreads_bps: Mapping[str, float] = field(default_factory=dict)

    @property
    def date(self) -> pd.Timestamp:
        return self.panel.dates[-1]


class Filter:
    """Base class; ``kind`` is the name a scan config's ``filters:`` entry uses."""

    kind: ClassVar[str] = ""

    def reasons(self, context: ScanContext) -> pd.Series:
        raise NotImplementedError

    def _all(self, context: ScanContext, reason: str) -> pd.Series:
        return pd.Series(reason, index=context.symbols, dtype=object)


class RegimeFilter(Filter):
    """Market regime from the benchmark: trend above its moving average, volatility under a ceiling."""

    kind = "regime"

    def __init__(self, benchmark: str = "SPY", moving_average: int = 200, max_volatility: float | None = None,
                 volatility_window: int = 20) -> None:
        if moving_average < 1 or volatility_window < 2:
            raise ConfigError(f"filters.regime: moving_average {moving_average!r} must be >= 1, "
                              f"volatility_window {volatility_window!r} >= 2")
        self.benchmark, self.moving_average = benchmark, int(moving_average)
        self.max_volatility, self.volatility_window = max_volatility, int(volatility_window)

    def reasons(self, context: ScanContext) -> pd.Series:
        panel = context.panel
        if self.benchmark not in panel.close.columns:
            raise ConfigError(f"filters.regime.benchmark: {self.benchmark!r} has no data in the scan's panel")
        close = panel.close[self.benchmark]
        average = close.rolling(self.moving_average, min_periods=self.moving_average).mean().iloc[-1]
        last = close.iloc[-1]
        if not np.isfinite(average) or not np.isfinite(last):
            return self._all(context, f"regime: {self.benchmark} has under {self.moving_average} sessions")
        if not last > average:
            return self._all(context, f"regime: {self.benchmark} {last:.2f} <= {self.moving_average}-session "
                                      f"average {average:.2f}")
        if self.max_volatility is not None:
            vol = RealizedVolatility(self.volatility_window).compute(panel.select([self.benchmark])).iloc[-1, 0]
            if np.isfinite(vol) and vol > self.max_volatility:
                return self._all(context, f"regime: {self.benchmark} volatility {vol:.1%} > {self.max_volatility:.1%}")
        return self._all(context, "")


class CorrelationFilter(Filter):
    """Diversification: refuse a candidate too correlated with what is already held."""

    kind = "correlation"

    def __init__(self, max_correlation: float = 0.8, lookback: int = 60) -> None:
        if not -1.0 <= max_correlation <= 1.0 or lookback < 3:
            raise ConfigError(f"filters.correlation: max_correlation {max_correlation!r} must be in [-1, 1] and "
                              f"lookback {lookback!r} >= 3")
        self.max_correlation, self.lookback = float(max_correlation), int(lookback)

    def reasons(self, context: ScanContext) -> pd.Series:
        out = self._all(context, "")
        held = [s for s in context.held if s in context.panel.close.columns]
        if not held:
            return out
        returns = context.panel.returns().iloc[-self.lookback:]
        corr = returns.corr(min_periods=max(3, self.lookback // 2))
        for symbol in context.symbols:
            if symbol in held or symbol not in corr.index:
                continue
            row = corr.loc[symbol, held].drop(labels=[symbol], errors="ignore")
            if row.notna().any() and row.max() > self.max_correlation:
                other = row.idxmax()
                out[symbol] = f"correlation: {row.max():.2f} with held {other} > {self.max_correlation:.2f}"
        return out


def load_earnings_calendar(path: str | Path) -> pd.DataFrame:
    """Read an earnings calendar: a CSV with columns ``symbol`` and ``date`` (YYYY-MM-DD).

    Returns
    -------
    DataFrame with ``symbol`` (upper case) and ``date`` (Timestamp, midnight).

    Raises
    ------
    DataError
        Missing file or column, or a date that does not parse, naming the file, line and value.
    """
    p = Path(path)
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{p}: cannot read the earnings calendar: {exc}") from None
    missing = [c for c in ("symbol", "date") if c not in raw.columns]
    if missing:
        raise DataError(f"{p}: earnings calendar lacks column(s) {missing}")
    dates = pd.to_datetime(raw["date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    bad = dates.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{p}: line {i + 2}: field 'date': {raw['date'].iloc[i]!r} is not a date (YYYY-MM-DD)")
    symbols = raw["symbol"].str.strip().str.upper()
    if (symbols == "").any():
        i = int(np.flatnonzero((symbols == "").to_numpy())[0])
        raise DataError(f"{p}: line {i + 2}: field 'symbol' is empty")
    return pd.DataFrame({"symbol": symbols, "date": dates})


class EarningsFilter(Filter):
    """Avoid holding through earnings: refuse symbols reporting within ``days`` of the scan date."""

    kind = "earnings"

    def __init__(self, calendar: pd.DataFrame | str | Path, days: int = 5) -> None:
        if days < 0:
            raise ConfigError(f"filters.earnings.days: expected >= 0, got {days!r}")
        self.calendar = calendar if isinstance(calendar, pd.DataFrame) else load_earnings_calendar(calendar)
        self.days = int(days)

    def reasons(self, context: ScanContext) -> pd.Series:
        out = self._all(context, "")
        start = context.date.normalize()
        end = start + pd.Timedelta(days=self.days)
        cal = self.calendar
        near = cal[(cal["date"] >= start) & (cal["date"] <= end)]
        for symbol, date in zip(near["symbol"], near["date"], strict=True):
            if symbol in out.index and not out[symbol]:
                out[symbol] = f"earnings: {date.date()} within {self.days} days"
        return out


class LiquidityFilter(Filter):
    """Tradability: a minimum price and dollar volume, and (with quotes) a maximum spread."""

    kind = "liquidity"

    def __init__(self, min_price: float = 5.0, min_dollar_volume: float = 1e6, window: int = 20,
                 max_spread_bps: float | None = None) -> None:
        if min_price < 0 or min_dollar_volume < 0 or window < 1:
            raise ConfigError(f"filters.liquidity: min_price {min_price!r}, min_dollar_volume {min_dollar_volume!r} "
                              f"must be >= 0 and window {window!r} >= 1")
        self.min_price, self.min_dollar_volume = float(min_price), float(min_dollar_volume)
        self.window, self.max_spread_bps = int(window), max_spread_bps

    def reasons(self, context: ScanContext) -> pd.Series:
        out = self._all(context, "")
        columns = {s: i for i, s in enumerate(context.panel.symbols)}
        price = context.panel.close.to_numpy(dtype=float)[-1]
        dollar = DollarVolume(self.window).latest(context.panel)
        for symbol in context.symbols:
            p, dv = price[columns[symbol]], dollar[columns[symbol]]
            if not np.isfinite(p):
                out[symbol] = f"liquidity: no bar on {context.date.date()}"
            elif p < self.min_price:
                out[symbol] = f"liquidity: price {p:.2f} < {self.min_price:.2f}"
            elif not np.isfinite(dv) or dv < self.min_dollar_volume:
                out[symbol] = f"liquidity: {self.window}-session dollar volume {dv:,.0f} < {self.min_dollar_volume:,.0f}"
            elif self.max_spread_bps is not None:
                spread = context.spreads_bps.get(symbol)
                if spread is not None and spread > self.max_spread_bps:
                    out[symbol] = f"liquidity: spread {spread:.1f} bps > {self.max_spread_bps:.1f}"
        return out


FILTERS: dict[str, type[Filter]] = {c.kind: c for c in (RegimeFilter, CorrelationFilter, EarningsFilter, LiquidityFilter)}
"""Registry: filter kind -> class."""


def make_filter(spec: Mapping[str, Any], position: int = 0) -> Filter:
    """Build a filter from a config entry ``{"filter": kind, **parameters}``.

    Raises
    ------
    ConfigError
        Unknown kind or parameter, naming ``filters[position]``.
    """
    params = dict(spec)
    kind = params.pop("filter", None)
    cls = FILTERS.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ConfigError(f"filters[{position}].filter: unknown filter {kind!r}; known: {sorted(FILTERS)}")
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(f"filters[{position}] ({kind}): bad parameter(s) {sorted(params)}: {exc}") from None
