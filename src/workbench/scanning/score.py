"""Composite score: cross-sectional z-scores, winsorized, weighted.

For factor ``f`` on the scan date, over the symbols that have every weighted factor:

    z_f = (x_f - mean(x_f)) / std(x_f, ddof=0),  clipped to [-winsor, +winsor]
    contribution_f = weight_f * z_f
    score = sum_f contribution_f

A factor with zero dispersion (one symbol, or all equal) gets z = 0. Weights may be negative (a
low-volatility tilt weights ``volatility`` by -1). Winsorizing the z-scores at 3 is the usual
cross-sectional convention (Grinold & Kahn, *Active Portfolio Management*, ch. 14).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from workbench.errors import ConfigError

__all__ = ["composite_score", "score_arrays", "zscores"]


def zscores(values: pd.DataFrame, *, winsor: float | None = 3.0) -> pd.DataFrame:
    """Column-wise cross-sectional z-scores of ``values`` (symbols x factors), clipped at ``winsor``."""
    mean = values.mean(axis=0)
    std = values.std(axis=0, ddof=0)
    z = (values - mean) / std.where(std > 0)
    flat = [c for c in values.columns if not std[c] > 0]
    if flat:
        z[flat] = values[flat].where(values[flat].isna(), 0.0)
    if winsor is not None:
        z = z.clip(lower=-winsor, upper=winsor)
    return z


def composite_score(values: pd.DataFrame, weights: Mapping[str, float], *, winsor: float | None = 3.0
                    ) -> tuple[pd.Series, pd.DataFrame]:
    """Score the symbols (rows of ``values``) by ``weights`` over its factor columns.

    Returns
    -------
    (score, contributions)
        ``score`` per symbol (NaN where a weighted factor is missing); ``contributions`` symbols x
        weighted factors (``weight * z``), summing to the score.

    Raises
    ------
    ConfigError
        A weight names a factor that is not a column of ``values``, or is not finite.
    """
    unknown = [name for name in weights if name not in values.columns]
    if unknown:
        raise ConfigError(f"weights: unknown factor(s) {unknown}; the scan's factors are {list(values.columns)}")
    for name, w in weights.items():
        if not np.isfinite(w):
            raise ConfigError(f"weights.{name}: expected a finite number, got {w!r}")
    names = [n for n, w in weights.items() if w != 0]
    score, contributions = score_arrays(values[names].to_numpy(dtype=float),
                                        np.array([weights[n] for n in names], dtype=float), winsor=winsor)
    return (pd.Series(score, index=values.index),
            pd.DataFrame(contributions, index=values.index, columns=names))


def score_arrays(values: np.ndarray, weights: np.ndarray, *, winsor: float | None = 3.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The numpy core of :func:`composite_score`: ``values`` symbols x factors, ``weights`` per factor.

    Returns (score per symbol, contributions symbols x factors); rows with a missing value are NaN.
    """
    n, k = values.shape
    complete = ~np.isnan(values).any(axis=1)
    contributions = np.full((n, k), np.nan)
    score = np.full(n, np.nan)
    if complete.any():
        x = values[complete]
        std = x.std(axis=0, ddof=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(std > 0, (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0), 0.0)
        if winsor is not None:
            z = np.clip(z, -winsor, winsor)
        contributions[complete] = z * weights
        score[complete] = contributions[complete].sum(axis=1)
    return score, contributions
