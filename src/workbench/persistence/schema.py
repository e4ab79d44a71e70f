"""Journal tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Timestamps are ``BigInteger`` ns since epoch UTC. Strings are unbounded (``VARCHAR``/``TEXT``): the
journal never refuses an event because a name is long. ``events`` is the append-only source of truth;
every other table except ``sessions``, ``commands`` and ``schema_version`` is a *projection*
written in the same transaction as the event that changes it, so the dashboard and analytics can
query them without replaying the journal. Each projection row carries the ``seq`` of the event
that last wrote it. Float columns of the projections are nullable: SQLite stores NaN as NULL
(the event payload keeps the exact value).

Tables
------
schema_version   one row: the schema version of the file (see :data:`SCHEMA_VERSION`)
sessions         one row per session; ``last_seq`` is the highest seq appended (a counter kept
                 in the same transaction, so a journal missing its tail is detectable);
                 ``owner_*`` and ``heartbeat_ns`` hold the single-writer lock
events           every journaled event: per-session contiguous ``seq`` (1, 2, ...), ``payload``
                 = canonical JSON text (see :mod:`.serde`), ``checksum`` = SHA-256 of the payload
orders           latest state per order
fills            one row per OrderFilled
positions        latest state per symbol (PositionOpened/Changed/Closed)
equity_snapshots one row per AccountState
signals          one row per SignalGenerated (``signal_id``/``scan_id`` link a scan's signals to their
                 orders, whose ``tag`` starts with ``scan:<signal_id>``)
scan_runs        one row per ScanCompleted: the ranked table, changes and selection (JSON)
risk_events      RiskEvent, OrderDenied and TradingStateChanged (``kind`` says which)
alerts           one row per AlertRaised
commands         control requests from other processes and their acknowledgement
session_state    one row per session: the runtime checkpoint committed with the last events
                 (data position, order-id sequence, the simulated broker's book), for restarts
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "SCHEMA_VERSION",
    "alerts",
    "commands",
    "equity_snapshots",
    "events",
    "fills",
    "metadata",
    "orders",
    "positions",
    "risk_events",
    "MIGRATIONS",
    "scan_runs",
    "schema_version",
    "sessions",
    "signals",
]

SCHEMA_VERSION = 2
"""Version of the table layout; a journal written with a higher version is refused, an older one is
migrated by :data:`MIGRATIONS`."""

metadata = sa.MetaData()

_ns = sa.BigInteger


def _session_column() -> sa.Column:
    return sa.Column("session_id", sa.String(), sa.ForeignKey("sessions.session_id", ondelete="CASCADE"), nullable=False)


schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ts_applied", _ns, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session_id", sa.String(), primary_key=True),
    sa.Column("name", sa.String(), nullable=False, default=""),
    sa.Column("mode", sa.String(), nullable=False),
    sa.Column("strategy", sa.String(), nullable=False, default=""),
    sa.Column("parameters", sa.JSON, nullable=False),
    sa.Column("status", sa.String(), nullable=False),  # created | running | stopped
    sa.Column("ts_created", _ns, nullable=False),
    sa.Column("ts_started", _ns),
    sa.Column("ts_stopped", _ns),
    sa.Column("last_seq", sa.BigInteger, nullable=False, default=0),
    sa.Column("owner_token", sa.String()),
    sa.Column("owner_name", sa.String()),
    sa.Column("owner_pid", sa.Integer),
    sa.Column("owner_host", sa.String()),
    sa.Column("ts_heartbeat", _ns),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    _session_column(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("ts_event", _ns, nullable=False),
    sa.Column("ts_written", _ns, nullable=False),
    sa.Column("type", sa.String(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("checksum", sa.String(), nullable=False),
    sa.UniqueConstraint("session_id", "seq", name="uq_events_session_seq"),
    sa.Index("ix_events_session_type", "session_id", "type"),
    sa.Index("ix_events_session_ts", "session_id", "ts_event"),
)

orders = sa.Table(
    "orders",
    metadata,
    _session_column(),
    sa.Column("order_id", sa.String(), nullable=False),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("side", sa.String(), nullable=False),
    sa.Column("order_type", sa.String(), nullable=False),
    sa.Column("quantity", sa.Float),
    sa.Column("limit_price", sa.Float),
    sa.Column("stop_price", sa.Float),
    sa.Column("time_in_force", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("status_before_pending", sa.String()),
    sa.Column("filled_quantity", sa.Float, default=0.0),
    sa.Column("avg_fill_price", sa.Float, default=0.0),
    sa.Column("commission", sa.Float, default=0.0),
    sa.Column("broker_order_id", sa.String(), nullable=False, default=""),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("strategy_id", sa.String(), nullable=False, default=""),
    sa.Column("tag", sa.String(), nullable=False, default=""),
    sa.Column("ts_init", _ns, nullable=False),
    sa.Column("ts_last", _ns, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("session_id", "order_id"),
    sa.Index("ix_orders_session_status", "session_id", "status"),
    sa.Index("ix_orders_session_ts", "session_id", "ts_last"),
)

def _str(name: str) -> sa.Column:
    return sa.Column(name, sa.String(), nullable=False)


def _floats(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.Float) for name in names]


def _event_table(name: str, *columns: sa.Column) -> sa.Table:
    """An insert-only projection: one row per event, keyed by (session_id, seq), indexed by time."""
    return sa.Table(
        name,
        metadata,
        _session_column(),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("ts_event", _ns, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("session_id", "seq"),
        sa.Index(f"ix_{name}_session_ts", "session_id", "ts_event"),
    )


fills = _event_table(
    "fills",
    _str("fill_id"),
    _str("order_id"),
    _str("symbol"),
    _str("side"),
    *_floats("quantity", "price", "commission"),
    _str("currency"),
    _str("liquidity_side"),
    sa.Index("ix_fills_session_fill", "session_id", "fill_id"),
)

positions = sa.Table(
    "positions",
    metadata,
    _session_column(),
    sa.Column("symbol", sa.String(), nullable=False),
    sa.Column("quantity", sa.Float),
    sa.Column("avg_price", sa.Float),
    sa.Column("realized_pnl", sa.Float),
    sa.Column("status", sa.String(), nullable=False),  # open | closed
    sa.Column("last_fill_id", sa.String(), nullable=False, default=""),
    sa.Column("ts_opened", _ns, nullable=False),
    sa.Column("ts_last", _ns, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("session_id", "symbol"),
)

equity_snapshots = _event_table(
    "equity_snapshots",
    *_floats("cash", "equity", "gross_exposure", "net_exposure", "realized_pnl", "unrealized_pnl", "commissions"),
    _str("currency"),
)

signals = _event_table(
    "signals",
    _str("symbol"),
    sa.Column("direction", sa.Integer, nullable=False),
    _str("strategy_id"),
    *_floats("confidence", "entry", "target", "stop", "size"),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("signal_id", sa.String(), nullable=False, server_default=""),
    sa.Column("scan_id", sa.String(), nullable=False, server_default=""),
    sa.Index("ix_signals_session_signal", "session_id", "signal_id"),
)

scan_runs = _event_table(
    "scan_runs",
    _str("scan_id"),
    _str("name"),
    sa.Column("as_of_ns", _ns, nullable=False),
    _str("strategy_id"),
    sa.Column("universe_size", sa.Integer, nullable=False),
    sa.Column("selected", sa.JSON, nullable=False),
    sa.Column("table", sa.JSON),
    sa.Column("changes", sa.JSON),
)

MIGRATIONS: dict[int, tuple[tuple[str, str], ...]] = {
    1: (("signals", "signal_id"), ("signals", "scan_id")),
}
"""Schema version -> (table, column) pairs added to reach the next version (new tables are created by
``create_all``); each column is added with its server default, so old rows read as empty."""

risk_events = _event_table(
    "risk_events",
    _str("kind"),  # risk | order_denied | trading_state
    _str("rule"),
    sa.Column("message", sa.Text, nullable=False),
    _str("action"),
    _str("symbol"),
    _str("order_id"),
    *_floats("value", "limit"),
    sa.Column("state", sa.String()),
)

alerts = _event_table(
    "alerts",
    _str("level"),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    _str("source"),
)

commands = sa.Table(
    "commands",
    metadata,
    sa.Column("command_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    _session_column(),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("args", sa.JSON, nullable=False),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("ts_created", _ns, nullable=False),
    sa.Column("status", sa.String(), nullable=False),  # pending | received | acknowledged | rejected
    sa.Column("ts_acknowledged", _ns),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    sa.Column("ack_seq", sa.BigInteger),
    sa.Column("ts_expires", _ns),  # added in place to version-1 journals (see database.ensure_schema)
    sa.Index("ix_commands_session_status", "session_id", "status"),
)

session_state = sa.Table(
    "session_state",
    metadata,
    sa.Column("session_id", sa.String(), sa.ForeignKey("sessions.session_id"), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("ts_written", _ns, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
)
