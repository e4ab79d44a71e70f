"""Plotly figures that survive export and sharing: HTML with JavaScript plus a static image.

Plotly's default renderer in Jupyter writes only the ``application/vnd.plotly.v1+json`` mime type,
which JupyterLab draws with an extension but nbconvert's HTML exporter, nbviewer and GitHub do not:
an exported notebook lost every figure. :func:`use_html_figures` makes every figure write

- ``application/vnd.plotly.v1+json``: JupyterLab, VS Code and nteract keep their interactive renderer;
- ``text/html``: the figure's ``<div>`` and ``Plotly.newPlot`` call (nbconvert, nbviewer), preceded
  by the static image as an ``<img>`` that the figure's script removes once plotly.js has drawn it,
  so a viewer that runs no JavaScript (GitHub) or cannot load plotly.js (offline) shows the image;
- ``image/png`` (when ``image=True`` and kaleido works): the same static image on its own, for
  viewers that prefer images over HTML.

Static images are made by kaleido (>= 1.0, the version plotly 6+ requires), which drives a
headless Chrome/Chromium found on the machine (e.g. Debian's ``/usr/bin/chromium``; kaleido's
``BROWSER_PATH`` names another). One browser is started per kernel on the first figure (a few
seconds) and reused (about 0.2 s per figure). If kaleido or a browser is missing the figures are
written without the image and one warning says why.

``connected=True`` (default) loads plotly.js from plotly's CDN when the page opens (a few KB per
notebook); ``connected=False`` embeds plotly.js (about 4.6 MB) once per notebook so the export
also works offline.
"""

from __future__ import annotations

import html
import threading
import warnings
from typing import Any

from plotly.io._base_renderers import MimetypeRenderer, NotebookRenderer, PngRenderer

__all__ = ["FIGURE_RENDERER", "StaticHtmlRenderer", "use_html_figures"]

FIGURE_RENDERER = "workbench_html"
"""Name under which :func:`use_html_figures` registers :class:`StaticHtmlRenderer` in ``plotly.io.renderers``."""

_REMOVE_IMAGE = ("var d = document.getElementById('{plot_id}'); var w = d && d.closest('.wb-figure');"
                 " var i = w && w.querySelector('img.wb-figure-image'); if (i) i.remove();")
"""Post-script of the figure's HTML: drop the static image once plotly.js has drawn the figure."""

_server_lock = threading.Lock()
_server_started = False


def _start_image_server() -> None:
    """Start kaleido's shared browser once per process (kaleido otherwise starts one per figure)."""
    global _server_started
    with _server_lock:
        if not _server_started:
            import kaleido

            kaleido.start_sync_server(silence_warnings=True)
            _server_started = True


class StaticHtmlRenderer(MimetypeRenderer):
    """A plotly mimetype renderer writing ``text/html`` (figure + static fallback) and ``image/png``.

    Parameters
    ----------
    connected : bool
        plotly.js from the CDN (True) or embedded once per notebook (False).
    image : bool
        Add the static PNG (kaleido); False: HTML only.
    scale : float
        Pixel density of the PNG (1: the figure's layout size in pixels).
    """

    def __init__(self, connected: bool = True, image: bool = True, scale: float = 1.0) -> None:
        self.html = NotebookRenderer(connected=connected, post_script=_REMOVE_IMAGE)
        self.png = PngRenderer(scale=scale)
        self.image = image
        self.image_error: str | None = None

    def activate(self) -> None:
        self.html.activate()

    def static_image(self, fig_dict: dict[str, Any]) -> str | None:
        """The figure as a base64 PNG, or None (kaleido or its browser is missing: warned once)."""
        if not self.image or self.image_error is not None:
            return None
        try:
            _start_image_server()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "kopts ignored if using a server"
                return self.png.to_mimebundle(fig_dict)["image/png"]
        except Exception as exc:  # no kaleido, no Chrome/Chromium, a browser that died
            self.image_error = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"plotly figures are written without a static image ({self.image_error})", stacklevel=2)
            return None

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, str]:
        bundle = self.html.to_mimebundle(fig_dict)
        png = self.static_image(fig_dict)
        if png is None:
            return bundle
        title = (fig_dict.get("layout") or {}).get("title")
        text = title.get("text") if isinstance(title, dict) else title
        alt = html.escape(str(text or "plotly figure"), quote=True)
        bundle["text/html"] = (f'<div class="wb-figure"><img class="wb-figure-image" alt="{alt}" '
                               f'src="data:image/png;base64,{png}">{bundle["text/html"]}</div>')
        bundle["image/png"] = png
        return bundle


def use_html_figures(connected: bool = True, image: bool = True) -> str:
    """Set plotly's default renderer for this kernel (see the module docstring); return its name.

    Parameters
    ----------
    connected : bool
        plotly.js from the CDN (True) or embedded once per notebook (False).
    image : bool
        Also write a static PNG of every figure (kaleido + a local Chrome/Chromium).
    """
    import plotly.io as pio

    pio.renderers[FIGURE_RENDERER] = StaticHtmlRenderer(connected=connected, image=image)
    name = f"plotly_mimetype+{FIGURE_RENDERER}"
    pio.renderers.default = name
    return name
