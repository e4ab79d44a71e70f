"""Versioned encoding of journaled events to JSON and back.

An event is encoded as a JSON object ``{"type": <class name>, "v": <schema version>, <field>: <value>, ...}``
with the fields in declaration order. The encoding is driven by the dataclass type hints, so decoding
gives back an event *equal* to the one encoded (``decode(encode(e)) == e``):

====================  =================================================================
hint                  JSON
====================  =================================================================
``str``, ``bool``     as is
``int``               integer (ns timestamps are exact: JSON integers are unbounded)
``float``             number; NaN and infinities as the strings ``"NaN"``, ``"Infinity"``,
                      ``"-Infinity"`` (strict JSON has no such numbers, PostgreSQL rejects them)
``StrEnum``           its value
``X | None``          ``null`` or the encoding of ``X``
``tuple[X, ...]``     array
``dict[str, X]``      object
``object``            any JSON value; a non-finite float becomes ``{"$float": "NaN"}``;
                      tuples become arrays (decoded as lists)
====================  =================================================================

NaN decodes to the :data:`math.nan` object, so an event built with ``math.nan`` compares equal to
its decoded copy (``nan != nan``, but dataclass equality checks identity first).

Versions and upcasters
----------------------
Each event type has a schema version (``1`` for every type today). When a type changes shape, bump
its version in :data:`SCHEMA_VERSIONS` and register an *upcaster*: a function that turns the
payload of version ``n`` into the payload of version ``n + 1``. Old journals then decode through
the chain of upcasters::

    @DEFAULT_CODEC.upcaster("OrderDenied", from_version=1)
    def _rename_why(payload: dict) -> dict:
        payload["reason"] = payload.pop("why")
        return payload

Errors
------
Every failure raises :class:`~workbench.errors.JournalError` naming the event type and the field.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import numbers
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from workbench.errors import JournalError
from workbench.model.events import EVENT_TYPES, Event

__all__ = [
    "DEFAULT_CODEC",
    "SCHEMA_VERSIONS",
    "EventCodec",
    "Upcaster",
    "checksum",
    "decode_event",
    "dumps",
    "encode_event",
    "from_json_value",
    "json_value",
]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the payload dict of version ``n`` into the payload dict of version ``n + 1``."""

SCHEMA_VERSIONS: dict[str, int] = {cls.__name__: 1 for cls in EVENT_TYPES}
"""Current schema version of every journaled event type, by class name."""

_NONFINITE_TO_TEXT = {math.inf: "Infinity", -math.inf: "-Infinity"}
_TEXT_TO_FLOAT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class _FieldError(Exception):
    """Raised inside a field codec; the caller adds the type and field name."""


# ------------------------------------------------------------------------------------ field codecs
def _float_out(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    return _NONFINITE_TO_TEXT.get(value, value)


def _enc_str(value: Any) -> str:
    if not isinstance(value, str):
        raise _FieldError(f"expected str, got {value!r}")
    return value


def _enc_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _FieldError(f"expected bool, got {value!r}")
    return value


def _enc_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _FieldError(f"expected int, got {value!r}")
    return int(value)


def _enc_float(value: Any) -> float | str:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _FieldError(f"expected float, got {value!r}")
    value = float(value)
    if math.isfinite(value):
        return value
    return _float_out(value)


def _dec_float(value: Any) -> float:
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value in _TEXT_TO_FLOAT:
        return _TEXT_TO_FLOAT[value]
    raise _FieldError(f"expected a number, got {value!r}")


def _dec_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _FieldError(f"expected an integer, got {value!r}")
    return value


def _enc_object(value: Any) -> Any:
    """Encode an arbitrary JSON-like value (``dict[str, object]`` values)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else {"$float": _float_out(value)}
    if isinstance(value, enum.Enum):
        return _enc_object(value.value)
    if isinstance(value, (list, tuple)):
        return [_enc_object(item) for item in value]
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _FieldError(f"dict keys must be str, got {key!r}")
            out[key] = _enc_object(item)
        return out
    raise _FieldError(f"{type(value).__name__} value {value!r} is not JSON-serializable")


def _dec_object(value: Any) -> Any:
    if isinstance(value, list):
        return [_dec_object(item) for item in value]
    if isinstance(value, dict):
        if len(value) == 1 and "$float" in value:
            return _dec_float(value["$float"])
        return {key: _dec_object(item) for key, item in value.items()}
    return value


_SIMPLE: dict[Any, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    str: (_enc_str, _enc_str),
    bool: (_enc_bool, _enc_bool),
    int: (_enc_int, _dec_int),
    float: (_enc_float, _dec_float),
    object: (_enc_object, _dec_object),
    Any: (_enc_object, _dec_object),
}


def _field_codec(hint: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """Return ``(encode, decode)`` for a type hint; raises TypeError for hints we cannot handle."""
    if hint in _SIMPLE:
        return _SIMPLE[hint]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_codec(hint)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union) and len(args) == 2 and type(None) in args:
        inner_enc, inner_dec = _field_codec(next(a for a in args if a is not type(None)))
        return (
            lambda v: None if v is None else inner_enc(v),
            lambda v: None if v is None else inner_dec(v),
        )
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item_enc, item_dec = _field_codec(args[0])

        def enc_tuple(value: Any) -> list[Any]:
            if not isinstance(value, (tuple, list)):
                raise _FieldError(f"expected a tuple, got {value!r}")
            return [item_enc(item) for item in value]

        def dec_tuple(value: Any) -> tuple[Any, ...]:
            if not isinstance(value, list):
                raise _FieldError(f"expected an array, got {value!r}")
            return tuple(item_dec(item) for item in value)

        return enc_tuple, dec_tuple
    if origin is dict and args and args[0] is str:
        value_enc, value_dec = _field_codec(args[1])

        def enc_dict(value: Any) -> dict[str, Any]:
            if not isinstance(value, Mapping):
                raise _FieldError(f"expected a dict, got {value!r}")
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _FieldError(f"dict keys must be str, got {key!r}")
                out[key] = value_enc(item)
            return out

        def dec_dict(value: Any) -> dict[str, Any]:
            if not isinstance(value, dict):
                raise _FieldError(f"expected an object, got {value!r}")
            return {key: value_dec(item) for key, item in value.items()}

        return enc_dict, dec_dict
    raise TypeError(f"no JSON codec for type hint {hint!r}")


def _enum_codec(cls: type[enum.Enum]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    allowed = ", ".join(str(member.value) for member in cls)

    def enc(value: Any) -> Any:
        if isinstance(value, cls):
            return value.value
        try:
            return cls(value).value
        except ValueError:
            raise _FieldError(f"{value!r} is not a {cls.__name__} (one of {allowed})") from None

    def dec(value: Any) -> Any:
        try:
            return cls(value)
        except ValueError:
            raise _FieldError(f"{value!r} is not a {cls.__name__} (one of {allowed})") from None

    return enc, dec


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    required: bool


def _class_fields(cls: type[Event]) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.name in ("type", "v"):
            raise TypeError(f"{cls.__name__}.{f.name}: field name clashes with the envelope key")
        enc, dec = _field_codec(hints[f.name])
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append(_Field(f.name, enc, dec, required))
    return tuple(out)


# ------------------------------------------------------------------------------------------- codec
class EventCodec:
    """Encoder/decoder for a set of event classes, with per-type versions and upcasters.

    Parameters
    ----------
    event_types : iterable of Event subclasses
        The classes this codec knows, by ``__name__`` (default: every class in ``EVENT_TYPES``).
    versions : mapping of str to int, optional
        Current schema version per type name; types not listed are at version 1.
    """

    def __init__(
        self, event_types: Iterable[type[Event]] = EVENT_TYPES, versions: Mapping[str, int] | None = None
    ) -> None:
        self._classes: dict[str, type[Event]] = {}
        self._fields: dict[type[Event], tuple[_Field, ...]] = {}
        for cls in event_types:
            self._classes[cls.__name__] = cls
            self._fields[cls] = _class_fields(cls)
        self._versions = {name: 1 for name in self._classes}
        for name, version in (versions or {}).items():
            if name not in self._classes:
                raise ValueError(f"versions: unknown event type {name!r}")
            self._versions[name] = int(version)
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    # ------------------------------------------------------------------------------ registry
    def version(self, type_name: str) -> int:
        """Current schema version of ``type_name``; raises JournalError for an unknown type."""
        try:
            return self._versions[type_name]
        except KeyError:
            raise JournalError(f"unknown event type {type_name!r}") from None

    def event_class(self, type_name: str) -> type[Event]:
        """The event class named ``type_name``; raises JournalError for an unknown type."""
        try:
            return self._classes[type_name]
        except KeyError:
            raise JournalError(f"unknown event type {type_name!r}") from None

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator registering ``fn`` to upgrade ``type_name`` payloads from ``from_version`` to the next."""

        def register(fn: Upcaster) -> Upcaster:
            self.register_upcaster(type_name, from_version, fn)
            return fn

        return register

    def register_upcaster(self, type_name: str, from_version: int, fn: Upcaster) -> None:
        """Register ``fn`` as the upgrade of ``type_name`` payloads from ``from_version`` to ``from_version + 1``."""
        current = self.version(type_name)
        if not 1 <= from_version < current:
            raise ValueError(
                f"upcaster for {type_name} from v{from_version}: the current version is {current}, "
                f"so from_version must be in 1..{current - 1}"
            )
        self._upcasters[(type_name, from_version)] = fn

    # ------------------------------------------------------------------------------- encode
    def encode(self, event: Event) -> dict[str, Any]:
        """Encode ``event`` as a JSON-able dict ``{"type", "v", ...fields}``.

        Raises
        ------
        JournalError
            If the class is unknown or a field value does not match its type hint.
        """
        cls = type(event)
        fields = self._fields.get(cls)
        if fields is None:
            raise JournalError(f"cannot journal {cls.__name__}: not a known event type")
        name = cls.__name__
        out: dict[str, Any] = {"type": name, "v": self._versions[name]}
        for f in fields:
            try:
                out[f.name] = f.encode(getattr(event, f.name))
            except _FieldError as exc:
                raise JournalError(f"cannot encode {name}.{f.name}: {exc}") from None
        return out

    def dumps(self, event: Event) -> str:
        """Encode ``event`` to canonical JSON text (compact, ASCII-only, no NaN literals)."""
        return dumps(self.encode(event))

    # ------------------------------------------------------------------------------- decode
    def decode(self, payload: Mapping[str, Any]) -> Event:
        """Decode a payload dict (as produced by :meth:`encode`, possibly of an older version).

        Raises
        ------
        JournalError
            Unknown type, a version newer than this code knows, a missing upcaster, a missing,
            unexpected or ill-typed field.
        """
        if not isinstance(payload, Mapping):
            raise JournalError(f"event payload must be a JSON object, got {type(payload).__name__}")
        name = payload.get("type")
        if not isinstance(name, str):
            raise JournalError(f"event payload has no 'type' string: {dict(payload)!r:.200}")
        cls = self.event_class(name)
        version = payload.get("v")
        if isinstance(version, bool) or not isinstance(version, int):
            raise JournalError(f"{name}: payload field 'v' must be an integer version, got {version!r}")
        current = self._versions[name]
        if version > current:
            raise JournalError(
                f"{name} v{version} was written by a newer workbench (this one reads up to v{current})"
            )
        data = dict(payload)
        while version < current:
            upcast = self._upcasters.get((name, version))
            if upcast is None:
                raise JournalError(f"{name}: no upcaster from v{version} to v{version + 1}")
            try:
                data = upcast(dict(data))
            except JournalError:
                raise
            except Exception as exc:
                raise JournalError(f"{name}: upcaster from v{version} failed: {exc!r}") from exc
            version += 1
        data.pop("type", None)
        data.pop("v", None)
        kwargs = {}
        for f in self._fields[cls]:
            if f.name in data:
                try:
                    kwargs[f.name] = f.decode(data.pop(f.name))
                except _FieldError as exc:
                    raise JournalError(f"cannot decode {name}.{f.name}: {exc}") from None
            elif f.required:
                raise JournalError(f"cannot decode {name}: required field {f.name!r} is missing")
        if data:
            raise JournalError(f"cannot decode {name}: unexpected field(s) {sorted(data)}")
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise JournalError(f"cannot decode {name}: {exc}") from None

    def loads(self, text: str) -> Event:
        """Decode JSON text (see :meth:`decode`); malformed JSON raises JournalError."""
        try:
            payload = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise JournalError(f"event payload is not valid JSON: {exc}") from None
        return self.decode(payload)


# ---------------------------------------------------------------------------------- module helpers
def dumps(payload: Any) -> str:
    """Canonical JSON text of an already JSON-able value: compact, ASCII-only (\\u escapes), no NaN literals."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def checksum(text: str) -> str:
    """SHA-256 hex digest (64 characters) of the UTF-8 bytes of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def json_value(value: Any, field: str) -> Any:
    """Make an arbitrary value (session parameters, command args) JSON-able for a JSON column.

    Non-finite floats become ``{"$float": "NaN"}``; tuples become lists; enums their values.

    Raises
    ------
    JournalError
        If ``value`` holds something JSON cannot represent; the message names ``field``.
    """
    try:
        return _enc_object(value)
    except _FieldError as exc:
        raise JournalError(f"{field}: {exc}") from None


def from_json_value(value: Any) -> Any:
    """Inverse of :func:`json_value` (``{"$float": "NaN"}`` back to ``nan``)."""
    try:
        return _dec_object(value)
    except _FieldError as exc:
        raise JournalError(str(exc)) from None


DEFAULT_CODEC = EventCodec(EVENT_TYPES, SCHEMA_VERSIONS)
"""The codec the journal uses by default: every class in ``EVENT_TYPES`` at :data:`SCHEMA_VERSIONS`."""

encode_event = DEFAULT_CODEC.encode
decode_event = DEFAULT_CODEC.decode
