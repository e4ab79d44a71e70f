"""Incremental technical indicators for the backtest hot path.

A strategy feeds each indicator one value per bar with ``update``; the indicator keeps only the
bounded state it needs (a window of at most ``period`` values, or a few running averages), so it
cannot look ahead and costs O(1) per update. Every indicator has the same interface:

``update(value) -> None``
    Feed the next observation (:class:`ATR` takes ``update(high, low, close)``). Non-finite input
    raises ``ValueError`` naming the value: one NaN would otherwise poison the running sums.
``value : float``
    The current value, NaN until ``ready``.
``ready : bool``
    True once enough observations were seen for ``value`` to be defined.
``count : int``
    Number of ``update`` calls since construction or the last ``reset``.
``reset() -> None``
    Forget everything (the instance then behaves like a new one).

Implementation notes
--------------------
Plain Python with ``__slots__``: a numpy call per update would cost more than the arithmetic.
Windows are ``collections.deque(maxlen=period)``: measured against a preallocated list ring with a
moving index it was as fast or faster for an SMA update, and it is simpler. Measured CPU time per
``update`` (CPython 3.11, development machine, 200,000 updates, best of 25; a no-op method call
costs 22 ns): RollingWindow.append 49 ns, EMA 87, SMA 144, ATR 179, RSI 210,
BollingerBands 387, RollingVolatility 388. Rolling sums are updated by adding the new value and subtracting
the one that leaves the window; to stop rounding errors from accumulating over millions of updates
the sums are recomputed exactly from the window (``math.fsum``) every ``max(128, 8 * period)``
updates. Rolling variances use sums of deviations from a shift (the window mean at the last
recomputation), which avoids the cancellation of the textbook ``E[x^2] - E[x]^2`` form.

References
----------
* Wilder, J. W. (1978). *New Concepts in Technical Trading Systems*. Trend Research.
  Relative Strength Index and Average True Range, both with Wilder's smoothing
  ``avg_t = (avg_{t-1} * (n - 1) + x_t) / n``, i.e. an exponential average with ``alpha = 1/n``,
  seeded with the simple average of the first ``n`` values.
* Chan, T. F., Golub, G. H. & LeVeque, R. J. (1983). Algorithms for computing the sample
  variance: analysis and recommendations. *The American Statistician* 37(3) (shifted data).
* Bollinger, J. (1992). Using Bollinger Bands. *Technical Analysis of Stocks & Commodities* 10(2);
  Bollinger, J. (2001). *Bollinger on Bollinger Bands*, McGraw-Hill (population standard deviation).
"""

from __future__ import annotations

import math
import numbers
import operator
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = [
    "ATR",
    "EMA",
    "RSI",
    "SMA",
    "BollingerBands",
    "Indicator",
    "RollingVolatility",
    "RollingWindow",
]

T = TypeVar("T")

_INF = math.inf
_NAN = math.nan


def _resum_interval(period: int) -> int:
    """Updates between exact recomputations of a running sum over ``period`` values.

    A recomputation costs O(period); doing it every ``8 * period`` updates (at least 128) keeps its
    amortized cost at a few ns per update while bounding the accumulated rounding error.
    """
    return max(128, 8 * period)


def _check_period(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming the parameter."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return number


def _not_finite(indicator: object, name: str, value: object) -> ValueError:
    return ValueError(f"{type(indicator).__name__}.update: {name} must be a finite number, got {value!r}")


class RollingWindow(Generic[T]):
    """Bounded history of the last ``size`` values, newest first.

    How strategies keep history: only the past is visible and memory is bounded.

    Parameters
    ----------
    size : int
        Maximum number of values kept (>= 1).

    Raises
    ------
    ValueError
        If ``size`` is not an integer >= 1.

    Notes
    -----
    ``window[0]`` is the newest value, ``window[len(window) - 1]`` the oldest; iteration follows
    the same order (newest first). ``values`` returns them oldest to newest, ready for pandas or
    numpy. Negative indices are refused rather than guessed at.

    Examples
    --------
    >>> window = RollingWindow(3)
    >>> for price in (1.0, 2.0, 3.0, 4.0):
    ...     window.append(price)
    >>> window[0], window[2], window.values, window.full
    (4.0, 2.0, [2.0, 3.0, 4.0], True)
    """

    __slots__ = ("_buffer", "count", "size")

    def __init__(self, size: int) -> None:
        self.size: int = _check_period("size", size)
        self._buffer: deque[T] = deque(maxlen=self.size)
        self.count: int = 0  # values appended since construction or reset, including evicted ones

    def append(self, value: T) -> None:
        """Add ``value`` as the newest item, evicting the oldest when full."""
        self._buffer.append(value)
        self.count += 1

    def __getitem__(self, index: int) -> T:
        """Value ``index`` steps back (0 = newest).

        Raises
        ------
        IndexError
            If ``index`` is negative or not below ``len(self)``.
        """
        buffer = self._buffer
        if not 0 <= index < len(buffer):
            raise IndexError(f"RollingWindow index {index!r} out of range: holds {len(buffer)} values (0 = newest)")
        return buffer[-1 - index]

    def __len__(self) -> int:
        return len(self._buffer)

    def __iter__(self) -> Iterator[T]:
        """Iterate newest to oldest (the order of ``window[0], window[1], ...``)."""
        return reversed(self._buffer)

    @property
    def full(self) -> bool:
        """True when ``size`` values are held."""
        return len(self._buffer) == self.size

    @property
    def ready(self) -> bool:
        """Same as ``full`` (the indicator interface)."""
        return len(self._buffer) == self.size

    @property
    def values(self) -> list[T]:
        """A new list of the held values, oldest to newest."""
        return list(self._buffer)

    def reset(self) -> None:
        """Drop every value and set ``count`` to 0."""
        self._buffer.clear()
        self.count = 0

    def __repr__(self) -> str:
        return f"RollingWindow(size={self.size}, values={list(self._buffer)!r})"


class Indicator:
    """Base class of the indicators: ``period``, ``value``, ``ready``, ``count``, ``reset()``.

    Attributes
    ----------
    period : int
        Look-back length in observations (bars).
    value : float
        Current value; NaN until ``ready``.
    ready : bool
        True once ``value`` is defined.
    count : int
        Number of updates since construction or the last ``reset``.
    """

    __slots__ = ("count", "period", "ready", "value")

    def __init__(self, period: int) -> None:
        self.period: int = _check_period("period", period)
        self.value: float = _NAN
        self.ready: bool = False
        self.count: int = 0

    def reset(self) -> None:
        """Forget every observation; the indicator is then as new."""
        self.value = _NAN
        self.ready = False
        self.count = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(period={self.period}, count={self.count}, value={self.value!r})"


class SMA(Indicator):
    """Simple moving average of the last ``period`` values.

    ``SMA_t = (x_{t-period+1} + ... + x_t) / period``; NaN for the first ``period - 1`` updates.
    Matches ``pandas.Series.rolling(period).mean()``.

    Parameters
    ----------
    period : int
        Window length (>= 1).

    Raises
    ------
    ValueError
        If ``period`` is not an integer >= 1; from ``update`` if the value is not finite.
    """

    __slots__ = ("_buffer", "_sum", "_until_resum")

    def __init__(self, period: int) -> None:
        super().__init__(period)
        self._buffer: deque[float] = deque(maxlen=self.period)
        self._sum = 0.0
        self._until_resum = _resum_interval(self.period)

    def update(self, value: float) -> None:
        """Add the next value (any unit; the average has the same unit)."""
        if not -_INF < value < _INF:
            raise _not_finite(self, "value", value)
        buffer = self._buffer
        if self.ready:
            self._sum += value - buffer[0]
            buffer.append(value)
        else:
            self._sum += value
            buffer.append(value)
            if len(buffer) == self.period:
                self.ready = True
        self.count += 1
        self._until_resum -= 1
        if not self._until_resum:
            self._sum = math.fsum(buffer)
            self._until_resum = _resum_interval(self.period)
        if self.ready:
            self.value = self._sum / self.period

    def reset(self) -> None:
        super().reset()
        self._buffer.clear()
        self._sum = 0.0
        self._until_resum = _resum_interval(self.period)


class EMA(Indicator):
    """Exponential moving average, ``alpha = 2 / (period + 1)``, seeded with an SMA.

    ``EMA_t = EMA_{t-1} + alpha * (x_t - EMA_{t-1})`` (the recursive, ``adjust=False`` form).
    The first value, at update number ``period``, is the simple average of the first ``period``
    values (the TA-Lib convention); before that the value is NaN. In pandas terms::

        seed = x.iloc[:period].mean()
        tail = pd.concat([pd.Series([seed]), x.iloc[period:]]).ewm(span=period, adjust=False).mean()
        # EMA = period - 1 NaNs followed by tail

    Parameters
    ----------
    period : int
        Span of the average (>= 1).

    Raises
    ------
    ValueError
        If ``period`` is not an integer >= 1; from ``update`` if the value is not finite.
    """

    __slots__ = ("_seed_sum", "alpha")

    def __init__(self, period: int) -> None:
        super().__init__(period)
        self.alpha: float = 2.0 / (self.period + 1)
        self._seed_sum = 0.0

    def update(self, value: float) -> None:
        """Add the next value (any unit; the average has the same unit)."""
        if not -_INF < value < _INF:
            raise _not_finite(self, "value", value)
        self.count += 1
        if self.ready:
            self.value += self.alpha * (value - self.value)
        else:
            self._seed_sum += value
            if self.count == self.period:
                self.value = self._seed_sum / self.period
                self.ready = True

    def reset(self) -> None:
        super().reset()
        self._seed_sum = 0.0


class RSI(Indicator):
    """Relative Strength Index (Wilder 1978), in percent (0-100).

    With ``change_t = x_t - x_{t-1}``, ``gain_t = max(change_t, 0)`` and
    ``loss_t = max(-change_t, 0)``, the average gain and loss use Wilder's smoothing
    ``avg_t = avg_{t-1} + (v_t - avg_{t-1}) / period`` seeded with the simple average of the first
    ``period`` gains (losses). ``RSI = 100 - 100 / (1 + avg_gain / avg_loss)``, computed as
    ``100 * avg_gain / (avg_gain + avg_loss)``: 100 when there were no losses, 50 when the
    price did not move at all over the look-back.

    The first value comes at update number ``period + 1`` (``period`` changes need
    ``period + 1`` prices). Equivalent pandas: ``ewm(alpha=1/period, adjust=False)`` applied to the
    seed followed by the remaining gains (losses).

    Parameters
    ----------
    period : int
        Number of price changes averaged (>= 1); Wilder used 14.

    Raises
    ------
    ValueError
        If ``period`` is not an integer >= 1; from ``update`` if the price is not finite.
    """

    __slots__ = ("_alpha", "_gain_sum", "_loss_sum", "_previous", "average_gain", "average_loss")

    def __init__(self, period: int) -> None:
        super().__init__(period)
        self._alpha = 1.0 / self.period
        self._clear()

    def _clear(self) -> None:
        self._previous = _NAN
        self._gain_sum = 0.0
        self._loss_sum = 0.0
        self.average_gain: float = _NAN
        self.average_loss: float = _NAN

    def update(self, value: float) -> None:
        """Add the next price (currency)."""
        if not -_INF < value < _INF:
            raise _not_finite(self, "value", value)
        self.count += 1
        previous = self._previous
        self._previous = value
        if self.count == 1:
            return
        change = value - previous
        if change > 0.0:
            gain = change
            loss = 0.0
        else:
            gain = 0.0
            loss = -change
        if self.ready:
            alpha = self._alpha
            self.average_gain += alpha * (gain - self.average_gain)
            self.average_loss += alpha * (loss - self.average_loss)
        else:
            self._gain_sum += gain
            self._loss_sum += loss
            if self.count <= self.period:
                return
            self.average_gain = self._gain_sum / self.period
            self.average_loss = self._loss_sum / self.period
            self.ready = True
        total = self.average_gain + self.average_loss
        self.value = 100.0 * self.average_gain / total if total > 0.0 else 50.0

    def reset(self) -> None:
        super().reset()
        self._clear()


class ATR(Indicator):
    """Average True Range (Wilder 1978), in price units (currency).

    ``TR_t = max(high_t - low_t, |high_t - close_{t-1}|, |low_t - close_{t-1}|)``. The first bar
    has no previous close, so it yields no true range (the TA-Lib convention); the ATR is Wilder's
    smoothing ``ATR_t = ATR_{t-1} + (TR_t - ATR_{t-1}) / period`` seeded with the simple average of
    the first ``period`` true ranges, so its first value comes at update number ``period + 1``.
    Equivalent pandas: ``ewm(alpha=1/period, adjust=False)`` over the seed followed by the
    remaining true ranges.

    Parameters
    ----------
    period : int
        Number of true ranges averaged (>= 1); Wilder used 14.

    Attributes
    ----------
    true_range : float
        The latest true range (NaN after the first bar).

    Raises
    ------
    ValueError
        If ``period`` is not an integer >= 1; from ``update`` if a price is not finite or
        ``high < low``.
    """

    __slots__ = ("_alpha", "_previous_close", "_seed_sum", "true_range")

    def __init__(self, period: int) -> None:
        super().__init__(period)
        self._alpha = 1.0 / self.period
        self._clear()

    def _clear(self) -> None:
        self._previous_close = _NAN
        self._seed_sum = 0.0
        self.true_range: float = _NAN

    def update(self, high: float, low: float, close: float) -> None:  # type: ignore[override]
        """Add the next bar's high, low and close (currency)."""
        if not -_INF < low <= high < _INF:
            if not -_INF < low < _INF:
                raise _not_finite(self, "low", low)
            if not -_INF < high < _INF:
                raise _not_finite(self, "high", high)
            raise ValueError(f"ATR.update: high must be >= low, got high={high!r}, low={low!r}")
        if not -_INF < close < _INF:
            raise _not_finite(self, "close", close)
        self.count += 1
        previous = self._previous_close
        self._previous_close = close
        if self.count == 1:
            return
        true_range = high - low
        if high - previous > true_range:
            true_range = high - previous
        if previous - low > true_range:
            true_range = previous - low
        self.true_range = true_range
        if self.ready:
            self.value += self._alpha * (true_range - self.value)
        else:
            self._seed_sum += true_range
            if self.count > self.period:
                self.value = self._seed_sum / self.period
                self.ready = True

    def reset(self) -> None:
        super().reset()
        self._clear()


class _WindowMoments(Indicator):
    """Rolling mean and sum of squared deviations ``M2`` over the last ``period`` pushed values.

    Keeps ``S = sum(x - shift)`` and ``Q = sum((x - shift)^2)`` over the window, adding the
    entering value's terms and subtracting the leaving value's; then ``mean = shift + S / n`` and
    ``M2 = Q - S^2 / n`` (the shifted-data algorithm, Chan, Golub & LeVeque 1983). After the first
    push and then every ``max(128, 8 * period)`` pushes, ``shift`` becomes the window mean and
    ``S``, ``Q`` are recomputed from the window with ``math.fsum`` (amortized cost a few ns), which
    keeps the cancellation small and stops rounding errors from piling up. When the subtraction
    would still cancel more than four digits (``M2 < 1e-4 * Q``: a window far narrower than the
    recent range, e.g. two nearly equal returns) the window is recomputed at once, so such windows
    keep their precision and a window of identical values has exactly zero variance. (With a
    window of 2 this happens on about 4% of updates; from a window of 20 up, practically never.)

    Accuracy, measured against an exact two-pass computation: relative error of the standard
    deviation below 1e-10 on a 1,000,000-step random walk (level 1000, window 20) and on SPY/AAPL
    daily prices and log returns with windows from 2 to 250. (pandas' ``rolling().std()`` errs by
    up to 3e-7 relative on the same random walk, and gives 6.4e-7 for two identical SPY closes.)
    """

    __slots__ = ("_buffer", "_shift", "_sum", "_sum_squares", "_until_resum")

    def __init__(self, period: int) -> None:
        super().__init__(period)
        self._buffer: deque[float] = deque(maxlen=self.period)
        self._clear_moments()

    def _clear_moments(self) -> None:
        self._buffer.clear()
        self._shift = 0.0
        self._sum = 0.0
        self._sum_squares = 0.0
        self._until_resum = 1  # recompute after the first push: the shift becomes the first value

    def _push(self, x: float) -> float:
        """Add ``x``; return ``M2`` (>= 0) of the window, or NaN while it holds < ``period`` values.

        The window mean is then ``self._shift + self._sum / self.period``.
        """
        buffer = self._buffer
        period = self.period
        shift = self._shift
        deviation = x - shift
        n = len(buffer)
        if n == period:
            leaving = buffer[0] - shift
            self._sum += deviation - leaving
            self._sum_squares += deviation * deviation - leaving * leaving
        else:
            self._sum += deviation
            self._sum_squares += deviation * deviation
            n += 1
        buffer.append(x)
        self._until_resum -= 1
        if not self._until_resum:
            self._recompute()
        if n < period:
            return _NAN
        total = self._sum
        squares = self._sum_squares - total * total / period
        if squares < 1e-4 * self._sum_squares:  # cancellation: recompute from the window
            self._recompute()
            total = self._sum
            squares = self._sum_squares - total * total / period
            if squares < 0.0:
                squares = 0.0
        return squares

    def _recompute(self) -> None:
        buffer = self._buffer
        shift = math.fsum(buffer) / len(buffer)
        deviations = [x - shift for x in buffer]
        self._shift = shift
        self._sum = math.fsum(deviations)
        self._sum_squares = math.fsum([d * d for d in deviations])
        self._until_resum = _resum_interval(self.period)

    def reset(self) -> None:
        super().reset()
        self._clear_moments()


class BollingerBands(_WindowMoments):
    """Bollinger Bands (Bollinger 1992): SMA plus and minus ``k`` population standard deviations.

    ``middle = SMA(period)``, ``std = sqrt(sum((x - middle)^2) / period)`` (population standard
    deviation, ``ddof=0``, as Bollinger specifies), ``upper = middle + k * std``,
    ``lower = middle - k * std``. Matches pandas ``rolling(period).mean()`` and
    ``rolling(period).std(ddof=0)``. ``value`` is ``middle``. All are NaN for the first
    ``period - 1`` updates.

    Parameters
    ----------
    period : int
        Window length (>= 1); Bollinger uses 20.
    k : float
        Band width in standard deviations (finite, >= 0); Bollinger uses 2.

    Attributes
    ----------
    middle, upper, lower : float
        The bands, in the unit of the input (currency for prices).
    std : float
        Population standard deviation over the window.

    Raises
    ------
    ValueError
        If ``period`` is not an integer >= 1 or ``k`` is negative or not finite; from ``update``
        if the value is not finite.
    """

    __slots__ = ("k", "lower", "middle", "std", "upper")

    def __init__(self, period: int = 20, k: float = 2.0) -> None:
        super().__init__(period)
        if isinstance(k, bool) or not isinstance(k, numbers.Real) or not 0.0 <= k < _INF:
            raise ValueError(f"k must be a finite number >= 0, got {k!r}")
        self.k = float(k)
        self._clear_bands()

    def _clear_bands(self) -> None:
        self.middle = _NAN
        self.upper = _NAN
        self.lower = _NAN
        self.std = _NAN

    def update(self, value: float) -> None:
        """Add the next value (currency for prices)."""
        if not -_INF < value < _INF:
            raise _not_finite(self, "value", value)
        squares = self._push(value)
        self.count += 1
        if not self.ready:
            if self.count < self.period:
                return
            self.ready = True
        std = math.sqrt(squares / self.period)
        middle = self._shift + self._sum / self.period
        self.value = self.middle = middle
        self.std = std
        self.upper = middle + self.k * std
        self.lower = middle - self.k * std

    def reset(self) -> None:
        super().reset()
        self._clear_bands()

    def __repr__(self) -> str:
        return (
            f"BollingerBands(period={self.period}, k={self.k}, count={self.count}, "
            f"lower={self.lower!r}, middle={self.middle!r}, upper={self.upper!r})"
        )


class RollingVolatility(_WindowMoments):
    """Sample standard deviation of the last ``period`` log returns, optionally annualized.

    ``r_t = ln(p_t / p_{t-1})``; ``value = sqrt(sum((r - mean(r))^2) / (period - 1))``, times
    ``sqrt(annualization)`` when given (e.g. 252 for daily bars). Log returns are used because they
    add up over time and are the usual input of volatility estimators; the sample (``ddof=1``)
    estimator is pandas' default. Matches
    ``np.log(p / p.shift()).rolling(period).std(ddof=1) * sqrt(annualization)``; the first value
    comes at update number ``period + 1``.

    Parameters
    ----------
    period : int
        Number of returns in the window (>= 2).
    annualization : float or None
        Periods per year (> 0, finite), or None for per-period volatility.

    Raises
    ------
    ValueError
        If ``period`` is not an integer >= 2 or ``annualization`` is not a positive finite
        number; from ``update`` if the price is not finite and > 0.
    """

    __slots__ = ("_previous", "_scale", "annualization")

    def __init__(self, period: int, annualization: float | None = None) -> None:
        period = _check_period("period", period, minimum=2)
        if annualization is not None and (
            isinstance(annualization, bool)
            or not isinstance(annualization, numbers.Real)
            or not 0.0 < annualization < _INF
        ):
            raise ValueError(f"annualization must be a finite number > 0 or None, got {annualization!r}")
        super().__init__(period)
        self.annualization = annualization
        # sqrt(annualization / (period - 1)) folds the ddof=1 division into one multiplication
        self._scale = math.sqrt((1.0 if annualization is None else annualization) / (period - 1))
        self._previous = _NAN

    def update(self, value: float) -> None:
        """Add the next price (currency, > 0)."""
        if not 0.0 < value < _INF:
            raise ValueError(f"RollingVolatility.update: value must be a finite price > 0, got {value!r}")
        self.count += 1
        previous = self._previous
        self._previous = value
        if self.count == 1:
            return
        squares = self._push(math.log(value / previous))
        if not self.ready:
            if self.count <= self.period:
                return
            self.ready = True
        self.value = math.sqrt(squares) * self._scale

    def reset(self) -> None:
        super().reset()
        self._previous = _NAN
