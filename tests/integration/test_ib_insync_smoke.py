"""The IB adapter also runs with ib_insync 0.9.86 (ib_async's predecessor), in a throwaway venv.

``scripts/ib_insync_smoke.py`` builds the venv (cached under ~/.cache/workbench), installs
ib_insync with pip and runs connect -> qualify -> place -> fill -> reconcile against the TWS
emulator at the server version ib_insync speaks (at most 176). Skipped, with pip's reason, when
the package registry cannot be reached.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ib_insync_smoke.py"


@pytest.mark.slow
def test_adapter_with_ib_insync_in_a_throwaway_venv() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=300)
    if done.returncode == 77:
        pytest.skip(done.stdout.strip() or "ib_insync could not be installed")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["library"] == "ib_insync" and result["version"] == "0.9.86"
    assert 157 <= result["server_version"] <= 176  # ib_insync proposes v157..176
    assert result["con_id"] == 756733
    assert result["fill"][0] == 100.0
    assert result["reported_fills"] == ["SMOKE-1"]  # our id came back as orderRef
    assert result["positions"] == [["SPY", 100.0]]
