"""Smoke test of the IB adapter with ib_insync 0.9.86 (ib_async's predecessor) against the TWS emulator.

ib_insync and ib_async cannot share an environment (both ship an ``eventkit`` package), so this
script builds a throwaway venv (default ``~/.cache/workbench/ib_insync-0.9.86``, reused when it
is complete), installs ``ib_insync==0.9.86`` there with pip, and re-runs itself inside it. The
workbench is imported from this repository without installing its dependencies: the throwaway
venv reads the current environment's site-packages through a ``.pth`` file placed *after* its
own, so its ``eventkit`` and ``ib_insync`` shadow ib_async's.

Inside: start the TWS emulator on 127.0.0.1 (port 0), connect the adapter's execution client
(``WORKBENCH_IB_CLIENT=ib_insync``), qualify SPY, place a market order, see it filled with its
commission, reconcile, and print one JSON line with the results.

Exit codes: 0 ok, 1 failure, 77 skipped (pip could not reach the package registry: the reason is
printed). Bounded: pip gets 120 s, the smoke itself 60 s.

Usage: ``python scripts/ib_insync_smoke.py [--venv DIR]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

VERSION = "0.9.86"
SKIP = 77
ROOT = Path(__file__).resolve().parents[1]


def _default_venv() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "workbench" / f"ib_insync-{VERSION}"


def setup(target: Path) -> tuple[Path | None, str]:
    """The venv's python, or (None, reason) when pip cannot install ib_insync."""
    python = target / "bin" / "python"
    marker = target / ".complete"
    if marker.exists() and python.exists():
        return python, ""
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    (site / "zz_workbench_parent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    try:
        done = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "--timeout", "15",
                               "--retries", "1", "--ignore-installed", f"ib_insync=={VERSION}", "eventkit",
                               "nest_asyncio"], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, "pip install ib_insync timed out after 120 s (no registry access?)"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        return None, f"pip could not install ib_insync=={VERSION}: {tail[0]}"
    marker.write_text(VERSION)
    return python, ""


async def smoke() -> dict[str, object]:
    """The smoke itself (runs inside the ib_insync venv)."""
    from workbench.adapters.base import BrokerReports
    from workbench.adapters.ibkr import client
    from workbench.adapters.ibkr.config import IbkrConfig
    from workbench.adapters.ibkr.connection import IbkrConnection
    from workbench.adapters.ibkr.data import IbkrDataClient
    from workbench.adapters.ibkr.execution import IbkrExecutionClient
    from workbench.emulators.core import EmulatorCore
    from workbench.emulators.tws import TwsEmulator, TwsVenue
    from workbench.feeds.stream import MarketDataStream
    from workbench.model import events as ev
    from workbench.model.data import QuoteTick
    from workbench.model.enums import OrderSide, OrderType
    from workbench.model.orders import Order

    assert client.LIBRARY == "ib_insync", client.LIBRARY
    t0 = 1_381_152_600_000_000_000
    core = EmulatorCore(MarketDataStream.from_objects([QuoteTick("SPY", 100.0, 100.02, 500, 500, t0, t0)]), speed=None)
    for item in core.market.stream:
        core.publish(item)
    venue = TwsVenue(core)
    emulator = TwsEmulator(venue)
    port = await emulator.start()
    connection = IbkrConnection(IbkrConfig(port=port, client_id=3, connect_timeout=10))
    execution = IbkrExecutionClient(connection, health_interval=None)
    items: list[object] = []
    execution.bind(items.append)
    execution.start()
    try:
        await execution.wait_connected(20)
        data = IbkrDataClient(connection, health_interval=None)
        contract = await data.qualify("SPY")
        order = Order(ev.OrderInitialized(ts_event=0, order_id="SMOKE-1", symbol="SPY", side=OrderSide.BUY,
                                          order_type=OrderType.MARKET, quantity=100))
        execution.submit_order(order)

        async def until(predicate, what):
            for _ in range(2000):
                if predicate():
                    return
                await asyncio.sleep(0.01)
            raise AssertionError(f"timed out waiting for {what}")

        await until(lambda: any(type(i) is ev.OrderAccepted for i in items), "acceptance")
        core.publish(QuoteTick("SPY", 100.01, 100.03, 500, 500, t0 + 10**9, t0 + 10**9))
        await until(lambda: any(type(i) is ev.OrderFilled for i in items), "fill")
        fill = next(i for i in items if type(i) is ev.OrderFilled)
        reports = await execution.reconcile("smoke")
        assert isinstance(reports, BrokerReports)
        return {"library": client.LIBRARY, "version": client.VERSION, "server_version": connection.health().server_version,
                "con_id": contract.conId, "fill": [fill.last_quantity, fill.last_price, fill.commission],
                "reported_fills": [f.order_id for f in reports.fills],
                "positions": [[p.symbol, p.quantity] for p in reports.positions]}
    finally:
        await execution.stop()
        await connection.disconnect()
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=None)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        result = asyncio.run(asyncio.wait_for(smoke(), 60))
        print(json.dumps(result))
        return 0
    python, reason = setup(args.venv or _default_venv())
    if python is None:
        print(f"SKIP: {reason}")
        return SKIP
    env = {**os.environ, "WORKBENCH_IB_CLIENT": "ib_insync", "PYTHONPATH": str(ROOT / "src")}
    try:
        done = subprocess.run([str(python), __file__, "--inside"], env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        print("FAIL: the ib_insync smoke run took more than 90 s")
        return 1
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        sys.stdout.write(done.stderr[-4000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
