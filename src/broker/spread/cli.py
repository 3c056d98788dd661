"""``broker spread``: spread analysis of a scenario and, optionally, a solved round.

Wire into :mod:`broker.cli` with::

    from broker.spread.cli import add_subcommand
    add_subcommand(sub)          # sub = parser.add_subparsers(...)

The handler is stored as ``func`` like the other commands, so ``main`` runs it
and turns :class:`broker.errors.InputError` into exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from broker.argtypes import nonneg_int, positive_float
from broker.limits import CAPACITY_DAYS
from broker.units import decimal_places


def _pool_days(text: str) -> float:
    """``--pool-capacity``: days per week a pool school could give, as ``capacity_days``."""
    v = positive_float(text)
    places = decimal_places(text.strip())
    if CAPACITY_DAYS.problem(v) is not None or (places is not None and places > 2):
        raise argparse.ArgumentTypeError(
            f"expected {CAPACITY_DAYS.unit}, {CAPACITY_DAYS.expected()}, at most 2 decimals "
            f"(as capacity_days), got {text!r}"
        )
    return v


MAP_SCORES = (
    "balance_in_reach",
    "balance_local",
    "share_matched_cross_la",
    "share_need_in_reach",
    "share_need_matched",
    "share_priority_need_in_reach",
)
"""Scores ``--map-score`` accepts (the keys of :data:`broker.spread.maps.SCHEMES`)."""

SPREAD_OUTPUTS = (
    "la_scores.csv",
    "region_scores.csv",
    "isolated_clients.csv",
    "flows.csv",
    "resilience.csv",
    "recruitment_targets.csv",
    "headline.json",
    "map_*.png",
)
"""Files ``broker spread --out`` writes (``--force`` replaces a folder of only these)."""


def add_subcommand(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register ``broker spread`` on ``subparsers`` and return its parser.

    Imports nothing heavy: the analysis modules load when the command runs.
    """
    sp = subparsers.add_parser(
        "spread",
        help="geography of supply and need: coverage, isolation, balance, flows, "
        "resilience and recruitment targets",
        description="Spread analysis: per-LA and per-region coverage and supply/need "
        "balance, isolated clients and why, a max-flow bound on matched need, and with "
        "--round the deployment flows between authorities and the supporters the round "
        "depends on most.",
    )
    sp.add_argument("scenario", metavar="SCENARIO_DIR")
    sp.add_argument(
        "--round",
        metavar="RUN_DIR",
        dest="run_dir",
        help="folder written by 'broker run' (assignments.csv, summary.json)",
    )
    sp.add_argument(
        "--out",
        metavar="OUT_DIR",
        help="folder for the CSV tables, headline.json and maps (default: print "
        "the headline figures only)",
    )
    sp.add_argument(
        "--recruit",
        type=nonneg_int,
        default=0,
        metavar="K",
        help="choose K schools to designate so that the most unmet need comes "
        "within reach (default 0: skip)",
    )
    sp.add_argument(
        "--pool",
        metavar="CSV",
        help="candidate schools for --recruit in supporters.csv format (default: "
        "outstanding schools in and around the scenario's LAs, not yet supporters)",
    )
    sp.add_argument(
        "--pool-capacity",
        type=_pool_days,
        default=2.0,
        metavar="DAYS",
        help="assumed capacity of each default pool school (default 2)",
    )
    sp.add_argument(
        "--map-score",
        choices=MAP_SCORES,
        default="balance_in_reach",
        metavar="SCORE",
        help="LA score to shade on the main map: "
        + ", ".join(MAP_SCORES)
        + " (default balance_in_reach)",
    )
    sp.add_argument(
        "--resilience-top",
        type=nonneg_int,
        default=10,
        metavar="N",
        help="refine the N largest supporter-loss estimates by local re-solves "
        "(default 10; 0: greedy estimates only)",
    )
    sp.add_argument("--no-maps", action="store_true", help="do not draw the PNG maps")
    sp.add_argument(
        "--force",
        action="store_true",
        help="replace OUT_DIR if it holds the outputs of an earlier 'broker spread'",
    )
    sp.add_argument("--quiet", action="store_true", help="no progress messages")
    sp.set_defaults(func=cmd_spread)
    return sp


def cmd_spread(args: argparse.Namespace) -> int:
    """Run ``broker spread``; returns the exit status."""
    from broker.candidates import build_candidates
    from broker.outdir import check_output_folder, staged_folder
    from broker.progress import progress
    from broker.scenario import read_scenario
    from broker.spread.analysis import analyse, format_headline, write_report
    from broker.spread.recruit import designation_pool, read_pool
    from broker.spread.rounds import read_run_dir

    say = progress(quiet=args.quiet)
    if args.out is not None:
        inputs = [args.scenario] + [p for p in (args.run_dir, args.pool) if p is not None]
        check_output_folder(args.out, owned=SPREAD_OUTPUTS, inputs=inputs, force=args.force)
    scenario = read_scenario(args.scenario)
    say(
        f"read {scenario.name!r}: {len(scenario.clients)} clients, "
        f"{len(scenario.supporters)} supporters"
    )
    cand = build_candidates(scenario)
    round_ = None
    if args.run_dir is not None:
        round_ = read_run_dir(args.run_dir, scenario, cand.problem)
        say(f"read round from {args.run_dir}: {int((round_.assignment >= 0).sum())} matched")
    pool, label = None, "designation pool"
    if args.recruit:
        if args.pool is not None:
            pool, label = read_pool(args.pool), str(args.pool)
        else:
            pool = designation_pool(scenario, capacity_days=args.pool_capacity)
        say(f"recruitment pool: {len(pool)} schools")
    report = analyse(
        scenario,
        round_=round_,
        candidates=cand,
        recruit_k=args.recruit,
        pool=pool,
        pool_label=label,
        resilience_top=args.resilience_top,
        progress=say,
    )
    print(format_headline(report))
    if args.out is not None:
        out = Path(args.out)
        with staged_folder(out, owned=SPREAD_OUTPUTS, force=args.force) as tmp:
            written = write_report(report, tmp, maps=not args.no_maps, map_score=args.map_score)
        paths = {k: out / p.name for k, p in written.items()}
        print("  wrote " + ", ".join(str(p) for p in paths.values()))
    say("done")
    return 0
