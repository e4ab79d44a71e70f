"""Risk: pre-trade rules, trading state and the kill switch."""

from workbench.risk.engine import Denial, RiskEngine, RiskRule, reduces_position

__all__ = ["Denial", "RiskEngine", "RiskRule", "reduces_position"]
