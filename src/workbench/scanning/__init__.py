"""Scheduled scans: universe, factors, composite score, filters, ranking, change detection, trade
plans and an exchange-calendar schedule (see ``docs/scans.md``)."""

from workbench.scanning.factors import FACTORS, Factor, make_factor
from workbench.scanning.filters import FILTERS, Filter, ScanContext, load_earnings_calendar, make_filter
from workbench.scanning.panel import Panel
from workbench.scanning.scan import ScanConfig, Scanner, ScanResult, detect_changes
from workbench.scanning.score import composite_score, zscores
from workbench.scanning.universe import Universe

__all__ = [
    "FACTORS",
    "FILTERS",
    "Factor",
    "Filter",
    "Panel",
    "ScanConfig",
    "ScanContext",
    "ScanResult",
    "Scanner",
    "Universe",
    "composite_score",
    "detect_changes",
    "load_earnings_calendar",
    "make_factor",
    "make_filter",
    "zscores",
]
