"""The one import shim for the IB client library: ib_async (maintained) or ib_insync (its predecessor).

Every other module of the adapter imports the vendor API from here, so the adapter runs with either
library installed (they cannot share an environment: both ship an ``eventkit`` package). The two
expose the same names for everything the adapter uses. ``WORKBENCH_IB_CLIENT=ib_insync`` picks
ib_insync where both could be imported (the CI smoke test's throwaway environment).
"""

from __future__ import annotations

import os

try:  # pragma: no cover - which branch runs depends on the environment
    if os.environ.get("WORKBENCH_IB_CLIENT", "").lower() == "ib_insync":
        raise ImportError("WORKBENCH_IB_CLIENT=ib_insync")  # choose ib_insync even where ib_async is importable
    import ib_async as ib_library
    from ib_async import (
        IB,
        BarData,
        CommissionReport,
        Contract,
        Execution,
        ExecutionFilter,
        Fill,
        LimitOrder,
        MarketOrder,
        Order,
        OrderStatus,
        Position,
        RealTimeBar,
        Stock,
        StopLimitOrder,
        StopOrder,
        Ticker,
        Trade,
    )

    LIBRARY = "ib_async"
except ImportError:  # pragma: no cover
    import ib_insync as ib_library  # type: ignore[no-redef]
    from ib_insync import (  # type: ignore[no-redef,assignment]
        IB,
        BarData,
        CommissionReport,
        Contract,
        Execution,
        ExecutionFilter,
        Fill,
        LimitOrder,
        MarketOrder,
        Order,
        OrderStatus,
        Position,
        RealTimeBar,
        Stock,
        StopLimitOrder,
        StopOrder,
        Ticker,
        Trade,
    )

    LIBRARY = "ib_insync"

VERSION: str = getattr(ib_library, "__version__", "")

__all__ = [
    "IB", "LIBRARY", "VERSION", "BarData", "CommissionReport", "Contract", "Execution", "ExecutionFilter", "Fill",
    "LimitOrder", "MarketOrder", "Order", "OrderStatus", "Position", "RealTimeBar", "Stock", "StopLimitOrder",
    "StopOrder", "Ticker", "Trade",
]
