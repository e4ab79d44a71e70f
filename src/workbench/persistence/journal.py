"""The journal: append-only, sequence-numbered event store with read models and a command queue.

One journal (a SQLite file or a PostgreSQL database) holds many sessions. Within a session every
appended event gets the next ``seq`` (1, 2, 3, ... with no gaps), and the projection tables
(:mod:`.projections`) are updated in the same transaction, so a reader never sees an event
without its effect or the reverse. When :meth:`Journal.append` returns, the event is committed
(and, with the default ``synchronous="FULL"`` on SQLite, on disk).

Processes
---------
Any number of processes may open the same journal: one engine per session writes; dashboards and
the CLI read and submit commands. A session is run by one process at a time:
:meth:`Journal.acquire_session` takes a lock recorded in the ``sessions`` row (owner token, pid,
host, heartbeat) and raises :class:`~workbench.errors.SessionLocked` while another live process
holds it. A lock is *stale*, and taken over, when its owner pid is dead on this host or its
heartbeat is older than ``stale_after`` seconds. Create one :class:`Journal` per process (do not
share one across ``fork``).

Errors
------
Database failures, a corrupt or truncated file and bad payloads raise
:class:`~workbench.errors.JournalError`; unknown or malformed commands raise
:class:`~workbench.errors.CommandError`.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa

from workbench.errors import CommandError, JournalError, SessionLocked
from workbench.model.events import CommandAcknowledged, Event
from workbench.persistence import locking, queries
from workbench.persistence import schema as t
from workbench.persistence.command_checks import DEFAULT_EXPIRY_SECONDS, MAX_TEXT, check_running
from workbench.persistence.commands import CommandRecord, validate_command
from workbench.persistence.database import WRITE, connect_engine, ensure_schema, normalize_url, translate_errors
from workbench.persistence.locking import LockInfo
from workbench.persistence.projections import Batch, flush, project
from workbench.persistence.serde import DEFAULT_CODEC, EventCodec, checksum, dumps, json_value

__all__ = ["MODES", "Journal", "LockInfo"]

MODES = ("backtest", "paper", "live")
"""Allowed values of a session's ``mode``."""

_PAGE = 2000  # rows per query when iterating events
s = t.sessions.c
e = t.events.c
c = t.commands.c
_BUMP_SEQ = (
    sa.update(t.sessions)
    .where(s.session_id == sa.bindparam("b_session_id"))
    .values(last_seq=s.last_seq + sa.bindparam("b_count", type_=sa.BigInteger))
    .returning(s.last_seq)
)
_BUMP_SEQ_FENCED = (  # the same, only while the caller's lock token still holds the session (fencing)
    sa.update(t.sessions)
    .where(s.session_id == sa.bindparam("b_session_id"), s.owner_token == sa.bindparam("b_token"))
    .values(last_seq=s.last_seq + sa.bindparam("b_count", type_=sa.BigInteger))
    .returning(s.last_seq)
)
_INSERT_EVENTS = sa.insert(t.events)
_UPDATE_STATE = (
    sa.update(t.session_state)
    .where(t.session_state.c.session_id == sa.bindparam("b_session_id"))
    .values(last_seq=sa.bindparam("b_last_seq"), ts_written=sa.bindparam("b_ts_written"), state=sa.bindparam("b_state"))
)
_INSERT_STATE = sa.insert(t.session_state)
_NOTIFY = sa.text("SELECT pg_notify(:channel, :session_id)")
NOTIFY_CHANNEL = "workbench_events"
"""PostgreSQL: every append notifies this channel (payload: the session id) when it commits."""


def _state_text(state: Mapping[str, Any]) -> str:
    import json

    try:
        return json.dumps(state, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise JournalError(f"session state is not JSON-able: {exc}") from exc


class Journal:
    """Append-only event journal on SQLite (default) or PostgreSQL, through SQLAlchemy Core.

    Parameters
    ----------
    url : str or path
        ``"sqlite:///path/to/journal.db"`` (a plain path means the same),
        ``"postgresql+psycopg://user@host/db"`` or ``"sqlite://"`` (in memory, for tests).
    synchronous : {"FULL", "NORMAL"}
        SQLite only; see :mod:`workbench.persistence.database` (FULL: a committed event survives
        power loss; NORMAL: only a process crash).
    busy_timeout : float
        Seconds a SQLite writer waits for another process's write transaction.
    codec : EventCodec, optional
        Event encoder/decoder (versions and upcasters); default :data:`serde.DEFAULT_CODEC`.

    Raises
    ------
    JournalError
        The file is not a SQLite database, is corrupt, or has a newer schema version; the server
        is unreachable.
    """

    def __init__(
        self,
        url: str | os.PathLike[str],
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        codec: EventCodec | None = None,
    ) -> None:
        self.url = normalize_url(url)
        self.codec = codec or DEFAULT_CODEC
        self._engine = connect_engine(self.url, synchronous=synchronous, busy_timeout=busy_timeout)
        self._where = sa.make_url(self.url).render_as_string(hide_password=True)
        self._held: dict[str, str] = {}  # session_id -> lock token held by this object
        self._lost: set[str] = set()  # sessions whose lock this object lost: it may not write to them again
        try:
            self.schema_version = ensure_schema(self._engine, self._where)
        except BaseException:
            self._engine.dispose()
            raise

    # ----------------------------------------------------------------------------- plumbing
    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine (read-only use: queries of your own)."""
        return self._engine

    @property
    def display_url(self) -> str:
        """The URL with its password masked (``***``): the one to print, log or store."""
        return self._where

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def __repr__(self) -> str:
        return f"Journal({self._where!r})"

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the locks this object holds and close its connections."""
        for session_id in list(self._held):
            with contextlib.suppress(JournalError):
                self.release_session(session_id)
        self._engine.dispose()

    def checkpoint_wal(self) -> tuple[int, int, int] | None:
        """Copy the SQLite write-ahead log into the database file (``PRAGMA wal_checkpoint(PASSIVE)``).

        PASSIVE never waits for and never blocks the writer or readers (it copies what it can), so a
        live session calls it from a background thread and no checkpoint lands inside an order's
        commit (see :mod:`.database`, ``wal_autocheckpoint``). Returns SQLite's
        ``(busy, wal_frames, checkpointed_frames)``; None for PostgreSQL or an in-memory journal.

        Raises
        ------
        JournalError
            A database failure.
        """
        if self.dialect != "sqlite" or sa.make_url(self.url).database in (None, "", ":memory:"):
            return None
        with translate_errors(self._where), self._engine.connect() as conn:
            raw = conn.connection.driver_connection  # outside a transaction (no BEGIN): a checkpoint needs that
            row = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def _write(self) -> Any:
        conn = self._engine.connect()
        conn.execution_options(**{WRITE: True})
        return conn

    # ----------------------------------------------------------------------------- sessions
    def create_session(
        self,
        session_id: str | None = None,
        *,
        name: str = "",
        mode: str,
        strategy: str = "",
        parameters: Mapping[str, Any] | None = None,
    ) -> str:
        """Register a new session and return its id.

        Parameters
        ----------
        session_id : str, optional
            Default: ``"<mode>-<UTC yyyymmdd-HHMMSS>-<6 hex>"``.
        mode : {"backtest", "paper", "live"}
        parameters : mapping, optional
            Strategy parameters; must be JSON-representable.

        Raises
        ------
        ValueError
            ``mode`` is not one of :data:`MODES` or ``session_id`` is empty.
        JournalError
            A session with this id exists.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if session_id is None:
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            session_id = f"{mode}-{stamp}-{uuid.uuid4().hex[:6]}"
        if not isinstance(session_id, str) or not session_id:
            raise ValueError(f"session_id must be a non-empty string, got {session_id!r}")
        row = {
            "session_id": session_id,
            "name": name,
            "mode": mode,
            "strategy": strategy,
            "parameters": json_value(dict(parameters or {}), "parameters"),
            "status": "created",
            "ts_created": time.time_ns(),
            "last_seq": 0,
        }
        with translate_errors(self._where), self._write() as conn:
            try:
                with conn.begin():
                    conn.execute(sa.insert(t.sessions), row)
            except sa.exc.IntegrityError:
                raise JournalError(f"session {session_id!r} already exists in {self._where}") from None
        return session_id

    def session(self, session_id: str) -> dict[str, Any]:
        """The ``sessions`` row of ``session_id`` as a dict; JournalError if unknown."""
        with translate_errors(self._where), self._engine.connect() as conn:
            row = conn.execute(sa.select(t.sessions).where(s.session_id == session_id)).mappings().first()
        if row is None:
            raise JournalError(f"unknown session {session_id!r} in {self._where}")
        return dict(row)

    def sessions(self) -> pd.DataFrame:
        """All sessions, newest first; ``ts_*`` columns as tz-aware UTC timestamps."""
        return queries.sessions_frame(self._engine, self._where)

    def last_seq(self, session_id: str) -> int:
        """Highest seq appended to ``session_id`` (0 if none); JournalError if the session is unknown."""
        return int(self.session(session_id)["last_seq"])

    # --------------------------------------------------------------------------------- lock
    def acquire_session(self, session_id: str, owner: str = "", *, stale_after: float = 30.0) -> LockInfo:
        """Take the single-writer lock of ``session_id`` for this process.

        Parameters
        ----------
        owner : str
            Free label stored with the lock (e.g. ``"workbench paper"``).
        stale_after : float
            Seconds without a heartbeat after which another process may take the lock over.

        Raises
        ------
        SessionLocked
            Another live process (or another Journal object) holds the lock; the message names
            its pid, host, owner label and the age of its heartbeat.
        JournalError
            Unknown session.
        """
        with translate_errors(self._where), self._write() as conn, conn.begin():
            info = locking.acquire(conn, session_id, owner, self._held.get(session_id), stale_after, self._where)
        self._held[session_id] = info.token
        self._lost.discard(session_id)
        return info

    def heartbeat(self, session_id: str) -> None:
        """Refresh the lock's heartbeat; SessionLocked if this object no longer holds the lock."""
        token = self._held.get(session_id)
        if token is None:
            raise SessionLocked(f"this process does not hold session {session_id!r}")
        with translate_errors(self._where), self._write() as conn, conn.begin():
            still_mine = locking.heartbeat(conn, session_id, token)
        if not still_mine:
            del self._held[session_id]
            self._lost.add(session_id)
            raise SessionLocked(f"session {session_id!r} lock was taken over by another process (stale heartbeat?)")

    def release_session(self, session_id: str) -> None:
        """Release the lock if this object holds it (no-op otherwise)."""
        token = self._held.pop(session_id, None)
        if token is None:
            return
        with translate_errors(self._where), self._write() as conn, conn.begin():
            locking.release(conn, session_id, token)

    def lock_holder(self, session_id: str) -> LockInfo | None:
        """Who holds ``session_id`` now, or None."""
        return locking.holder(self.session(session_id))

    # ------------------------------------------------------------------------------- append
    def append(self, session_id: str, event: Event) -> int:
        """Append one event in its own transaction and return its seq (committed on return).

        Raises
        ------
        JournalError
            Unknown session, an event that cannot be encoded (the message names the field), or
            a database failure. Nothing is written then.
        """
        return self.append_many(session_id, (event,)).stop - 1

    def append_many(
        self, session_id: str, events: Iterable[Event], *, state: Mapping[str, Any] | None = None
    ) -> range:
        """Append events in ONE transaction (all or nothing); return the range of their seqs.

        ``state`` (JSON-able), when given, replaces the session's runtime checkpoint in the same
        transaction (see :meth:`load_state`), so the checkpoint always matches the events.

        Fencing: while this object holds the session's lock (:meth:`acquire_session`), a write
        commits only if its lock token still holds the session; a writer whose lock was taken over
        (e.g. a process paused with SIGSTOP past its heartbeat) gets :class:`SessionLocked` and
        writes nothing.
        """
        batch = list(events)
        state_text = _state_text(state) if state is not None else None
        token = self._held.get(session_id)
        if session_id in self._lost:
            raise self._lost_lock(session_id)
        if not batch:
            last = self.last_seq(session_id)
            if state_text is not None:
                with translate_errors(self._where), self._write() as conn, conn.begin():
                    if token is not None and conn.execute(
                            sa.select(s.owner_token).where(s.session_id == session_id)).scalar() != token:
                        raise self._lost_lock(session_id)
                    self._put_state(conn, session_id, last, state_text)
            return range(last + 1, last + 1)
        encode = self.codec.encode
        texts = []
        for event in batch:
            if not isinstance(event, Event):
                raise JournalError(f"cannot journal {type(event).__name__}: not an Event")
            texts.append(dumps(encode(event)))
        ts_written = time.time_ns()
        n = len(batch)
        with translate_errors(self._where), self._write() as conn, conn.begin():
            if token is None:
                last = conn.execute(_BUMP_SEQ, {"b_session_id": session_id, "b_count": n}).scalar()
            else:
                last = conn.execute(_BUMP_SEQ_FENCED, {"b_session_id": session_id, "b_count": n,
                                                       "b_token": token}).scalar()
            if last is None:
                if token is not None and conn.execute(
                        sa.select(s.session_id).where(s.session_id == session_id)).first() is not None:
                    raise self._lost_lock(session_id)
                raise JournalError(f"cannot append: unknown session {session_id!r} in {self._where}")
            first = last - n + 1
            rows = [
                {
                    "session_id": session_id,
                    "seq": first + i,
                    "ts_event": event.ts_event,
                    "ts_written": ts_written,
                    "type": type(event).__name__,
                    "version": self.codec.version(type(event).__name__),
                    "payload": text,
                    "checksum": checksum(text),
                }
                for i, (event, text) in enumerate(zip(batch, texts))
            ]
            conn.execute(_INSERT_EVENTS, rows)
            try:
                work = Batch(conn, session_id, batch)
                for i, event in enumerate(batch):
                    project(conn, session_id, first + i, event, work)
                flush(conn, work)
            except sa.exc.IntegrityError as exc:
                raise JournalError(
                    f"cannot append to session {session_id!r}: projection rejected the batch "
                    f"(duplicate order id or similar): {exc.orig}"
                ) from exc
            if state_text is not None:
                self._put_state(conn, session_id, last, state_text)
            if conn.dialect.name == "postgresql":  # wakes LISTENers (the API's live push) on commit
                conn.execute(_NOTIFY, {"channel": NOTIFY_CHANNEL, "session_id": session_id})
        return range(first, last + 1)

    def _lost_lock(self, session_id: str) -> SessionLocked:
        """This object's lock of ``session_id`` was taken over: it may write nothing more (fencing)."""
        self._held.pop(session_id, None)
        self._lost.add(session_id)
        return SessionLocked(f"session {session_id!r}: this process lost its lock (taken over by another process "
                             "after a stale heartbeat); it stops and journals nothing more")

    @staticmethod
    def _put_state(conn: sa.Connection, session_id: str, last_seq: int, text: str) -> None:
        """Replace the session's checkpoint: one cached UPDATE (an INSERT the first time): it runs
        inside every order's commit (``durable_submit``), so it must not build statements each call."""
        values = {"b_session_id": session_id, "b_last_seq": last_seq, "b_ts_written": time.time_ns(), "b_state": text}
        if conn.execute(_UPDATE_STATE, values).rowcount == 0:
            conn.execute(_INSERT_STATE, {"session_id": session_id, "last_seq": last_seq,
                                         "ts_written": values["b_ts_written"], "state": text})

    def load_state(self, session_id: str) -> dict[str, Any] | None:
        """The session's last runtime checkpoint (with ``last_seq``: the journal seq it matches), or None.

        Raises
        ------
        JournalError
            If the checkpoint is newer than the events (a journal missing its tail).
        """
        import json

        st = t.session_state
        with translate_errors(self._where), self._engine.connect() as conn:
            row = conn.execute(sa.select(st.c.last_seq, st.c.state).where(st.c.session_id == session_id)).first()
        if row is None:
            return None
        last = self.last_seq(session_id)
        if row.last_seq > last:
            raise JournalError(
                f"session {session_id!r}: checkpoint at seq {row.last_seq} but the journal ends at seq {last}"
            )
        state = json.loads(row.state)
        state["last_seq"] = row.last_seq
        return state

    # --------------------------------------------------------------------------------- read
    def records(
        self, session_id: str, after_seq: int = 0, types: Iterable[str | type[Event]] | None = None
    ) -> Iterator[tuple[int, Event]]:
        """Yield ``(seq, event)`` in seq order for seq > ``after_seq``, optionally only ``types``.

        Pages through the table (short read transactions), checks every row's checksum and
        decodes it (upcasting old versions).

        Raises
        ------
        JournalError
            A row's checksum does not match its payload or the payload cannot be decoded; the
            message names the seq.
        """
        names = None if types is None else sorted({x if isinstance(x, str) else x.__name__ for x in types})
        cursor = after_seq
        while True:
            query = sa.select(e.seq, e.type, e.payload, e.checksum).where(e.session_id == session_id, e.seq > cursor)
            if names is not None:
                query = query.where(e.type.in_(names))
            with translate_errors(self._where), self._engine.connect() as conn:
                rows = conn.execute(query.order_by(e.seq).limit(_PAGE)).all()
            for seq, type_name, payload, stored in rows:
                yield seq, self._decode_row(session_id, seq, type_name, payload, stored)
            if len(rows) < _PAGE:
                return
            cursor = rows[-1][0]

    def events(
        self, session_id: str, after_seq: int = 0, types: Iterable[str | type[Event]] | None = None
    ) -> Iterator[Event]:
        """Yield the decoded events of ``session_id`` with seq > ``after_seq`` (see :meth:`records`)."""
        for _, event in self.records(session_id, after_seq, types):
            yield event

    def _decode_row(self, session_id: str, seq: int, type_name: str, payload: str, stored: str) -> Event:
        where = f"session {session_id!r} seq {seq} ({type_name})"
        if checksum(payload) != stored:
            raise JournalError(f"corrupt journal: {where}: payload checksum mismatch (stored {stored[:12]}...)")
        try:
            event = self.codec.loads(payload)
        except JournalError as exc:
            raise JournalError(f"corrupt journal: {where}: {exc}") from None
        if type(event).__name__ != type_name:
            raise JournalError(f"corrupt journal: {where}: payload is a {type(event).__name__}")
        return event

    def verify(self, session_id: str, *, read_model: bool = True) -> int:
        """Check a session's journal and return its number of events.

        Checks: (SQLite) ``PRAGMA quick_check``; seqs are 1..n with no gap or duplicate; every
        checksum matches its payload; every payload decodes to its ``type``; n equals the
        session's recorded ``last_seq`` (a missing tail means a truncated journal); and
        (``read_model``) the projection tables equal a rebuild from the events
        (:func:`workbench.persistence.audit.read_model_differences`: an edited fill price fails).

        Raises
        ------
        JournalError
            Describing the first bad row (its seq) or the mismatch.
        """
        last = self.last_seq(session_id)
        if self.dialect == "sqlite":
            with translate_errors(self._where), self._engine.connect() as conn:
                result = conn.exec_driver_sql("PRAGMA quick_check").scalar()
            if result != "ok":
                raise JournalError(f"corrupt journal {self._where}: SQLite quick_check says {result}")
        expected = 1
        cursor = 0
        while True:
            query = (
                sa.select(e.seq, e.type, e.payload, e.checksum)
                .where(e.session_id == session_id, e.seq > cursor)
                .order_by(e.seq)
                .limit(_PAGE)
            )
            with translate_errors(self._where), self._engine.connect() as conn:
                rows = conn.execute(query).all()
            for seq, type_name, payload, stored in rows:
                if seq != expected:
                    raise JournalError(
                        f"corrupt journal: session {session_id!r}: expected seq {expected}, found seq {seq} "
                        f"(events {expected}..{seq - 1} are missing)"
                    )
                self._decode_row(session_id, seq, type_name, payload, stored)
                expected += 1
            if len(rows) < _PAGE:
                break
            cursor = rows[-1][0]
        if expected - 1 != last:
            raise JournalError(
                f"truncated journal: session {session_id!r} recorded last seq {last} but the events end "
                f"at seq {expected - 1} (events {expected}..{last} are missing)"
            )
        if read_model:
            from workbench.persistence.audit import read_model_differences

            differences = read_model_differences(self, session_id)
            if differences:
                raise JournalError(f"journal {self._where}: session {session_id!r}: the read model differs from "
                                   f"its events ({len(differences)}{'+' if len(differences) >= 20 else ''} "
                                   f"differences; edited or damaged tables): " + "; ".join(differences[:5]))
        return last

    # ----------------------------------------------------------------------- read models
    def orders(self, session_id: str, *, status: Sequence[str] | None = None) -> pd.DataFrame:
        """Latest state per order (``orders`` table), by ``ts_init``; optionally only ``status`` values."""
        return queries.orders_frame(self._engine, self._where, session_id, status)

    def fills(self, session_id: str, *, limit: int | None = None) -> pd.DataFrame:
        """Fills in seq order (``quantity`` shares, ``price``/``commission`` in ``currency``); last ``limit``."""
        return queries.table_frame(self._engine, self._where, t.fills, session_id, limit)

    def positions(self, session_id: str, *, open_only: bool = False) -> pd.DataFrame:
        """Latest position per symbol (signed ``quantity`` shares, ``avg_price``, ``realized_pnl``)."""
        return queries.positions_frame(self._engine, self._where, session_id, open_only)

    def equity(self, session_id: str, *, limit: int | None = None) -> pd.DataFrame:
        """Account snapshots (cash, equity, exposures, P&L in ``currency``) in seq order."""
        return queries.table_frame(self._engine, self._where, t.equity_snapshots, session_id, limit)

    def signals(self, session_id: str, *, limit: int | None = None) -> pd.DataFrame:
        """SignalGenerated rows in seq order; ``inputs`` as dicts."""
        return queries.table_frame(self._engine, self._where, t.signals, session_id, limit)

    def risk_events(self, session_id: str, *, limit: int | None = None) -> pd.DataFrame:
        """Risk rule firings, order denials and trading-state changes (``kind`` column) in seq order."""
        return queries.table_frame(self._engine, self._where, t.risk_events, session_id, limit)

    def alerts(self, session_id: str, *, limit: int | None = None) -> pd.DataFrame:
        """Alerts raised, in seq order."""
        return queries.table_frame(self._engine, self._where, t.alerts, session_id, limit)

    def commands(self, session_id: str, *, limit: int | None = None) -> pd.DataFrame:
        """Commands of a session (all statuses) in submission order."""
        return queries.table_frame(self._engine, self._where, t.commands, session_id, limit, order="command_id")

    # ------------------------------------------------------------------------------ commands
    def submit_command(
        self,
        session_id: str,
        name: str,
        args: Mapping[str, Any] | None = None,
        source: str = "",
        *,
        expires_after: float | None = DEFAULT_EXPIRY_SECONDS,
        require_running: bool = True,
    ) -> int:
        """Queue a control command for the engine running ``session_id``; return its command id.

        ``name`` is one of :data:`workbench.persistence.commands.COMMAND_NAMES` and ``args`` must
        match that command's fields and value rules (see
        :func:`~workbench.persistence.commands.validate_command`; a ``symbol`` must be one the
        session trades when the session recorded its ``symbols``).

        Parameters
        ----------
        expires_after : float | None
            Seconds after which the engine journals the command as expired instead of carrying
            it out (default :data:`~workbench.persistence.command_checks.DEFAULT_EXPIRY_SECONDS`);
            None = never.
        require_running : bool
            Refuse the command unless a live process runs the session (holds its lock with a
            fresh heartbeat): a command to a stopped session would otherwise run at its next start.

        Raises
        ------
        CommandError
            Unknown command name, malformed args or values, a non-positive ``expires_after``, or
            (``require_running``) a session nobody runs; nothing is written.
        JournalError
            Unknown session.
        """
        row_session = self.session(session_id) if isinstance(session_id, str) else None
        if row_session is None:
            raise JournalError(f"cannot submit {name!r}: unknown session {session_id!r} in {self._where}")
        symbols = (row_session.get("parameters") or {}).get("symbols")
        clean = validate_command(name, args, None if symbols is None else {str(x).upper() for x in symbols})
        if expires_after is not None and not (isinstance(expires_after, int | float) and expires_after > 0):
            raise CommandError(f"expires_after must be a number of seconds > 0 or None, got {expires_after!r}")
        if require_running:
            check_running(row_session)
        now = time.time_ns()
        row = {
            "session_id": session_id,
            "name": name,
            "args": json_value(clean, "args"),
            "source": str(source)[:MAX_TEXT],
            "ts_created": now,
            "status": "pending",
            "detail": "",
            "ts_expires": None if expires_after is None else now + int(expires_after * 1e9),
        }
        with translate_errors(self._where), self._write() as conn, conn.begin():
            if conn.execute(sa.select(s.session_id).where(s.session_id == session_id)).first() is None:
                raise JournalError(f"cannot submit {name!r}: unknown session {session_id!r} in {self._where}")
            return int(conn.execute(sa.insert(t.commands).returning(c.command_id), row).scalar_one())

    def received_commands(self, session_id: str) -> list[CommandRecord]:
        """Commands an engine took (CommandReceived journaled) but never acknowledged: interrupted by a crash."""
        query = sa.select(t.commands).where(c.session_id == session_id, c.status == "received").order_by(c.command_id)
        with translate_errors(self._where), self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [CommandRecord.from_row(row) for row in rows]

    def pending_commands(self, session_id: str) -> list[CommandRecord]:
        """Commands of ``session_id`` not yet acknowledged, oldest first (cheap: indexed; poll it)."""
        query = sa.select(t.commands).where(c.session_id == session_id, c.status == "pending").order_by(c.command_id)
        with translate_errors(self._where), self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [CommandRecord.from_row(row) for row in rows]

    def command(self, command_id: int) -> CommandRecord:
        """One command by id; CommandError if there is none."""
        with translate_errors(self._where), self._engine.connect() as conn:
            row = conn.execute(sa.select(t.commands).where(c.command_id == command_id)).mappings().first()
        if row is None:
            raise CommandError(f"no command with id {command_id} in {self._where}")
        return CommandRecord.from_row(row)

    def acknowledge_command(self, command_id: int, ok: bool = True, detail: str = "", *, ts_event: int | None = None) -> int:
        """Journal a :class:`CommandAcknowledged` for ``command_id`` and mark it acknowledged
        (``ok=True``) or rejected, in one transaction; return the event's seq.

        ``ts_event`` (ns since epoch UTC) defaults to now; an engine passes its clock's time.

        Raises
        ------
        CommandError
            No such command, or it was already acknowledged/rejected.
        """
        record = self.command(command_id)
        if record.status not in ("pending", "received"):
            raise CommandError(f"command {command_id} ({record.name}) is already {record.status}")
        event = CommandAcknowledged(
            ts_event=time.time_ns() if ts_event is None else ts_event,
            command_id=command_id,
            name=record.name,
            ok=ok,
            detail=detail,
        )
        return self.append(record.session_id, event)

    def reject_command(self, command_id: int, detail: str, *, ts_event: int | None = None) -> int:
        """Journal the rejection of ``command_id`` with a reason (``acknowledge_command(ok=False)``)."""
        return self.acknowledge_command(command_id, False, detail, ts_event=ts_event)
