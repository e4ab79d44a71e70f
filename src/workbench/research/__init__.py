"""Research at scale: parameter sweeps and walk-forward analysis on dask.distributed, and
overfitting statistics (deflated Sharpe ratio, probability of backtest overfitting, parameter
stability). See ``docs/research.md``."""

from workbench.research.overfitting import (
    deflated_sharpe_ratio,
    neighbourhood,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    stability,
    stability_heatmap,
)
from workbench.research.space import grid_sets, load_space, random_sets, set_key
from workbench.research.store import read_results, read_returns
from workbench.research.sweep import SweepResult, sweep
from workbench.research.tasks import DataPath
from workbench.research.walk_forward import WalkForwardResult, walk_forward, walk_forward_windows

__all__ = [
    "DataPath",
    "SweepResult",
    "WalkForwardResult",
    "deflated_sharpe_ratio",
    "grid_sets",
    "load_space",
    "neighbourhood",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "random_sets",
    "read_results",
    "read_returns",
    "set_key",
    "stability",
    "stability_heatmap",
    "sweep",
    "walk_forward",
    "walk_forward_windows",
]
