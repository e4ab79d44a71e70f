"""Integration fixtures: the throwaway PostgreSQL server of the journal tests (``postgres_server``,
``pg_url``), shared from ``tests/unit/persistence/conftest.py`` rather than copied."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_workbench_persistence_fixtures", Path(__file__).parents[1] / "unit" / "persistence" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

postgres_server = _fixtures.postgres_server
pg_url = _fixtures.pg_url
