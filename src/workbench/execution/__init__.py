"""Execution algorithms working parent orders through child orders: TWAP, VWAP, POV and
implementation shortfall (Almgren-Chriss). See ``docs/execution.md``."""

from workbench.execution.algorithms import (
    ALGORITHMS,
    POV,
    TWAP,
    VWAP,
    ImplementationShortfall,
    ScheduledAlgorithm,
    start_algorithm,
)
from workbench.execution.base import ExecAlgorithm, ParentStatus
from workbench.execution.schedules import (
    almgren_chriss_cost,
    almgren_chriss_trajectory,
    round_to_lots,
    twap_schedule,
    volume_profile,
    vwap_schedule,
)

__all__ = [
    "ALGORITHMS",
    "POV",
    "TWAP",
    "VWAP",
    "ExecAlgorithm",
    "ImplementationShortfall",
    "ParentStatus",
    "ScheduledAlgorithm",
    "almgren_chriss_cost",
    "almgren_chriss_trajectory",
    "round_to_lots",
    "start_algorithm",
    "twap_schedule",
    "volume_profile",
    "vwap_schedule",
]
