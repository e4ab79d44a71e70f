"""``workbench scan``: run one scan on demand and print the ranked table (registered by :mod:`workbench.cli`).

Examples::

    workbench scan                                   # LEAN daily equities, as of their last session
    workbench scan --date 2020-02-14 --top 3 --previous 2020-02-13
    workbench scan --data bars.csv --universe universe.txt --config scan.yaml --earnings earnings.csv
    workbench scan --held AAPL,IBM --output scan.csv

Bad input (a universe symbol without data, an earnings file with bad dates, a weight for an unknown
factor, a date outside the data) exits with code 2 and a message naming the item.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_scan_parser", "cmd_scan", "load_scan_config"]


def add_scan_parser(sub: Any) -> None:
    """Register ``scan`` on the subparsers of ``workbench``."""
    s = sub.add_parser("scan", help="rank a universe now: factors, score, filters, selection, changes")
    s.add_argument("--data", default="daily", help="'daily' (shipped LEAN daily equities) or a daily bar file")
    s.add_argument("--date", default=None, help="scan as of the close of this session (default: the last one)")
    s.add_argument("--previous", default=None, help="compare with a scan as of this session (default: the one before)")
    s.add_argument("--config", default=None, help="YAML scan definition (factors, weights, filters, top, ...)")
    s.add_argument("--universe", default=None, help="a file of symbols, or SYM,SYM,... (default: the data's symbols)")
    s.add_argument("--earnings", default=None, help="earnings calendar CSV (symbol,date): adds an earnings filter")
    s.add_argument("--earnings-days", type=int, default=5)
    s.add_argument("--held", default="", help="symbols held (correlation filter), SYM,SYM")
    s.add_argument("--top", type=int, default=None, help="symbols selected (overrides the config)")
    s.add_argument("--output", "-o", default=None, help="also write the ranked table to this CSV file")
    s.set_defaults(func=cmd_scan)


def load_scan_config(path: str | Path | None, **overrides: Any) -> Any:
    """A :class:`~workbench.scanning.ScanConfig` from a YAML file (or the defaults) plus ``overrides``.

    Raises
    ------
    ConfigError
        Unreadable or empty file, or an invalid key, naming the file and the key.
    """
    import yaml
    from pydantic import ValidationError

    from workbench.errors import ConfigError
    from workbench.scanning import ScanConfig

    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read the scan config: {exc}") from None
        if loaded is None:
            raise ConfigError(f"{path}: the scan config is empty")
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a scan config is a mapping of keys, got {type(loaded).__name__}")
        data = loaded
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ScanConfig(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path or 'scan config'}: {where}: {first['msg']} (got {first.get('input')!r})") from None


def _load_panel(spec: str) -> Any:
    from workbench.scanning import Panel

    if spec == "daily":
        from workbench.feeds.samples import load_lean_daily

        return Panel.from_bars(load_lean_daily()[0])
    from workbench.feeds.loaders import load_bars

    return Panel.from_bars(load_bars(spec)[0])


def cmd_scan(args: argparse.Namespace) -> int:
    import pandas as pd

    from workbench.errors import DataError
    from workbench.scanning import Scanner, Universe, detect_changes

    config = load_scan_config(args.config, top=args.top)
    if args.earnings:
        filters = [*config.filters, {"filter": "earnings", "calendar": args.earnings, "days": args.earnings_days}]
        config = config.model_copy(update={"filters": filters})
    universe = None
    if args.universe:
        universe = Universe.from_file(args.universe) if Path(args.universe).exists() else \
            Universe.of(args.universe.split(","))
    panel = _load_panel(args.data)
    date = pd.Timestamp(args.date) if args.date else panel.dates[-1]
    if date < panel.dates[0] or date > panel.dates[-1]:
        raise DataError(f"--date {date.date()} is outside the data ({panel.dates[0].date()}..{panel.dates[-1].date()})")
    held = [s.strip().upper() for s in args.held.split(",") if s.strip()]
    scanner = Scanner(config, universe)
    current = scanner.run(panel, date=date, held=held)
    before = panel.dates[panel.dates < current.date]
    previous_date = pd.Timestamp(args.previous) if args.previous else (before[-1] if len(before) else None)
    previous = scanner.run(panel, date=previous_date, held=held) if previous_date is not None else None
    table = current.table
    show = [*current.factor_names, "score", "rank", "selected", "reason"]
    with pd.option_context("display.width", 200, "display.max_columns", 40, "display.float_format", "{:,.4f}".format):
        print(f"scan {config.name!r} as of {current.date.date()} ({len(table)} symbols, top {config.top}):")
        print(table[show].to_string())
        print(f"\nselected: {', '.join(current.selected) or '(none)'}")
        if previous is not None:
            changes = detect_changes(previous, current)
            moved = changes[changes["change"] != "unchanged"]
            print(f"\nchanges since {previous.date.date()}:")
            print(moved.to_string() if len(moved) else "(none)")
    if args.output:
        out = Path(args.output)
        if not out.parent.exists():
            raise DataError(f"--output {out}: folder {out.parent} does not exist")
        table.to_csv(out, index_label="symbol")
        print(f"\nwrote {out}")
    return 0
