"""``/metrics`` in the Prometheus text format (prometheus_client).

Two kinds of series, in one registry per application:

From the journal, read at scrape time by :class:`JournalCollector` (label ``session_id``; the
sessions whose status is ``running``, plus the :data:`RECENT` newest others):

``workbench_journal_events_total``        events journaled (the session's last seq)
``workbench_journal_event_rate``          events journaled per second over the last 10 s
``workbench_engine_heartbeat_age_seconds`` seconds since the engine's last heartbeat
``workbench_order_rejections_total``      ``OrderRejected`` events (the broker said no)
``workbench_risk_denials_total``          ``OrderDenied`` events (the risk engine said no)
``workbench_reconnects_total``            ``ConnectionStatusChanged`` to connected after the first
                                          connection of each component
``workbench_equity``                      equity of the latest account state (currency)
``workbench_drawdown_ratio``              1 - equity / highest equity of the session's account states
``workbench_engine_queue_depth``          input queue depth at the engine's last checkpoint
``workbench_tick_to_order_seconds``       histogram: market data item to order at the broker
``workbench_journal_commit_seconds``      histogram: one group commit of the engine's journal
                                          (these three from ``metrics`` in the engine's checkpoint,
                                          :mod:`workbench.engine.runtime_metrics`)

Of this process: ``workbench_api_request_seconds`` (histogram per route and method),
``workbench_ws_clients`` (connected), ``workbench_ws_push_latency_seconds`` (histogram: journal
commit ``ts_written`` to the message handed to the socket).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from workbench.persistence import Journal
from workbench.persistence import schema as t

__all__ = ["RECENT", "JournalCollector", "ServiceMetrics"]

RECENT = 5
"""Stopped sessions reported besides the running ones (the newest)."""

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class JournalCollector(Collector):
    """Collects the journal series of the module docstring at every scrape."""

    def __init__(self, journal: Journal, window_seconds: float = 10.0) -> None:
        self.journal = journal
        self.window = window_seconds

    def _sessions(self, conn: sa.Connection) -> list[Any]:
        s = t.sessions.c
        running = conn.execute(sa.select(s.session_id, s.last_seq, s.ts_heartbeat).where(s.status == "running")).all()
        recent = conn.execute(
            sa.select(s.session_id, s.last_seq, s.ts_heartbeat).where(s.status != "running")
            .order_by(s.ts_created.desc()).limit(RECENT)
        ).all()
        return [*running, *recent]

    def collect(self) -> Iterator[Any]:
        e, q, st = t.events.c, t.equity_snapshots.c, t.session_state.c
        families = {
            "events": CounterMetricFamily("workbench_journal_events", "Events journaled", labels=["session_id"]),
            "rate": GaugeMetricFamily("workbench_journal_event_rate", "Events journaled per second (10 s window)",
                                      labels=["session_id"]),
            "heartbeat": GaugeMetricFamily("workbench_engine_heartbeat_age_seconds",
                                           "Seconds since the engine's heartbeat", labels=["session_id"]),
            "rejections": CounterMetricFamily("workbench_order_rejections", "Orders rejected by the broker",
                                              labels=["session_id"]),
            "denials": CounterMetricFamily("workbench_risk_denials", "Orders denied by the risk engine",
                                           labels=["session_id"]),
            "reconnects": CounterMetricFamily("workbench_reconnects", "Reconnections of feed and broker",
                                              labels=["session_id"]),
            "equity": GaugeMetricFamily("workbench_equity", "Equity of the latest account state (currency)",
                                        labels=["session_id"]),
            "drawdown": GaugeMetricFamily("workbench_drawdown_ratio", "1 - equity / peak equity",
                                          labels=["session_id"]),
            "queue": GaugeMetricFamily("workbench_engine_queue_depth", "Engine input queue depth at its checkpoint",
                                       labels=["session_id"]),
            "tick_to_order_seconds": HistogramMetricFamily(
                "workbench_tick_to_order_seconds", "Market data item to order at the broker interface (engine)",
                labels=["session_id"]),
            "journal_commit_seconds": HistogramMetricFamily(
                "workbench_journal_commit_seconds", "One group commit of the engine's journal writer",
                labels=["session_id"]),
        }
        now = time.time_ns()
        since = now - int(self.window * 1e9)
        with self.journal.engine.connect() as conn:
            for row in self._sessions(conn):
                sid = row.session_id
                counts = dict(conn.execute(
                    sa.select(e.type, sa.func.count()).where(
                        e.session_id == sid, e.type.in_(["OrderRejected", "OrderDenied"])).group_by(e.type)
                ).all())
                recent = conn.execute(
                    sa.select(sa.func.count()).where(e.session_id == sid, e.ts_written >= since)).scalar_one()
                links = conn.execute(
                    sa.select(e.payload).where(e.session_id == sid, e.type == "ConnectionStatusChanged").order_by(e.seq)
                ).scalars().all()
                equity = conn.execute(
                    sa.select(q.equity).where(q.session_id == sid).order_by(q.seq.desc()).limit(1)).scalar()
                peak = conn.execute(sa.select(sa.func.max(q.equity)).where(q.session_id == sid)).scalar()
                state = conn.execute(sa.select(st.state).where(st.session_id == sid)).scalar()
                families["events"].add_metric([sid], float(row.last_seq))
                families["rate"].add_metric([sid], recent / self.window)
                if row.ts_heartbeat is not None:
                    families["heartbeat"].add_metric([sid], max(0.0, (now - row.ts_heartbeat) / 1e9))
                families["rejections"].add_metric([sid], float(counts.get("OrderRejected", 0)))
                families["denials"].add_metric([sid], float(counts.get("OrderDenied", 0)))
                families["reconnects"].add_metric([sid], float(_reconnects(links)))
                if equity is not None:
                    families["equity"].add_metric([sid], float(equity))
                    if peak:
                        families["drawdown"].add_metric([sid], max(0.0, 1.0 - float(equity) / float(peak)))
                runtime = _runtime(state)
                if runtime.get("queue_depth") is not None:
                    families["queue"].add_metric([sid], float(runtime["queue_depth"]))
                for name in ("tick_to_order_seconds", "journal_commit_seconds"):
                    histogram = runtime.get(name)
                    if histogram:
                        buckets = [(b if b == "+Inf" else repr(float(b)), float(n)) for b, n in histogram["buckets"]]
                        families[name].add_metric([sid], buckets, float(histogram["sum"]))
        yield from families.values()


def _reconnects(payloads: list[str]) -> int:
    """Transitions to connected after each component's first connection."""
    seen: set[str] = set()
    count = 0
    for text in payloads:
        event = json.loads(text)
        if not event.get("connected"):
            continue
        component = event.get("component", "")
        if component in seen:
            count += 1
        seen.add(component)
    return count


def _runtime(state: str | None) -> dict[str, Any]:
    """The engine's monitoring counters in its checkpoint (:mod:`workbench.engine.runtime_metrics`), or {}."""
    if not state:
        return {}
    try:
        value = json.loads(state).get("metrics")
    except (ValueError, AttributeError):
        return {}
    return value if isinstance(value, dict) else {}


class ServiceMetrics:
    """The registry of one application: the journal collector and this process's own series."""

    def __init__(self, journal: Journal) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(JournalCollector(journal))
        self.requests = Histogram("workbench_api_request_seconds", "API request duration", ["route", "method"],
                                  registry=self.registry, buckets=_LATENCY_BUCKETS)
        self.ws_clients = Gauge("workbench_ws_clients", "Connected WebSocket clients", registry=self.registry)
        self.push_latency = Histogram("workbench_ws_push_latency_seconds",
                                      "Journal commit to WebSocket send", registry=self.registry,
                                      buckets=_LATENCY_BUCKETS)
