"""Plotly figures that survive export: notebooks render them as HTML with their JavaScript.

Plotly's default renderer in Jupyter writes only the ``application/vnd.plotly.v1+json`` mime type,
which JupyterLab draws with an extension but nbconvert's HTML exporter, nbviewer and GitHub do not:
an exported notebook lost every figure. :func:`use_html_figures` makes every figure write both
that mime type (JupyterLab keeps its interactive renderer) and ``text/html`` with the figure's
``<div>`` and ``Plotly.newPlot`` call, which nbconvert and nbviewer show.

``connected=True`` (default) loads plotly.js from plotly's CDN when the page opens (a few KB per
notebook); ``connected=False`` embeds plotly.js (about 4.6 MB) once per notebook so the export
also works offline.
"""

from __future__ import annotations

__all__ = ["use_html_figures"]


def use_html_figures(connected: bool = True) -> str:
    """Set plotly's default renderer for this kernel (see the module docstring); return its name."""
    import plotly.io as pio

    name = "plotly_mimetype+" + ("notebook_connected" if connected else "notebook")
    pio.renderers.default = name
    return name
