"""``workbench stack`` and ``workbench graduate``: registered in :mod:`workbench.cli` by :func:`add_parsers`.

``workbench graduate SESSION`` prints the scorecard; exit code 0 when every criterion passes (with
``--confirm-live`` it then runs the live session on the broker until SIGINT/SIGTERM), 1 when
graduation is refused, 2 on bad input (e.g. the broker's keys are not set).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

from workbench.operations.supervisor import add_stack_parser

__all__ = ["add_parsers", "run_graduate"]


def add_parsers(sub: Any) -> None:
    """Add ``stack`` and ``graduate`` to an argparse subparsers object."""
    add_stack_parser(sub)
    g = sub.add_parser("graduate", help="score a paper session for live trading; start live when it passes")
    g.add_argument("session")
    g.add_argument("--journal", default=None)
    g.add_argument("--config", default=None, help="YAML whose 'graduation' section sets the criteria "
                   "(default: the session's own config, else the defaults)")
    g.add_argument("--recording", default=None, help="the session's recording directory (signal agreement)")
    g.add_argument("--confirm-live", action="store_true", help="explicit opt-in: start the live session if it passes")
    g.add_argument("--broker", default="alpaca", choices=["alpaca", "ibkr"], help="live broker adapter (alpaca: keys "
                   "from the environment, APCA_API_KEY_ID, APCA_API_SECRET_KEY; ibkr: TWS / IB Gateway, live port)")
    g.add_argument("--cadence", default="day", type=_cadence, help="when live is compared with its paper shadow "
                   "and the size multiplier may step: 'day' (each New York trading date) or N (every N shadow signals)")
    g.set_defaults(func=run_graduate)


def run_graduate(args: argparse.Namespace) -> int:
    from workbench.operations.graduation import GraduationCriteria, GraduationRefused, graduate, start_live_session

    criteria = None
    if args.config:
        from workbench.config import load_config

        criteria = load_config(args.config, confirm_live=True).graduation
    try:
        card, live = graduate(args.journal, args.session, criteria if isinstance(criteria, GraduationCriteria) else None,
                              confirm_live=args.confirm_live, recording=args.recording,
                              start_live=lambda sid, journal, multiplier: start_live_session(
                                  sid, journal, multiplier, broker=args.broker, cadence=args.cadence))
    except GraduationRefused as exc:
        print(exc.scorecard)
        return 1
    print(card)
    if live is None:
        print("eligible for live trading: run again with --confirm-live to start it")
        return 0
    print(f"live session {live.session_id} starting on {args.broker} at {live.multiplier:g}x with its paper shadow "
          f"{live.shadow.session_id} (journal {live.journal!r}); Ctrl-C stops both", flush=True)
    asyncio.run(_run_live(live))
    return 0


def _cadence(text: str) -> str | int:
    if text == "day":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--cadence must be 'day' or a number of signals >= 1, got {text!r}")
    return value


async def _run_live(session: Any) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, session.stop)
    await session
