"""Local broker emulators for development and CI: one core, one protocol front-end per broker.

:mod:`workbench.emulators.core` holds the market (replayed real data), the accounts (matched by
the in-process ``SimulatedBroker``) and the fault registry; front-ends speak a broker's wire
protocol to its real client library. Emulators import no vendor client (DESIGN rule 7) and bind
127.0.0.1 by default.
"""

from workbench.emulators.core import (
    EmulatedAccount,
    EmulatedMarket,
    EmulatedOrder,
    EmulatorCore,
    Fault,
    FaultRegistry,
    OrderRefused,
    OrderRequest,
    OrderUpdate,
)

__all__ = [
    "EmulatedAccount",
    "EmulatedMarket",
    "EmulatedOrder",
    "EmulatorCore",
    "Fault",
    "FaultRegistry",
    "OrderRefused",
    "OrderRequest",
    "OrderUpdate",
]
