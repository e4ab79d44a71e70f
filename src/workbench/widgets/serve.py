"""``workbench dashboard``: serve ``dashboards/ops.ipynb`` with Voila on 127.0.0.1 behind a token.

Voila starts one kernel per page view; the notebook builds a
:class:`~workbench.widgets.dashboard.Dashboard` that reads the journal named by
``$WORKBENCH_JOURNAL`` (set here from ``journal_url``). Tracebacks are not sent to the browser.
Requests without the token are refused (HTTP 403) by Jupyter Server's token authentication.

For the CLI: :func:`add_dashboard_parser` adds the ``dashboard`` subcommand to an ``argparse``
subparsers object and :func:`run_dashboard` is its handler (returns the exit code). Also runnable
as ``python -m workbench.widgets.serve``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import webbrowser
from dataclasses import dataclass
from pathlib import Path

from workbench.widgets.startup import DASHBOARD_KERNEL_ENV

JOURNAL_ENV = "WORKBENCH_JOURNAL"
"""Environment variable naming the journal (URL or SQLite path) the dashboard reads."""

DEFAULT_JOURNAL_PATH = "./workbench_data/journal.sqlite"
"""Journal used when :data:`JOURNAL_ENV` is not set (the CLI's default)."""

__all__ = ["DashboardServer", "absolute_journal_url", "add_dashboard_parser", "dashboard_notebook", "dashboard_parser",
           "main", "prepare_dashboard", "run_dashboard", "serve_dashboard", "wait_listening"]

HOST = "127.0.0.1"

TEMPLATE = "workbench"
"""Voila template of the dashboard (``widgets/share/voila/templates/workbench``): Voila's ``lab``
template without the icon-font stylesheets it would load from a CDN."""

TEMPLATE_ROOT = Path(__file__).resolve().parent / "share"
"""Jupyter data directory holding :data:`TEMPLATE` (prepended to ``$JUPYTER_PATH`` for Voila)."""

READY_TIMEOUT = 120.0
"""Seconds :func:`serve_dashboard` waits for Voila to accept connections before giving up."""

TOKEN_ENV = "JUPYTER_TOKEN"
"""Environment variable passing the access token to Voila's identity provider (not on the command line)."""

POOL_SIZE = 1
"""Kernels Voila keeps started with the dashboard notebook already executed (``--preheat_kernel``):
a page opened takes one, so it shows without waiting for a kernel to start and import pandas,
plotly and ipywidgets; Voila then starts a replacement after :data:`POOL_REFILL_DELAY`."""

POOL_REFILL_DELAY = 8.0
"""Seconds Voila waits before starting the replacement of a pooled kernel a page took (the
replacement's start-up would otherwise compete for the CPU with that page's first render)."""

PLOTLY_ESM_ENV = "WORKBENCH_PLOTLY_ESM"
"""Environment variable with the URL of plotly's widget bundle served by the dashboard's Voila
(read by :class:`~workbench.widgets.charts.EquityChart`)."""


def plotly_bundle_dir() -> Path | None:
    """Directory holding plotly's ``widgetbundle.js`` (found without importing plotly), or None."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "package_data"
    return folder if (folder / "widgetbundle.js").is_file() else None


def dashboard_notebook() -> Path:
    """Path of ``dashboards/ops.ipynb`` (in the source tree next to ``src/``).

    Raises
    ------
    FileNotFoundError
        The notebook is not there (an installed package without the repository); pass
        ``notebook=`` to :func:`serve_dashboard` then.
    """
    path = Path(__file__).resolve().parents[3] / "dashboards" / "ops.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"dashboard notebook not found at {path}; pass notebook=<path to ops.ipynb>")
    return path


def free_port(host: str = HOST) -> int:
    """A TCP port free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def absolute_journal_url(journal_url: str | os.PathLike[str]) -> str:
    """A journal URL with a plain or relative SQLite path made absolute (Voila's kernels run in the
    notebook's directory); other URLs are returned unchanged."""
    text = os.fspath(journal_url)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    prefix = "sqlite:///"
    if text.startswith(prefix) and not text.startswith(prefix + "/"):
        return prefix + str(Path(text[len(prefix):]).expanduser().resolve())
    return text


@dataclass(frozen=True, slots=True)
class DashboardServer:
    """How to launch one dashboard server: the command line, its environment and the page URL."""

    argv: list[str]
    env: dict[str, str]
    url: str
    port: int
    token: str
    journal_url: str


def prepare_dashboard(journal_url: str | os.PathLike[str] | None = None, port: int | None = None,
                      token: str | None = None, *, notebook: str | os.PathLike[str] | None = None,
                      session_id: str | None = None) -> DashboardServer:
    """Build the Voila command for :func:`serve_dashboard` without starting it.

    Parameters
    ----------
    journal_url : str or path, optional
        Journal URL or SQLite path; default ``$WORKBENCH_JOURNAL`` or ``./workbench_data/journal.sqlite``.
    port : int, optional
        TCP port on 127.0.0.1; default a free port.
    token : str, optional
        Access token; default 32 random URL-safe characters (``secrets.token_urlsafe``).
    notebook : path, optional
        Dashboard notebook; default :func:`dashboard_notebook`.
    session_id : str, optional
        Session shown first (``$WORKBENCH_SESSION`` for the notebook); default the newest.

    Raises
    ------
    ValueError
        ``port`` outside 1..65535 or an empty token.
    FileNotFoundError
        The notebook does not exist.
    """
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"port must be in 1..65535, got {port!r}")
    if token is not None and not token.strip():
        raise ValueError("token must not be empty")
    path = Path(notebook).resolve() if notebook is not None else dashboard_notebook()
    if not path.is_file():
        raise FileNotFoundError(f"dashboard notebook {path} does not exist")
    port = int(port) if port is not None else free_port()
    token = token or secrets.token_urlsafe(24)
    url = absolute_journal_url(journal_url or os.environ.get(JOURNAL_ENV) or DEFAULT_JOURNAL_PATH)
    env = dict(os.environ)
    env[JOURNAL_ENV] = url
    if session_id:
        env["WORKBENCH_SESSION"] = session_id
    else:
        env.pop("WORKBENCH_SESSION", None)
    env[DASHBOARD_KERNEL_ENV] = "1"
    from workbench.widgets.memory import MALLOC_ENV

    env.update({k: v for k, v in MALLOC_ENV.items() if k not in os.environ})  # the user's own setting wins
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(TEMPLATE_ROOT), env.get("JUPYTER_PATH", "")) if p)
    # the token goes through the environment (readable only by this user), never the command line (``ps``)
    env[TOKEN_ENV] = token
    bundle = plotly_bundle_dir()
    if bundle is not None:
        # plotly's FigureWidget is an anywidget whose ~5 MB JavaScript would otherwise travel through the
        # kernel's websocket for every page view; the browser loads it from this URL instead.
        env[PLOTLY_ESM_ENV] = f"http://{HOST}:{port}/voila/labextensions/widgetbundle.js"
    argv = [
        sys.executable, "-m", "workbench.widgets.voila_main", str(path),
        "--no-browser",
        f"--Voila.ip={HOST}",
        f"--port={port}",
        "--Voila.port_retries=0",
        "--Voila.auto_token=True",  # the identity provider reads $JUPYTER_TOKEN
        "--Voila.identity_provider_class=workbench.widgets.auth.TokenOnlyIdentityProvider",
        "--show_tracebacks=False",
        f"--template={TEMPLATE}",
        "--VoilaExecutor.show_tracebacks=False",
        # plotly >= 6 renders FigureWidget through anywidget: its old JupyterLab extension (4.7 MB) is unused
        "--VoilaConfiguration.extension_denylist=jupyterlab-plotly",
        # preheated kernels: the notebook runs before a page asks for it (the reaper spares pooled kernels)
        "--VoilaConfiguration.preheat_kernel=True",
        f"--VoilaConfiguration.default_pool_size={POOL_SIZE}",
        f"--VoilaKernelManager.fill_delay={POOL_REFILL_DELAY:g}",
    ]
    if bundle is not None:
        argv.append(f"--VoilaConfiguration.extra_labextensions_path={bundle}")
    return DashboardServer(argv, env, f"http://{HOST}:{port}/?token={token}", port, token, url)


def serve_dashboard(journal_url: str | os.PathLike[str] | None = None, port: int | None = None,
                    token: str | None = None, open_browser: bool = False, *,
                    notebook: str | os.PathLike[str] | None = None, session_id: str | None = None) -> int:
    """Serve the ops dashboard with Voila until interrupted; return Voila's exit code.

    Prints the URL (with its token) once Voila accepts connections on the port, so the first
    request to it succeeds. Parameters as :func:`prepare_dashboard`; ``open_browser`` opens the
    URL in the default browser.
    """
    server = prepare_dashboard(journal_url, port, token, notebook=notebook, session_id=session_id)
    from workbench.persistence.database import mask_url

    print(f"workbench dashboard: journal {mask_url(server.journal_url)}", flush=True)
    process = subprocess.Popen(server.argv, env=server.env)
    if threading.current_thread() is threading.main_thread():
        # a SIGTERM to this process stops Voila too (it would otherwise outlive us)
        signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        if not wait_listening(server.port, process, READY_TIMEOUT):
            if process.poll() is None:
                print(f"workbench dashboard: Voila did not listen on port {server.port} within "
                      f"{READY_TIMEOUT:g} s", file=sys.stderr, flush=True)
                process.terminate()
            return process.wait() or 1
        print(f"workbench dashboard: open {server.url}", flush=True)
        if open_browser:
            webbrowser.open(server.url)
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()


def wait_listening(port: int, process: subprocess.Popen | None = None, timeout: float = READY_TIMEOUT,
                   host: str = HOST) -> bool:
    """Poll until ``host:port`` accepts a TCP connection (True), ``process`` exits or ``timeout``
    seconds pass (False). Polls every 50 ms on the calling thread (the CLI's; no event loop)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return True
        threading.Event().wait(0.05)
    return False


def add_dashboard_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``dashboard`` to a CLI's subparsers; its handler is stored as ``func`` (:func:`run_dashboard`)."""
    parser = subparsers.add_parser("dashboard", help="serve the ops dashboard (Voila) on 127.0.0.1 with a token",
                                   description="Serve the ops dashboard with Voila on 127.0.0.1 behind a token.")
    _add_arguments(parser)
    parser.set_defaults(func=run_dashboard)
    return parser


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--journal", default=None,
                        help=f"journal URL or SQLite path (default ${JOURNAL_ENV} or ./workbench_data/journal.sqlite)")
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free port)")
    parser.add_argument("--token", default=None, help="access token (default: generated)")
    parser.add_argument("--session-id", default=None, help="session shown first (default: the newest)")
    parser.add_argument("--open", action="store_true", help="open the page in the default browser")
    parser.add_argument("--notebook", default=None, help="dashboard notebook (default dashboards/ops.ipynb)")


def run_dashboard(args: argparse.Namespace) -> int:
    """Handler of ``workbench dashboard``: :func:`serve_dashboard` with the parsed arguments (a bad
    port or token: the error on stderr, exit code 2)."""
    try:
        prepare_dashboard(args.journal, args.port, args.token, notebook=args.notebook)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return serve_dashboard(args.journal, args.port, args.token, args.open, notebook=args.notebook,
                           session_id=args.session_id)


def dashboard_parser() -> argparse.ArgumentParser:
    """A stand-alone parser of ``workbench dashboard``'s options (its handler stored as ``func``); the
    CLI uses it for ``workbench dashboard`` so it starts without importing the other subcommands."""
    parser = argparse.ArgumentParser(prog="workbench dashboard",
                                     description="Serve the ops dashboard with Voila on 127.0.0.1 behind a token.")
    _add_arguments(parser)
    parser.set_defaults(func=run_dashboard)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m workbench.widgets.serve [--journal ...]`` (same options as ``workbench dashboard``)."""
    return run_dashboard(dashboard_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
