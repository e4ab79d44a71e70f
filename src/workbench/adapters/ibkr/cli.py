"""``workbench paper --broker ibkr`` and ``workbench live --broker ibkr`` (explicit opt-in)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The IB connection options of ``paper`` / ``live``."""
    g = p.add_argument_group("Interactive Brokers (--broker ibkr)")
    g.add_argument("--ibkr-host", default=None, help="TWS / Gateway host (default 127.0.0.1)")
    g.add_argument("--ibkr-port", type=int, default=None, help="default: 7497 paper / 7496 live (TWS)")
    g.add_argument("--ibkr-client-id", type=int, default=None, help="first client id (326 moves to the next)")
    g.add_argument("--ibkr-account", default=None)


def run(args: argparse.Namespace, *, live: bool) -> int:
    """Build the IB session from the CLI arguments (and ``--config``'s ``ibkr`` section) and run it."""
    from workbench.adapters.ibkr.session import ibkr_session
    from workbench.cli import _params, _report, _run_session, _Terminal

    settings: dict[str, Any] = {}
    strategy, params = args.strategy, _params(args.param)
    if getattr(args, "config", None):
        from workbench.config import load_config

        config = load_config(args.config, confirm_live=args.confirm_live)
        settings = dict(config.ibkr or {})
        strategy, params = config.session.strategy, dict(config.session.params)
    overrides = {"host": args.ibkr_host, "port": args.ibkr_port, "client_id": args.ibkr_client_id,
                 "account": args.ibkr_account}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    if getattr(args, "resume", None):
        return _resume(args, settings)
    symbols = [s for s in args.symbols.split(",") if s] or None
    session = ibkr_session(strategy, params=params, symbols=symbols, ibkr=settings, live=live,
                           confirm_live=args.confirm_live, journal=args.journal, session_id=args.session_id,
                           starting_cash=args.cash)
    terminal = _Terminal(session, args.quiet)
    session.runner.on_progress = terminal
    print(f"{'LIVE' if live else 'paper'} session {session.session_id} on IB; journal {session.journal.display_url}",
          flush=True)
    code = asyncio.run(_run_session(session, terminal))
    _report(session)
    return code


def _resume(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    """``paper --broker ibkr --resume SESSION``: rebuild, reconnect, reconcile, trade on."""
    from workbench.adapters.ibkr.session import resume_ibkr_session
    from workbench.cli import _report, _run_session, _Terminal

    async def main() -> tuple[Any, int]:
        session = await resume_ibkr_session(args.resume, journal=args.journal, ibkr=settings,
                                            confirm_live=args.confirm_live)
        terminal = _Terminal(session, args.quiet)
        session.runner.on_progress = terminal
        print(f"{session.mode} session {session.session_id} resumed on IB; journal {session.journal.display_url}", flush=True)
        return session, await _run_session(session, terminal)

    session, code = asyncio.run(main())
    _report(session)
    return code
