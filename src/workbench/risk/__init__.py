"""Risk: pre-trade rules, portfolio rules, circuit breakers, the kill switch, sizing and stops.

- :mod:`.engine`: :class:`RiskEngine` (trading state, checks, trips, resume)
- :mod:`.rules`, :mod:`.market_rules`: pre-trade rules; :mod:`.portfolio_rules`: daily loss,
  drawdown, heat, VaR; :mod:`.breakers`: circuit breakers; :mod:`.sizing`: position sizing, stops
  and :class:`LiveSignal`; :mod:`.config` / :mod:`.factory`: YAML config and builders.
"""

from workbench.risk.config import RiskConfig, load_risk_config
from workbench.risk.engine import BreachAction, Denial, RiskEngine, RiskMonitor, RiskRule, reduces_position
from workbench.risk.factory import build_alert_manager, build_risk_engine

__all__ = [
    "BreachAction",
    "Denial",
    "RiskConfig",
    "RiskEngine",
    "RiskMonitor",
    "RiskRule",
    "build_alert_manager",
    "build_risk_engine",
    "load_risk_config",
    "reduces_position",
]
