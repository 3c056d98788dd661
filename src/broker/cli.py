"""Command-line interface: ``broker <command> ...``.

Commands
--------
run       solve a matching round on a scenario folder and write its results
check     independently check an assignments.csv against a scenario's hard rules
validate  read and validate a scenario folder without solving
scenario  generate a scenario folder from the real school register
spread    regional spread: coverage, isolation, balance, flows, resilience, recruitment
bench     benchmarks: GAP instances, peer solvers, instance sets

Bad input exits with status 2 and a message naming file, row, column, value and
what was expected; a failed check exits with status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from broker.argtypes import nonneg_int, positive_float
from broker.errors import LOG, InputError
from broker.generate.programmes import PROGRAMMES
from broker.generate.programmes import add_options as add_programme_options

EXIT_INPUT = 2
EXIT_CHECK_FAILED = 1


def _progress(quiet: bool, verbose: bool = False) -> Callable[[str], None]:
    from broker.progress import progress

    return progress(quiet=quiet, verbose=verbose)


def cmd_run(args: argparse.Namespace) -> int:
    from broker.limits import solver_seed
    from broker.outdir import RUN_OUTPUTS, check_output_folder
    from broker.pipeline import run_round
    from broker.report import format_summary, write_outputs
    from broker.scenario import read_scenario

    started = datetime.now(UTC)
    say = _progress(args.quiet, args.verbose)
    out = Path(args.out)
    check_output_folder(out, owned=RUN_OUTPUTS, inputs=[args.scenario], force=args.force)
    scenario = read_scenario(args.scenario)
    say(
        f"read {scenario.name!r}: {len(scenario.clients)} clients, "
        f"{len(scenario.supporters)} supporters"
    )
    recorder = None
    if args.db is not None or args.top_up or args.round_name is not None:
        from broker.ledger.run import RoundRecorder

        recorder = RoundRecorder(
            db=args.db, user=args.user, name=args.round_name, top_up=args.top_up, progress=say
        )
    seed_text = str(args.seed)
    if solver_seed(args.seed) != args.seed:
        seed_text += f", solver seed {solver_seed(args.seed)}"
    try:
        if recorder:
            scenario = recorder.prepare(scenario, out)
        say(f"solving with {args.solver} (time limit {args.time_limit:g}s, seed {seed_text})")
        rnd = run_round(
            scenario,
            solver=args.solver,
            time_limit_s=args.time_limit,
            seed=args.seed,
            workers=args.workers,
            deterministic=not args.no_deterministic,
            work_limit=args.work_limit,
            progress=say,
            started_at=started,
            stop=getattr(args, "stop_token", None),
        )
    except InputError as exc:
        if recorder is None:
            raise
        raise recorder.explain(exc) from None
    stop = getattr(args, "stop_token", None)
    if stop is not None and stop.is_set():
        from broker.interrupt import signal_name

        # the best solution so far, checked like any other; no map (it takes seconds)
        say(f"{signal_name(stop.signum)}: writing the best solution found so far")
        args.no_map = True
        args.no_fixes = True  # and no fix search or readable reports: the user asked to stop
        args.alternates = 0
        args.readable = False
        if recorder:  # an interrupted round is never recorded in the programme year
            recorder.close()
            recorder = None
    params = {
        k: getattr(args, k)
        for k in ("solver", "time_limit", "work_limit", "workers", "seed", "out")
    }
    extra = (
        recorder.record(rnd, {**params, "deterministic": not args.no_deterministic})
        if recorder
        else None
    )
    from broker.explain.cli import round_extras

    fixes, alternates = round_extras(rnd, args, say)
    paths = write_outputs(
        rnd,
        out,
        draw_map=not args.no_map,
        force=args.force,
        extra=extra,
        extra_files=recorder.write_files if recorder else None,
        fixes=fixes,
        alternates=alternates,
        readable=getattr(args, "readable", True),
    )
    print(format_summary(rnd))
    if recorder:
        print(recorder.format())
        recorder.close()
    print("  wrote " + ", ".join(str(p) for p in paths.values()))
    if stop is not None and stop.is_set():
        from broker.interrupt import exit_status, signal_name

        print(
            f"broker: interrupted by {signal_name(stop.signum)}: the solution above is the "
            "best found so far (stopped_by: interrupted in summary.json)",
            file=sys.stderr,
        )
        return exit_status(stop.signum)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from broker.check import check_assignment
    from broker.report import read_assignments
    from broker.scenario import read_scenario

    scenario = read_scenario(args.scenario)
    path = Path(args.assignments)
    if path.is_dir():
        where = (
            f"; this folder holds one: {path / 'assignments.csv'}"
            if (path / "assignments.csv").is_file()
            else " (it is in the --out folder of the run)"
        )
        raise InputError.one(
            str(path), f"is a folder; expected an assignments.csv file written by broker run{where}"
        )
    if not path.is_file():
        raise InputError.one(
            str(path), "file not found; expected an assignments.csv written by broker run"
        )
    table = read_assignments(path)
    report = check_assignment(scenario, table)
    for line in report.violations:
        print(line)
    print(
        f"{'passed' if report.ok else 'FAILED'}: {report.matched} matched, priority "
        f"{report.priority_matched}, cost £{report.total_cost_gbp:,.2f}, "
        f"{len(report.violations)} violations"
    )
    return 0 if report.ok else EXIT_CHECK_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    from broker.candidates import build_candidates
    from broker.scenario import read_scenario

    scenario = read_scenario(args.scenario)
    cand = build_candidates(scenario)
    p = cand.problem
    isolated = int(((cand.stage_counts[:, -1]) == 0).sum())
    print(
        f"{scenario.name}: valid; {p.n_clients} clients, {p.n_supporters} supporters, "
        f"{p.n_pairs:,} allowed pairs, {isolated} clients with no allowed supporter"
    )
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    from broker.outdir import check_output_folder, staged_folder
    from broker.scenario import write_scenario
    from broker.scenario.read import SCENARIO_FILES

    say = _progress(args.quiet)
    out = Path(args.out)
    check_output_folder(out, owned=SCENARIO_FILES, force=args.force)
    if args.area in PROGRAMMES:
        from broker.generate.programmes import build_from_args

        scenario = build_from_args(args)
    elif args.area == "leicestershire":
        from broker.generate.leicestershire import build as build_leics

        scenario = build_leics(seed=args.seed)
    else:
        from broker.generate.national import NationalOptions, build

        scenario = build(
            NationalOptions(
                seed=args.seed,
                region=args.region,
                la_codes=tuple(args.la or ()),
                scale=args.scale,
                budgets=not args.no_budgets,
                max_distance_km=args.max_distance_km or 30.0,
                name=args.name,
            )
        )
    with staged_folder(out, owned=SCENARIO_FILES, force=args.force) as tmp:
        write_scenario(scenario, tmp)
    say(f"wrote {out}")
    print(
        f"{scenario.name}: {len(scenario.clients)} clients, {len(scenario.supporters)} "
        f"supporters, {len(scenario.authorities)} authorities -> {out}"
    )
    return 0


def _reach_km(text: str) -> float:
    """``--max-distance-km``: a default reach within the bounds of ``max_distance_km``."""
    from broker.limits import MAX_DISTANCE_KM

    v = positive_float(text)
    if MAX_DISTANCE_KM.problem(v) is not None:
        raise argparse.ArgumentTypeError(
            f"expected {MAX_DISTANCE_KM.unit}, {MAX_DISTANCE_KM.expected()}, got {text!r}"
        )
    return v


def _scale(text: str) -> float:
    v = positive_float(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a scale of 1 or more, got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    from broker import __version__
    from broker.solve import solver_names

    parser = argparse.ArgumentParser(
        prog="broker",
        description="Broker school-to-school support in England as one optimisation.",
    )
    parser.add_argument("--version", action="version", version=f"broker {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="solve a matching round and write its results")
    run.add_argument("scenario", metavar="SCENARIO_DIR")
    run.add_argument(
        "--out",
        required=True,
        metavar="OUT_DIR",
        help="folder for assignments.csv, summary.json and map.png",
    )
    run.add_argument(
        "--time-limit",
        type=positive_float,
        default=20.0,
        metavar="SECONDS",
        help="wall-clock limit of the solve in seconds, kept within max(1 s, 10%%) "
        "(default 20; see docs/time-and-interrupts.md)",
    )
    run.add_argument(
        "--seed", type=nonneg_int, default=0, metavar="N", help="random seed (default 0)"
    )
    run.add_argument(
        "--solver", choices=solver_names(), default="cpsat", help="solver (default cpsat)"
    )
    run.add_argument(
        "--workers", type=nonneg_int, default=2, metavar="N", help="solver threads (default 2)"
    )
    run.add_argument(
        "--work-limit",
        type=positive_float,
        default=None,
        metavar="UNITS",
        help="stop every search on this much deterministic work (CP-SAT's units, about "
        "seconds on an idle core) so that reruns give the same result; only reproducible "
        "arms run, and the time limit stays the safety net (default: none, every arm "
        "races the clock)",
    )
    run.add_argument(
        "--no-deterministic",
        action="store_true",
        help="stop on wall time only (faster on big instances, not reproducible)",
    )
    run.add_argument("--no-map", action="store_true", help="do not draw map.png")
    run.add_argument(
        "--force",
        action="store_true",
        help="replace OUT_DIR if it holds the outputs of an earlier run",
    )
    run.add_argument("--quiet", action="store_true", help="no progress messages")
    run.add_argument("--verbose", action="store_true", help="more progress detail")
    run.set_defaults(func=cmd_run)
    from broker.ledger.cli import add_run_options, add_subcommands

    add_run_options(run)
    from broker.explain.cli import add_run_options as add_fix_options

    add_fix_options(run)

    chk = sub.add_parser("check", help="check an assignments.csv against the hard rules")
    chk.add_argument("scenario", metavar="SCENARIO_DIR")
    chk.add_argument("assignments", metavar="ASSIGNMENTS_CSV")
    chk.set_defaults(func=cmd_check)

    scen = sub.add_parser("scenario", help="generate a scenario folder from the real register")
    scen.add_argument(
        "area",
        choices=["england", "leicestershire", *PROGRAMMES],
        help="england (optionally narrowed by --region/--la), the LEEP Leicestershire scenario, "
        "or a programme's own round (docs/programmes.md)",
    )
    add_programme_options(scen)
    scen.add_argument("--out", required=True, metavar="OUT_DIR")
    scen.add_argument("--seed", type=nonneg_int, default=1, metavar="N")
    scen.add_argument("--region", metavar="NAME", help="ONS region, e.g. 'North West'")
    scen.add_argument(
        "--la", action="append", metavar="CODE", help="DfE 3-digit LA code (repeat for several)"
    )
    scen.add_argument(
        "--scale",
        type=_scale,
        default=1.0,
        metavar="F",
        help="multiply the school population with jittered copies (default 1)",
    )
    scen.add_argument("--no-budgets", action="store_true", help="no LA budgets")
    scen.add_argument(
        "--max-distance-km",
        type=_reach_km,
        metavar="KM",
        help="default reach (30; programme rounds: their own, docs/programmes.md)",
    )
    scen.add_argument("--name", help="scenario name")
    scen.add_argument(
        "--force",
        action="store_true",
        help="replace OUT_DIR if it holds only scenario files",
    )
    scen.add_argument("--quiet", action="store_true")
    scen.set_defaults(func=cmd_scenario)

    from broker.bench.cli import add_subcommand as add_bench
    from broker.spread.cli import add_subcommand as add_spread

    add_spread(sub)
    add_bench(sub)
    from broker.policies.compare import register as add_compare
    from broker.sweep.cli import register as add_sweep

    add_compare(sub)
    add_sweep(sub)
    add_subcommands(sub)
    from broker.service.cli import register as add_service

    add_service(sub)

    val = sub.add_parser("validate", help="validate a scenario folder")
    val.add_argument("scenario", metavar="SCENARIO_DIR")
    val.set_defaults(func=cmd_validate)
    return parser


class _StderrWarnings(logging.Handler):
    """Prints warnings of the ``broker`` logger to the current standard error."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"broker: warning: {record.getMessage()}", file=sys.stderr, flush=True)


def _install_warnings() -> None:
    if not any(isinstance(h, _StderrWarnings) for h in LOG.handlers):
        handler = _StderrWarnings(level=logging.WARNING)
        LOG.addHandler(handler)
    if LOG.level == logging.NOTSET or LOG.level > logging.WARNING:
        LOG.setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C and SIGTERM stop it (exit 130 or 143, see broker.interrupt)."""
    from broker.interrupt import Interrupted, handle_signals

    args: argparse.Namespace | None = None
    try:
        with handle_signals() as stop:
            try:
                parser = build_parser()
                args = parser.parse_args(argv)
                args.stop_token = stop
                _install_warnings()
                return int(args.func(args))
            except InputError as exc:
                print(f"broker: error in input\n{exc}", file=sys.stderr)
                return EXIT_INPUT
            except Exception:
                # a signal can surface as another error, e.g. the ImportError pybind11
                # makes of an exception raised while OR-Tools' extension initialises
                if stop.is_set():
                    raise Interrupted(stop.signum) from None
                raise
    except Interrupted as exc:
        what = "; no outputs written" if getattr(args, "command", None) == "run" else ""
        print(f"broker: stopped by {exc}{what}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:  # a SIGINT before broker's own handler was installed
        print("broker: stopped by SIGINT", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
