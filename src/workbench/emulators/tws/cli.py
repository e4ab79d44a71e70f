"""``workbench emulate tws``: run the TWS emulator until interrupted.

Binds 127.0.0.1 (``--host`` to change it), prints the port (``--port 0`` = an ephemeral one), and
replays ``--data`` at ``--speed`` times real time once a client subscribes to market data. Faults
are switched on with ``--fault name[=value]`` (repeatable; see :class:`TwsFaults`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
from typing import Any

from workbench.errors import ConfigError

_FAULT_HELP = ("fault to inject, repeatable: busy_client_id=N, drop_on_next_fill, duplicate_exec_details, "
               "commission_first, info_storm=N, max_messages_per_second=N, historical_requests_per_10min=N")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``tws`` under ``workbench emulate``."""
    p = sub.add_parser("tws", help="a local TWS / IB Gateway speaking the TWS API (server versions 157-178)")
    p.add_argument("--data", default="demo", help="'demo' (SPY minute bars+quotes), a recording directory or a bar file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = an ephemeral port (printed); TWS paper uses 7497")
    p.add_argument("--speed", default="60", help="multiple of real time, or 'max'")
    p.add_argument("--max-version", type=int, default=178, help="highest server version to negotiate (157..178)")
    p.add_argument("--account", default="DU123")
    p.add_argument("--cash", type=float, default=100_000.0)
    p.add_argument("--all-hours", action="store_true", help="keep extended-hours data")
    p.add_argument("--fault", action="append", default=[], help=_FAULT_HELP)
    p.set_defaults(func=cmd_emulate_tws)
    return p


def parse_faults(specs: list[str]) -> Any:
    """``["info_storm=5", "commission_first"]`` -> TwsFaults. Raises ConfigError naming a bad spec."""
    from workbench.emulators.tws.faults import TwsFaults

    faults = TwsFaults()
    names = {f.name for f in dataclasses.fields(TwsFaults)}
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip().replace("-", "_")
        if name == "busy_client_id":
            try:
                faults.busy_client_ids.add(int(value))
            except ValueError:
                raise ConfigError(f"--fault {spec!r}: busy_client_id needs an integer client id") from None
            continue
        if name not in names or name == "busy_client_ids":
            raise ConfigError(f"--fault {spec!r}: unknown fault; known: busy_client_id, "
                              f"{', '.join(sorted(names - {'busy_client_ids'}))}")
        current = getattr(faults, name)
        try:
            setattr(faults, name, True if isinstance(current, bool) and not sep
                    else type(current)(value) if not isinstance(current, bool) else value.lower() in ("1", "true"))
        except ValueError:
            raise ConfigError(f"--fault {spec!r}: {name} needs a {type(current).__name__}") from None
    return faults


def cmd_emulate_tws(args: argparse.Namespace) -> int:
    speed = None if str(args.speed).lower() == "max" else _positive(args.speed)
    faults = parse_faults(args.fault)
    if not 157 <= args.max_version <= 178:
        raise ConfigError(f"--max-version must be in 157..178, got {args.max_version}")
    return asyncio.run(_serve(args, speed, faults))


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"--speed: expected a number or 'max', got {text!r}") from None
    if not value > 0:
        raise ConfigError(f"--speed must be > 0, got {text!r}")
    return value


async def _serve(args: argparse.Namespace, speed: float | None, faults: Any) -> int:
    from workbench.emulators.core import EmulatorCore
    from workbench.emulators.tws import TwsEmulator, TwsVenue

    try:
        core = EmulatorCore(args.data, speed=speed, regular=not args.all_hours, starting_cash=args.cash)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--data {args.data!r}: {exc}") from None
    venue = TwsVenue(core, account=args.account)
    emulator = TwsEmulator(venue, host=args.host, port=args.port, max_version=args.max_version, faults=faults,
                           run_market=True)
    port = await emulator.start()
    print(f"TWS emulator on {args.host}:{port} (server versions 157-{args.max_version}, account {args.account}, "
          f"{len(core.market)} data items at {'max speed' if speed is None else f'{speed:g}x'})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()
        print("TWS emulator stopped", file=sys.stderr)
    return 0
