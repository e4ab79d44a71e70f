"""Rich HTML renderings of model objects for notebooks (``_repr_html_``)."""

from __future__ import annotations

from html import escape
from typing import Any


def table_html(title: str, rows: list[tuple[str, Any]]) -> str:
    """A two-column key/value HTML table with a caption."""
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{escape(str(k))}</th>"
        f"<td style='text-align:right'>{escape(_fmt(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table><caption style='text-align:left'><b>{escape(title)}</b></caption>{body}</table>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:,.2f}"
    return str(v)


def order_html(order: Any) -> str:
    rows = [
        ("symbol", order.symbol),
        ("side", order.side),
        ("type", order.order_type),
        ("quantity", order.quantity),
        ("limit price", order.limit_price if order.limit_price is not None else "-"),
        ("stop price", order.stop_price if order.stop_price is not None else "-"),
        ("time in force", order.time_in_force),
        ("status", order.status),
        ("filled", order.filled_quantity),
        ("avg fill price", order.avg_fill_price),
        ("commission", order.commission),
    ]
    return table_html(f"Order {order.order_id}", rows)


def position_html(position: Any) -> str:
    rows = [
        ("side", position.side),
        ("quantity", position.quantity),
        ("avg price", position.avg_price),
        ("realized P&L", position.realized_pnl),
        ("commissions", position.commissions),
    ]
    return table_html(f"Position {position.symbol}", rows)
