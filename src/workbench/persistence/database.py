"""Opening a journal database: URL handling, SQLite pragmas, schema creation and version check.

SQLite settings (every connection)
----------------------------------
``journal_mode=WAL``
    readers (dashboard, CLI) never block the writer (the engine) and vice versa.
``synchronous=FULL`` (default; ``NORMAL`` on request)
    In WAL mode ``NORMAL`` is already safe against a *process* crash (SIGKILL), but a committed
    transaction can be lost if the *machine* loses power before the next checkpoint. The design
    promises that a live run never loses an acknowledged event, so the default is ``FULL``: every
    commit is fsync'ed before :meth:`Journal.append` returns. Backtests, which batch their writes,
    lose nothing by it; pass ``synchronous="NORMAL"`` where throughput matters more than power loss.
``wal_autocheckpoint`` = :data:`WAL_AUTOCHECKPOINT_PAGES` (10,000 pages, ~40 MB; SQLite's default is 1,000)
    SQLite runs an automatic checkpoint inside the commit that crosses the threshold, i.e. on the
    writer's critical path (with an order waiting on it under ``durable_submit``: the p99 of a
    commit went from ~0.5 ms to 5-9 ms). A live session checkpoints from a background thread
    instead (:meth:`Journal.checkpoint_wal`, ``PASSIVE``: it never blocks the writer; see
    https://www.sqlite.org/wal.html#ckpt and https://www.sqlite.org/pragma.html#pragma_wal_checkpoint);
    the higher threshold is only the backstop for writers that never call it (a long backtest).
``busy_timeout``
    a writer waits (default 30 s) for another process's write transaction instead of failing.
write transactions begin with ``BEGIN IMMEDIATE``
    they take the write lock up front, so two writers queue on the busy timeout instead of one
    failing with "database is locked" when it upgrades a read lock (pysqlite's own transaction
    handling is switched off, as the SQLAlchemy documentation recommends).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from workbench.errors import JournalError
from workbench.persistence import schema as t

__all__ = ["WAL_AUTOCHECKPOINT_PAGES", "WRITE", "connect_engine", "ensure_schema", "translate_errors"]

WRITE = "workbench_write"
"""Connection execution option: ``True`` makes SQLite begin the transaction with ``BEGIN IMMEDIATE``."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA", "OFF")
WAL_AUTOCHECKPOINT_PAGES = 10_000
"""SQLite ``wal_autocheckpoint`` of every journal connection (see the module docstring)."""
_SCHEMA_LOCK_KEY = 727_274_001  # pg_advisory_xact_lock key serializing schema creation


def mask_url(url: str | os.PathLike[str]) -> str:
    """``url`` with its password replaced by ``***`` (SQLAlchemy's ``render_as_string(hide_password=True)``),
    for anything printed, logged or stored; text that is not a URL is returned unchanged."""
    text = os.fspath(url)
    if "://" not in text:
        return text
    try:
        return sa.make_url(text).render_as_string(hide_password=True)
    except Exception:  # not parseable as a SQLAlchemy URL: hide everything between '//' and '@'
        head, sep, tail = text.partition("://")
        return head + sep + ("***@" + tail.rsplit("@", 1)[1] if "@" in tail else tail)


def normalize_url(url: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL; a plain path (no ``://``) means a SQLite file."""
    text = os.fspath(url)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser()}"
    return text


def _check_sqlite_file(database: str) -> None:
    path = Path(database)
    if not path.parent.exists():
        raise JournalError(f"cannot open journal {path}: directory {path.parent} does not exist")
    if path.exists():
        if path.is_dir():
            raise JournalError(f"cannot open journal {path}: it is a directory")
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
        if head and head != _SQLITE_MAGIC:
            raise JournalError(f"{path} is not a SQLite database (bad file header): not a workbench journal")


def connect_engine(url: str, *, synchronous: str = "FULL", busy_timeout: float = 30.0) -> sa.Engine:
    """Create the SQLAlchemy engine for ``url`` with the settings described in the module docstring.

    Raises
    ------
    JournalError
        The URL is malformed, the SQLite file's directory is missing or the file is not SQLite.
    ValueError
        ``synchronous`` is not one of FULL, NORMAL, EXTRA, OFF.
    """
    sync = synchronous.upper()
    if sync not in _SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {_SYNCHRONOUS}, got {synchronous!r}")
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise JournalError(f"bad journal URL {url!r}: {exc}") from None
    if parsed.get_backend_name() != "sqlite":
        try:
            return sa.create_engine(parsed, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise JournalError(f"cannot open journal {parsed.render_as_string(hide_password=True)}: {exc}") from exc

    database = parsed.database or ""
    if database in ("", ":memory:"):
        engine = sa.create_engine(
            parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        _check_sqlite_file(database)
        engine = sa.create_engine(parsed, connect_args={"timeout": busy_timeout})
    busy_ms = int(busy_timeout * 1000)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={sync}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@contextmanager
def translate_errors(where: str) -> Iterator[None]:
    """Turn database driver errors into :class:`JournalError` naming ``where`` (the journal)."""
    try:
        yield
    except JournalError:
        raise
    except sa.exc.DBAPIError as exc:
        detail = str(exc.orig) if exc.orig is not None else str(exc)
        hint = ""
        lowered = detail.lower()
        if "not a database" in lowered or "malformed" in lowered:
            hint = " (the file is corrupt or truncated: not a usable workbench journal)"
        raise JournalError(f"journal {where}: {type(exc.orig).__name__}: {detail}{hint}") from exc
    except sa.exc.SQLAlchemyError as exc:
        raise JournalError(f"journal {where}: {exc}") from exc


def _migrate(conn: sa.Connection, version: int, where: str) -> None:
    """Bring a journal from ``version`` to :data:`schema.SCHEMA_VERSION` by :data:`schema.MIGRATIONS`."""
    for v in range(version, t.SCHEMA_VERSION):
        steps = t.MIGRATIONS.get(v)
        if steps is None:
            raise JournalError(f"{where} has journal schema version {version}; no migration from {v} to {v + 1} exists")
        have = {(name, c["name"]) for name in {tb for tb, _ in steps} for c in sa.inspect(conn).get_columns(name)}
        for table_name, column_name in steps:
            if (table_name, column_name) in have:
                continue
            column = t.metadata.tables[table_name].c[column_name]
            ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {table_name} ADD COLUMN {ddl}"))
        conn.execute(sa.insert(t.schema_version), {"version": v + 1, "ts_applied": time.time_ns()})


def ensure_schema(engine: sa.Engine, where: str) -> int:
    """Create missing tables and check the file's schema version; return that version.

    Raises
    ------
    JournalError
        The database holds other tables but no ``schema_version`` (not a journal), or its schema
        version is newer (or older without a migration) than :data:`schema.SCHEMA_VERSION`.
    """
    with translate_errors(where), engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            inspector = sa.inspect(conn)
            existing = set(inspector.get_table_names())
            version: int | None = None
            if t.schema_version.name in existing:
                version = conn.execute(sa.select(sa.func.max(t.schema_version.c.version))).scalar()
            elif existing & set(t.metadata.tables):
                raise JournalError(
                    f"{where} has workbench-like tables but no schema_version table: not a workbench journal"
                )
            if version is not None and version > t.SCHEMA_VERSION:
                raise JournalError(
                    f"{where} has journal schema version {version}, newer than this workbench supports "
                    f"({t.SCHEMA_VERSION}): upgrade workbench to open it"
                )
            t.metadata.create_all(conn)
            _add_missing_columns(conn, existing)
            if version is not None and version < t.SCHEMA_VERSION:
                _migrate(conn, version, where)
                version = t.SCHEMA_VERSION
            if version is None:
                conn.execute(sa.insert(t.schema_version), {"version": t.SCHEMA_VERSION, "ts_applied": time.time_ns()})
                version = t.SCHEMA_VERSION
    return version


_ADDED_COLUMNS = (("commands", "ts_expires", "BIGINT"),)
"""Nullable columns added to version-1 journals in place (older files lack them; readers ignore them)."""


def _add_missing_columns(conn: sa.Connection, existing: set[str]) -> None:
    inspector = sa.inspect(conn)
    for table, column, sql_type in _ADDED_COLUMNS:
        if table in existing and column not in {c["name"] for c in inspector.get_columns(table)}:
            conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
