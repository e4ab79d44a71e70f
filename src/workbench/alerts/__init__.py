"""Alerts: event -> alert rules (levels, suggested actions, dedupe, rate limit) and sinks (log, apprise)."""

from workbench.alerts.rules import DEFAULT_RULES, Alert, AlertLevel, AlertManager, AlertSink
from workbench.alerts.sinks import AppriseSink, LogSink, format_alert

__all__ = ["DEFAULT_RULES", "Alert", "AlertLevel", "AlertManager", "AlertSink", "AppriseSink", "LogSink", "format_alert"]
