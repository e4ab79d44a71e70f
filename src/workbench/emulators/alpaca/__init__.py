"""The Alpaca emulator: Alpaca's REST and websocket protocols over the emulator core (no vendor import)."""

from workbench.emulators.alpaca.server import DEFAULT_KEY, DEFAULT_SECRET, AlpacaEmulator

__all__ = ["DEFAULT_KEY", "DEFAULT_SECRET", "AlpacaEmulator"]
