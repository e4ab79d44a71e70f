"""Give the dashboard kernel's freed memory back to the operating system.

A dashboard kernel refreshes every second for hours: each refresh builds and drops pandas frames,
SQL rows and widget messages. Measured in the Voila kernel over a trading session (issue 13;
``benchmarks/dashboard_latency.py``): Python's live objects, numpy and Arrow allocations stay flat
(``tracemalloc``, ``gc``, ``pyarrow.total_allocated_bytes``) while the resident size crept up
~0.4 MB a minute: freed memory that glibc's allocator keeps in its heaps (fragmented, spread over
the threads' arenas) instead of returning it. :func:`release_memory` asks glibc to return it
(``malloc_trim(0)``, glibc >= 2.8); :data:`MALLOC_ENV` caps the number of arenas for the kernels
``workbench dashboard`` starts. Elsewhere (musl, macOS, Windows) it does nothing.

pandas 3 keeps string columns in Arrow, whose default pool (mimalloc) holds its own memory:
:data:`MALLOC_ENV` also makes the dashboard's processes use Arrow's ``system`` pool
(``ARROW_DEFAULT_MEMORY_POOL``, documented by Arrow), so those allocations go through glibc and
are returned with the rest; :func:`release_memory` also asks Arrow's pool to release what it
holds (``MemoryPool.release_unused``) when pyarrow is loaded.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import sys

__all__ = ["MALLOC_ENV", "release_memory"]

MALLOC_ENV = {"MALLOC_ARENA_MAX": "2", "ARROW_DEFAULT_MEMORY_POOL": "system"}
"""Allocator settings in the environment of the dashboard's Voila server and kernels: at most two
glibc malloc arenas, so memory freed by one thread is reused by the others instead of piling up,
and Arrow (pandas' string columns) allocating through glibc too (see the module doc)."""


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
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        with contextlib.suppress(Exception):  # pyarrow < 9 has no release_unused
            arrow.default_memory_pool().release_unused()
    trim = _trim()
    return bool(trim(0)) if trim is not None else False
