"""The Alpaca command line: ``workbench emulate alpaca``, ``paper --broker alpaca [--emulator] [--config]``
and ``live --broker alpaca`` (explicit opt-in), as a user runs them (subprocesses, 127.0.0.1 only).

Bad input exits with code 2 and one clear line, no traceback: live without ``--confirm-live``,
missing keys (the message names the variables), an unknown fault.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.model import events as ev
from workbench.persistence import Journal

pytestmark = pytest.mark.slow


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or {**os.environ})


def test_bad_input_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APCA_", "ALPACA_"))}
    live = _run("live", "--broker", "alpaca", "--journal", str(tmp_path / "j.sqlite"), env=env)
    assert live.returncode == 2 and "--confirm-live" in live.stderr and "Traceback" not in live.stderr
    keys = _run("paper", "--broker", "alpaca", "--journal", str(tmp_path / "j.sqlite"), env={**env, "HOME": str(tmp_path)})
    assert keys.returncode == 2 and "APCA_API_KEY_ID" in keys.stderr and "Traceback" not in keys.stderr
    fault = _run("emulate", "alpaca", "--fault", "explode")
    assert fault.returncode == 2 and "unknown fault 'explode'" in fault.stderr and "Traceback" not in fault.stderr


def test_paper_on_an_emulator_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "alpaca.yaml"
    config.write_text("mode: paper\nsession: {strategy: sma_crossover, params: {fast: 3, slow: 8}}\n"
                      "broker: {kind: alpaca}\nalpaca: {feed: iex, health_interval: 0.5}\n"
                      "risk: {pre_trade: {max_order_quantity: {limit: 500}}}\n")
    journal = tmp_path / "j.sqlite"
    out_file, err_file = (tmp_path / "out.txt").open("w"), (tmp_path / "err.txt").open("w")  # files: no pipe to fill
    process = subprocess.Popen([sys.executable, "-m", "workbench.cli", "paper", "--broker", "alpaca", "--emulator",
                                "--config", str(config), "--speed", "20000", "--journal", str(journal),
                                "--session-id", "cli-1", "--quiet"], stdout=out_file, stderr=err_file, text=True,
                               cwd=tmp_path)
    try:
        deadline = time.monotonic() + 300  # generous: a loaded machine only takes longer (polled)
        fills: list = []
        while len(fills) < 4:
            assert time.monotonic() < deadline and process.poll() is None, (tmp_path / "err.txt").read_text()[-2000:]
            time.sleep(0.1)
            if journal.exists():
                jr = Journal(f"sqlite:///{journal}")
                try:
                    fills = list(jr.events("cli-1", types=[ev.OrderFilled]))
                except Exception:
                    fills = []
                finally:
                    jr.close()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:  # seen under heavy load: a second request to stop (SIGTERM)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        out_file.close()
        err_file.close()
    out, err = (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text()
    assert process.returncode == 0, err[-2000:]
    assert "local emulator http://127.0.0.1:" in out and "session cli-1: stopped" in out
    jr = Journal(f"sqlite:///{journal}")
    try:
        parameters = jr.session("cli-1")["parameters"]
        assert parameters["broker"] == "alpaca" and parameters["params"]["fast"] == 3
        assert parameters["alpaca"]["health_interval"] == 0.5
        states = [e.state for e in jr.events("cli-1", types=[ev.ConnectionStatusChanged])]
        assert "CONNECTED" in states and states[-1] == "DISCONNECTED"
    finally:
        jr.close()
