"""Scan, rank, plan, trade, exit: the scheduled-scan strategy on daily bars.

At each scheduled scan time (09:00 and 10:00 America/New_York on XNYS trading days by default,
fired on the engine's clock, so a backtest and a replayed paper session scan at the same data
times) the strategy:

1. ranks its universe with :class:`~workbench.scanning.Scanner` on the daily bars known at that time,
   journals the ranked table and what changed since the previous scan (``ScanCompleted``);
2. (at the scan, or at the session's open after a pre-market scan, so every order meets the risk
   engine's trading hours) exits positions it holds whose rank fell beyond ``exit_rank`` or that a filter now refuses
   (``reversal``), or that it has held ``max_holding_days`` trading days (``max_holding_days``);
3. plans a trade for each selected symbol it neither holds nor has an order for, up to
   ``max_positions`` (:func:`~workbench.scanning.plans.make_plan`), journals the decision as a
   ``SignalGenerated`` with a ``signal_id`` and sends it as a bracket: the entry, then a
   take-profit limit and a stop once the entry fills, one-cancels-other.

Every order of a signal is tagged ``scan:<signal_id>:<role>`` (``entry``, ``take_profit``,
``stop_loss``, ``exit_reversal``, ``exit_max_holding_days``); when a position closes the strategy
journals a flat ``SignalGenerated`` with the same ``signal_id`` and the exit reason (``target``,
``stop``, ``reversal``, ``max_holding_days``, or ``manual`` when an order that is not the
strategy's closed it: a flatten command, the kill switch, the dashboard). So a signal's whole
fate is one query (:func:`workbench.scanning.fates.signal_fates`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from workbench.calendars import is_open, next_open_at_or_after
from workbench.engine.strategy import Strategy, StrategyParams
from workbench.model import events as ev
from workbench.model.data import Bar
from workbench.model.enums import ContingencyType, OrderSide, OrderType, TimeInForce
from workbench.scanning.panel import FIELDS, Panel
from workbench.scanning.plans import PlanConfig, TradePlan, make_plan
from workbench.scanning.scan import ScanConfig, Scanner, ScanResult, detect_changes, frame_records
from workbench.scanning.schedule import ScanSchedule

__all__ = ["ScanStrategy", "ScanStrategyParams"]

_NY = "America/New_York"


class ScanStrategyParams(StrategyParams):
    top: int = Field(2, ge=1, description="symbols selected per scan")
    max_positions: int = Field(2, ge=1, description="positions held at most")
    exit_rank: int = Field(4, ge=1, description="exit a holding ranked worse than this (reversal)")
    exit_on_reversal: bool = True
    times: tuple[str, ...] = ("09:00", "10:00")
    history: int = Field(260, ge=30, description="sessions of daily bars a scan sees")
    factors: dict[str, dict[str, Any]] | None = None
    weights: dict[str, float] | None = None
    filters: list[dict[str, Any]] | None = None
    entry: str = "market"
    stop_atr_multiple: float = Field(2.0, gt=0)
    target_r_multiple: float = Field(3.0, gt=0)
    risk_fraction: float = Field(0.01, gt=0, le=0.2)
    max_position_percent: float = Field(0.45, gt=0, le=1.0)
    max_holding_days: int = Field(20, ge=1)


class ScanStrategy(Strategy):
    """Scheduled scans that trade their selection with brackets and manage the exits (module docstring)."""

    Params = ScanStrategyParams

    def on_start(self) -> None:
        p = self.params
        extra: dict[str, Any] = {}
        if p.factors is not None:
            extra["factors"] = p.factors
        if p.weights is not None:
            extra["weights"] = p.weights
        if p.filters is not None:
            extra["filters"] = p.filters
        self.scan_config = ScanConfig(name=self.strategy_id, top=p.top, history=p.history, **extra)
        self.scanner = Scanner(self.scan_config)
        self.plan_config = PlanConfig(entry=p.entry, stop_atr_multiple=p.stop_atr_multiple,  # type: ignore[arg-type]
                                      target_r_multiple=p.target_r_multiple, risk_fraction=p.risk_fraction,
                                      max_position_percent=p.max_position_percent, max_holding_days=p.max_holding_days)
        self.schedule = ScanSchedule(p.times)
        self._symbols: dict[str, int] = {}  # symbol -> column in the buffers
        self._buffers = np.full((len(FIELDS), p.history, 8), np.nan)  # field x session (ring) x symbol
        self._dates: list[pd.Timestamp] = []  # the last `history` session dates
        self._known: list[int] = []
        self._cache: tuple[Any, ...] | None = None
        self._session_count = 0
        self._armed = False
        self.previous: ScanResult | None = None
        self.scans: list[ScanResult] = []
        self.holdings: dict[str, dict[str, Any]] = {}  # symbol -> signal_id, session entered, exit reason
        self._pending_entry: dict[str, str] = {}  # symbol -> signal_id of a working entry

    # ------------------------------------------------------------------------------ data
    def on_bar(self, bar: Bar) -> None:
        date = pd.Timestamp(bar.ts_event, tz="UTC").tz_convert(_NY).tz_localize(None).normalize()
        buffers = self._buffers
        history = self.params.history
        if not self._dates or date != self._dates[-1]:
            self._dates.append(date)
            self._known.append(bar.ts_init)
            self._session_count += 1
            if len(self._dates) > history:
                del self._dates[0], self._known[0]
            buffers[:, self._session_count % history, :] = np.nan
        column = self._symbols.get(bar.symbol)
        if column is None:
            column = self._symbols[bar.symbol] = len(self._symbols)
            if column >= buffers.shape[2]:
                grown = np.full((len(FIELDS), history, 2 * buffers.shape[2]), np.nan)
                grown[:, :, :buffers.shape[2]] = buffers
                self._buffers = buffers = grown
        buffers[:, self._session_count % history, column] = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        self._known[-1] = max(self._known[-1], bar.ts_init)
        if not self._armed:
            self.schedule.attach(self._engine.clock, self._on_scan_time, name=f"{self.strategy_id}.scan",
                                 after_ns=bar.ts_init)
            self._armed = True

    def panel(self) -> Panel:
        """The daily bars the strategy has seen (the last ``history`` sessions) as a panel."""
        n, history = len(self._dates), self.params.history
        rows = [(self._session_count - n + 1 + i) % history for i in range(n)]
        symbols = sorted(self._symbols)
        cols = [self._symbols[s] for s in symbols]
        index = pd.DatetimeIndex(self._dates, name="date")
        frames = {f: pd.DataFrame(self._buffers[k][np.ix_(rows, cols)], index=index, columns=symbols)
                  for k, f in enumerate(FIELDS)}
        return Panel(known_ns=np.asarray(self._known, dtype=np.int64), **frames)

    # ------------------------------------------------------------------------------ scans
    def _on_scan_time(self, ts_ns: int) -> None:
        if not self._dates:
            return
        eng = self._engine
        held = sorted(s for s in self.holdings if self.position_quantity(s))
        key = (self._session_count, self._known[-1], tuple(held))
        if self._cache is not None and self._cache[0] == key:  # no new bar since the last scan: same ranking
            panel = self._cache[1]
            result = self.scanner.relabel(self._cache[2], ts_ns)
        else:
            panel = self.panel()
            result = self.scanner.run(panel, as_of_ns=ts_ns, held=held)
        self._cache = (key, panel, result)
        changes = detect_changes(self.previous, result)
        self.previous = result
        self.scans.append(result)
        if eng.warming_up:
            return
        eng.record(ev.ScanCompleted(
            ts_event=ts_ns, scan_id=result.scan_id, name=result.name, as_of_ns=result.as_of_ns,
            strategy_id=self.strategy_id, universe_size=len(result.table), selected=tuple(result.selected),
            table=result.records(), changes=frame_records(changes, "symbol"),
        ))
        if is_open(ts_ns):
            self._act(result, panel)
        else:  # a pre-market scan: its orders go out at the open (the risk engine's trading hours)
            self._engine.clock.set_time_alert(f"{self.strategy_id}.act", next_open_at_or_after(ts_ns),
                                              lambda _event: self._act(result, panel))

    def _act(self, result: ScanResult, panel: Panel) -> None:
        """Exits, then entries, of one scan's decisions (at the scan, or at the open after a pre-market scan)."""
        if self._engine.warming_up:
            return
        self._manage_exits(result)
        self._enter(result, self.now_ns, panel)

    def _manage_exits(self, result: ScanResult) -> None:
        p = self.params
        for symbol, h in list(self.holdings.items()):
            if not self.position_quantity(symbol) or h.get("exit"):
                continue
            reason = ""
            if self._session_count - h["session"] >= p.max_holding_days:
                reason = "max_holding_days"
            elif p.exit_on_reversal and symbol in result.table.index:
                rank = result.table.at[symbol, "rank"]
                if not (rank <= p.exit_rank):
                    reason = "reversal"
            if reason:
                h["exit"] = reason
                self.close_position(symbol, tag=f"scan:{h['signal_id']}:exit_{reason}")

    def _enter(self, result: ScanResult, ts_ns: int, window: Panel) -> None:
        p = self.params
        busy = {s for s in self.holdings if self.position_quantity(s)} | set(self._pending_entry)
        slots = p.max_positions - len(busy)
        for symbol in result.selected:
            if slots <= 0:
                break
            if symbol in busy or self.open_orders(symbol) or self.position_quantity(symbol):
                continue
            row = result.table.loc[symbol]
            inputs = {name: float(row[name]) for name in result.factor_names if np.isfinite(row[name])}
            inst = self._engine.instrument(symbol)
            plan = make_plan(symbol, window, self.portfolio.equity, self.plan_config, score=float(row["score"]),
                             rank=int(row["rank"]), inputs=inputs, lot_size=inst.lot_size, tick_size=inst.tick_size)
            if plan is None:
                continue
            self._submit(plan, result, ts_ns)
            slots -= 1

    def _submit(self, plan: TradePlan, result: ScanResult, ts_ns: int) -> None:
        eng = self._engine
        signal_id = f"{result.scan_id}:{plan.symbol}"
        n = len(result.ranked)
        confidence = 1.0 if n <= 1 else 1.0 - (plan.rank - 1) / (n - 1)
        sig = plan.to_signal(confidence)
        eng.record(ev.SignalGenerated(
            ts_event=ts_ns, symbol=sig.symbol, direction=sig.direction, strategy_id=self.strategy_id,
            confidence=sig.confidence, entry=sig.entry, target=sig.target, stop=sig.stop, size=sig.size,
            reason=sig.reason, inputs=dict(sig.inputs), signal_id=signal_id, scan_id=result.scan_id,
        ))
        side = OrderSide.BUY if plan.direction > 0 else OrderSide.SELL
        ids = [eng.next_order_id() for _ in range(3)]
        entry_type = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "breakout": OrderType.STOP}[plan.entry_type]
        prices: dict[str, Any] = {}
        if entry_type is OrderType.LIMIT:
            prices["limit_price"] = plan.entry_price
        elif entry_type is OrderType.STOP:
            prices["stop_price"] = plan.entry_price
        tag = f"scan:{signal_id}"
        entry = eng.create_order(plan.symbol, side, plan.quantity, entry_type, time_in_force=TimeInForce.GTC,
                                 contingency=ContingencyType.OTO, linked_order_ids=(ids[1], ids[2]),
                                 strategy_id=self.strategy_id, tag=f"{tag}:entry", order_id=ids[0], **prices)
        common: dict[str, Any] = {"time_in_force": TimeInForce.GTC, "reduce_only": True, "parent_order_id": ids[0],
                                  "contingency": ContingencyType.OCO, "strategy_id": self.strategy_id}
        take = eng.create_order(plan.symbol, side.opposite(), entry.quantity, OrderType.LIMIT, limit_price=plan.target,
                                linked_order_ids=(ids[2],), tag=f"{tag}:take_profit", order_id=ids[1], **common)
        stop = eng.create_order(plan.symbol, side.opposite(), entry.quantity, OrderType.STOP, stop_price=plan.stop,
                                linked_order_ids=(ids[1],), tag=f"{tag}:stop_loss", order_id=ids[2], **common)
        eng.hold_until_filled(entry, (take, stop))
        self._pending_entry[plan.symbol] = signal_id
        eng.submit_order(entry)

    # ------------------------------------------------------------------------------ fills
    def on_order_event(self, event: ev.OrderEvent) -> None:
        order = self._engine.orders.get(event.order_id)
        if order is None or not order.tag.endswith(":entry") or not order.tag.startswith("scan:"):
            return
        if order.is_closed and not order.filled_quantity:  # entry canceled/rejected/expired unfilled
            self._pending_entry.pop(order.symbol, None)

    def on_fill(self, fill: ev.OrderFilled) -> None:
        eng = self._engine
        order = eng.orders.get(fill.order_id)
        symbol = fill.symbol
        tag = order.tag if order is not None else ""
        if tag.startswith("scan:") and tag.endswith(":entry"):
            signal_id = tag[len("scan:"):-len(":entry")]
            if symbol not in self.holdings:
                self.holdings[symbol] = {"signal_id": signal_id, "session": self._session_count, "exit": ""}
            if order is not None and order.is_closed:
                self._pending_entry.pop(symbol, None)
            return
        h = self.holdings.get(symbol)
        if h is None or self.position_quantity(symbol):
            return
        role = tag.rsplit(":", 1)[-1] if tag.startswith("scan:") else ""
        reason = {"take_profit": "target", "stop_loss": "stop"}.get(role) or h.get("exit") or "manual"
        if not tag.startswith("scan:"):
            reason = "manual"
        del self.holdings[symbol]
        self.cancel_all(symbol)
        if not eng.warming_up:
            eng.record(ev.SignalGenerated(
                ts_event=fill.ts_event, symbol=symbol, direction=0, strategy_id=self.strategy_id,
                reason=f"exit: {reason}", signal_id=h["signal_id"], scan_id=h["signal_id"].rsplit(":", 1)[0],
            ))
