"""Persistence: the event journal (SQLite/PostgreSQL via SQLAlchemy Core).

- :mod:`.schema`: tables; :mod:`.serde`: versioned event encoding; :mod:`.projections`: read
  models updated with each append; :mod:`.commands`: control commands; :mod:`.journal`: the
  :class:`Journal` API.
"""

from workbench.persistence.commands import COMMAND_NAMES, EXTRA_COMMANDS, CommandRecord, validate_command
from workbench.persistence.journal import MODES, Journal, LockInfo
from workbench.persistence.schema import SCHEMA_VERSION
from workbench.persistence.serde import (
    DEFAULT_CODEC,
    SCHEMA_VERSIONS,
    EventCodec,
    decode_event,
    encode_event,
)

__all__ = [
    "COMMAND_NAMES",
    "DEFAULT_CODEC",
    "EXTRA_COMMANDS",
    "MODES",
    "SCHEMA_VERSION",
    "SCHEMA_VERSIONS",
    "CommandRecord",
    "EventCodec",
    "Journal",
    "LockInfo",
    "decode_event",
    "encode_event",
    "validate_command",
]
