"""Command line: ``workbench backtest | paper | ctl | journal | dashboard | serve | report``.

The only module that calls ``asyncio.run``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from workbench.errors import ConfigError, WorkbenchError


def _params(pairs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--param expects key=value, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _speed(text: str) -> float | None:
    if text in ("max", "inf", "0"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"--speed must be a number > 0 (a multiple of real time) or 'max', got {text!r}")
    return value


def _cash(text: str) -> float:
    from workbench.session import check_starting_cash

    try:
        return check_starting_cash(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (currency)") from None


def _print_validation(stream: Any) -> None:
    """The data's validation report, on every run: rows read and kept, skipped and flagged by check."""
    for report in getattr(stream, "validation", None) or ():
        print(f"data: {report}")
        for issue in report.examples[:3]:
            print(f"  {issue.check}: {issue}")


def _money(x: float) -> str:
    return f"{x:,.2f}"


# ------------------------------------------------------------------------------------ backtest
def cmd_backtest(args: argparse.Namespace) -> int:
    from workbench.engine.backtest import run_backtest
    from workbench.session import load_stream, make_strategy

    strategy = make_strategy(args.strategy, _params(args.param))
    if args.data == "daily":
        from workbench.feeds.samples import load_lean_daily

        data: Any = load_lean_daily(args.symbols.split(",") if args.symbols else None)[0]
    else:
        data = load_stream(args.data, regular=not args.all_hours)
        _print_validation(data)
    result = run_backtest(strategy, data, starting_cash=args.cash)
    print(f"backtest {args.strategy} on {args.data}: {result.data_count:,} events in {result.elapsed_seconds:.2f} s")
    with_pd = result.stats.to_string()
    print(with_pd)
    if args.trades:
        print(result.trades.to_string())
    return 0


# --------------------------------------------------------------------------------------- paper
class _Terminal:
    """Progress bar with a live summary (orders, fills, positions, P&L)."""

    def __init__(self, session: Any, quiet: bool) -> None:
        self.session = session
        self.quiet = quiet
        self.bar = None
        self.last = 0.0

    def __call__(self, runner: Any) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self.last < 0.25:
            return
        self.last = now
        self.render()

    def render(self) -> None:
        from tqdm.auto import tqdm

        if self.bar is None:
            feed = self.session.feed
            self.bar = tqdm(total=len(feed) if hasattr(feed, "__len__") else None, unit="ev", desc="paper",
                            dynamic_ncols=True)
        s = self.session.summary()
        pos = " ".join(f"{k}:{v:g}" for k, v in s["positions"].items()) or "flat"
        ts = self.session.runner.stats.last_data_ts
        import pandas as pd

        when = pd.Timestamp(ts, tz="UTC").tz_convert("America/New_York").strftime("%m-%d %H:%M") if ts else "-"
        self.bar.n = self.session.runner.position
        self.bar.set_postfix_str(
            f"{when} ET | orders {s['orders']} fills {s['fills']} | {pos} | equity {_money(s['equity'])} "
            f"P&L {s['pnl']:+,.2f}", refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.render()
            self.bar.close()


def _report(session: Any) -> None:
    result = session.result()
    s = session.summary()
    print()
    print(f"session {session.session_id}: {s['state']}, {s['data_events']:,} market data events")
    print(f"  orders {s['orders']}, fills {s['fills']}, round trips {len(result.trades)}, "
          f"open positions: {', '.join(f'{k} {v:g}' for k, v in s['positions'].items()) or 'none'}")
    print(f"  equity {_money(s['equity'])}  cash {_money(s['cash'])}  P&L {s['pnl']:+,.2f} "
          f"(realized {s['realized_pnl']:+,.2f}, unrealized {s['unrealized_pnl']:+,.2f})")
    stats = result.stats
    pct = {"total_return": "return", "max_drawdown": "max drawdown", "win_rate": "win rate",
           "benchmark_total_return": "SPY buy & hold"}
    parts = [f"{label} {float(stats[key]) * 100:{'.1f' if key == 'win_rate' else '+.2f'}}%"
             for key, label in pct.items() if key in stats.index and stats[key] == stats[key]]
    for key, label in (("profit_factor", "profit factor"), ("expectancy", "expectancy/trade")):
        if key in stats.index and stats[key] == stats[key]:
            parts.append(f"{label} {float(stats[key]):,.2f}")
    if parts:
        print("  " + ", ".join(parts))
    if session.corrections:
        print(f"  reconciliation: {len(session.corrections)} corrections journaled")
    url = session.journal.display_url  # never a password (issue 10)
    print(f"journal: {url}")
    print(f"  inspect: workbench journal events {session.session_id} --journal {url}")
    print(f"  dashboard: workbench dashboard --journal {url}")


async def _run_session(session: Any, terminal: _Terminal) -> int:
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # non-unix
            loop.add_signal_handler(sig, session.stop)
    try:
        await session
    finally:
        terminal.close()
    return 0


def _existing_session(journal: Any, session_id: str) -> str | None:
    """``session_id`` when the journal has it (``--resume-existing``: the same command starts and restarts)."""
    from workbench.errors import JournalError
    from workbench.session import open_journal

    jr = open_journal(journal)
    try:
        jr.session(session_id)
    except JournalError:
        return None
    finally:
        jr.close()
    return session_id


def cmd_paper(args: argparse.Namespace) -> int:
    from workbench.session import paper_session, resume_session

    broker = getattr(args, "broker", "simulated")
    if broker == "ibkr":
        from workbench.adapters.ibkr.cli import run as run_ibkr

        return run_ibkr(args, live=bool(getattr(args, "live", False)))
    if broker != "simulated":
        return _cmd_broker_session(args)
    if args.resume_existing and not args.resume and args.session_id:
        args.resume = _existing_session(args.journal, args.session_id)
    if args.resume:
        session = resume_session(args.resume, journal=args.journal, record_to=args.record,
                                 speed=_speed(args.speed) if args.speed is not None else "saved")
    elif args.config:
        from workbench.config import load_config

        config = load_config(args.config, confirm_live=args.confirm_live)
        if config.mode == "live":
            print("error: no live broker adapter is configured in this build; use mode: paper", file=sys.stderr)
            return 2
        if args.speed is not None:
            config = config.model_copy(update={"session": config.session.model_copy(
                update={"speed": _speed(args.speed)})})
        session = paper_session(config=config, journal=args.journal, session_id=args.session_id,
                                record_to=args.record)
    else:
        session = paper_session(args.strategy, params=_params(args.param), data=args.data,
                                speed=_speed(args.speed or "3000"), journal=args.journal, session_id=args.session_id,
                                starting_cash=args.cash, record_to=args.record)
    _print_validation(session.feed.stream)
    if "workbench.logs" in sys.modules:  # production logs configured by main() (WORKBENCH_LOG_*)
        from workbench.logs import bind_context, get_logger

        bind_context(session_id=session.session_id)
        get_logger("workbench.engine").info("session running", resumed=bool(args.resume),
                                              journal=session.journal.display_url)
    terminal = _Terminal(session, args.quiet)
    session.runner.on_progress = terminal
    print(f"paper session {session.session_id} ({'resumed' if args.resume else 'new'}); journal {session.journal.display_url}",
          flush=True)
    code = asyncio.run(_run_session(session, terminal))
    _report(session)
    return code


def _cmd_broker_session(args: argparse.Namespace) -> int:
    """``paper --broker alpaca`` / ``live --broker alpaca`` (see workbench.adapters.cli)."""
    from workbench.adapters.cli import broker_session_from_args

    session, emulator = broker_session_from_args(args, _params(args.param))
    terminal = _Terminal(session, args.quiet)
    session.runner.on_progress = terminal
    print(f"{session.mode} session {session.session_id} on {session.execution_client.name}"
          f"{' (local emulator ' + emulator.rest_url + ')' if emulator else ''}; journal {session.journal.url}",
          flush=True)
    try:
        code = asyncio.run(_run_session(session, terminal))
    finally:
        if emulator is not None:
            emulator.stop_thread()
    _report(session)
    return code


# ----------------------------------------------------------------------------------------- ctl
def cmd_ctl(args: argparse.Namespace) -> int:
    from workbench.session import open_journal

    journal = open_journal(args.journal, create=False)
    cmd_args = _params(args.arg)
    if args.command == "reset_kill_switch":  # a deliberate act: --confirm and --reason, journaled with who
        from workbench.engine.control import reset_kill_switch_args

        cmd_args.update(reset_kill_switch_args(args.confirm, args.reason))
    elif args.reason:
        cmd_args.setdefault("reason", args.reason)
    command_id = journal.submit_command(args.session, args.command, cmd_args, source="cli",
                                        expires_after=args.expires or None)
    print(f"command {command_id} ({args.command}) submitted to session {args.session}")
    if args.no_wait:
        return 0
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        rec = journal.command(command_id)
        if rec.status != "pending":
            print(f"{rec.status}: {rec.detail}")
            return 0 if rec.status == "acknowledged" else 1
        time.sleep(0.1)  # CLI only: the library never sleeps
    print(f"no acknowledgement within {args.timeout:.0f} s (is the session running?)")
    return 2


# ------------------------------------------------------------------------------------- journal
def cmd_journal(args: argparse.Namespace) -> int:
    import pandas as pd

    from workbench.persistence.text import frame_text
    from workbench.session import open_journal

    journal = open_journal(args.journal, create=False)
    _warn_if_damaged(journal)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", None):
        if args.what == "sessions":
            print(frame_text(journal.sessions(), args.limit))
        elif args.what == "events":
            for i, e in enumerate(journal.events(args.session)):
                if args.limit and i >= args.limit:
                    break
                print(e)
        elif args.what == "verify":
            n = journal.verify(args.session)
            print(f"session {args.session}: {n} events, sequence and checksums OK")
        else:
            frame = getattr(journal, args.what)(args.session)
            print(frame_text(frame, args.limit))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="Research-to-live trading workbench.")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("backtest", help="run a strategy over historical data and print the summary")
    b.add_argument("--strategy", default="sma_crossover")
    b.add_argument("--param", "-p", action="append", default=[], help="strategy parameter key=value (repeatable)")
    b.add_argument("--data", default="demo", help="'demo' (SPY minute bars+quotes), 'daily' (LEAN daily), or a file")
    b.add_argument("--symbols", default="", help="with --data daily: comma-separated symbols")
    b.add_argument("--all-hours", action="store_true", help="keep extended-hours data")
    b.add_argument("--cash", type=_cash, default=100_000.0)
    b.add_argument("--trades", action="store_true", help="print every round trip")
    b.set_defaults(func=cmd_backtest)

    pp = sub.add_parser("paper", help="paper-trade a replayed stream through the live runtime and the journal")
    pp.add_argument("--strategy", default="sma_crossover")
    pp.add_argument("--param", "-p", action="append", default=[])
    pp.add_argument("--data", default="demo", help="'demo', a recording directory or a bar file")
    pp.add_argument("--speed", default=None, help="multiple of real time, or 'max' (default 3000; resume: as saved)")
    pp.add_argument("--journal", default=None, help="journal URL or path (default $WORKBENCH_JOURNAL or "
                    "workbench_data/journal.sqlite)")
    pp.add_argument("--session-id", default=None)
    pp.add_argument("--resume", default=None, metavar="SESSION", help="restart a session after a crash")
    pp.add_argument("--resume-existing", action="store_true",
                    help="with --session-id: resume it when the journal has it, else start it (supervisors)")
    pp.add_argument("--record", default=None, metavar="DIR", help="record the market data to Parquet")
    pp.add_argument("--cash", type=_cash, default=100_000.0)
    pp.add_argument("--quiet", action="store_true")
    pp.add_argument("--config", default=None, help="YAML config (session, broker, journal, risk sections)")
    pp.add_argument("--confirm-live", action="store_true", help="explicit opt-in required by mode: live")
    pp.set_defaults(func=cmd_paper)
    from workbench.adapters.cli import add_broker_arguments, add_live_parser
    from workbench.adapters.ibkr.cli import add_arguments as add_ibkr_arguments
    from workbench.emulators.cli import add_emulate_parser

    add_broker_arguments(pp)
    add_ibkr_arguments(pp)
    add_ibkr_arguments(add_live_parser(sub, cmd_paper))
    add_emulate_parser(sub)  # emulate alpaca | tws

    c = sub.add_parser("ctl", help="send a control command to a running session through the journal")
    c.add_argument("session")
    c.add_argument("command", help="pause | resume | cancel_all | flatten | kill | reset_kill_switch")
    c.add_argument("--arg", action="append", default=[], help="command argument key=value")
    c.add_argument("--journal", default=None)
    c.add_argument("--timeout", type=float, default=10.0)
    c.add_argument("--no-wait", action="store_true")
    c.add_argument("--confirm", action="store_true", help="reset_kill_switch: confirm the reset")
    c.add_argument("--reason", default=None, help="reset_kill_switch (required), kill: why")
    c.add_argument("--expires", type=float, default=10.0,
                   help="seconds after which the session refuses the command as expired (0: never; default 10)")
    c.set_defaults(func=cmd_ctl)

    j = sub.add_parser("journal", help="inspect a journal")
    j.add_argument("what", choices=["sessions", "events", "verify", "orders", "fills", "positions", "equity", "signals",
                                    "risk_events", "alerts", "commands"])
    j.add_argument("session", nargs="?")
    j.add_argument("--journal", default=None)
    j.add_argument("--limit", type=int, default=0, help="only the newest N rows (0: all)")
    j.set_defaults(func=cmd_journal)

    _add_optional(sub)
    return p


def _add_optional(sub: Any) -> None:
    """The dashboard (its parser lives with the server) and report subcommands; neither imports the
    heavy analytics stack until it runs, so ``workbench dashboard`` starts fast."""
    try:
        from workbench.widgets.serve import add_dashboard_parser
    except ImportError:
        pass
    else:
        add_dashboard_parser(sub)
    from workbench.operations.cli import add_parsers as add_operations_parsers
    from workbench.research.cli import add_sweep_parser  # imports nothing heavy until it runs
    from workbench.scanning.cli import add_scan_parser
    from workbench.service.server import add_serve_parser

    add_serve_parser(sub)
    add_operations_parsers(sub)  # stack, graduate
    add_sweep_parser(sub)
    add_scan_parser(sub)
    r = sub.add_parser("report", help="daily report of a journaled session (P&L, trades, risk events, alerts)")
    r.add_argument("session")
    r.add_argument("--journal", default=None, help="journal URL or path (default $WORKBENCH_JOURNAL or "
                   "workbench_data/journal.sqlite)")
    r.add_argument("--format", choices=["html", "md"], default=None,
                   help="default: from --output's suffix (.md -> md, else html); md when printing")
    r.add_argument("--output", "-o", default=None, help="file to write (default: print to stdout)")
    r.add_argument("--date", default=None, help="exchange date YYYY-MM-DD, or 'all' (default: the last session date)")
    r.set_defaults(func=_cmd_report)


def _warn_if_damaged(journal: Any) -> None:
    """A warning on stderr when the journal file fails SQLite's quick check (what follows may be wrong)."""
    from workbench.persistence.audit import quick_check

    try:
        result = quick_check(journal)
    except WorkbenchError as exc:
        result = str(exc)
    if result != "ok":
        result = " ".join(result.split())
        print(f"warning: journal {journal.display_url} fails SQLite's quick check ({result[:200]}); its tables "
              "may be damaged: run 'workbench journal verify SESSION'", file=sys.stderr)


def _cmd_report(args: argparse.Namespace) -> int:
    if args.output:
        from pathlib import Path

        folder = Path(args.output).expanduser().resolve().parent
        if not folder.is_dir():
            raise ConfigError(f"report --output {args.output}: folder {folder} does not exist")
    from workbench.session import open_journal

    journal = open_journal(args.journal, create=False)
    _warn_if_damaged(journal)
    journal.close()
    from workbench.analytics.report import cmd_report  # pandas/plotly load only for this command

    return int(cmd_report(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    import os

    if os.environ.get("WORKBENCH_LOG_FORMAT") or os.environ.get("WORKBENCH_LOG_FILE"):
        from workbench.logs import configure_from_env  # JSON logs, rotation, masking (production profile)

        configure_from_env()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["dashboard"]:  # fast start: no other subcommand's imports (~1.5 s of engine, scipy, ...)
        from workbench.widgets.serve import dashboard_parser

        args = dashboard_parser().parse_args(argv[1:])
    else:
        args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or folder named on the command line or in a config: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
