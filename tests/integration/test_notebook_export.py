"""Notebooks exported to HTML keep every figure (issue 13, defect 6).

Each research notebook is executed (nbclient, as nbconvert does) and exported with nbconvert's
HTML exporter. The executed notebook is the independent count: every output that carries a
plotly figure (``application/vnd.plotly.v1+json``) must appear in the HTML as a plotly ``<div>``
with its ``Plotly.newPlot`` call and the figure's own data (the first trace's ``x`` values).
Every figure also carries a static PNG (kaleido), as ``image/png`` and as an ``<img>`` fallback
inside its HTML, so viewers that run no JavaScript (GitHub) show it: the PNG must decode (Pillow)
to the figure's size, plotly's documented default of 700 x 500 px where the layout sets none.

Notebook 02 (the live widget panel) is exported with its widget state: that state must hold the
charts' data and not plotly.js (~5 MB).
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbconvert = pytest.importorskip("nbconvert")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[2]
PLOTLY = "application/vnd.plotly.v1+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
DEFAULT_SIZE = (700, 500)
"""plotly.io.to_image's width and height when the layout sets none (plotly.io documentation)."""


def _execute(name: str, folder: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(folder)}}).execute()
    return nb

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["01_research_backtest.ipynb", "03_backtest_vs_live.ipynb", "04_scans.ipynb",
                                  "05_execution.ipynb"])
def test_exported_html_has_every_figure(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb = _execute(name, tmp_path)
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
    pil_image = pytest.importorskip("PIL.Image")
    tags = [tag for tag in re.findall(r"<img[^>]*>", html) if 'class="wb-figure-image"' in tag]
    images = [re.search(r'src="data:image/png;base64,([^"]+)"', tag).group(1) for tag in tags]
    assert len(images) == len(figures)  # every figure has its static fallback in the page
    for out in figures:
        layout = out["data"][PLOTLY].get("layout", {})
        png = out["data"].get("image/png")
        assert png, "a figure without its static image"
        image = pil_image.open(io.BytesIO(base64.b64decode(png)))
        assert image.format == "PNG"
        assert image.size == (layout.get("width") or DEFAULT_SIZE[0], layout.get("height") or DEFAULT_SIZE[1])
        assert png in images
    (tmp_path / name.replace(".ipynb", ".html")).write_text(html)


def test_the_live_panel_saves_its_charts_without_plotly_js(tmp_path, monkeypatch):
    """Notebook 02's saved widget state holds each chart's figure (JSON, with the equity drawn) and
    no copy of plotly's widget JavaScript (which is over 4 MB)."""
    monkeypatch.chdir(tmp_path)
    nb = _execute("02_paper_trading.ipynb", tmp_path)
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    text = json.dumps(state)
    assert len(text) < 2_000_000, len(text)
    assert not any("_esm" in model["state"] for model in state.values())
    figures = [output["data"][PLOTLY] for model in state.values()
               for output in model["state"].get("outputs", []) if PLOTLY in output.get("data", {})]
    assert len(figures) >= 2  # the equity chart, the price chart (and the daily P&L bars)
    equity = next(f for f in figures if any(t.get("name") == "equity" for t in f["data"]))
    line = next(t for t in equity["data"] if t.get("name") == "equity")
    assert len(line["x"]) > 1  # the session's equity curve, not an empty chart
