"""TWS API socket framing: length-prefixed frames of NUL-terminated text fields.

Wire format (``../shared/protocols/tws.md`` section 1, checked against ib_async 2.1):

- the client opens with the 4 magic bytes ``API\\0`` and one frame holding ``v<min>..<max>``
  (optionally followed by `` +PACEAPI`` or other connect options);
- every message after that is a 4-byte big-endian length N and N bytes of UTF-8 text: fields, each
  terminated by NUL (the last one too);
- the server's first frame has exactly two fields: its version and the connection time.

Values are encoded as TWS does: integers and floats as decimal text, booleans ``1``/``0``, None
as the empty string (the client reads ``""`` as "unset").
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator

MAGIC = b"API\0"
MAX_FRAME = 16 * 1024 * 1024  # bytes: a larger length prefix is treated as a corrupt stream
UNSET_DOUBLE = "1.7976931348623157E308"
UNSET_INTEGER = "2147483647"
_LEN = struct.Struct(">I")


class ProtocolError(ValueError):
    """A frame or field that breaks the TWS wire format (the connection should be closed)."""


def field_text(value: object) -> str:
    """One field as TWS text: None -> ``""``, bool -> ``1``/``0``, float without a spurious exponent."""
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return UNSET_DOUBLE
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(float(value))  # float(): numpy scalars repr as np.float64(...)
    return str(value)


def encode(*fields: object) -> bytes:
    """One framed message: ``len(payload)`` (4 bytes, big-endian) + NUL-terminated fields."""
    payload = "".join(field_text(f) + "\0" for f in fields).encode()
    return _LEN.pack(len(payload)) + payload


def encode_raw(text: str) -> bytes:
    """A frame whose payload is ``text`` as is (the handshake version string has no NUL)."""
    payload = text.encode()
    return _LEN.pack(len(payload)) + payload


def split_fields(payload: bytes) -> list[str]:
    """The fields of one frame's payload (trailing empty string from the final NUL dropped).

    Raises
    ------
    ProtocolError
        If the payload is not UTF-8.
    """
    try:
        text = payload.decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"frame is not UTF-8 text: {exc}") from None
    fields = text.split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


class FrameDecoder:
    """Incremental decoder: :meth:`feed` bytes as they arrive, iterate complete frames' payloads.

    Raises
    ------
    ProtocolError
        From :meth:`feed` when a length prefix exceeds :data:`MAX_FRAME`.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buffer += data
        buf = self._buffer
        start = 0
        n = len(buf)
        try:
            while n - start >= 4:
                (size,) = _LEN.unpack_from(buf, start)
                if size > MAX_FRAME:
                    raise ProtocolError(f"frame length {size} exceeds {MAX_FRAME} bytes")
                if n - start - 4 < size:
                    break
                yield bytes(buf[start + 4 : start + 4 + size])
                start += 4 + size
        finally:
            del buf[:start]

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buffer)


def parse_version_range(text: str) -> tuple[int, int]:
    """``"v157..178 +PACEAPI"`` -> ``(157, 178)``; ``"v176"`` -> ``(176, 176)``.

    Raises
    ------
    ProtocolError
        If ``text`` is not a ``v<min>[..<max>]`` version string.
    """
    spec = text.strip().split(" ", 1)[0]
    if not spec.startswith("v"):
        raise ProtocolError(f"handshake: expected 'v<min>..<max>', got {text!r}")
    low, _, high = spec[1:].partition("..")
    try:
        lo = int(low)
        hi = int(high) if high else lo
    except ValueError:
        raise ProtocolError(f"handshake: expected 'v<min>..<max>', got {text!r}") from None
    if lo > hi:
        raise ProtocolError(f"handshake: empty version range {text!r}")
    return lo, hi


def to_float(text: str, name: str) -> float | None:
    """A numeric field: ``""`` and the unset sentinel -> None.

    Raises
    ------
    ProtocolError
        Naming the field when ``text`` is not a number.
    """
    if text == "" or text.upper() == UNSET_DOUBLE.upper():
        return None
    try:
        value = float(text)
    except ValueError:
        raise ProtocolError(f"field {name}: not a number: {text!r}") from None
    return None if value >= 1.7e308 else value


def to_int(text: str, name: str, default: int = 0) -> int:
    """An integer field (``""`` and the unset sentinel -> ``default``).

    Raises
    ------
    ProtocolError
        Naming the field when ``text`` is not an integer.
    """
    if text == "" or text == UNSET_INTEGER:
        return default
    try:
        return int(text)
    except ValueError:
        try:
            return int(float(text))
        except ValueError:
            raise ProtocolError(f"field {name}: not an integer: {text!r}") from None
