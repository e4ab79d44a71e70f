"""The engine: message bus, strategy base class, TradingEngine, backtests."""

from workbench.engine.backtest import BacktestResult, build_engine, run_backtest
from workbench.engine.bus import MessageBus
from workbench.engine.engine import TradingEngine
from workbench.engine.strategy import Bracket, Strategy, StrategyParams

__all__ = [
    "BacktestResult",
    "Bracket",
    "MessageBus",
    "Strategy",
    "StrategyParams",
    "TradingEngine",
    "build_engine",
    "run_backtest",
]
