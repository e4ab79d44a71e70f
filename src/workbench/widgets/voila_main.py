"""Entry point of the dashboard's Voila server: ``python -m workbench.widgets.voila_main <voila args>``.

Same as ``python -m voila`` after :func:`workbench.widgets.startup.skip_slow_optional_imports`.
"""

from __future__ import annotations

import sys

from workbench.widgets.startup import skip_slow_optional_imports

if __name__ == "__main__":
    skip_slow_optional_imports()
    from voila.app import main

    sys.exit(main())
