"""Research at scale: parameter sweeps and walk-forward analysis on dask.distributed, and
overfitting statistics (deflated Sharpe ratio, probability of backtest overfitting, parameter
stability). See ``docs/research.md``."""

from workbench.research.space import grid_sets, load_space, random_sets, set_key
from workbench.research.store import read_results, read_returns
from workbench.research.sweep import SweepResult, sweep
from workbench.research.tasks import DataPath

__all__ = ["DataPath", "SweepResult", "grid_sets", "load_space", "random_sets", "read_results", "read_returns",
           "set_key", "sweep"]
