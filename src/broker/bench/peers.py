"""Peer solvers on broker's model, each returning a :class:`~broker.solve.result.Result`.

Peers (:data:`PEERS`)
---------------------
``highs-mip``
    HiGHS MIP through ``highspy`` directly (not SciPy): the model is passed as CSC
    arrays in one ``passModel`` call; options ``threads``, ``time_limit``,
    ``random_seed``; improving solutions come from HiGHS's MIP callback.
``cbc``
    COIN-OR CBC through PuLP (``PULP_CBC_CMD``, the CBC binary bundled with PuLP)
    with ``timeLimit`` and ``threads``; improving solutions are read from the CBC log.
``cpsat-plain``
    A plain single-call CP-SAT model: the hard rules and one weighted objective, no
    hints, no tuning, parameters ``num_workers``, ``random_seed`` and
    ``max_time_in_seconds`` only; improving solutions from a solution callback.
``greedy``
    broker's greedy baseline (:mod:`broker.solve.greedy`).

Objective (one call, all exact peers alike)
-------------------------------------------
broker solves two levels: maximise level 1 (priority matched), then minimise level
2 with level 1 held. A single-call peer maximises instead::

    W * level1 - level2,     W = U - L + 1

where ``U`` (``L``) is the sum over clients of the largest (smallest) level-2
coefficient among the client's pairs, clipped below (above) at 0. Every feasible
solution has ``L <= level2 <= U``, so one more unit of level 1 always outweighs any
change in level 2 and the optimum is the lexicographic optimum. When every client
is required, level 1 is the same for every feasible solution and ``W = 0`` (the
objective is ``-level2``; the GAP instances are of this kind). Because ``W`` can be
large, the MIP peers run with a relative gap of 0; otherwise their default gap
(1e-4 of ``W * level1``) could stop them one unit of level 1 short of the optimum.
This is correctness, not tuning. From a bound ``B`` on the weighted objective the
peers report ``level1 <= floor((B + U) / W)`` and, with level 1 held at the value
found, ``level2 >= ceil(W * level1 - B)``, the same convention as broker's solvers.

Each exact peer also comes as ``<name>-l1`` (``highs-mip-l1``, ``cbc-l1``,
``cpsat-plain-l1``), which maximises level 1 alone: the fair comparison for a
level-1 benchmark, since a large ``W`` makes the weighted objective numerically
harder for the MIP solvers (see :class:`Weighting`).

Trace
-----
``Result.params["trace"]`` holds the improving solutions as ``(seconds, level1,
level2)`` tuples, seconds counted from the start of the peer call (model building
included), and ``Result.params["trace_source"]`` says where they came from
(``callback``, ``log``, ``final`` or ``none``). :func:`time_to_final` reads it.

OR-Tools and highspy in one process
-----------------------------------
ortools 9.15 and highspy 1.15 each ship a ``libhighs.so.1``, of different HiGHS
versions, with symbols in the global scope: whichever is imported first wins and
importing the other fails with ``undefined symbol`` (google/or-tools#5246). So
:func:`solve_highs_mip` never imports ``highspy`` into a process that may also use
OR-Tools: it solves in a fresh Python process (:mod:`broker.bench.worker`) unless the
current process is a dedicated benchmark worker (:func:`mark_isolated`). Nothing in
:mod:`broker.bench` imports either library at module level.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import cast

import numpy as np
from scipy import sparse

from broker.limits import solver_seed
from broker.problem import ProblemData
from broker.solve.model import build_cpsat, constraint_matrix
from broker.solve.result import Level, Result, Sense, SolveStatus, evaluate, freeze, make_result

_ISOLATED = False


def mark_isolated() -> None:
    """Declare this process a dedicated single-solve worker.

    After this call :func:`solve_highs_mip` imports ``highspy`` here instead of
    spawning a subprocess. Call it only in a process that will not import OR-Tools.
    """
    global _ISOLATED
    _ISOLATED = True


# --------------------------------------------------------------------- objective
OBJECTIVES = ("lex", "level1")
"""Objectives of the single-call peers: ``lex`` (``W * level1 - level2``) or ``level1``."""


@dataclass(frozen=True)
class Weighting:
    """The single objective a peer maximises, and how to decode its values and bounds.

    ``lex``: ``W * level1 - level2`` (``W = 0`` when level 1 is constant, see the
    module docstring). ``level1``: ``level1`` alone, except when level 1 is constant,
    where it is ``-level2`` as in ``lex`` (otherwise a GAP would be a pure
    feasibility problem).

    Attributes
    ----------
    w
        Weight of level 1 (0 when level 1 is constant over feasible solutions).
    upper, lower
        Bounds on level 2 over all solutions (``U`` and ``L`` of the module docstring).
    total_priority
        Sum of all priorities: level 1 when every client is matched.
    with_level2
        Whether level 2 is in the objective (``False`` only for ``level1``).
    """

    w: int
    upper: int
    lower: int
    total_priority: int
    with_level2: bool = True

    @classmethod
    def of(cls, problem: ProblemData, objective: str = "lex") -> Weighting:
        """The weighting for ``problem`` and objective ``lex`` or ``level1``."""
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        p = problem
        starts = p.client_pair_ranges()
        has = np.flatnonzero(starts[1:] > starts[:-1])
        hi = np.zeros(p.n_clients, dtype=np.int64)
        lo = np.zeros(p.n_clients, dtype=np.int64)
        if len(has):
            hi[has] = np.maximum.reduceat(p.pair_level2, starts[has])
            lo[has] = np.minimum.reduceat(p.pair_level2, starts[has])
        upper = int(np.maximum(hi, 0).sum())
        lower = int(np.minimum(lo, 0).sum())
        total = int(p.priority.sum())
        if p.n_clients > 0 and bool(p.required.all()):
            return cls(0, upper, lower, total)
        if objective == "level1":
            return cls(1, upper, lower, total, with_level2=False)
        return cls(upper - lower + 1, upper, lower, total)

    def coefficients(self, problem: ProblemData) -> np.ndarray:
        """Per-pair coefficient of the maximised objective (int64)."""
        out = self.w * problem.pair_priority.astype(np.int64)
        return out - problem.pair_level2 if self.with_level2 else out

    def levels(self, objective: float) -> tuple[int, int | None]:
        """``(level1, level2)`` of a solution with this objective value.

        Level 2 is ``None`` when it is not part of the objective.
        """
        obj = int(round(objective))
        if self.w == 0:
            return self.total_priority, -obj
        if not self.with_level2:
            return obj, None
        l1 = (obj + self.upper) // self.w
        return l1, self.w * l1 - obj

    def level1_bound(self, bound: float) -> int:
        """Upper bound on level 1 from an upper bound on the objective."""
        if self.w == 0 or not math.isfinite(bound):
            return self.total_priority
        if not self.with_level2:
            return int(math.floor(bound + 1e-6))
        return int(math.floor((bound + self.upper) / self.w + 1e-9))

    def level2_bound(self, bound: float, level1: int) -> int:
        """Lower bound on level 2 with level 1 held at ``level1``."""
        if not self.with_level2 or not math.isfinite(bound):
            return self.lower
        return max(int(math.ceil(self.w * level1 - bound - 1e-6)), self.lower)


def _rows(p: ProblemData) -> tuple[sparse.csc_matrix, np.ndarray, np.ndarray]:
    """Constraint matrix (CSC, one column per pair) with row lower and upper bounds:
    :func:`broker.solve.model.constraint_matrix`, the formulation every solver shares."""
    a, lo, hi = constraint_matrix(p)
    out = sparse.csc_matrix(a)
    out.sort_indices()
    return out, lo, hi


def _result(
    p: ProblemData,
    name: str,
    chosen: np.ndarray | None,
    solver_status: str,
    bound: float,
    weighting: Weighting,
    params: dict[str, object],
    seed: int,
    t0: float,
    trace: list[tuple[float, int, int | None]],
    trace_source: str,
    log: tuple[str, ...] = (),
) -> Result:
    """A :class:`Result` from a single weighted solve.

    ``solver_status`` is ``optimal``, ``feasible``, ``infeasible`` or ``unknown``;
    ``bound`` is an upper bound on the weighted objective (``inf`` if none).
    """
    runtime = time.perf_counter() - t0
    objective = (
        "-level2"
        if weighting.w == 0
        else "W*level1 - level2"
        if weighting.with_level2
        else "level1"
    )
    params = params | {
        "objective": objective,
        "W": weighting.w,
        "trace": tuple(trace),
        "trace_source": trace_source,
    }
    if chosen is None or solver_status in ("infeasible", "unknown"):
        infeasible = solver_status == "infeasible"
        b1 = 0 if infeasible else min(weighting.level1_bound(bound), weighting.total_priority)
        return make_result(
            p,
            np.zeros(0, np.int64),
            level1=Level(0, b1, False, Sense.MAX),
            level2=Level(0, weighting.lower, False, Sense.MIN),
            status=SolveStatus.INFEASIBLE if infeasible else SolveStatus.UNKNOWN,
            solver=name,
            params=params,
            seed=seed,
            runtime_s=runtime,
            stopped_by="infeasible" if infeasible else "time_limit",
            log=log,
        )
    v1, v2 = evaluate(p, chosen)
    proved = solver_status == "optimal"  # the solver proved its own objective optimal
    b1 = v1 if proved else max(min(weighting.level1_bound(bound), weighting.total_priority), v1)
    both = proved and weighting.with_level2
    b2 = v2 if both else min(weighting.level2_bound(bound, v1), v2)
    return make_result(
        p,
        chosen,
        level1=Level(v1, b1, b1 == v1, Sense.MAX),
        level2=Level(v2, b2, both or (b1 == v1 and b2 == v2), Sense.MIN),
        status=SolveStatus.OPTIMAL if both else SolveStatus.FEASIBLE,
        solver=name,
        params=params,
        seed=seed,
        runtime_s=runtime,
        stopped_by="optimal" if proved else "time_limit",
        log=log,
    )


def _remaining(t0: float, time_limit_s: float) -> float:
    return max(time_limit_s - (time.perf_counter() - t0), 0.05)


# --------------------------------------------------------------------- HiGHS
def solve_highs_mip(
    problem: ProblemData,
    *,
    time_limit_s: float = 30.0,
    seed: int = 0,
    workers: int = 2,
    objective: str = "lex",
    isolate: bool | None = None,
) -> Result:
    """Solve with HiGHS MIP through ``highspy``.

    Parameters
    ----------
    problem
        The problem.
    time_limit_s
        Wall-clock limit for the whole call, model building included.
    seed
        HiGHS ``random_seed``.
    workers
        HiGHS ``threads``.
    objective
        ``lex`` or ``level1`` (:class:`Weighting`).
    isolate
        Solve in a fresh subprocess (see the module docstring). ``None`` (default)
        isolates unless :func:`mark_isolated` was called in this process.
    """
    if isolate is None:
        isolate = not _ISOLATED
    if isolate:
        return run_isolated(
            "highs-mip" if objective == "lex" else "highs-mip-l1",
            problem,
            time_limit_s=time_limit_s,
            seed=seed,
            workers=workers,
        )
    import highspy

    t0 = time.perf_counter()
    p = problem
    weighting = Weighting.of(p, objective)
    a, row_lo, row_hi = _rows(p)
    cost = -weighting.coefficients(p).astype(np.float64)  # HiGHS minimises
    col_lo = np.zeros(p.n_pairs)
    col_lo[p.pinned] = 1.0
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(max(workers, 1)))
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("mip_rel_gap", 0.0)
    status = h.passModel(
        int(p.n_pairs),
        int(a.shape[0]),
        int(a.nnz),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        cost,
        col_lo,
        np.ones(p.n_pairs),
        row_lo,
        row_hi,
        a.indptr.astype(np.int32),
        a.indices.astype(np.int32),
        a.data.astype(np.float64),
        np.ones(p.n_pairs, dtype=np.int32),
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model")
    trace: list[tuple[float, int, int | None]] = []

    def improving(event) -> None:  # type: ignore[no-untyped-def]
        l1, l2 = weighting.levels(-event.data_out.objective_function_value)
        trace.append((time.perf_counter() - t0, l1, l2))

    h.cbMipImprovingSolution.subscribe(improving)
    h.setOptionValue("time_limit", _remaining(t0, time_limit_s))
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    ms = highspy.HighsModelStatus
    has_solution = int(info.primal_solution_status) == 2
    if model_status == ms.kOptimal:
        st = "optimal"
    elif model_status == ms.kInfeasible:
        st = "infeasible"
    else:
        st = "feasible" if has_solution else "unknown"
    chosen = np.asarray(h.getSolution().col_value) > 0.5 if has_solution else None
    dual = float(info.mip_dual_bound)
    bound = -dual if math.isfinite(dual) and abs(dual) < 1e300 else math.inf
    params: dict[str, object] = {
        "threads": workers,
        "random_seed": seed,
        "time_limit_s": time_limit_s,
        "mip_rel_gap": 0.0,
        "model_status": h.modelStatusToString(model_status),
    }
    name = "highs-mip" if objective == "lex" else "highs-mip-l1"
    return _result(
        p,
        name,
        chosen,
        st,
        bound,
        weighting,
        params,
        seed,
        t0,
        trace,
        "callback" if trace else "none",
    )


# --------------------------------------------------------------------- CBC
_CBC_SOLUTION = re.compile(r"Integer solution of\s+(-?[0-9.eE+-]+)\s+found.*?\(([0-9.]+) seconds\)")
_CBC_BOUND = re.compile(r"^Lower bound:\s+(-?[0-9.eE+-]+)", re.MULTILINE)


def solve_cbc(
    problem: ProblemData,
    *,
    time_limit_s: float = 30.0,
    seed: int = 0,
    workers: int = 2,
    objective: str = "lex",
) -> Result:
    """Solve with CBC through PuLP (``PULP_CBC_CMD``).

    Parameters
    ----------
    problem
        The problem.
    time_limit_s
        Wall-clock limit for the whole call (CBC gets what is left after building).
    seed
        0 keeps CBC's default seed; ``N > 0`` sets ``randomCbcSeed N``.
    workers
        CBC ``threads``.
    objective
        ``lex`` or ``level1`` (:class:`Weighting`).

    Notes
    -----
    CBC runs as a subprocess (PuLP writes an MPS file). Its best bound and its
    improving solutions (with CBC's elapsed seconds) are read from its log.
    """
    import pulp

    t0 = time.perf_counter()
    p = problem
    weighting = Weighting.of(p, objective)
    a, row_lo, row_hi = _rows(p)
    coef = -weighting.coefficients(p)  # minimise
    prob = pulp.LpProblem("broker", pulp.LpMinimize)
    pinned = np.zeros(p.n_pairs, dtype=bool)
    pinned[p.pinned] = True
    # binary as integer in [0, 1] (PuLP resets the bounds of LpBinary, losing the pins)
    if hasattr(prob, "add_variable"):  # PuLP >= 3.3; the old constructor is deprecated
        x = [
            prob.add_variable(f"x{k}", int(pin), 1, pulp.LpInteger)
            for k, pin in enumerate(pinned.tolist())
        ]
    else:  # pragma: no cover - older PuLP
        x = [
            pulp.LpVariable(f"x{k}", int(pin), 1, pulp.LpInteger)
            for k, pin in enumerate(pinned.tolist())
        ]
    prob += pulp.LpAffineExpression(zip(x, coef.tolist(), strict=True))
    csr = a.tocsr()
    indptr, indices, data = csr.indptr, csr.indices.tolist(), csr.data.tolist()
    for r in range(csr.shape[0]):
        lo_k, hi_k = int(indptr[r]), int(indptr[r + 1])
        if lo_k == hi_k:
            continue
        expr = pulp.LpAffineExpression(
            [(x[c], v) for c, v in zip(indices[lo_k:hi_k], data[lo_k:hi_k], strict=True)]
        )
        if row_lo[r] == row_hi[r]:
            prob += pulp.LpConstraint(expr, pulp.LpConstraintEQ, f"r{r}", row_hi[r])
        else:
            prob += pulp.LpConstraint(expr, pulp.LpConstraintLE, f"r{r}", row_hi[r])
    with tempfile.TemporaryDirectory(prefix="broker-cbc-") as tmp:
        log_path = Path(tmp) / "cbc.log"
        options = [f"randomCbcSeed {seed}"] if seed > 0 else []
        with warnings.catch_warnings():  # PuLP 3.3 deprecates its bundled CBC for 4.0
            warnings.simplefilter("ignore", DeprecationWarning)
            cmd = pulp.PULP_CBC_CMD(
                msg=False,
                timeLimit=_remaining(t0, time_limit_s),
                threads=max(workers, 1),
                gapRel=0.0,
                logPath=str(log_path),
                options=options,
                keepFiles=False,
            )
        cmd.tmpDir = tmp
        started = time.perf_counter() - t0
        prob.solve(cmd)
        text = log_path.read_text(errors="replace") if log_path.is_file() else ""
    sol_status = int(prob.sol_status)
    if sol_status == pulp.LpSolutionOptimal:
        st = "optimal"
    elif sol_status == pulp.LpSolutionIntegerFeasible:
        st = "feasible"
    elif prob.status == pulp.LpStatusInfeasible:
        st = "infeasible"
    else:
        st = "unknown"
    chosen = None
    if st in ("optimal", "feasible"):
        chosen = np.array([(v.varValue or 0.0) > 0.5 for v in x], dtype=bool)
    trace: list[tuple[float, int, int | None]] = []
    for value, seconds in _CBC_SOLUTION.findall(text):
        l1, l2 = weighting.levels(-float(value))
        trace.append((started + float(seconds), l1, l2))
    bound = math.inf
    found = _CBC_BOUND.findall(text)
    if found:
        bound = -float(found[-1])
    params: dict[str, object] = {
        "threads": workers,
        "randomCbcSeed": seed if seed > 0 else "default",
        "time_limit_s": time_limit_s,
        "gapRel": 0.0,
        "cbc_status": pulp.LpStatus.get(prob.status, str(prob.status)),
    }
    name = "cbc" if objective == "lex" else "cbc-l1"
    return _result(
        p, name, chosen, st, bound, weighting, params, seed, t0, trace, "log" if trace else "none"
    )


# --------------------------------------------------------------------- CP-SAT
def solve_cpsat_plain(
    problem: ProblemData,
    *,
    time_limit_s: float = 30.0,
    seed: int = 0,
    workers: int = 2,
    objective: str = "lex",
) -> Result:
    """Solve a plain single-call CP-SAT model (see the module docstring).

    Parameters
    ----------
    problem
        The problem.
    time_limit_s
        Wall-clock limit for the whole call (``max_time_in_seconds`` gets the rest
        after building); not deterministic.
    seed
        ``random_seed``.
    workers
        ``num_workers``.
    objective
        ``lex`` or ``level1`` (:class:`Weighting`).
    """
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    p = problem
    weighting = Weighting.of(p, objective)
    model, x = build_cpsat(p)
    model.maximize(cp_model.LinearExpr.weighted_sum(x, weighting.coefficients(p).tolist()))

    trace: list[tuple[float, int, int | None]] = []

    class Recorder(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            l1, l2 = weighting.levels(self.objective_value)
            trace.append((time.perf_counter() - t0, l1, l2))

    from broker.solve import search

    solver = search.new_solver(
        num_workers=int(max(workers, 1)),
        random_seed=int(seed),
        max_time_in_seconds=_remaining(t0, time_limit_s),
    )
    code = solver.solve(model, Recorder())
    st = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
    }.get(code, "unknown")
    chosen = None
    if st in ("optimal", "feasible"):
        chosen = np.array(solver.boolean_values(x), dtype=bool) if x else np.zeros(0, bool)
    bound = float(solver.best_objective_bound) if st != "infeasible" else math.inf
    params: dict[str, object] = {
        "num_workers": workers,
        "random_seed": seed,
        "time_limit_s": time_limit_s,
    }
    name = "cpsat-plain" if objective == "lex" else "cpsat-plain-l1"
    return _result(
        p,
        name,
        chosen,
        st,
        bound,
        weighting,
        params,
        seed,
        t0,
        trace,
        "callback" if trace else "none",
    )


# --------------------------------------------------------------------- greedy
def solve_greedy(
    problem: ProblemData, *, time_limit_s: float = 30.0, seed: int = 0, workers: int = 2
) -> Result:
    """broker's greedy baseline; its one solution is its trace (source ``final``)."""
    from broker.solve.base import SolveOptions
    from broker.solve.greedy import GreedySolver

    r = GreedySolver().solve(
        problem, SolveOptions(time_limit_s=time_limit_s, seed=seed, workers=workers)
    )
    trace = ((r.runtime_s, r.level1.value, r.level2.value),) if r.status.has_solution else ()
    return dataclasses.replace(
        r, solver="greedy", params=dict(r.params) | {"trace": trace, "trace_source": "final"}
    )


PEERS: dict[str, Callable[..., Result]] = {
    "highs-mip": solve_highs_mip,
    "cbc": solve_cbc,
    "cpsat-plain": solve_cpsat_plain,
    "highs-mip-l1": partial(solve_highs_mip, objective="level1"),
    "cbc-l1": partial(solve_cbc, objective="level1"),
    "cpsat-plain-l1": partial(solve_cpsat_plain, objective="level1"),
    "greedy": solve_greedy,
}
"""Peer name -> function ``(problem, *, time_limit_s, seed, workers) -> Result``.

The ``-l1`` variants maximise level 1 alone (:class:`Weighting`); their level 2 is
whatever the solution happens to cost, and their status is at best ``feasible``.
"""


def run_solver(
    name: str, problem: ProblemData, *, time_limit_s: float = 30.0, seed: int = 0, workers: int = 2
) -> Result:
    """Run a peer (:data:`PEERS`) or a solver from broker's registry by name.

    Peers are looked up first, so that running ``highs-mip`` does not import the
    registry (and with it OR-Tools). Unknown names raise ``KeyError``.
    """
    seed = solver_seed(seed)  # any seed the CLI accepts, mapped into the solvers' range
    if name in PEERS:
        return PEERS[name](problem, time_limit_s=time_limit_s, seed=seed, workers=workers)
    from broker.solve import solve

    trace: list[tuple[float, int, int]] = []
    result = solve(
        problem,
        name,
        time_limit_s=time_limit_s,
        seed=seed,
        workers=workers,
        on_incumbent=lambda t, l1, l2: trace.append((t, l1, l2)),
    )
    if not trace:
        return result
    # broker's incumbents (SolveOptions.on_incumbent) as the trace the runner reads
    params = dict(result.params) | {"trace": tuple(trace), "trace_source": "callback"}
    return dataclasses.replace(result, params=params)


def time_to_final(result: Result, primary: str = "level1") -> float:
    """Seconds until the solver first held its final value of the primary level.

    Parameters
    ----------
    result
        A result whose ``params["trace"]`` holds ``(seconds, level1, level2)`` tuples.
    primary
        ``"level1"`` (maximised) or ``"level2"`` (minimised, for problems whose
        level 1 is constant such as the GAP).

    Returns
    -------
    float
        NaN when there is no trace or it never reaches the final value.
    """
    trace = cast(tuple[tuple[float, int, int | None], ...], result.params.get("trace", ()))
    v1, v2 = result.level1.value, result.level2.value
    for t, l1, l2 in trace:
        reached = l1 >= v1 if primary == "level1" else (l1 >= v1 and l2 is not None and l2 <= v2)
        if reached:
            return float(t)
    return math.nan


# --------------------------------------------------------------------- isolation
def run_isolated(
    name: str, problem: ProblemData, *, time_limit_s: float = 30.0, seed: int = 0, workers: int = 2
) -> Result:
    """Run solver ``name`` in a fresh Python process and return its result.

    Uses :func:`broker.bench.worker.call_worker`. Raises ``RuntimeError`` if the
    solver raises, the process crashes, or it overruns the time limit by more than a
    minute.
    """
    from broker.bench.worker import call_worker

    job = {
        "solver": name,
        "problem": problem,
        "time_limit_s": time_limit_s,
        "seed": seed,
        "workers": workers,
        "probe": False,
    }
    answer, failure = call_worker(job, timeout_s=2 * time_limit_s + 60)
    if answer is None:
        raise RuntimeError(f"{name}: {failure}")
    if answer["error"]:
        raise RuntimeError(f"{name} failed in its subprocess:\n{answer['error']}")
    r: Result = answer["result"]
    return dataclasses.replace(
        r, pairs=freeze(r.pairs), assignment=freeze(r.assignment), second=freeze(r.second)
    )


__all__ = [
    "PEERS",
    "Weighting",
    "mark_isolated",
    "run_isolated",
    "run_solver",
    "solve_cbc",
    "solve_cpsat_plain",
    "solve_greedy",
    "solve_highs_mip",
    "time_to_final",
]
