"""Two-process portfolio for large instances (see :mod:`broker.solve.cpsat`).

Per level, two arms run side by side on the machine's two cores:

* **A (a second opinion, in a child process)**: on level 1, HiGHS's branch and
  cut (:mod:`broker.solve.highsarm`) up to :data:`HIGHS_MAX_PAIRS` pairs, the
  Lagrangian bound and heuristic (:mod:`broker.solve.lagrange`) above; on level
  2, and on level 1 when an explicit work limit asks for a reproducible result,
  the full CP-SAT model, one worker, linearization level 2, hinted with the
  current best solution (the CP-SAT Python call holds the interpreter lock, so
  a thread would not run in parallel);
* **B (solutions)**: :func:`broker.solve.lns.improve` from the same solution, in
  this process; beside HiGHS, in a thread that yields the CPU to HiGHS where
  both want it (:mod:`broker.solve.yielding`).

The merge is a fixed rule (the better solution; on a tie, A's). The CP-SAT and
LNS arms are deterministic on their own (single worker, deterministic work
limit); HiGHS and the Lagrangian arm at size stop on the wall clock (HiGHS's
root node alone took 14 s on the national round, so a node limit is no
budget), and ``stopped_by`` then says ``time_limit``: such a result may depend
on the machine's load.

Time: one wall-clock deadline (``time_limit_s`` from the start) bounds
everything. The LP gets at most :data:`LP_SHARE` of it, each start heuristic at
most :data:`START_SHARE` of what is left, level 1 70% of what is then left (with
the HiGHS arm, which starts at once: until :data:`HIGHS_LEVEL1_SHARE` of the
limit) and level 2 the rest; an arm is killed if it has not answered
:data:`CHILD_GRACE_S` after its level's deadline.

Level 1 also gets the LP relaxation (GLOP, :mod:`broker.solve.lp`, up to
:data:`LP_MAX_PAIRS` pairs), used for a bound and for an LP-guided greedy start
that is typically far better than the plain greedy one (2,548 vs 2,414 on the
national scenario). Where rounding the LP leaves more than
:data:`KNAPSACK_MIN_GAP` of its bound on a capacity-only round, the knapsack
relaxation (:mod:`broker.solve.knapsack`, up to :data:`KNAPSACK_SHARE` of the
limit) tightens that bound and gives a better start (:func:`knapsack_pays`).
On capacity-only rounds every complete start, and the knapsacks' fill, is first
improved by insertion local search (:mod:`broker.solve.insertion`).
When every client is required (:func:`level1_is_fixed`,
e.g. the generalised assignment problem), level 1 is skipped and level 2 gets
all the time, starting from the best of the greedy, regret and LP-rounding
(:mod:`broker.solve.rounding`) starts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from broker.problem import ProblemData
from broker.solve import search
from broker.solve.arm import NOTHING, ArmResult, ArmTask
from broker.solve.base import SolveOptions, Solver
from broker.solve.child import ChildTask
from broker.solve.deadline import Deadline
from broker.solve.greedy import greedy_pairs
from broker.solve.highsarm import MAX_PAIRS as HIGHS_MAX_PAIRS
from broker.solve.highsarm import NODES_PER_WORK, HighsTask
from broker.solve.incumbent import Incumbents
from broker.solve.insertion import applies as insertion_applies
from broker.solve.insertion import improve_level1
from broker.solve.knapsack import applies as knapsack_applies
from broker.solve.knapsack import binding_budgets, knapsack_level1, prices_from_lp
from broker.solve.lagrange import ITERATIONS_PER_WORK, LagrangeBound, lagrange_arm, limit_bound
from broker.solve.lns import LnsStats, improve
from broker.solve.localsearch import improve_assignment
from broker.solve.lp import LpResult, limit_duals, solve_lp
from broker.solve.model import binding_rows, build_cpsat, fill, is_complete, level1_is_fixed
from broker.solve.regret import regret_start
from broker.solve.result import Level, Result, Sense, SolveStatus, evaluate, make_result
from broker.solve.rounding import lp_rounding
from broker.solve.stop import StopToken
from broker.solve.yielding import run_yielding

WALL_SAFETY = 1.0
"""The wall-clock deadline as a multiple of the time limit: the limit itself."""

LP_SHARE = 0.2
"""At most this share of the time goes to the LP relaxation."""

START_SHARE = 0.3
"""At most this share of what is left goes to each start heuristic (the plain greedy
took 2.6 s on the 53,000-pair synthetic instance on a loaded machine)."""

CHILD_GRACE_S = 0.2
"""How long past a level's deadline the bound process may take to answer."""

LEVEL1_WORK_SHARE = 0.7
"""Share of the work limit (and, without the HiGHS arm, of the time left) for level 1."""

HIGHS_LEVEL1_SHARE = 0.8
"""With the HiGHS arm, level 1 ends at this share of the time limit. HiGHS alone
found its last level-1 solution on the no-budget England rounds s2 and s4 at
14.5 s and 15.0 s of 20 (``benchmarks/results/england-seeds/traces.json``); with
0.75, and the arm stopping 5% early, the portfolio's HiGHS stopped near 14 s and
stayed one short on both (``benchmarks/results/pass7/england-seeds*``)."""

HIGHS_THREADS = 2
"""HiGHS's ``threads`` beside the LNS (it keeps about 1.3 cores busy with two)."""

KNAPSACK_SHARE = 0.3
"""Share of the time limit the knapsack relaxation may use (:func:`knapsack_pays`)."""

KNAPSACK_MIN_GAP = 0.03
"""The knapsack relaxation runs when the best start is this share below the LP bound."""

KNAPSACK_STEPS_PER_WORK = 10.0
"""Knapsack subgradient steps per unit of the deterministic work limit."""

LP_MAX_PAIRS = HIGHS_MAX_PAIRS
"""Above this many pairs GLOP is not tried (it did not finish within its share at 4x
England, 0.4 million pairs); the Lagrangian arm (:mod:`broker.solve.lagrange`) gives
the level-1 bound instead."""

CHILD_MARGIN_S = 0.3
"""The bound process stops this long (or 5% of its time) before its level's deadline;
the HiGHS arm, whose solutions are on disk as it finds them, only this long."""


def lp_relaxation(
    p: ProblemData, time_limit_s: float = 60.0, stop: StopToken | None = None
) -> tuple[float, np.ndarray, np.ndarray | None] | None:
    """Level-1 LP bound, the fractional solution and the row duals (if any), or ``None``
    if it has neither bound nor solution.

    GLOP within ``time_limit_s`` (:mod:`broker.solve.lp`); the bound is valid even
    when GLOP stops early, but is then weaker and capped by the sum of priorities.
    """
    lp = solve_lp(p, p.pair_priority.astype(float), time_limit_s=time_limit_s, stop=stop)
    if lp.bound is None or lp.x is None:
        return None
    return min(lp.bound, float(p.priority.sum())), lp.x, lp.duals


def limit_multipliers(p: ProblemData, duals: np.ndarray | None) -> np.ndarray | None:
    """The LP's duals of the limit rows as :func:`broker.solve.lagrange.limit_bound`
    multipliers (binding rows divided by their limits); ``None`` if there are none."""
    prices = limit_duals(p, duals) if duals is not None else None
    _, binding = binding_rows(p)
    if prices is None or not len(binding):
        return None
    return prices[binding] * np.maximum(p.limit_rhs[binding].astype(float), 1.0)


def knapsack_pays(p: ProblemData, start: np.ndarray, lp_bound: float) -> bool:
    """Whether the knapsack relaxation (:mod:`broker.solve.knapsack`) runs after the LP.

    It stops on the wall clock, so a run that asks for a reproducible result (an
    explicit work limit in deterministic mode) goes without it. It runs only where
    it fits (no teams or pins, supporter capacities only: on budgeted
    rounds its fill trailed the LNS by 4%) and where rounding the LP left more than
    :data:`KNAPSACK_MIN_GAP` of the LP bound: there loads are a large share of a
    capacity, the LP is far from integral, and the knapsacks both bound and fill
    better (synthetic capacity-only round: fill 4,948 against 4,699, bound 5,321
    against 5,384, in 4 s).
    """
    if not knapsack_applies(p) or len(binding_budgets(p)):
        return False
    return float(evaluate(p, start)[0]) < (1.0 - KNAPSACK_MIN_GAP) * lp_bound


def ordered_fill(
    p: ProblemData,
    order: np.ndarray,
    start: np.ndarray | None = None,
    until: Deadline | None = None,
) -> np.ndarray:
    """Feasible pair set taking pairs in ``order`` while they fit (pins first)."""
    return fill(p, order, start, until)


def highs_arm_runs(p: ProblemData, options: SolveOptions) -> bool:
    """Whether level 1 runs the HiGHS arm (:mod:`broker.solve.highsarm`).

    It needs a second core, at most :data:`HIGHS_MAX_PAIRS` pairs and a level 1
    to search. HiGHS stops on the clock (its root node alone took all of 14 s on
    the national scenario, so a node limit is no deterministic budget), so an
    explicit work limit in deterministic mode, which asks for a reproducible
    result, runs the deterministic CP-SAT bound search instead.
    """
    if options.workers < 2 or not 0 < p.n_pairs <= HIGHS_MAX_PAIRS or level1_is_fixed(p):
        return False
    return not (options.deterministic and options.work_limit is not None)


def _pdlp(p: ProblemData, seconds: float) -> LpResult:
    return solve_lp(p, p.pair_priority.astype(float), time_limit_s=seconds, method="pdlp")


def pdlp_relaxation(p: ProblemData, seconds: float, stop: StopToken) -> LpResult | None:
    """PDLP on level 1 for ``seconds``, in a child process; ``None`` if stopped or late.

    PDLP does not answer OR-Tools' interrupt (it ran its whole 6 s share after a
    Ctrl-C at 4x England), so it runs where a stop can kill it.
    """
    task: ChildTask[LpResult] = ChildTask(_pdlp, p, seconds)
    with stop.watch(task.kill):
        if not task.poll(seconds + CHILD_GRACE_S):
            task.kill()  # the wall clock wins
        return task.result()


def _cpsat_worker(
    p: ProblemData, level: int, hint: np.ndarray, hold: int, work: float, wall: float, seed: int
) -> ArmResult:
    """Full-model CP-SAT solve for one level (runs in a child process).

    ``wall`` seconds from the call bound the whole of it, model building included.
    """
    until = Deadline.after(wall)
    model, x = build_cpsat(p)
    prio = cp_model.LinearExpr.weighted_sum(x, [int(v) for v in p.pair_priority])
    if level == 1:
        model.maximize(prio)
    else:
        model.add(prio >= hold)
        model.minimize(cp_model.LinearExpr.weighted_sum(x, [int(v) for v in p.pair_level2]))
    chosen = set(hint.tolist()) if is_complete(p, hint) else set()
    for k, var in enumerate(x):
        model.add_hint(var, k in chosen)
    solver = search.new_solver(
        num_workers=1,
        linearization_level=2,
        random_seed=seed,
        max_deterministic_time=work,
        max_time_in_seconds=max(until.remaining(), 0.001),
    )
    status = solver.solve(model)
    has = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return ArmResult(
        pairs=np.flatnonzero(np.array(solver.boolean_values(x), bool)) if has else None,
        # with UNKNOWN, CP-SAT's best_objective_bound is not a proven bound (it reads 0)
        bound=float(solver.best_objective_bound) if status != cp_model.UNKNOWN else None,
        optimal=status == cp_model.OPTIMAL,
        infeasible=status == cp_model.INFEASIBLE,
        work=float(solver.deterministic_time),
        wall_clock=until.passed(),
    )


def _run_level(
    p: ProblemData,
    level: int,
    start: np.ndarray,
    hold: int,
    work: float,
    wall: float,
    seed: int,
    progress,
    token,
    incumbents: Incumbents | None = None,
    task: ArmTask | None = None,
) -> tuple[np.ndarray, ArmResult, LnsStats]:  # type: ignore[no-untyped-def]
    until = Deadline.after(wall)
    if task is None:
        # the bound process stops a little before the level's deadline so that its
        # answer arrives before the grace period ends, also on a loaded machine
        child_wall = max(wall - max(CHILD_MARGIN_S, 0.05 * wall), 0.05)
        task = ChildTask(_cpsat_worker, p, level, start, hold, work, child_wall, seed)

    def stop() -> bool:
        # stopped from outside, or thread A proved optimality (nothing left to improve)
        if token.is_set():
            return True
        if arm.poll():
            a = arm.result()
            return bool(a is not None and a.optimal)
        return False

    arm = task
    highs = task if isinstance(task, HighsTask) else None

    def run_lns(abandoned: Callable[[], bool]) -> tuple[np.ndarray, LnsStats]:
        return improve(
            p,
            start,
            level=level,
            work_limit=work,
            time_limit_s=wall,
            seed=seed + 1,
            should_stop=lambda: abandoned() or stop(),
            progress=progress,
            on_improve=incumbents.offer if incumbents is not None else None,
            adopt=highs.peek if highs is not None else None,
        )

    with token.watch(arm.kill):
        # beside HiGHS the LNS yields the CPU to it where both want it, so that HiGHS
        # gets as far as it would on its own (broker.solve.yielding)
        lns_pairs, stats = run_yielding(run_lns) if highs is not None else run_lns(lambda: False)
        if not arm.poll(until.remaining() + CHILD_GRACE_S):
            arm.kill()  # the wall clock wins over the bound process's work limit
        a_out = arm.result() or NOTHING
    candidates = [x for x in (a_out.pairs, lns_pairs, start) if x is not None and is_complete(p, x)]

    def key(x: np.ndarray) -> tuple[int, int]:
        v1, v2 = evaluate(p, x)
        return (v1, -v2) if level == 1 else (v1 >= hold, -v2)

    best = max(candidates, key=key) if candidates else start
    if incumbents is not None:
        incumbents.offer(best)
    return best, a_out, stats


def solve_portfolio(
    solver: Solver,
    original: ProblemData,
    p: ProblemData,
    options: SolveOptions,
) -> Result:
    """Two-level solve of a large instance; see the module docstring."""
    t0 = time.perf_counter()
    incumbents = Incumbents(p, options.on_incumbent)
    total_time = float(options.time_limit_s)
    until = Deadline.after(WALL_SAFETY * total_time)
    say = options.progress or (lambda _m: None)
    log: list[str] = []
    total_work = float(
        options.work_limit if options.work_limit is not None else options.time_limit_s
    )
    fixed = level1_is_fixed(p)
    # HiGHS on level 1 in a child process from the first moment, until level 1 ends
    highs: HighsTask | None = None
    level1_until: Deadline | None = None
    if highs_arm_runs(p, options):
        level1_until = until.share(HIGHS_LEVEL1_SHARE)
        highs_wall = level1_until.remaining() - CHILD_MARGIN_S
        nodes = int(NODES_PER_WORK * LEVEL1_WORK_SHARE * total_work)
        highs = HighsTask(
            p, 1, max(highs_wall, 0.05), max(nodes, 1), 0, HIGHS_THREADS, options.seed
        )
    with contextlib.ExitStack() as cleanup:
        if highs is not None:  # the arm never outlives the solve
            cleanup.callback(highs.kill)
            cleanup.enter_context(options.stop.watch(highs.kill))
        # the plain greedy first: it is the safety net (6 s at 1.6 million pairs), the LP
        # after it may not finish at that size
        starts = [greedy_pairs(p, until.share(START_SHARE))]
        incumbents.offer(starts[0])
        lp = None
        lp2: LpResult | None = None
        lagrange: LagrangeBound | None = None
        pdlp_start: np.ndarray | None = None
        reproducible = options.deterministic and options.work_limit is not None
        if not fixed and p.n_pairs <= LP_MAX_PAIRS:
            lp = lp_relaxation(p, min(LP_SHARE * total_time, until.remaining()), options.stop)
            if lp is not None:
                took = time.perf_counter() - t0
                if lp[0] >= float(p.priority.sum()):  # GLOP stopped before it bounded anything
                    log.append(
                        f"LP relaxation: stopped after {took:.2f}s with no bound below the "
                        f"sum of priorities ({lp[0]:,.0f})"
                    )
                else:
                    log.append(f"LP relaxation: bound {lp[0]:,.2f} in {took:.2f}s")
                say(log[-1])
        elif not fixed and not reproducible:
            # too big for GLOP: PDLP's first-order LP for the same share; its duals start
            # the Lagrangian arm, its fractional solution orders a greedy start
            pdlp = pdlp_relaxation(p, min(LP_SHARE * total_time, until.remaining()), options.stop)
            if pdlp is not None and pdlp.bound is not None and pdlp.x is not None:
                lp = (min(pdlp.bound, float(p.priority.sum())), pdlp.x, pdlp.duals)
                pdlp_start = limit_multipliers(p, pdlp.duals)
                log.append(f"PDLP relaxation: bound {lp[0]:,.2f} in {pdlp.seconds:.2f}s")
                say(log[-1])
        if not fixed and p.n_pairs > LP_MAX_PAIRS and lp is None:
            # reproducible, or PDLP gave nothing: the Lagrangian bound and its reduced values
            lagrange = limit_bound(
                p,
                p.pair_priority.astype(float),
                until.share(1.0, cap=LP_SHARE * total_time),
                float(evaluate(p, starts[0])[0]),
                max_iterations=int(ITERATIONS_PER_WORK * LP_SHARE * total_work),
                stop=options.stop,
            )
            lp = (min(lagrange.bound, float(p.priority.sum())), lagrange.reduced, None)
            log.append(
                f"Lagrangian bound: {lagrange.bound:,.2f} after {lagrange.iterations} steps "
                f"in {lagrange.seconds:.2f}s"
            )
            say(log[-1])
        elif fixed:  # level 1 is fixed: the LP bounds level 2 instead
            lp2 = solve_lp(
                p,
                p.pair_level2.astype(float),
                maximize=False,
                time_limit_s=min(LP_SHARE * total_time, until.remaining()),
                stop=options.stop,
            )
            if lp2.bound is not None:
                log.append(
                    f"LP relaxation of level 2: bound {lp2.bound:,.2f} in {lp2.seconds:.2f}s"
                )
                say(log[-1])
        if fixed and not is_complete(p, starts[0]):
            regret = regret_start(p, until.share(START_SHARE))
            if regret is not None:
                starts.append(regret)
        if fixed:  # assignment-shaped (GAP-like): shift and swap from every complete start
            starts = [improve_assignment(p, s, until.share(START_SHARE)) for s in starts]
        if fixed and lp2 is not None and lp2.optimal and lp2.x is not None:
            rounded = lp_rounding(p, lp2.x, until.share(START_SHARE))  # shifted and swapped
            if rounded is not None:
                starts.append(rounded)
        lp2_bound = lp2.bound if lp2 is not None else None
        lp_bound = None
        if lp is not None:
            lp_bound, xs, _ = lp
            if not options.stop.is_set():  # a stopped solve takes the starts it has
                score = xs + 1e-6 * p.pair_priority
                order = np.lexsort((np.arange(p.n_pairs), -score))
                starts.append(ordered_fill(p, order, until=until.share(START_SHARE)))
        complete = [s for s in starts if is_complete(p, s)]
        if not fixed and insertion_applies(p):  # capacity-only: insert, shift, replace
            complete = [improve_level1(p, s, until.share(START_SHARE)) for s in complete]
        start = max(complete, key=lambda a: evaluate(p, a)) if complete else starts[0]
        if (
            lp is not None
            and lp[2] is not None
            and not reproducible
            and knapsack_pays(p, start, lp[0])
        ):
            kp = knapsack_level1(
                p,
                until.share(1.0, cap=KNAPSACK_SHARE * total_time),
                float(evaluate(p, start)[0]),
                start=prices_from_lp(p, lp[2]),
                max_iterations=int(KNAPSACK_STEPS_PER_WORK * KNAPSACK_SHARE * total_work),
                stop=options.stop,
            )
            if kp is not None:
                log.append(
                    f"knapsack relaxation: bound {kp.bound:,.2f}, level 1 = {kp.value:,} "
                    f"after {kp.iterations} steps in {kp.seconds:.2f}s"
                )
                say(log[-1])
                lp_bound = min(lp_bound, kp.bound) if lp_bound is not None else kp.bound
                if kp.pairs is not None:
                    found = improve_level1(p, kp.pairs, until.share(START_SHARE))
                    if evaluate(p, found) > evaluate(p, start):
                        start = found
        incumbents.offer(start)
        log.append(f"start: level 1 = {evaluate(p, start)[0]:,}")
        say(log[-1])
        run = _Run(solver, original, p, options, t0, until, log, say, total_time, total_work)
        multipliers = lagrange.multipliers if lagrange is not None else pdlp_start
        return _two_levels(
            run, start, lp_bound, lp2_bound, incumbents, highs, level1_until, multipliers
        )


@dataclass(frozen=True)
class _Run:
    """What every phase of one portfolio solve shares."""

    solver: Solver
    original: ProblemData
    p: ProblemData
    options: SolveOptions
    t0: float
    until: Deadline
    log: list[str]
    say: Callable[[str], None]
    total_time: float
    total_work: float


def _two_levels(
    run: _Run,
    start: np.ndarray,
    lp_bound: float | None,
    lp2_bound: float | None,
    incumbents: Incumbents,
    highs: HighsTask | None,
    level1_until: Deadline | None,
    multipliers: np.ndarray | None = None,
) -> Result:
    solver, original, p, options = run.solver, run.original, run.p, run.options
    t0, until, log, say = run.t0, run.until, run.log, run.say
    total_time, total_work = run.total_time, run.total_work
    fixed = level1_is_fixed(p)
    # Work limits (deterministic) bind on an idle machine; the wall clock always wins.
    wall_clock = False
    arm_name = "CP-SAT"
    if fixed:
        # every client required: level 1 is the sum of priorities in any solution
        stats1: LnsStats | None = None
        best1, a1 = start, ArmResult(bound=float(p.priority.sum()))
        l1 = int(p.priority.sum())
        used1 = 0.0
        log.append("level 1: every client required, so level 1 is fixed; all time to level 2")
        say(log[-1])
    else:
        if level1_until is not None:  # level 1 ends when the HiGHS arm must answer
            wall1 = max(level1_until.remaining(), 0.05)
        else:
            wall1 = max(LEVEL1_WORK_SHARE * until.remaining(), 0.05)
        arm: ArmTask | None = highs
        arm_name = "HiGHS" if highs is not None else "CP-SAT"
        if arm is None and p.n_pairs > LP_MAX_PAIRS and options.workers >= 2:
            arm_name = "Lagrangian"
            # too big for the LP and for HiGHS: the Lagrangian bound and heuristic
            arm = ChildTask(
                lagrange_arm,
                p,
                max(wall1 - max(CHILD_MARGIN_S, 0.05 * wall1), 0.05),
                float(evaluate(p, start)[0]),
                LEVEL1_WORK_SHARE * total_work,
                multipliers,
            )
        best1, a1, stats1 = _run_level(
            p,
            1,
            start,
            0,
            LEVEL1_WORK_SHARE * total_work,
            wall1,
            options.seed,
            say,
            options.stop,
            incumbents,
            arm,
        )
        l1, _ = evaluate(p, best1)
        wall_clock = a1.wall_clock or bool(stats1 and stats1.wall_clock)
        used1 = max(a1.work, stats1.work if stats1 else 0.0)
    bounds = [float(p.priority.sum())] + ([a1.bound] if a1.bound is not None else [])
    if lp_bound is not None:
        bounds.append(lp_bound)
    l1_bound = int(np.floor(min(bounds) + 1e-6)) if bounds else int(p.priority.sum())
    l1_opt = a1.optimal or (l1 >= l1_bound and is_complete(p, best1))
    if not fixed:
        cp_bound = a1.bound if a1.bound is not None else float("nan")  # none: proved nothing
        log.append(
            f"level 1: {l1:,} bound {l1_bound:,} ({arm_name} "
            f"bound {cp_bound:,.0f},"
            f" LNS {stats1.iterations if stats1 else 0} steps, "
            f"{stats1.improvements if stats1 else 0} improving"
            + (f", {stats1.adopted} taken from {arm_name}" if stats1 and stats1.adopted else "")
            + ")"
        )
        say(log[-1])

    work2 = max(total_work - used1, 0.05)
    a2 = NOTHING
    best2 = best1
    if not options.stop.is_set() and not until.passed():
        best2, a2, stats2 = _run_level(
            p,
            2,
            best1,
            l1,
            work2,
            until.remaining(),
            options.seed + 7,
            say,
            options.stop,
            incumbents,
        )
        wall_clock = wall_clock or a2.wall_clock or bool(stats2 and stats2.wall_clock)
    else:
        wall_clock = wall_clock or until.passed()
    if not is_complete(p, best2):
        return make_result(
            original,
            np.zeros(0, np.int64),
            level1=Level(0, l1_bound, False, Sense.MAX),
            level2=Level(0, 0, False, Sense.MIN),
            status=SolveStatus.UNKNOWN,
            solver=solver.name,
            params={"strategy": "portfolio"},
            seed=options.seed,
            runtime_s=time.perf_counter() - t0,
            stopped_by="interrupted" if options.stop.is_set() else "time_limit",
            log=log,
        )
    v1, v2 = evaluate(original, best2)
    if v1 < l1:
        raise AssertionError(f"level 2 lowered level 1 from {l1} to {v1}")
    if fixed:
        l1_opt = True
    # level-2 search may also find more priority (lexicographically better): keep it
    l2_opt = a2.optimal
    l2_bounds = [int(np.minimum(p.pair_level2, 0).sum())]
    if a2.bound is not None and np.isfinite(a2.bound):
        l2_bounds.append(int(np.ceil(a2.bound - 1e-6)))
    if lp2_bound is not None and np.isfinite(lp2_bound) and fixed:
        l2_bounds.append(int(np.ceil(lp2_bound - 1e-6)))
    l2_bound = max(l2_bounds)
    l2_opt = l2_opt or v2 <= l2_bound
    log.append(f"level 2: {v2:,} bound {l2_bound:,}")
    say(log[-1])
    runtime = time.perf_counter() - t0
    both = l1_opt and l2_opt
    if both:
        stopped = "optimal"
    elif options.stop.is_set():
        stopped = "interrupted"
    elif wall_clock or until.passed():
        stopped = "time_limit"
    else:
        stopped = "work_limit"
    params = {
        "strategy": "portfolio",
        "threads": 2,
        "bound_thread": (
            "cpsat 1 worker lin2"
            if arm_name == "CP-SAT"
            else f"{arm_name.lower()} (level 1), cpsat 1 worker lin2 (level 2)"
        ),
        "solution_thread": "lns",
        "time_limit_s": total_time,
        "work_limit": total_work,
    }
    return make_result(
        original,
        best2,
        level1=Level(v1, max(l1_bound, v1), l1_opt, Sense.MAX),
        level2=Level(v2, min(l2_bound, v2), l2_opt, Sense.MIN),
        status=SolveStatus.OPTIMAL if both else SolveStatus.FEASIBLE,
        solver=solver.name,
        params=params,
        seed=options.seed,
        runtime_s=runtime,
        stopped_by=stopped,
        log=log,
    )
