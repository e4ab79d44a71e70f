"""Commands: requests to do something (imperative). The risk engine approves or denies each."""

from __future__ import annotations

from dataclasses import dataclass

_CMD = {"frozen": True, "slots": True, "kw_only": True}


@dataclass(**_CMD)
class Command:
    """Base class; ``ts_init`` is when the command was issued, ns since epoch UTC."""

    ts_init: int = 0


@dataclass(**_CMD)
class SubmitOrder(Command):
    order_id: str


@dataclass(**_CMD)
class CancelOrder(Command):
    order_id: str


@dataclass(**_CMD)
class ModifyOrder(Command):
    order_id: str
    quantity: float | None = None
    limit_price: float | None = None
    stop_price: float | None = None


@dataclass(**_CMD)
class CancelAllOrders(Command):
    symbol: str | None = None


@dataclass(**_CMD)
class Flatten(Command):
    symbol: str | None = None


@dataclass(**_CMD)
class Pause(Command):
    pass


@dataclass(**_CMD)
class Resume(Command):
    pass


@dataclass(**_CMD)
class KillSwitch(Command):
    """Halt trading, cancel every open order and (``flatten=True``) close every position."""

    reason: str = ""
    flatten: bool = True


@dataclass(**_CMD)
class ResetKillSwitch(Command):
    """Lift the kill switch: a deliberate act, separate from ``Resume`` (which only undoes ``Pause``).

    ``confirm`` must be True and ``reason`` non-empty; ``by`` (who) and ``source`` (cli, api,
    notebook, dashboard) are journaled with the reason in ``KillSwitchReset``.
    """

    reason: str = ""
    confirm: bool = False
    by: str = ""
    source: str = ""


@dataclass(**_CMD)
class PlaceOrder(Command):
    """A manual order (order ticket): created by the engine and sent through the risk engine.

    ``quantity`` in shares; prices in currency; ``side``, ``order_type``, ``time_in_force`` as the
    values of the matching enums.
    """

    symbol: str
    side: str
    quantity: float
    order_type: str = "MARKET"
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: str = "DAY"


@dataclass(**_CMD)
class SetLimit(Command):
    """Change a risk limit: ``name`` is ``<rule name>`` or ``<rule name>.<attribute>`` (default
    attribute ``limit``), ``value`` the new number."""

    name: str
    value: float


CONTROL_COMMANDS: dict[str, type[Command]] = {
    "pause": Pause,
    "resume": Resume,
    "cancel_all": CancelAllOrders,
    "flatten": Flatten,
    "kill": KillSwitch,
    "reset_kill_switch": ResetKillSwitch,
    "submit_order": PlaceOrder,
    "set_limit": SetLimit,
}
