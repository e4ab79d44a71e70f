"""Factors: per-symbol numbers computed from daily bars, vectorized over the whole universe.

Each factor maps a :class:`~workbench.scanning.panel.Panel` to a frame of the same shape
(sessions x symbols); a scan reads its last row. Rows are sessions, so a look-back of ``n`` means
``n`` sessions of the panel (a symbol without a bar on a session has NaN there, and a window that
reaches it is NaN: nothing is forward-filled).

======================  =============================================================  =========
factor                  value at session t                                             unit
======================  =============================================================  =========
``momentum``            ``close[t-skip] / close[t-skip-lookback] - 1``                 fraction
``relative_strength``   ``(1 + momentum) / (1 + momentum of the benchmark) - 1``       fraction
``volatility``          ``std(r[t-window+1..t], ddof=1) * sqrt(periods)``, r simple    fraction/yr
``atr``                 Wilder's average true range / close (``normalized``) or price  fraction
``rsi``                 Wilder's relative strength index                               percent
``volume_surge``        ``volume[t] / mean(volume[t-window..t-1])``                    ratio
``gap``                 ``open[t] / close[t-1] - 1``                                   fraction
``distance_from_ma``    ``close[t] / mean(close[t-window+1..t]) - 1``                  fraction
``dollar_volume``       ``mean(close * volume)`` over ``window`` sessions               currency
======================  =============================================================  =========

Sources: Jegadeesh & Titman (1993) for momentum with a skipped month; Wilder (1978) for RSI and
ATR (the same definitions and seeding as :class:`workbench.engine.indicators.RSI` and ``ATR``);
annualized volatility as empyrical's ``annual_volatility`` (ddof 1, ``sqrt(252)``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from workbench.errors import ConfigError
from workbench.scanning.panel import Panel

__all__ = [
    "ATR",
    "FACTORS",
    "RSI",
    "DistanceFromMovingAverage",
    "DollarVolume",
    "Factor",
    "Gap",
    "Momentum",
    "RealizedVolatility",
    "RelativeStrength",
    "VolumeSurge",
    "make_factor",
]


class Factor:
    """Base class: ``compute(panel)`` returns a sessions x symbols frame.

    ``name`` is the key the factor has in a scan (its column in the ranked table; weights refer to
    it); ``kind`` the registry name in :data:`FACTORS`.
    """

    kind: ClassVar[str] = ""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.kind

    def compute(self, panel: Panel) -> pd.DataFrame:
        raise NotImplementedError

    def latest(self, panel: Panel) -> np.ndarray:
        """The factor on the panel's last session, per symbol in column order (NaN where not
        computable); equal to ``compute(panel).iloc[-1]``, faster where a subclass overrides it."""
        if not len(panel):
            return np.full(len(panel.symbols), np.nan)
        return self.compute(panel).iloc[-1].to_numpy(dtype=float)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "name")
        return f"{type(self).__name__}({params})"


def _array(panel: Panel, field: str) -> np.ndarray:
    return getattr(panel, field).to_numpy(dtype=float)


def _growth(close: np.ndarray, lookback: int, skip: int) -> np.ndarray:
    """``close[-1-skip] / close[-1-skip-lookback]`` per column (NaN when the panel is too short)."""
    if len(close) < lookback + skip + 1:
        return np.full(close.shape[1], np.nan)
    return close[len(close) - 1 - skip] / close[len(close) - 1 - skip - lookback]


def _positive_int(owner: str, field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{owner}.{field}: expected an integer >= 1, got {value!r}")
    return int(value)


class Momentum(Factor):
    """Return over ``lookback`` sessions, ending ``skip`` sessions ago (fraction)."""

    kind = "momentum"

    def __init__(self, lookback: int = 126, skip: int = 0, name: str | None = None) -> None:
        super().__init__(name)
        self.lookback = _positive_int(self.name, "lookback", lookback)
        self.skip = 0 if skip == 0 else _positive_int(self.name, "skip", skip)

    def compute(self, panel: Panel) -> pd.DataFrame:
        end = panel.close.shift(self.skip) if self.skip else panel.close
        return end / panel.close.shift(self.skip + self.lookback) - 1.0

    def latest(self, panel: Panel) -> np.ndarray:
        return _growth(_array(panel, "close"), self.lookback, self.skip) - 1.0


class RelativeStrength(Factor):
    """Momentum relative to ``benchmark``'s over the same window: ``(1+m)/(1+m_benchmark) - 1``.

    Raises
    ------
    ConfigError
        From ``compute`` if the benchmark is not in the panel.
    """

    kind = "relative_strength"

    def __init__(self, benchmark: str = "SPY", lookback: int = 63, name: str | None = None) -> None:
        super().__init__(name)
        self.benchmark = benchmark
        self.lookback = _positive_int(self.name, "lookback", lookback)

    def compute(self, panel: Panel) -> pd.DataFrame:
        if self.benchmark not in panel.close.columns:
            raise ConfigError(f"{self.name}.benchmark: {self.benchmark!r} has no data in the scan's panel")
        growth = panel.close / panel.close.shift(self.lookback)
        return growth.div(growth[self.benchmark], axis=0) - 1.0

    def latest(self, panel: Panel) -> np.ndarray:
        self.compute(panel.tail(1))  # the benchmark check
        growth = _growth(_array(panel, "close"), self.lookback, 0)
        return growth / growth[panel.symbols.index(self.benchmark)] - 1.0


class RealizedVolatility(Factor):
    """Annualized standard deviation of simple daily returns over ``window`` sessions."""

    kind = "volatility"

    def __init__(self, window: int = 20, periods_per_year: int = 252, name: str | None = None) -> None:
        super().__init__(name)
        self.window = _positive_int(self.name, "window", window)
        self.periods_per_year = _positive_int(self.name, "periods_per_year", periods_per_year)

    def compute(self, panel: Panel) -> pd.DataFrame:
        std = panel.returns().rolling(self.window, min_periods=self.window).std(ddof=1)
        return std * np.sqrt(self.periods_per_year)

    def latest(self, panel: Panel) -> np.ndarray:
        close = _array(panel, "close")
        if len(close) < self.window + 1:
            return np.full(close.shape[1], np.nan)
        tail = close[-self.window - 1:]
        returns = tail[1:] / tail[:-1] - 1.0
        return returns.std(axis=0, ddof=1) * np.sqrt(self.periods_per_year)


def _wilder(values: np.ndarray, period: int) -> np.ndarray:
    """Wilder's smoothing per column, seeded with the mean of the column's first ``period`` values.

    ``values`` is sessions x symbols; NaN entries are skipped (the state carries over, the output
    there is NaN). ``avg_t = avg_{t-1} + (x_t - avg_{t-1}) / period`` is a first-order IIR filter,
    run per column by ``scipy.signal.lfilter`` from the seed.
    """
    rows, cols = values.shape
    out = np.full((rows, cols), np.nan)
    alpha = 1.0 / period
    b, a = [alpha], [1.0, alpha - 1.0]
    for j in range(cols):
        column = values[:, j]
        where = np.flatnonzero(~np.isnan(column))
        if len(where) < period:
            continue
        x = column[where]
        seed = x[:period].mean()
        smoothed = np.empty(len(x))
        smoothed[period - 1] = seed
        if len(x) > period:
            smoothed[period:] = lfilter(b, a, x[period:], zi=[(1.0 - alpha) * seed])[0]
        out[where[period - 1:], j] = smoothed[period - 1:]
    return out


def _changes(close: np.ndarray) -> np.ndarray:
    """Change from each symbol's previous *valid* close (NaN on the first and on missing sessions)."""
    previous = pd.DataFrame(close).ffill().shift(1).to_numpy()
    return close - previous


class RSI(Factor):
    """Wilder's relative strength index over ``period`` changes (percent, 0-100)."""

    kind = "rsi"

    def __init__(self, period: int = 14, name: str | None = None) -> None:
        super().__init__(name)
        self.period = _positive_int(self.name, "period", period)

    def compute(self, panel: Panel) -> pd.DataFrame:
        change = _changes(panel.close.to_numpy(dtype=float))
        with np.errstate(invalid="ignore"):
            gain = np.where(np.isnan(change), np.nan, np.maximum(change, 0.0))
            loss = np.where(np.isnan(change), np.nan, np.maximum(-change, 0.0))
        avg_gain, avg_loss = _wilder(gain, self.period), _wilder(loss, self.period)
        total = avg_gain + avg_loss
        with np.errstate(invalid="ignore", divide="ignore"):
            rsi = np.where(total > 0, 100.0 * avg_gain / total, np.where(np.isnan(total), np.nan, 50.0))
        return pd.DataFrame(rsi, index=panel.dates, columns=panel.close.columns)


class ATR(Factor):
    """Wilder's average true range over ``period`` bars; divided by the close when ``normalized``."""

    kind = "atr"

    def __init__(self, period: int = 14, normalized: bool = True, name: str | None = None) -> None:
        super().__init__(name)
        self.period = _positive_int(self.name, "period", period)
        self.normalized = bool(normalized)

    def compute(self, panel: Panel) -> pd.DataFrame:
        close = panel.close.to_numpy(dtype=float)
        previous = pd.DataFrame(close).ffill().shift(1).to_numpy()
        high, low = panel.high.to_numpy(dtype=float), panel.low.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            true_range = np.fmax(high - low, np.fmax(np.abs(high - previous), np.abs(low - previous)))
        true_range[np.isnan(previous) | np.isnan(close)] = np.nan
        atr = _wilder(true_range, self.period)
        if self.normalized:
            atr = atr / close
        return pd.DataFrame(atr, index=panel.dates, columns=panel.close.columns)


class VolumeSurge(Factor):
    """Today's volume over the mean volume of the ``window`` sessions before it (ratio)."""

    kind = "volume_surge"

    def __init__(self, window: int = 20, name: str | None = None) -> None:
        super().__init__(name)
        self.window = _positive_int(self.name, "window", window)

    def compute(self, panel: Panel) -> pd.DataFrame:
        before = panel.volume.shift(1).rolling(self.window, min_periods=self.window).mean()
        return panel.volume / before.where(before > 0)

    def latest(self, panel: Panel) -> np.ndarray:
        volume = _array(panel, "volume")
        if len(volume) < self.window + 1:
            return np.full(volume.shape[1], np.nan)
        before = volume[-self.window - 1:-1].mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return volume[-1] / np.where(before > 0, before, np.nan)


class Gap(Factor):
    """Opening gap: today's open over yesterday's close, minus one (fraction)."""

    kind = "gap"

    def compute(self, panel: Panel) -> pd.DataFrame:
        return panel.open / panel.close.shift(1) - 1.0

    def latest(self, panel: Panel) -> np.ndarray:
        close = _array(panel, "close")
        if len(close) < 2:
            return np.full(close.shape[1], np.nan)
        return _array(panel, "open")[-1] / close[-2] - 1.0


class DistanceFromMovingAverage(Factor):
    """Close over its ``window``-session simple moving average, minus one (fraction)."""

    kind = "distance_from_ma"

    def __init__(self, window: int = 50, name: str | None = None) -> None:
        super().__init__(name)
        self.window = _positive_int(self.name, "window", window)

    def compute(self, panel: Panel) -> pd.DataFrame:
        return panel.close / panel.close.rolling(self.window, min_periods=self.window).mean() - 1.0

    def latest(self, panel: Panel) -> np.ndarray:
        close = _array(panel, "close")
        if len(close) < self.window:
            return np.full(close.shape[1], np.nan)
        return close[-1] / close[-self.window:].mean(axis=0) - 1.0


class DollarVolume(Factor):
    """Average traded value ``close * volume`` over ``window`` sessions (currency per session)."""

    kind = "dollar_volume"

    def __init__(self, window: int = 20, name: str | None = None) -> None:
        super().__init__(name)
        self.window = _positive_int(self.name, "window", window)

    def compute(self, panel: Panel) -> pd.DataFrame:
        return (panel.close * panel.volume).rolling(self.window, min_periods=self.window).mean()

    def latest(self, panel: Panel) -> np.ndarray:
        close = _array(panel, "close")
        if len(close) < self.window:
            return np.full(close.shape[1], np.nan)
        return (close[-self.window:] * _array(panel, "volume")[-self.window:]).mean(axis=0)


FACTORS: dict[str, type[Factor]] = {
    cls.kind: cls
    for cls in (Momentum, RelativeStrength, RealizedVolatility, ATR, RSI, VolumeSurge, Gap,
                DistanceFromMovingAverage, DollarVolume)
}
"""Registry: factor kind -> class (what a scan config's ``factor:`` names)."""


def make_factor(name: str, spec: dict[str, Any] | None = None) -> Factor:
    """Build a factor from a config entry: ``name`` and ``{"factor": kind, **parameters}``.

    Without ``factor`` the name is the kind (``momentum: {lookback: 63}``).

    Raises
    ------
    ConfigError
        Unknown kind or parameter, naming the factor and the offending key.
    """
    params = dict(spec or {})
    kind = params.pop("factor", name)
    cls = FACTORS.get(kind)
    if cls is None:
        raise ConfigError(f"factors.{name}.factor: unknown factor {kind!r}; known: {sorted(FACTORS)}")
    try:
        return cls(name=name, **params)
    except TypeError as exc:
        raise ConfigError(f"factors.{name}: bad parameter(s) {sorted(params)} for {kind}: {exc}") from None
