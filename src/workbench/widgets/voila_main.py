"""Entry point of the dashboard's Voila server: ``python -m workbench.widgets.voila_main <voila args>``.

Same as ``python -m voila`` after :func:`workbench.widgets.startup.skip_slow_optional_imports`,
plus a :class:`~workbench.widgets.reaper.KernelReaper` that shuts down kernels whose page is gone,
and a page handler that waits for the preheated kernel still starting (:func:`pooled_page_handler`).
"""

from __future__ import annotations

import asyncio
import sys

from workbench.widgets.startup import skip_slow_optional_imports

REAP_INTERVAL_MS = 5_000

POOL_WAIT_SECONDS = 60.0
"""Longest a page request waits for the preheated kernel that is still starting (then it starts its own)."""


async def wait_for_pool(kernel_manager: object, timeout: float = POOL_WAIT_SECONDS) -> None:
    """Wait until the first preheated kernel of every pool of ``kernel_manager`` has started.

    Voila (0.5) hands a page the preheated kernel only once that kernel has *started* (its
    ``notebook_data`` is set then); a page requested earlier, such as the first one right after
    ``workbench dashboard`` prints its URL, starts a second kernel and runs the notebook again while
    the pooled one is still starting: two kernels competing for the CPU, the page ~2 s slower.
    Returns at once without a pool (``preheat_kernel`` off); a failed or slow start is left to Voila
    (the request then starts its own kernel as before).
    """
    pools = getattr(kernel_manager, "_pools", None) or {}
    waiting = [pool[0] for pool in pools.values() if pool and not pool[0].done()]
    if waiting:
        await asyncio.wait([asyncio.shield(task) for task in waiting], timeout=timeout)


def pooled_page_handler() -> type:
    """Voila's page handler, waiting for a starting preheated kernel (:func:`wait_for_pool`) first."""
    from voila.tornado.handler import TornadoVoilaHandler

    class PooledPageHandler(TornadoVoilaHandler):
        async def get_generator(self, path=None):  # Voila's signature
            await wait_for_pool(self.kernel_manager)
            async for html in super().get_generator(path=path):
                yield html

    return PooledPageHandler


def main() -> int:
    skip_slow_optional_imports()
    import tornado.ioloop
    import voila.app
    from voila.app import Voila

    from workbench.widgets.reaper import KernelReaper

    class DashboardVoila(Voila):
        reaper: KernelReaper | None = None

        async def _reap(self) -> None:
            manager = getattr(self, "kernel_manager", None)  # set inside Voila.start
            if manager is None:
                return
            if self.reaper is None:
                self.reaper = KernelReaper(manager)
            await self.reaper.check()

        def start(self) -> None:
            tornado.ioloop.PeriodicCallback(self._reap, REAP_INTERVAL_MS).start()
            super().start()

    voila.app.TornadoVoilaHandler = pooled_page_handler()  # the page route Voila.start builds
    DashboardVoila.launch_instance()
    return 0


if __name__ == "__main__":
    sys.exit(main())
