"""``broker bench ...``: GAP instances, peer solvers and benchmark runs.

Commands
--------
``broker bench gap FILE --index K --sense min|max --time-limit S [--solver NAME]
[--seed N] [--workers N] [--json]``
    Solve problem K of an OR-Library GAP file; prints the objective in GAP terms.
``broker bench run --set NAME [--solvers a,b,c] [--time-limit S] [--seeds 0,1]
[--workers N] [--out DIR] [--filter PATTERN] [--max-instances N] [--reference NAME]``
    Run a benchmark set; writes ``results.csv``, ``results.md`` and ``traces.json``.
``broker bench sets``
    List the named instance sets and the solver names.

Wire into the main parser with :func:`add_subcommand`; :func:`main` runs the
``bench`` command on its own (``python -m broker.bench.cli ...``).
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from broker.argtypes import nonneg_int, positive_float, positive_int, seed_list
from broker.errors import InputError
from broker.outdir import make_folder

EXIT_INPUT = 2


def _name_list(text: str) -> list[str]:
    out = [t.strip() for t in text.split(",") if t.strip()]
    if not out:
        raise argparse.ArgumentTypeError("expected comma-separated solver names")
    return out


def known_solvers() -> list[str]:
    """broker's registered solvers and the peers."""
    from broker.bench.peers import PEERS
    from broker.solve import solver_names

    return sorted(set(solver_names()) | set(PEERS))


def _check_solvers(names: list[str]) -> None:
    known = known_solvers()
    bad = [n for n in names if n not in known]
    if bad:
        raise InputError.one(
            "<arguments>",
            f"--solver(s): expected names from {', '.join(known)}",
            value=",".join(bad),
        )


def _say(quiet: bool):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()

    def say(message: str) -> None:
        if not quiet:
            print(f"[{time.perf_counter() - t0:7.1f}s] {message}", file=sys.stderr, flush=True)

    return say


# ------------------------------------------------------------------ commands
def cmd_gap(args: argparse.Namespace) -> int:
    """``broker bench gap``."""
    from broker.bench.gap import read_gap_problem, solve_gap

    _check_solvers([args.solver])
    gp = read_gap_problem(args.file, args.index)
    out = solve_gap(
        gp,
        args.sense,
        args.solver,
        time_limit_s=args.time_limit,
        seed=args.seed,
        workers=args.workers,
    )
    if args.json:
        print(json.dumps(out))
    else:
        best = "" if out["best_known"] is None else f", best known {out['best_known']}"
        print(
            f"{out['instance']} ({out['agents']} agents, {out['jobs']} jobs, {args.sense}) "
            f"with {args.solver}: {out['status']}, objective {out['objective']}, bound "
            f"{out['bound']}{best}, {out['seconds']:.2f}s"
        )
    return 0


def _default_out(set_name: str) -> Path:
    from broker.bench import BENCHMARKS_DIR

    slug = Path(set_name).name if ("/" in set_name or Path(set_name).is_dir()) else set_name
    return BENCHMARKS_DIR / "results" / slug


def _check_out(out: Path) -> None:
    """Refuse an ``--out`` the results cannot go to, before any solve runs.

    A file, or a scenario folder (its files are the user's inputs, and the
    benchmark's ``results.csv`` does not belong beside them), is an error naming
    the path; so is a folder that cannot be created.
    """
    if out.exists() and not out.is_dir():
        raise InputError.one(
            str(out), "is a file; expected a folder for the benchmark's results", column="--out"
        )
    if (out / "scenario.toml").is_file():
        raise InputError.one(
            str(out),
            "is a scenario folder; expected a separate folder for the benchmark's results "
            "(results.csv, results.md, traces.json), e.g. benchmarks/results/NAME",
            column="--out",
        )
    make_folder(out)


def canonical_command(args: argparse.Namespace) -> str:
    """The ``broker bench run`` command that reproduces ``args`` exactly."""
    parts = [
        "broker",
        "bench",
        "run",
        "--set",
        args.set,
        "--solvers",
        ",".join(args.solvers),
        "--time-limit",
        f"{args.time_limit:g}",
        "--seeds",
        ",".join(map(str, args.seeds)),
        "--workers",
        str(args.workers),
    ]
    if args.filter:
        parts += ["--filter", args.filter]
    if args.max_instances is not None:
        parts += ["--max-instances", str(args.max_instances)]
    if args.reference != "cpsat":
        parts += ["--reference", args.reference]
    if args.out is not None:
        parts += ["--out", str(args.out)]
    return shlex.join(parts)


def cmd_run(args: argparse.Namespace) -> int:
    """``broker bench run``."""
    from broker.bench.instances import instance_set
    from broker.bench.runner import RunConfig, run_benchmark

    _check_solvers(args.solvers)
    try:
        instances, _ = instance_set(args.set)
    except KeyError as exc:
        raise InputError.one("<arguments>", f"--set: {exc.args[0]}", value=args.set) from None
    if args.filter and not any(fnmatch.fnmatch(i.name, args.filter) for i in instances):
        # a pattern that matches nothing would "succeed" with zero runs and an empty table
        names = [i.name for i in instances]
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise InputError.one(
            "<arguments>",
            f"--filter: no instance of set {args.set!r} matches; expected a shell-style "
            f"pattern over its instance names ({shown}), e.g. 'gapd-*'",
            value=args.filter,
        )
    say = _say(args.quiet)
    out = Path(args.out) if args.out is not None else _default_out(args.set)
    created = not out.exists()
    _check_out(out)
    config = RunConfig(
        set_name=args.set,
        solvers=args.solvers,
        time_limit_s=args.time_limit,
        seeds=args.seeds,
        workers=args.workers,
        out=out,
        instance_filter=args.filter,
        max_instances=args.max_instances,
        reference=args.reference,
        command=canonical_command(args),
    )
    say(
        f"set {args.set}: solvers {', '.join(args.solvers)}; {args.time_limit:g}s per solve; "
        f"seeds {', '.join(map(str, args.seeds))}"
    )
    try:
        rows, _notes = run_benchmark(config, progress=say)
    except BaseException:
        # stopped (Ctrl-C) or failed before writing anything: do not leave behind an
        # empty folder this run made
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if still empty
        raise
    print(
        f"{len(rows)} runs; wrote {out / 'results.csv'}, {out / 'results.md'}, "
        f"{out / 'traces.json'}"
    )
    return 0


def cmd_sets(_args: argparse.Namespace) -> int:
    """``broker bench sets``."""
    from broker.bench.instances import set_names

    print("sets: " + ", ".join(set_names()) + " (or a scenario folder path)")
    print("solvers: " + ", ".join(known_solvers()))
    return 0


# ------------------------------------------------------------------ parser
def add_subcommand(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``bench`` (with ``gap``, ``run`` and ``sets``) on a subparsers object.

    Each leaf parser sets ``func`` to a handler ``(args) -> exit status``, the same
    convention as :mod:`broker.cli`; handlers raise :class:`InputError` on bad input.
    """
    bench = subparsers.add_parser(
        "bench", help="benchmarks: GAP instances, peer solvers, benchmark runs"
    )
    sub = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCH_COMMAND")

    g = sub.add_parser("gap", help="solve one OR-Library GAP problem")
    g.add_argument(
        "file", metavar="FILE", help="OR-Library GAP file, e.g. benchmarks/instances/gap/gap1.txt"
    )
    g.add_argument(
        "--index",
        type=positive_int,
        default=1,
        metavar="K",
        help="1-based problem in the file (default 1)",
    )
    g.add_argument(
        "--sense",
        choices=("min", "max"),
        default="min",
        help="minimise cost or maximise profit (default min)",
    )
    g.add_argument(
        "--time-limit", type=positive_float, default=10.0, metavar="SECONDS", help="default 10"
    )
    g.add_argument(
        "--solver",
        default="cpsat",
        metavar="NAME",
        help="broker solver or peer (default cpsat; see 'broker bench sets')",
    )
    g.add_argument("--seed", type=nonneg_int, default=0, metavar="N")
    g.add_argument("--workers", type=positive_int, default=2, metavar="N")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.set_defaults(func=cmd_gap)

    r = sub.add_parser("run", help="run a benchmark set and write results.csv/results.md")
    r.add_argument(
        "--set",
        required=True,
        metavar="NAME",
        help="gap-small, gap-large, leicestershire, england, england-no-budgets, "
        "england-scaled, "
        "synthetic-national, scaled, ... or a scenario folder",
    )
    r.add_argument(
        "--solvers",
        type=_name_list,
        default=["cpsat", "highs-mip", "cbc", "cpsat-plain", "greedy"],
        metavar="A,B,C",
        help="default cpsat,highs-mip,cbc,cpsat-plain,greedy",
    )
    r.add_argument(
        "--time-limit",
        type=positive_float,
        default=20.0,
        metavar="SECONDS",
        help="per solve (default 20)",
    )
    r.add_argument("--seeds", type=seed_list, default=[0], metavar="0,1", help="default 0")
    r.add_argument(
        "--workers", type=positive_int, default=2, metavar="N", help="solver threads (default 2)"
    )
    r.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="output folder (default benchmarks/results/<set>)",
    )
    r.add_argument(
        "--filter",
        default=None,
        metavar="PATTERN",
        help="only instances whose name matches, e.g. 'gap1-*'",
    )
    r.add_argument("--max-instances", type=positive_int, default=None, metavar="N")
    r.add_argument(
        "--reference",
        default="cpsat",
        metavar="NAME",
        help="solver the ratios compare against (default cpsat)",
    )
    r.add_argument("--quiet", action="store_true", help="no progress messages")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("sets", help="list instance sets and solver names")
    s.set_defaults(func=cmd_sets)
    return bench


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bench`` on its own: ``python -m broker.bench.cli gap ...``."""
    from broker.interrupt import Interrupted, handle_signals

    parser = argparse.ArgumentParser(prog="broker")
    add_subcommand(parser.add_subparsers(dest="command", required=True))
    try:
        with handle_signals() as stop:  # Ctrl-C and SIGTERM as in broker.cli.main
            args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
            try:
                return int(args.func(args))
            except InputError as exc:
                print(f"broker: error in input\n{exc}", file=sys.stderr)
                return EXIT_INPUT
            except Exception:
                if stop.is_set():  # a signal surfaced as another error
                    raise Interrupted(stop.signum) from None
                raise
    except Interrupted as exc:
        print(f"broker: stopped by {exc}", file=sys.stderr)
        return exc.exit_status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
