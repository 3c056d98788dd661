"""Problems where every client is required (GAP-like): arms race, the best wins.

When every client must be matched, level 1 is the same in every solution and
the problem is a pure level-2 minimisation, like the generalised assignment
problem. No single method is best across this family (2 cores, 20 s, generated
GAP, see ``benchmarks/README.md``): HiGHS's branch and cut wins at 400 jobs
(type C, 20 x 400: 4,752 against 4,764 for two-worker CP-SAT), plain CP-SAT at
1,600 (type E, 40 x 1,600: 181,786 where HiGHS alone reached 551,524), and any
hint, even a good one, pins CP-SAT to it. So the arms are:

* **HiGHS arm** (child process, all of the time, up to
  :data:`broker.solve.highsarm.MAX_PAIRS` pairs): :func:`broker.solve.highsarm.highs_arm`
  on level 2, two threads (about 1.3 cores);
* **broker's arm** (this process): a greedy start (the safety net); the level-2
  LP relaxation (:mod:`broker.solve.lp`, up to :data:`LP_SHARE` of what is left),
  which gives the bound and, rounded and repaired (:mod:`broker.solve.rounding`),
  the start that wins on the largest D and E problems (E 80 x 1,600 at 20 s:
  179,134, where HiGHS alone has 206,298 and ten minutes of the race 178,510);
  then the regret start (:mod:`broker.solve.regret`) with shift/swap local search
  (:mod:`broker.solve.localsearch`) in :data:`BROKER_ARM_SHARE` of what is left;
  then, beside HiGHS, LNS (:func:`broker.solve.lns.improve` on level 2, freeing
  the clients of a few supporters at a time, as many as its sub-solves can
  finish: :class:`broker.solve.lns.AdaptiveSize`) from the best start to the
  deadline, taking each better solution HiGHS reports as it goes, so that each
  arm's answer is the other's start. The LNS runs in a thread that yields the
  CPU to HiGHS where both want it (:mod:`broker.solve.yielding`), so HiGHS in
  the race is as far along as HiGHS alone;
* **plain arm** (child process, all of the time): CP-SAT on the plain model, no
  hint, seeded; with every worker when HiGHS does not run, otherwise with the
  workers beyond :data:`PLAIN_SPARE`, so not at all on two cores. There its one
  worker took the core the LNS now has, and the LNS is worth more: on the 51 GAP
  instances of ``broker bench`` at 20 s (``benchmarks/results/pass5``) the race
  with the LNS instead of the plain arm was better on 25 (gapd-5: 6,234 against
  6,259; E 60 x 900: 101,145 against 101,421), the same on 25 and 0.02% worse on
  one (E 30 x 900), and as good as plain CP-SAT with both workers on all 51.

The best complete solution wins; the bound is the best of the arms' and the LP's.
An arm that proves optimality (or infeasibility) ends the others at once. The
arms stop on wall time, so this family's result is **not reproducible** under
load (``params["reproducible"]`` is ``False``). The race is used from
:data:`broker.solve.cpsat.RACE_MIN_PAIRS` pairs when ``workers >= 2``, unless an
explicit work limit in deterministic mode asks for a reproducible result.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.sat.python import cp_model

from broker.problem import ProblemData
from broker.solve import lns, search
from broker.solve.arm import NOTHING, ArmResult, ArmTask
from broker.solve.base import SolveOptions
from broker.solve.child import ChildTask
from broker.solve.deadline import Deadline
from broker.solve.greedy import greedy_pairs
from broker.solve.highsarm import MAX_PAIRS as HIGHS_MAX_PAIRS
from broker.solve.highsarm import HighsTask
from broker.solve.incumbent import Incumbents
from broker.solve.localsearch import improve_assignment
from broker.solve.lp import LpResult, solve_lp
from broker.solve.model import build_cpsat, is_complete
from broker.solve.regret import regret_start
from broker.solve.result import Level, Result, Sense, SolveStatus, StopReason, make_result
from broker.solve.rounding import lp_rounding
from broker.solve.yielding import run_yielding

GREEDY_SHARE = 0.05
"""Share of the time for the plain greedy start, the safety net."""

BROKER_ARM_SHARE = 0.2
"""Share of what is left after the LP rounding for the regret start and local search."""

LP_SHARE = 0.7
"""Share of what is then left that the LP relaxation of level 2 may use (6 s at
128,000 pairs on an idle core)."""

ROUNDING_SHARE = 0.3
"""Share of what is then left for the LP rounding start (:mod:`broker.solve.rounding`)."""

PLAIN_SPARE = 3
"""Workers HiGHS and broker's LNS take before the plain arm gets any: on two or three
cores the plain arm does not run beside HiGHS."""

GRACE_S = 1.0
"""At most this long (and at most 5% of the limit, at least 0.3 s) past the deadline
the plain arm may take to answer before it is killed."""

UNLIMITED_NODES = 10**9
"""The HiGHS arm's node limit in the race, which stops on the clock anyway."""

HIGHS_THREADS = 2
"""HiGHS's ``threads`` in the race (it keeps about 1.3 cores busy with two)."""

HIGHS_MARGIN_S = 0.3
"""HiGHS stops this long (or 5% of the limit) before the deadline: its answer is a
short file, and every solution it found is already on disk (see
:class:`broker.solve.highsarm.HighsTask`). Alone at 20 s, HiGHS found its last
solution on gapd-5 at 17.9 s and on gapd-6 at 17.6 s (the ``traces.json`` of
``broker bench run --set gap-large --solvers highs-mip --filter 'gapd-[56]'``)."""

ANSWER_MARGIN_S = 0.5
"""The arms stop this long (or 5% of the limit) before the deadline: with two
workers on a loaded machine CP-SAT overran its own limit by more than a second."""


def _plain_arm(p: ProblemData, wall: float, seed: int, workers: int) -> ArmResult:
    """Plain CP-SAT minimising level 2, no hint (runs in a child process)."""
    until = Deadline.after(wall)
    model, x = build_cpsat(p)
    model.minimize(cp_model.LinearExpr.weighted_sum(x, [int(v) for v in p.pair_level2]))
    solver = search.new_solver(
        num_workers=max(int(workers), 1),
        random_seed=seed,
        max_time_in_seconds=max(until.remaining(), 0.001),
    )
    status = solver.solve(model)
    has = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return ArmResult(
        pairs=np.flatnonzero(np.array(solver.boolean_values(x), bool)) if has else None,
        bound=float(solver.best_objective_bound) if has else None,
        optimal=status == cp_model.OPTIMAL,
        infeasible=status == cp_model.INFEASIBLE,
        work=float(solver.deterministic_time),
        wall_clock=until.passed(),
    )


def _collect(
    plain: ArmTask | None, highs: ArmTask | None, until: Deadline, grace: float
) -> tuple[ArmResult, ArmResult]:
    """The child arms' answers; an arm that proves optimality ends the other at once,
    and an arm that has not answered ``grace`` seconds after the deadline is killed."""
    tasks: dict[str, ArmTask] = {
        name: arm for name, arm in (("plain", plain), ("highs", highs)) if arm is not None
    }
    out = {"plain": NOTHING, "highs": NOTHING}
    end = until.at + grace
    while tasks and time.monotonic() < end:
        for name, task in list(tasks.items()):
            if task.poll(min(0.02, max(end - time.monotonic(), 0.0))):
                out[name] = task.result() or NOTHING
                del tasks[name]
                if out[name].optimal or out[name].infeasible:
                    for other in tasks.values():
                        other.kill()
                        other.result()
                    tasks.clear()
                    break
    for task in tasks.values():  # the wall clock wins
        task.kill()
        task.result()
    return out["plain"], out["highs"]


def solve_required(
    name: str,
    original: ProblemData,
    p: ProblemData,
    options: SolveOptions,
    probe: Result | None = None,
) -> Result:
    """Race the plain arm against broker's arm (see the module docstring).

    ``probe`` is an earlier search of the same problem that did not settle it (the
    exact path's first seconds on a small problem, :mod:`broker.solve.cpsat`): its
    solution is one of the starts, its level-2 bound counts, its log comes first and
    its time is part of the runtime. ``options.time_limit_s`` is what is left.
    """
    t0 = time.perf_counter() - (probe.runtime_s if probe is not None else 0.0)
    # one clock and one best for the whole solve: the probe reported its own
    incumbents = Incumbents(p, options.on_incumbent, t0)
    # the probe's solution, if it found one: already reported, a start, a bound
    probed = probe if probe is not None and probe.status.has_solution else None
    if probed is not None:
        incumbents.known(np.asarray(probed.pairs, dtype=np.int64))
    until = Deadline.after(options.time_limit_s)
    say = options.progress or (lambda _m: None)
    log: list[str] = list(probe.log) if probe is not None else []
    # the arm stops a little before the deadline, so that its answer (a solution of
    # every pair, pickled through a pipe) arrives in time even on a loaded machine
    margin = max(ANSWER_MARGIN_S, 0.05 * float(options.time_limit_s))
    grace = min(GRACE_S, max(0.3, 0.05 * float(options.time_limit_s)))
    arm_wall = max(until.remaining() - margin, 0.1)
    use_highs = p.n_pairs <= HIGHS_MAX_PAIRS
    # beside HiGHS (about 1.3 cores) broker's arm searches from the best start (LNS,
    # one core), and the plain CP-SAT arm has what is left over; without HiGHS it has
    # every worker
    plain_workers = options.workers - PLAIN_SPARE if use_highs else options.workers
    task: ChildTask[ArmResult] | None = (
        ChildTask(_plain_arm, p, arm_wall, options.seed, plain_workers)
        if plain_workers >= 1
        else None
    )
    highs: HighsTask | None = None
    if use_highs:
        # the race stops on the clock anyway: no node limit
        # and, since its answer is small and its incumbents are on disk as it goes,
        # it runs to just before the deadline
        highs_margin = min(HIGHS_MARGIN_S, 0.05 * float(options.time_limit_s))
        highs = HighsTask(
            p,
            2,
            max(until.remaining() - highs_margin, 0.1),
            UNLIMITED_NODES,
            int(p.priority.sum()),
            HIGHS_THREADS,
            options.seed,
        )

    def kill_all() -> None:
        for arm in (task, highs):
            if arm is not None:
                arm.kill()

    def settled() -> bool:
        # an arm has proved optimality (or infeasibility): broker's arm can stop
        for arm in (task, highs):
            if arm is not None and arm.poll():
                out = arm.result()
                if out is not None and (out.optimal or out.infeasible):
                    return True
        return options.stop.is_set()

    with options.stop.watch(kill_all):
        # the LP first: its rounding is this arm's best start on the large problems,
        # where the LP alone takes seconds; the plain greedy before it is the safety net
        start = greedy_pairs(p, until.share(GREEDY_SHARE))
        lp = LpResult(None, None, False, 0.0, "NOT_RUN")
        if not settled():
            lp = solve_lp(
                p,
                p.pair_level2.astype(float),
                maximize=False,
                time_limit_s=until.share(LP_SHARE).remaining(),
                stop=options.stop,
            )
        if lp.bound is not None:
            log.append(f"LP relaxation of level 2: bound {lp.bound:,.2f} in {lp.seconds:.2f}s")
            say(log[-1])
        starts = [start]
        if probed is not None:
            starts.append(np.asarray(probed.pairs, dtype=np.int64))
        if lp.optimal and lp.x is not None and not settled():
            rounded = lp_rounding(p, lp.x, until.share(ROUNDING_SHARE))
            if rounded is not None:
                starts.append(rounded)
                incumbents.offer(rounded)
                log.append(f"LP rounding: level 2 = {int(p.pair_level2[rounded].sum()):,}")
                say(log[-1])
        if not settled():  # greedy (or regret) with local search, in the share left
            mine = until.share(BROKER_ARM_SHARE)
            label = "greedy" if is_complete(p, start) else "regret"
            other = start if label == "greedy" else regret_start(p, mine.share(0.5))
            if other is not None and is_complete(p, other) and not settled():
                other = improve_assignment(p, other, mine)
                starts.append(other)
                incumbents.offer(other)
                log.append(f"{label} + shift/swap: level 2 = {int(p.pair_level2[other].sum()):,}")
                say(log[-1])
        complete = [s for s in starts if is_complete(p, s)]
        if complete:
            start = min(complete, key=lambda s: int(p.pair_level2[s].sum()))
        if highs is not None and is_complete(p, start) and not settled():
            # LNS from the best start, taking HiGHS's better incumbents as it goes
            # (the two improve each other's answers: HiGHS's solutions are often a
            # few neighbourhoods from better ones, and the LNS's starts are HiGHS's)
            # in a thread that yields the CPU to HiGHS where both want it, so that
            # HiGHS is as far along as it would be on its own (broker.solve.yielding)
            before = int(p.pair_level2[start].sum())
            first, peek = start, highs.peek
            start, stats = run_yielding(
                lambda abandoned: lns.improve(
                    p,
                    first,
                    level=2,
                    work_limit=float("inf"),
                    time_limit_s=max(until.remaining() - margin, 0.0),
                    seed=options.seed,
                    should_stop=lambda: abandoned() or settled(),
                    on_improve=incumbents.offer,
                    adopt=peek,
                    by_supporters=True,
                )
            )
            log.append(
                f"LNS beside HiGHS: level 2 {before:,} -> {int(p.pair_level2[start].sum()):,} "
                f"({stats.iterations} steps, {stats.supporters:.2f} supporters a step at the "
                f"end, {stats.adopted} of HiGHS's solutions taken)"
            )
            say(log[-1])
        plain, mip = _collect(task, highs, until, grace)
        incumbents.offer(plain.pairs)
        incumbents.offer(mip.pairs)
    candidates = [s for s in (plain.pairs, mip.pairs, start) if s is not None and is_complete(p, s)]
    for label, arm in (("plain arm", plain), ("HiGHS arm", mip)):
        if arm.pairs is not None:
            log.append(f"{label}: level 2 = {int(p.pair_level2[arm.pairs].sum()):,}")
            say(log[-1])
    params: dict[str, object] = {
        "strategy": "required",
        "arms": (["cpsat plain (no hint)"] if task is not None else [])
        + (["highs"] if highs is not None else [])
        + ["LP rounding, regret + shift/swap" + (", LNS" if highs is not None else "")],
        "plain_workers": max(plain_workers, 0),
        "workers": options.workers,
        "time_limit_s": float(options.time_limit_s),
        "reproducible": False,
    }
    total = int(p.priority.sum())
    stopped = options.stop.is_set()
    if not candidates:
        infeasible = plain.infeasible or mip.infeasible
        return make_result(
            original,
            np.zeros(0, np.int64),
            level1=Level(0, 0 if infeasible else total, infeasible, Sense.MAX),
            level2=Level(0, 0, False, Sense.MIN),
            status=SolveStatus.INFEASIBLE if infeasible else SolveStatus.UNKNOWN,
            solver=name,
            params=params,
            seed=options.seed,
            runtime_s=time.perf_counter() - t0,
            stopped_by=(
                StopReason.INFEASIBLE
                if infeasible
                else StopReason.INTERRUPTED
                if stopped
                else StopReason.TIME_LIMIT
            ),
            log=log,
        )
    best = min(candidates, key=lambda s: int(p.pair_level2[s].sum()))
    v2 = int(original.pair_level2[best].sum())
    bounds = [int(np.minimum(p.pair_level2, 0).sum())]
    for arm in (plain, mip):
        if arm.bound is not None and np.isfinite(arm.bound):
            bounds.append(int(np.ceil(arm.bound - 1e-6)))
    if lp.bound is not None and np.isfinite(lp.bound):
        bounds.append(int(np.ceil(lp.bound - 1e-6)))
    if probed is not None:
        bounds.append(int(probed.level2.bound))
    l2_bound = min(max(bounds), v2)
    optimal = plain.optimal or mip.optimal or v2 <= l2_bound
    return make_result(
        original,
        best,
        level1=Level(total, total, True, Sense.MAX),
        level2=Level(v2, l2_bound, optimal, Sense.MIN),
        status=SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
        solver=name,
        params=params,
        seed=options.seed,
        runtime_s=time.perf_counter() - t0,
        stopped_by=(
            StopReason.OPTIMAL
            if optimal
            else StopReason.INTERRUPTED
            if stopped
            else StopReason.TIME_LIMIT
        ),
        log=log,
    )
