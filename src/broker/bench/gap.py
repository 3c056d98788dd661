"""OR-Library generalised assignment problems (GAP) on broker's model.

The problem (``benchmarks/instances/gap/README.md``)::

    optimise  sum_i sum_j c[i][j] x[i][j]          agents i = 1..m, jobs j = 1..n
    s.t.      sum_i x[i][j] = 1                    every job (exactly one agent)
              sum_j w[i][j] x[i][j] <= b[i]        every agent
              x[i][j] in {0, 1}

Mapping to :class:`~broker.problem.ProblemData` (:func:`to_problem`):

* clients are the jobs (``job1 .. jobn``), supporters the agents (``agent1 .. agentm``);
* every (job, agent) is a candidate pair, with ``pair_load = w[agent][job]`` and
  ``capacity = b``;
* every job is ``required`` (exactly one agent) with priority 1, so level 1 is the
  constant ``n`` in every feasible solution and level 2 carries the GAP objective;
* ``pair_level2 = c`` when minimising cost and ``-c`` when maximising profit
  (:class:`ProblemData` accepts negative level-2 coefficients; only loads and money
  must be >= 0), so the GAP objective is ``level2`` (min) or ``-level2`` (max), and
  so is its bound;
* ``pair_cost`` (money) is 0: the GAP has no budgets.

File format: whitespace-separated integers, line breaks meaningless. ``P``, then P
blocks of ``m n``, ``c`` (m rows of n), ``w`` (m rows of n), ``b`` (m).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from broker.bench import GAP_DIR
from broker.errors import InputError
from broker.limits import SAFE_ABS_SUM, SAFE_INT
from broker.problem import ProblemData

SENSES = ("min", "max")


@dataclass(frozen=True, eq=False)
class GapProblem:
    """One GAP problem read from an OR-Library file.

    Attributes
    ----------
    file
        File name (for example ``"gap1.txt"``), used to look up best-known values.
    index
        1-based position of the problem inside the file.
    cost
        ``c``, shape ``(m, n)``, agent-major: ``cost[i, j]`` is agent i on job j.
    weight
        ``w``, shape ``(m, n)``, resource used by agent i for job j.
    capacity
        ``b``, shape ``(m,)``.
    path
        Path the problem was read from (``best_known.csv`` is looked up next to it).
    """

    file: str
    index: int
    cost: np.ndarray
    weight: np.ndarray
    capacity: np.ndarray
    path: str = ""

    @property
    def m(self) -> int:
        """Number of agents."""
        return int(self.cost.shape[0])

    @property
    def n(self) -> int:
        """Number of jobs."""
        return int(self.cost.shape[1])

    @property
    def name(self) -> str:
        """``<file stem>-<index>``, for example ``gap1-1`` or ``gapa-6``."""
        return f"{Path(self.file).stem}-{self.index}"


class _Numbers:
    """Whitespace-separated integers with positions, for precise error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.file = str(path)
        self.text = text
        self.tokens = text.split()
        self.pos = 0

    def line_of(self, pos: int) -> int:
        """1-based line of the 0-based token ``pos``."""
        for i, match in enumerate(re.finditer(r"\S+", self.text)):
            if i == pos:
                return self.text.count("\n", 0, match.start()) + 1
        return self.text.count("\n") + 1

    def fail(self, message: str, pos: int | None = None, value: str | None = None) -> InputError:
        where = "" if pos is None else f"number {pos + 1} (line {self.line_of(pos)}): "
        return InputError.one(self.file, where + message, value=value)

    def take(
        self, count: int, what: Callable[[int], str], context: str, minimum: int | None = None
    ) -> np.ndarray:
        """The next ``count`` integers; ``what(k)`` names the k-th for messages."""
        left = len(self.tokens) - self.pos
        if count > left:
            raise self.fail(
                f"{context}: the file ends after {len(self.tokens)} numbers; "
                f"expected {count} for {what(0)} .. {what(count - 1)}, "
                f"found {left}"
            )
        chunk = self.tokens[self.pos : self.pos + count]
        try:
            ints = [int(t) for t in chunk]
        except ValueError:
            ints = []
            for k, token in enumerate(chunk):
                try:
                    ints.append(int(token))
                except ValueError:
                    raise self.fail(
                        f"{context}, {what(k)}: expected a whole number", self.pos + k, token
                    ) from None
        for k, v in enumerate(ints):
            if abs(v) > SAFE_INT:
                raise self.fail(
                    f"{context}, {what(k)}: too large; expected a whole number of at most "
                    f"2^53 = {SAFE_INT:,} in size, the most the solvers hold exactly",
                    self.pos + k,
                    chunk[k],
                )
        values = np.array(ints, dtype=np.int64)
        if minimum is not None and count and values.min() < minimum:
            k = int(np.flatnonzero(values < minimum)[0])
            raise self.fail(
                f"{context}, {what(k)}: expected a whole number >= {minimum}",
                self.pos + k,
                chunk[k],
            )
        self.pos += count
        return values


def _check_totals(nums: _Numbers, ctx: str, cost: np.ndarray, weight: np.ndarray) -> None:
    """Refuse a problem whose sums the solvers cannot hold exactly (each number is checked).

    The total cost of an assignment (the largest ``|c|`` of each job, summed) must be
    at most 2^53 and the sum of every ``|c|`` at most 2^62, and each agent's total
    weight at most 2^62 (CP-SAT's int64 rows).
    """
    reach = sum(int(v) for v in np.abs(cost).max(axis=0, initial=0))
    if reach > SAFE_INT:
        raise nums.fail(
            f"{ctx}: the costs c are too large together: an assignment's total can reach "
            f"{reach:,}, above 2^53 = {SAFE_INT:,}, the most the solvers hold exactly; "
            "expected smaller costs"
        )
    everything = sum(int(v) for v in np.abs(cost).ravel())  # Python ints: no wrap-around
    if everything > SAFE_ABS_SUM:
        raise nums.fail(
            f"{ctx}: the costs c add up to {everything:,}, above 2^62 = {SAFE_ABS_SUM:,}, "
            "the most the solvers hold in one objective; expected smaller costs"
        )
    for i, row in enumerate(weight):
        total = sum(int(v) for v in row)
        if total > SAFE_ABS_SUM:
            raise nums.fail(
                f"{ctx}: the weights w[{i + 1}][..] add up to {total:,}, above 2^62 = "
                f"{SAFE_ABS_SUM:,}, the most the solvers hold in one row; expected smaller "
                "weights"
            )


def read_gap_file(path: str | Path) -> list[GapProblem]:
    """Read every problem in an OR-Library GAP file.

    Parameters
    ----------
    path
        The file (for example ``benchmarks/instances/gap/gap1.txt``).

    Returns
    -------
    list of GapProblem
        In file order; ``problems[k - 1].index == k``.

    Raises
    ------
    InputError
        If the file is missing, not text, or malformed. The message names the file,
        the position of the offending number (1-based, with its line), the problem
        it belongs to, the value found and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError.one(str(path), "file not found; expected an OR-Library GAP file")
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError as exc:
        raise InputError.one(
            str(path),
            f"byte {exc.start + 1}: expected a text file of whitespace-separated integers",
        ) from None
    nums = _Numbers(path, text)
    if not nums.tokens:
        raise nums.fail("the file is empty; expected P, the number of problems")
    n_problems = int(nums.take(1, lambda _k: "P (the number of problems)", "header", minimum=1)[0])
    problems = []
    for index in range(1, n_problems + 1):
        ctx = f"problem {index} of {n_problems}"
        m, n = (
            int(v) for v in nums.take(2, lambda k: ("m (agents)", "n (jobs)")[k], ctx, minimum=1)
        )

        def cell(sym: str, n_: int = n) -> Callable[[int], str]:
            return lambda k: f"{sym}[{k // n_ + 1}][{k % n_ + 1}]"

        cost = nums.take(m * n, cell("c"), ctx).reshape(m, n)
        weight = nums.take(m * n, cell("w"), ctx, minimum=0).reshape(m, n)
        capacity = nums.take(m, lambda k: f"b[{k + 1}]", ctx, minimum=0)
        _check_totals(nums, ctx, cost, weight)
        problems.append(GapProblem(path.name, index, cost, weight, capacity, str(path)))
    if nums.pos < len(nums.tokens):
        extra = len(nums.tokens) - nums.pos
        raise nums.fail(
            f"{extra} number(s) after the last of the {n_problems} problems "
            "announced by P; expected the end of the file",
            nums.pos,
            nums.tokens[nums.pos],
        )
    return problems


def read_gap_problem(path: str | Path, index: int) -> GapProblem:
    """Problem ``index`` (1-based) of a GAP file; a bad index raises :class:`InputError`."""
    problems = read_gap_file(path)
    if not 1 <= index <= len(problems):
        raise InputError.one(
            "<arguments>",
            f"--index: expected 1 .. {len(problems)} for {Path(path).name}",
            value=index,
        )
    return problems[index - 1]


def _check_sense(sense: str) -> None:
    if sense not in SENSES:
        raise InputError.one("<arguments>", "sense: expected 'min' or 'max'", value=sense)


def to_problem(gp: GapProblem, sense: str = "min") -> ProblemData:
    """The GAP as a :class:`ProblemData` (see the module docstring for the mapping).

    Parameters
    ----------
    gp
        The GAP problem.
    sense
        ``"min"`` (total cost) or ``"max"`` (total profit).
    """
    _check_sense(sense)
    m, n = gp.m, gp.n
    job = np.repeat(np.arange(n, dtype=np.int64), m)  # client-major: already canonical
    agent = np.tile(np.arange(m, dtype=np.int64), n)
    c = gp.cost[agent, job]
    return ProblemData.create(
        client_ids=[f"job{j + 1}" for j in range(n)],
        supporter_ids=[f"agent{i + 1}" for i in range(m)],
        priority=np.ones(n, dtype=np.int64),
        capacity=gp.capacity,
        pair_client=job,
        pair_supporter=agent,
        pair_load=gp.weight[agent, job],
        pair_level2=c if sense == "min" else -c,
        required=np.ones(n, dtype=bool),
        name=f"{gp.name}-{sense}",
    )


def level2_to_objective(value: float, sense: str) -> float:
    """A level-2 value (or bound) of :func:`to_problem` in GAP terms (cost or profit)."""
    _check_sense(sense)
    return value if sense == "min" else -value


def objective(gp: GapProblem, assignment: np.ndarray) -> int:
    """Total cost (or profit) ``sum_j c[a[j]][j]`` of a complete assignment.

    Parameters
    ----------
    assignment
        0-based agent for each job, in job order.
    """
    a = np.asarray(assignment, dtype=np.int64)
    return int(gp.cost[a, np.arange(gp.n)].sum())


def violations(gp: GapProblem, assignment: np.ndarray) -> list[str]:
    """Every GAP rule the assignment breaks (empty when feasible).

    Checks that there is one agent per job, each in range, and that no agent's
    load exceeds its capacity; independent of :mod:`broker.problem`.
    """
    a = np.asarray(assignment)
    if a.shape != (gp.n,):
        return [f"expected one agent for each of {gp.n} jobs, got shape {a.shape}"]
    out = [
        f"job {j + 1}: agent index {int(a[j])} is not in 0 .. {gp.m - 1}"
        for j in np.flatnonzero((a < 0) | (a >= gp.m))
    ]
    if out:
        return out
    load = np.bincount(a, weights=gp.weight[a, np.arange(gp.n)], minlength=gp.m)
    out += [
        f"agent {i + 1}: load {int(load[i])} exceeds capacity {int(gp.capacity[i])}"
        for i in np.flatnonzero(load > gp.capacity)
    ]
    return out


@dataclass(frozen=True)
class BestKnown:
    """A best-known value from ``best_known.csv``."""

    instance: str
    value: int
    optimal: bool


def read_best_known(path: str | Path) -> dict[tuple[str, int, str], BestKnown]:
    """``best_known.csv`` as a mapping ``(file, index, sense) -> BestKnown``."""
    path = Path(path)
    out: dict[tuple[str, int, str], BestKnown] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row_no, row in enumerate(csv.DictReader(fh), start=2):
            try:
                key = (row["file"], int(row["index"]), row["sense"])
                out[key] = BestKnown(
                    row["instance"], int(row["best_known"]), row["optimal"].strip().lower() == "yes"
                )
            except (KeyError, ValueError, TypeError):
                raise InputError.one(
                    str(path),
                    "expected columns instance, sense, "
                    "best_known (a whole number), optimal, file, index",
                    row=row_no,
                ) from None
    return out


def best_known_for(gap_file: str | Path, index: int, sense: str) -> BestKnown | None:
    """Best-known value of a problem, or ``None`` when not listed.

    Looks in ``best_known.csv`` next to ``gap_file`` first, then in the repository's
    ``benchmarks/instances/gap/``; matches on file name, index and sense.
    """
    gap_file = Path(gap_file)
    for folder in (gap_file.parent, GAP_DIR):
        table = folder / "best_known.csv"
        if table.is_file():
            hit = read_best_known(table).get((gap_file.name, int(index), sense))
            if hit is not None:
                return hit
    return None


def gap_files(pattern: str = "gap*.txt", folder: Path | None = None) -> list[Path]:
    """GAP files in ``folder`` (default the repository copy), in natural order."""
    folder = GAP_DIR if folder is None else folder

    def key(p: Path) -> tuple[int, int, str]:
        digits = re.sub(r"\D", "", p.stem)
        return (0, int(digits), "") if digits else (1, 0, p.stem)

    return sorted(folder.glob(pattern), key=key)


def solve_gap(
    gp: GapProblem,
    sense: str = "min",
    solver: str = "cpsat",
    *,
    time_limit_s: float = 10.0,
    seed: int = 0,
    workers: int = 2,
) -> dict[str, object]:
    """Solve one GAP problem with a broker solver or a peer; the answer in GAP terms.

    Parameters
    ----------
    gp
        The problem.
    sense
        ``"min"`` or ``"max"``.
    solver
        A broker solver (``cpsat``, ``highs``, ``greedy``) or a peer
        (see :data:`broker.bench.peers.PEERS`).
    time_limit_s, seed, workers
        Passed to the solver.

    Returns
    -------
    dict
        ``instance``, ``file``, ``index``, ``sense``, ``agents``, ``jobs``, ``solver``,
        ``status``, ``objective`` (``None`` without a complete solution), ``bound``,
        ``seconds``, ``assignment`` (0-based agent per job, ``-1`` if unassigned),
        ``feasible``, ``best_known`` (``None`` if not listed), ``best_known_optimal``,
        ``gap_best_known`` and ``time_limit_s``, ``seed``, ``workers``.
    """
    import time

    from broker.bench.peers import run_solver

    problem = to_problem(gp, sense)
    t0 = time.perf_counter()
    result = run_solver(solver, problem, time_limit_s=time_limit_s, seed=seed, workers=workers)
    seconds = time.perf_counter() - t0
    assignment = np.asarray(result.assignment, dtype=np.int64)
    complete = bool(result.status.has_solution and np.all(assignment >= 0))
    broken = violations(gp, assignment) if complete else ["incomplete"]
    obj = objective(gp, assignment) if complete else None
    if obj is not None and obj != level2_to_objective(result.level2.value, sense):
        raise AssertionError(
            f"{gp.name}: level 2 {result.level2.value} does not match the GAP objective {obj}"
        )
    bound = level2_to_objective(result.level2.bound, sense) if result.status.has_solution else None
    best = best_known_for(gp.path or GAP_DIR / gp.file, gp.index, sense)
    gap_best = None
    if best is not None and obj is not None:
        diff = obj - best.value if sense == "min" else best.value - obj
        gap_best = diff / max(abs(best.value), 1)
    return {
        "instance": gp.name,
        "file": gp.file,
        "index": gp.index,
        "sense": sense,
        "agents": gp.m,
        "jobs": gp.n,
        "solver": solver,
        "status": result.status.value,
        "objective": obj,
        "bound": bound,
        "seconds": round(seconds, 4),
        "feasible": not broken,
        "best_known": None if best is None else best.value,
        "best_known_optimal": None if best is None else best.optimal,
        "gap_best_known": gap_best,
        "time_limit_s": time_limit_s,
        "seed": seed,
        "workers": workers,
        "assignment": assignment.tolist(),
    }
