"""Notebook and dashboard widgets (ipywidgets + plotly) reading a session from the journal.

Components (each an ``ipywidgets.VBox`` bound to a :class:`JournalView`, updated in place by
``update(snapshot)`` / ``refresh()``): :class:`Overview`, :class:`PositionsTable`,
:class:`Blotter`, :class:`EquityChart`, :class:`SignalsTable`, :class:`RiskStatus`,
:class:`AlertsList`, :class:`SystemHealth`, :class:`LogView`, :class:`Controls`,
:class:`OrderTicket`. :class:`Dashboard` composes them with a session picker and a refresh timer
on the kernel's event loop. :func:`serve_dashboard` serves ``dashboards/ops.ipynb`` with Voila.
Research charts for backtests are in :mod:`workbench.widgets.research`.

Names are imported on first use (PEP 562), so ``workbench dashboard`` starts without loading
pandas, plotly or SQLAlchemy in the server process.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from workbench.widgets.startup import (
    DASHBOARD_KERNEL_ENV,
    KERNEL_SKIPPED_MODULES,
    SLOW_OPTIONAL_MODULES,
    skip_slow_optional_imports,
)

if os.environ.get(DASHBOARD_KERNEL_ENV) == "1":
    # Voila sets $VOILA_KERNEL_ID in its kernels before the notebook runs; the server process has none
    skip_slow_optional_imports(KERNEL_SKIPPED_MODULES if os.environ.get("VOILA_KERNEL_ID") else SLOW_OPTIONAL_MODULES)

_EXPORTS = {
    "Component": "base",
    "as_view": "base",
    "EquityChart": "charts",
    "Controls": "controls",
    "OrderTicket": "controls",
    "ticket_args": "controls",
    "DEFAULT_JOURNAL_PATH": "dashboard",
    "JOURNAL_ENV": "dashboard",
    "Dashboard": "dashboard",
    "default_journal_url": "dashboard",
    "Health": "source",
    "JournalView": "source",
    "Snapshot": "source",
    "Overview": "status",
    "OverviewNumbers": "status",
    "RiskStatus": "status",
    "SystemHealth": "status",
    "limits_used": "status",
    "overview_numbers": "status",
    "AlertsList": "tables",
    "Blotter": "tables",
    "LogView": "tables",
    "PositionsTable": "tables",
    "SignalsTable": "tables",
    "positions_rows": "tables",
    "serve_dashboard": "serve",
    "prepare_dashboard": "serve",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"workbench.widgets.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
