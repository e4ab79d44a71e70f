"""Shut down the dashboard's Voila kernels whose page is gone.

Voila starts one kernel per page view and asks for its shutdown from the page's ``beforeunload``
handler; a tab that is killed, a laptop that sleeps or a network that drops never sends it, and
Jupyter's idle culler never fires for a dashboard kernel (its refresh task keeps it active).
:class:`KernelReaper` runs in the Voila server process: every ``interval`` seconds it shuts down
each kernel that has had no websocket connection for ``grace`` seconds (the grace covers the time
between the kernel's start and the page connecting, and a page reconnecting). Kernels waiting in
Voila's preheated pool (``--preheat_kernel``: started, notebook executed, no page yet) are spared:
:func:`pooled_kernel_ids` lists them.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

__all__ = ["GRACE_ENV", "KernelReaper", "pooled_kernel_ids"]

GRACE_ENV = "WORKBENCH_KERNEL_GRACE_SECONDS"
"""Environment variable overriding the reaper's grace period (seconds)."""

log = logging.getLogger(__name__)


def pooled_kernel_ids(kernel_manager: Any) -> set[str]:
    """Ids of the kernels in Voila's preheated pool of ``kernel_manager`` (none without a pool).

    Voila's ``VoilaKernelManager`` keeps, per notebook, a list of tasks in ``_pools``; a finished
    task's result holds the ``kernel_id`` of a started kernel no page has taken yet (a page takes
    one by popping it from the list). Tasks still starting or failed are skipped.
    """
    ids: set[str] = set()
    for pool in list(getattr(kernel_manager, "_pools", {}).values()):
        for task in list(pool):
            if task.done() and not task.cancelled() and task.exception() is None:
                kid = task.result().get("kernel_id")
                if kid:
                    ids.add(kid)
    return ids


class KernelReaper:
    """Shut down kernels of ``kernel_manager`` without a connection for ``grace`` seconds.

    Parameters
    ----------
    kernel_manager : jupyter_server MappingKernelManager
        Its ``list_kernel_ids()``, ``_kernel_connections`` (open websockets per kernel) and
        ``shutdown_kernel`` are used.
    grace : float
        Seconds without any connection before a kernel is shut down (default ``$WORKBENCH_KERNEL_GRACE_SECONDS``
        or 45).
    """

    def __init__(self, kernel_manager: Any, grace: float | None = None) -> None:
        self.kernel_manager = kernel_manager
        self.grace = float(grace if grace is not None else os.environ.get(GRACE_ENV, 45.0))
        self._alone_since: dict[str, float] = {}
        self.reaped: list[str] = []

    async def check(self, now: float | None = None) -> list[str]:
        """One pass; returns the ids of the kernels shut down."""
        now = time.monotonic() if now is None else now
        km = self.kernel_manager
        connections = getattr(km, "_kernel_connections", {})
        done = []
        ids = list(km.list_kernel_ids())
        pooled = pooled_kernel_ids(km)
        for kid in ids:
            if connections.get(kid, 0) > 0 or kid in pooled:
                self._alone_since.pop(kid, None)
                continue
            since = self._alone_since.setdefault(kid, now)
            if now - since >= self.grace:
                log.info("shutting down dashboard kernel %s: no page connected for %.0f s", kid, now - since)
                try:
                    result = km.shutdown_kernel(kid)
                    if hasattr(result, "__await__"):
                        await result
                except Exception:  # already gone
                    log.debug("kernel %s shutdown failed", kid, exc_info=True)
                self._alone_since.pop(kid, None)
                done.append(kid)
        for kid in set(self._alone_since) - set(ids):
            del self._alone_since[kid]
        self.reaped.extend(done)
        return done
