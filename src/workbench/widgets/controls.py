"""Interactive components: session controls (pause, resume, cancel all, flatten, kill switch) and
an order ticket.

Both write commands to the journal (:meth:`Journal.submit_command`); the engine running the
session polls them, acts (orders go through its risk engine) and journals a
``CommandAcknowledged``, which the command table then shows. With a live session object in the
same kernel, the ticket instead creates the order on that session's engine and submits it through
the risk engine directly.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import ipywidgets as widgets

from workbench.errors import WorkbenchError
from workbench.model.enums import OrderSide, OrderType, TimeInForce
from workbench.widgets.base import Component
from workbench.widgets.html import HtmlPane, table_html
from workbench.widgets.source import Snapshot
from workbench.widgets.state import session_state
from workbench.widgets.tables import FORMATS, positions_rows

__all__ = ["RESET_KILL_SWITCH", "TICKET_ORDER_TYPES", "Controls", "OrderTicket", "ack_text", "reset_kill_switch_args",
           "ticket_args"]

RESET_KILL_SWITCH = "reset_kill_switch"
"""Name of the command that lifts a kill switch (Resume only undoes Pause). The one place the
dashboard names it: its args are built by :func:`reset_kill_switch_args`."""


def reset_kill_switch_args(reason: str) -> dict[str, Any]:
    """Args of :data:`RESET_KILL_SWITCH` (:class:`workbench.model.commands.ResetKillSwitch`): confirmed
    (the dashboard's confirmation row), why (``reason``), who (``by``: the user running the
    dashboard) and from where (``source="dashboard"``).

    Raises
    ------
    ValueError
        An empty reason (a reset must say why).
    """
    import getpass

    reason = (reason or "").strip()
    if not reason:
        raise ValueError("reason: say why the kill switch is reset (got an empty value)")
    return {"confirm": True, "reason": reason, "by": getpass.getuser(), "source": "dashboard"}

TICKET_ORDER_TYPES = (OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT)
"""Order types offered by the ticket."""

_NEEDS_LIMIT = {OrderType.LIMIT, OrderType.STOP_LIMIT}
_NEEDS_STOP = {OrderType.STOP, OrderType.STOP_LIMIT}
_COMMAND_COLUMNS = ("command_id", "ts_created", "name", "args", "status", "detail")


def _commands_html(snapshot: Snapshot, rows: int) -> str:
    frame = snapshot.commands.iloc[::-1].head(rows)
    return table_html(frame, "commands", _COMMAND_COLUMNS, {**FORMATS, "args": lambda a: ", ".join(
        f"{k}={v}" for k, v in (a or {}).items())}, empty="no commands yet",
        row_class=lambda r: f"wb-command-{r['status']}")


def ack_text(snapshot: Snapshot, command_id: int | None, label: str = "command") -> str | None:
    """Status line for ``command_id`` once the engine answered it (None while pending or unknown)."""
    if command_id is None or not len(snapshot.commands):
        return None
    mine = snapshot.commands[snapshot.commands["command_id"] == command_id]
    if not len(mine) or mine.iloc[0]["status"] == "pending":
        return None
    row = mine.iloc[0]
    tone = "wb-ok" if row["status"] == "acknowledged" else "wb-bad"
    return (f"{escape(label)} #{row['command_id']} <b>{escape(row['name'])}</b>: "
            f"<span class='{tone} wb-ack'>{escape(row['status'])}</span> {escape(str(row['detail']))}")


class Controls(Component):
    """Buttons that write control commands, a two-step kill switch, a separate two-step reset of the
    kill switch, force-exit of one position, and the command queue.

    Pause / Resume / Cancel all / Flatten are sent at once. "Kill switch" only opens a confirmation
    row (reason, whether to flatten); "Confirm kill switch" sends ``kill``. "Reset kill switch"
    (enabled while trading is HALTED) opens its own confirmation row with a required reason;
    "Confirm reset" sends :data:`RESET_KILL_SWITCH`. "Force exit" closes one open position: it
    sends ``flatten`` with that symbol after a confirmation, and the engine closes it with a
    reduce-only order through its risk engine. Buttons that cannot act on the session's state are
    disabled (every command while the session is STOPPED or FAILED). The table below shows the
    latest commands with their status (pending, acknowledged, rejected) and the engine's detail.
    """

    title = "Controls"
    volatile = True

    def __init__(self, *args: Any, rows: int = 8, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.buttons = {
            "pause": widgets.Button(description="Pause", tooltip="stop sending data to strategies"),
            "resume": widgets.Button(description="Resume", tooltip="undo Pause (does not lift a kill switch)"),
            "cancel_all": widgets.Button(description="Cancel all", tooltip="cancel every open order"),
            "flatten": widgets.Button(description="Flatten", tooltip="close every position"),
        }
        for name, button in self.buttons.items():
            button.on_click(lambda _b, name=name: self.send(name))
        self.kill_button = widgets.Button(description="Kill switch", button_style="danger",
                                          tooltip="halt trading, cancel all orders, optionally flatten")
        self.kill_button.on_click(lambda _b: self.arm_kill())
        self.kill_reason = widgets.Text(value="manual kill switch", description="reason")
        self.kill_flatten = widgets.Checkbox(value=True, description="also flatten positions", indent=False)
        self.kill_confirm = widgets.Button(description="Confirm kill switch", button_style="danger")
        self.kill_confirm.on_click(lambda _b: self.confirm_kill())
        self.kill_cancel = widgets.Button(description="Keep trading")
        self.kill_cancel.on_click(lambda _b: self.disarm_kill())
        self.kill_box = widgets.HBox([self.kill_reason, self.kill_flatten, self.kill_confirm, self.kill_cancel],
                                     layout=widgets.Layout(display="none"))
        self.reset_button = widgets.Button(description="Reset kill switch", button_style="warning", disabled=True,
                                           tooltip="lift the kill switch (asks for a reason and a confirmation)")
        self.reset_button.on_click(lambda _b: self.arm_reset())
        self.reset_reason = widgets.Text(value="", placeholder="why is it safe to trade again?", description="reason")
        self.reset_confirm = widgets.Button(description="Confirm reset", button_style="warning")
        self.reset_confirm.on_click(lambda _b: self.confirm_reset())
        self.reset_cancel = widgets.Button(description="Keep halted")
        self.reset_cancel.on_click(lambda _b: self.disarm_reset())
        self.reset_box = widgets.HBox([self.reset_reason, self.reset_confirm, self.reset_cancel],
                                      layout=widgets.Layout(display="none"))
        self.exit_symbol = widgets.Dropdown(options=[], description="position", layout=widgets.Layout(width="220px"))
        self.exit_symbol.add_class("wb-exit-symbol")
        self.exit_button = widgets.Button(description="Force exit", tooltip="close this one position (risk-checked)",
                                          disabled=True)
        self.exit_button.on_click(lambda _b: self.arm_exit())
        self.exit_confirm = widgets.Button(description="Confirm exit", button_style="danger")
        self.exit_confirm.on_click(lambda _b: self.confirm_exit())
        self.exit_cancel = widgets.Button(description="Keep position")
        self.exit_cancel.on_click(lambda _b: self.disarm_exit())
        self.exit_box = widgets.HBox([self.exit_confirm, self.exit_cancel], layout=widgets.Layout(display="none"))
        self.status = widgets.HTML("")
        self.table = HtmlPane()
        self.last_command_id: int | None = None
        self.children = (self.heading,
                         widgets.HBox([*self.buttons.values(), self.kill_button, self.reset_button]),
                         self.kill_box, self.reset_box,
                         widgets.HBox([self.exit_symbol, self.exit_button, self.exit_box]),
                         self.status, self.table)

    # ------------------------------------------------------------------------------ actions
    def send(self, name: str, args: dict[str, Any] | None = None) -> int | None:
        """Queue command ``name`` for the session; returns its id (None and a message on error)."""
        try:
            command_id = self.view.submit_command(name, args)
        except (WorkbenchError, ValueError) as exc:
            self.status.value = f"<span class='wb-bad'>{escape(str(exc))}</span>"
            return None
        self.last_command_id = command_id
        self.status.value = f"command #{command_id} <b>{escape(name)}</b> sent; waiting for the engine\u2026"
        self.refresh()
        return command_id

    def arm_kill(self) -> None:
        """First step of the kill switch: show the confirmation row."""
        self.kill_box.layout.display = "flex"
        self.status.value = "<span class='wb-warn'>Kill switch armed: confirm to halt trading.</span>"

    def disarm_kill(self) -> None:
        self.kill_box.layout.display = "none"
        self.status.value = "kill switch not sent"

    def confirm_kill(self) -> int | None:
        """Second step: send ``kill`` with the reason and the flatten choice; hide the row."""
        self.kill_box.layout.display = "none"
        return self.send("kill", {"reason": self.kill_reason.value or "manual kill switch",
                                  "flatten": bool(self.kill_flatten.value)})

    def arm_reset(self) -> None:
        """First step of the reset: show its confirmation row (a reason is required)."""
        self.reset_box.layout.display = "flex"
        self.status.value = ("<span class='wb-warn'>Reset armed: say why and confirm to lift the kill switch."
                             "</span>")

    def disarm_reset(self) -> None:
        self.reset_box.layout.display = "none"
        self.status.value = "kill switch reset not sent"

    def confirm_reset(self) -> int | None:
        """Second step: send :data:`RESET_KILL_SWITCH` with the reason (none sent without one)."""
        try:
            args = reset_kill_switch_args(self.reset_reason.value)
        except ValueError as exc:
            self.status.value = f"<span class='wb-bad'>{escape(str(exc))}</span>"
            return None
        self.reset_box.layout.display = "none"
        return self.send(RESET_KILL_SWITCH, args)

    def arm_exit(self) -> None:
        """First step of a force exit: confirm closing the chosen position."""
        if not self.exit_symbol.value:
            self.status.value = "<span class='wb-bad'>no open position to exit</span>"
            return
        self.exit_box.layout.display = "flex"
        self.status.value = (f"<span class='wb-warn'>Force exit armed: confirm to close "
                             f"{escape(str(self.exit_symbol.value))}.</span>")

    def disarm_exit(self) -> None:
        self.exit_box.layout.display = "none"
        self.status.value = "force exit not sent"

    def confirm_exit(self) -> int | None:
        """Second step: send ``flatten`` for the chosen symbol only."""
        self.exit_box.layout.display = "none"
        symbol = self.exit_symbol.value
        if not symbol:
            return None
        return self.send("flatten", {"symbol": str(symbol)})

    # ------------------------------------------------------------------------------ display
    def update(self, snapshot: Snapshot) -> None:
        state = session_state(snapshot).state
        ended = state in ("STOPPED", "FAILED", "CREATED")
        for button in (*self.buttons.values(), self.kill_button, self.kill_confirm):
            button.disabled = ended
        self.buttons["pause"].disabled = ended or state in ("PAUSED", "HALTED")
        self.buttons["resume"].disabled = ended or state != "PAUSED"
        self.reset_button.disabled = ended or snapshot.trading_state[0] != "HALTED"
        if self.reset_button.disabled:
            self.reset_box.layout.display = "none"
        symbols = list(positions_rows(snapshot)["symbol"])
        if list(self.exit_symbol.options) != symbols:
            self.exit_symbol.options = symbols
        self.exit_button.disabled = ended or not symbols
        self.table.show(_commands_html(snapshot, self.rows))
        text = ack_text(snapshot, self.last_command_id)
        if text is not None and text != self.status.value:
            self.status.value = text


def ticket_args(symbol: str, side: str, quantity: float, order_type: str, limit_price: float | None,
                stop_price: float | None, time_in_force: str) -> dict[str, Any]:
    """Validate the ticket's fields; return the ``submit_order`` command args.

    Prices are in currency and kept only where the order type uses them (0 or NaN means empty);
    ``quantity`` is in shares.

    Raises
    ------
    ValueError
        Naming the field and its value: empty symbol, unknown side/type/time in force,
        quantity not > 0, a missing or non-positive price that the order type needs.
    """
    symbol = (symbol or "").strip().upper()
    if not symbol:
        raise ValueError("symbol: enter a symbol (got an empty value)")
    try:
        side_value = OrderSide(str(side).upper())
        type_value = OrderType(str(order_type).upper())
        tif_value = TimeInForce(str(time_in_force).upper())
    except ValueError as exc:
        raise ValueError(f"order ticket: {exc}") from None
    if type_value not in TICKET_ORDER_TYPES:
        raise ValueError(f"order_type: {type_value} is not offered by the ticket ({[str(t) for t in TICKET_ORDER_TYPES]})")
    if quantity is None or not math.isfinite(quantity) or quantity <= 0:
        raise ValueError(f"quantity: must be a positive number of shares, got {quantity!r}")

    def price(name: str, value: float | None, needed: bool) -> float | None:
        if not needed:
            return None
        if value is None or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name}: a {type_value} order needs a positive {name}, got {value!r}")
        return float(value)

    return {
        "symbol": symbol,
        "side": str(side_value),
        "quantity": float(quantity),
        "order_type": str(type_value),
        "limit_price": price("limit_price", limit_price, type_value in _NEEDS_LIMIT),
        "stop_price": price("stop_price", stop_price, type_value in _NEEDS_STOP),
        "time_in_force": str(tif_value),
    }


class OrderTicket(Component):
    """Manual order entry: symbol, side, quantity, type, limit/stop price, time in force.

    The order is sent as a ``submit_order`` command through the journal (a running
    :class:`~workbench.engine.live.LiveRunner` polls it and submits through its risk engine). A
    live object with an ``engine`` but no ``journal`` (an engine driven by hand in a notebook)
    gets the order on that engine directly, through its risk engine. Either way the status line
    reports the outcome (order id and status, the risk engine's denial, or the command's
    acknowledgement).
    """

    title = "Order ticket"
    volatile = True

    def __init__(self, *args: Any, symbol: str = "SPY", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        narrow = widgets.Layout(width="200px")
        self.symbol = widgets.Text(value=symbol, description="symbol", layout=narrow)
        self.side = widgets.ToggleButtons(options=["BUY", "SELL"], value="BUY", style={"button_width": "70px"},
                                          layout=widgets.Layout(width="auto"))
        self.quantity = widgets.FloatText(value=100.0, description="quantity", layout=narrow)
        self.order_type = widgets.Dropdown(options=[str(t) for t in TICKET_ORDER_TYPES], value="MARKET",
                                           description="type", layout=narrow)
        self.limit_price = widgets.FloatText(value=0.0, description="limit", layout=narrow, disabled=True)
        self.stop_price = widgets.FloatText(value=0.0, description="stop", layout=narrow, disabled=True)
        self.time_in_force = widgets.Dropdown(options=["DAY", "GTC", "IOC", "FOK"], value="DAY", description="TIF",
                                              layout=narrow)
        self.submit = widgets.Button(description="Submit order", button_style="primary")
        self.submit.on_click(lambda _b: self.send())
        self.order_type.observe(self._on_type, names="value")
        for field in (self.symbol, self.side, self.quantity):
            field.observe(lambda _c: self._gate(), names="value")
        self.status = widgets.HTML("")
        self.gate = widgets.HTML("")
        self.last_command_id: int | None = None
        self._state = "RUNNING"
        self._positions: dict[str, float] = {}
        self.children = (
            self.heading,
            widgets.HBox([self.side, self.symbol, self.quantity, self.time_in_force]),
            widgets.HBox([self.order_type, self.limit_price, self.stop_price, self.submit]),
            self.gate,
            self.status,
        )

    def reduces(self) -> bool:
        """True when the ticket's order would only reduce an open position (side against it,
        quantity at most its size)."""
        held = self._positions.get((self.symbol.value or "").strip().upper(), 0.0)
        quantity = self.quantity.value or 0.0
        against = (held > 0 and self.side.value == "SELL") or (held < 0 and self.side.value == "BUY")
        return bool(against and 0 < quantity <= abs(held))

    def _gate(self) -> None:
        """Enable the submit button for what the session's state allows: anything while RUNNING or
        PAUSED, only reducing orders while HALTED or REDUCE_ONLY, nothing once STOPPED or FAILED."""
        state = self._state
        if state in ("STOPPED", "FAILED", "CREATED"):
            allowed, why = False, f"the session is {state}: no orders"
        elif state in ("HALTED", "REDUCE_ONLY") and not self.reduces():
            allowed, why = False, f"trading is {state}: only orders that reduce an open position"
        else:
            allowed, why = True, ""
        self.submit.disabled = not allowed
        text = f"<span class='wb-warn wb-ticket-gate'>{escape(why)}</span>" if why else ""
        if self.gate.value != text:
            self.gate.value = text

    def _on_type(self, change: dict[str, Any]) -> None:
        kind = OrderType(change["new"])
        self.limit_price.disabled = kind not in _NEEDS_LIMIT
        self.stop_price.disabled = kind not in _NEEDS_STOP

    def args(self) -> dict[str, Any]:
        """The ticket's current fields as validated ``submit_order`` args (ValueError if invalid)."""
        return ticket_args(self.symbol.value, self.side.value, self.quantity.value, self.order_type.value,
                           self.limit_price.value, self.stop_price.value, self.time_in_force.value)

    def send(self) -> str | int | None:
        """Submit the order; return the order id (live engine) or the command id (journal), None on error
        (or when the session's state allows no such order, see :meth:`_gate`)."""
        self._gate()
        if self.submit.disabled:
            self.status.value = f"<span class='wb-bad'>not sent: {self.gate.value or 'not allowed now'}</span>"
            return None
        try:
            args = self.args()
            live = self.view.live
            engine = getattr(live, "engine", None)
            if engine is not None and getattr(live, "journal", None) is None:
                return self._submit_live(engine, args)
            command_id = self.view.submit_command("submit_order", args)
        except (WorkbenchError, ValueError, KeyError) as exc:
            self.status.value = f"<span class='wb-bad'>{escape(str(exc))}</span>"
            return None
        self.last_command_id = command_id
        self.status.value = (f"order command #{command_id} sent: {escape(args['side'])} {args['quantity']:g} "
                             f"{escape(args['symbol'])} {escape(args['order_type'])}; waiting for the engine\u2026")
        return command_id

    def _submit_live(self, engine: Any, args: dict[str, Any]) -> str:
        order = engine.create_order(
            args["symbol"], OrderSide(args["side"]), args["quantity"], OrderType(args["order_type"]),
            limit_price=args["limit_price"], stop_price=args["stop_price"],
            time_in_force=TimeInForce(args["time_in_force"]), tag="ticket",
        )
        engine.submit_order(order)
        reason = f": {order.reason}" if getattr(order, "reason", "") else ""
        tone = "wb-bad" if str(order.status) in ("DENIED", "REJECTED") else "wb-ok"
        self.status.value = (f"order {escape(order.order_id)} <span class='{tone}'>{escape(str(order.status))}"
                             f"</span>{escape(reason)}")
        return order.order_id

    def update(self, snapshot: Snapshot) -> None:
        self._state = session_state(snapshot).state
        rows = positions_rows(snapshot)
        self._positions = {str(s): float(q) for s, q in zip(rows["symbol"], rows["quantity"], strict=True)}
        self._gate()
        text = ack_text(snapshot, self.last_command_id, "order command")
        if text is not None and text != self.status.value:
            self.status.value = text
