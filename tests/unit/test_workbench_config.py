"""Workbench config: key paths in errors, the live opt-in, .env secrets, broker models."""

from __future__ import annotations

import pytest

from workbench.brokers.fills import PercentCommission, PerShareCommission, ZeroCommission
from workbench.config import LIVE_CONFIRM_ENV, load_config
from workbench.errors import ConfigError


def test_defaults_are_simulated_paper() -> None:
    config = load_config()
    assert config.mode == "paper" and config.broker.kind == "simulated"
    assert isinstance(config.commission_model(), ZeroCommission)


def test_bad_keys_are_named_by_their_path(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("session:\n  speed: -3\nbroker:\n  commision: {}\nrisk:\n  pre_trade:\n"
                    "    max_order_notional: {limit: 0}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert str(path) in text
    assert "session.speed: Input should be greater than 0 (got -3)" in text
    assert "broker.commision: Extra inputs are not permitted" in text
    assert "risk.pre_trade.max_order_notional.limit: Input should be greater than 0 (got 0)" in text


def test_live_mode_needs_an_explicit_opt_in(monkeypatch) -> None:
    monkeypatch.delenv(LIVE_CONFIRM_ENV, raising=False)
    with pytest.raises(ConfigError, match="explicit opt-in"):
        load_config({"mode": "live"})
    assert load_config({"mode": "live"}, confirm_live=True).mode == "live"
    monkeypatch.setenv(LIVE_CONFIRM_ENV, "yes")
    assert load_config({"mode": "live"}).mode == "live"


def test_dotenv_beside_the_file_fills_the_environment_without_overriding(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("WB_TEST_ALERT_URL", raising=False)
    monkeypatch.setenv("WB_TEST_KEEP", "from-env")
    (tmp_path / ".env").write_text("WB_TEST_ALERT_URL='json://127.0.0.1:9/x'\nWB_TEST_KEEP=from-file\n# comment\n")
    (tmp_path / "c.yaml").write_text("mode: paper\n")
    load_config(tmp_path / "c.yaml")
    import os

    assert os.environ["WB_TEST_ALERT_URL"] == "json://127.0.0.1:9/x"
    assert os.environ["WB_TEST_KEEP"] == "from-env"


def test_broker_section_builds_the_fill_and_commission_models() -> None:
    config = load_config({"broker": {"slippage_bps": 1.5, "slippage_ticks": 1, "max_volume_participation": 0.1,
                                     "commission": {"kind": "per_share", "rate": 0.01, "minimum": 2.0}}})
    fm = config.fill_model()
    assert (fm.slippage.bps, fm.slippage.ticks, fm.max_volume_participation) == (1.5, 1, 0.1)
    commission = config.commission_model()
    assert isinstance(commission, PerShareCommission)
    assert commission.commission(100, 50.0) == 2.0  # 100 x 0.01 = 1.00 < minimum 2.00
    pct = load_config({"broker": {"commission": {"kind": "percent", "bps": 10}}}).commission_model()
    assert isinstance(pct, PercentCommission) and pct.commission(100, 50.0) == pytest.approx(5.0)


def test_shipped_sample_config_loads() -> None:
    from pathlib import Path

    import workbench

    config = load_config(Path(workbench.__file__).parent / "sample_config" / "paper.yaml")
    assert config.session.params["fast"] == 10 and config.risk.pre_trade.max_order_quantity.limit == 1000


async def test_paper_session_from_config_keeps_its_risk_engine_on_resume(tmp_path) -> None:
    from workbench.session import paper_session, resume_session

    config = load_config({"session": {"speed": None, "params": {"fast": 3, "slow": 8}},
                          "risk": {"pre_trade": {"max_order_quantity": {"limit": 50}}}})
    session = paper_session(config=config, journal=tmp_path / "j.sqlite", snapshot_interval=0)
    await session
    denied = session.journal.risk_events(session.session_id)
    assert len(denied) and denied["message"].str.contains("max_order_quantity").all()
    import sqlalchemy as sa

    from workbench.persistence import schema

    with session.journal.engine.begin() as conn:  # as if it had crashed: a finished session is not resumable
        conn.execute(sa.update(schema.sessions).values(status="running"))
    resumed = resume_session(session.session_id, journal=session.journal)
    names = [r.name for r in resumed.engine.risk.rules]
    rule = next(r for r in resumed.engine.risk.rules if r.name == "max_order_quantity")
    assert "trading_hours" in names and rule.limit == 50


def test_live_refuses_a_journal_that_can_lose_acknowledged_events(monkeypatch) -> None:
    """SQLite's documentation: in WAL mode ``synchronous=NORMAL`` may roll back the last
    transactions on power loss; a live session must not lose an acknowledged event."""
    monkeypatch.delenv("WORKBENCH_JOURNAL", raising=False)
    with pytest.raises(ConfigError, match="synchronous: FULL"):
        load_config({"mode": "live", "journal": {"synchronous": "NORMAL"}}, confirm_live=True)
    assert load_config({"mode": "live"}, confirm_live=True).journal.synchronous == "FULL"  # the live default
    assert load_config({"mode": "paper"}).journal.synchronous == "NORMAL"
    assert load_config({"mode": "live", "journal": {"url": "postgresql+psycopg://db/j", "synchronous": "NORMAL"}},
                       confirm_live=True).journal.synchronous == "NORMAL"  # PostgreSQL: the setting is SQLite's
