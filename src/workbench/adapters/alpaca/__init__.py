"""Alpaca through alpaca-py: config, parsing, data, execution, sessions (the only place alpaca-py is imported).

Importing this package does not import alpaca-py; :mod:`.data`, :mod:`.execution` and
:mod:`.parsing` do, when a session needs them.
"""

from workbench.adapters.alpaca.config import AlpacaConfig, load_alpaca_config
from workbench.adapters.alpaca.session import alpaca_session

__all__ = ["AlpacaConfig", "alpaca_session", "load_alpaca_config"]
