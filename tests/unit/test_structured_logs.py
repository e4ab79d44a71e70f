"""Production logs: JSON lines with the bound session and correlation ids, secrets masked in keys,
messages (stdlib %-formatting included) and nested values, and size-based rotation (the
documented behaviour of :class:`logging.handlers.RotatingFileHandler`: ``name.1`` .. ``name.N``)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.logs import bind_context, configure_from_env, configure_logging, get_logger, unbind_context

SECRET = "sk-live-9f8e7d6c5b4a"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    unbind_context("session_id", "correlation_id")


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_with_context_and_masked_secrets(restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)
    stream = io.StringIO()
    configure_logging(stream=stream)
    bind_context(session_id="paper-1", correlation_id="req-42")
    get_logger("workbench.test").info("order sent", api_key="abc12345", detail={"password": "hunter2hunter2"},
                                      url="postgresql://trader:pa55word@db/journal")
    logging.getLogger("workbench.engine").warning("broker said %s with Bearer %s", f"no ({SECRET})", "tok-123456789")
    first, second = _lines(stream)
    assert first["event"] == "order sent" and first["level"] == "info" and first["logger"] == "workbench.test"
    assert (first["session_id"], first["correlation_id"]) == ("paper-1", "req-42")
    assert first["timestamp"].endswith("Z")
    assert first["api_key"] == "***" and first["detail"] == {"password": "***"}
    assert first["url"] == "postgresql://trader:***@db/journal"
    assert second["level"] == "warning" and second["session_id"] == "paper-1"
    assert second["event"] == "broker said no (***) with Bearer ***"
    assert SECRET not in stream.getvalue() and "pa55word" not in stream.getvalue()


def test_rotation_keeps_the_configured_number_of_files(restore_logging: None, tmp_path: Path) -> None:
    file = tmp_path / "logs" / "engine.log"
    configure_logging(file=file, max_bytes=2_000, backups=3, stream=io.StringIO())
    log = logging.getLogger("workbench.rotation")
    for i in range(200):
        log.warning("line %d %s", i, "x" * 40)
    names = sorted(p.name for p in file.parent.iterdir())
    assert names == ["engine.log", "engine.log.1", "engine.log.2", "engine.log.3"]
    assert all(path.stat().st_size <= 2_000 for path in file.parent.iterdir())
    last = [json.loads(line) for line in file.read_text().splitlines()][-1]
    assert last["event"].startswith("line 199 ")


def test_environment_switch(restore_logging: None, tmp_path: Path) -> None:
    assert configure_from_env({}) is False
    file = tmp_path / "w.log"
    assert configure_from_env({"WORKBENCH_LOG_FILE": str(file), "WORKBENCH_LOG_LEVEL": "ERROR"}) is True
    logging.getLogger("x").warning("dropped")
    logging.getLogger("x").error("kept")
    assert [json.loads(line)["event"] for line in file.read_text().splitlines()] == ["kept"]
    with pytest.raises(ValueError, match="max_bytes"):
        configure_logging(max_bytes=0)


def test_stdlib_extra_fields_become_json_fields(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    logging.getLogger("workbench.service.app").info("command submitted", extra={"command_id": 7, "command": "pause",
                                                                                 "token": "abcdefgh12345678"})
    (record,) = _lines(stream)
    assert (record["command_id"], record["command"], record["token"]) == (7, "pause", "***")
