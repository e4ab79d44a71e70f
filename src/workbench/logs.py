"""Structured logs for unattended runs: JSON lines (structlog), context ids, masked secrets, rotation.

:func:`configure_logging` routes every log record of the process (the library's ``logging``
calls and structlog loggers alike) through one structlog processor chain:

1. context bound with :func:`bind_context` (``session_id`` for an engine process,
   ``correlation_id`` per API request; structlog's contextvars, so each asyncio task keeps its own),
   and a stdlib record's ``extra`` fields (the library logs through :mod:`logging`, silent until
   configured),
2. level, logger name, ISO-8601 UTC timestamp,
3. :func:`mask_secrets`,
4. JSON rendering (one object per line) or a console renderer.

Output goes to stderr and, with ``file``, to a size-rotated file
(:class:`logging.handlers.RotatingFileHandler`: ``max_bytes`` per file, ``backups`` old files
``.1`` .. ``.N``; the oldest is dropped).

Masking: the value of any key whose name contains ``token``, ``secret``, ``password``,
``api_key``, ``key_id`` or ``authorization`` becomes ``***``; in every string value, ``Bearer
<x>``, ``token=<x>``, the password of a URL (``scheme://user:<x>@host``) and the value of every
environment variable whose name looks secret (``*_TOKEN``, ``*SECRET*``, ``*PASSWORD*``,
``*_KEY``, ``*_KEY_ID``; at least 8 characters) are replaced by ``***``.

Environment (read by :func:`configure_from_env`, called by the CLI): ``WORKBENCH_LOG_FORMAT``
(``json`` | ``console``), ``WORKBENCH_LOG_FILE``, ``WORKBENCH_LOG_LEVEL`` (default ``INFO``),
``WORKBENCH_LOG_MAX_BYTES`` (default 50 MB), ``WORKBENCH_LOG_BACKUPS`` (default 5). Nothing is
configured when neither of the first two is set (the CLI's default human output is unchanged).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

__all__ = ["bind_context", "configure_from_env", "configure_logging", "get_logger", "mask_secrets", "unbind_context"]

MASK = "***"
_SECRET_KEY = re.compile(r"token|secret|password|passwd|api_key|apikey|key_id|authorization", re.IGNORECASE)
_SECRET_ENV = re.compile(r"(_TOKEN|SECRET|PASSWORD|_KEY|_KEY_ID)", re.IGNORECASE)
_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[^\s,;\"']+"), r"\1" + MASK),
    (re.compile(r"(?i)((?:token|secret|password|api_key)=)[^\s&,;\"']+"), r"\1" + MASK),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+(@)"), r"\1" + MASK + r"\2"),
)
_HANDLER_TAG = "_workbench_handler"


def _secret_values(environ: Mapping[str, str]) -> list[str]:
    values = {v for k, v in environ.items() if _SECRET_ENV.search(k) and len(v) >= 8}
    return sorted(values, key=len, reverse=True)


def _mask_text(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _mask(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return _mask_text(value, secrets)
    if isinstance(value, Mapping):
        return {k: (MASK if isinstance(k, str) and _SECRET_KEY.search(k) else _mask(v, secrets))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v, secrets) for v in value)
    return value


def mask_secrets(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets in keys and values (see the module docstring)."""
    secrets = _secret_values(os.environ)
    for key in list(event_dict):
        if key.startswith("_"):
            continue
        if _SECRET_KEY.search(key):
            event_dict[key] = MASK
        else:
            event_dict[key] = _mask(event_dict[key], secrets)
    return event_dict


def configure_logging(*, json_format: bool = True, level: str | int = "INFO", file: str | os.PathLike[str] | None = None,
                      max_bytes: int = 50_000_000, backups: int = 5, stream: TextIO | None = None) -> None:
    """Configure the process's logging (see the module docstring); calling it again replaces the handlers.

    Raises
    ------
    ValueError
        ``max_bytes`` or ``backups`` is not positive, or ``level`` is unknown.
    """
    if max_bytes <= 0 or backups <= 0:
        raise ValueError(f"max_bytes and backups must be > 0, got {max_bytes} and {backups}")
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.ExtraAdder(),  # logging.info("...", extra={"command_id": 7}) -> a field
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_secrets,
    ]
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    renderer = structlog.processors.JSONRenderer() if json_format else structlog.dev.ConsoleRenderer(colors=False)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if file is not None:
        path = Path(file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups,
                                                             encoding="utf-8"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_TAG, False)]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        setattr(handler, _HANDLER_TAG, True)
        root.addHandler(handler)
    root.setLevel(numeric)


def configure_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Configure from ``WORKBENCH_LOG_*`` (module docstring); return False (nothing done) when unset."""
    env = os.environ if environ is None else environ
    fmt, file = env.get("WORKBENCH_LOG_FORMAT"), env.get("WORKBENCH_LOG_FILE")
    if not fmt and not file:
        return False
    configure_logging(json_format=(fmt or "json").lower() != "console", level=env.get("WORKBENCH_LOG_LEVEL", "INFO"),
                      file=file or None, max_bytes=int(env.get("WORKBENCH_LOG_MAX_BYTES", 50_000_000)),
                      backups=int(env.get("WORKBENCH_LOG_BACKUPS", 5)))
    return True


def bind_context(**values: Any) -> None:
    """Add ``session_id=``, ``correlation_id=`` ... to every later log record of this task/context."""
    structlog.contextvars.bind_contextvars(**values)


def unbind_context(*names: str) -> None:
    structlog.contextvars.unbind_contextvars(*names)


def get_logger(name: str) -> Any:
    """A structlog logger (``log.info("command submitted", command_id=7)``)."""
    return structlog.get_logger(name)
