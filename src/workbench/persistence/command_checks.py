"""Checks a control command passes before it is queued, and when the engine picks it up.

Every path that writes a command (``workbench ctl``, the dashboard, a notebook, the service API)
goes through :meth:`Journal.submit_command`, which calls :func:`check_values` (through
:func:`~workbench.persistence.commands.validate_command`) and :func:`check_running`, and stamps
the command with an expiry (:data:`DEFAULT_EXPIRY_SECONDS` unless told otherwise). The engine
checks the same values again when it takes the command from the table (a row written by other
code, or by hand, is not trusted) and journals an expired command as rejected with a reason
starting ``"expired"``, never carrying it out.

Value rules (the issue-10 audit: a poison ``quantity=Infinity``, a negative quantity silently made
positive, an unknown symbol left ACCEPTED forever):

* every number is finite; a quantity, a price and a limit value are > 0;
* ``side``, ``order_type`` and ``time_in_force`` are values of their enums; a LIMIT order has a
  ``limit_price``, a STOP order a ``stop_price``;
* the quantity is a whole number of lots and the prices whole ticks (US equities: lot 1 share,
  tick 0.01; the session's instruments are created with those defaults); a price only on an order
  type that uses it;
* a ``symbol`` is one the session trades, when the session recorded its symbols (paper sessions
  store them in their parameters as ``symbols``);
* a text argument is at most :data:`MAX_TEXT` characters.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Collection, Mapping
from typing import Any

from workbench.errors import CommandError
from workbench.model.enums import OrderSide, OrderType, TimeInForce
from workbench.model.instruments import Instrument

__all__ = ["DEFAULT_EXPIRY_SECONDS", "MAX_TEXT", "check_running", "check_values", "expired"]

DEFAULT_EXPIRY_SECONDS = 10.0
"""Seconds a queued command stays valid (a stale flatten or kill must not fire on a restart days later)."""

MAX_TEXT = 200
"""Longest text argument (a reason, a symbol, a rule name) accepted, in characters."""

_DEFAULT_INSTRUMENT = Instrument("X")  # tick 0.01, lot 1: what a session creates for a symbol it trades
_NEEDS_LIMIT = {OrderType.LIMIT, OrderType.STOP_LIMIT}
_NEEDS_STOP = {OrderType.STOP, OrderType.STOP_LIMIT}


def _fail(name: str, key: str, value: Any, why: str) -> CommandError:
    return CommandError(f"command {name!r}: {key}={value!r} {why}")


def _positive(name: str, key: str, value: Any) -> float:
    if not (isinstance(value, int | float) and not isinstance(value, bool)):
        raise _fail(name, key, value, "is not a number")
    if not math.isfinite(value) or not value > 0:
        raise _fail(name, key, value, "must be a finite number > 0")
    return float(value)


def _enum(name: str, key: str, value: Any, enum: type) -> Any:
    try:
        return enum(str(value).upper())
    except ValueError:
        raise _fail(name, key, value, f"is not one of {[m.value for m in enum]}") from None


def _symbol(name: str, value: Any, symbols: Collection[str] | None) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, "symbol", value, "must be a non-empty text")
    if symbols is not None and value.upper() not in symbols:
        raise _fail(name, "symbol", value, f"is not traded by this session; its symbols: {sorted(symbols)}")


def _order(name: str, args: Mapping[str, Any], symbols: Collection[str] | None) -> None:
    _symbol(name, args.get("symbol"), symbols)
    _enum(name, "side", args.get("side"), OrderSide)
    order_type = _enum(name, "order_type", args.get("order_type", "MARKET"), OrderType)
    _enum(name, "time_in_force", args.get("time_in_force", "DAY"), TimeInForce)
    quantity = _positive(name, "quantity", args.get("quantity"))
    inst = _DEFAULT_INSTRUMENT
    if abs(quantity / inst.lot_size - round(quantity / inst.lot_size)) > 1e-9:
        raise _fail(name, "quantity", quantity, f"is not a whole number of lots (lot size {inst.lot_size:g})")
    for key, needed in (("limit_price", _NEEDS_LIMIT), ("stop_price", _NEEDS_STOP)):
        price = args.get(key)
        if price is None:
            if order_type in needed:
                raise _fail(name, key, price, f"is required by a {order_type.value} order")
            continue
        if order_type not in needed:
            raise _fail(name, key, price, f"makes no sense for a {order_type.value} order")
        price = _positive(name, key, price)
        ticks = price / inst.tick_size
        if abs(ticks - round(ticks)) > 1e-6:
            raise _fail(name, key, price, f"is not a multiple of the tick size {inst.tick_size:g}")


def check_values(name: str, args: Mapping[str, Any], symbols: Collection[str] | None = None) -> None:
    """Check the values of a command's args (their names and types are checked by ``validate_command``).

    Parameters
    ----------
    name : str
        A known command name.
    args : mapping
        Its args.
    symbols : collection of str, optional
        The symbols the session trades (upper case); None = not known, any symbol passes.

    Raises
    ------
    CommandError
        Naming the command, the arg and its value, and the rule it breaks.
    """
    for key, value in args.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise _fail(name, key, value[:20] + "...", f"is longer than {MAX_TEXT} characters")
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(name, key, value, "must be finite")
    if name == "submit_order":
        _order(name, args, symbols)
    elif name == "set_limit":
        _positive(name, "value", args.get("value"))
        if not isinstance(args.get("name"), str) or not args["name"].strip():
            raise _fail(name, "name", args.get("name"), "must be a non-empty rule name")
    elif name in ("flatten", "cancel_all") and args.get("symbol") is not None:
        _symbol(name, args["symbol"], symbols)


def expired(ts_expires: int | None, now_ns: int | None = None) -> bool:
    """True when a command stamped to expire at ``ts_expires`` (ns since epoch UTC) has expired."""
    return ts_expires is not None and (time.time_ns() if now_ns is None else now_ns) > ts_expires


def check_running(session: Mapping[str, Any], stale_after: float = 30.0) -> None:
    """Refuse a command to a session that no process is running (it would run at the next restart).

    ``session`` is the session's ``sessions`` row. Running = its lock is held, the holder's
    heartbeat is at most ``stale_after`` seconds old and (on this host) its process is alive.

    Raises
    ------
    CommandError
        Naming the session and why it is not running (stopped, never started, lock holder dead).
    """
    from workbench.persistence.locking import pid_alive

    sid = session["session_id"]
    if session.get("owner_token") is None:
        raise CommandError(f"session {sid!r} is not running (status {session.get('status')!r}): command refused; "
                           "a command is only queued for a running session")
    age = (time.time_ns() - (session.get("ts_heartbeat") or 0)) / 1e9
    dead = session.get("owner_host") == socket.gethostname() and not pid_alive(int(session.get("owner_pid") or 0))
    if dead or age > stale_after:
        raise CommandError(f"session {sid!r} is not running (its process {session.get('owner_pid')} "
                           f"{'is dead' if dead else f'has not sent a heartbeat for {age:.0f} s'}): command refused")
