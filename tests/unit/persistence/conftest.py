"""Fixtures for the journal tests: a throwaway PostgreSQL server and journal URLs for both backends.

``postgres_server`` (session scope) runs ``initdb`` into a private temporary directory (as the
``postgres`` user when the tests run as root: initdb refuses root), starts the server with
``pg_ctl`` listening only on a private Unix socket on a free port, and stops it at the end. It
skips with a reason only when no ``initdb``/``pg_ctl`` binary exists.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from workbench.persistence import Journal

_db_counter = itertools.count(1)


def _find_postgres_bin() -> Path | None:
    """Directory holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<v>/bin."""
    candidates = []
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0), reverse=True)
    candidates += [Path(p) for p in versions]
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A running throwaway server: ``socket_dir``, ``port``, ``new_database()`` -> SQLAlchemy URL."""

    def __init__(self, socket_dir: Path, port: int) -> None:
        self.socket_dir = socket_dir
        self.port = port

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host=str(self.socket_dir), port=self.port, user="postgres", dbname=dbname,
                               autocommit=True)

    def new_database(self) -> str:
        name = f"journal_{os.getpid()}_{next(_db_counter)}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@/{name}?host={self.socket_dir}&port={self.port}"

    def drop_database(self, url: str) -> None:
        name = url.split("@/", 1)[1].split("?", 1)[0]
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _find_postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binary: initdb/pg_ctl not on PATH nor in /usr/lib/postgresql/*/bin")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="wb-pg-"))
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_postgres, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr}\n{done.stdout}\n{server_log}")

    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
        "--no-sync")
    options = f"-k {sockets} -p {port} -c listen_addresses='' -c fsync=off -c max_connections=200"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    try:
        yield PostgresServer(sockets, port)
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database on the throwaway server (dropped afterwards)."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh journal URL on each backend (SQLite file, PostgreSQL database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def journal(journal_url: str) -> Iterator[Journal]:
    with Journal(journal_url) as opened:
        yield opened


# --------------------------------------------------------------------------------- sample events
def _non_default(hint: object, name: str, default: object) -> object:
    """A value for a field of type ``hint`` that differs from its ``default``."""
    import enum
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is not None and type(None) in args:
        return _non_default(next(a for a in args if a is not type(None)), name, None)
    if hint is bool:
        return not default if isinstance(default, bool) else True
    if hint is int:
        return 1_381_152_600_123_456_789 if name.startswith(("ts_", "expire")) else 42
    if hint is float:
        return -1234.5678
    if hint is str:
        return f"{name}-é-✓"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(m for m in reversed(list(hint)) if m != default)
    if origin is tuple:
        return ("first", "second")
    if origin is dict and args[1] is float:
        return {"fast_ma": 101.25, "zero": -0.0, "big": 1e300}
    if origin is dict:
        return {"int": 7, "float": 2.5, "text": "x", "none": None, "list": [1, "two", 3.0], "nested": {"a": True}}
    if hint is object:  # any JSON value (ScanCompleted.table, ...)
        return [{"symbol": "SPY", "score": 1.25, "rank": None, "selected": True}]
    raise TypeError(f"no sample for {hint!r}")


def sample_event(cls: type) -> object:
    """One instance of event class ``cls`` with every field set to a non-default value."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        default = None if f.default is dataclasses.MISSING else f.default
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        values[f.name] = _non_default(hints[f.name], f.name, default)
        assert values[f.name] != default, f"{cls.__name__}.{f.name}"
    return cls(**values)


@pytest.fixture
def every_event() -> list[object]:
    """One non-default instance of every class in EVENT_TYPES."""
    from workbench.model.events import EVENT_TYPES

    return [sample_event(cls) for cls in EVENT_TYPES]
