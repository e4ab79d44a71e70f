"""Deflated Sharpe ratio and PBO against the papers' definitions and worked example; parameter
stability on a hand-made grid."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.research.overfitting import (
    deflated_sharpe_ratio,
    expected_maximum_sharpe_ratio,
    neighbourhood,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    stability,
    stability_heatmap,
)


def test_deflated_sharpe_ratio_reproduces_the_papers_numerical_example() -> None:
    """Bailey & López de Prado (2014), "A numerical example": N = 100 trials, annualized variance
    of their Sharpe ratios 1/2, best annualized SR 2.5 over T = 1250 daily observations,
    skewness -3, kurtosis 10 (250 days a year): SR0 = 0.1132 (per day) and DSR = 0.9004."""
    variance = 0.5 / 250
    assert expected_maximum_sharpe_ratio(100, variance) == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe_ratio(sharpe=2.5 / math.sqrt(250), observations=1250, skewness=-3, kurtosis=10,
                                trials=100, sharpe_variance=variance)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_expected_maximum_sharpe_matches_a_monte_carlo_of_null_trials() -> None:
    rng = np.random.default_rng(0)
    maxima = rng.standard_normal((20_000, 100)).max(axis=1)
    assert expected_maximum_sharpe_ratio(100, 1.0) == pytest.approx(maxima.mean(), rel=0.02)
    assert expected_maximum_sharpe_ratio(1, 1.0) == 0.0


def test_dsr_from_returns_uses_the_sample_moments() -> None:
    rng = np.random.default_rng(1)
    returns = rng.standard_t(5, 500) * 0.01 + 0.001
    sr = returns.mean() / returns.std(ddof=1)
    m = returns - returns.mean()
    skew = (m**3).mean() / (m**2).mean() ** 1.5
    kurt = (m**4).mean() / (m**2).mean() ** 2
    expected = probabilistic_sharpe_ratio(sr, expected_maximum_sharpe_ratio(20, 0.002), 500, skew, kurt)
    assert deflated_sharpe_ratio(returns, trials=20, sharpe_variance=0.002) == pytest.approx(expected, rel=1e-12)
    trial_sharpes = [0.01, 0.05, -0.02, 0.08]
    assert deflated_sharpe_ratio(returns, trials=4, trial_sharpes=trial_sharpes) == pytest.approx(
        probabilistic_sharpe_ratio(sr, expected_maximum_sharpe_ratio(4, np.var(trial_sharpes, ddof=1)), 500, skew,
                                   kurt), rel=1e-12)
    # one trial and a zero benchmark: the PSR of Bailey & López de Prado (2012) against SR* = 0
    normal = probabilistic_sharpe_ratio(0.1, 0.0, 101)
    assert normal == pytest.approx(stats.norm.cdf(0.1 * 10 / math.sqrt(1 + 0.5 * 0.01)), rel=1e-12)


def test_pbo_hand_worked_cscv() -> None:
    """S = 4 blocks of one row, N = 3 strategies (A, B, C), performance = mean. Rows:
    b0 = (1, 4, 0), b1 = (1, 0, 0), b2 = (1, 4, 3), b3 = (2, 1, 4). Sums per split:

    IS {0,1}: A2 B4 C0 -> B; OOS {2,3}: A3 B5 C7 -> B rank 2 of 3, w = 2/4, logit 0
    IS {0,2}: A2 B8 C3 -> B; OOS {1,3}: A3 B1 C4 -> rank 1, w = 1/4, logit -ln 3
    IS {0,3}: A3 B5 C4 -> B; OOS {1,2}: A2 B4 C3 -> rank 3, w = 3/4, logit ln 3
    IS {1,2}: A2 B4 C3 -> B; OOS {0,3}: A3 B5 C4 -> rank 3, logit ln 3
    IS {1,3}: A3 B1 C4 -> C; OOS {0,2}: A2 B8 C3 -> rank 2, logit 0
    IS {2,3}: A3 B5 C7 -> C; OOS {0,1}: A2 B4 C0 -> rank 1, logit -ln 3
    PBO = share of logits <= 0 = 4/6."""
    matrix = np.array([[1, 4, 0], [1, 0, 0], [1, 4, 3], [2, 1, 4]], dtype=float)
    result = probability_of_backtest_overfitting(matrix, partitions=4, metric=lambda block: block.mean(axis=0))
    ln3 = math.log(3)
    np.testing.assert_allclose(result.logits, [0, -ln3, ln3, ln3, 0, -ln3], atol=1e-12)
    assert result.best.tolist() == [1, 1, 1, 1, 2, 2]
    assert result.pbo == pytest.approx(4 / 6)
    np.testing.assert_allclose(result.out_of_sample, [2.5, 0.5, 2.0, 2.5, 1.5, 0.0])  # mean OOS of the IS best


def test_pbo_of_a_persistent_edge_is_low_and_of_noise_is_about_a_half() -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.01, size=(1600, 20))
    assert 0.3 <= probability_of_backtest_overfitting(noise, partitions=8).pbo <= 0.7
    edge = noise.copy()
    edge[:, 5] += 0.004  # one strategy with a true Sharpe of about 0.4 per period
    result = probability_of_backtest_overfitting(pd.DataFrame(edge), partitions=8)
    assert result.pbo == 0.0 and set(result.best) == {5}


def test_pbo_bad_input() -> None:
    with pytest.raises(ValueError, match="partitions"):
        probability_of_backtest_overfitting(np.zeros((10, 3)), partitions=3)
    with pytest.raises(ValueError, match="N >= 2"):
        probability_of_backtest_overfitting(np.zeros((10, 1)), partitions=2)


@pytest.fixture
def grid() -> pd.DataFrame:
    values = {(f, s): float(f + s) for f in (1, 2, 3, 4) for s in (10, 20, 30)}
    values[(4, 30)] = 100.0  # an isolated peak at a corner
    values[(1, 10)] = float("nan")
    rows = [{"fast": f, "slow": s, "score": v, "error": "" if np.isfinite(v) else "ValueError: x"}
            for (f, s), v in values.items()]
    return pd.DataFrame(rows)


def test_neighbourhood_of_a_corner_peak(grid) -> None:
    near = neighbourhood(grid, ["fast", "slow"], "score")
    assert sorted(zip(near["fast"], near["slow"])) == [(3, 20), (3, 30), (4, 20), (4, 30)]
    summary = stability(grid, ["fast", "slow"], "score")
    assert summary["best"] == 100.0 and summary["neighbours"] == 4
    assert summary["neighbourhood_mean"] == pytest.approx((23 + 33 + 24 + 100) / 4)
    assert summary["neighbourhood_min"] == 23
    assert summary["mean_to_best"] == pytest.approx(45 / 100)
    middle = neighbourhood(grid, ["fast", "slow"], "score", best={"fast": 2, "slow": 20})
    assert len(middle) == 9 and middle["score"].isna().sum() == 1  # the failed (1, 10) stays in


def test_stability_heatmap_marks_the_best_and_its_neighbourhood(grid) -> None:
    figure = stability_heatmap(grid, "fast", "slow", "score", value_format=".1f")
    heat = figure.data[0]
    assert list(heat.x) == ["1", "2", "3", "4"] and list(heat.y) == ["10", "20", "30"]
    assert heat.z[2][3] == 100.0
    star = figure.data[1]
    assert (star.x[0], star.y[0]) == ("4", "30")
    rect = figure.layout.shapes[0]
    assert (rect.x0, rect.x1, rect.y0, rect.y1) == (1.5, 3.5, 0.5, 2.5)
    assert "mean 45.0" in figure.layout.title.text
