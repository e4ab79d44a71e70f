"""Broker sessions (Alpaca, IB) are risk-checked like paper sessions, also after a restart.

The rule of the project (DESIGN: nothing reaches a broker without the risk engine) and NautilusTrader's
live node (its RiskEngine is built from the node's config on every start) say a session trading at a
broker gets its configured limits, or the default profile when it has none, and a restarted session
gets the same limits again. Before this test, an Alpaca or IB session without ``--config`` ran with
an empty risk engine, and every resumed broker session did, whatever its config said.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alpaca_helpers import alpaca_session_on, start_emulator

from workbench.risk.config import RiskConfig
from workbench.risk.factory import build_risk_engine
from workbench.session import default_risk_engine


def _profile(risk) -> tuple[list[str], dict | None]:
    """The rules and monitors of a risk engine and the config they were built from."""
    config = risk.config.model_dump(mode="json") if risk.config is not None else None
    return [type(r).__name__ for r in [*risk.rules, *risk.monitors]], config


def resume_limits(session) -> list:
    return session.engine.risk.rules


def _configured() -> RiskConfig:
    return RiskConfig.model_validate({"pre_trade": {"max_order_quantity": {"limit": 7}},
                                      "portfolio": {"daily_loss": {"percent": 0.01}}})


def test_an_alpaca_session_without_config_gets_the_default_profile_and_keeps_it_on_resume(tmp_path: Path) -> None:
    from workbench.adapters.alpaca.session import resume_alpaca_session

    emulator = start_emulator(data="demo", speed=None)
    try:
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite")
        default = _profile(default_risk_engine())
        assert len(default[0]) >= 8 and _profile(session.engine.risk) == default
        session.journal.close()
        resumed = resume_alpaca_session(session.session_id, journal=tmp_path / "j.sqlite", emulator=emulator)
        assert _profile(resumed.engine.risk) == default
        resumed.journal.close()
    finally:
        emulator.stop_thread()


def test_an_alpaca_session_resumes_with_its_configured_limits(tmp_path: Path) -> None:
    from workbench.adapters.alpaca.session import resume_alpaca_session

    emulator = start_emulator(data="demo", speed=None)
    try:
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", risk=build_risk_engine(_configured()))
        configured = _profile(build_risk_engine(_configured()))
        assert configured[1]["pre_trade"]["max_order_quantity"]["limit"] == 7
        assert configured != _profile(default_risk_engine())
        [rule] = [r for r in resume_limits(session) if type(r).__name__ == "MaxOrderQuantity"]
        assert rule.limit == 7
        session.journal.close()
        resumed = resume_alpaca_session(session.session_id, journal=tmp_path / "j.sqlite", emulator=emulator)
        assert _profile(resumed.engine.risk) == configured
        [rule] = [r for r in resume_limits(resumed) if type(r).__name__ == "MaxOrderQuantity"]
        assert rule.limit == 7
        resumed.journal.close()
    finally:
        emulator.stop_thread()


async def test_an_ib_session_resumes_with_its_configured_limits(tmp_path: Path) -> None:
    pytest.importorskip("ib_async")
    from workbench.adapters.ibkr.session import ibkr_session, resume_ibkr_session
    from workbench.emulators.core import EmulatorCore
    from workbench.emulators.tws import TwsEmulator, TwsVenue

    emulator = TwsEmulator(TwsVenue(EmulatorCore("demo", speed=None)))
    await emulator.start()
    try:
        plain = ibkr_session("sma_crossover", emulator=emulator, journal=tmp_path / "plain.sqlite")
        assert _profile(plain.engine.risk) == _profile(default_risk_engine())
        plain.journal.close()
        session = ibkr_session("sma_crossover", emulator=emulator, journal=tmp_path / "j.sqlite",
                               risk=build_risk_engine(_configured()))
        session.journal.close()
        resumed = await resume_ibkr_session(session.session_id, journal=tmp_path / "j.sqlite", emulator=emulator,
                                            warm_up_bars=0)
        assert _profile(resumed.engine.risk) == _profile(build_risk_engine(_configured()))
        resumed.journal.close()
    finally:
        await emulator.stop()
