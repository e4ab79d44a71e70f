"""Transaction cost analysis (TCA) of a session's fills against its recorded quotes.

Per fill (``sign`` = +1 for a buy, -1 for a sell; bps = 1e-4; positive slippage = cost):

* **decision price** -- the ``entry`` of the strategy's signal for the symbol at the time the
  order was created, else the last bar close known then (``ts_init <= order creation``), else the
  arrival mid (``decision_source`` says which);
* **arrival** -- the quote prevailing when the order reached the broker: the last recorded quote
  with ``ts_init <=`` the submission time (an order sent on a bar at time T is compared with the
  quote stamped T, which the engine delivers right after that bar and which a market order fills
  against): ``arrival_bid``, ``arrival_ask``, ``arrival_mid`` = (bid + ask) / 2, ``spread`` =
  ask - bid (currency) and ``spread_bps`` = spread / mid x 1e4;
* ``slippage_vs_decision_bps`` = sign x (price - decision) / decision x 1e4,
  ``slippage_vs_arrival_bps`` = sign x (price - arrival_mid) / arrival_mid x 1e4 (the execution
  part of Perold's implementation shortfall: A. Perold, "The implementation shortfall: paper
  versus reality", J. Portfolio Management 14(3), 1988), ``arrival_cost`` = sign x (price -
  arrival_mid) x quantity (currency), and ``slippage_vs_backtest_bps`` against the backtest's
  fill of the same order (from :mod:`workbench.analytics.compare`);
* ``time_to_fill`` -- seconds from submission to the fill.

Times are the journal's: a session replayed at full speed stamps orders with the data's time, so
the arrival quote is exact; a paced replay stamps them with its replay clock, which runs ahead of
the data when processing lags, so its arrival quotes can be later than the true ones.

Per order: ``fill_rate`` = filled quantity / ordered quantity (orders that reached the broker).
Aggregates (:meth:`TransactionCosts.by`) weight bps by fill notional (quantity x price):
``sum(bps_i x notional_i) / sum(notional_i)``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.analytics.session_frames import side_sign
from workbench.analytics.timeseries import EXCHANGE_TIMEZONE

__all__ = ["TCA_GROUPS", "TransactionCosts", "aggregate_costs", "session_tca", "transaction_costs"]

TCA_GROUPS = ("symbol", "side", "order_type", "hour")
"""Keys :meth:`TransactionCosts.by` accepts (``hour`` = exchange-time hour of submission, 0-23)."""

_BPS = ("slippage_vs_decision_bps", "slippage_vs_arrival_bps", "slippage_vs_backtest_bps", "spread_bps")


def _ns(values: pd.Series) -> pd.Series:
    """int ns since epoch UTC (nullable Int64) from ints or tz-aware timestamps."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values):
        out = pd.Series(values.dt.tz_convert("UTC").array.asi8 if isinstance(values.dtype, pd.DatetimeTZDtype)
                        else values.array.asi8, index=values.index, dtype="Int64")
        return out.mask(values.isna())
    return values.astype("Int64")


def _asof(left: pd.DataFrame, on: str, right: pd.DataFrame, columns: list[str], exact: bool) -> pd.DataFrame:
    """For each row of ``left`` the last ``right`` row of its symbol with ``ts_init`` before (or, with
    ``exact``, at) ``left[on]``; NaN where there is none."""
    out = pd.DataFrame(index=left.index, columns=columns, dtype=float)
    if right is None or right.empty or left.empty:
        return out
    keyed = left[["symbol"]].assign(_t=_ns(left[on]), _row=np.arange(len(left)))
    keyed = keyed[keyed["_t"].notna()].astype({"_t": "int64"}).sort_values("_t", kind="stable")
    r = right[["symbol", "ts_init", *columns]].assign(_t=_ns(right["ts_init"]).astype("int64"))
    r = r.drop(columns="ts_init").sort_values("_t", kind="stable")
    merged = pd.merge_asof(keyed, r, on="_t", by="symbol", allow_exact_matches=exact)
    out.iloc[merged["_row"].to_numpy(), :] = merged[columns].to_numpy(float)
    return out.astype(float)


@dataclass
class TransactionCosts:
    """TCA of a run: per fill, per order, and aggregates (see the module docstring for definitions).

    Attributes
    ----------
    fills : pandas.DataFrame
        One row per fill: order terms, ``decision_price``, ``decision_source``, ``arrival_*``,
        ``spread``, ``spread_bps``, the ``slippage_*_bps`` columns, ``arrival_cost`` (currency),
        ``backtest_price``, ``time_to_fill`` (seconds), ``hour``, ``notional`` (currency).
    orders : pandas.DataFrame
        One row per order that reached the broker: ``quantity``, ``filled_quantity``, ``fill_rate``,
        ``time_to_first_fill`` (seconds), ``hour``.
    summary : pandas.Series
        Totals over every fill and order (same columns as :meth:`by`).
    """

    fills: pd.DataFrame
    orders: pd.DataFrame
    summary: pd.Series

    def by(self, key: str | list[str]) -> pd.DataFrame:
        """Aggregates by ``key`` (one or more of :data:`TCA_GROUPS`); see :func:`aggregate_costs`."""
        return aggregate_costs(self.fills, self.orders, key)

    @property
    def by_symbol(self) -> pd.DataFrame:
        return self.by("symbol")

    @property
    def by_side(self) -> pd.DataFrame:
        return self.by("side")

    @property
    def by_order_type(self) -> pd.DataFrame:
        return self.by("order_type")

    @property
    def by_hour(self) -> pd.DataFrame:
        return self.by("hour")

    def _repr_html_(self) -> str:
        parts = ["<p><b>Transaction costs</b></p>", self.summary.to_frame("value").to_html()]
        for key in TCA_GROUPS:
            parts += [f"<p>by {html.escape(key)}</p>", self.by(key).to_html(float_format=lambda x: f"{x:,.3f}")]
        return "\n".join(parts)


def _weighted(group: pd.DataFrame, column: str) -> float:
    valid = group[column].notna() & (group["notional"] > 0)
    w = group.loc[valid, "notional"].to_numpy(float)
    return float(np.average(group.loc[valid, column].to_numpy(float), weights=w)) if w.sum() > 0 else np.nan


def _stats(fills: pd.DataFrame, orders: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {
        "fills": float(len(fills)),
        "orders": float(len(orders)),
        "quantity": float(fills["quantity"].sum()),
        "notional": float(fills["notional"].sum()),
        "commission": float(fills["commission"].sum()),
        "arrival_cost": float(fills["arrival_cost"].sum()),
    }
    for column in _BPS:
        out[column] = _weighted(fills, column)
    ordered = float(orders["quantity"].sum())
    out["fill_rate"] = float(orders["filled_quantity"].sum()) / ordered if ordered > 0 else np.nan
    out["median_time_to_fill"] = float(fills["time_to_fill"].median()) if len(fills) else np.nan
    return out


def aggregate_costs(fills: pd.DataFrame, orders: pd.DataFrame, key: str | list[str]) -> pd.DataFrame:
    """Per group of ``key``: fills, orders, quantity (shares), notional, commission and
    arrival_cost (currency), notional-weighted ``*_bps``, ``fill_rate`` (filled / ordered
    quantity of the group's orders), ``median_time_to_fill`` (seconds).

    Raises
    ------
    ValueError
        If a key is not one of :data:`TCA_GROUPS`.
    """
    keys = [key] if isinstance(key, str) else list(key)
    bad = [k for k in keys if k not in TCA_GROUPS]
    if bad:
        raise ValueError(f"aggregate_costs: key must be among {TCA_GROUPS}, got {bad}")
    groups = sorted(set(map(tuple, fills[keys].to_numpy().tolist())) | set(map(tuple, orders[keys].to_numpy().tolist())))
    rows = []
    for values in groups:
        fm = np.logical_and.reduce([fills[k].to_numpy() == v for k, v in zip(keys, values)]) if len(fills) else []
        om = np.logical_and.reduce([orders[k].to_numpy() == v for k, v in zip(keys, values)]) if len(orders) else []
        f = fills[fm] if len(fills) else fills
        o = orders[om] if len(orders) else orders
        rows.append({**dict(zip(keys, values)), **_stats(f, o)})
    out = pd.DataFrame(rows)
    return out.set_index(keys) if len(out) else out


def transaction_costs(
    fills: pd.DataFrame,
    orders: pd.DataFrame,
    quotes: pd.DataFrame | None,
    *,
    bars: pd.DataFrame | None = None,
    signals: pd.DataFrame | None = None,
    backtest_prices: Mapping[str, float] | pd.Series | None = None,
    timezone: str = EXCHANGE_TIMEZONE,
) -> TransactionCosts:
    """TCA of ``fills`` against the recorded ``quotes`` (see the module docstring).

    Parameters
    ----------
    fills : pandas.DataFrame
        ``ts_event``, ``order_id``, ``fill_id``, ``symbol``, ``side``, ``quantity``, ``price``,
        ``commission`` (as :attr:`RunRecord.fills`; times int ns or tz-aware).
    orders : pandas.DataFrame
        ``order_id``, ``symbol``, ``side``, ``order_type``, ``quantity``, ``filled_quantity``,
        ``ts_init``, ``ts_submitted`` (as :attr:`RunRecord.orders`).
    quotes, bars : pandas.DataFrame | None
        Canonical quote / bar frames of the recorded data (``ts_init`` int ns, ``symbol``,
        ``bid``/``ask`` or ``close``). Without quotes the arrival columns are NaN.
    signals : pandas.DataFrame | None
        ``ts_event``, ``symbol``, ``entry`` (as :attr:`RunRecord.signals`).
    backtest_prices : mapping fill_id -> price, optional
        The backtest's price for the same fill (see :meth:`Comparison.tca`).
    timezone : str
        For ``hour``.

    Raises
    ------
    ValueError
        If a fill's order is not in ``orders``.
    """
    o = orders.copy()
    o["ts_init"] = _ns(o["ts_init"])
    o["ts_submitted"] = _ns(o["ts_submitted"]).fillna(o["ts_init"])
    missing = set(fills["order_id"]) - set(o["order_id"])
    if missing:
        raise ValueError(f"transaction_costs: fills of orders not in orders: {sorted(missing)[:5]}")
    f = fills.copy()
    f["ts_event"] = _ns(f["ts_event"])
    f = f.merge(o[["order_id", "order_type", "ts_init", "ts_submitted"]], on="order_id", how="left")
    f = f.rename(columns={"ts_init": "ts_order_init"})
    sign = side_sign(f["side"])
    price = f["price"].to_numpy(float)
    quote = _asof(f, "ts_submitted", quotes, ["bid", "ask"], exact=True)
    f["arrival_bid"], f["arrival_ask"] = quote["bid"].to_numpy(), quote["ask"].to_numpy()
    f["arrival_mid"] = (f["arrival_bid"] + f["arrival_ask"]) / 2.0
    f["spread"] = f["arrival_ask"] - f["arrival_bid"]
    f["spread_bps"] = f["spread"] / f["arrival_mid"] * 1e4
    decision = pd.Series(np.nan, index=f.index)
    source = pd.Series("arrival mid", index=f.index, dtype=object)
    if signals is not None and len(signals):
        s = signals.assign(ts_order_init=_ns(signals["ts_event"]))[["symbol", "ts_order_init", "entry"]]
        s = s.dropna(subset=["entry"]).drop_duplicates(["symbol", "ts_order_init"], keep="last")
        entry = f[["symbol", "ts_order_init"]].merge(s, on=["symbol", "ts_order_init"], how="left")["entry"]
        decision = entry.set_axis(f.index)
        source = source.mask(decision.notna(), "signal")
    if bars is not None and len(bars):
        close = _asof(f, "ts_order_init", bars, ["close"], exact=True)["close"]
        use = decision.isna() & close.notna()
        decision = decision.mask(use, close)
        source = source.mask(use, "bar close")
    decision = decision.fillna(f["arrival_mid"])
    f["decision_price"], f["decision_source"] = decision.to_numpy(float), source.to_numpy()
    f["slippage_vs_decision_bps"] = sign * (price - f["decision_price"]) / f["decision_price"] * 1e4
    f["slippage_vs_arrival_bps"] = sign * (price - f["arrival_mid"]) / f["arrival_mid"] * 1e4
    f["arrival_cost"] = sign * (price - f["arrival_mid"]) * f["quantity"]
    bt = pd.Series(backtest_prices if backtest_prices is not None else {}, dtype=float)
    f["backtest_price"] = f["fill_id"].map(bt).astype(float)
    f["slippage_vs_backtest_bps"] = sign * (price - f["backtest_price"]) / f["backtest_price"] * 1e4
    f["time_to_fill"] = (f["ts_event"] - f["ts_submitted"]).to_numpy(float, na_value=np.nan) / 1e9
    f["notional"] = f["quantity"] * price
    f["hour"] = pd.to_datetime(f["ts_submitted"].astype("int64"), unit="ns", utc=True).dt.tz_convert(timezone).dt.hour
    for c in ("ts_event", "ts_order_init", "ts_submitted"):
        f[c] = pd.to_datetime(f[c], unit="ns", utc=True)
    sent = o[_ns(orders["ts_submitted"]).notna().to_numpy()].copy()
    sent["fill_rate"] = sent["filled_quantity"] / sent["quantity"]
    first = _ns(sent["ts_first_fill"]) if "ts_first_fill" in sent.columns else pd.Series(pd.NA, index=sent.index)
    sent["time_to_first_fill"] = (first - sent["ts_submitted"]).to_numpy(float, na_value=np.nan) / 1e9
    sent["hour"] = pd.to_datetime(sent["ts_submitted"].astype("int64"), unit="ns", utc=True).dt.tz_convert(timezone).dt.hour
    keep = ["order_id", "symbol", "side", "order_type", "quantity", "filled_quantity", "fill_rate", "status",
            "time_to_first_fill", "ts_submitted", "hour"]
    sent = sent[[c for c in keep if c in sent.columns]].reset_index(drop=True)
    sent["ts_submitted"] = pd.to_datetime(sent["ts_submitted"].astype("int64"), unit="ns", utc=True)
    summary = pd.Series(_stats(f, sent), name="value")
    return TransactionCosts(f, sent, summary)


def session_tca(session_id: str, journal: Any = None, recording: Any = None, *, comparison: Any = None) -> TransactionCosts:
    """TCA of a journaled session's fills against its recording (directory or Recording).

    With a :class:`~workbench.analytics.compare.Comparison` of the session the backtest's prices
    are included (``comparison.tca()``); otherwise ``slippage_vs_backtest_bps`` is NaN.

    Raises
    ------
    DataError
        If ``recording`` holds no recording.
    """
    if comparison is not None:
        return comparison.tca()
    from workbench.analytics.session_frames import run_record
    from workbench.feeds.recorder import Recording
    from workbench.session import open_journal

    record = run_record(open_journal(journal, create=False).events(session_id))
    frames = (recording if isinstance(recording, Recording) else Recording(recording)).to_frames() \
        if recording is not None else {}
    return transaction_costs(record.fills, record.orders, frames.get("quotes"), bars=frames.get("bars"),
                             signals=record.signals)
