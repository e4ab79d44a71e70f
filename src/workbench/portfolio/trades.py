"""Round trips (trades) from a fill list.

A round trip opens when a symbol's position leaves zero and closes when it returns to zero; a fill
that flips the position closes one round trip and opens the next with the remainder. Entry and exit
prices are the quantity-weighted averages of the opening and closing fills; ``pnl`` is net of all
commissions paid inside the round trip (a flipping fill's commission is split pro rata).
"""

from __future__ import annotations

import pandas as pd

TRADE_COLUMNS = [
    "symbol", "direction", "quantity", "entry_time", "exit_time", "entry_price", "exit_price", "gross_pnl",
    "commission", "pnl", "return", "fills",
]


def round_trips(fills: pd.DataFrame) -> pd.DataFrame:
    """Round trips from ``fills`` (columns symbol, side, quantity, price, commission, ts_event).

    Returns a DataFrame with :data:`TRADE_COLUMNS`; times as given in ``ts_event``; ``return`` is
    ``pnl`` over the entry notional. Open round trips at the end are not included.
    """
    rows: list[tuple] = []  # one per round trip, TRADE_COLUMNS order; times as row numbers of ``fills``
    state: dict[str, dict] = {}
    eps = 1e-9
    columns = (fills["symbol"].tolist(), fills["side"].tolist(), fills["quantity"].tolist(), fills["price"].tolist(),
               fills["commission"].tolist())  # plain lists: no per-row pandas objects
    for i, (sym, side, qty, px, fee) in enumerate(zip(*columns, strict=True)):
        qty, px, fee = float(qty), float(px), float(fee)
        signed = qty if str(side) == "BUY" else -qty
        remaining, fee_left = signed, fee
        while abs(remaining) > eps:
            st = state.get(sym)
            if st is None or abs(st["pos"]) < eps:
                st = state[sym] = {"pos": 0.0, "entry_qty": 0.0, "entry_value": 0.0, "exit_qty": 0.0,
                                   "exit_value": 0.0, "commission": 0.0, "entry_row": i, "fills": 0,
                                   "dir": 1.0 if remaining > 0 else -1.0}
            if st["dir"] * remaining > 0:  # adds to the position
                part = remaining
                st["entry_qty"] += abs(part)
                st["entry_value"] += abs(part) * px
            else:
                part = -st["dir"] * min(abs(remaining), abs(st["pos"]))
                st["exit_qty"] += abs(part)
                st["exit_value"] += abs(part) * px
            share = abs(part) / qty if qty else 1.0
            st["commission"] += fee * share
            fee_left -= fee * share
            st["fills"] += 1
            st["pos"] += part
            remaining -= part
            if abs(st["pos"]) < eps and st["exit_qty"] > 0:
                entry_price = st["entry_value"] / st["entry_qty"]
                exit_price = st["exit_value"] / st["exit_qty"]
                gross = (exit_price - entry_price) * st["exit_qty"] * st["dir"]
                rows.append((
                    sym, "LONG" if st["dir"] > 0 else "SHORT", st["entry_qty"], st["entry_row"], i, entry_price,
                    exit_price, gross, st["commission"], gross - st["commission"],
                    (gross - st["commission"]) / st["entry_value"] if st["entry_value"] else 0.0, st["fills"],
                ))
                del state[sym]
    out = pd.DataFrame(rows, columns=TRADE_COLUMNS)
    times = fills["ts_event"]  # row numbers -> the fills' own times, dtype kept
    for name in ("entry_time", "exit_time"):
        out[name] = times.iloc[out[name].to_numpy(dtype="int64")].reset_index(drop=True)
    return out
