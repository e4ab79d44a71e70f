"""Helpers for the risk tests: an engine with a simulated broker, bars at New York times, orders."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from workbench.engine.backtest import build_engine
from workbench.engine.engine import TradingEngine
from workbench.model import events as ev
from workbench.model.data import Bar
from workbench.model.enums import OrderSide, OrderType
from workbench.model.orders import Order
from workbench.risk.engine import RiskEngine

MINUTE_NS = 60_000_000_000
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def ny_ns(text: str) -> int:
    """ns since epoch UTC of a New York wall-clock time, e.g. ``"2013-10-07 10:00"``."""
    return pd.Timestamp(text, tz="America/New_York").tz_convert("UTC").value


T0 = ny_ns("2013-10-07 10:00")  # a Monday, inside regular hours


def make_engine(rules: Iterable[Any] = (), monitors: Iterable[Any] = (), *, cash: float = 100_000.0,
                **options: Any) -> TradingEngine:
    options.setdefault("check_buying_power", False)
    return build_engine([], risk=RiskEngine(rules, monitors), starting_cash=cash, **options)


def push_bar(engine: TradingEngine, symbol: str, price: float, ts_init: int, *, high: float | None = None,
             low: float | None = None) -> Bar:
    """One one-minute bar ending at ``ts_init`` with open = close = ``price``."""
    bar = Bar(symbol, price, high if high is not None else price, low if low is not None else price, price, 1e6,
              ts_init - MINUTE_NS, ts_init)
    engine.on_bar(bar)
    return bar


def place(engine: TradingEngine, symbol: str, side: OrderSide, quantity: float, **kwargs: Any) -> Order:
    """Create and submit an order (type from the prices given)."""
    if "order_type" not in kwargs:
        lim, stop = kwargs.get("limit_price"), kwargs.get("stop_price")
        kwargs["order_type"] = (OrderType.STOP_LIMIT if lim and stop else OrderType.LIMIT if lim
                                else OrderType.STOP if stop else OrderType.MARKET)
    order_type = kwargs.pop("order_type")
    return engine.submit_order(engine.create_order(symbol, side, quantity, order_type, **kwargs))


def hold(engine: TradingEngine, symbol: str, quantity: float, price: float, ts_init: int) -> None:
    """Build a position of signed ``quantity`` at ``price``: market order filled by the next bar."""
    push_bar(engine, symbol, price, ts_init)
    order = place(engine, symbol, BUY if quantity > 0 else SELL, abs(quantity))
    assert order.status.name in ("ACCEPTED", "SUBMITTED"), order
    push_bar(engine, symbol, price, ts_init + MINUTE_NS)
    assert engine.portfolio.quantity(symbol) == quantity


def denials(engine: TradingEngine) -> list[ev.OrderDenied]:
    return [e for e in engine.events if type(e) is ev.OrderDenied]


def reason_of(order: Order) -> str:
    """The denial reason of ``order`` (empty when it was not denied)."""
    return order.reason if order.status.name == "DENIED" else ""
