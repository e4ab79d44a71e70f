"""Execution schedules: how much of a parent order to trade when. Pure functions, no engine.

Quantities are shares (multiples of ``lot_size``), times ns since epoch UTC.

* :func:`twap_schedule`: equal slices at a fixed interval over a horizon, the remainder spread one lot
  at a time over the first slices, slices below ``min_child`` merged; optional bounded randomization of
  slice times and sizes (seeded, so a backtest and a live run draw the same schedule).
* :func:`volume_profile` / :func:`vwap_schedule`: the intraday share of volume per time bucket,
  averaged over the last ``lookback_days`` sessions, and slices proportional to it.
* :func:`almgren_chriss_trajectory`: the optimal holdings of Almgren & Chriss (2000), "Optimal
  execution of portfolio transactions", J. Risk 3(2), eq. (18)-(20): ``x_j = X sinh(k (T - t_j)) /
  sinh(k T)`` with ``cosh(k tau) = 1 + tau^2 lambda sigma^2 / (2 eta_tilde)``, ``eta_tilde = eta -
  gamma tau / 2``. ``lambda = 0`` gives the straight line (TWAP).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["almgren_chriss_cost", "almgren_chriss_trajectory", "round_to_lots", "twap_schedule", "volume_profile",
           "vwap_schedule"]


def round_to_lots(weights: Sequence[float], quantity: float, lot_size: float = 1.0) -> list[float]:
    """Split ``quantity`` in proportion to ``weights`` into whole lots that add up exactly.

    Largest-remainder rounding (Hamilton's method): every slice gets the lots its share floors to,
    the lots left over go to the largest fractional remainders (earliest first on ties).

    Raises
    ------
    ValueError
        Negative weights, all-zero weights, or a quantity that is not a whole number of lots.
    """
    w = np.asarray(weights, dtype=float)
    if (w < 0).any() or not w.sum() > 0:
        raise ValueError(f"weights must be >= 0 and not all zero, got {list(weights)}")
    lots = quantity / lot_size
    if abs(lots - round(lots)) > 1e-9:
        raise ValueError(f"quantity {quantity} is not a whole number of lots of {lot_size}")
    total = round(lots)
    exact = w / w.sum() * total
    base = np.floor(exact + 1e-12).astype(int)
    left = total - int(base.sum())
    order = sorted(range(len(w)), key=lambda i: (-(exact[i] - base[i]), i))
    for i in order[:left]:
        base[i] += 1
    return [float(b * lot_size) for b in base]


def twap_schedule(quantity: float, start_ns: int, end_ns: int, interval_ns: int, *, lot_size: float = 1.0,
                  min_child: float = 0.0, time_jitter: float = 0.0, size_jitter: float = 0.0,
                  seed: int = 0) -> list[tuple[int, float]]:
    """Slices ``(time, quantity)`` of a TWAP from ``start_ns`` to ``end_ns``.

    ``n = ceil((end - start) / interval)`` slices at ``start + k * interval``; sizes equal up to one
    lot (the remainder goes to the first slices); when a slice would be below ``min_child`` the
    number of slices shrinks to ``floor(quantity / min_child)`` (at least one) over the same horizon.
    ``time_jitter`` (fraction of the interval, < 0.5) moves each slice time uniformly within
    ``+-jitter * interval`` (order kept, never before ``start`` or after ``end``); ``size_jitter``
    (fraction) scales the weights uniformly in ``[1 - j, 1 + j]`` before the lot rounding, so the
    sizes still add up to ``quantity``. Randomness comes from ``numpy.random.default_rng(seed)``.

    Raises
    ------
    ValueError
        Non-positive quantity, interval or horizon, or jitters out of range.
    """
    if not quantity > 0 or not interval_ns > 0 or not end_ns > start_ns:
        raise ValueError(f"twap needs quantity > 0, interval > 0 and end > start, got {quantity}, {interval_ns}, "
                         f"{start_ns}..{end_ns}")
    if not 0 <= time_jitter < 0.5 or not 0 <= size_jitter < 1:
        raise ValueError(f"time_jitter must be in [0, 0.5) and size_jitter in [0, 1), got {time_jitter}, {size_jitter}")
    n = max(1, math.ceil((end_ns - start_ns) / interval_ns))
    lots = round(quantity / lot_size)
    n = min(n, lots)
    if min_child > 0:
        n = max(1, min(n, int(quantity // min_child)))
    step = (end_ns - start_ns) / n
    rng = np.random.default_rng(seed)
    times = [start_ns + int(k * step) for k in range(n)]
    if time_jitter > 0 and n > 1:
        shifts = rng.uniform(-time_jitter, time_jitter, size=n) * step
        shifts[0] = abs(shifts[0])
        times = [min(end_ns, max(start_ns, int(t + s))) for t, s in zip(times, shifts, strict=True)]
    weights = np.ones(n)
    if size_jitter > 0:
        weights = rng.uniform(1 - size_jitter, 1 + size_jitter, size=n)
        sizes = round_to_lots(weights, quantity, lot_size)
    else:
        base = lots // n
        extra = lots - base * n
        sizes = [float((base + (1 if k < extra else 0)) * lot_size) for k in range(n)]
    return [(t, q) for t, q in zip(times, sizes, strict=True) if q > 0]


def volume_profile(bars: pd.DataFrame, *, bucket_minutes: int = 30, lookback_days: int = 20,
                   time_zone: str = "America/New_York", before: pd.Timestamp | str | None = None) -> pd.Series:
    """Average share of a session's volume traded in each intraday bucket.

    ``bars``: canonical intraday bars (``ts_event``, ``volume``) of one symbol. Buckets are
    ``bucket_minutes`` wide, keyed by minutes after midnight in ``time_zone`` of their start. For
    each of the last ``lookback_days`` sessions (before ``before`` when given, a date) the bucket
    volumes are divided by that session's total; the profile is the mean of those shares over the
    sessions, renormalized to sum to 1.

    Returns
    -------
    Series indexed by bucket start (minutes after midnight, int), summing to 1.

    Raises
    ------
    ValueError
        No bars (in the look-back) or zero volume.
    """
    local = pd.to_datetime(bars["ts_event"].to_numpy(), utc=True).tz_convert(time_zone)
    frame = pd.DataFrame({"day": local.normalize().tz_localize(None), "volume": bars["volume"].to_numpy(dtype=float),
                          "bucket": (local.hour * 60 + local.minute) // bucket_minutes * bucket_minutes})
    if before is not None:
        frame = frame[frame["day"] < pd.Timestamp(before)]
    days = sorted(frame["day"].unique())[-lookback_days:]
    frame = frame[frame["day"].isin(days)]
    if frame.empty or not frame["volume"].sum() > 0:
        raise ValueError("volume_profile: no volume in the look-back")
    per_day = frame.groupby(["day", "bucket"])["volume"].sum().unstack(fill_value=0.0)
    shares = per_day.div(per_day.sum(axis=1), axis=0)
    profile = shares.mean(axis=0)
    profile.index = profile.index.astype(int)
    return profile / profile.sum()


def vwap_schedule(quantity: float, start_ns: int, end_ns: int, profile: pd.Series, *, lot_size: float = 1.0,
                  time_zone: str = "America/New_York", bucket_minutes: int | None = None) -> list[tuple[int, float]]:
    """Slices ``(time, quantity)`` proportional to ``profile`` (from :func:`volume_profile`) over the
    buckets that start within ``[start_ns, end_ns)`` (the first slice at ``start_ns`` itself).

    Raises
    ------
    ValueError
        No profile bucket in the horizon, or no volume there.
    """
    width = bucket_minutes or (int(np.diff(profile.index).min()) if len(profile) > 1 else 30)
    start = pd.Timestamp(start_ns, tz="UTC").tz_convert(time_zone)
    end = pd.Timestamp(end_ns, tz="UTC").tz_convert(time_zone)
    midnight = start.normalize()
    times, weights = [], []
    for minute, share in profile.items():
        t0 = midnight + pd.Timedelta(minutes=int(minute))
        t1 = t0 + pd.Timedelta(minutes=width)
        lo, hi = max(t0, start), min(t1, end)
        if hi <= lo:
            continue
        weights.append(float(share) * (hi - lo) / (t1 - t0))  # a partly covered bucket counts pro rata
        times.append(int(lo.value))
    if not weights or not sum(weights) > 0:
        raise ValueError(f"vwap_schedule: no volume profile bucket between {start} and {end}")
    sizes = round_to_lots(weights, quantity, lot_size)
    return [(t, q) for t, q in zip(times, sizes, strict=True) if q > 0]


def almgren_chriss_trajectory(quantity: float, periods: int, period_length: float, *, risk_aversion: float,
                              volatility: float, temporary_impact: float, permanent_impact: float = 0.0
                              ) -> np.ndarray:
    """Optimal holdings ``x_0 = X, ..., x_N = 0`` of Almgren & Chriss (2000) (module docstring).

    Parameters
    ----------
    quantity : float
        ``X``, shares to trade.
    periods : int
        ``N`` trading periods of ``period_length`` (``tau``, in the time unit of ``volatility``).
    risk_aversion : float
        ``lambda`` (1/currency), >= 0; 0 = risk neutral = the straight line (TWAP).
    volatility : float
        ``sigma``, price volatility in currency per sqrt(time unit).
    temporary_impact, permanent_impact : float
        ``eta`` and ``gamma`` (currency per share per share/time and currency per share per share).

    Returns
    -------
    ndarray of ``N + 1`` holdings (shares, real-valued: round with :func:`round_to_lots`).

    Raises
    ------
    ValueError
        ``eta_tilde = eta - gamma * tau / 2 <= 0`` (no convex problem), or a negative input.
    """
    if periods < 1 or period_length <= 0 or risk_aversion < 0 or volatility < 0 or temporary_impact <= 0:
        raise ValueError("almgren_chriss_trajectory: periods >= 1, period_length > 0, risk_aversion >= 0, "
                         "volatility >= 0 and temporary_impact > 0 are required")
    tau = period_length
    eta_tilde = temporary_impact - permanent_impact * tau / 2.0
    if eta_tilde <= 0:
        raise ValueError(f"eta - gamma*tau/2 = {eta_tilde} must be > 0")
    t = np.arange(periods + 1) * tau
    total = periods * tau
    arg = 1.0 + tau * tau * risk_aversion * volatility**2 / (2.0 * eta_tilde)
    kappa = math.acosh(arg) / tau
    if kappa * total < 1e-9:  # lambda -> 0: sinh(k(T-t))/sinh(kT) -> (T-t)/T
        return quantity * (total - t) / total
    return quantity * np.sinh(kappa * (total - t)) / math.sinh(kappa * total)


def almgren_chriss_cost(holdings: Sequence[float], period_length: float, *, volatility: float,
                        temporary_impact: float, permanent_impact: float = 0.0, spread_cost: float = 0.0
                        ) -> tuple[float, float]:
    """Expected cost and variance of a trajectory, Almgren & Chriss (2000) eq. (8)-(9) (currency, currency^2):

    ``E = gamma X^2 / 2 + epsilon sum |n_k| + (eta_tilde / tau) sum n_k^2``, ``V = sigma^2 tau sum x_k^2``
    (``x_k`` for k = 1..N, ``n_k = x_{k-1} - x_k``, ``eta_tilde = eta - gamma tau / 2``).
    """
    x = np.asarray(holdings, dtype=float)
    n = -np.diff(x)
    tau = period_length
    eta_tilde = temporary_impact - permanent_impact * tau / 2.0
    expected = 0.5 * permanent_impact * x[0] ** 2 + spread_cost * np.abs(n).sum() + eta_tilde / tau * (n**2).sum()
    variance = volatility**2 * tau * (x[1:] ** 2).sum()
    return float(expected), float(variance)
