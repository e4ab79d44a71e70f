"""The exported API: every name in ``__all__`` resolves, star-imports give exactly ``__all__``."""

from __future__ import annotations

import importlib

import pytest

import workbench

PACKAGES = [
    "workbench",
    "workbench.model",
    "workbench.brokers",
    "workbench.engine",
    "workbench.portfolio",
    "workbench.strategies",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_resolve_and_star_import_matches(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == [], f"{name}.__all__ names that do not resolve: {missing}"
    assert all(n == "__version__" or not n.startswith("_") for n in exported)
    namespace: dict = {}
    exec(f"from {name} import *", namespace)  # the star import is what is being tested
    assert set(namespace) - {"__builtins__"} == set(exported)


def test_version_is_a_string() -> None:
    assert isinstance(workbench.__version__, str) and workbench.__version__.count(".") >= 1


@pytest.mark.parametrize(
    ("name", "required"),
    [
        ("workbench", {"Bar", "QuoteTick", "TradeTick", "Order", "Position", "Instrument", "OrderSide",
                       "OrderType", "TimeInForce", "OrderStatus"}),
        ("workbench.engine", {"TradingEngine", "Strategy", "StrategyParams", "run_backtest", "BacktestResult",
                              "Bracket"}),
        ("workbench.brokers", {"SimulatedBroker", "SimulatedBrokerConfig", "FillModel", "SlippageModel",
                               "PerShareCommission", "PercentCommission", "ZeroCommission"}),
        ("workbench.portfolio", {"Portfolio", "CashLedger"}),
        ("workbench.strategies", {"SmaCrossover", "RsiMeanReversion", "MomentumRotation"}),
    ],
)
def test_the_issue_s_building_blocks_are_exported(name: str, required: set[str]) -> None:
    module = importlib.import_module(name)
    assert required <= set(module.__all__), f"{name} does not export {sorted(required - set(module.__all__))}"


def test_error_tree() -> None:
    from workbench import errors

    assert issubclass(errors.OrderRejected, errors.BrokerError)
    assert issubclass(errors.InvalidStateTransition, errors.WorkbenchError)
    for cls in (errors.ConfigError, errors.DataError, errors.BrokerError, errors.RiskDenied, errors.JournalError):
        assert issubclass(cls, errors.WorkbenchError)
