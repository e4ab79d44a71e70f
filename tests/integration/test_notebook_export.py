"""Notebooks exported to HTML keep every figure (issue 13, defect 6).

Each research notebook is executed (nbclient, as nbconvert does) and exported with nbconvert's
HTML exporter. The executed notebook is the independent count: every output that carries a
plotly figure (``application/vnd.plotly.v1+json``) must appear in the HTML as a plotly ``<div>``
with its ``Plotly.newPlot`` call and the figure's own data (the first trace's ``x`` values).
Notebook 02 (the live widget panel) is not in this test: its charts are widgets, exported only
with their widget state.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbconvert = pytest.importorskip("nbconvert")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[2]
PLOTLY = "application/vnd.plotly.v1+json"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["01_research_backtest.ipynb", "03_backtest_vs_live.ipynb", "04_scans.ipynb",
                                  "05_execution.ipynb"])
def test_exported_html_has_every_figure(name, tmp_path, monkeypatch):
    path = REPO / "notebooks" / name
    nb = nbformat.read(path, as_version=4)
    monkeypatch.chdir(tmp_path)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    figures = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
               if PLOTLY in out.get("data", {})]
    assert figures, f"{name} shows no plotly figure"
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    tags = re.findall(r'<div[^>]*class="plotly-graph-div"[^>]*>', html)
    divs = [re.search(r'id="([0-9a-f-]{36})"', tag).group(1) for tag in tags]
    calls = re.findall(r'Plotly\.newPlot\(\s*"([0-9a-f-]{36})"', html)
    embedded = sum(len(re.findall(r'class="plotly-graph-div"', "".join(out["data"].get("text/html", ""))))
                   for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
                   if "data" in out and PLOTLY not in out["data"])  # figures an HTML report embeds itself
    assert len(divs) == len(figures) + embedded, (len(divs), len(figures), embedded)
    assert sorted(calls) == sorted(divs)
    for out in figures:  # the figure's own data is in the page, not just an empty plot
        first = out["data"][PLOTLY]["data"][0]
        xs = first.get("x") if isinstance(first.get("x"), list) else None
        if xs:
            assert json.dumps(xs[0]) in html
    (tmp_path / name.replace(".ipynb", ".html")).write_text(html)
