"""The configured risk limits of a session and how much of each is used now, as bars.

The limits come from the risk configuration journaled with the session (its ``parameters
["config"]["risk"]``, see :class:`workbench.risk.config.RiskConfig`), with later ``set_limit``
changes applied; the usage is computed from the journal's read models (positions, orders, equity),
so it is visible before anything is breached:

==============================  ==============================================================
rule                            value used (currency amounts in the account's currency)
==============================  ==============================================================
max_order_quantity              largest order quantity (shares) of the day
max_order_notional              largest order quantity x price of the day
max_position_quantity           largest |position| (shares)
max_position_notional           largest |position| x average price
max_position_percent_equity     largest |position| x average price / equity
max_open_positions              open positions
max_gross_exposure              gross exposure of the latest AccountState
max_net_exposure                |net exposure| of the latest AccountState
daily_loss                      loss since the start of the day (0 when the day is up)
max_drawdown                    drawdown of equity from its peak, as a fraction
==============================  ==============================================================

``used_percent = 100 x value / limit``. A session without a journaled risk configuration shows
the rules that fired instead (:func:`workbench.widgets.status.limits_used`).
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
import pandas as pd

from workbench.widgets.html import money, number
from workbench.widgets.source import DAY_TIMEZONE, Snapshot

__all__ = ["configured_limits", "limit_bars_html"]

_COLUMNS = ["rule", "value", "limit", "used_percent", "unit"]


def _risk_config(snapshot: Snapshot) -> tuple[dict[str, Any] | None, str]:
    """(risk section, where it came from): the session's journaled config, else the default profile
    that ``paper``/``live`` sessions without a config run with (:func:`workbench.session.
    default_risk_engine`); None for other sessions (backtests, hand-driven test sessions)."""
    parameters = snapshot.session.get("parameters") or {}
    config = parameters.get("config") if isinstance(parameters, dict) else None
    risk = config.get("risk") if isinstance(config, dict) else None
    if isinstance(risk, dict):
        return risk, "the session's risk config"
    if snapshot.session.get("mode") in ("paper", "live") and isinstance(parameters, dict) and "params" in parameters:
        from workbench.risk.config import RiskConfig

        return RiskConfig().model_dump(mode="json"), "the default risk profile (the session has no risk config)"
    return None, ""


def _overrides(snapshot: Snapshot) -> dict[str, float]:
    """Limits changed by ``set_limit`` (rule name -> new value), oldest first so the newest wins."""
    ev = snapshot.risk_events
    if not len(ev) or "action" not in ev:
        return {}
    changed = ev[ev["action"].eq("set_limit") & ev["value"].notna()]
    return {str(r.rule): float(r.value) for r in changed.itertuples()}


def _today(frame: pd.DataFrame, column: str, data_time: pd.Timestamp | None) -> pd.DataFrame:
    if data_time is None or not len(frame):
        return frame
    start = data_time.tz_convert(DAY_TIMEZONE).normalize().tz_convert("UTC")
    return frame[frame[column] >= start]


def _usage(snapshot: Snapshot) -> dict[str, tuple[float, str]]:
    """Value used per rule and its unit, from the snapshot's frames."""
    positions = snapshot.positions
    if len(positions) and "status" in positions:
        positions = positions[positions["status"].eq("open")]
    quantity = positions["quantity"].abs().to_numpy(dtype=float) if len(positions) else np.zeros(0)
    notional = (positions["quantity"].abs() * positions["avg_price"]).to_numpy(dtype=float) if len(positions) \
        else np.zeros(0)
    eq = snapshot.equity
    equity = float(eq["equity"].iloc[-1]) if len(eq) else float("nan")
    orders = _today(snapshot.orders, "ts_init", snapshot.data_time)
    if len(orders):
        price = orders["limit_price"].fillna(orders["avg_fill_price"].where(orders["avg_fill_price"] > 0))
        order_qty = float(orders["quantity"].abs().max())
        order_notional = float((orders["quantity"].abs() * price).max(skipna=True)) if price.notna().any() else 0.0
    else:
        order_qty = order_notional = 0.0
    usage: dict[str, tuple[float, str]] = {
        "max_order_quantity": (order_qty, "shares"),
        "max_order_notional": (order_notional, "currency"),
        "max_position_quantity": (float(quantity.max()) if len(quantity) else 0.0, "shares"),
        "max_position_notional": (float(notional.max()) if len(notional) else 0.0, "currency"),
        "max_position_percent_equity": (
            float(notional.max()) / equity if len(notional) and equity > 0 else 0.0, "fraction"),
        "max_open_positions": (float(len(positions)), "count"),
    }
    if len(eq):
        last = eq.iloc[-1]
        usage["max_gross_exposure"] = (float(last["gross_exposure"]), "currency")
        usage["max_net_exposure"] = (abs(float(last["net_exposure"])), "currency")
        local = eq["ts_event"].dt.tz_convert(DAY_TIMEZONE)
        before = eq["equity"][(local < local.iloc[-1].normalize()).to_numpy()]
        start = float(before.iloc[-1]) if len(before) else float(eq["equity"].iloc[0])
        usage["daily_loss"] = (max(0.0, start - equity), "currency")
        peak = float(eq["equity"].max())
        usage["max_drawdown"] = (max(0.0, (peak - equity) / peak) if peak > 0 else 0.0, "fraction")
    return usage


def configured_limits(snapshot: Snapshot) -> pd.DataFrame | None:
    """Enabled limits of the session's risk configuration (see :func:`_risk_config`) with their usage
    (columns ``rule``, ``value``, ``limit``, ``used_percent``, ``unit``; ``attrs["source"]`` says
    where the limits came from), or None without a configuration.

    ``daily_loss`` with a ``percent`` limit is converted to currency with the start-of-day
    equity; ``max_drawdown``'s limit is a fraction.
    """
    risk, source = _risk_config(snapshot)
    if risk is None:
        return None
    usage = _usage(snapshot)
    overrides = _overrides(snapshot)
    rows = []
    pre = risk.get("pre_trade") or {}
    for rule in ("max_order_quantity", "max_order_notional", "max_position_quantity", "max_position_notional",
                 "max_open_positions", "max_gross_exposure", "max_net_exposure"):
        conf = pre.get(rule) or {}
        if conf.get("enabled", True) and conf.get("limit") is not None and rule in usage:
            rows.append((rule, *usage[rule][:1], overrides.get(rule, float(conf["limit"])), usage[rule][1]))
    conf = pre.get("max_position_percent_equity") or {}
    if conf.get("enabled", True) and conf.get("percent") is not None:
        rule = "max_position_percent_equity"
        rows.append((rule, usage[rule][0], overrides.get(rule, float(conf["percent"])), "fraction"))
    portfolio = risk.get("portfolio") or {}
    daily = portfolio.get("daily_loss") or {}
    if daily.get("enabled", True) and "daily_loss" in usage:
        eq = snapshot.equity
        limit = daily.get("limit")
        if limit is None and daily.get("percent") is not None and len(eq):
            local = eq["ts_event"].dt.tz_convert(DAY_TIMEZONE)
            before = eq["equity"][(local < local.iloc[-1].normalize()).to_numpy()]
            start = float(before.iloc[-1]) if len(before) else float(eq["equity"].iloc[0])
            limit = float(daily["percent"]) * start
        if limit is not None:
            rows.append(("daily_loss", usage["daily_loss"][0], overrides.get("daily_loss", float(limit)), "currency"))
    drawdown = portfolio.get("max_drawdown") or {}
    if drawdown.get("enabled", True) and drawdown.get("percent") is not None and "max_drawdown" in usage:
        rows.append(("max_drawdown", usage["max_drawdown"][0],
                     overrides.get("max_drawdown", float(drawdown["percent"])), "fraction"))
    frame = pd.DataFrame(rows, columns=["rule", "value", "limit", "unit"])
    limit = frame["limit"].astype(float)
    frame["used_percent"] = 100.0 * frame["value"].astype(float) / limit.where(limit > 0)
    frame = frame[_COLUMNS]
    frame.attrs["source"] = source
    return frame


def _amount(value: float, unit: str) -> str:
    if unit == "fraction":
        return number(100.0 * value, 1) + " %"
    if unit == "currency":
        return money(value)
    return number(value, 0)


def limit_bars_html(frame: pd.DataFrame) -> str:
    """Rows ``rule  [bar]  value / limit  (used %)``; the bar is green below 70 %, amber below 90 %,
    red above. Each row has class ``wb-limit`` and ``data-rule``; the bar ``data-used`` (percent)."""
    if frame is None or not len(frame):
        return "<div class='wb-empty wb-limits'>no configured limits</div>"
    source = frame.attrs.get("source", "")
    out = []
    for r in frame.itertuples():
        used = float(r.used_percent) if pd.notna(r.used_percent) else 0.0
        colour = "#1a7f37" if used < 70 else "#b26a00" if used < 90 else "#c62828"
        width = max(0.0, min(100.0, used))
        out.append(
            f"<div class='wb-limit' data-rule='{escape(str(r.rule))}'>"
            f"<span class='wb-limit-rule'>{escape(str(r.rule).replace('_', ' '))}</span>"
            f"<span class='wb-limit-bar'><span class='wb-limit-fill' data-used='{used:.1f}' "
            f"style='width:{width:.1f}%;background:{colour}'></span></span>"
            f"<span class='wb-limit-text'>{escape(_amount(r.value, r.unit))} / {escape(_amount(r.limit, r.unit))}"
            f" ({used:.0f} %)</span></div>"
        )
    note = f"<div class='wb-note'>limits of {escape(source)}</div>" if source else ""
    return f"{note}<div class='wb-limits-bars'>{''.join(out)}</div>"
