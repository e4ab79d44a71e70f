"""Notebook 02 switched to Alpaca (``BROKER = "alpaca"``) runs end to end: the session trades through
the real alpaca-py client against the local Alpaca emulator the notebook starts itself (127.0.0.1,
fake keys, no network), the manual order and the controls work, and the journal records the
Alpaca connections (ConnectionStatusChanged of ``alpaca broker`` / ``alpaca feed``), their health
and Alpaca's fills (execution ids are UUIDs)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_paper_trading_notebook_on_the_alpaca_emulator(tmp_path, monkeypatch):
    nb = nbformat.read(REPO / "notebooks" / "02_paper_trading.ipynb", as_version=4)
    params = nb.cells[1]
    assert params.source.startswith("# parameters") and 'BROKER = "simulated"' in params.source
    journal = tmp_path / "journal.sqlite"
    params.source = params.source.replace('BROKER = "simulated"', 'BROKER = "alpaca"').replace(
        "JOURNAL = None", f"JOURNAL = {str(journal)!r}")
    monkeypatch.chdir(tmp_path)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    from workbench.model import events as ev
    from workbench.persistence import Journal

    jr = Journal(f"sqlite:///{journal}")
    try:
        [sid] = list(jr.sessions()["session_id"])
        parameters = jr.session(sid)["parameters"]
        assert parameters["broker"] == "alpaca" and parameters["emulator"] is True
        assert "api_key" not in parameters["alpaca"] and "secret_key" not in parameters["alpaca"]
        states = {(e.component, e.state) for e in jr.events(sid, types=[ev.ConnectionStatusChanged])}
        assert {("alpaca broker", "CONNECTED"), ("alpaca feed", "CONNECTED")} <= states
        assert list(jr.events(sid, types=[ev.ConnectionHealthReported]))
        fills = list(jr.events(sid, types=[ev.OrderFilled]))
        assert fills and all(uuid.UUID(f.fill_id) for f in fills)  # Alpaca execution ids
        acks = [(e.name, e.ok) for e in jr.events(sid, types=[ev.CommandAcknowledged])]
        assert ("submit_order", True) in acks and ("kill", True) in acks
    finally:
        jr.close()
