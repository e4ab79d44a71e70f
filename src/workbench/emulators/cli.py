"""``workbench emulate alpaca [--data demo|RECORDING] [--speed N] [--port 0] [--fault SPEC ...]``.

Starts a local broker emulator on 127.0.0.1 (a development and CI tool), prints its URLs, the
environment lines that point the Alpaca adapter at it, and its control token, then serves until
interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any


def add_emulate_parser(sub: Any) -> None:
    """``workbench emulate alpaca|tws ...``: the local broker emulators (127.0.0.1)."""

    from workbench.emulators.tws.cli import add_parser as add_tws

    emulate = sub.add_parser("emulate", help="run a local broker emulator (Alpaca, TWS) on 127.0.0.1 for development and CI")
    brokers = emulate.add_subparsers(dest="emulator", required=True)
    e = brokers.add_parser("alpaca", help="a local Alpaca (REST trading v2, market-data and trade_updates streams)")
    e.add_argument("--data", default="demo", help="'demo' (shipped SPY minute bars + quotes), a recording directory "
                   "or a bar file")
    e.add_argument("--speed", default="60", help="multiple of real time, or 'max' (default 60)")
    e.add_argument("--port", type=int, default=0, help="0 = an ephemeral port (printed)")
    e.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1; anything else is exposed)")
    e.add_argument("--cash", type=float, default=100_000.0, help="starting cash of the emulated account")
    e.add_argument("--fault", action="append", default=[], metavar="SPEC",
                   help="arm a fault at start, e.g. drop_stream:stream=trading,after=5 (repeatable)")
    e.add_argument("--all-hours", action="store_true", help="replay extended hours too")
    e.set_defaults(func=cmd_emulate)
    add_tws(brokers)


def _speed(text: str) -> float | None:
    if text in ("max", "inf", "0"):
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--speed must be > 0 or 'max', got {text}")
    return value


async def _serve(emulator: Any) -> None:
    await emulator.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(f"Alpaca emulator on {emulator.rest_url} ({len(emulator.core.market):,} market data items, "
          f"speed {emulator.core.market.speed or 'max'})")
    for name, url in emulator.urls().items():
        print(f"  {name:8s} {url}")
    print("point the Alpaca adapter at it (fake keys, emulator only):")
    print(f"  export ALPACA_TRADING_URL={emulator.rest_url} ALPACA_DATA_URL={emulator.rest_url} "
          f"ALPACA_DATA_STREAM_URL={emulator.data_url} ALPACA_TRADING_STREAM_URL={emulator.trading_url}")
    print(f"  export APCA_API_KEY_ID={emulator.key} APCA_API_SECRET_KEY={emulator.secret}")
    print(f"control API token: {emulator.control_token}  (POST {emulator.rest_url}/emulator/faults)", flush=True)
    await stop.wait()
    await emulator.stop()


def cmd_emulate(args: argparse.Namespace) -> int:
    from workbench.emulators.alpaca import AlpacaEmulator

    try:
        speed = _speed(args.speed)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        print(f"error: --speed: {exc}", file=sys.stderr)
        return 2
    try:
        emulator = AlpacaEmulator(data=args.data, speed=speed, host=args.host, port=args.port, faults=args.fault,
                                  regular=not args.all_hours, starting_cash=args.cash)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve(emulator))
    return 0
