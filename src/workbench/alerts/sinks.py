"""Alert sinks: the log, and apprise (email, Discord, Slack, Telegram, Twilio SMS, JSON webhooks, ...).

A sink has ``accepts(alert)`` (filters by level and by source event type) and ``send(alert)``.
Channel URLs carry secrets (tokens, passwords): build them from the environment
(:func:`workbench.risk.factory.build_alert_manager` reads ``url_env`` names), never from files in
the repository.

:class:`AppriseSink` never blocks a running event loop: inside one (paper/live runs, notebooks)
delivery runs in the loop's default thread pool and ``send`` returns the future; without a loop
(backtests, scripts) it delivers synchronously and returns apprise's boolean result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from workbench.alerts.rules import Alert, AlertLevel

_LOG_LEVELS = {AlertLevel.CRITICAL: logging.CRITICAL, AlertLevel.WARNING: logging.WARNING, AlertLevel.INFO: logging.INFO}


class _Filtered:
    def __init__(self, levels: Iterable[AlertLevel | str] | None = None, sources: Iterable[str] | None = None) -> None:
        self.levels = None if levels is None else frozenset(AlertLevel(x) for x in levels)
        self.sources = None if sources is None else frozenset(sources)

    def accepts(self, alert: Alert) -> bool:
        """True when the alert's level and source event type pass this sink's filters."""
        return (self.levels is None or alert.level in self.levels) and (
            self.sources is None or alert.source in self.sources
        )


def format_alert(alert: Alert) -> str:
    """Body text: the message, then the suggested action on its own line."""
    return alert.message + (f"\nSuggested action: {alert.action}" if alert.action else "")


class LogSink(_Filtered):
    """Writes alerts to ``logger`` (default ``workbench.alerts``) at the matching logging level."""

    def __init__(self, logger: logging.Logger | None = None, levels: Iterable[AlertLevel | str] | None = None,
                 sources: Iterable[str] | None = None) -> None:
        super().__init__(levels, sources)
        self.logger = logger or logging.getLogger("workbench.alerts")

    def send(self, alert: Alert) -> None:
        self.logger.log(_LOG_LEVELS[alert.level], "[%s] %s: %s", alert.level.value, alert.title, format_alert(alert))


_NOTIFY_TYPES = {AlertLevel.CRITICAL: "failure", AlertLevel.WARNING: "warning", AlertLevel.INFO: "info"}


class AppriseSink(_Filtered):
    """Delivers alerts through apprise to every URL in ``urls``.

    Parameters
    ----------
    urls : Iterable[str]
        apprise URLs, e.g. ``json://host:port/path``, ``discord://id/token``, ``mailtos://...``.
    levels, sources : Iterable | None
        Only alerts of these levels / source event type names (None = all).
    title_prefix : str
        Prepended to every title, e.g. ``"[workbench] "``.

    Raises
    ------
    ValueError
        If a URL is not understood by apprise (the message shows the URL's scheme only, as the
        rest may hold a secret).
    """

    def __init__(self, urls: Iterable[str], levels: Iterable[AlertLevel | str] | None = None,
                 sources: Iterable[str] | None = None, title_prefix: str = "[workbench] ") -> None:
        import apprise

        super().__init__(levels, sources)
        self.apprise = apprise.Apprise()
        for url in urls:
            if not self.apprise.add(url):
                scheme = url.split("://", 1)[0] if "://" in url else "?"
                raise ValueError(f"AppriseSink: apprise does not understand a URL with scheme {scheme!r}")
        self.title_prefix = title_prefix
        self.failures = 0

    def _notify(self, alert: Alert) -> bool:
        ok = bool(self.apprise.notify(body=format_alert(alert), title=self.title_prefix + alert.title,
                                      notify_type=_NOTIFY_TYPES[alert.level]))
        if not ok:
            self.failures += 1
            logging.getLogger("workbench.alerts").warning("apprise could not deliver alert %r", alert.title)
        return ok

    def send(self, alert: Alert) -> Any:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self._notify(alert)
        return loop.run_in_executor(None, self._notify, alert)
