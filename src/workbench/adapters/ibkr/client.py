"""The one import shim for the IB client library: ib_async (maintained) or ib_insync (its predecessor).

Every other module of the adapter imports the vendor API from here, so the adapter runs with either
library installed (they cannot share an environment: both ship an ``eventkit`` package). The two
expose the same names for everything the adapter uses. ``WORKBENCH_IB_CLIENT=ib_insync`` picks
ib_insync where both could be imported (the CI smoke test's throwaway environment).
"""

from __future__ import annotations

import importlib
import os

_PREFERRED = ("ib_insync", "ib_async") if os.environ.get("WORKBENCH_IB_CLIENT", "").lower() == "ib_insync" \
    else ("ib_async", "ib_insync")  # ib_async where both could be imported, unless ib_insync is asked for
try:
    ib_library = importlib.import_module(_PREFERRED[0])
except ImportError:  # pragma: no cover - which one is installed depends on the environment
    ib_library = importlib.import_module(_PREFERRED[1])

LIBRARY: str = ib_library.__name__
IB = ib_library.IB
BarData = ib_library.BarData
CommissionReport = ib_library.CommissionReport
Contract = ib_library.Contract
Execution = ib_library.Execution
ExecutionFilter = ib_library.ExecutionFilter
Fill = ib_library.Fill
LimitOrder = ib_library.LimitOrder
MarketOrder = ib_library.MarketOrder
Order = ib_library.Order
OrderStatus = ib_library.OrderStatus
Position = ib_library.Position
RealTimeBar = ib_library.RealTimeBar
Stock = ib_library.Stock
StopLimitOrder = ib_library.StopLimitOrder
StopOrder = ib_library.StopOrder
Ticker = ib_library.Ticker
Trade = ib_library.Trade

VERSION: str = getattr(ib_library, "__version__", "")

__all__ = [
    "IB", "LIBRARY", "VERSION", "BarData", "CommissionReport", "Contract", "Execution", "ExecutionFilter", "Fill",
    "LimitOrder", "MarketOrder", "Order", "OrderStatus", "Position", "RealTimeBar", "Stock", "StopLimitOrder",
    "StopOrder", "Ticker", "Trade",
]
