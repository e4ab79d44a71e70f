"""Notebook and dashboard widgets (ipywidgets + plotly) reading a session from the journal.

Components (each an ``ipywidgets.VBox`` bound to a :class:`JournalView`, updated in place by
``update(snapshot)`` / ``refresh()``): :class:`Overview`, :class:`PositionsTable`,
:class:`Blotter`, :class:`EquityChart`, :class:`SignalsTable`, :class:`RiskStatus`,
:class:`AlertsList`, :class:`SystemHealth`, :class:`LogView`, :class:`Controls`,
:class:`OrderTicket`. :class:`Dashboard` composes them with a session picker and a refresh timer
on the kernel's event loop. :func:`serve_dashboard` serves ``dashboards/ops.ipynb`` with Voila.
Research charts for backtests are in :mod:`workbench.widgets.research`.
"""

from workbench.widgets.base import Component, as_view
from workbench.widgets.charts import EquityChart
from workbench.widgets.controls import Controls, OrderTicket, ticket_args
from workbench.widgets.dashboard import DEFAULT_JOURNAL_PATH, JOURNAL_ENV, Dashboard, default_journal_url
from workbench.widgets.source import Health, JournalView, Snapshot
from workbench.widgets.status import Overview, OverviewNumbers, RiskStatus, SystemHealth, limits_used, overview_numbers
from workbench.widgets.tables import AlertsList, Blotter, LogView, PositionsTable, SignalsTable, positions_rows

__all__ = [
    "DEFAULT_JOURNAL_PATH",
    "JOURNAL_ENV",
    "AlertsList",
    "Blotter",
    "Component",
    "Controls",
    "Dashboard",
    "EquityChart",
    "Health",
    "JournalView",
    "LogView",
    "OrderTicket",
    "Overview",
    "OverviewNumbers",
    "PositionsTable",
    "RiskStatus",
    "SignalsTable",
    "Snapshot",
    "SystemHealth",
    "as_view",
    "default_journal_url",
    "limits_used",
    "overview_numbers",
    "positions_rows",
    "ticket_args",
]
