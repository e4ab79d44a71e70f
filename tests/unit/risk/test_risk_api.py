"""The exported API of workbench.risk and workbench.alerts: every name importable and documented."""

from __future__ import annotations

import inspect

import pytest

import workbench.alerts
import workbench.risk


@pytest.mark.parametrize("module", [workbench.risk, workbench.alerts])
def test_exports_exist_and_are_documented(module):
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, f"{module.__name__}.{name} has no docstring"


def test_risk_exports():
    assert set(workbench.risk.__all__) >= {"RiskEngine", "RiskConfig", "build_risk_engine", "load_risk_config",
                                          "build_alert_manager", "BreachAction", "Denial"}
    assert set(workbench.alerts.__all__) >= {"AlertManager", "AlertLevel", "Alert", "AppriseSink", "LogSink"}
