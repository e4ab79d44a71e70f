"""Risk config: the sample file documents the real defaults; bad keys are reported with their path."""

from __future__ import annotations

from importlib import resources

import pytest

from workbench.errors import ConfigError
from workbench.risk import RiskConfig, build_risk_engine, load_risk_config
from workbench.risk.engine import BreachAction

SAMPLE = resources.files("workbench") / "sample_config" / "risk.yaml"


def test_sample_config_states_the_defaults():
    assert load_risk_config(SAMPLE) == RiskConfig()
    assert load_risk_config(str(SAMPLE)) == RiskConfig()


def test_default_engine_rule_names():
    risk = build_risk_engine(SAMPLE)
    assert [r.name for r in risk.rules] == [
        "trading_hours", "max_order_quantity", "max_order_notional", "price_band", "max_position_notional",
        "max_position_percent_equity", "max_open_positions", "max_gross_exposure", "max_net_exposure", "buying_power",
        "max_order_rate", "daily_loss_limit", "max_drawdown",
        "broker_disconnect",  # also a pre-trade rule: it holds new orders while a connection is down
    ]
    assert [m.name for m in risk.monitors] == ["daily_loss_limit", "max_drawdown", "broker_disconnect", "reject_streak"]


def test_every_rule_can_be_switched_on_and_configured():
    cfg = {
        "pre_trade": {"max_position_quantity": {"enabled": True, "limit": 7}, "restricted_symbols": {"symbols": ["x"]},
                      "short_selling": {"allowed": False}, "min_cash_reserve": {"amount": 5},
                      "sector_exposure": {"enabled": True, "sectors": {"A": "t"}}, "correlation_limit": {"enabled": True},
                      "trading_hours": {"enabled": False}},
        "portfolio": {"heat": {"enabled": True}, "value_at_risk": {"enabled": True, "method": "parametric"},
                      "daily_loss": {"action": "kill", "limit": 500}},
        "breakers": {"volatility_spike": {"enabled": True}, "stale_data": {"enabled": True}},
    }
    risk = build_risk_engine(cfg)
    names = [r.name for r in risk.rules]
    assert "trading_hours" not in names
    for name in ("restricted_symbols", "short_selling", "max_position_quantity", "min_cash_reserve", "sector_exposure",
                 "correlation_limit", "portfolio_heat", "value_at_risk"):
        assert name in names
    assert [m.name for m in risk.monitors] == [
        "price_history", "daily_loss_limit", "max_drawdown", "portfolio_heat", "value_at_risk", "volatility_spike",
        "stale_data", "broker_disconnect", "reject_streak"]
    daily = next(m for m in risk.monitors if m.name == "daily_loss_limit")
    assert (daily.action, daily.limit) == (BreachAction.KILL, 500)
    assert next(r for r in risk.rules if r.name == "max_position_quantity").limit == 7


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"risk": {"pre_trade": {"max_order_quantity": {"limit": -5}}}},
         "risk.pre_trade.max_order_quantity.limit: Input should be greater than 0 (got -5)"),
        ({"risk": {"portfolio": {"daily_loss": {"action": "panic"}}}}, "risk.portfolio.daily_loss.action: Input should be"),
        ({"risk": {"breakers": {"stale_data": {"max_age_secs": 3}}}},
         "risk.breakers.stale_data.max_age_secs: Extra inputs are not permitted"),
        ({"risk": {"alerts": {"routes": [{"name": "x", "url_env": ["A"], "levels": ["LOUD"]}]}}},
         "risk.alerts.routes[0].levels[0]: Input should be 'CRITICAL', 'WARNING' or 'INFO'"),
        ({"risk": {"portfolio": {"daily_loss": {"limit": None, "percent": None}}}},
         "risk.portfolio.daily_loss: Value error, daily_loss needs limit or percent"),
        ({"risk": [1, 2]}, "risk: expected a mapping, got list"),
    ],
)
def test_errors_name_the_key_path(data, message):
    with pytest.raises(ConfigError) as info:
        load_risk_config(data)
    assert message in str(info.value)


def test_yaml_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "paper.yaml"
    bad.write_text("risk:\n  pre_trade:\n    price_band: {percent: 0}\n")
    with pytest.raises(ConfigError, match=r"paper.yaml: invalid risk config: risk.pre_trade.price_band.percent"):
        load_risk_config(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("risk: [\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        load_risk_config(broken)
    with pytest.raises(ConfigError, match="cannot read risk config"):
        load_risk_config(tmp_path / "missing.yaml")
