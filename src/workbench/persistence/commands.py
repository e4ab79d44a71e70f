"""Control commands exchanged through the journal's ``commands`` table.

Another process (dashboard, CLI, notebook) calls :meth:`Journal.submit_command`; the engine that
runs the session polls :meth:`Journal.pending_commands`, acts, and journals the outcome with
:meth:`Journal.acknowledge_command` or :meth:`Journal.reject_command`.

Known names (:data:`COMMAND_NAMES`): the keys of
:data:`workbench.model.commands.CONTROL_COMMANDS` (``pause``, ``resume``, ``cancel_all``,
``flatten``, ``kill``), whose ``args`` are the fields of the matching command class (e.g.
``{"symbol": "SPY"}`` for ``flatten``, ``{"reason": "...", "flatten": False}`` for ``kill``), plus
:data:`EXTRA_COMMANDS`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from workbench.errors import CommandError
from workbench.model.commands import CONTROL_COMMANDS, Command
from workbench.persistence.command_checks import check_values
from workbench.persistence.serde import from_json_value

__all__ = ["COMMAND_NAMES", "EXTRA_COMMANDS", "CommandRecord", "validate_command"]

EXTRA_COMMANDS: dict[str, dict[str, type]] = {
    "stop": {},
}
"""Commands beyond ``CONTROL_COMMANDS`` (which also has ``submit_order``: a manual order from the
dashboard's order ticket, and ``set_limit``: change a risk limit), with their required args:
``stop``
    stop the session gracefully (no args).
"""

COMMAND_NAMES: frozenset[str] = frozenset(CONTROL_COMMANDS) | frozenset(EXTRA_COMMANDS)


def _accepts(hint: Any, value: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is not None and type(None) in typing.get_args(hint):
        if value is None:
            return True
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint is bool:
        return isinstance(value, bool)
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def validate_command(
    name: str, args: Mapping[str, Any] | None, symbols: Collection[str] | None = None
) -> dict[str, Any]:
    """Check a command name, its args and their values; return the args as a plain dict.

    ``symbols``: the symbols the session trades (None: unknown, any symbol passes). The value
    rules are in :mod:`workbench.persistence.command_checks`.

    Raises
    ------
    CommandError
        Unknown ``name`` (the message lists the known ones), args that are not a mapping, an
        unknown or missing arg, an arg of the wrong type, or a value that breaks a rule (a
        quantity that is not finite and > 0, an unknown symbol, ...): the message names it and
        its value.
    """
    if not isinstance(name, str) or name not in COMMAND_NAMES:
        raise CommandError(f"unknown command {name!r}; known commands: {', '.join(sorted(COMMAND_NAMES))}")
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise CommandError(f"command {name!r}: args must be a mapping, got {args!r}")
    clean = dict(args)
    if name in CONTROL_COMMANDS:
        cls = CONTROL_COMMANDS[name]
        hints = typing.get_type_hints(cls)
        fields = [f for f in dataclasses.fields(cls) if f.name != "ts_init"]
        allowed = {f.name for f in fields}
        required: set[str] = {
            f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
    else:
        hints = EXTRA_COMMANDS[name]
        allowed = required = set(hints)
    unknown = sorted(set(clean) - allowed)
    if unknown:
        raise CommandError(f"command {name!r}: unknown arg(s) {unknown}; allowed: {sorted(allowed)}")
    missing = sorted(required - set(clean))
    if missing:
        raise CommandError(f"command {name!r}: missing arg(s) {missing}")
    for key, value in clean.items():
        if not _accepts(hints[key], value):
            raise CommandError(f"command {name!r}: arg {key}={value!r} is not a valid {hints[key]}")
    check_values(name, clean, symbols)
    return clean


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """A row of the ``commands`` table.

    ``status`` is ``"pending"``, ``"received"`` (the engine journaled CommandReceived and is
    carrying it out), ``"acknowledged"`` or ``"rejected"``; ``ts_*`` are ns since epoch UTC
    (``ts_expires``: when it expires, None = never); ``ack_seq`` is the seq of the
    CommandAcknowledged event (None while pending).
    """

    command_id: int
    session_id: str
    name: str
    args: dict[str, Any]
    source: str
    ts_created: int
    status: str
    ts_acknowledged: int | None = None
    detail: str = ""
    ack_seq: int | None = None
    ts_expires: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CommandRecord:
        values = {f.name: row.get(f.name) for f in dataclasses.fields(cls)}
        with contextlib.suppress(Exception):  # a hand-written row: kept as stored, refused by validate_command
            values["args"] = from_json_value(values["args"] if values["args"] is not None else {})
        values["detail"] = values["detail"] or ""
        return cls(**values)

    def to_command(self, ts_init: int = 0) -> Command | None:
        """The :mod:`workbench.model.commands` object for a CONTROL_COMMANDS name, else None."""
        cls = CONTROL_COMMANDS.get(self.name)
        if cls is None:
            return None
        try:
            return cls(ts_init=ts_init, **self.args)
        except TypeError as exc:
            raise CommandError(f"command {self.command_id} ({self.name}): bad args {self.args!r}: {exc}") from None
