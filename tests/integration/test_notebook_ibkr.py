"""Notebook 02 switched to Interactive Brokers (``BROKER = "ibkr"``) runs end to end: the session
trades through the real ib_async client against the local TWS emulator started on the kernel's loop
(no TWS, no network), the manual order and the controls work, and the journal records the IB
connection (ConnectionStatusChanged of ``ibkr.execution`` / ``ibkr.data``) and IB's fills."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ib_async")

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_paper_trading_notebook_on_the_tws_emulator(tmp_path, monkeypatch):
    nb = nbformat.read(REPO / "notebooks" / "02_paper_trading.ipynb", as_version=4)
    params = nb.cells[1]
    assert params.source.startswith("# parameters") and 'BROKER = "simulated"' in params.source
    journal = tmp_path / "journal.sqlite"
    params.source = params.source.replace('BROKER = "simulated"', 'BROKER = "ibkr"').replace(
        "JOURNAL = None", f"JOURNAL = {str(journal)!r}")
    monkeypatch.chdir(tmp_path)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    from workbench.model import events as ev
    from workbench.persistence import Journal

    jr = Journal(f"sqlite:///{journal}")
    try:
        [sid] = list(jr.sessions()["session_id"])
        assert jr.session(sid)["parameters"]["broker"] == "ibkr"
        states = {(e.component, e.state) for e in jr.events(sid, types=[ev.ConnectionStatusChanged])}
        assert {("ibkr.execution", "CONNECTED"), ("ibkr.data", "CONNECTED")} <= states
        fills = list(jr.events(sid, types=[ev.OrderFilled]))
        assert fills and all(f.fill_id.startswith("0000e0d5.") for f in fills)  # IB execution ids
        acks = [(e.name, e.ok) for e in jr.events(sid, types=[ev.CommandAcknowledged])]
        assert ("submit_order", True) in acks and ("kill", True) in acks
    finally:
        jr.close()
