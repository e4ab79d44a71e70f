"""Historical market data: canonical frames, loaders with validation, a merged stream, tick-to-bar aggregation.

Typical use::

    from workbench.feeds import load_demo_spy, MarketDataStream
    bars, quotes = load_demo_spy()
    for item in MarketDataStream(bars, quotes):   # Bar / QuoteTick in ts_init order
        ...
"""

from workbench.feeds.aggregate import BarAggregator, trades_to_bars
from workbench.feeds.frames import (
    BAR_COLUMNS,
    QUOTE_COLUMNS,
    TRADE_COLUMNS,
    DataKind,
    detect_kind,
    empty_frame,
    to_canonical,
)
from workbench.feeds.loaders import frame_from_table, infer_interval, load_bars, load_quotes, load_trades, read_table
from workbench.feeds.samples import (
    load_demo_spy,
    load_ibm_trade_ticks,
    load_lean_daily,
    load_lean_hourly,
    load_spy_trade_ticks,
    sample_path,
)
from workbench.feeds.stream import MarketDataStream
from workbench.feeds.validation import Issue, Policy, ValidationPolicy, ValidationReport, validate

__all__ = [
    "BAR_COLUMNS",
    "QUOTE_COLUMNS",
    "TRADE_COLUMNS",
    "BarAggregator",
    "DataKind",
    "Issue",
    "MarketDataStream",
    "Policy",
    "ValidationPolicy",
    "ValidationReport",
    "detect_kind",
    "empty_frame",
    "frame_from_table",
    "infer_interval",
    "load_bars",
    "load_demo_spy",
    "load_ibm_trade_ticks",
    "load_lean_daily",
    "load_lean_hourly",
    "load_quotes",
    "load_spy_trade_ticks",
    "load_trades",
    "read_table",
    "sample_path",
    "to_canonical",
    "trades_to_bars",
    "validate",
]
