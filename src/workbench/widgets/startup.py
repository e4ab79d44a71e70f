"""Start-up speed of the dashboard processes (Voila server and its kernels).

``jsonschema`` imports the optional package ``rfc3987_syntax`` when it is installed, and that
package compiles about 40 ``lark`` grammars at import time: 3-4 s of CPU in every process that
imports jsonschema (Jupyter Server through ``jupyter_events``; a kernel through plotly ->
nbformat). Without it jsonschema only skips checking the ``iri``/``iri-reference`` string
formats, which nothing in the dashboard uses. :func:`skip_slow_optional_imports` makes that
import fail fast; ``workbench dashboard`` applies it to its own processes only (the server via
:mod:`workbench.widgets.voila_main`, kernels via ``$WORKBENCH_DASHBOARD_KERNEL``).
"""

from __future__ import annotations

import sys

__all__ = ["DASHBOARD_KERNEL_ENV", "KERNEL_SKIPPED_MODULES", "SLOW_OPTIONAL_MODULES", "skip_slow_optional_imports"]

DASHBOARD_KERNEL_ENV = "WORKBENCH_DASHBOARD_KERNEL"
"""Set to ``"1"`` in the environment of kernels started by ``workbench dashboard``."""

SLOW_OPTIONAL_MODULES = ("rfc3987_syntax",)
"""Optional imports of jsonschema that are slow and not needed by the dashboard."""


KERNEL_SKIPPED_MODULES = (*SLOW_OPTIONAL_MODULES, "nbformat", "kaleido")
"""Modules a dashboard kernel never imports (plotly treats both as optional); not for the Voila server,
which reads the notebook with nbformat."""


def skip_slow_optional_imports(modules: tuple[str, ...] = SLOW_OPTIONAL_MODULES) -> list[str]:
    """Make ``modules`` (default :data:`SLOW_OPTIONAL_MODULES`) raise ImportError when imported;
    return those blocked.

    Does nothing for a module already imported (its users are already set up).
    """
    blocked = []
    for name in modules:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
            blocked.append(name)
    return blocked
