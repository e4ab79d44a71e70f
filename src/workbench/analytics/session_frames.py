"""Signals, orders, fills and controls of one run as DataFrames, built from its events.

The same functions read a journaled paper/live session (``Journal.events(session_id)``) and a
backtest (``BacktestResult.events``), so the two sides of a comparison are extracted by the
same code. Times stay int ns since epoch UTC here (``ts_*`` columns, ``int64``); the public
frames of :mod:`workbench.analytics.compare` and :mod:`workbench.analytics.tca` convert them to
tz-aware UTC timestamps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.model import events as ev
from workbench.model.orders import Order

__all__ = ["RunRecord", "run_record", "side_sign", "to_time"]

SIGNAL_COLUMNS = ["ts_event", "symbol", "direction", "strategy_id", "entry", "stop", "target", "size", "reason"]
ORDER_COLUMNS = [
    "order_id", "symbol", "side", "order_type", "quantity", "limit_price", "stop_price", "time_in_force", "tag",
    "parent_order_id", "strategy_id", "ts_init", "ts_submitted", "status", "reason", "filled_quantity",
    "avg_fill_price", "commission", "ts_first_fill", "ts_last_fill", "fill_count",
]
FILL_COLUMNS = ["ts_event", "order_id", "fill_id", "symbol", "side", "quantity", "price", "commission",
                "liquidity_side", "fill_number"]
CONTROL_COLUMNS = ["ts_event", "kind", "name", "detail"]


def to_time(values: object) -> pd.Series | pd.DatetimeIndex:
    """int ns since epoch UTC (NA allowed) -> tz-aware UTC timestamps."""
    return pd.to_datetime(pd.Series(values, dtype="Int64") if not isinstance(values, pd.Series) else
                          values.astype("Int64"), unit="ns", utc=True)


def side_sign(side: pd.Series) -> np.ndarray:
    """+1 for BUY, -1 for SELL (the sign of the position change)."""
    return np.where(side.astype(str).str.upper() == "BUY", 1.0, -1.0)


@dataclass
class RunRecord:
    """What a run decided and did, one DataFrame per kind (times in int ns since epoch UTC).

    Attributes
    ----------
    signals : SignalGenerated events (:data:`SIGNAL_COLUMNS`).
    orders : one row per order, final state (:data:`ORDER_COLUMNS`); ``ts_submitted`` is NA for an
        order that never reached the broker (denied, or a contingent child never released).
    fills : one row per OrderFilled (:data:`FILL_COLUMNS`); ``fill_number`` counts 1, 2, ... within
        the order.
    controls : pauses, resumes, kill switches, restarts, trading-state changes (:data:`CONTROL_COLUMNS`).
    equity : pandas.Series
        Equity (currency) of every :class:`AccountState`, indexed by its ``ts_event`` (int ns).
    final_equity : float | None
        Equity (currency) of the last :class:`AccountState`, None without one.
    commissions : float
        Sum of the fills' commissions (currency).
    notes : list[str]
        Events that could not be applied (e.g. an order event without its OrderInitialized).
    """

    signals: pd.DataFrame
    orders: pd.DataFrame
    fills: pd.DataFrame
    controls: pd.DataFrame
    equity: pd.Series
    final_equity: float | None = None
    commissions: float = 0.0
    notes: list[str] = field(default_factory=list)

    def position_before(self, symbol: str, ts_ns: int) -> float:
        """Signed position (shares) in ``symbol`` from the fills stamped strictly before ``ts_ns``."""
        f = self.fills
        mask = (f["symbol"] == symbol) & (f["ts_event"] < ts_ns)
        return float((side_sign(f.loc[mask, "side"]) * f.loc[mask, "quantity"]).sum())


_CONTROL_COMMANDS = {"pause", "resume", "kill", "flatten", "cancel_all", "submit_order"}


def run_record(events: Iterable[ev.Event]) -> RunRecord:
    """Extract a :class:`RunRecord` from a run's events (journal or backtest), in their order."""
    signals: list[tuple] = []
    controls: list[tuple] = []
    fills: list[tuple] = []
    orders: dict[str, Order] = {}
    submitted: dict[str, int] = {}
    notes: list[str] = []
    final_equity = None
    fill_counts: dict[str, int] = {}
    first_fill: dict[str, int] = {}
    last_fill: dict[str, int] = {}
    equity: list[tuple[int, float]] = []
    for e in events:
        t = type(e)
        if t is ev.SignalGenerated:
            signals.append((e.ts_event, e.symbol, int(e.direction), e.strategy_id, e.entry, e.stop, e.target, e.size,
                            e.reason))
        elif t is ev.OrderInitialized:
            orders[e.order_id] = Order(e)
        elif isinstance(e, ev.OrderEvent):
            order = orders.get(e.order_id)
            if order is None:
                notes.append(f"{t.__name__} for unknown order {e.order_id} at {e.ts_event}")
                continue
            try:
                order.apply(e)
            except (WorkbenchError, ValueError) as exc:
                notes.append(f"{t.__name__} of order {e.order_id} not applied: {exc}")
            if t is ev.OrderSubmitted:
                submitted.setdefault(e.order_id, e.ts_event)
            elif t is ev.OrderFilled:
                n = fill_counts[e.order_id] = fill_counts.get(e.order_id, 0) + 1
                first_fill.setdefault(e.order_id, e.ts_event)
                last_fill[e.order_id] = e.ts_event
                fills.append((e.ts_event, e.order_id, e.fill_id, e.symbol, str(e.side), e.last_quantity, e.last_price,
                              e.commission, str(e.liquidity_side), n))
        elif t is ev.AccountState:
            final_equity = e.equity
            equity.append((e.ts_event, e.equity))
        elif t is ev.CommandReceived and e.name in _CONTROL_COMMANDS:
            controls.append((e.ts_event, "command", e.name, str(e.args or "")))
        elif t is ev.TradingStateChanged:
            controls.append((e.ts_event, "trading_state", str(e.state), e.reason))
        elif t is ev.SessionStarted and e.resumed:
            controls.append((e.ts_event, "restart", "resumed", "session restarted after a stop or crash"))
    fills_df = pd.DataFrame(fills, columns=FILL_COLUMNS).astype({"ts_event": "int64", "quantity": float,
                                                                 "price": float, "commission": float})
    commissions = float(fills_df["commission"].sum())
    rows = []
    for o in orders.values():
        rows.append((o.order_id, o.symbol, str(o.side), str(o.order_type), o.quantity, o.limit_price, o.stop_price,
                     str(o.time_in_force), o.tag, o.parent_order_id, o.strategy_id, o.ts_init,
                     submitted.get(o.order_id), str(o.status), o.reason, o.filled_quantity,
                     o.avg_fill_price if o.filled_quantity else np.nan, o.commission, first_fill.get(o.order_id),
                     last_fill.get(o.order_id), fill_counts.get(o.order_id, 0)))
    orders_df = pd.DataFrame(rows, columns=ORDER_COLUMNS)
    for column in ("ts_submitted", "ts_first_fill", "ts_last_fill"):
        orders_df[column] = orders_df[column].astype("Int64")
    orders_df["ts_init"] = orders_df["ts_init"].astype("int64")
    orders_df = orders_df.astype({"limit_price": float, "stop_price": float, "quantity": float,
                                  "filled_quantity": float, "avg_fill_price": float, "commission": float})
    signals_df = pd.DataFrame(signals, columns=SIGNAL_COLUMNS).astype(
        {"ts_event": "int64", "entry": float, "stop": float, "target": float, "size": float})
    controls_df = pd.DataFrame(controls, columns=CONTROL_COLUMNS).astype({"ts_event": "int64"})
    equity_series = pd.Series([v for _, v in equity], index=pd.Index([t for t, _ in equity], dtype="int64"),
                              name="equity", dtype=float)
    return RunRecord(signals_df, orders_df, fills_df, controls_df, equity_series, final_equity, commissions, notes)
