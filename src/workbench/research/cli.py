"""``workbench sweep``: a parameter sweep from the command line (registered by :mod:`workbench.cli`).

Example::

    workbench sweep --strategy sma_crossover --data demo --space space.yaml --output runs/sweep1
    workbench sweep --space space.yaml --executor tcp://scheduler:8786 --output /shared/sweep1
    workbench sweep --space space.yaml --method optuna --n-trials 200 \\
        --storage postgresql+psycopg://user@db/journal --study-name sma-2024

Bad input (unknown strategy, malformed space, missing data) exits with code 2 and a message
naming the field; a rerun with the same ``--output`` skips the sets already there.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_sweep_parser", "cmd_sweep"]


def add_sweep_parser(sub: Any) -> None:
    """Register ``sweep`` on the subparsers of ``workbench``."""
    s = sub.add_parser("sweep", help="parameter sweep (grid / random / Optuna) on Dask or in-process")
    s.add_argument("--strategy", default="sma_crossover", help="example name or module:Class")
    s.add_argument("--data", default="demo", help="'demo' (SPY minute bars + quotes) or a bar file (CSV/Parquet) "
                   "every worker can read")
    s.add_argument("--space", required=True, help="YAML: parameter -> list of values or {low, high, step, log}")
    s.add_argument("--method", choices=["grid", "random", "optuna"], default="grid")
    s.add_argument("--n-trials", type=int, default=None, help="sets to draw (random) or trials (optuna)")
    s.add_argument("--metric", default="sharpe_ratio", help="statistic to rank by / optimize")
    s.add_argument("--direction", choices=["maximize", "minimize"], default="maximize")
    s.add_argument("--executor", default="local", help="'local' (LocalCluster, default), 'serial', or a scheduler "
                   "address tcp://host:8786")
    s.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes (default: CPU count)")
    s.add_argument("--output", "-o", default="sweep_results", help="directory of Parquet results (resumed)")
    s.add_argument("--no-resume", action="store_true", help="rerun every set even if already in --output")
    s.add_argument("--storage", default=None, help="Optuna storage URL (e.g. the journal's PostgreSQL URL)")
    s.add_argument("--study-name", default=None)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--batch-size", type=int, default=None, help="sets per task (default: about 1 s of work)")
    s.add_argument("--cash", type=float, default=100_000.0)
    s.add_argument("--top", type=int, default=10, help="best sets to print")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    import pandas as pd

    from workbench.research.space import load_space
    from workbench.research.sweep import sweep

    space = load_space(args.space)
    result = sweep(args.strategy, args.data, space, args.metric, method=args.method, n_trials=args.n_trials,
                   direction=args.direction, seed=args.seed, executor=args.executor, n_workers=args.workers,
                   output=args.output, resume=not args.no_resume, batch_size=args.batch_size,
                   progress=not args.quiet, storage=args.storage, study_name=args.study_name,
                   starting_cash=args.cash)
    table = result.table
    failed = table[table["error"] != ""]
    info = result.info
    print(f"sweep {args.strategy} on {args.data}: {len(table)} sets ({info.get('sets_run', 0)} run now, "
          f"{info.get('skipped', 0)} already done), {len(failed)} failed; {info.get('executor', '')}; "
          f"{info.get('wall_seconds', 0.0):.1f} s; results in {args.output}/")
    ranked = result.ranked()
    if ranked.empty:
        first = failed["error"].iloc[0] if len(failed) else "no result"
        print(f"no set produced {args.metric!r}; first error: {first}")
        return 1
    columns = [*result.parameters, args.metric, *[c for c in ("total_return", "max_drawdown", "round_trips")
                                                   if c != args.metric and c in table.columns]]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(ranked[columns].head(args.top).to_string(index=False))
    return 0
