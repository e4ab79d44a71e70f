"""Brokers: the interface, the simulated broker and its fill models."""

from workbench.brokers.base import Broker, MarketDataConsumer
from workbench.brokers.fills import (
    CommissionModel,
    FillModel,
    PercentCommission,
    PerShareCommission,
    SlippageModel,
    ZeroCommission,
)
from workbench.brokers.simulated import SimulatedBroker, SimulatedBrokerConfig

__all__ = [
    "Broker",
    "CommissionModel",
    "FillModel",
    "MarketDataConsumer",
    "PerShareCommission",
    "PercentCommission",
    "SimulatedBroker",
    "SimulatedBrokerConfig",
    "SlippageModel",
    "ZeroCommission",
]
