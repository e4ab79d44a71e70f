"""TWS emulator: the TWS API socket protocol (server versions 157-178) in front of our matching.

``workbench emulate tws`` runs it; tests start :class:`TwsEmulator` on 127.0.0.1, port 0.
"""

from workbench.emulators.tws.faults import TwsFaults
from workbench.emulators.tws.server import TwsEmulator
from workbench.emulators.tws.venue import TwsVenue

__all__ = ["TwsEmulator", "TwsFaults", "TwsVenue"]
