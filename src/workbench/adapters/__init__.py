"""Live broker adapters: the contract (:mod:`workbench.adapters.base`) and one package per broker.

Vendor client libraries are imported only inside ``adapters/<vendor>/`` (DESIGN rule 7); this
package's ``__init__`` imports none of them.
"""

from workbench.adapters.base import (
    AuthenticationError,
    BrokerReports,
    ConnectionHealth,
    ConnectionState,
    DataClient,
    ExecutionClient,
    LiveClient,
    ReconnectPolicy,
    Subscriptions,
)

__all__ = [
    "AuthenticationError",
    "BrokerReports",
    "ConnectionHealth",
    "ConnectionState",
    "DataClient",
    "ExecutionClient",
    "LiveClient",
    "ReconnectPolicy",
    "Subscriptions",
]
