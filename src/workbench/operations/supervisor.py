"""A small process supervisor: start the engine, the API and the dashboard; restart what fails.

The same restart policy as the systemd unit (``Restart=on-failure``) and the compose file
(``restart: on-failure``), for machines with neither: each :class:`ServiceSpec` runs as a child
process; when it exits with a non-zero status (or is killed by a signal) it is started again after
a back-off (``min_backoff`` doubling to ``max_backoff``, back to ``min_backoff`` once a run lasted
``stable_after`` seconds). The engine's command is idempotent (``workbench paper --session-id ID
--resume-existing``: start the session, or resume it from the journal when it exists), so a restart
resumes the session: rebuild from the journal, reconcile, trade on.

:meth:`Supervisor.stop` sends SIGTERM to every child (the engine journals a clean stop), waits,
then SIGKILLs what is left. ``workbench stack`` (:func:`run_stack`) is the command-line front end.
With ``$WORKBENCH_LOG_DIR`` set, each child logs JSON to ``<dir>/<service>.log`` (rotated; see
:mod:`workbench.logs`).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ServiceSpec", "Supervisor", "add_stack_parser", "run_stack", "stack_services"]


@dataclass(frozen=True)
class ServiceSpec:
    """One supervised process.

    ``restart``: ``"on-failure"`` (non-zero exit or a signal), ``"always"`` or ``"no"``.
    Seconds: ``min_backoff``, ``max_backoff``, ``stable_after``.
    """

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    restart: str = "on-failure"
    min_backoff: float = 1.0
    max_backoff: float = 30.0
    stable_after: float = 60.0


@dataclass
class _State:
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    exits: list[int] = field(default_factory=list)


class Supervisor:
    """Run and restart :class:`ServiceSpec` processes (see the module docstring).

    Parameters
    ----------
    services : sequence of ServiceSpec
    report : callable, optional
        Called with one line per start, exit and restart (default: print to stderr).
    """

    def __init__(self, services: Sequence[ServiceSpec], report: Callable[[str], None] | None = None) -> None:
        names = [s.name for s in services]
        if len(set(names)) != len(names):
            raise ValueError(f"service names must be unique, got {names}")
        self.services = list(services)
        self.report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self.state = {s.name: _State() for s in services}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def pid(self, name: str) -> int | None:
        """PID of the running process of service ``name`` (None between runs)."""
        process = self.state[name].process
        return process.pid if process is not None and process.poll() is None else None

    def starts(self, name: str) -> int:
        return self.state[name].starts

    def start(self) -> None:
        """Start every service (each watched by its own thread); returns at once."""
        for spec in self.services:
            thread = threading.Thread(target=self._watch, args=(spec,), name=f"supervise-{spec.name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _spawn(self, spec: ServiceSpec) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if self._stopping.is_set():
                return None
            env = {**os.environ, **(spec.env or {})}
            if env.get("WORKBENCH_LOG_DIR"):  # one rotated file per service (rotation is per process)
                env["WORKBENCH_LOG_FILE"] = os.path.join(env["WORKBENCH_LOG_DIR"], f"{spec.name}.log")
            process = subprocess.Popen(list(spec.argv), env=env, cwd=spec.cwd, stdin=subprocess.DEVNULL)
            state = self.state[spec.name]
            state.process = process
            state.starts += 1
        self.report(f"supervisor: started {spec.name} (pid {process.pid}, start #{state.starts})")
        return process

    def _watch(self, spec: ServiceSpec) -> None:
        backoff = spec.min_backoff
        while not self._stopping.is_set():
            began = time.monotonic()
            process = self._spawn(spec)
            if process is None:
                return
            code = process.wait()
            self.state[spec.name].exits.append(code)
            if self._stopping.is_set():
                return
            failed = code != 0
            self.report(f"supervisor: {spec.name} exited with {_describe(code)}")
            if spec.restart == "no" or (spec.restart == "on-failure" and not failed):
                return
            if time.monotonic() - began >= spec.stable_after:
                backoff = spec.min_backoff
            self.report(f"supervisor: restarting {spec.name} in {backoff:.1f} s")
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, spec.max_backoff)

    def wait(self) -> None:
        """Block until :meth:`stop` is called or every service ended for good."""
        while not self._stopping.is_set() and any(t.is_alive() for t in self._threads):
            self._stopping.wait(0.5)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM every child, wait up to ``timeout`` s, SIGKILL what is left."""
        with self._lock:
            self._stopping.set()
            processes = [s.process for s in self.state.values() if s.process is not None]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for thread in self._threads:
            thread.join(timeout=5)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


def _workbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "workbench.cli", *args]


def stack_services(args: argparse.Namespace) -> list[ServiceSpec]:
    """The engine, API and (unless ``--no-dashboard``) dashboard of ``workbench stack``."""
    journal = ["--journal", args.journal] if args.journal else []
    engine = ["paper", *journal, "--session-id", args.session_id, "--resume-existing", "--quiet"]
    if args.config:
        engine += ["--config", args.config]
    else:
        engine += ["--strategy", args.strategy, *(x for p in args.param for x in ("--param", p))]
    if args.speed:
        engine += ["--speed", args.speed]
    services = [
        ServiceSpec("engine", _workbench(*engine)),
        ServiceSpec("api", _workbench("serve", *journal, "--port", str(args.api_port),
                                      *(["--token-file", args.token_file] if args.token_file else []))),
    ]
    if not args.no_dashboard:
        services.append(ServiceSpec("dashboard", _workbench("dashboard", *journal, "--session-id", args.session_id,
                                                            *(["--port", str(args.dashboard_port)]
                                                              if args.dashboard_port else []))))
    return services


def add_stack_parser(sub: Any) -> None:
    """Add ``workbench stack`` to an argparse subparsers object."""
    p = sub.add_parser("stack", help="run the engine, the API and the dashboard; restart what fails")
    p.add_argument("--session-id", required=True, help="the engine's session: started, or resumed when it exists")
    p.add_argument("--journal", default=None)
    p.add_argument("--config", default=None, help="engine config YAML (else --strategy/--param)")
    p.add_argument("--strategy", default="sma_crossover")
    p.add_argument("--param", "-p", action="append", default=[])
    p.add_argument("--speed", default=None)
    p.add_argument("--api-port", type=int, default=8765)
    p.add_argument("--token-file", default=None)
    p.add_argument("--dashboard-port", type=int, default=None)
    p.add_argument("--no-dashboard", action="store_true")
    p.set_defaults(func=run_stack)


def run_stack(args: argparse.Namespace) -> int:
    """``workbench stack``: supervise until SIGTERM/SIGINT, then stop every child; exit code 0."""
    supervisor = Supervisor(stack_services(args))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: supervisor._stopping.set())
    supervisor.start()
    supervisor.wait()
    supervisor.stop()
    return 0
