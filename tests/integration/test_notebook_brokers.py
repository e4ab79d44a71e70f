"""Notebook 02 switched to a broker (``BROKER = "alpaca"`` or ``"ibkr"``) runs end to end.

- Alpaca: the session trades through the real alpaca-py client against the local Alpaca emulator
  the notebook starts itself (127.0.0.1, fake keys, no network); the journal records the
  connections ``alpaca broker`` / ``alpaca feed``, their health, and Alpaca's execution ids (UUIDs).
- IB: the session trades through the real ib_async client against the local TWS emulator started on
  the kernel's loop (no TWS, no network); the journal records ``ibkr.execution`` / ``ibkr.data``
  and IB's execution ids (``0000e0d5.`` prefix, as TWS formats them).

In both, the manual order and the kill switch of the notebook's controls are acknowledged.
"""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _alpaca_checks(parameters: dict, fill_ids: list[str]) -> None:
    assert parameters["emulator"] is True
    assert "api_key" not in parameters["alpaca"] and "secret_key" not in parameters["alpaca"]
    assert all(uuid.UUID(f) for f in fill_ids)


def _ibkr_checks(parameters: dict, fill_ids: list[str]) -> None:
    assert all(f.startswith("0000e0d5.") for f in fill_ids)


CASES = {
    "alpaca": (("alpaca broker", "alpaca feed"), _alpaca_checks, True),
    "ibkr": (("ibkr.execution", "ibkr.data"), _ibkr_checks, False),
}


@pytest.mark.parametrize("broker", sorted(CASES))
def test_paper_trading_notebook_on_a_broker_emulator(broker, tmp_path, monkeypatch):
    if broker == "ibkr" and importlib.util.find_spec("ib_async") is None:
        pytest.skip("ib_async is not installed")
    components, broker_checks, health_reported = CASES[broker]
    nb = nbformat.read(REPO / "notebooks" / "02_paper_trading.ipynb", as_version=4)
    params = nb.cells[1]
    assert params.source.startswith("# parameters") and 'BROKER = "simulated"' in params.source
    journal = tmp_path / "journal.sqlite"
    params.source = params.source.replace('BROKER = "simulated"', f'BROKER = "{broker}"').replace(
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
        assert parameters["broker"] == broker
        states = {(e.component, e.state) for e in jr.events(sid, types=[ev.ConnectionStatusChanged])}
        assert {(component, "CONNECTED") for component in components} <= states
        if health_reported:
            assert list(jr.events(sid, types=[ev.ConnectionHealthReported]))
        fills = list(jr.events(sid, types=[ev.OrderFilled]))
        assert fills
        broker_checks(parameters, [f.fill_id for f in fills])
        acks = [(e.name, e.ok) for e in jr.events(sid, types=[ev.CommandAcknowledged])]
        assert ("submit_order", True) in acks and ("kill", True) in acks
    finally:
        jr.close()
