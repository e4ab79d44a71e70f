"""``workbench stack`` and ``workbench graduate``: registered in :mod:`workbench.cli` by :func:`add_parsers`.

``workbench graduate SESSION`` prints the scorecard; exit code 0 when every criterion passes (and,
with ``--confirm-live``, the live session started), 1 when graduation is refused, 2 on bad input
or when no live broker is available.
"""

from __future__ import annotations

import argparse
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
    g.set_defaults(func=run_graduate)


def run_graduate(args: argparse.Namespace) -> int:
    from workbench.operations.graduation import GraduationCriteria, GraduationRefused, graduate

    criteria = None
    if args.config:
        from workbench.config import load_config

        criteria = load_config(args.config, confirm_live=True).graduation
    try:
        card, live = graduate(args.journal, args.session, criteria if isinstance(criteria, GraduationCriteria) else None,
                              confirm_live=args.confirm_live, recording=args.recording)
    except GraduationRefused as exc:
        print(exc.scorecard)
        return 1
    print(card)
    if not args.confirm_live:
        print("eligible for live trading: run again with --confirm-live to start it")
    else:
        print(f"live session started: {live}")
    return 0
