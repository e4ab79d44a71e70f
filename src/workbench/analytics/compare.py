"""Backtest vs live: re-run a journaled session as a backtest on its recorded data and compare.

:func:`compare_session` reads a paper or live session from the journal (its strategy, parameters
and starting cash are the session's ``parameters``), re-runs the same strategy as a backtest on
exactly the market data the session recorded (``paper_session(..., record_to=DIR)``, replayed by
:class:`~workbench.feeds.recorder.Recording` in the order received), and compares the two runs:

* **signals** -- every ``SignalGenerated`` matched by symbol and time: matched, *missing* (only in
  the backtest), *extra* (only live) or *differs* (same time, other direction), each mismatch with
  its likely cause (see :class:`~workbench.analytics.matching.MismatchContext`). A replayed
  recording gives 100% agreement.
* **orders** and **fills** -- matched by symbol, side, type and time; price difference in bps
  (``(live - backtest) / backtest * 1e4``; ``slippage_bps`` is that signed so that positive means
  the live run traded worse), quantity, time to fill (seconds from submission to the fill).
* **attribution** of the P&L gap (live minus backtest, currency) to *signals* (fills of orders
  only one run placed), *execution* (fills of orders both placed: ``price`` = common quantity x
  price difference, ``quantity`` = the rest: partial fills, different sizes), *fees* (commission
  difference) and *other* (what the three do not explain: a different final mark). Each fill is
  valued to the end of the run as ``sign x quantity x (mark - price)`` with one mark per symbol
  (the backtest's last price), so the components add up to the gap of the two equities.

Everything is returned as DataFrames in a :class:`Comparison`, with plotly figures
(:meth:`Comparison.figures`) and a notebook view (``_repr_html_``).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.analytics.attribution import ATTRIBUTION_COMPONENTS, attribution_table, comparison_summary, fill_values
from workbench.analytics.matching import (
    DIFFERS,
    EXTRA,
    MATCHED,
    MISSING,
    MismatchContext,
    match_by_sequence,
    match_by_time,
)
from workbench.analytics.session_frames import RunRecord, run_record, side_sign, to_time
from workbench.errors import ConfigError

__all__ = ["ATTRIBUTION_COMPONENTS", "Comparison", "compare_runs", "compare_session", "stream_differences"]

@dataclass
class Comparison:
    """Result of :func:`compare_session` / :func:`compare_runs` (times tz-aware UTC).

    Attributes
    ----------
    signals : one row per signal of either run: ``status`` (matched/missing/extra/differs),
        ``symbol``, ``ts_event``, ``direction_live``/``_backtest``, ``entry_live``/``_backtest``,
        ``explanation`` (empty when matched).
    orders : one row per order of either run: ``status``, ``order_id_live``/``_backtest``, terms and
        final state of each side, ``price_difference_bps`` / ``slippage_bps`` of the average fill
        prices, ``time_to_fill_live``/``_backtest`` (seconds), ``explanation``.
    fills : one row per fill of either run, paired within matched orders by fill number:
        ``price_difference_bps``, ``slippage_bps``, ``quantity_difference`` (shares),
        ``time_difference`` and ``time_to_fill_*`` (seconds).
    attribution : ``pnl_gap`` (currency, live minus backtest) per component of
        :data:`ATTRIBUTION_COMPONENTS` and ``total``.
    summary : pandas.Series of headline figures (counts, agreement fraction, bps, currency).
    data_differences : items in only one of the recording and the backtest's stream (``kind``,
        ``symbol``, ``ts_init``, ``side`` = where it is); empty when the backtest ran on the recording.
    notes : caveats found on the way (no signals recorded, no recording given, ...).
    live, backtest : the :class:`~workbench.analytics.session_frames.RunRecord` of each run.
    backtest_result : the :class:`~workbench.engine.backtest.BacktestResult` of the re-run.
    marks : last price per symbol used to value fills (currency).
    market : the recorded data as canonical frames (``bars``, ``quotes``, ``trades``) for TCA.
    """

    session_id: str
    signals: pd.DataFrame
    orders: pd.DataFrame
    fills: pd.DataFrame
    attribution: pd.DataFrame
    summary: pd.Series
    data_differences: pd.DataFrame
    notes: list[str]
    live: RunRecord = field(repr=False)
    backtest: RunRecord = field(repr=False)
    backtest_result: Any = field(repr=False, default=None)
    marks: dict[str, float] = field(default_factory=dict)
    market: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def signal_agreement(self) -> float:
        """Matched signals / all distinct signals of both runs (fraction); NaN when neither has any."""
        return float(self.summary["signal_agreement"])

    def mismatches(self) -> pd.DataFrame:
        """Signals and orders that are not matched, with their explanations, by time."""
        s = self.signals[self.signals["status"] != MATCHED].assign(item="signal")
        o = self.orders[self.orders["status"] != MATCHED].assign(item="order")
        cols = ["item", "ts_event", "symbol", "status", "explanation"]
        o = o.assign(ts_event=o["ts_init_live"].fillna(o["ts_init_backtest"]))
        return pd.concat([s[cols], o[cols]], ignore_index=True).sort_values("ts_event", kind="stable")

    def figures(self) -> dict[str, Any]:
        """Plotly figures: equity, signal timeline, fill price differences, attribution waterfall, time to fill."""
        from workbench.analytics.compare_figures import comparison_figures

        return comparison_figures(self)

    def tca(self, timezone: str = "America/New_York") -> Any:
        """Transaction cost analysis of the live fills against the recorded quotes and the backtest's fills."""
        from workbench.analytics.tca import transaction_costs

        matched = self.fills[self.fills["status"] == MATCHED]
        backtest_prices = pd.Series(matched["price_backtest"].to_numpy(), index=matched["fill_id_live"].to_numpy())
        return transaction_costs(self.live.fills, self.live.orders, self.market.get("quotes"),
                                 bars=self.market.get("bars"), signals=self.live.signals,
                                 backtest_prices=backtest_prices, timezone=timezone)

    def _repr_html_(self) -> str:
        from workbench.model.display import table_html

        rows = [(k, _fmt(v)) for k, v in self.summary.items()]
        parts = [table_html(f"Backtest vs live: {html.escape(self.session_id)}", rows),
                 "<p><b>P&amp;L gap attribution</b> (live minus backtest, currency)</p>",
                 self.attribution.to_html(float_format=lambda x: f"{x:,.2f}")]
        mism = self.mismatches()
        if len(mism):
            parts += [f"<p><b>Mismatches</b> ({len(mism)}; first 20)</p>", mism.head(20).to_html(index=False)]
        if self.notes:
            parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes) + "</ul>")
        return "\n".join(parts)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if np.isnan(value) else f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.2f}"
    return str(value)


# ------------------------------------------------------------------------------------ the data
def _item_key(item: Any) -> tuple:
    values = tuple(None if isinstance(v, float) and v != v else v for v in (getattr(item, s) for s in item.__slots__))
    return (type(item).__name__, *values)


def stream_differences(recorded: Iterable[Any], backtest: Iterable[Any]) -> pd.DataFrame:
    """Market data items in only one of two streams (compared field by field, as multisets).

    Returns
    -------
    pandas.DataFrame
        ``kind`` (Bar/QuoteTick/TradeTick), ``symbol``, ``ts_init`` (int ns), ``side``
        (``"recording"`` or ``"backtest"``: the stream that has it), sorted by ``ts_init``.
    """
    a, b = Counter(map(_item_key, recorded)), Counter(map(_item_key, backtest))
    rows = []
    for side, only in (("recording", a - b), ("backtest", b - a)):
        for key, count in only.items():
            item = dict(zip(("kind", *_SLOTS[key[0]]), key))
            rows.extend([(key[0], item["symbol"], int(item["ts_init"]), side)] * count)
    out = pd.DataFrame(rows, columns=["kind", "symbol", "ts_init", "side"]).astype({"ts_init": "int64"})
    return out.sort_values(["ts_init", "symbol"], kind="stable").reset_index(drop=True)


def _slots() -> dict[str, tuple[str, ...]]:
    from workbench.model.data import Bar, QuoteTick, TradeTick

    return {k.__name__: tuple(k.__slots__) for k in (Bar, QuoteTick, TradeTick)}


_SLOTS = _slots()


def _frames_of(items: list[Any]) -> dict[str, pd.DataFrame]:
    """Canonical frames (bars, quotes, trades) of a list of items, for TCA and the data range."""
    out: dict[str, pd.DataFrame] = {}
    for name, kind in (("bars", "Bar"), ("quotes", "QuoteTick"), ("trades", "TradeTick")):
        rows = [{s: getattr(x, s) for s in _SLOTS[kind]} for x in items if type(x).__name__ == kind]
        if rows:
            out[name] = pd.DataFrame(rows)
    return out


# ------------------------------------------------------------------------------------ matching
def _pairs(live: pd.DataFrame, backtest: pd.DataFrame, keys: list[str], time_column: str, tolerance: int | None,
           compare: list[str]) -> list[tuple[int | None, int | None]]:
    if tolerance is None:
        return match_by_sequence(live, backtest, keys, time_column, compare)
    return match_by_time(live, backtest, keys, time_column, tolerance)


def _signals(live: RunRecord, bt: RunRecord, tolerance: int | None, ctx: MismatchContext) -> pd.DataFrame:
    ls, bs = live.signals, bt.signals
    rows = []
    for i, j in _pairs(ls, bs, ["symbol"], "ts_event", tolerance, ["direction"]):
        a = ls.iloc[i] if i is not None else None
        b = bs.iloc[j] if j is not None else None
        ref = a if a is not None else b
        if a is not None and b is not None:
            status = MATCHED if a["direction"] == b["direction"] else DIFFERS
        else:
            status = EXTRA if b is None else MISSING
        rows.append({
            "ts_event": int(ref["ts_event"]), "symbol": ref["symbol"], "status": status,
            "direction_live": None if a is None else int(a["direction"]),
            "direction_backtest": None if b is None else int(b["direction"]),
            "entry_live": np.nan if a is None else a["entry"], "entry_backtest": np.nan if b is None else b["entry"],
            "ts_live": None if a is None else int(a["ts_event"]), "ts_backtest": None if b is None else int(b["ts_event"]),
            "explanation": ctx.explain(ref["symbol"], int(ref["ts_event"]), status),
        })
    cols = ["ts_event", "symbol", "status", "direction_live", "direction_backtest", "entry_live", "entry_backtest",
            "ts_live", "ts_backtest", "explanation"]
    out = pd.DataFrame(rows, columns=cols).sort_values(["ts_event", "symbol"], kind="stable").reset_index(drop=True)
    for c in ("ts_event", "ts_live", "ts_backtest"):
        out[c] = to_time(out[c])
    for c in ("direction_live", "direction_backtest"):
        out[c] = out[c].astype("Int64")
    return out


_ORDER_FIELDS = ["order_id", "ts_init", "ts_submitted", "quantity", "limit_price", "stop_price", "status", "reason",
                 "filled_quantity", "avg_fill_price", "commission", "ts_first_fill", "tag"]


def _seconds(a: Any, b: Any) -> float:
    return np.nan if a is None or b is None or pd.isna(a) or pd.isna(b) else (int(a) - int(b)) / 1e9


def _orders(live: RunRecord, bt: RunRecord, tolerance: int | None, ctx: MismatchContext) -> tuple[pd.DataFrame, list]:
    lo, bo = live.orders, bt.orders
    rows, pairs = [], []
    for i, j in _pairs(lo, bo, ["symbol", "side", "order_type"], "ts_init", tolerance, ["quantity", "tag"]):
        a = lo.iloc[i] if i is not None else None
        b = bo.iloc[j] if j is not None else None
        ref = a if a is not None else b
        row: dict[str, Any] = {"symbol": ref["symbol"], "side": ref["side"], "order_type": ref["order_type"]}
        for side_name, o in (("live", a), ("backtest", b)):
            for f in _ORDER_FIELDS:
                row[f"{f}_{side_name}"] = None if o is None else o[f]
            row[f"time_to_fill_{side_name}"] = np.nan if o is None else _seconds(o["ts_first_fill"], o["ts_submitted"])
        if a is not None and b is not None:
            pairs.append((a["order_id"], b["order_id"]))
            diffs = [f"{f} {a[f]!r} vs {b[f]!r}" for f in ("quantity", "limit_price", "stop_price", "status",
                                                             "filled_quantity")
                     if not (a[f] == b[f] or (pd.isna(a[f]) and pd.isna(b[f])))]
            status = MATCHED if not diffs else DIFFERS
            explanation = "" if not diffs else "live vs backtest: " + ", ".join(diffs)
            if diffs and (a["reason"] or b["reason"]):
                explanation += f" (reason: live {a['reason']!r}, backtest {b['reason']!r})"
            if diffs:
                explanation += "; " + ctx.explain(ref["symbol"], int(ref["ts_init"]), status, order=a)
        else:
            status = EXTRA if b is None else MISSING
            explanation = ctx.explain(ref["symbol"], int(ref["ts_init"]), status, order=ref)
        pa, pb = row["avg_fill_price_live"], row["avg_fill_price_backtest"]
        diff = (pa - pb) / pb * 1e4 if pa is not None and pb is not None and pb == pb and pa == pa else np.nan
        row.update(status=status, price_difference_bps=diff,
                   slippage_bps=diff * (1.0 if ref["side"] == "BUY" else -1.0) + 0.0, explanation=explanation)
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        out = pd.DataFrame(columns=["symbol", "side", "order_type", "status", "explanation",
                                    *[f"{f}_{s}" for s in ("live", "backtest") for f in _ORDER_FIELDS]])
    for c in [c for c in out.columns if c.startswith("ts_")]:
        out[c] = to_time(out[c])
    key = out["ts_init_live"].fillna(out["ts_init_backtest"]) if len(out) else out.get("ts_init_live")
    if len(out):
        out = out.assign(_k=key).sort_values("_k", kind="stable").drop(columns="_k").reset_index(drop=True)
    lead = ["status", "symbol", "side", "order_type", "order_id_live", "order_id_backtest"]
    return out[lead + [c for c in out.columns if c not in lead]], pairs


def _fills(live: RunRecord, bt: RunRecord, order_pairs: list[tuple[str, str]]) -> pd.DataFrame:
    lf, bf = live.fills, bt.fills
    submitted_l = dict(zip(live.orders["order_id"], live.orders["ts_submitted"]))
    submitted_b = dict(zip(bt.orders["order_id"], bt.orders["ts_submitted"]))
    partner = dict(order_pairs)
    by_order_b = {k: g for k, g in bf.groupby("order_id")} if len(bf) else {}
    by_order_l = {k: g for k, g in lf.groupby("order_id")} if len(lf) else {}
    rows = []

    def add(a: Any, b: Any, status: str, order_matched: bool) -> None:
        ref = a if a is not None else b
        row = {"status": status, "order_matched": order_matched, "symbol": ref["symbol"], "side": ref["side"],
               "fill_number": int(ref["fill_number"])}
        for name, f, sub in (("live", a, submitted_l), ("backtest", b, submitted_b)):
            row[f"order_id_{name}"] = None if f is None else f["order_id"]
            row[f"fill_id_{name}"] = None if f is None else f["fill_id"]
            row[f"ts_{name}"] = None if f is None else int(f["ts_event"])
            for c in ("quantity", "price", "commission"):
                row[f"{c}_{name}"] = np.nan if f is None else float(f[c])
            row[f"time_to_fill_{name}"] = np.nan if f is None else _seconds(f["ts_event"], sub.get(f["order_id"]))
        rows.append(row)

    seen_b: set[str] = set()
    for order_l, group_l in by_order_l.items():
        order_b = partner.get(order_l)
        group_b = by_order_b.get(order_b) if order_b is not None else None
        if order_b is not None:
            seen_b.add(order_b)
        nb = {int(r["fill_number"]): r for _, r in group_b.iterrows()} if group_b is not None else {}
        for _, a in group_l.iterrows():
            b = nb.pop(int(a["fill_number"]), None)
            add(a, b, MATCHED if b is not None else EXTRA, order_b is not None)
        for b in nb.values():
            add(None, b, MISSING, True)
    for order_b, group_b in by_order_b.items():
        if order_b in seen_b:
            continue
        matched = order_b in set(partner.values())
        for _, b in group_b.iterrows():
            add(None, b, MISSING, matched)
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=["status", "order_matched", "symbol", "side", "fill_number", "price_difference_bps",
                                     "slippage_bps", "quantity_difference", "time_difference"])
    sign = side_sign(out["side"])
    out["price_difference_bps"] = (out["price_live"] - out["price_backtest"]) / out["price_backtest"] * 1e4
    out["slippage_bps"] = sign * out["price_difference_bps"] + 0.0  # + 0.0: no negative zeros
    out["quantity_difference"] = out["quantity_live"] - out["quantity_backtest"]
    difference = out["ts_live"].astype("Float64") - out["ts_backtest"].astype("Float64")
    out["time_difference"] = difference.to_numpy(float, na_value=np.nan) / 1e9
    key = out["ts_live"].fillna(out["ts_backtest"])
    out = out.assign(_k=key).sort_values("_k", kind="stable").drop(columns="_k").reset_index(drop=True)
    for c in ("ts_live", "ts_backtest"):
        out[c] = to_time(out[c])
    return out


# ------------------------------------------------------------------------------------ the runs
def compare_runs(
    live_events: Iterable[Any],
    backtest_result: Any,
    *,
    starting_cash: float,
    recorded: Iterable[Any] | None = None,
    backtest_data: Iterable[Any] | None = None,
    tolerance: int | None = 0,
    parameter_differences: Mapping[str, tuple[Any, Any]] | None = None,
    session_id: str = "",
    notes: Iterable[str] = (),
) -> Comparison:
    """Compare a live run's events with a finished backtest.

    Parameters
    ----------
    live_events : iterable of Event
        The live/paper session's events in journal order.
    backtest_result : BacktestResult
        Run with ``keep_events=True`` (the :func:`~workbench.engine.backtest.run_backtest` default).
    starting_cash : float
        Of the live session (currency).
    recorded : iterable of Bar/QuoteTick/TradeTick, optional
        The data the live session received (for the data range, TCA and data differences).
    backtest_data : iterable of market data, optional
        The backtest's stream when it is not ``recorded`` (differences are then listed).
    tolerance : int | None
        Matching tolerance in ns (0 = equal timestamps); None = align by sequence instead of time
        (signals on direction, orders on quantity and tag; see
        :func:`~workbench.analytics.matching.match_by_sequence`).
    parameter_differences : mapping, optional
        Strategy parameter -> (live, backtest) values that differ, for the explanations.
    """
    live = run_record(live_events)
    bt = run_record(backtest_result.events)
    items = list(recorded) if recorded is not None else []
    diffs = stream_differences(items, backtest_data) if backtest_data is not None and items else \
        pd.DataFrame(columns=["kind", "symbol", "ts_init", "side"])
    ts_all = [x.ts_init for x in items]
    ctx = MismatchContext(live, bt, min(ts_all) if ts_all else None, max(ts_all) if ts_all else None, diffs,
                          dict(parameter_differences or {}))
    signals = _signals(live, bt, tolerance, ctx)
    orders, pairs = _orders(live, bt, tolerance, ctx)
    fills = _fills(live, bt, pairs)
    marks = {str(k): float(v) for k, v in backtest_result.engine.portfolio.last_prices.items()}
    pnl_backtest = float(backtest_result.final_equity) - float(backtest_result.engine.portfolio.starting_cash)
    if live.final_equity is not None:
        pnl_live = float(live.final_equity) - starting_cash
    else:
        pnl_live = float(fill_values(live.fills, marks).sum()) - live.commissions
    attribution = attribution_table(live, bt, fills, marks, pnl_live, pnl_backtest)
    all_notes = list(notes) + live.notes
    if live.signals.empty and bt.signals.empty:
        all_notes.append("neither run recorded signals (SmaCrossover records them only with record_signals=True): "
                         "compare the orders instead")
    summary = comparison_summary(signals, orders, fills, attribution, pnl_live, pnl_backtest, len(diffs), live, bt)
    out_diffs = diffs.assign(ts_init=to_time(diffs["ts_init"])) if len(diffs) else diffs
    return Comparison(session_id, signals, orders, fills, attribution, summary, out_diffs, all_notes, live, bt,
                      backtest_result, marks, _frames_of(items))


# --------------------------------------------------------------------------------- the session
def _recording(recording: Any, saved: Mapping[str, Any], notes: list[str]) -> Any:
    from workbench.feeds.recorder import Recording
    from workbench.session import load_stream

    if recording is None:
        spec = saved.get("data")
        if isinstance(spec, str) and Path(spec).is_dir():
            return Recording(spec)
        if spec in (None, "custom"):
            raise ConfigError("compare_session: the session's data was not a named source: pass recording=DIR "
                              "(record it with paper_session(..., record_to=DIR))")
        notes.append(f"no recording given: the backtest re-reads the session's data source {spec!r}; it matches "
                     "what the session received only if that source is unchanged and the session ran to its end")
        return load_stream(spec, regular=bool(saved.get("regular", True)))
    if isinstance(recording, str | Path):
        return Recording(recording)
    return recording


def _session_models(saved: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """Fill model, commission and a fresh risk engine from the session's journaled config (if any)."""
    if "config" not in saved:
        return {}
    from workbench.config import load_config
    from workbench.risk.factory import build_risk_engine

    config = load_config(saved["config"], confirm_live=True)
    notes.append("the backtest uses the session's journaled configuration: risk rules, fill model, commission")
    return {"fill_model": config.fill_model(), "commission": config.commission_model(),
            "risk": build_risk_engine(config.risk)}


def compare_session(
    session_id: str,
    journal: Any = None,
    recording: Any = None,
    *,
    data: Any = None,
    strategy: Any = None,
    params: Mapping[str, Any] | None = None,
    fill_model: Any = None,
    commission: Any = None,
    risk: Any = None,
    starting_cash: float | None = None,
    tolerance: int | pd.Timedelta | None = None,
) -> Comparison:
    """Re-run a journaled session as a backtest on its recorded data and compare the two runs.

    Parameters
    ----------
    session_id : str
    journal : Journal | str | None
        A Journal, URL or path; default :func:`workbench.session.default_journal_url`.
    recording : str | Path | Recording | MarketDataStream | None
        The session's recorded market data (``paper_session(record_to=DIR)``). Default: the
        session's data source when it is a recording directory or a named source (with a note).
    data : iterable of market data, optional
        Run the backtest on this stream instead of the recording (what-if; the differences from
        the recording are listed in ``data_differences`` and used in the explanations).
    strategy : Strategy, optional
        Default: the session's strategy rebuilt from its journaled name and ``params``.
    params : mapping, optional
        Strategy parameters for the backtest (default: the session's).
    fill_model, commission, risk : optional
        The backtest broker's models and risk engine. Default: the session's own journaled
        configuration (a session started with ``--config``/``config=``: its risk rules, fill model
        and commission), else the defaults (no slippage, no commission, no risk rules), as the
        session ran. A comparison must hold everything but the execution path equal, or it shows
        gaps nobody injected (LEAN's live/backtest reconciliation reruns with the live job's settings).
    starting_cash : float, optional
        Default: the session's.
    tolerance : int ns | Timedelta | "sequence" | None
        Matching tolerance; default (None) 0 for a session replayed at full speed (``speed`` None),
        else ``"sequence"``: a paced replay stamps signals and orders with its replay clock, which
        runs ahead of the data being processed whenever processing lags (at speed 20000 a lag of
        1 ms is 20 s of data time), so its runs are aligned by sequence, not by time (fills keep
        the data's timestamps; time to fill can then be negative).

    Raises
    ------
    JournalError
        Unknown session.
    ConfigError
        No recording given and the session's data source cannot be re-read.
    """
    from workbench.engine.backtest import run_backtest
    from workbench.session import make_strategy, open_journal, session_risk_engine

    jr = open_journal(journal, create=False)
    row = jr.session(session_id)
    saved = dict(row.get("parameters") or {})
    notes: list[str] = []
    live_events = list(jr.events(session_id))
    recorded = list(_recording(recording, saved, notes))
    saved_params = dict(saved.get("params") or {})
    if strategy is None:
        strategy = make_strategy(saved.get("strategy", row.get("strategy") or "sma_crossover"),
                                 {**saved_params, **dict(params or {})})
    used = strategy.params.model_dump() if hasattr(strategy, "params") else {}
    param_diffs = {k: (saved_params.get(k), used.get(k)) for k in sorted(set(saved_params) | set(used))
                   if saved_params.get(k) != used.get(k)}
    cash = float(saved.get("starting_cash", 100_000.0)) if starting_cash is None else float(starting_cash)
    backtest_data = list(data) if data is not None else None
    options: dict[str, Any] = {"starting_cash": cash, **_session_models(saved, notes)}
    if "risk" not in options:  # no journaled config: the default risk profile every session gets
        from workbench.session import session_risk_engine

        options["risk"] = session_risk_engine(saved)
    for key, value in (("fill_model", fill_model), ("commission", commission), ("risk", risk)):
        if value is not None:
            options[key] = value
    result = run_backtest(strategy, backtest_data if backtest_data is not None else recorded, progress=False, **options)
    tol: int | None
    if tolerance is None:
        tol = 0 if saved.get("speed") is None else None
    elif isinstance(tolerance, str) and tolerance == "sequence":
        tol = None
    else:
        tol = int(pd.Timedelta(tolerance).value) if isinstance(tolerance, pd.Timedelta) else int(tolerance)
    if tol is None:
        notes.append(f"the session was paced (speed {saved.get('speed')}): its signal and order timestamps come from "
                     "the replay clock, which runs ahead of the data when processing lags, so the runs were aligned "
                     "by sequence; times to fill of the live run can be off (even negative) by that lag")
    if cash != float(saved.get("starting_cash", cash)):
        notes.append(f"the backtest starts with {cash:,.2f}, the session with {saved.get('starting_cash')}")
    return compare_runs(live_events, result, starting_cash=float(saved.get("starting_cash", cash)), recorded=recorded,
                        backtest_data=backtest_data, tolerance=tol, parameter_differences=param_diffs,
                        session_id=session_id, notes=notes)
