"""The deployment recipes stay in step with the CLI: every command in ``deploy/compose.yaml`` and the
systemd units parses with ``workbench``'s own argument parser, every service restarts on failure,
the engine's command resumes its session (``--resume-existing``), servers bind 127.0.0.1, the
engine's config loads, and no secret is written in a recipe (they come from the env file)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import yaml

from workbench.cli import build_parser
from workbench.config import load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_compose_services_parse_and_restart() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "engine", "api", "dashboard"}
    parser = build_parser()
    for name, service in services.items():
        assert service["restart"] == "on-failure", name
        if name == "postgres":
            assert "listen_addresses=127.0.0.1" in service["command"]
            continue
        args = parser.parse_args(service["command"])
        assert service["env_file"] == "workbench.env" and service["depends_on"]["postgres"]
        if name == "engine":
            assert args.resume_existing and args.session_id and args.config == "/etc/workbench/paper.yaml"
        if name == "api":
            assert args.host == "127.0.0.1"


def test_systemd_units_parse_and_restart() -> None:
    parser = build_parser()
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert [u.name for u in units] == ["workbench-api.service", "workbench-dashboard.service",
                                       "workbench-engine@.service"]
    for unit in units:
        ini = configparser.ConfigParser(strict=False, interpolation=None)
        ini.optionxform = str  # type: ignore[assignment,method-assign]
        ini.read_string(unit.read_text())
        service = ini["Service"]
        assert service["Restart"] == "on-failure" and service["EnvironmentFile"] == "/etc/workbench/workbench.env"
        argv = shlex.split(service["ExecStart"].replace("%i", "session-1"))
        assert argv[0].endswith("/workbench")
        args = parser.parse_args(argv[1:])
        if "engine" in unit.name:
            assert args.resume_existing and args.session_id == "session-1"


def test_engine_config_loads_and_recipes_hold_no_secret() -> None:
    config = load_config(DEPLOY / "config" / "paper.yaml")
    assert config.journal.synchronous == "FULL"
    env = (DEPLOY / "workbench.env.example").read_text()
    assert "CHANGE_ME" in env
    for path in [*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.service"), DEPLOY / "Dockerfile"]:
        text = path.read_text().lower()
        assert "password=" not in text and "token=" not in text, path
