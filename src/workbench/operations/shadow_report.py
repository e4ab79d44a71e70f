"""A live session and its paper shadow side by side, read from the journal (dashboard and API).

:func:`shadow_report` finds the pair from either session (the live session's config names its
shadow, ``shadow_session_id``; the shadow's names the live one, ``shadow_of``) and reads, for
each side: equity, cash, realized and unrealized P&L and commissions of its last ``AccountState``
(currency), total P&L (equity - starting cash), positions (signed shares, summed from its
``OrderFilled`` events), fills and signals counted; then the signal agreement of the whole run
(:func:`workbench.operations.graduation.shadow_agreement`: same symbol, data time and direction)
and the live size multiplier with its history (``SizeMultiplierChanged`` events).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.model import events as ev
from workbench.model.enums import OrderSide

__all__ = ["MultiplierChange", "ShadowReport", "SideFigures", "pair_of", "shadow_report"]


@dataclass(frozen=True)
class SideFigures:
    """One side of the pair (currency amounts; NaN before the first account state)."""

    session_id: str
    mode: str
    equity: float
    cash: float
    pnl: float
    realized_pnl: float
    unrealized_pnl: float
    commissions: float
    positions: dict[str, float]
    fills: int
    signals: int


@dataclass(frozen=True)
class MultiplierChange:
    """One ``SizeMultiplierChanged``: when (ns), from, to, the window's agreement (None: nothing to
    compare) and why."""

    ts_event: int
    old: float
    new: float
    agreement: float | None
    reason: str


@dataclass(frozen=True)
class ShadowReport:
    """The pair: ``live`` and ``shadow`` figures, ``signal_agreement`` (0..1, NaN without signals),
    ``multiplier`` now (NaN before the first setting) and its ``history``."""

    live: SideFigures
    shadow: SideFigures
    signal_agreement: float
    multiplier: float
    history: list[MultiplierChange] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (NaN as None)."""
        def clean(value: Any) -> Any:
            if isinstance(value, float) and math.isnan(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return clean(asdict(self))


def pair_of(journal: Any, session_id: str) -> tuple[str, str] | None:
    """``(live id, shadow id)`` when ``session_id`` is either side of a pair, else None.

    Raises
    ------
    JournalError
        Unknown session.
    """
    params = journal.session(session_id).get("parameters") or {}
    if params.get("shadow_session_id"):
        return session_id, str(params["shadow_session_id"])
    if params.get("shadow_of"):
        return str(params["shadow_of"]), session_id
    return None


def _side(journal: Any, session_id: str) -> tuple[SideFigures, list[ev.SignalGenerated]]:
    row = journal.session(session_id)
    starting_cash = float((row.get("parameters") or {}).get("starting_cash", 100_000.0))
    last: ev.AccountState | None = None
    positions: dict[str, float] = {}
    fills = 0
    signals: list[ev.SignalGenerated] = []
    for e in journal.events(session_id, types=[ev.AccountState, ev.OrderFilled, ev.SignalGenerated]):
        t = type(e)
        if t is ev.AccountState:
            last = e
        elif t is ev.OrderFilled:
            fills += 1
            signed = e.last_quantity if e.side is OrderSide.BUY else -e.last_quantity
            positions[e.symbol] = positions.get(e.symbol, 0.0) + signed
        else:
            signals.append(e)
    nan = math.nan
    figures = SideFigures(
        session_id=session_id, mode=str(row.get("mode", "")),
        equity=last.equity if last else nan, cash=last.cash if last else nan,
        pnl=last.equity - starting_cash if last else nan,
        realized_pnl=last.realized_pnl if last else nan, unrealized_pnl=last.unrealized_pnl if last else nan,
        commissions=last.commissions if last else nan,
        positions={s: q for s, q in sorted(positions.items()) if abs(q) > 1e-9}, fills=fills, signals=len(signals))
    return figures, signals


def shadow_report(journal: Any, session_id: str) -> ShadowReport | None:
    """The pair's figures (see the module docstring), or None when ``session_id`` has no shadow."""
    from workbench.operations.graduation import shadow_agreement

    pair = pair_of(journal, session_id)
    if pair is None:
        return None
    live, live_signals = _side(journal, pair[0])
    shadow, shadow_signals = _side(journal, pair[1])
    history = [MultiplierChange(e.ts_event, e.old, e.new, e.agreement, e.reason)
               for e in journal.events(pair[0], types=[ev.SizeMultiplierChanged])]
    return ShadowReport(live, shadow, shadow_agreement(live_signals, shadow_signals),
                        history[-1].new if history else math.nan, history)
