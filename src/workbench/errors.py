"""Exception tree of the workbench.

::

    WorkbenchError
    ├── ConfigError            bad configuration (message names the key path)
    ├── DataError              bad market data (message names file, row and field)
    ├── BrokerError            broker-side failure
    │   └── OrderRejected      an order refused by a broker
    ├── RiskDenied             an order or command denied by the risk engine
    ├── InvalidStateTransition an order status change that the state machine forbids
    ├── JournalError           the journal is corrupt, locked or unreachable
    │   └── SessionLocked      another process is running this session
    └── CommandError           an unknown or malformed control command
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error raised by workbench."""


class ConfigError(WorkbenchError):
    """A configuration value is missing or invalid; the message names its key path."""


class DataError(WorkbenchError):
    """Market data failed validation; the message names the file, row and field."""


class BrokerError(WorkbenchError):
    """A broker call failed."""


class OrderRejected(BrokerError):
    """A broker refused an order."""


class RiskDenied(WorkbenchError):
    """The risk engine denied an order or command."""


class InvalidStateTransition(WorkbenchError):
    """An order was asked to move to a status its current status does not allow."""


class JournalError(WorkbenchError):
    """The journal cannot be read or written."""


class SessionLocked(JournalError):
    """Another live process already runs this session."""


class CommandError(WorkbenchError):
    """A control command is unknown or malformed."""
