"""Helpers of the Alpaca end-to-end tests: an emulator on 127.0.0.1 (its own thread), sessions on it
through the real alpaca-py client, and waits that poll instead of sleeping fixed times."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.emulators.alpaca import AlpacaEmulator
from workbench.model import events as ev

FAST_RECONNECT = {"reconnect_initial": 0.05, "reconnect_maximum": 0.5, "rest_retry_wait": 0.0,
                  "health_interval": 0.5}


def demo_bars(rows: int) -> pd.DataFrame:
    """The first ``rows`` regular-hours one-minute SPY bars of the shipped demo (no quotes: one item
    per minute)."""
    from workbench.feeds.replay import regular_hours
    from workbench.feeds.samples import load_demo_spy

    return regular_hours(load_demo_spy()[0]).iloc[:rows].reset_index(drop=True)


def start_emulator(**options: Any) -> AlpacaEmulator:
    return AlpacaEmulator(**options).start_thread()


async def until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 20 ms (yielding to the loop) until true; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


def alpaca_session_on(emulator: AlpacaEmulator, journal: Path, strategy: Any = "sma_crossover",
                      params: dict[str, Any] | None = None, **options: Any) -> Any:
    from workbench.adapters.alpaca import alpaca_session

    alpaca = {**FAST_RECONNECT, **options.pop("alpaca", {})}
    return alpaca_session(strategy, params=params, emulator=emulator, alpaca=alpaca, journal=journal,
                          snapshot_interval=0.5, **options)


async def run_to_end(session: Any, emulator: AlpacaEmulator, timeout: float = 90.0) -> None:
    """Start ``session`` (if needed), wait until the emulator's market has ended, the stream has been
    quiet for 0.5 s (items published while a socket was down are lost, as on Alpaca) and the client
    has caught up with the broker's orders; then stop it cleanly."""
    if session.runner._task is None:
        session.start()

    def finished() -> bool:
        if session.runner.done:
            session.runner._task.result()  # surface a failure at once
        age = session.data_client.health.last_message_age
        return (emulator.core.market.done and age is not None and age > 0.5
                and quiet(session, emulator, 0))

    await until(finished, timeout, "the replay to end")
    session.stop()
    await session


def journal_fills(session: Any) -> list[ev.OrderFilled]:
    return [e for e in session.journal.events(session.session_id) if type(e) is ev.OrderFilled]


def fill_rows(fills: list[ev.OrderFilled]) -> list[tuple[str, str, float, float, int]]:
    """(order id, side, quantity, price, ts_event) of each fill, in journal order."""
    return [(f.order_id, f.side.value, f.last_quantity, f.last_price, f.ts_event) for f in fills]


def quiet(session: Any, emulator: AlpacaEmulator, published: int) -> bool:
    """The client has caught up with everything published so far: every item processed by the engine,
    no REST call in flight, and every order the broker holds is in the engine with the same filled
    quantity and the same open/closed state (however the news arrived: stream or reconciliation)."""
    from workbench.adapters.alpaca.parsing import engine_order_id

    runner, client = session.runner, session.execution_client
    queue = runner._queue
    if not (runner.position >= published and client._in_flight == 0 and not client._held
            and (queue is None or queue.empty())):
        return False
    engine_orders = session.engine.orders
    if any(o.status.value == "SUBMITTED" for o in engine_orders.values()):
        return False
    broker = emulator.call(lambda: [(o.client_order_id, o.filled_quantity, o.is_open)
                                    for o in emulator.account.orders.values()])
    for client_order_id, filled, is_open in broker:
        mine = engine_orders.get(engine_order_id(client_order_id))
        if mine is None or abs(mine.filled_quantity - filled) > 1e-9 or mine.is_open != is_open:
            return False
    return True


def drop_trade_updates_once_an_order_rests(emulator: AlpacaEmulator, armed: list[int]) -> Callable[[int], None]:
    """A ``before_step`` for :func:`run_lockstep`: once an order rests at the broker (it fills on the
    next bar), drop the trade_updates stream at its next message; the step is appended to ``armed``."""
    def before_step(n: int) -> None:
        if not armed and any(o.is_open for o in emulator.call(lambda: list(emulator.account.orders.values()))):
            emulator.arm("drop_stream", stream="trading", after=0)
            armed.append(n)
    return before_step


async def run_lockstep(session: Any, emulator: AlpacaEmulator, timeout: float = 30.0,
                       before_step: Callable[[int], Any] | None = None) -> None:
    """Start ``session`` on a manual emulator and publish one item at a time, each once the client has
    caught up with the previous one (items infinitely far apart compared with a round trip); stop at
    the end. ``before_step(n)`` runs before the n-th item (1-based) is published (to arm faults); when
    it returns an awaitable, that is awaited first."""
    session.start()
    await until(lambda: bool(emulator.data_connections and emulator.data_connections[0].subscriptions["bars"]),
                timeout, "the feed to subscribe")
    published = 0
    while True:
        if before_step is not None:
            pending = before_step(published + 1)
            if pending is not None:
                await pending
        if emulator.call(emulator.core.step) != 1:
            break
        published += 1
        await until(lambda n=published: quiet(session, emulator, n), timeout, f"the client to catch up with item {published}")
    session.stop()
    await session


def assert_books_equal(session: Any, emulator: AlpacaEmulator) -> None:
    """Every broker fill is journaled exactly once (by execution id), and positions and cash agree."""
    from workbench.emulators.alpaca.wire import execution_id

    account = emulator.account
    broker_fills = {execution_id(account, u.fill_id): (u.quantity, u.price) for u in account.updates if u.fill_id}
    journaled = [f.fill_id for f in journal_fills(session)]
    assert len(journaled) == len(set(journaled)), "a fill was booked twice"
    assert set(journaled) == set(broker_fills), "fills missing from (or foreign to) the journal"
    for f in journal_fills(session):
        assert (f.last_quantity, f.last_price) == broker_fills[f.fill_id]
    positions = {s: q for s, (q, _) in account.broker.positions.items() if q}
    assert {p.symbol: p.quantity for p in session.engine.portfolio.open_positions()} == positions
    assert abs(session.engine.portfolio.cash - account.broker.cash) < 1e-6
