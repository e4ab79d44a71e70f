"""Where a sweep's tasks run: in this process, or on any Dask cluster through ``dask.distributed``.

* ``"serial"`` -- :class:`SerialExecutor`, in-process, one task after the other (debugging,
  notebooks on small grids, and the reference the parallel result must equal).
* ``"local"`` (the default) -- :class:`DaskExecutor` on a new ``dask.distributed.LocalCluster``
  of worker **processes** (one thread each: a backtest holds the GIL) bound to 127.0.0.1, closed
  with the executor.
* ``"tcp://host:8786"`` -- an existing Dask scheduler (started with ``dask scheduler`` /
  ``dask worker``, dask-jobqueue on Slurm/PBS, dask-kubernetes ...); the cluster is left running.
* a ``distributed.Client`` -- used as is.

Fault tolerance is Dask's: when a worker dies, the scheduler reruns the tasks it held on the
others (``distributed.scheduler.allowed-failures``, 3 by default, before a task is given up).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from workbench.errors import ConfigError

__all__ = ["DaskExecutor", "SerialExecutor", "make_executor"]


class _Deferred:
    """A serial 'future': computed when its result is asked for."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._fn, self._args = fn, args

    def result(self) -> Any:
        return self._fn(*self._args)


class _SerialCompleted:
    def __init__(self, futures: list[_Deferred]) -> None:
        self._queue = deque(futures)

    def add(self, future: _Deferred) -> None:
        self._queue.append(future)

    def __iter__(self) -> Iterator[_Deferred]:
        while self._queue:
            yield self._queue.popleft()


class SerialExecutor:
    """Runs each task in this process when its result is read (in submission order)."""

    workers = 1
    description = "serial (in-process)"

    def share(self, data: Any) -> Any:
        return data

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Deferred:
        return _Deferred(fn, args)

    def as_completed(self, futures: list[Any]) -> _SerialCompleted:
        return _SerialCompleted(futures)

    def close(self) -> None:
        pass

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Tasks on a Dask cluster.

    Parameters
    ----------
    target : None, str or distributed.Client
        None: a new LocalCluster; ``"tcp://host:port"``: connect to that scheduler; a Client.
    n_workers : int, optional
        Worker processes of a new LocalCluster (default: the machine's CPU count).
    """

    def __init__(self, target: Any = None, *, n_workers: int | None = None) -> None:
        from distributed import Client, LocalCluster

        self._own: list[Any] = []
        if isinstance(target, Client):
            self.client = target
        elif isinstance(target, str):
            self.client = Client(target, timeout="30s")
            self._own = [self.client]
        else:
            cluster = LocalCluster(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, host="127.0.0.1", dashboard_address=None)
            self.client = Client(cluster)
            self._own = [self.client, cluster]

    @property
    def workers(self) -> int:
        """Threads across the cluster's workers now (at least 1)."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return max(1, sum(w.get("nthreads", 1) for w in info.values()))

    @property
    def description(self) -> str:
        return f"dask {self.client.scheduler.address} ({self.workers} worker threads)"

    def share(self, data: Any) -> Any:
        """Ship ``data`` to every worker once (``scatter(broadcast=True)``); a :class:`DataPath` as is.

        Also imports the backtest modules on every worker now (about a second on a fresh worker
        process), so that cost is not charged to the first task of each worker.
        """
        from workbench.research.tasks import DataPath

        self.client.run(_warm_up)
        if isinstance(data, DataPath):
            return data
        return self.client.scatter(data, broadcast=True, hash=False)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def as_completed(self, futures: list[Any]) -> Any:
        from distributed import as_completed

        return as_completed(futures)

    def close(self) -> None:
        for item in self._own:
            item.close()
        self._own = []

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _warm_up() -> None:
    import workbench.engine.backtest
    import workbench.research.tasks  # noqa: F401


def make_executor(executor: Any = "local", *, n_workers: int | None = None) -> tuple[Any, bool]:
    """An executor from a name, address, Client or executor; and whether the caller must close it.

    Raises
    ------
    ConfigError
        An executor string that is neither ``serial``, ``local`` nor a ``tcp://``/``tls://`` address.
    """
    if isinstance(executor, SerialExecutor | DaskExecutor):
        return executor, False
    if executor == "serial":
        return SerialExecutor(), True
    if executor in (None, "local"):
        return DaskExecutor(None, n_workers=n_workers), True
    if isinstance(executor, str):
        if "://" not in executor:
            raise ConfigError(f"executor: expected 'serial', 'local' or a scheduler address like "
                              f"tcp://host:8786, got {executor!r}")
        return DaskExecutor(executor), True
    from distributed import Client

    if isinstance(executor, Client):
        return DaskExecutor(executor), False
    raise ConfigError(f"executor: unsupported {type(executor).__name__}")
