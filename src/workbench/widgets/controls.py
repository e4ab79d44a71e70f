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
from workbench.widgets.tables import FORMATS

__all__ = ["TICKET_ORDER_TYPES", "Controls", "OrderTicket", "ack_text", "ticket_args"]

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
    """Buttons that write control commands, a two-step kill switch, and the command queue.

    Pause / Resume / Cancel all / Flatten are sent at once. "Kill switch" only opens a confirmation
    row (reason, whether to flatten); "Confirm kill switch" sends ``kill``. The table below shows
    the latest commands with their status (pending, acknowledged, rejected) and the engine's detail.
    """

    title = "Controls"
    volatile = True

    def __init__(self, *args: Any, rows: int = 8, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.buttons = {
            "pause": widgets.Button(description="Pause", icon="pause", tooltip="stop sending data to strategies"),
            "resume": widgets.Button(description="Resume", icon="play", tooltip="resume trading"),
            "cancel_all": widgets.Button(description="Cancel all", icon="ban", tooltip="cancel every open order"),
            "flatten": widgets.Button(description="Flatten", icon="compress", tooltip="close every position"),
        }
        for name, button in self.buttons.items():
            button.on_click(lambda _b, name=name: self.send(name))
        self.kill_button = widgets.Button(description="Kill switch", button_style="danger", icon="power-off",
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
        self.status = widgets.HTML("")
        self.table = HtmlPane()
        self.last_command_id: int | None = None
        self.children = (self.heading, widgets.HBox([*self.buttons.values(), self.kill_button]), self.kill_box,
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

    # ------------------------------------------------------------------------------ display
    def update(self, snapshot: Snapshot) -> None:
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
        self.submit = widgets.Button(description="Submit order", button_style="primary", icon="paper-plane")
        self.submit.on_click(lambda _b: self.send())
        self.order_type.observe(self._on_type, names="value")
        self.status = widgets.HTML("")
        self.last_command_id: int | None = None
        self.children = (
            self.heading,
            widgets.HBox([self.side, self.symbol, self.quantity, self.time_in_force]),
            widgets.HBox([self.order_type, self.limit_price, self.stop_price, self.submit]),
            self.status,
        )

    def _on_type(self, change: dict[str, Any]) -> None:
        kind = OrderType(change["new"])
        self.limit_price.disabled = kind not in _NEEDS_LIMIT
        self.stop_price.disabled = kind not in _NEEDS_STOP

    def args(self) -> dict[str, Any]:
        """The ticket's current fields as validated ``submit_order`` args (ValueError if invalid)."""
        return ticket_args(self.symbol.value, self.side.value, self.quantity.value, self.order_type.value,
                           self.limit_price.value, self.stop_price.value, self.time_in_force.value)

    def send(self) -> str | int | None:
        """Submit the order; return the order id (live engine) or the command id (journal), None on error."""
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
        text = ack_text(snapshot, self.last_command_id, "order command")
        if text is not None and text != self.status.value:
            self.status.value = text
