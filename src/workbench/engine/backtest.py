"""Backtests: the TradingEngine driven by a SimClock over historical data, as fast as possible.

``run_backtest`` uses the same :class:`~workbench.engine.engine.TradingEngine` as paper and live
runs; only the clock (``SimClock``, advanced by the data), the feed (a time-ordered stream) and the
broker (``SimulatedBroker``) differ.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd

from workbench.brokers.fills import CommissionModel, FillModel
from workbench.brokers.simulated import SimulatedBroker, SimulatedBrokerConfig
from workbench.clock import SimClock
from workbench.engine.engine import TradingEngine
from workbench.engine.strategy import Strategy
from workbench.model import events as ev
from workbench.model.data import Bar, QuoteTick, TradeTick
from workbench.model.instruments import Instrument
from workbench.portfolio.trades import round_trips
from workbench.risk.engine import RiskEngine

PROGRESS_MIN_EVENTS = 200_000
DRIVE_BATCH = 32_768
"""Items the backtest loop takes from the stream between two progress/GC steps (see :func:`_drive`)."""
_END = object()


@dataclass
class BacktestResult:
    """Outcome of a backtest; every table is a pandas DataFrame (times tz-aware UTC).

    Attributes
    ----------
    orders : one row per order (final state).
    fills : one row per execution.
    trades : round trips (see :func:`workbench.portfolio.trades.round_trips`).
    positions : final positions.
    equity_curve : equity, cash, gross/net exposure, realized/unrealized P&L per data timestamp.
    stats : summary statistics (pd.Series).
    events : every recorded (non-market-data) event, in order.
    """

    orders: pd.DataFrame
    fills: pd.DataFrame
    trades: pd.DataFrame
    positions: pd.DataFrame
    equity_curve: pd.DataFrame
    stats: pd.Series
    events: list[ev.Event] = field(repr=False)
    engine: TradingEngine = field(repr=False)
    data_count: int = 0
    elapsed_seconds: float = 0.0

    @property
    def final_equity(self) -> float:
        return float(self.engine.portfolio.equity)

    def __repr__(self) -> str:
        return f"BacktestResult(events={self.data_count}, trades={len(self.trades)}, final_equity={self.final_equity:,.2f})"

    def _repr_html_(self) -> str:
        from workbench.model.display import table_html

        rows = [(k, v) for k, v in self.stats.items()]
        return table_html("Backtest", rows) + "<p>trades (last 10)</p>" + self.trades.tail(10).to_html(index=False)


def _to_time(ns: Any) -> pd.Series | pd.DatetimeIndex:
    return pd.to_datetime(ns, unit="ns", utc=True)


def _as_stream(data: Any) -> Iterable[Bar | QuoteTick | TradeTick]:
    if isinstance(data, list):
        return data
    from workbench.feeds.stream import MarketDataStream

    if isinstance(data, MarketDataStream):
        return data
    if isinstance(data, pd.DataFrame):
        return MarketDataStream(data)
    if isinstance(data, tuple | list) and data and all(isinstance(d, pd.DataFrame) for d in data):
        return MarketDataStream(*data)
    if isinstance(data, Iterable):
        return data
    raise TypeError(f"run_backtest: unsupported data of type {type(data).__name__}")


def build_engine(
    strategies: Strategy | Iterable[Strategy],
    *,
    starting_cash: float = 100_000.0,
    fill_model: FillModel | None = None,
    commission: CommissionModel | None = None,
    allow_short: bool = True,
    check_buying_power: bool = True,
    leverage: float = 1.0,
    instruments: Mapping[str, Instrument] | None = None,
    risk: RiskEngine | None = None,
    keep_events: bool = True,
    keep_history: bool = True,
    clock: Any = None,
    broker: Any = None,
    event_sink: Any = None,
) -> TradingEngine:
    """An engine with a simulated broker and ``strategies`` registered (shared by backtest and paper).

    ``keep_history`` keeps the simulated broker's closed orders and fill reports and the cash
    ledger's entries (what a restarted paper session reconciles against);
    :func:`run_backtest` turns it off, its results being built from the engine's orders and events.
    """
    config = SimulatedBrokerConfig(
        starting_cash=starting_cash, allow_short=allow_short, check_buying_power=check_buying_power,
        leverage=leverage, keep_history=keep_history,
    )
    if fill_model is not None:
        config.fill_model = fill_model
    if commission is not None:
        config.commission = commission
    broker = broker if broker is not None else SimulatedBroker(config, instruments)
    engine = TradingEngine(
        broker, clock=clock if clock is not None else SimClock(), instruments=instruments,
        starting_cash=starting_cash, risk=risk, keep_events=keep_events, event_sink=event_sink,
    )
    engine.portfolio.ledger.keep_entries = keep_history
    for s in [strategies] if isinstance(strategies, Strategy) else list(strategies):
        engine.add_strategy(s)
    return engine


def run_backtest(
    strategy: Strategy | Iterable[Strategy],
    data: Any,
    *,
    progress: bool | None = None,
    **engine_options: Any,
) -> BacktestResult:
    """Run ``strategy`` over ``data`` and return a :class:`BacktestResult`.

    Parameters
    ----------
    strategy : Strategy | Iterable[Strategy]
    data : MarketDataStream | pd.DataFrame | tuple of DataFrames | Iterable of Bar/QuoteTick/TradeTick
        Canonical frames (see :mod:`workbench.feeds.frames`) or objects in time order.
    progress : bool | None
        Show a tqdm.auto progress bar; default: when the data has more than 200,000 events.
    **engine_options
        Passed to :func:`build_engine` (starting_cash, fill_model, commission, allow_short, ...;
        ``keep_history`` defaults to False here).
    """
    import time

    stream = _as_stream(data)
    engine = build_engine(strategy, **{"keep_history": False, **engine_options})
    total = len(stream) if hasattr(stream, "__len__") else None  # type: ignore[arg-type]
    show = progress if progress is not None else (total is not None and total > PROGRESS_MIN_EVENTS)
    t0 = time.perf_counter()
    engine.start()
    _drive(engine, stream, total if show else None)
    engine.stop()
    elapsed = time.perf_counter() - t0
    return make_result(engine, elapsed)


def _drive(engine: TradingEngine, stream: Iterable[Any], total: int | None) -> None:
    """Feed ``stream`` to ``engine`` in order; every ``DRIVE_BATCH`` items update the progress bar (if ``total``).

    Garbage collection: a backtest keeps what it records (orders, their events, fills), about ten
    container objects per order, and CPython re-scans every tracked object in a full collection
    each time that number has grown by a quarter: on a 1,000,000-bar run with 38,000 orders those
    scans took a fifth of the run. So after each batch the objects alive so far are moved to the
    collector's permanent generation (``gc.freeze``) and they are given back when the run ends
    (``gc.unfreeze``, also on error). Nothing is leaked: reference counting still frees every
    object as usual, and cyclic garbage made during the run is collected after it. Skipped when
    the caller disabled the collector or froze objects itself.
    """
    on_bar, on_quote, on_trade, process = engine.on_bar, engine.on_quote, engine.on_trade, engine.process
    bar_t, quote_t, trade_t = Bar, QuoteTick, TradeTick
    progress = None
    if total is not None:
        from tqdm.auto import tqdm

        progress = tqdm(total=total, unit="ev", unit_scale=True, desc="backtest")
    freeze = gc.isenabled() and gc.get_freeze_count() == 0
    items = iter(stream)  # consumed lazily: a batch held in a list would make the young objects survive
    done = engine.data_count
    try:
        while True:
            item = _END
            for item in islice(items, DRIVE_BATCH):
                t = type(item)
                if t is bar_t:
                    on_bar(item)
                elif t is quote_t:
                    on_quote(item)
                elif t is trade_t:
                    on_trade(item)
                else:
                    process(item)
            if item is _END:
                break
            if progress is not None:
                progress.update(engine.data_count - done)
                done = engine.data_count
            if freeze:
                gc.freeze()
    finally:
        if freeze:
            gc.unfreeze()
        if progress is not None:
            progress.close()


def make_result(engine: TradingEngine, elapsed: float = 0.0) -> BacktestResult:
    """Collect the engine's state into a :class:`BacktestResult`."""
    source = engine.events if engine.keep_events else sorted(
        (e for o in engine.orders.values() for e in o.events if type(e) is ev.OrderFilled),
        key=lambda e: (e.ts_event, int(e.fill_id.rpartition("-")[2]) if e.fill_id.rpartition("-")[2].isdigit() else 0))
    fills = fills_frame(source)
    orders = orders_frame(engine)
    equity = equity_frame(engine)
    trades = round_trips(fills) if len(fills) else round_trips(fills.assign())
    positions = engine.portfolio.positions_frame()
    stats = summary_stats(equity, trades, engine)
    return BacktestResult(orders, fills, trades, positions, equity, stats, engine.events, engine,
                          engine.data_count, elapsed)


FILL_COLUMNS = ["ts_event", "order_id", "fill_id", "symbol", "side", "quantity", "price", "commission",
                "liquidity_side"]


def fills_frame(events: Iterable[ev.Event]) -> pd.DataFrame:
    rows = [
        (e.ts_event, e.order_id, e.fill_id, e.symbol, str(e.side), e.last_quantity, e.last_price, e.commission,
         str(e.liquidity_side))
        for e in events
        if type(e) is ev.OrderFilled
    ]
    df = pd.DataFrame(rows, columns=FILL_COLUMNS)
    df["ts_event"] = _to_time(df["ts_event"].astype("int64"))
    return df


def orders_frame(engine: TradingEngine) -> pd.DataFrame:
    cols = ["order_id", "symbol", "side", "order_type", "quantity", "limit_price", "stop_price", "time_in_force",
            "status", "filled_quantity", "avg_fill_price", "commission", "ts_init", "ts_last", "tag", "reason",
            "parent_order_id", "strategy_id"]
    rows = [
        (o.order_id, o.symbol, str(o.side), str(o.order_type), o.quantity, o.limit_price, o.stop_price,
         str(o.time_in_force), str(o.status), o.filled_quantity, o.avg_fill_price, o.commission, o.ts_init,
         o.ts_last, o.tag, o.reason, o.parent_order_id, o.strategy_id)
        for o in engine.orders.values()
    ]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("ts_init", "ts_last"):
        df[c] = _to_time(df[c].astype("int64"))
    return df


def equity_frame(engine: TradingEngine) -> pd.DataFrame:
    ts = np.frombuffer(engine.equity_ts, dtype=np.int64) if len(engine.equity_ts) else np.array([], dtype=np.int64)
    eq = np.asarray(engine.equity_values, dtype=float)
    cash = np.asarray(engine.equity_cash, dtype=float)
    gross = np.asarray(engine.equity_gross, dtype=float)
    realized = np.asarray(engine.equity_realized, dtype=float)
    df = pd.DataFrame(
        {
            "equity": eq,
            "cash": cash,
            "gross_exposure": gross,
            "net_exposure": eq - cash,
            "realized_pnl": realized,
            "unrealized_pnl": eq - engine.portfolio.starting_cash - realized,
        },
        index=pd.DatetimeIndex(_to_time(ts), name="ts"),
    )
    return df


def summary_stats(equity: pd.DataFrame, trades: pd.DataFrame, engine: TradingEngine) -> pd.Series:
    """Headline statistics; full metrics live in :mod:`workbench.analytics.metrics`."""
    try:
        from workbench.analytics.metrics import summary
    except ImportError:  # pragma: no cover - analytics is part of the package
        summary = None
    start = engine.portfolio.starting_cash
    final = float(equity["equity"].iloc[-1]) if len(equity) else start
    base = {
        "starting_equity": start,
        "final_equity": final,
        "total_return": final / start - 1.0 if start else np.nan,
        "orders": len(engine.orders),
        "fills": int(sum(1 for o in engine.orders.values() for e in o.events if type(e) is ev.OrderFilled)),
        "round_trips": len(trades),
        "commissions": engine.portfolio.ledger.commissions,
    }
    stats = pd.Series(base, dtype=object)
    if summary is not None and len(equity) > 1:
        extra = summary(equity, trades)
        extra = extra.drop([k for k in extra.index if k in stats.index], errors="ignore")
        stats = pd.concat([stats, pd.Series(extra, dtype=object)])
    return stats
