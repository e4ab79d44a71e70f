"""Containment of strategy failures: an exception in a strategy's handler never escapes the engine.

When a strategy's ``on_start``, ``on_bar``, ``on_quote``, ``on_trade``, ``on_time_slice``,
``on_order_event``, ``on_fill``, a timer callback or ``on_stop`` raises, the engine journals a
``StrategyFailed`` event (the handler, the error, the traceback text and the action taken) and acts
per :attr:`TradingEngine.strategy_error_policy`:

``raise`` (the engine's default, i.e. backtests)
    The exception propagates to the caller after the event is recorded: a bug in research stops
    the run with its traceback, as in backtrader or a LEAN backtest.
``halt`` (the default of a paper/live session, :class:`~workbench.engine.live.LiveRunner`)
    That strategy receives no more data, order events or timers, and its order calls are no longer
    sent. Its working orders stay at the broker (a bracket's protective stop keeps protecting the
    position); other strategies and the session go on, controllable as before (flatten, kill switch).
``pause``
    The engine pauses (no strategy receives data) until a ``Resume`` command.
``keep``
    The failure is journaled and the strategy keeps receiving data.

Everything recorded before the exception stays recorded (the live runner commits it with the
step), and the engine's busy flags are restored. A restarted session rebuilds the halted strategies
and the pause from the journal, so a resume does not replay into the same crash. The policy follows
NautilusTrader's component model (an actor whose handler raised is stopped, ``ComponentState.FAULTED``)
and LEAN (a runtime error in the algorithm stops it with the error logged); ``keep`` exists for
strategies whose errors are known to be transient.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workbench.model import events as ev

if TYPE_CHECKING:
    from workbench.engine.engine import TradingEngine
    from workbench.engine.strategy import Strategy

POLICIES = ("raise", "halt", "pause", "keep")
"""The values of :attr:`TradingEngine.strategy_error_policy`."""

MAX_TRACEBACK_CHARS = 8_000
"""The journaled traceback keeps its last characters (the frames nearest the error)."""


def owner_of(handler: Callable[..., Any]) -> Strategy | None:
    """The strategy a bound handler belongs to, else None (an engine component: its errors are bugs)."""
    from workbench.engine.strategy import Strategy

    owner = getattr(handler, "__self__", None)
    return owner if isinstance(owner, Strategy) else None


def strategy_failed(engine: TradingEngine, strategy: Strategy, handler: str, exc: BaseException) -> None:
    """Journal ``StrategyFailed`` and apply the engine's policy to ``strategy`` (see the module docstring).

    Raises
    ------
    ValueError
        If ``engine.strategy_error_policy`` is not one of :data:`POLICIES`.
    """
    policy = engine.strategy_error_policy
    if policy not in POLICIES:
        raise ValueError(f"strategy_error_policy must be one of {POLICIES}, got {policy!r}")
    if engine.warming_up:  # a restart replays history to strategies: the failure was journaled the first time
        return
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-MAX_TRACEBACK_CHARS:]
    engine.record(ev.StrategyFailed(ts_event=engine.now_ns(), strategy_id=strategy.strategy_id, handler=handler,
                                    error=f"{type(exc).__name__}: {exc}", traceback=text, action=policy))
    if policy == "raise":
        raise exc
    apply_action(engine, strategy.strategy_id, policy)


def apply_action(engine: TradingEngine, strategy_id: str, action: str) -> None:
    """Carry out ``action`` for ``strategy_id`` (also used by the journal rebuild)."""
    if action == "halt":
        engine.halted_strategies.add(strategy_id)
        engine._refresh_handlers()
    elif action == "pause":
        engine.paused = True


def guarded(engine: TradingEngine, strategy: Strategy, name: str, callback: Callable[[Any], None]) -> Callable[[Any], None]:
    """``callback`` (a strategy's timer) wrapped so that its exception is contained and a halted strategy's
    timer does nothing."""

    def call(event: Any) -> None:
        if strategy.strategy_id in engine.halted_strategies:
            return
        try:
            callback(event)
        except Exception as exc:
            strategy_failed(engine, strategy, name, exc)

    return call
