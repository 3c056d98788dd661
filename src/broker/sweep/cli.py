"""``broker sweep CONFIG.toml --out DIR [--scheduler tcp://HOST:PORT]``."""

from __future__ import annotations

import argparse


def cmd_sweep(args: argparse.Namespace) -> int:
    from broker.cli import _progress
    from broker.sweep.config import read_config
    from broker.sweep.run import run_sweep

    say = _progress(args.quiet)
    config = read_config(args.config)
    summary = run_sweep(
        config,
        args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        max_tasks=args.max_tasks,
        progress=not args.quiet,
        say=say,
    )
    print(
        f"sweep: {summary.total} tasks, {summary.computed} computed now, {summary.skipped} "
        f"done before, {summary.remaining} remaining"
        + (f"; results in {summary.results}" if summary.results else "; rerun to resume")
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``broker sweep`` to the command-line parser."""
    from broker.argtypes import positive_int

    sw = sub.add_parser(
        "sweep",
        help="run a grid of policies x seeds x scenario variants on Dask (resumable)",
        description="Run a sweep configuration (docs/policies.md) as independent tasks on a "
        "local Dask cluster or an existing one; results are Parquet parts, so a rerun "
        "resumes where a stopped sweep ended.",
    )
    sw.add_argument("config", metavar="CONFIG.toml")
    sw.add_argument("--out", required=True, metavar="OUT_DIR")
    sw.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="an existing Dask scheduler (default: a local cluster sized to the machine)",
    )
    sw.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="worker processes of the local cluster (default: one per core)",
    )
    sw.add_argument(
        "--max-tasks",
        type=positive_int,
        metavar="N",
        help="run at most N new tasks, then stop (rerun to go on)",
    )
    sw.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    sw.set_defaults(func=cmd_sweep)
