"""Interactive Brokers through ib_async (or ib_insync): config, connection, parsing, data, execution,
sessions. The vendor library is imported only in :mod:`.client` (the one import shim), which
:mod:`.connection`, :mod:`.parsing`, :mod:`.data` and :mod:`.execution` use; importing this package
does not import it. See ``docs/ibkr.md``.
"""

from workbench.adapters.ibkr.config import IbkrConfig
from workbench.adapters.ibkr.session import ibkr_session, resume_ibkr_session

__all__ = ["IbkrConfig", "ibkr_session", "resume_ibkr_session"]
