"""Overfitting statistics of a search: deflated Sharpe ratio, probability of backtest
overfitting (CSCV), and the stability of the best set's neighbourhood.

Sharpe ratios here are **per period** (not annualized) unless said otherwise, as in the papers:
divide an annualized ratio by ``sqrt(periods_per_year)`` first.

Sources
-------
* Bailey, D. H. & López de Prado, M. (2012), "The Sharpe Ratio Efficient Frontier", *Journal of
  Risk* 15(2): the probabilistic Sharpe ratio (PSR).
* Bailey, D. H. & López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for
  Selection Bias, Backtest Overfitting and Non-Normality", *Journal of Portfolio Management*
  40(5), 94-107: the expected maximum Sharpe ratio of N trials and the DSR (its numerical
  example: SR0 = 0.1132, DSR = 0.9004, reproduced by the tests).
* Bailey, D. H., Borwein, J., López de Prado, M. & Zhu, Q. J. (2017), "The Probability of
  Backtest Overfitting", *Journal of Computational Finance* 20(4), 39-69: combinatorially
  symmetric cross-validation (CSCV) and the PBO.
* freqtrade issue #7342: judge the neighbourhood of the best set, not the best set alone.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _stats

__all__ = [
    "EULER_MASCHERONI",
    "PBOResult",
    "deflated_sharpe_ratio",
    "expected_maximum_sharpe_ratio",
    "neighbourhood",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "stability",
    "stability_heatmap",
]

EULER_MASCHERONI = 0.5772156649015329


def probabilistic_sharpe_ratio(sharpe: float, benchmark_sharpe: float, observations: int, skewness: float = 0.0,
                               kurtosis: float = 3.0) -> float:
    """Probability that the true Sharpe ratio exceeds ``benchmark_sharpe`` (Bailey & López de Prado 2012).

    ``PSR = Phi((SR - SR*) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR**2))`` with
    per-period ratios, ``T`` observations, skewness ``g3`` and **non-excess** kurtosis ``g4``
    (3 for a normal distribution).

    Raises
    ------
    ValueError
        ``observations < 2`` or a non-positive variance term.
    """
    if observations < 2:
        raise ValueError(f"observations: need at least 2, got {observations}")
    variance = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if variance <= 0:
        raise ValueError(f"skewness/kurtosis: 1 - g3*SR + (g4-1)/4*SR^2 = {variance} is not positive")
    z = (sharpe - benchmark_sharpe) * math.sqrt(observations - 1) / math.sqrt(variance)
    return float(_stats.norm.cdf(z))


def expected_maximum_sharpe_ratio(trials: int, sharpe_variance: float) -> float:
    """Expected maximum Sharpe ratio of ``trials`` independent trials whose true Sharpe is 0.

    ``SR0 = sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)))``, ``gamma``
    the Euler-Mascheroni constant, ``V`` the variance of the trials' (per-period) Sharpe ratios
    (Bailey & López de Prado 2014, eq. 2). 0 for a single trial.
    """
    if trials < 1:
        raise ValueError(f"trials: need at least 1, got {trials}")
    if trials == 1:
        return 0.0
    g = EULER_MASCHERONI
    return float(math.sqrt(sharpe_variance) * ((1 - g) * _stats.norm.ppf(1 - 1 / trials)
                                               + g * _stats.norm.ppf(1 - 1 / (trials * math.e))))


def deflated_sharpe_ratio(
    returns: pd.Series | np.ndarray | None = None,
    *,
    trials: int,
    sharpe_variance: float | None = None,
    trial_sharpes: Sequence[float] | None = None,
    sharpe: float | None = None,
    observations: int | None = None,
    skewness: float | None = None,
    kurtosis: float | None = None,
) -> float:
    """Deflated Sharpe ratio: the PSR against the expected maximum Sharpe of ``trials`` trials.

    Either give the selected strategy's per-period ``returns`` (Sharpe, T, skewness and
    non-excess kurtosis are computed from them; ddof=1 standard deviation, biased moments as in
    the paper), or ``sharpe``, ``observations``, ``skewness``, ``kurtosis`` directly. The
    variance of the trials' Sharpe ratios is ``sharpe_variance`` or the sample variance of
    ``trial_sharpes`` (per period).

    Returns
    -------
    float
        Probability in [0, 1] that the selected strategy's true Sharpe exceeds zero after the
        selection among ``trials``; 0.95 is the usual threshold.

    Raises
    ------
    ValueError
        Missing inputs, or fewer than 2 observations.
    """
    if returns is not None:
        r = pd.Series(np.asarray(returns, dtype=float)).dropna().to_numpy()
        observations = len(r)
        if observations < 2:
            raise ValueError(f"returns: need at least 2 observations, got {observations}")
        sharpe = float(np.mean(r) / np.std(r, ddof=1))
        skewness = float(_stats.skew(r))
        kurtosis = float(_stats.kurtosis(r, fisher=False))
    if sharpe is None or observations is None:
        raise ValueError("deflated_sharpe_ratio: give returns, or sharpe and observations")
    if sharpe_variance is None:
        if trial_sharpes is None:
            raise ValueError("deflated_sharpe_ratio: give sharpe_variance or trial_sharpes")
        values = np.asarray(trial_sharpes, dtype=float)
        values = values[np.isfinite(values)]
        sharpe_variance = float(np.var(values, ddof=1)) if len(values) > 1 else 0.0
    threshold = expected_maximum_sharpe_ratio(trials, sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, threshold, observations, skewness or 0.0,
                                      3.0 if kurtosis is None else kurtosis)


# --------------------------------------------------------------------------------------- PBO


def _sharpe_columns(block: np.ndarray) -> np.ndarray:
    std = block.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = block.mean(axis=0) / std
    return np.where(std > 0, out, np.nan)


@dataclass
class PBOResult:
    """Outcome of CSCV.

    Attributes
    ----------
    pbo : float
        Share of the combinations whose in-sample best is at or below the out-of-sample median
        (logit <= 0).
    logits : numpy.ndarray
        ``lambda_c = ln(w / (1 - w))`` per combination, ``w`` the relative OOS rank of the IS best.
    in_sample, out_of_sample : numpy.ndarray
        Performance of the IS-best strategy in and out of sample, per combination (performance
        degradation: regress the second on the first).
    best : numpy.ndarray
        Column index of the IS-best strategy per combination.
    probability_of_loss : float
        Share of combinations where the IS-best's OOS performance is below 0.
    """

    pbo: float
    logits: np.ndarray
    in_sample: np.ndarray
    out_of_sample: np.ndarray
    best: np.ndarray
    probability_of_loss: float


def probability_of_backtest_overfitting(
    returns: pd.DataFrame | np.ndarray,
    partitions: int = 16,
    metric: Callable[[np.ndarray], np.ndarray] | None = None,
) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation.

    Bailey, Borwein, López de Prado & Zhu (2017), section 2: split the T x N matrix of returns
    (rows = periods, columns = the N trials, e.g. :attr:`SweepResult.returns`) into ``S`` row
    blocks of equal size (the last ``T mod S`` rows dropped); for each of the C(S, S/2) ways of
    taking half the blocks as in-sample (the rest, in order, out of sample), find the trial with
    the best in-sample performance, its relative rank ``w = rank / (N + 1)`` out of sample
    (rank 1 = worst, ties averaged), and the logit ``ln(w / (1 - w))``. PBO is the share of
    logits <= 0.

    Parameters
    ----------
    returns : DataFrame or ndarray, shape (T, N)
        Per-period returns; NaN counts as 0 (no position).
    partitions : int
        ``S``, even, >= 2 (the paper uses 16).
    metric : callable, optional
        Performance of each column of a block, ``(rows, N) -> (N,)``; default the per-period
        Sharpe ratio ``mean / std(ddof=1)`` (NaN for a flat column, ranked lowest).

    Raises
    ------
    ValueError
        Odd or too small ``partitions``, fewer than 2 trials, or fewer rows than ``partitions``.
    """
    matrix = np.nan_to_num(np.asarray(returns, dtype=float), nan=0.0)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise ValueError(f"returns: need a (T, N) matrix with N >= 2 trials, got shape {matrix.shape}")
    if partitions < 2 or partitions % 2:
        raise ValueError(f"partitions: must be even and >= 2, got {partitions}")
    rows = matrix.shape[0] // partitions
    if rows < 1:
        raise ValueError(f"returns: {matrix.shape[0]} rows cannot make {partitions} partitions")
    measure = metric or _sharpe_columns
    blocks = [matrix[i * rows:(i + 1) * rows] for i in range(partitions)]
    n = matrix.shape[1]
    logits, inside, outside, best = [], [], [], []
    for chosen in itertools.combinations(range(partitions), partitions // 2):
        train = np.vstack([blocks[i] for i in chosen])
        test = np.vstack([blocks[i] for i in range(partitions) if i not in chosen])
        r_in = np.asarray(measure(train), dtype=float)
        r_out = np.asarray(measure(test), dtype=float)
        star = int(np.nanargmax(np.where(np.isnan(r_in), -np.inf, r_in)))
        ranks = _stats.rankdata(np.where(np.isnan(r_out), -np.inf, r_out), method="average")
        w = ranks[star] / (n + 1)
        logits.append(math.log(w / (1 - w)))
        inside.append(r_in[star])
        outside.append(r_out[star])
        best.append(star)
    logit_array = np.asarray(logits)
    out_array = np.asarray(outside)
    return PBOResult(float(np.mean(logit_array <= 0)), logit_array, np.asarray(inside), out_array,
                     np.asarray(best), float(np.mean(out_array < 0)))


# ------------------------------------------------------------------------- stability


def _best_row(table: pd.DataFrame, metric: str, maximize: bool) -> pd.Series:
    ok = table[table[metric].notna()]
    if "error" in ok.columns:
        ok = ok[ok["error"].fillna("") == ""]
    if ok.empty:
        raise ValueError(f"table: no row has a value of {metric!r}")
    return ok.loc[ok[metric].idxmax() if maximize else ok[metric].idxmin()]


def neighbourhood(table: pd.DataFrame, parameters: Sequence[str], metric: str, *, radius: int = 1,
                  best: Mapping[str, Any] | None = None, maximize: bool = True) -> pd.DataFrame:
    """Rows of a grid within ``radius`` grid steps of the best set in every parameter.

    Grid steps are positions in each parameter's sorted distinct values, so a 3 x 3 block around
    the best of a 2-parameter grid is ``radius=1``. ``best`` defaults to the row with the best
    ``metric`` (failed rows left out). Rows that failed stay in (with their NaN metric): a
    neighbour that cannot run is part of the picture.
    """
    centre = dict(best) if best is not None else _best_row(table, metric, maximize)[list(parameters)].to_dict()
    mask = pd.Series(True, index=table.index)
    for name in parameters:
        values = sorted(table[name].dropna().unique().tolist())
        position = values.index(centre[name])
        allowed = values[max(0, position - radius): position + radius + 1]
        mask &= table[name].isin(allowed)
    return table[mask]


def stability(table: pd.DataFrame, parameters: Sequence[str], metric: str, *, radius: int = 1,
              maximize: bool = True) -> pd.Series:
    """The best set's ``metric`` against its neighbourhood's (:func:`neighbourhood`).

    Returns
    -------
    pandas.Series
        ``best``, ``neighbourhood_mean``, ``neighbourhood_median``, ``neighbourhood_min``,
        ``neighbourhood_max``, ``neighbourhood_std``, ``neighbours`` (count, best included),
        ``failed_neighbours``, ``mean_to_best`` (mean / best: near 1 = a plateau, near 0 or
        negative = an isolated peak).
    """
    best = _best_row(table, metric, maximize)
    near = neighbourhood(table, parameters, metric, radius=radius, best=best[list(parameters)].to_dict())
    values = near[metric].astype(float)
    top = float(best[metric])
    return pd.Series({
        "best": top,
        "neighbourhood_mean": float(values.mean()),
        "neighbourhood_median": float(values.median()),
        "neighbourhood_min": float(values.min()),
        "neighbourhood_max": float(values.max()),
        "neighbourhood_std": float(values.std(ddof=1)) if values.notna().sum() > 1 else float("nan"),
        "neighbours": len(near),
        "failed_neighbours": int(values.isna().sum()),
        "mean_to_best": float(values.mean() / top) if top else float("nan"),
    })


def stability_heatmap(table: pd.DataFrame, x: str, y: str, metric: str, *, parameters: Sequence[str] | None = None,
                      radius: int = 1, maximize: bool = True, value_format: str = ".3f") -> Any:
    """Heatmap of ``metric`` over ``x`` and ``y``, other parameters held at the best set's values,
    the best cell marked and its ``radius`` neighbourhood outlined; the title gives
    :func:`stability`'s neighbourhood mean against the best.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go

    parameters = list(parameters or [x, y])
    best = _best_row(table, metric, maximize)
    sliced = table
    for name in parameters:
        if name not in (x, y):
            sliced = sliced[sliced[name] == best[name]]
    pivot = sliced.pivot_table(index=y, columns=x, values=metric, aggfunc="mean", dropna=False)
    xs, ys = list(pivot.columns), list(pivot.index)
    figure = go.Figure(go.Heatmap(
        z=pivot.to_numpy(), x=[str(v) for v in xs], y=[str(v) for v in ys], colorscale="RdYlGn",
        colorbar={"title": metric}, texttemplate="%{z:" + value_format + "}",
        hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{metric}=%{{z:{value_format}}}<extra></extra>"))
    bx, by = xs.index(best[x]), ys.index(best[y])
    figure.add_shape(type="rect", x0=max(bx - radius, 0) - 0.5, x1=min(bx + radius, len(xs) - 1) + 0.5,
                     y0=max(by - radius, 0) - 0.5, y1=min(by + radius, len(ys) - 1) + 0.5,
                     line={"color": "black", "width": 2, "dash": "dash"})
    figure.add_trace(go.Scatter(x=[str(best[x])], y=[str(best[y])], mode="markers", name="best",
                                marker={"symbol": "star", "size": 16, "color": "black"}, showlegend=False))
    summary = stability(table, parameters, metric, radius=radius, maximize=maximize)
    title = (f"{metric} by {x} and {y}: best {summary['best']:{value_format}}, neighbourhood (±{radius} steps) "
             f"mean {summary['neighbourhood_mean']:{value_format}}")
    figure.update_layout(title=title, xaxis_title=x, yaxis_title=y, height=440, template="plotly_white")
    return figure
