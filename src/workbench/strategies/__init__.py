"""Example strategies shipped with workbench."""

from workbench.strategies.momentum_rotation import MomentumRotation
from workbench.strategies.rsi_mean_reversion import RsiMeanReversion
from workbench.strategies.scan_strategy import ScanStrategy
from workbench.strategies.sma_crossover import SmaCrossover

EXAMPLES = {
    "sma_crossover": SmaCrossover,
    "rsi_mean_reversion": RsiMeanReversion,
    "momentum_rotation": MomentumRotation,
    "scan": ScanStrategy,
}

__all__ = ["EXAMPLES", "MomentumRotation", "RsiMeanReversion", "ScanStrategy", "SmaCrossover"]
