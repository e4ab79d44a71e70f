"""Execution schedules against hand-worked examples, the Almgren-Chriss closed form and its
difference equation, and a pandas computation of the intraday volume profile on real data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.execution import almgren_chriss_trajectory, round_to_lots, twap_schedule, volume_profile, vwap_schedule
from workbench.feeds.samples import load_demo_spy

MIN = 60_000_000_000
T0 = pd.Timestamp("2013-10-08 10:00", tz="America/New_York").value


def test_twap_hand_worked() -> None:
    """1,000 shares over one hour in 10-minute slices: 6 slices, 1000 = 6 x 166 + 4, the 4 extra
    shares to the first four slices."""
    got = twap_schedule(1000, T0, T0 + 60 * MIN, 10 * MIN)
    assert got == [(T0 + k * 10 * MIN, q) for k, q in enumerate([167.0, 167, 167, 167, 166, 166])]


def test_twap_min_child_and_lots() -> None:
    got = twap_schedule(1000, T0, T0 + 60 * MIN, MIN, min_child=100)
    assert [q for _, q in got] == [100.0] * 10 and got[1][0] - got[0][0] == 6 * MIN
    lots = twap_schedule(1000, T0, T0 + 30 * MIN, 5 * MIN, lot_size=100)
    assert [q for _, q in lots] == [200.0, 200, 200, 200, 100, 100]


@settings(max_examples=60, deadline=None)
@given(lots=st.integers(1, 5000), minutes=st.integers(1, 390), interval=st.integers(1, 60),
       time_jitter=st.floats(0, 0.49), size_jitter=st.floats(0, 0.9), seed=st.integers(0, 10))
def test_twap_randomized_within_bounds(lots: int, minutes: int, interval: int, time_jitter: float,
                                       size_jitter: float, seed: int) -> None:
    got = twap_schedule(lots * 10.0, T0, T0 + minutes * MIN, interval * MIN, lot_size=10, time_jitter=time_jitter,
                        size_jitter=size_jitter, seed=seed)
    assert sum(q for _, q in got) == lots * 10.0
    assert all(q > 0 and q % 10 == 0 for _, q in got)
    times = [t for t, _ in got]
    assert times == sorted(times) and times[0] >= T0 and times[-1] <= T0 + minutes * MIN
    assert got == twap_schedule(lots * 10.0, T0, T0 + minutes * MIN, interval * MIN, lot_size=10,
                                time_jitter=time_jitter, size_jitter=size_jitter, seed=seed)  # seeded


def test_round_to_lots_largest_remainder() -> None:
    assert round_to_lots([1, 1, 1], 10) == [4.0, 3.0, 3.0]
    assert round_to_lots([0.5, 0.3, 0.2], 1000, 100) == [500.0, 300.0, 200.0]
    with pytest.raises(ValueError, match="not a whole number of lots"):
        round_to_lots([1, 1], 150, 100)


def test_almgren_chriss_closed_form_and_difference_equation() -> None:
    X, N, tau, lam, sigma, eta, gamma = 1e6, 10, 1.0, 2e-6, 0.95, 2.5e-6, 2.5e-7  # noqa: N806 (the paper's names)
    x = almgren_chriss_trajectory(X, N, tau, risk_aversion=lam, volatility=sigma, temporary_impact=eta,
                                  permanent_impact=gamma)
    eta_t = eta - gamma * tau / 2
    kappa = math.acosh(1 + tau**2 * lam * sigma**2 / (2 * eta_t)) / tau
    t = np.arange(N + 1) * tau
    np.testing.assert_allclose(x, X * np.sinh(kappa * (N * tau - t)) / np.sinh(kappa * N * tau), rtol=1e-12)
    # A&C eq. (17): (x_{j-1} - 2 x_j + x_{j+1}) / tau^2 = kappa_tilde^2 x_j, kappa_tilde^2 = lambda sigma^2 / eta_tilde
    second = (x[:-2] - 2 * x[1:-1] + x[2:]) / tau**2
    np.testing.assert_allclose(second, lam * sigma**2 / eta_t * x[1:-1], rtol=1e-9)
    assert x[0] == X and abs(x[-1]) < 1e-6


def test_almgren_chriss_lambda_zero_is_twap_and_risk_aversion_front_loads() -> None:
    line = almgren_chriss_trajectory(1000, 8, 60.0, risk_aversion=0.0, volatility=0.05, temporary_impact=1e-4)
    np.testing.assert_allclose(line, 1000 * (1 - np.arange(9) / 8))
    assert round_to_lots(-np.diff(line), 1000) == [q for _, q in twap_schedule(1000, 0, 8 * MIN, MIN)]
    eager = almgren_chriss_trajectory(1000, 8, 60.0, risk_aversion=1e-2, volatility=0.05, temporary_impact=1e-4)
    assert eager[1] < line[1] and np.all(np.diff(eager) < 0)


def test_volume_profile_equals_pandas() -> None:
    bars, _ = load_demo_spy()
    got = volume_profile(bars, bucket_minutes=30, lookback_days=20)
    local = pd.to_datetime(bars["ts_event"], utc=True).dt.tz_convert("America/New_York")
    frame = pd.DataFrame({"day": local.dt.date, "bucket": local.dt.hour * 60 + local.dt.minute // 30 * 30,
                          "volume": bars["volume"]})
    per_day = frame.pivot_table(index="day", columns="bucket", values="volume", aggfunc="sum", fill_value=0)
    expected = (per_day.T / per_day.sum(axis=1)).T.mean()
    expected = expected / expected.sum()
    pd.testing.assert_series_equal(got, expected.rename(None).rename_axis(None), check_names=False,
                                   check_index_type=False, rtol=1e-12)
    assert got.sum() == pytest.approx(1.0)
    slices = vwap_schedule(10_000, T0, T0 + 120 * MIN, got, lot_size=100)
    assert sum(q for _, q in slices) == 10_000 and len(slices) == 4
    shares = got.loc[[600, 630, 660, 690]]
    np.testing.assert_allclose([q for _, q in slices], (shares / shares.sum() * 10_000).to_numpy(), atol=100)


def test_almgren_chriss_frontier() -> None:
    """The optimal trajectory minimizes E + lambda V (A&C eq. 10): any perturbation of it costs more;
    and risk aversion trades expected cost for variance along the frontier."""
    from workbench.execution import almgren_chriss_cost

    args = {"volatility": 0.3, "temporary_impact": 1e-4, "permanent_impact": 1e-6}
    lam = 1e-5
    best = almgren_chriss_trajectory(10_000, 10, 1.0, risk_aversion=lam, **args)
    e, v = almgren_chriss_cost(best, 1.0, **args)
    rng = np.random.default_rng(1)
    for _ in range(50):
        other = best.copy()
        other[1:-1] += rng.normal(0, 50, size=len(other) - 2)
        e2, v2 = almgren_chriss_cost(other, 1.0, **args)
        assert e2 + lam * v2 > e + lam * v
    e0, v0 = almgren_chriss_cost(almgren_chriss_trajectory(10_000, 10, 1.0, risk_aversion=0.0, **args), 1.0, **args)
    assert e0 < e and v0 > v  # TWAP: cheapest expected cost, most risk
