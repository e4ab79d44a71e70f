"""A hand-driven session for widget tests and demos: the real engine, journaled, stepped by calls.

:class:`ScriptedSession` wraps a :class:`~workbench.engine.engine.TradingEngine` with a simulated
broker whose events go to a journal (exactly the path of a paper session), but instead of a
replayed feed the caller pushes quotes and market orders one at a time, and answers the queued
control commands with :meth:`ScriptedSession.process_commands`. Timestamps are the wall clock
(ns since epoch UTC), as in a paper session.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from workbench.clock import SimClock
from workbench.engine.backtest import build_engine
from workbench.errors import CommandError
from workbench.model import events as ev
from workbench.model.data import QuoteTick
from workbench.model.enums import OrderSide, OrderType, TimeInForce
from workbench.model.orders import Order
from workbench.persistence import Journal
from workbench.persistence.commands import CommandRecord

__all__ = ["ScriptedSession"]


class ScriptedSession:
    """A journaled engine driven by explicit calls (no feed, no asyncio).

    Parameters
    ----------
    journal : Journal
    session_id : str, optional
        Created with ``mode`` (default: generated).
    mode : {"paper", "live", "backtest"}
    starting_cash : float
        Currency.
    parameters : dict, optional
        More session parameters to journal with it (e.g. ``replay``: the replay checkpoints of
        :func:`workbench.feeds.progress.replay_checkpoints` the banner's progress is read from).
    """

    def __init__(self, journal: Journal, session_id: str | None = None, *, mode: str = "paper",
                 starting_cash: float = 100_000.0, parameters: dict | None = None) -> None:
        self.journal = journal
        self.session_id = journal.create_session(session_id, mode=mode, strategy="scripted",
                                                 parameters={**(parameters or {}), "starting_cash": starting_cash})
        journal.acquire_session(self.session_id, "workbench.widgets.testing.ScriptedSession")
        self._last_ns = 0
        self.clock = SimClock(self._now())
        self.engine = build_engine([], starting_cash=starting_cash, clock=self.clock, event_sink=self._sink)
        self.engine.start()
        self._sink(ev.SessionStarted(ts_event=self._now(), session_id=self.session_id, mode=mode,
                                     strategy="scripted"))

    def _now(self) -> int:
        self._last_ns = max(time.time_ns(), self._last_ns + 1)
        return self._last_ns

    def _sink(self, event: ev.Event) -> None:
        self.journal.append(self.session_id, event)

    def heartbeat(self) -> None:
        """Refresh the session lock's heartbeat (what a running engine does periodically)."""
        self.journal.heartbeat(self.session_id)

    def stop(self, reason: str = "stopped") -> None:
        """Journal SessionStopped and release the session lock."""
        self.engine.stop()
        self._sink(ev.SessionStopped(ts_event=self._now(), session_id=self.session_id, reason=reason))
        self.journal.release_session(self.session_id)

    def record(self, event: ev.Event) -> None:
        """Journal any event (e.g. a ConnectionStatusChanged, RiskEvent or AlertRaised)."""
        self.engine.record(event)

    def quote(self, symbol: str, bid: float, ask: float, size: float = 1_000.0) -> None:
        """Deliver a quote now: marks positions and lets the simulated broker match working orders."""
        ts = self._now()
        self.engine.on_quote(QuoteTick(symbol, bid, ask, size, size, ts, ts))
        self.heartbeat()

    def trade(self, symbol: str, side: OrderSide | str, quantity: float, price: float) -> Order:
        """Send a market order and fill it at ``price`` with the next quote; journal an AccountState.

        The quote is ``price``/``price + 0.01`` for a sell and ``price - 0.01``/``price`` for a buy,
        so a market order fills at exactly ``price``. Returns the order (FILLED unless the risk
        engine denied it).
        """
        side = OrderSide(str(side))
        order = self.engine.create_order(symbol, side, quantity, OrderType.MARKET, time_in_force=TimeInForce.DAY)
        self.engine.submit_order(order)
        if side is OrderSide.BUY:
            self.quote(symbol, price - 0.01, price)
        else:
            self.quote(symbol, price, price + 0.01)
        self.engine.record(self.engine.account_state(self._now()))
        return order

    def process_commands(self, names: Iterable[str] | None = None) -> list[CommandRecord]:
        """Carry out the pending control commands (optionally only ``names``) and acknowledge them.

        Each is journaled as ``CommandReceived`` first (as the live runner does). Every command of
        :data:`workbench.model.commands.CONTROL_COMMANDS` goes to
        :meth:`TradingEngine.execute` (``submit_order`` through the risk engine); a CommandError
        (e.g. a denied order) or an unsupported name is journaled as a rejection with its reason.
        Returns the records processed.
        """
        wanted = None if names is None else set(names)
        done = []
        for record in self.journal.pending_commands(self.session_id):
            if wanted is not None and record.name not in wanted:
                continue
            # as the live runner does: the receipt is journaled before the command takes effect
            self.engine.record(ev.CommandReceived(ts_event=self._now(), command_id=record.command_id, name=record.name,
                                                  args=record.args, source=record.source))
            try:
                command = record.to_command(self._now())
                if command is None:
                    raise CommandError(f"{record.name} is not supported by this session")
                detail = self.engine.execute(command)
            except CommandError as exc:
                self.journal.reject_command(record.command_id, str(exc), ts_event=self._now())
            else:
                self.journal.acknowledge_command(record.command_id, True, detail, ts_event=self._now())
            done.append(record)
        return done
