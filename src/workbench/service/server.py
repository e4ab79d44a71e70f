"""Running the API on uvicorn: ``workbench serve`` and an in-process server for tests and benchmarks.

The socket is bound here (127.0.0.1 by default; port 0 = a free port chosen by the OS) and handed
to uvicorn, so the printed URL always names the real port.

``workbench serve`` takes its tokens from :func:`workbench.service.auth.load_tokens`; when none
is configured it makes one ``operate`` token (``secrets.token_urlsafe(32)``) and prints it once
on stdout, as ``workbench dashboard`` does. The token never goes to the log.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workbench.service.auth import OPERATE, TokenStore, load_tokens

__all__ = ["HOST", "RunningServer", "add_serve_parser", "bind", "run_serve", "running_server"]

HOST = "127.0.0.1"


def bind(host: str = HOST, port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _config(app: Any, log_level: str = "warning") -> Any:
    import uvicorn

    return uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on", ws="websockets-sansio",
                          http="httptools", loop="uvloop",
                          ws_per_message_deflate=False, ws_max_queue=64, timeout_graceful_shutdown=2)


@dataclass
class RunningServer:
    """A server started by :func:`running_server`: its base URL and port."""

    url: str
    port: int
    server: Any


@contextlib.contextmanager
def running_server(app: Any, host: str = HOST, port: int = 0) -> Iterator[RunningServer]:
    """Run ``app`` on uvicorn in a background thread (its own event loop) until the block ends."""
    import uvicorn

    sock = bind(host, port)
    server = uvicorn.Server(_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="workbench-api")
    thread.start()
    try:
        for _ in range(3000):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not server.started:
            raise RuntimeError("the API server did not start")
        real = sock.getsockname()[1]
        yield RunningServer(f"http://{host}:{real}", real, server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def add_serve_parser(sub: Any) -> None:
    """Add the ``serve`` subcommand to an argparse subparsers object."""
    p = sub.add_parser("serve", help="REST + WebSocket API on the journal (reads it, writes commands)")
    p.add_argument("--journal", default=None, help="journal URL or path (default $WORKBENCH_JOURNAL or "
                   "workbench_data/journal.sqlite)")
    p.add_argument("--host", default=HOST, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="TCP port (0: any free port)")
    p.add_argument("--token-file", default=None, help="file of '<role> <token>' lines, mode 0600")
    p.add_argument("--log-level", default="warning")
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """``workbench serve``: exit code 0 on a clean stop, 2 on bad configuration."""
    from workbench.service.app import create_app
    from workbench.session import open_journal

    tokens = load_tokens(args.token_file)
    if not tokens:
        token = secrets.token_urlsafe(32)
        tokens = TokenStore({token: OPERATE})
        print(f"no API token configured: this run's operate token is {token}", flush=True)
    if args.host not in (HOST, "localhost", "::1"):
        print(f"warning: binding {args.host}: the API is reachable from other machines", file=sys.stderr)
    journal = open_journal(args.journal, synchronous="FULL")
    app = create_app(journal, tokens)
    sock = bind(args.host, args.port)
    port = sock.getsockname()[1]
    print(f"workbench API on http://{args.host}:{port} (OpenAPI: /docs); journal {journal!r}", flush=True)
    import uvicorn

    server = uvicorn.Server(_config(app, args.log_level))
    try:
        server.run(sockets=[sock])  # uvicorn's own runner (its event loop, signal handling)
    finally:
        journal.close()
    return 0
