"""Run every instance x solver x seed of a set, each solve in a fresh process.

For each run the runner records (columns of ``results.csv``):

=====================  ==========================================================
``set``, ``instance``  the set and instance name
``clients`` ...        ``clients``, ``supporters``, ``pairs`` of the problem
``solver``, ``seed``   solver (broker's registry or a peer) and seed
``status``             of the primary objective: ``optimal`` (proven), ``feasible``,
                       ``infeasible``, ``unknown``, or ``error`` / ``crashed`` (see
                       ``error``); ``solver_status`` is the solver's own status over
                       both levels
``feasible``           the independent check (:mod:`broker.bench.verify`) passed
``objective``          the primary objective: level 1 (matched priority, max) for
                       scenarios and synthetic sets; the GAP's own total cost (min)
                       or profit (max) for GAP problems (from level 2)
``bound``, ``gap``     its best proven bound and ``|bound - objective| / max(|objective|,
                       1)`` (the usual MIP convention; broker's ``Level.gap`` divides
                       by the bound instead)
``best_known`` ...     GAP only: best-known value and the relative gap to it
                       (positive = worse than best known)
``best_of_run`` ...    the best checked objective any solver found on the instance in
                       this run, and the relative gap to it (positive = worse): the
                       side-by-side comparison with the peers (:func:`add_best_of_run`)
``level1`` ...         level-1 and level-2 values and bounds as the solver reported
``bound_valid``        the bound survives :func:`check_bounds` (no feasible solution
                       of any solver, nor a proven optimum, beats it)
``time_to_final_s``    seconds until the solver first held its final objective (NaN if
                       the solver does not expose its incumbents)
``seconds``            wall time of the solver call (model building included)
``peak_rss_mb``        peak resident memory of the solve process (including CBC's
                       own process); ``solve_rss_mb`` is the part above the memory
                       in use just before the call (libraries already imported)
``reference`` ...      comparison with the reference solver (broker's default,
                       ``cpsat``) on the same instance and seed, see :func:`add_ratios`
=====================  ==========================================================
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from broker.bench import gap as gapmod
from broker.bench import verify
from broker.bench.instances import Instance, instance_set
from broker.bench.worker import call_worker
from broker.problem import ProblemData
from broker.solve.result import Result

Row = dict[str, Any]
"""One results row (column name -> value; ``_trace`` holds the incumbents)."""

DEFAULT_SOLVERS = ("cpsat", "highs-mip", "cbc", "cpsat-plain", "greedy")
"""Default solvers; the ``-l1`` peers (level 1 only) can be added by name."""
REFERENCE = "cpsat"
"""broker's default solver (:func:`broker.solve.solve`): the reference for ratios."""

COLUMNS = (
    "set",
    "instance",
    "clients",
    "supporters",
    "pairs",
    "solver",
    "seed",
    "time_limit_s",
    "workers",
    "status",
    "solver_status",
    "stopped_by",
    "feasible",
    "sense",
    "objective",
    "bound",
    "gap",
    "best_known",
    "best_known_optimal",
    "gap_best_known",
    "best_of_run",
    "gap_best_of_run",
    "level1",
    "level1_bound",
    "level2",
    "level2_bound",
    "bound_valid",
    "time_to_final_s",
    "seconds",
    "peak_rss_mb",
    "solve_rss_mb",
    "reference",
    "objective_at_ref_time",
    "ratio_objective_at_ref_time",
    "time_to_ref_s",
    "ratio_time_to_ref",
    "trace_source",
    "error",
)


@dataclass
class RunConfig:
    """What to run.

    Attributes
    ----------
    set_name
        A named set (:func:`broker.bench.instances.set_names`) or a scenario folder.
    solvers
        Solver names: broker's registry (``cpsat``, ``highs``, ``greedy``) or peers
        (``highs-mip``, ``cbc``, ``cpsat-plain``, ``greedy``).
    time_limit_s, seeds, workers
        Per solve.
    out
        Folder for ``results.csv`` and ``results.md``.
    instance_filter
        Shell-style pattern on instance names (``gap1-*``); ``None`` keeps all.
    max_instances
        Keep only the first N instances (after filtering); ``None`` keeps all.
    reference
        Solver the ratios compare against.
    command
        The command line to record in ``results.md``.
    """

    set_name: str
    solvers: list[str] = field(default_factory=lambda: list(DEFAULT_SOLVERS))
    time_limit_s: float = 20.0
    seeds: list[int] = field(default_factory=lambda: [0])
    workers: int = 2
    out: Path = Path("benchmarks/results")
    instance_filter: str | None = None
    max_instances: int | None = None
    reference: str = REFERENCE
    command: str = ""


def _num(x: object) -> float:
    return float(x) if isinstance(x, (int, float)) and x is not None else math.nan


def _trace(
    inst: Instance, result: Result, probe: list[list[tuple[float, float]]]
) -> tuple[list[tuple[float, float]], str]:
    """Incumbents as ``(seconds, objective)`` in the instance's own terms."""
    to_obj = _objective_fn(inst)
    params: dict[str, Any] = result.params if isinstance(result.params, dict) else {}
    if "trace" in params:
        pts = [(float(t), to_obj(l1, l2)) for t, l1, l2 in params["trace"]]
        return pts, str(params.get("trace_source", "callback")) if pts else "none"
    # broker's own CP-SAT solvers: the first solve call that ended on the final value of
    # the primary level is the phase that optimised it (see broker.bench.worker)
    final = result.level1.value if inst.primary == "level1" else result.level2.value
    for call in probe:
        if call and abs(call[-1][1] - final) < 0.5:
            if inst.primary == "level1":
                return [(t, to_obj(round(v), result.level2.value)) for t, v in call], "probe"
            return [(t, to_obj(result.level1.value, round(v))) for t, v in call], "probe"
    return [], "none"


def _objective_fn(inst: Instance) -> Callable[[int, Any], float]:
    if inst.gap is None:
        return lambda l1, _l2: float(l1)
    sense = inst.gap.sense
    return lambda _l1, l2: float(gapmod.level2_to_objective(l2, sense))


def sense_of(inst: Instance) -> str:
    """``max`` or ``min``: the direction of the instance's primary objective."""
    return "max" if inst.gap is None else inst.gap.sense


def run_one(inst: Instance, problem: ProblemData, solver: str, seed: int, config: RunConfig) -> Row:
    """Solve one instance with one solver and seed in a fresh process; one results row."""
    row: Row = {c: None for c in COLUMNS}
    row.update(
        {
            "set": config.set_name,
            "instance": inst.name,
            "clients": problem.n_clients,
            "supporters": problem.n_supporters,
            "pairs": problem.n_pairs,
            "solver": solver,
            "seed": seed,
            "time_limit_s": config.time_limit_s,
            "workers": config.workers,
            "sense": sense_of(inst),
        }
    )
    if inst.gap is not None:
        row["best_known"] = inst.gap.best_known
        row["best_known_optimal"] = inst.gap.best_known_optimal
    job = {
        "solver": solver,
        "problem": problem,
        "time_limit_s": config.time_limit_s,
        "seed": seed,
        "workers": config.workers,
        "probe": False,  # broker solvers report incumbents themselves
    }
    answer, failure = call_worker(job, timeout_s=3 * config.time_limit_s + 120)
    if answer is None:
        row.update(status="crashed", error=failure)
        return row
    row["peak_rss_mb"] = round(max(answer["peak_self_mb"], answer["peak_children_mb"]), 1)
    row["solve_rss_mb"] = round(
        max(answer["peak_self_mb"] - answer["rss_before_mb"], answer["peak_children_mb"]), 1
    )
    row["seconds"] = round(answer["seconds"], 3)
    if answer["error"]:
        row.update(status="error", error=answer["error"].strip().splitlines()[-1])
        return row
    r: Result = answer["result"]
    primary_optimal = r.status.has_solution and (
        r.level1.optimal if inst.primary == "level1" else r.status.value == "optimal"
    )
    row.update(
        status="optimal" if primary_optimal else r.status.value,
        solver_status=r.status.value,
        stopped_by=r.stopped_by,
        level1=r.level1.value,
        level1_bound=r.level1.bound,
        level2=r.level2.value,
        level2_bound=r.level2.bound,
    )
    complete = r.status.has_solution
    if complete:
        broken = verify.violations(problem, np.asarray(r.assignment), second=np.asarray(r.second))
        row["feasible"] = not broken
        if broken:
            row["error"] = "infeasible solution: " + "; ".join(broken[:3])
    to_obj = _objective_fn(inst)
    if complete and row["feasible"]:
        row["objective"] = to_obj(r.level1.value, r.level2.value)
    if complete:
        row["bound"] = to_obj(r.level1.bound, r.level2.bound)
    elif r.status.value == "unknown" and inst.gap is None:
        row["bound"] = float(r.level1.bound)  # level 1 has a bound even without a solution
    if row["objective"] is not None and row["bound"] is not None:
        obj, bnd = float(row["objective"]), float(row["bound"])  # type: ignore[arg-type]
        row["gap"] = abs(bnd - obj) / max(abs(obj), 1.0)
    if inst.gap is not None and inst.gap.best_known is not None and row["objective"] is not None:
        best = inst.gap.best_known
        diff = float(row["objective"]) - best  # type: ignore[arg-type]
        row["gap_best_known"] = (diff if inst.gap.sense == "min" else -diff) / max(abs(best), 1)
    points, source = _trace(inst, r, answer["probe"])
    row["trace_source"] = source
    row["_trace"] = points
    row["time_to_final_s"] = _time_to(points, row["objective"], sense_of(inst))
    return row


def _better_or_equal(a: float, b: float, sense: str) -> bool:
    return a >= b - 1e-9 if sense == "max" else a <= b + 1e-9


def _time_to(points: list[tuple[float, float]], target: object, sense: str) -> float:
    """First time the trace reaches ``target``; inf if never, NaN without a trace."""
    if target is None:
        return math.nan
    if not points:
        return math.nan
    for t, v in points:
        if _better_or_equal(v, float(target), sense):  # type: ignore[arg-type]
            return round(t, 3)
    return math.inf


def _value_at(row: Row, t: float, sense: str) -> float | None:
    """Best objective the run held at time ``t`` (``None`` if none yet or unknown)."""
    seconds = _num(row.get("seconds"))
    if row.get("objective") is not None and seconds <= t:
        return float(row["objective"])  # type: ignore[arg-type]
    pts = [v for s, v in row.get("_trace", []) if s <= t]  # type: ignore[union-attr]
    if not pts:
        return None
    return max(pts) if sense == "max" else min(pts)


def add_ratios(rows: list[Row], reference: str = REFERENCE) -> None:
    """Fill the comparison columns against ``reference`` on the same instance and seed.

    ``objective_at_ref_time``
        the run's best objective at the moment the reference run finished (from its
        incumbents; its final value if it finished first);
        ``ratio_objective_at_ref_time`` divides it by the reference's final objective
        (for a maximised objective above 1 is better, for a minimised one below 1).
    ``time_to_ref_s``
        seconds until the run first held an objective at least as good as the
        reference's final one, i.e. reached the same gap (inf: never;
        NaN: incumbents unknown); ``ratio_time_to_ref`` divides it by the
        reference's own ``time_to_final_s`` (below 1: faster than the reference), or
        by its total ``seconds`` when its incumbents are unknown (then the ratio is a
        lower bound on the true one).
    """
    check_bounds(rows)
    refs = {(r["instance"], r["seed"]): r for r in rows if r["solver"] == reference}
    for row in rows:
        ref = refs.get((row["instance"], row["seed"]))
        if ref is None or ref.get("objective") is None:
            continue
        sense = str(row["sense"])
        row["reference"] = reference
        ref_obj = float(ref["objective"])  # type: ignore[arg-type]
        at = _value_at(row, _num(ref["seconds"]), sense)
        row["objective_at_ref_time"] = at
        if at is not None and ref_obj != 0:
            row["ratio_objective_at_ref_time"] = round(at / ref_obj, 6)
        if row.get("objective") is None:
            row["time_to_ref_s"] = math.inf
        elif row is ref:
            row["time_to_ref_s"] = ref["time_to_final_s"]
        else:
            row["time_to_ref_s"] = _time_to(row.get("_trace", []), ref_obj, sense)  # type: ignore[arg-type]
        t_ref = _num(ref["time_to_final_s"])
        if not math.isfinite(t_ref):  # incumbents unknown: its total time bounds it above
            t_ref = _num(ref["seconds"])
        t_row = _num(row["time_to_ref_s"])
        if t_ref > 0 and not math.isnan(t_row):
            row["ratio_time_to_ref"] = round(t_row / t_ref, 4) if math.isfinite(t_row) else math.inf


def add_best_of_run(rows: list[Row]) -> None:
    """Fill ``best_of_run`` and ``gap_best_of_run`` (see the module docstring).

    The best is over every solver and seed of the run on the same instance, counting
    only solutions that passed the independent check; the gap is ``(objective -
    best) / max(|best|, 1)`` when minimising and ``(best - objective) / ...`` when
    maximising, so 0 is the best of the run and positive is worse.
    """
    best: dict[object, float] = {}
    for r in rows:
        if r.get("objective") is None or r.get("feasible") is not True:
            continue
        v, key = float(r["objective"]), r["instance"]  # type: ignore[arg-type]
        if key not in best or (v > best[key] if r["sense"] == "max" else v < best[key]):
            best[key] = v
    for r in rows:
        if r["instance"] not in best:
            continue
        b = best[r["instance"]]
        r["best_of_run"] = b
        if r.get("objective") is not None and r.get("feasible") is True:
            diff = float(r["objective"]) - b  # type: ignore[arg-type]
            r["gap_best_of_run"] = (diff if r["sense"] == "min" else -diff) / max(abs(b), 1.0)


def check_bounds(rows: list[Row]) -> None:
    """Flag proven bounds that a feasible solution (or an optimal best-known) beats.

    Every solver's claimed bound must be at least as good as every checked feasible
    objective found by any solver on the same instance, and, for GAP problems with a
    proven-optimal best-known value, at least as good as that value. A row whose
    bound fails gets ``bound_valid = False`` and an explanation in ``error``; others
    with a bound get ``True``.
    """
    best: dict[object, tuple[float, str]] = {}
    for r in rows:
        if r.get("objective") is None or r.get("feasible") is not True:
            continue
        v, key = float(r["objective"]), r["instance"]  # type: ignore[arg-type]
        better = key not in best or (v > best[key][0] if r["sense"] == "max" else v < best[key][0])
        if better:
            best[key] = (v, f"{r['solver']} seed {r['seed']}")
    for r in rows:
        if r.get("bound") is None:
            continue
        b, maximise = float(r["bound"]), r["sense"] == "max"  # type: ignore[arg-type]
        witnesses = []
        if r["instance"] in best:
            witnesses.append(best[r["instance"]])
        if r.get("best_known") is not None and r.get("best_known_optimal"):
            witnesses.append((float(r["best_known"]), "the proven optimum in best_known.csv"))  # type: ignore[arg-type]
        r["bound_valid"] = True
        for v, source in witnesses:
            if (b < v - 1e-6) if maximise else (b > v + 1e-6):
                r["bound_valid"] = False
                note = f"claimed bound {b:g} is beaten by {v:g} ({source})"
                r["error"] = f"{r['error']}; {note}" if r.get("error") else note
                break


def run_benchmark(
    config: RunConfig, progress: Callable[[str], None] | None = None
) -> tuple[list[Row], list[str]]:
    """Run a whole set and write ``results.csv`` and ``results.md`` to ``config.out``.

    ``results.csv`` is rewritten after every solve, so an interrupted run keeps what
    it measured. Returns the rows and the notes (for example skipped instances).
    """
    from broker.bench.report import fmt, write_csv, write_markdown

    say = progress or (lambda _m: None)
    instances, notes = instance_set(config.set_name)
    if config.instance_filter:
        instances = [i for i in instances if fnmatch.fnmatch(i.name, config.instance_filter)]
    if config.max_instances is not None:
        instances = instances[: config.max_instances]
    for note in notes:
        say(note)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    total = len(instances) * len(config.solvers) * len(config.seeds)
    for inst in instances:
        problem = inst.load()
        for solver in config.solvers:
            for seed in config.seeds:
                row = run_one(inst, problem, solver, seed, config)
                rows.append(row)
                say(
                    f"[{len(rows)}/{total}] {inst.name} {solver} seed {seed}: {row['status']}, "
                    f"objective {fmt(row['objective']) or '-'}, bound {fmt(row['bound']) or '-'}"
                    f", {fmt(row['seconds'], 's')}s"
                    + (f" ({row['error']})" if row["error"] else "")
                )
                write_csv(rows, out / "results.csv")
    add_ratios(rows, config.reference)
    add_best_of_run(rows)
    write_csv(rows, out / "results.csv")
    write_markdown(rows, out / "results.md", config, notes)
    return rows, notes
