"""Command line for broker sessions: ``workbench paper --broker alpaca`` and ``workbench live --broker alpaca``.

``paper --broker alpaca`` trades an Alpaca **paper** account (keys from ``APCA_API_KEY_ID`` /
``APCA_API_SECRET_KEY`` or ``.env``); with ``--emulator`` it first starts the local Alpaca emulator
(127.0.0.1, fake keys, replaying ``--data`` at ``--speed``) and trades against that. ``live
--broker alpaca`` trades a live account and refuses to start without ``--confirm-live`` (or
``WORKBENCH_CONFIRM_LIVE=yes``): the default is always simulated.
"""

from __future__ import annotations

import argparse
from typing import Any

BROKERS = ("simulated", "alpaca", "ibkr")


def add_broker_arguments(parser: argparse.ArgumentParser) -> None:
    """``--broker``, ``--symbols``, ``--emulator`` on the paper subcommand."""
    parser.add_argument("--broker", choices=BROKERS, default="simulated",
                        help="simulated (in-process, default), alpaca (paper account through alpaca-py) or ibkr "
                        "(IB paper account through ib_async)")
    parser.add_argument("--symbols", default="", help="with --broker alpaca|ibkr: symbols to subscribe (default SPY)")
    parser.add_argument("--emulator", action="store_true",
                        help="with --broker alpaca: start the local Alpaca emulator (replaying --data) and trade on it")


def add_live_parser(sub: Any, paper_command: Any) -> argparse.ArgumentParser:
    """``workbench live --broker alpaca|ibkr --confirm-live ...``; returns the parser."""
    lv = sub.add_parser("live", help="trade a live broker account (explicit opt-in: --confirm-live)")
    lv.add_argument("--broker", choices=[b for b in BROKERS if b != "simulated"], required=True)
    lv.add_argument("--strategy", default="sma_crossover")
    lv.add_argument("--param", "-p", action="append", default=[])
    lv.add_argument("--symbols", default="")
    lv.add_argument("--journal", default=None)
    lv.add_argument("--session-id", default=None)
    lv.add_argument("--cash", type=float, default=100_000.0, help="the account's cash at start (currency)")
    lv.add_argument("--quiet", action="store_true")
    lv.add_argument("--confirm-live", action="store_true", help="explicit opt-in to trade real money")
    lv.set_defaults(func=paper_command, live=True, emulator=False, data="demo", speed=None, resume=None,
                    record=None, config=None)
    return lv


def broker_session_from_args(args: argparse.Namespace, params: dict[str, Any]) -> tuple[Any, Any]:
    """The session for ``--broker alpaca`` (paper, or live with the opt-in), and the emulator it
    started (or None).

    Raises
    ------
    ConfigError
        Missing keys or live trading without the opt-in (exit code 2, no traceback).
    """
    from workbench.adapters.alpaca import alpaca_session

    symbols = [s for s in (getattr(args, "symbols", "") or "").split(",") if s] or None
    strategy, settings, options = args.strategy, None, {}
    if getattr(args, "config", None):  # --config: its session, alpaca and risk sections
        from workbench.config import load_config
        from workbench.risk.factory import build_alert_manager, build_risk_engine

        config = load_config(args.config, confirm_live=bool(args.confirm_live))
        strategy, params = config.session.strategy, dict(config.session.params)
        settings = dict(config.alpaca or {})
        options = {"risk": build_risk_engine(config.risk), "alerts": build_alert_manager(config.risk)}
        if config.mode == "live":
            args.live = True
    emulator = None
    if getattr(args, "emulator", False):
        from workbench.emulators.alpaca import AlpacaEmulator

        speed = None if args.speed in ("max", "inf", "0") else float(args.speed or 60)
        emulator = AlpacaEmulator(data=args.data, speed=speed, starting_cash=args.cash).start_thread()
    try:
        if getattr(args, "resume", None):
            from workbench.adapters.alpaca.session import resume_alpaca_session

            session = resume_alpaca_session(args.resume, journal=args.journal, emulator=emulator,
                                            confirm_live=bool(args.confirm_live))
        else:
            session = alpaca_session(strategy, params=params, symbols=symbols, emulator=emulator, alpaca=settings,
                                     live=bool(getattr(args, "live", False)), confirm_live=bool(args.confirm_live),
                                     journal=args.journal, session_id=args.session_id, starting_cash=args.cash,
                                     **options)
    except BaseException:
        if emulator is not None:
            emulator.stop_thread()
        raise
    return session, emulator
