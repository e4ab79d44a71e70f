"""Tabular components: positions, orders and fills blotter, signals, alerts, event log."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import pandas as pd

from workbench.widgets.base import Component
from workbench.widgets.html import HtmlPane, money, number, quantity, table_html, timestamp
from workbench.widgets.source import LOG_CATEGORIES, Snapshot

__all__ = ["BLOTTER_FILTERS", "AlertsList", "Blotter", "LogView", "PositionsTable", "SignalsTable", "blotter_orders",
           "positions_rows"]

MANUAL_STRATEGY_IDS = frozenset({"manual", "ticket"})
"""``strategy_id`` values of orders entered by hand (order ticket, ``ctl submit_order``)."""
OPERATOR_TAGS = frozenset({"manual", "ticket", "flatten", "kill_switch"})
"""``tag`` values of orders created by an operator's command (ticket, flatten, force exit, kill switch)."""

BLOTTER_FILTERS = ("trades", "strategy", "manual", "denied", "all")
"""Blotter views: ``trades`` = every order the risk engine let through (default), ``strategy`` = the
strategies' orders that were not denied, ``manual`` = orders from operator commands, ``denied``,
``all``."""

_PRICE = {"avg_price": number, "last_price": number, "price": number, "limit_price": number,
          "stop_price": number, "avg_fill_price": number, "entry": number, "target": number, "stop": number}
_MONEY = {"realized_pnl": money, "unrealized_pnl": money, "market_value": money, "commission": money,
          "commissions": money, "cost_basis": money}
_QTY = {"quantity": quantity, "filled_quantity": quantity, "size": quantity}
_TIME = {"ts_event": timestamp, "ts_init": timestamp, "ts_last": timestamp, "ts_opened": timestamp,
         "ts_created": timestamp}
FORMATS = {**_PRICE, **_MONEY, **_QTY, **_TIME}


def positions_rows(snapshot: Snapshot) -> pd.DataFrame:
    """Open positions to show: the live engine's (with marks) when available, else the journal's.

    Columns: ``symbol``, ``side`` (LONG/SHORT), ``quantity`` (signed shares), ``avg_price``,
    ``cost_basis`` (= quantity x avg_price, currency), ``last_price``, ``unrealized_pnl``
    (NaN without a live engine), ``realized_pnl`` (currency).
    """
    if snapshot.live_positions is not None:
        frame = snapshot.live_positions.copy()
    else:
        frame = snapshot.positions
        frame = frame[frame["status"] == "open"].copy() if "status" in frame else frame.copy()
        frame["last_price"] = float("nan")
        frame["unrealized_pnl"] = float("nan")
    frame = frame[frame["quantity"].fillna(0) != 0]
    frame["side"] = ["LONG" if q > 0 else "SHORT" for q in frame["quantity"]]
    frame["cost_basis"] = frame["quantity"] * frame["avg_price"]
    return frame.sort_values("symbol").reset_index(drop=True)


class PositionsTable(Component):
    """Open positions (symbol, side, quantity, average price, cost basis, realized P&L; with a live
    session also the last price and unrealized P&L)."""

    title = "Positions"
    columns = ("symbol", "side", "quantity", "avg_price", "cost_basis", "last_price", "unrealized_pnl",
               "realized_pnl")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table = HtmlPane()
        self.children = (self.heading, self.table)

    def update(self, snapshot: Snapshot) -> None:
        columns = self.columns
        if snapshot.live_positions is None:  # the journal has no per-symbol marks
            columns = tuple(c for c in columns if c not in ("last_price", "unrealized_pnl"))
        self.table.show(table_html(positions_rows(snapshot), "positions", columns, FORMATS,
                                   empty="no open positions"))


def blotter_orders(orders: pd.DataFrame, view: str = "trades") -> pd.DataFrame:
    """The orders of one blotter view (:data:`BLOTTER_FILTERS`), in the frame's order.

    Raises
    ------
    ValueError
        Unknown ``view``.
    """
    if view not in BLOTTER_FILTERS:
        raise ValueError(f"blotter view must be one of {BLOTTER_FILTERS}, got {view!r}")
    if view == "all" or not len(orders):
        return orders
    denied = orders["status"].eq("DENIED")
    manual = orders["strategy_id"].isin(MANUAL_STRATEGY_IDS) | orders["tag"].isin(OPERATOR_TAGS) \
        if "strategy_id" in orders else pd.Series(False, index=orders.index)
    keep = {"trades": ~denied, "strategy": ~denied & ~manual, "manual": manual, "denied": denied}[view]
    return orders[keep]


class Blotter(Component):
    """Orders (open first, then the newest closed ones) and the latest fills, newest first.

    A toggle picks the view (:data:`BLOTTER_FILTERS`; default ``trades``: denied orders are left
    out, so a halted strategy's denials cannot hide the real trades; ``denied`` lists them).

    Parameters
    ----------
    rows : int
        Most orders and most fills shown.
    """

    title = "Orders and fills"
    order_columns = ("ts_last", "order_id", "symbol", "side", "order_type", "quantity", "limit_price", "stop_price",
                     "time_in_force", "status", "filled_quantity", "avg_fill_price", "reason")
    fill_columns = ("ts_event", "fill_id", "order_id", "symbol", "side", "quantity", "price", "commission",
                    "liquidity_side")

    def __init__(self, *args: Any, rows: int = 15, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.filter = widgets.ToggleButtons(options=list(BLOTTER_FILTERS), value="trades",
                                            style={"button_width": "80px"}, tooltips=[
                                                "orders the risk engine let through", "the strategies' orders",
                                                "operator orders (ticket, flatten, force exit, kill switch)",
                                                "orders the risk engine denied", "every order"])
        self.filter.add_class("wb-blotter-filter")
        self.filter.observe(lambda _c: self._redraw(), names="value")
        self.orders = HtmlPane()
        self.fills = HtmlPane()
        self._last: Snapshot | None = None
        self.children = (self.heading, self.filter, widgets.HTML("<i>orders</i>"), self.orders,
                         widgets.HTML("<i>fills</i>"), self.fills)

    def _redraw(self) -> None:
        if self._last is not None:
            self.update(self._last)

    def update(self, snapshot: Snapshot) -> None:
        self._last = snapshot
        orders = blotter_orders(snapshot.orders, self.filter.value)
        if len(orders):
            closed = orders["status"].isin(["FILLED", "CANCELED", "DENIED", "REJECTED", "EXPIRED"])
            shown = pd.concat([orders[~closed].iloc[::-1], orders[closed].iloc[::-1]]).head(self.rows)
        else:
            shown = orders
        self.orders.show(table_html(shown, "orders", self.order_columns, FORMATS, empty="no orders",
                                    row_class=lambda r: f"wb-order-{str(r.get('status', '')).lower()}"))
        fills = snapshot.fills.iloc[::-1].head(self.rows)
        self.fills.show(table_html(fills, "fills", self.fill_columns, FORMATS, empty="no fills"))


class SignalsTable(Component):
    """Latest strategy signals, newest first."""

    title = "Signals"
    columns = ("ts_event", "strategy_id", "symbol", "direction", "confidence", "entry", "target", "stop", "size",
               "reason")

    def __init__(self, *args: Any, rows: int = 10, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.table = HtmlPane()
        self.children = (self.heading, self.table)

    def update(self, snapshot: Snapshot) -> None:
        frame = snapshot.signals.iloc[::-1].head(self.rows)
        self.table.show(table_html(frame, "signals", self.columns, FORMATS, empty="no signals"))


class AlertsList(Component):
    """Latest alerts, newest first (level, title, message, suggested action)."""

    title = "Alerts"
    columns = ("ts_event", "level", "title", "message", "action", "source")

    def __init__(self, *args: Any, rows: int = 10, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.table = HtmlPane()
        self.children = (self.heading, self.table)

    def update(self, snapshot: Snapshot) -> None:
        frame = snapshot.alerts.iloc[::-1].head(self.rows)
        level = {"critical": "wb-bad", "error": "wb-bad", "warning": "wb-warn"}
        self.table.show(table_html(frame, "alerts", self.columns, FORMATS, empty="no alerts",
                                   row_class=lambda row: level.get(str(row.get("level", "")).lower(), "")))


class LogView(Component):
    """The newest journaled events (seq, time, type, fields), filterable by category."""

    title = "Event log"
    columns = ("seq", "ts_event", "type", "summary")

    def __init__(self, *args: Any, rows: int = 30, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.category = widgets.Dropdown(options=list(LOG_CATEGORIES), value="all", description="show",
                                         layout=widgets.Layout(width="220px"))
        self.category.observe(self._on_category, names="value")
        self.hide_account = widgets.Checkbox(value=True, description="hide AccountState", indent=False)
        self.hide_account.add_class("wb-hide-account")
        self.hide_account.observe(self._on_category, names="value")
        self.table = HtmlPane()  # no inner scroll box: the page prints and captures whole
        self.children = (self.heading, widgets.HBox([self.category, self.hide_account]), self.table)
        self.view.set_log_types(self.types())

    def types(self) -> tuple[str, ...] | None:
        """Event types shown: the category's, without AccountState when it is hidden (None: all)."""
        chosen = LOG_CATEGORIES[self.category.value]
        if not self.hide_account.value:
            return chosen
        from workbench.model.events import EVENT_TYPES

        names = chosen if chosen is not None else tuple(t.__name__ for t in EVENT_TYPES)
        return tuple(n for n in names if n != "AccountState")

    def _on_category(self, _change: dict[str, Any]) -> None:
        self.view.set_log_types(self.types())
        self.refresh()

    def update(self, snapshot: Snapshot) -> None:
        self.table.show(table_html(snapshot.log.head(self.rows), "log", self.columns, FORMATS, empty="no events"))
