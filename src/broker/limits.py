"""Upper bounds on every number broker reads, derived from its integer units.

The solvers work on integers (:mod:`broker.units`): days in hundredths
(``DAY_SCALE = 100``), money in £0.0001 (``MONEY_SCALE = 10,000``) and level-2
points in thousandths (``OBJECTIVE_SCALE = 1,000``). HiGHS holds them in double
precision, so an integer is exact only up to 2^53; CP-SAT holds them in int64 and
rejects a model whose sums could overflow. Validation therefore bounds every
numeric column and setting, once, and the bounds below are chosen so that every
coefficient and every sum the solvers form stays inside both ranges for any
problem up to :data:`MAX_CLIENTS` clients, :data:`MAX_SUPPORTERS` supporters and
:data:`MAX_PAIRS` candidate pairs.

Bounds (real-world maxima, well above anything a programme uses):

=====================  ==============  =================================================
value                  bound           why
=====================  ==============  =================================================
capacity_days          > 0, <= 7       days in a week; 700 centidays
need_days              > 0, <= 7       days in a week; 700 centidays
day_rate_gbp           0 to 5,000      pounds per day; 500,000 pence
weeks, [round] weeks   1 to 520        ten years of 52 school weeks
priority               1 to 1,000,000  whole number
budget_gbp, programme  0 to 10^10      pounds; 10^14 units of £0.0001
max_distance_km        > 0, <= 1,500   longer than any straight line in Great Britain
cost_per_1000_gbp      0 to 1,000      level-2 points per £1,000
distance_per_km        0 to 1,000      level-2 points per km
cross_phase, other_la  0 to 1,000,000  level-2 points per pairing
=====================  ==============  =================================================

Derivation (the worst cases; :func:`worst_cases` computes them and the tests check
them against :data:`SAFE_INT` and :data:`SAFE_ABS_SUM`):

* one package costs at most need x weeks x rate = 700 centidays x 520 weeks x
  500,000 pence = 1.82e11 units of £0.0001 (£18.2 million);
* a budget is at most 10^14 units; pairs dearer than a budget are removed before
  solving, and a feasible solution spends at most the budget, so a budget row's
  activity stays below 10^14;
* a pair's level-2 value is at most 1,000 x (1,000 x 18,200 [£1,000s]
  + 1,000 x 1,500 km + 2 x 1,000,000) = 2.17e10 thousandths of a point;
* each client is matched at most once (in the LP relaxation too: its pairs sum to
  at most 1), so a level-1 or level-2 objective over any solution is at most
  200,000 clients x the largest coefficient: 2e11 for level 1, 4.34e15 for level 2,
  both below 2^53 = 9.007e15;
* the sum of all coefficients of one row or objective, which CP-SAT bounds when it
  checks a model for overflow, is at most 10^7 pairs x 1.82e11 = 1.82e18 for a
  budget row, below 2^62 = 4.61e18 (half of int64, leaving room for CP-SAT's own
  arithmetic).

:func:`assert_solver_safe` and :func:`assert_problem_safe` check the integer arrays
themselves before a solve, so that data that bypassed validation (built in code,
or a future unit change) fails loudly instead of overflowing.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from broker.units import DAY_SCALE, MONEY_SCALE, OBJECTIVE_SCALE, PENCE_PER_GBP

SAFE_INT = 2**53
"""Largest integer every solver holds exactly (a double's 53-bit significand)."""

SAFE_ABS_SUM = 2**62
"""Largest sum of absolute coefficients of one row or objective (half of int64)."""

MAX_CLIENTS = 200_000
"""Most clients in one scenario (England has about 1,340 schools needing support)."""

MAX_SUPPORTERS = 200_000
"""Most supporters in one scenario."""

MAX_PAIRS = 10_000_000
"""Most candidate pairs the bounds are derived for."""

PLAUSIBLE_DAYS = 5.0
"""Days a week above which a capacity or need is implausible (warned, not refused)."""


@dataclass(frozen=True)
class Bound:
    """The accepted range of one numeric column or setting.

    Attributes
    ----------
    key
        Column or setting name as users write it.
    minimum, maximum
        Accepted range; ``minimum`` is excluded when ``strict_minimum``.
    unit
        What the number counts, for messages.
    integer
        Whole numbers only.
    decimals
        Most decimal places accepted (``None``: any).
    plausible
        Values above this are accepted with a warning (``None``: no warning).
    plausible_note
        Said after the plausible maximum in that warning.
    thousands
        Whether a comma may be a thousands separator (``12,500``); days columns
        refuse commas, which there can only be decimal commas.
    """

    key: str
    minimum: float
    maximum: float
    unit: str
    strict_minimum: bool = False
    integer: bool = False
    decimals: int | None = None
    plausible: float | None = None
    plausible_note: str = ""
    thousands: bool = True

    def expected(self) -> str:
        """The range in words, e.g. ``'greater than 0 and at most 7'``."""
        low = f"greater than {_num(self.minimum)}" if self.strict_minimum else None
        if low is None:
            low = f"at least {_num(self.minimum)}" if self.minimum else "0 or more"
        return f"{low} and at most {_num(self.maximum)}"

    def problem(self, x: float) -> str | None:
        """Why ``x`` is out of range, or ``None`` when it is accepted."""
        try:
            finite = math.isfinite(x)
        except OverflowError:  # an integer too large for a float
            finite = True
        if not finite:
            return f"not a finite number; expected {self.unit}, {self.expected()}"
        if self.integer and x != int(x):
            return f"not a whole number; expected {self.unit}, {self.expected()}"
        below = x < self.minimum or (self.strict_minimum and x == self.minimum)
        if below or x > self.maximum:
            return f"out of range; expected {self.unit}, {self.expected()}"
        return None

    def implausible(self, x: float) -> str | None:
        """A warning when an accepted ``x`` is above :attr:`plausible`, else ``None``."""
        if self.plausible is None or not x > self.plausible:
            return None
        return (
            f"more than {_num(self.plausible)} {self.unit}{self.plausible_note}; "
            "accepted, but check the value"
        )


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,}"


def _days(key: str) -> Bound:
    """Days a week: more than 0, at most 7 (the days of a week), hundredths, a warning above 5."""
    return Bound(
        key,
        0,
        7,
        "days per week",
        strict_minimum=True,
        decimals=2,
        plausible=PLAUSIBLE_DAYS,
        plausible_note=" (a school week)",
        thousands=False,
    )


CAPACITY_DAYS = _days("capacity_days")
NEED_DAYS = _days("need_days")
DAY_RATE_GBP = Bound("day_rate_gbp", 0, 5_000, "pounds per day in whole pence", decimals=2)
WEEKS = Bound("weeks", 1, 520, "whole school weeks", integer=True)
PRIORITY = Bound(
    "priority", 1, 1_000_000, "a positive whole number (higher is more urgent)", integer=True
)
BUDGET_GBP = Bound("budget_gbp", 0, 1e10, "pounds in whole pence", decimals=2)
PROGRAMME_GBP = Bound("programme_gbp", 0, 1e10, "pounds in whole pence", decimals=2)
MAX_DISTANCE_KM = Bound("max_distance_km", 0, 1_500, "kilometres", strict_minimum=True)
WEIGHT_COST = Bound("cost_per_1000_gbp", 0, 1_000, "points per £1,000")
WEIGHT_DISTANCE = Bound("distance_per_km", 0, 1_000, "points per km")
WEIGHT_CROSS_PHASE = Bound("cross_phase", 0, 100_000, "points per pairing")
WEIGHT_OTHER_LA = Bound("other_la", 0, 100_000, "points per pairing")
WEIGHT_CONTINUITY = Bound("continuity", 0, 100_000, "points per pairing")
WEIGHT_EXPERTISE = Bound("expertise", 0, 10_000, "points per matched tag")
WEIGHT_OUTSIDE_NETWORK = Bound("outside_network", 0, 100_000, "points per pairing")
HIGH_NEED_WEIGHT = Bound("high_need_weight", 0, 100, "a weight (1 + weight for high need)")
MAX_MODE_PENALTY = 10.0
"""Largest cross-phase penalty multiplier a mode may have (``models/modes.toml``)."""
MAX_TAGS = 62
"""Most expertise tags (bit masks of 62 bits)."""

BOUNDS: tuple[Bound, ...] = (
    CAPACITY_DAYS,
    NEED_DAYS,
    DAY_RATE_GBP,
    WEEKS,
    PRIORITY,
    BUDGET_GBP,
    PROGRAMME_GBP,
    MAX_DISTANCE_KM,
    WEIGHT_COST,
    WEIGHT_DISTANCE,
    WEIGHT_CROSS_PHASE,
    WEIGHT_OTHER_LA,
    WEIGHT_CONTINUITY,
    WEIGHT_EXPERTISE,
    WEIGHT_OUTSIDE_NETWORK,
    HIGH_NEED_WEIGHT,
)
"""Every bound, in the order the README's table lists them."""

WEIGHTS: dict[str, Bound] = {
    b.key: b
    for b in (
        WEIGHT_COST,
        WEIGHT_DISTANCE,
        WEIGHT_CROSS_PHASE,
        WEIGHT_OTHER_LA,
        WEIGHT_CONTINUITY,
        WEIGHT_EXPERTISE,
        WEIGHT_OUTSIDE_NETWORK,
    )
}
"""Bounds of the ``[weights]`` keys of ``scenario.toml``."""


def worst_cases() -> dict[str, int]:
    """The largest coefficient, solution sum and absolute sum the bounds allow.

    Keys ending ``_coefficient`` are single integers the solvers receive, keys
    ending ``_solution`` are sums over a solution (at most one pair per client) and
    keys ending ``_abs_sum`` are sums of the absolute coefficients of a whole row
    or objective (over :data:`MAX_PAIRS` pairs).
    """
    need = round(NEED_DAYS.maximum * DAY_SCALE)
    pence = round(DAY_RATE_GBP.maximum * PENCE_PER_GBP)
    cost = need * int(WEEKS.maximum) * pence
    budget = round(max(BUDGET_GBP.maximum, PROGRAMME_GBP.maximum) * MONEY_SCALE)
    # level-2 points of a pair, as broker.candidates forms them, scaled to integers
    # (a bound on the magnitude: rewards enter with a minus sign)
    points = (
        WEIGHT_COST.maximum * cost / (1000 * MONEY_SCALE)
        + WEIGHT_DISTANCE.maximum * MAX_DISTANCE_KM.maximum
        + WEIGHT_CROSS_PHASE.maximum * MAX_MODE_PENALTY
        + WEIGHT_OTHER_LA.maximum
        + WEIGHT_CONTINUITY.maximum
        + WEIGHT_EXPERTISE.maximum * MAX_TAGS
        + WEIGHT_OUTSIDE_NETWORK.maximum
    )
    level2 = math.ceil(points * OBJECTIVE_SCALE)
    # level 1 in hundredths of a point when high need is weighted (broker.candidates)
    priority = int(PRIORITY.maximum) * 100 * (1 + int(HIGH_NEED_WEIGHT.maximum))
    capacity = round(CAPACITY_DAYS.maximum * DAY_SCALE)
    return {
        "load_coefficient": need,
        "capacity_coefficient": capacity,
        "cost_coefficient": cost,
        "budget_coefficient": budget,
        "priority_coefficient": priority,
        "level2_coefficient": level2,
        "level1_solution": MAX_CLIENTS * priority,
        # a client has at most two pairs in a solution (a team of two)
        "level2_solution": 2 * MAX_CLIENTS * level2,
        "budget_row_solution": budget,
        "load_abs_sum": MAX_PAIRS * need,
        "cost_abs_sum": MAX_PAIRS * min(cost, budget),
        "priority_abs_sum": MAX_PAIRS * priority,
        "level2_abs_sum": MAX_PAIRS * level2,
    }


# --------------------------------------------------------------------------- seeds

SOLVER_SEED_RANGE = 2**30
"""Seeds the solvers receive lie in ``[0, SOLVER_SEED_RANGE)``.

OR-Tools and HiGHS take 32-bit seeds, and broker's solvers derive further seeds
by adding small offsets (``seed + 1``, ``seed + 7``), so the range leaves room
below 2^31 - 1.
"""


def solver_seed(seed: int) -> int:
    """The seed the solvers use for ``seed`` (any integer 0 or more).

    Seeds below :data:`SOLVER_SEED_RANGE` are used as they are; a larger seed is
    hashed (SHA-256 of its decimal digits) into that range, so it is still
    deterministic and distinct seeds rarely coincide. ``summary.json`` records
    both.
    """
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    if seed < SOLVER_SEED_RANGE:
        return int(seed)
    digest = hashlib.sha256(str(int(seed)).encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") % SOLVER_SEED_RANGE


# --------------------------------------------------------------------------- solver guard


class SolverRangeError(ValueError):
    """Integer data outside the range the solvers hold exactly.

    Validated scenarios never raise it (their bounds are derived so that they
    cannot); it stops data built in code, or a future change of units, from
    reaching a solver that would overflow or round silently.
    """


def _exact_abs_sum(values: np.ndarray) -> int:
    """Exact sum of ``|values|`` for integers each at most :data:`SAFE_INT`.

    Sums blocks of 512 in int64 (each block at most 2^62) and the block sums as
    Python integers, so nothing can wrap around.
    """
    a = np.abs(values.astype(np.int64, copy=False))
    pad = (-len(a)) % 512
    if pad:
        a = np.concatenate([a, np.zeros(pad, dtype=np.int64)])
    return sum(int(s) for s in a.reshape(-1, 512).sum(axis=1))


def _as_integers(values: Any, what: str) -> np.ndarray:
    """``values`` as a flat int64 array, or :class:`SolverRangeError` if they are not integers
    that fit (floats must be finite and whole; Python integers of any size are compared
    exactly)."""
    a = np.asarray(values).reshape(-1)
    if a.dtype == object:
        try:
            ints = [int(v) for v in a]
        except (TypeError, ValueError, OverflowError):
            raise SolverRangeError(f"{what}: expected integers") from None
        if any(not isinstance(v, (int, np.integer)) and v != int(v) for v in a):
            raise SolverRangeError(f"{what}: not whole numbers; the solvers need integers")
        big = [v for v in ints if abs(v) > SAFE_INT]
        if big:
            raise SolverRangeError(_too_big(what, max(abs(v) for v in big), SAFE_INT, "largest"))
        return np.asarray(ints, dtype=np.int64)
    if a.dtype == bool:
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise SolverRangeError(f"{what}: not finite; the solvers need integers")
        if np.any(np.abs(a) > SAFE_INT):
            raise SolverRangeError(_too_big(what, float(np.abs(a).max()), SAFE_INT, "largest"))
        if np.any(a != np.rint(a)):
            raise SolverRangeError(f"{what}: not whole numbers; the solvers need integers")
        return a.astype(np.int64)
    if a.dtype.kind == "u":
        if len(a) and int(a.max()) > SAFE_INT:
            raise SolverRangeError(_too_big(what, int(a.max()), SAFE_INT, "largest"))
        return a.astype(np.int64)
    if a.dtype.kind != "i":
        raise SolverRangeError(f"{what}: expected integers, got {a.dtype}")
    return a.astype(np.int64, copy=False)


def _too_big(what: str, value: float, bound: int, kind: str) -> str:
    name = "2^53" if bound == SAFE_INT else "2^62"
    return (
        f"{what}: the {kind} is {value:,.0f}, above {name} = {bound:,}, the most the solvers "
        "hold exactly (HiGHS works in doubles, CP-SAT in int64); values within the "
        "documented limits (broker.limits) never get here"
    )


def assert_solver_safe(
    coefficients: Any,
    *,
    what: str,
    rhs: int | float | np.ndarray | None = None,
    rows: np.ndarray | None = None,
    per_client: np.ndarray | None = None,
) -> None:
    """Raise :class:`SolverRangeError` unless integer data is safe for the solvers.

    Checks, for the coefficients of one linear row or objective (or of several
    rows at once with ``rows``):

    * every coefficient and every right-hand side is an integer of magnitude at
      most :data:`SAFE_INT` (exact as a double, for HiGHS);
    * the sum of absolute coefficients of each row is at most
      :data:`SAFE_ABS_SUM` (CP-SAT's overflow check, with headroom);
    * with ``per_client`` (the client of each coefficient, for an objective over
      pairs): the largest value any solution can reach, one pair per client at
      most, is at most :data:`SAFE_INT`.

    Parameters
    ----------
    coefficients
        Integer coefficients (any shape; flattened).
    what
        Name used in the message, e.g. ``"level-2 objective"``.
    rhs
        Right-hand side(s), if any.
    rows
        Row index of each coefficient: each row's absolute sum is checked on its own.
    per_client
        Client index of each coefficient (see above).
    """
    c = _as_integers(coefficients, what)
    _check_magnitude(c, what, "largest coefficient")
    if len(c):
        if rows is None:
            _check_abs_sums(c, np.zeros(len(c), dtype=np.int64), what, "sum of coefficients")
        else:
            r = np.asarray(rows, dtype=np.int64).reshape(-1)
            if r.shape != c.shape:
                raise ValueError("rows must give one row index per coefficient")
            _check_abs_sums(c, r, what, "sum of coefficients of a row")
    if per_client is not None and len(c):
        pc = np.asarray(per_client, dtype=np.int64).reshape(-1)
        if pc.shape != c.shape:
            raise ValueError("per_client must give one client index per coefficient")
        if np.all(pc[1:] >= pc[:-1]):  # pairs sorted by client, as ProblemData keeps them
            starts = np.flatnonzero(np.r_[True, pc[1:] != pc[:-1]])
            best = np.maximum.reduceat(np.abs(c), starts)
        else:
            best = np.zeros(int(pc.max()) + 1, dtype=np.int64)
            np.maximum.at(best, pc, np.abs(c))
        reach = _exact_abs_sum(best)
        if reach > SAFE_INT:
            raise SolverRangeError(
                _too_big(what, reach, SAFE_INT, "largest value a solution can reach")
            )
    if rhs is not None:
        r_ = _as_integers(np.atleast_1d(np.asarray(rhs)), f"{what} (right-hand side)")
        _check_magnitude(r_, f"{what} (right-hand side)", "largest")


def _check_magnitude(a: np.ndarray, what: str, kind: str) -> None:
    """Every entry of the integer array ``a`` within +-SAFE_INT (exact comparison)."""
    bad = (a > SAFE_INT) | (a < -SAFE_INT)
    if bad.any():
        worst = max(abs(int(v)) for v in a[bad])
        raise SolverRangeError(_too_big(what, worst, SAFE_INT, kind))


def _check_abs_sums(c: np.ndarray, rows: np.ndarray, what: str, kind: str) -> None:
    """Each row's sum of ``|c|`` at most SAFE_ABS_SUM (``c`` already within SAFE_INT).

    Rows are summed in floating point first (relative error far below 1e-6); only
    rows within 1e-6 of the bound are summed again exactly.
    """
    r = rows - rows.min()
    sums = np.bincount(r, weights=np.abs(c).astype(float))
    for row in np.flatnonzero(sums > SAFE_ABS_SUM * (1 - 1e-6)):
        exact = _exact_abs_sum(c[r == row])
        if exact > SAFE_ABS_SUM:
            raise SolverRangeError(_too_big(what, exact, SAFE_ABS_SUM, kind))


def assert_problem_safe(problem: Any) -> None:
    """Check every integer array of a :class:`broker.problem.ProblemData`.

    Level 1 (priorities of lead pairs), every limit row (capacity loads, budget
    costs, with their right-hand sides), and level 2, as the solvers form them
    (see :func:`assert_solver_safe`); a client's lead and second pair count
    separately towards what a solution can reach. Raises :class:`SolverRangeError`
    naming the first array out of range.
    """
    p = problem
    pc = np.asarray(p.pair_client, dtype=np.int64)
    slot = pc * 2 + np.asarray(p.pair_role, dtype=np.int64)
    assert_solver_safe(p.pair_priority, what="level-1 objective (priorities)", per_client=slot)
    assert_solver_safe(
        p.limit_amount,
        what="limit rows (loads and costs)",
        rhs=p.limit_rhs,
        rows=np.asarray(p.limit_row, dtype=np.int64),
    )
    assert_solver_safe(p.pair_level2, what="level-2 objective", per_client=slot)
