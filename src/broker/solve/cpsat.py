"""Exact lexicographic solver on OR-Tools CP-SAT.

Model (see :mod:`broker.problem` for the notation)::

    x[k] in {0, 1}                                     one Boolean per candidate pair
    AtMostOne(x[k] : k in K(i))                        every client (ExactlyOne if required)
    sum_{k in K(j)} load[k] x[k] <= capacity[j]        every supporter (only if it can bind)
    sum_{k in G(g)} cost[k] x[k] <= budget[g]          every authority budget (if it can bind)
    sum_k cost[k] x[k] <= programme_budget             (if set and it can bind)
    x[k] = 1                                           every pinned pair

Level 1 maximises ``sum_k priority[client(k)] x[k]``. Level 2 adds
``sum_k priority[client(k)] x[k] >= L1`` (the level-1 value found) and minimises
``sum_k level2[k] x[k]``, starting from the level-1 solution as a hint. When level
1 is not proven optimal, the level-2 bound is relative to that held value.

Scaling: costs and budgets are divided by the greatest common divisor of all
costs, loads and capacities by theirs. Every left-hand side is then still an
exact multiple, so flooring the right-hand side loses nothing; on the national
scenario this alone lifts the 20 s level-1 value from 2,529 to 2,669 (CP-SAT
propagates and cuts far better with coefficients near 10^4 than near 10^11).

Strategy by size (measured on 2 cores, see ``benchmarks/README.md``):

* from ``RACE_MIN_PAIRS`` pairs, when every client is required (GAP-like), a
  race of plain CP-SAT, HiGHS and broker's own starts (:mod:`broker.solve.required`;
  not reproducible under load, so an explicit work limit skips it); below that,
  the exact path first for ``PROBE_SHARE`` of the limit, and the race for the
  rest only if the exact path has not settled the problem by then;
* up to ``EXACT_PAIR_LIMIT`` candidate pairs otherwise: the exact two-level model
  above, which proves optimality on every bundled local scenario in about a second;
* above it, a two-process portfolio per level (:mod:`broker.solve.portfolio`):
  large-neighbourhood search (:mod:`broker.solve.lns`) by authority-budget
  neighbourhoods from an LP-guided start in this process, beside a second arm in
  a child process. On level 1 that arm is HiGHS up to 150,000 pairs (the
  strongest single solver on national rounds without budgets), the Lagrangian
  bound and heuristic above (:mod:`broker.solve.lagrange`, started from PDLP's
  duals), or, when an explicit
  work limit asks for reproducibility, single-worker CP-SAT at linearisation
  level 2; on level 2 it is that CP-SAT search. The best solution of either arm
  and the best bound of the arm and the LP relaxation are reported.

Both phases start from the greedy assignment as a hint, so a feasible solution is
known from the first second. Reproducibility: with ``deterministic=True`` the
exact path runs single-worker CP-SAT stopped by a deterministic work limit, so
the same problem and seed give the same result whatever the machine's load; the
wall-clock limit is a safety net that is recorded in ``stopped_by`` if it is
what stopped the run.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from ortools.sat.python import cp_model

from broker.problem import ProblemData
from broker.solve import search
from broker.solve.base import SolveOptions, register
from broker.solve.child import ChildTask
from broker.solve.deadline import Deadline
from broker.solve.greedy import greedy_pairs
from broker.solve.highsarm import HighsTask
from broker.solve.localsearch import improve_assignment
from broker.solve.mipproof import Level1Proof, proof_of, prove_level1
from broker.solve.model import build_cpsat, is_complete, level1_is_fixed, scaled
from broker.solve.regret import regret_start
from broker.solve.result import Level, Result, Sense, SolveStatus, StopReason, evaluate, make_result

LEVEL1_SHARE = 0.7
"""Share of the time and work limits level 1 may use; level 2 gets the rest."""

TWIN_MIN_PAIRS = 1_000
"""From this many pairs, the exact path runs a second seeded search on the second core."""

RACE_MIN_PAIRS = 1_000
"""From this many pairs, problems where every client is required race three arms
(:mod:`broker.solve.required`): the exact path left generated 10 x 400 problems
0.1-0.2% behind HiGHS and plain CP-SAT (24,885 against 24,830 on type D)."""

PROBE_SHARE = 0.1
"""Below :data:`RACE_MIN_PAIRS` pairs, share of the limit (and as much deterministic
work) the exact path has to settle a problem where every client is required before
the race takes over (:meth:`CpSatSolver._probe_then_race`); at least
:data:`PROBE_MIN_S`, at most half the limit."""

PROBE_MIN_S = 2.0
"""The exact path's shortest probe. Single-worker CP-SAT proved every gap1-12 problem
optimal within 1.8 s at a 5 s limit, and every gapa-gapc problem below 1,000 pairs
within 1.6 s at 20 s; handed to the race after 0.5 s, some took the race longer to
prove (gap12-4: 2.1 s against 0.9 s)."""

TWIN_GRACE_S = 0.3
"""How long past the deadline the twin search may take to answer before it is killed."""

MIP_PROOF_SHARE = 0.2
"""Share of the time limit a MIP proof of level 1 may use before CP-SAT's level 1."""

PROOF_BESIDE_NODE_LIMIT = 1_000_000
"""Node limit of HiGHS's level-1 proof when it runs beside CP-SAT on the second core
(below :data:`TWIN_MIN_PAIRS` pairs); the level-1 share of the time is the real limit.
Its answer is used only when it is a proof, so it never depends on how far it got."""

EXACT_PAIR_LIMIT = 4_000
"""Above this many candidate pairs the portfolio (bound thread + LNS) is used."""


def build_model(problem: ProblemData) -> tuple[cp_model.CpModel, list[cp_model.IntVar]]:
    """Build the CP-SAT model of the hard rules (no objective); see :mod:`broker.solve.model`."""
    return build_cpsat(problem)


class _Progress(cp_model.CpSolverSolutionCallback):
    """Progress lines (at most one a second) and incumbents, from CP-SAT's solutions."""

    def __init__(  # type: ignore[no-untyped-def]
        self, label: str, say, t0: float, levels=None, on_incumbent=None
    ) -> None:
        super().__init__()
        self.label, self.say, self.t0 = label, say, t0
        self.levels, self.on_incumbent = levels, on_incumbent
        self.last = -1e9

    def on_solution_callback(self) -> None:
        now = time.perf_counter() - self.t0
        if self.on_incumbent is not None and self.levels is not None:
            l1, l2 = self.levels
            self.on_incumbent(now, int(self.value(l1)), int(self.value(l2)))
        if self.say is not None and now - self.last >= 1.0:
            self.last = now
            self.say(
                f"{self.label}: {self.objective_value:,.0f} "
                f"(bound {self.best_objective_bound:,.0f}) at {now:.1f}s"
            )


_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.UNKNOWN: SolveStatus.UNKNOWN,
}


class CpSatSolver:
    """Two-level lexicographic CP-SAT solve; see the module docstring."""

    name = "cpsat"

    def parameters(self, options: SolveOptions) -> dict[str, object]:
        """CP-SAT parameters of the exact path.

        Deterministic mode uses one worker: CP-SAT is then reproducible without
        interleaved search, which measured far slower here (Leicestershire 1.57 s
        against 0.03 s; gapb-4 unproven in 20 s against optimal in 10 s).
        """
        if options.deterministic:
            return {"num_workers": 1, "random_seed": options.seed}
        return {"num_workers": options.workers, "random_seed": options.seed}

    def _run(
        self,
        model: cp_model.CpModel,
        options: SolveOptions,
        time_s: float,
        work: float,
        label: str,
        t0: float,
        levels: tuple[cp_model.LinearExpr, cp_model.LinearExpr] | None = None,
    ) -> tuple[cp_model.CpSolver, SolveStatus]:
        solver = search.new_solver(**self.parameters(options))
        solver.parameters.max_time_in_seconds = max(time_s, 0.01)
        if options.deterministic:
            solver.parameters.max_deterministic_time = max(work, 0.01)
        callback = None
        if options.progress or (options.on_incumbent and levels is not None):
            callback = _Progress(label, options.progress, t0, levels, options.on_incumbent)
        code = search.run(solver, model, options.stop, callback)
        if code not in _STATUS:
            raise RuntimeError(f"CP-SAT returned {solver.status_name(code)}")
        return solver, _STATUS[code]

    def solve(self, problem: ProblemData, options: SolveOptions) -> Result:
        # every client required: race the plain and HiGHS arms, unless an explicit work
        # limit asks for a reproducible result (the exact path and the portfolio give one)
        reproducible = options.deterministic and options.work_limit is not None
        race = options.workers >= 2 and not reproducible and level1_is_fixed(problem)
        if race and problem.n_pairs >= RACE_MIN_PAIRS:
            from broker.solve.required import solve_required

            return solve_required(self.name, problem, scaled(problem), options)
        if race and problem.n_pairs:
            return self._probe_then_race(problem, scaled(problem), options)
        if problem.n_pairs > EXACT_PAIR_LIMIT:
            from broker.solve.portfolio import solve_portfolio

            return solve_portfolio(self, problem, scaled(problem), options)
        p = scaled(problem)
        if options.deterministic and options.workers >= 2 and problem.n_pairs >= TWIN_MIN_PAIRS:
            return self._solve_twins(problem, p, options)
        return self._solve_exact(problem, p, options, proof_beside=options.workers >= 2)

    def _probe_then_race(
        self, original: ProblemData, p: ProblemData, options: SolveOptions
    ) -> Result:
        """A small problem where every client is required: the exact path first, for
        :data:`PROBE_SHARE` of the limit (:data:`PROBE_MIN_S` to half of it) and as
        much deterministic work; what it proves optimal (or infeasible) in that time
        is returned as it is, and so is reproducible. Otherwise the race
        (:mod:`broker.solve.required`) takes the rest of the time from the probe's
        solution and bound: on a hard small problem the exact path's one worker
        leaves the second core idle, and 20 s of it ended a 5 x 100 type-D GAP
        (gapd-1) at 6,354-6,368 over five seeds.
        """
        until = Deadline.after(options.time_limit_s)
        limit = float(options.time_limit_s)
        share = min(max(PROBE_SHARE * limit, PROBE_MIN_S), 0.5 * limit)
        probe = self._solve_exact(
            original, p, dataclasses.replace(options, time_limit_s=share, work_limit=share)
        )
        settled = probe.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE)
        if settled or options.stop.is_set() or until.remaining() <= 0:
            return dataclasses.replace(
                probe,
                params=probe.params | {"time_limit_s": float(options.time_limit_s)},
                stopped_by=(
                    StopReason.INTERRUPTED
                    if not settled and options.stop.is_set()
                    else probe.stopped_by
                ),
            )
        from broker.solve.required import solve_required

        rest = dataclasses.replace(options, time_limit_s=until.remaining())
        result = solve_required(self.name, original, p, rest, probe=probe)
        return dataclasses.replace(
            result,
            params=result.params
            | {"probe_s": round(probe.runtime_s, 3), "time_limit_s": float(options.time_limit_s)},
        )

    def _solve_twins(self, original: ProblemData, p: ProblemData, options: SolveOptions) -> Result:
        """Two deterministic single-worker searches (seeds s and s+1) on two cores.

        The second runs in a forked process; the better result wins (level 1,
        then level 2; a tie goes to the first), so the outcome stays reproducible.
        Bounds are combined where both refer to the same level-1 value.
        """
        until = Deadline.after(options.time_limit_s)
        twin = dataclasses.replace(options, seed=options.seed + 1, progress=None, on_incumbent=None)
        task: ChildTask[Result] = ChildTask(self._solve_exact, original, p, twin)
        with options.stop.watch(task.kill):
            first = self._solve_exact(original, p, options)
            if not task.poll(until.remaining() + TWIN_GRACE_S):
                task.kill()  # the wall clock wins
            second = task.result()
        if second is None or not second.status.has_solution:
            return first  # a failed, stopped or empty-handed twin never costs the first
        if not first.status.has_solution:
            return dataclasses.replace(second, seed=options.seed)

        def key(r: Result) -> tuple[int, int]:
            return (r.level1.value, -r.level2.value)

        best = second if key(second) > key(first) else first
        if best is second and options.on_incumbent is not None:
            options.on_incumbent(second.runtime_s, second.level1.value, second.level2.value)
        l1_bound = min(first.level1.bound, second.level1.bound)
        l1_opt = first.level1.optimal or second.level1.optimal or best.level1.value >= l1_bound
        level1 = Level(best.level1.value, max(l1_bound, best.level1.value), l1_opt, Sense.MAX)
        level2 = best.level2
        if first.level1.value == second.level1.value:
            l2_bound = max(first.level2.bound, second.level2.bound)
            level2 = Level(
                best.level2.value,
                min(l2_bound, best.level2.value),
                best.level2.optimal or best.level2.value <= l2_bound,
                Sense.MIN,
            )
        both = level1.optimal and level2.optimal
        return dataclasses.replace(
            best,
            level1=level1,
            level2=level2,
            status=SolveStatus.OPTIMAL if both else SolveStatus.FEASIBLE,
            params=best.params
            | {"twins": [options.seed, options.seed + 1], "winner_seed": best.seed},
            seed=options.seed,
            stopped_by=(
                StopReason.OPTIMAL
                if both
                else StopReason.INTERRUPTED
                if options.stop.is_set()
                else best.stopped_by
            ),
            runtime_s=max(first.runtime_s, second.runtime_s),
            log=first.log + tuple(f"twin (seed {options.seed + 1}): {m}" for m in second.log),
        )

    def _solve_exact(
        self,
        original: ProblemData,
        p: ProblemData,
        options: SolveOptions,
        proof_beside: bool = False,
    ) -> Result:
        """The exact two-level model; with ``proof_beside`` HiGHS's level-1 proof runs
        on the second core during CP-SAT's level 1 instead of before it."""
        t0 = time.perf_counter()
        until = Deadline.after(options.time_limit_s)
        say = options.progress or (lambda _msg: None)
        log: list[str] = []
        total_time = float(options.time_limit_s)
        total_work = float(
            options.work_limit if options.work_limit is not None else options.time_limit_s
        )
        fixed = level1_is_fixed(p)

        model, x = build_model(p)
        build_s = time.perf_counter() - t0
        log.append(
            f"model: {p.n_pairs} pairs, {len(model.proto.constraints)} constraints, "
            f"built in {build_s:.2f}s"
        )
        hint = greedy_pairs(p, until.share(0.1))
        if fixed and not is_complete(p, hint):
            regret = regret_start(p, until.share(0.2))
            hint = hint if regret is None else regret
        if fixed:  # assignment-shaped (GAP-like): shift and swap first
            hint = improve_assignment(p, hint, until.share(0.1))
        hint_pairs = set(hint.tolist()) if is_complete(p, hint) else set()
        for k, var in enumerate(x):
            model.add_hint(var, k in hint_pairs)

        prio = [int(v) for v in p.pair_priority]
        level1_expr = cp_model.LinearExpr.weighted_sum(x, prio)
        level2_expr = cp_model.LinearExpr.weighted_sum(x, [int(v) for v in p.pair_level2])
        if fixed:
            # every client required: level 1 is the same in every solution, so the
            # one search goes straight to level 2 with all the time
            model.minimize(level2_expr)
            s1, st1 = self._run(
                model,
                options,
                until.remaining(),
                total_work,
                "level 2 (level 1 fixed)",
                t0,
                (level1_expr, level2_expr),
            )
        else:
            level1_until = until.share(LEVEL1_SHARE)
            proof_task: HighsTask | None = None
            proof: Level1Proof | None = None
            if proof_beside and p.n_pairs:
                # HiGHS tries to prove the level-1 optimum on the second core while
                # CP-SAT searches; its answer is used only if it is a proof
                proof_task = HighsTask(p, 1, level1_until.remaining(), PROOF_BESIDE_NODE_LIMIT)
            else:
                # HiGHS proves the level-1 optimum first where it can (mipproof
                # docstring); CP-SAT then searches up to it, so its own solution
                # closes the gap at once
                proof = prove_level1(p, MIP_PROOF_SHARE * until.remaining())
                if proof is not None:
                    model.add(level1_expr <= proof.value)
                    log.append(f"level 1: HiGHS proves the optimum is {proof.value:,}")
                    say(log[-1])
            model.maximize(level1_expr)
            with options.stop.watch(proof_task.kill if proof_task else lambda: None):
                s1, st1 = self._run(
                    model,
                    options,
                    level1_until.remaining(),
                    LEVEL1_SHARE * total_work,
                    "level 1 (priority matched)",
                    t0,
                    (level1_expr, level2_expr),
                )
                if proof_task is not None:
                    if st1 is SolveStatus.OPTIMAL or options.stop.is_set():
                        proof_task.kill()  # CP-SAT's own proof decides
                    elif not proof_task.poll(level1_until.remaining() + TWIN_GRACE_S):
                        proof_task.kill()  # the wall clock wins
                    proof = proof_of(p, proof_task.result())
            if proof_task is not None and proof is not None:
                log.append(f"level 1: HiGHS proves the optimum is {proof.value:,}")
                say(log[-1])
        used_work = s1.deterministic_time
        log.append(
            f"level 1: {st1.value} {s1.objective_value:,.0f} bound "
            f"{s1.best_objective_bound:,.0f} in {s1.wall_time:.2f}s "
            f"(work {used_work:.2f})"
        )
        say(log[-1])
        params = self.parameters(options) | {"time_limit_s": total_time, "work_limit": total_work}
        if not st1.has_solution:
            bound = (
                int(np.floor(s1.best_objective_bound + 1e-6))
                if st1 is not SolveStatus.INFEASIBLE and not fixed
                else int(p.priority.sum())
                if st1 is not SolveStatus.INFEASIBLE
                else 0
            )
            return make_result(
                p,
                np.zeros(0, np.int64),
                level1=Level(0, bound, False, Sense.MAX),
                level2=Level(0, 0, False, Sense.MIN),
                status=st1,
                solver=self.name,
                params=params,
                seed=options.seed,
                runtime_s=time.perf_counter() - t0,
                stopped_by=(
                    StopReason.INFEASIBLE
                    if st1 is SolveStatus.INFEASIBLE
                    else StopReason.INTERRUPTED
                    if options.stop.is_set()
                    else StopReason.TIME_LIMIT
                ),
                log=log,
            )
        chosen1 = np.array(s1.boolean_values(x), dtype=bool) if x else np.zeros(0, bool)
        if fixed:
            l1 = l1_bound = int(p.priority.sum())
            l1_opt = True
            s2, st2 = s1, st1
            used_work = 0.0
        else:
            l1 = int(round(s1.objective_value))
            l1_bound = int(np.floor(s1.best_objective_bound + 1e-6))
            l1_opt = st1 is SolveStatus.OPTIMAL
            if not l1_opt and proof is not None:
                # CP-SAT did not reach HiGHS's proven optimum: take HiGHS's solution
                if proof.value > l1:
                    chosen1 = np.zeros(p.n_pairs, dtype=bool)
                    chosen1[proof.pairs] = True
                    log.append(f"level 1: HiGHS's solution {proof.value:,} (CP-SAT had {l1:,})")
                    say(log[-1])
                l1 = l1_bound = proof.value
                l1_opt = True

            # ---- level 2
            model.add(level1_expr >= l1)
            model.clear_hints()
            for var, v in zip(x, chosen1, strict=True):
                model.add_hint(var, bool(v))
            model.minimize(level2_expr)
            s2, st2 = self._run(
                model,
                options,
                until.remaining(),
                max(total_work - used_work, 0.05),
                "level 2 (cost, distance, penalties)",
                t0,
                (level1_expr, level2_expr),
            )
        if st2.has_solution:
            a = np.array(s2.boolean_values(x), dtype=bool)
            l2_opt = st2 is SolveStatus.OPTIMAL
            l2_bound = int(np.ceil(s2.best_objective_bound - 1e-6))
        else:
            a = chosen1
            l2_opt = False
            l2_bound = int(np.minimum(p.pair_level2, 0).sum())
        log.append(
            f"level 2: {st2.value} {s2.objective_value:,.0f} bound "
            f"{s2.best_objective_bound:,.0f} in {s2.wall_time:.2f}s"
        )
        say(log[-1])
        v1, v2 = evaluate(original, a)
        if v1 != l1:  # level 2 must hold level 1; anything else is a bug
            raise AssertionError(f"level 2 changed level 1 from {l1} to {v1}")
        both = l1_opt and l2_opt
        runtime = time.perf_counter() - t0
        if both:
            stopped = "optimal"
        elif options.stop.is_set():
            stopped = "interrupted"
        elif options.deterministic and (used_work + s2.deterministic_time >= total_work * 0.99):
            stopped = "work_limit"
        else:
            stopped = "time_limit"
        return make_result(
            original,
            a,
            level1=Level(v1, max(l1_bound, v1), l1_opt, Sense.MAX),
            level2=Level(v2, min(l2_bound, v2), l2_opt, Sense.MIN),
            status=SolveStatus.OPTIMAL if both else SolveStatus.FEASIBLE,
            solver=self.name,
            params=params,
            seed=options.seed,
            runtime_s=runtime,
            stopped_by=stopped,
            log=log,
        )


register("cpsat")(CpSatSolver)
