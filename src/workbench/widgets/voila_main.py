"""Entry point of the dashboard's Voila server: ``python -m workbench.widgets.voila_main <voila args>``.

Same as ``python -m voila`` after :func:`workbench.widgets.startup.skip_slow_optional_imports`,
plus a :class:`~workbench.widgets.reaper.KernelReaper` that shuts down kernels whose page is gone.
"""

from __future__ import annotations

import sys

from workbench.widgets.startup import skip_slow_optional_imports

REAP_INTERVAL_MS = 5_000


def main() -> int:
    skip_slow_optional_imports()
    import tornado.ioloop
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

    DashboardVoila.launch_instance()
    return 0


if __name__ == "__main__":
    sys.exit(main())
