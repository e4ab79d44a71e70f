"""Paper-to-live graduation: a scorecard from the paper record, and a size multiplier that steps up.

Scorecard (:func:`scorecard`) of a journaled paper session against :class:`GraduationCriteria`
(the ``graduation`` section of the session's config, or given):

``days``                 New York trading dates with at least one account state >= ``min_days``
``trades``               executions (``OrderFilled`` events) >= ``min_trades``
``sharpe``               annualized Sharpe ratio of the daily returns >= ``min_sharpe``
                         (:func:`workbench.analytics.metrics.sharpe_ratio`, 252 days a year)
``max_drawdown``         largest peak-to-trough fall of the daily equity curve, as a positive
                         fraction, <= ``max_drawdown`` (:func:`workbench.analytics.metrics.max_drawdown`)
``signal_agreement``     share of signals the session and its backtest re-run agree on >=
                         ``min_signal_agreement`` (99.5% by default), from
                         :func:`workbench.analytics.compare.compare_session`
``reconciliation``       no correction that needs manual review (``position_mismatch``,
                         ``unmatched_fill``: :data:`UNRESOLVED_KINDS`) in the record

Daily returns: the equity of the last account state of each New York date, relative to the
previous date's (the first date relative to the starting cash).

Size multiplier (:class:`SizeSchedule`): the live session starts at the first of ``steps``
(default 10%, 25%, 50%, 100% of the strategy's size, applied by the engine:
:mod:`workbench.engine.sizing`). After each window (a New York trading day, or N signals) its
decisions are compared with its paper shadow's (:mod:`workbench.operations.shadow`;
:func:`shadow_agreement` for signals alone): a window at or above ``min_shadow_agreement`` counts
towards the step; after ``step_days`` such windows in a row the multiplier moves to the next step.
A window below it drops the multiplier one step (never below the first) and restarts the count.
NaN (nothing to compare) neither counts nor resets. This is seed 001's gradual scaling: real money
grows only while live keeps doing what paper does.

:func:`graduate` refuses (:class:`GraduationRefused`, carrying the scorecard) when any criterion
fails; when every one passes, it starts the live session only with the operator's explicit
confirmation, through ``start_live`` (default :func:`start_live_session`: the Alpaca or IB adapter,
the engine's size multiplier at the first step, a paper shadow on the same stream that steers it:
:mod:`workbench.operations.shadow`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.errors import ConfigError, WorkbenchError
from workbench.model import events as ev

__all__ = [
    "UNRESOLVED_KINDS", "Criterion", "GraduationCriteria", "GraduationRefused", "Scorecard", "SizeSchedule",
    "daily_returns", "graduate", "scorecard", "shadow_agreement", "start_live_session",
]

UNRESOLVED_KINDS = frozenset({"position_mismatch", "unmatched_fill"})
"""Reconciliation corrections that :func:`workbench.engine.reconcile.reconcile` leaves for manual review."""

_NEW_YORK = "America/New_York"


class GraduationCriteria(BaseModel):
    """What a paper record must show before live trading (the ``graduation`` config section)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_days: int = Field(20, ge=1, description="New York trading dates in the paper record")
    min_trades: int = Field(30, ge=0, description="executions (fills)")
    min_sharpe: float = Field(1.0, description="annualized, daily returns")
    max_drawdown: float = Field(0.10, gt=0, le=1, description="fraction of peak equity")
    min_signal_agreement: float = Field(0.995, ge=0, le=1, description="with the backtest re-run")
    steps: tuple[float, ...] = Field((0.10, 0.25, 0.50, 1.00), description="size multipliers, increasing, last 1.0")
    step_days: int = Field(5, ge=1, description="agreeing live days before the next step")
    min_shadow_agreement: float = Field(0.995, ge=0, le=1, description="live vs paper shadow, per day")

    @field_validator("steps")
    @classmethod
    def _increasing(cls, steps: tuple[float, ...]) -> tuple[float, ...]:
        if not steps or any(b <= a for a, b in itertools.pairwise(steps)) or steps[0] <= 0 or steps[-1] != 1.0:
            raise ValueError(f"steps must increase from > 0 to 1.0, got {list(steps)}")
        return steps


@dataclass(frozen=True, slots=True)
class Criterion:
    """One line of the scorecard: ``value`` against ``threshold`` (``comparison`` ``>=`` or ``<=``)."""

    name: str
    value: float
    threshold: float
    comparison: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Scorecard:
    """The scorecard of one paper session (see the module docstring)."""

    session_id: str
    criteria: tuple[Criterion, ...]
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.criteria)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.criteria if not c.passed]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"criterion": c.name, "value": c.value, "required": f"{c.comparison} {c.threshold:g}",
                              "passed": c.passed, "detail": c.detail} for c in self.criteria])

    def __str__(self) -> str:
        lines = [f"graduation scorecard of session {self.session_id}: {'PASSED' if self.passed else 'REFUSED'}"]
        for c in self.criteria:
            value = "nan" if math.isnan(c.value) else f"{c.value:,.4g}"
            lines.append(f"  [{'pass' if c.passed else 'FAIL'}] {c.name:<17} {value:>12}  required {c.comparison} "
                         f"{c.threshold:g}{'  (' + c.detail + ')' if c.detail else ''}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


class GraduationRefused(WorkbenchError):
    """A criterion failed; ``scorecard`` says which."""

    def __init__(self, card: Scorecard) -> None:
        super().__init__(f"graduation refused: {', '.join(card.failed)} failed\n{card}")
        self.scorecard = card


def daily_returns(account_states: Iterable[ev.AccountState], starting_cash: float) -> pd.Series:
    """Daily returns (fraction) from account states: the equity of each New York date's last state
    over the previous date's (the first over ``starting_cash``); index = the dates."""
    states = list(account_states)
    if not states:
        return pd.Series(dtype="float64")
    times = pd.to_datetime([s.ts_event for s in states], unit="ns", utc=True).tz_convert(_NEW_YORK)
    equity = pd.Series([s.equity for s in states], index=times.date)
    closes = equity.groupby(level=0).last()
    previous = closes.shift(1)
    previous.iloc[0] = starting_cash
    return closes / previous - 1.0


def _check(name: str, value: float, threshold: float, comparison: str, detail: str = "") -> Criterion:
    ok = not math.isnan(value) and (value >= threshold if comparison == ">=" else value <= threshold)
    return Criterion(name, float(value), float(threshold), comparison, bool(ok), detail)


def criteria_of(session: Mapping[str, Any], override: GraduationCriteria | None = None) -> GraduationCriteria:
    """``override``, else the ``graduation`` section of the session's saved config, else the defaults."""
    if override is not None:
        return override
    config = (session.get("parameters") or {}).get("config") or {}
    section = config.get("graduation") if isinstance(config, Mapping) else None
    return GraduationCriteria.model_validate(section or {})


def scorecard(journal: Any, session_id: str, criteria: GraduationCriteria | None = None, *,
              recording: Any = None, comparison: Any = None) -> Scorecard:
    """Score a journaled paper session (see the module docstring).

    Parameters
    ----------
    journal : Journal | str
    criteria : GraduationCriteria, optional
        Default: the session's config section (:func:`criteria_of`).
    recording : optional
        The session's recording, for ``compare_session`` (default: its data source).
    comparison : Comparison, optional
        A ready :func:`~workbench.analytics.compare.compare_session` result (else computed here).

    Raises
    ------
    JournalError
        Unknown session.
    """
    from workbench.analytics.metrics import max_drawdown, sharpe_ratio
    from workbench.session import open_journal

    jr = open_journal(journal)
    session = jr.session(session_id)
    rules = criteria_of(session, criteria)
    notes: list[str] = []
    if session["mode"] != "paper":
        notes.append(f"session mode is {session['mode']!r}: graduation scores a paper record")
    params = session.get("parameters") or {}
    starting_cash = float(params.get("starting_cash", 100_000.0))
    states: list[ev.AccountState] = []
    fills = 0
    unresolved: list[str] = []
    for event in jr.events(session_id, types=[ev.AccountState, ev.OrderFilled, ev.ReconciliationCorrected]):
        if isinstance(event, ev.AccountState):
            states.append(event)
        elif isinstance(event, ev.OrderFilled):
            fills += 1
        elif event.kind in UNRESOLVED_KINDS:
            unresolved.append(f"{event.kind}: {event.detail}")
    returns = daily_returns(states, starting_cash)
    sharpe = sharpe_ratio(returns) if len(returns) else math.nan
    drawdown = -max_drawdown(returns) if len(returns) else math.nan
    if comparison is None:
        from workbench.analytics.compare import compare_session

        comparison = compare_session(session_id, jr, recording)
    agreement = comparison.signal_agreement
    notes += list(getattr(comparison, "notes", []))
    card = (
        _check("days", float(len(returns)), rules.min_days, ">="),
        _check("trades", float(fills), rules.min_trades, ">=", "executions"),
        _check("sharpe", sharpe, rules.min_sharpe, ">=", "annualized, daily returns"),
        _check("max_drawdown", drawdown, rules.max_drawdown, "<=", "fraction of peak equity"),
        _check("signal_agreement", agreement, rules.min_signal_agreement, ">=",
               "no signals to compare" if math.isnan(agreement) else "vs the backtest re-run"),
        _check("reconciliation", float(len(unresolved)), 0, "<=", "; ".join(unresolved[:3])),
    )
    if session["mode"] != "paper":
        card = (*card, Criterion("paper_record", 0.0, 1.0, ">=", False, f"mode {session['mode']}"))
    return Scorecard(session_id, card, tuple(notes))


# ----------------------------------------------------------------------------------- scaling
@dataclass
class SizeSchedule:
    """The live size multiplier and its steps (see the module docstring).

    ``history`` holds one ``(agreement, multiplier after the day, reason)`` per recorded day.
    """

    steps: Sequence[float] = (0.10, 0.25, 0.50, 1.00)
    step_days: int = 5
    min_agreement: float = 0.995
    index: int = 0
    days_at_step: int = 0
    history: list[tuple[float, float, str]] = field(default_factory=list)

    @classmethod
    def from_criteria(cls, criteria: GraduationCriteria) -> SizeSchedule:
        return cls(tuple(criteria.steps), criteria.step_days, criteria.min_shadow_agreement)

    @property
    def multiplier(self) -> float:
        """The fraction of the strategy's size the live session trades now."""
        return float(self.steps[self.index])

    def record_day(self, agreement: float) -> float:
        """Record one live day's agreement with the paper shadow; return the multiplier for the next day."""
        if math.isnan(agreement):
            reason = "no signals to compare: held"
        elif agreement < self.min_agreement:
            self.index = max(0, self.index - 1)
            self.days_at_step = 0
            reason = f"agreement {agreement:.4f} < {self.min_agreement}: down to {self.multiplier:g}"
        else:
            self.days_at_step += 1
            reason = f"agreeing window {self.days_at_step}/{self.step_days}"
            if self.days_at_step >= self.step_days and self.index < len(self.steps) - 1:
                self.index += 1
                self.days_at_step = 0
                reason += f": up to {self.multiplier:g}"
        self.history.append((float(agreement), self.multiplier, reason))
        return self.multiplier

    def scale(self, quantity: float, lot_size: float = 1.0) -> float:
        """``quantity`` x the multiplier, rounded down to whole lots (never up: never more than intended)."""
        from workbench.engine.sizing import SizeMultiplier

        return SizeMultiplier(self.multiplier).scale(quantity, lot_size)

    def state(self) -> dict[str, Any]:
        """JSON-able state (for the live session's checkpoint)."""
        return {"index": self.index, "days_at_step": self.days_at_step}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.index = int(state.get("index", 0))
        self.days_at_step = int(state.get("days_at_step", 0))


def shadow_agreement(live_events: Iterable[ev.Event], shadow_events: Iterable[ev.Event], *,
                     tolerance_ns: int = 0, day: Any = None) -> float:
    """Share of signals on which a live session and its paper shadow agree (symbol, time within
    ``tolerance_ns``, direction), over all distinct signals of both (as
    :attr:`Comparison.signal_agreement`); only signals of New York date ``day`` when given; NaN
    when neither has one."""
    from workbench.analytics.matching import match_by_time

    def frame(events: Iterable[ev.Event]) -> pd.DataFrame:
        rows = [(e.symbol, e.ts_event, e.direction) for e in events if isinstance(e, ev.SignalGenerated)]
        out = pd.DataFrame(rows, columns=["symbol", "ts_event", "direction"])
        if day is not None and len(out):
            dates = pd.to_datetime(out["ts_event"], unit="ns", utc=True).dt.tz_convert(_NEW_YORK).dt.date
            out = out[dates == pd.Timestamp(day).date()].reset_index(drop=True)
        return out

    live, shadow = frame(live_events), frame(shadow_events)
    pairs = match_by_time(live, shadow, ["symbol"], "ts_event", tolerance_ns)
    if not pairs:
        return math.nan
    matched = sum(1 for i, j in pairs if i is not None and j is not None
                  and live["direction"].iloc[i] == shadow["direction"].iloc[j])
    return matched / len(pairs)


# -------------------------------------------------------------------------------- graduate
def start_live_session(session_id: str, journal: Any, multiplier: float, *, broker: str = "alpaca",
                       emulator: Any = None, live_session_id: str | None = None,
                       criteria: GraduationCriteria | None = None, cadence: str | int = "day",
                       settle_timeout: float = 10.0, **options: Any) -> Any:
    """Build (not start) the live session of a graduated paper session, with its paper shadow.

    The same strategy with the paper session's parameters at full size on a live account of
    ``broker`` (``"alpaca"``: :func:`workbench.adapters.alpaca.alpaca_session`; ``"ibkr"``:
    :func:`workbench.adapters.ibkr.session.ibkr_session`), journaled with ``mode: live`` (SQLite
    ``synchronous=FULL``); the engine trades ``multiplier`` x what the strategy decides
    (:mod:`workbench.engine.sizing`, journaled as ``SizeMultiplierChanged``). Beside it a paper
    shadow (:mod:`workbench.operations.shadow`): same strategy at full size on a simulated broker
    with the paper session's fill and commission models, fed by the live session's data
    subscription. Both get the paper session's risk profile (its config's ``risk`` section, else
    the default one: :func:`workbench.session.session_risk_engine`; ``risk=`` replaces the live
    session's). The multiplier then steps per ``criteria`` (default: the paper session's config
    section) every ``cadence`` window. ``emulator``: trade against a local Alpaca or TWS emulator
    instead (tests, rehearsals); ``options`` go to the broker's session builder (``alpaca=`` /
    ``ibkr=`` settings, ``snapshot_interval``, ``risk``...). The operator's confirmation was given to
    :func:`graduate`. Returns the :class:`~workbench.operations.shadow.GraduatedSession`
    (``start()`` / ``await`` it: both sessions run).

    Raises
    ------
    ConfigError
        An unknown ``broker`` or missing keys.
    """
    from workbench.operations.shadow import attach_shadow
    from workbench.session import open_journal

    if broker not in ("alpaca", "ibkr"):
        raise ConfigError(f"graduation starts live sessions on 'alpaca' or 'ibkr', not {broker!r}")
    jr = open_journal(journal)
    session = jr.session(session_id)
    saved = session.get("parameters") or {}
    rules = criteria_of(session, criteria)
    schedule = SizeSchedule.from_criteria(rules)
    schedule.index = min(range(len(schedule.steps)), key=lambda k: abs(schedule.steps[k] - multiplier))
    strategy = saved.get("strategy") or session["strategy"]
    params = dict(saved.get("params") or {})
    starting_cash = float(saved.get("starting_cash", 100_000.0))
    live_id = live_session_id or f"{session_id}-live"
    shadow_id = f"{live_id}-shadow"
    common = {"emulator": emulator, "live": True, "confirm_live": True, "journal": jr.url, "session_id": live_id,
              "name": f"live {session['strategy']} graduated from {session_id}", "starting_cash": starting_cash,
              "parameters": {"graduated_from": session_id, "shadow_session_id": shadow_id}}
    from workbench.session import session_risk_engine

    options.setdefault("risk", session_risk_engine(saved))  # the paper session's risk profile
    if broker == "alpaca":
        from workbench.adapters.alpaca import alpaca_session

        live = alpaca_session(strategy, params=params, **common, **options)
    else:
        from workbench.adapters.ibkr.session import ibkr_session

        live = ibkr_session(strategy, params=params, **common, **options)
    fill_model = commission = None
    if saved.get("config"):
        from workbench.config import load_config

        config = load_config(saved["config"], confirm_live=True)
        fill_model, commission = config.fill_model(), config.commission_model()
    return attach_shadow(live, schedule, strategy=strategy, params=params, starting_cash=starting_cash,
                         fill_model=fill_model, commission=commission, risk=session_risk_engine(saved),
                         cadence=cadence, shadow_session_id=shadow_id,
                         snapshot_interval=float(options.get("snapshot_interval", 1.0)),
                         settle_timeout=settle_timeout)


def graduate(journal: Any, session_id: str, criteria: GraduationCriteria | None = None, *, confirm_live: bool = False,
             recording: Any = None, comparison: Any = None,
             start_live: Callable[[str, Any, float], Any] | None = None) -> tuple[Scorecard, Any]:
    """Score ``session_id``; when every criterion passes and ``confirm_live`` is True, start live.

    Returns ``(scorecard, live)`` where ``live`` is what ``start_live`` returned (None without
    ``confirm_live``). The live session starts at the first step of the criteria's ``steps``.

    Raises
    ------
    GraduationRefused
        Any criterion failed (nothing is started).
    ConfigError
        The live session cannot be built (:func:`start_live_session`: keys, strategy size).
    """
    card = scorecard(journal, session_id, criteria, recording=recording, comparison=comparison)
    if not card.passed:
        raise GraduationRefused(card)
    if not confirm_live:
        return card, None
    from workbench.session import open_journal

    jr = open_journal(journal)
    rules = criteria_of(jr.session(session_id), criteria)
    return card, (start_live or start_live_session)(session_id, jr, SizeSchedule.from_criteria(rules).multiplier)
