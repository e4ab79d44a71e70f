"""Give the dashboard kernel's freed memory back to the operating system.

A dashboard kernel refreshes every second for hours: each refresh builds and drops pandas frames,
SQL rows and widget messages. Measured in the Voila kernel over a trading session (issue 13;
``benchmarks/dashboard_latency.py``): Python's live objects, numpy and Arrow allocations stay flat
(``tracemalloc``, ``gc``, ``pyarrow.total_allocated_bytes``) while the resident size crept up
~0.4 MB a minute: freed memory that glibc's allocator keeps in its heaps (fragmented, spread over
the threads' arenas) instead of returning it. :func:`release_memory` asks glibc to return it
(``malloc_trim(0)``, glibc >= 2.8); :data:`MALLOC_ENV` caps the number of arenas for the kernels
``workbench dashboard`` starts. Elsewhere (musl, macOS, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["MALLOC_ENV", "release_memory"]

MALLOC_ENV = {"MALLOC_ARENA_MAX": "2"}
"""glibc tunable set in the environment of the dashboard's Voila server and kernels: at most two
malloc arenas, so memory freed by one thread is reused by the others instead of piling up."""


@functools.cache
def _trim() -> object | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def release_memory() -> bool:
    """Return the allocator's free memory to the OS (``malloc_trim(0)``); True if glibc did so."""
    trim = _trim()
    return bool(trim(0)) if trim is not None else False
