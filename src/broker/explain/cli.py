"""``broker run`` options for fixes and alternates, and the step that computes them."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pandas as pd

from broker.argtypes import nonneg_int, positive_float
from broker.pipeline import MatchingRound


def add_run_options(run: argparse.ArgumentParser) -> None:
    """Add ``--no-fixes``, ``--fix-solves``, ``--fix-total``, ``--fix-time``, ``--fix-budget``
    and ``--alternates``."""
    g = run.add_argument_group("fixes and alternates (docs/outputs.md)")
    g.add_argument(
        "--no-fixes",
        action="store_true",
        help="do not search what would get each unmatched school matched (fixes.csv)",
    )
    g.add_argument(
        "--fix-solves",
        type=nonneg_int,
        default=12,
        metavar="N",
        help="re-solves per unmatched school in the fix search (default 12)",
    )
    g.add_argument(
        "--fix-total",
        type=nonneg_int,
        default=60,
        metavar="N",
        help="re-solves in the fix search in all (default 60)",
    )
    g.add_argument(
        "--fix-time",
        type=positive_float,
        default=30.0,
        metavar="SECONDS",
        help="wall-clock limit of the fix search per unmatched school (default 30)",
    )
    g.add_argument(
        "--fix-budget",
        type=positive_float,
        default=60.0,
        metavar="SECONDS",
        help="wall-clock limit of the fix search in all (default 60)",
    )
    g.add_argument(
        "--alternates",
        type=nonneg_int,
        default=3,
        metavar="K",
        help="alternate supporters listed per matched school (default 3; 0: none)",
    )


def round_extras(
    rnd: MatchingRound, args: argparse.Namespace, say: Callable[[str], None]
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Fixes and alternates of a round as ``broker run``'s options ask (``None``: skipped)."""
    from broker.explain.alternates import find_alternates
    from broker.explain.fixes import FIXES_COLUMNS, FixOptions, find_fixes

    fixes = None if args.no_fixes else pd.DataFrame(columns=FIXES_COLUMNS)
    n_unmatched = int((rnd.outcomes["status"] == "unmatched").sum())
    if not args.no_fixes and n_unmatched:
        say(
            f"fixes: searching for {n_unmatched} unmatched school(s) "
            f"(up to {args.fix_solves} re-solves each, {args.fix_total} in all)"
        )
        fixes = find_fixes(
            rnd,
            FixOptions(
                solver=args.solver,
                time_limit_s=args.time_limit,
                seed=args.seed,
                workers=args.workers,
                deterministic=not args.no_deterministic,
                per_client_solves=args.fix_solves,
                total_solves=args.fix_total,
                per_client_s=args.fix_time,
                total_s=args.fix_budget,
            ),
        )
        found = fixes.loc[fixes["fix_kind"] != "none", "client_id"].nunique()
        say(f"fixes: {found} of {n_unmatched} unmatched school(s) have a fix")
    alternates = None
    if args.alternates:
        alternates = find_alternates(rnd, args.alternates)
        say(f"alternates: {len(alternates)} listed")
    return fixes, alternates
