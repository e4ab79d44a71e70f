"""The API service: FastAPI + uvicorn on 127.0.0.1, bearer tokens, REST reads of the journal,
commands through the journal's command queue, a resumable WebSocket push, health and metrics.

Like the dashboard it reads the journal and writes commands; it never runs an engine (DESIGN
rule 8). Modules: :mod:`.auth` (tokens and roles), :mod:`.reads` (queries), :mod:`.models`
(response models), :mod:`.live` (WebSocket push), :mod:`.metrics` (Prometheus), :mod:`.app`
(routes), :mod:`.server` (uvicorn, ``workbench serve``).

Names are imported on first use (PEP 562), so registering ``workbench serve`` with the CLI does
not load FastAPI.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["OPERATE", "READ", "TokenStore", "create_app", "load_tokens"]

_WHERE = {"create_app": "app", "OPERATE": "auth", "READ": "auth", "TokenStore": "auth", "load_tokens": "auth"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.service' has no attribute {name!r}")
    return getattr(importlib.import_module(f"workbench.service.{module}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
