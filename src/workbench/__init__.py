"""Workbench: a Jupyter-first research-to-live trading workbench.

One engine for backtest, paper and live trading. See README.md.
"""

from workbench.model import (
    Bar,
    Instrument,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    QuoteTick,
    TimeInForce,
    TradeTick,
    equity,
)

__version__ = "0.1.0"

# Heavier entry points load on first use (PEP 562), so ``import workbench`` stays light.
_LAZY = {
    "Strategy": "workbench.engine.strategy",
    "StrategyParams": "workbench.engine.strategy",
    "TradingEngine": "workbench.engine.engine",
    "run_backtest": "workbench.engine.backtest",
    "BacktestResult": "workbench.engine.backtest",
    "paper_session": "workbench.session",
    "resume_session": "workbench.session",
    "load_config": "workbench.config",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BacktestResult",
    "Strategy",
    "StrategyParams",
    "TradingEngine",
    "load_config",
    "paper_session",
    "resume_session",
    "run_backtest",
    "Bar",
    "Instrument",
    "Order",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "QuoteTick",
    "TimeInForce",
    "TradeTick",
    "__version__",
    "equity",
]
