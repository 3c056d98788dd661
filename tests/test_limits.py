"""Numeric limits: derived bounds, the solver guard, and scenarios at every maximum."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker import limits
from broker.candidates import build_candidates
from broker.errors import InputError
from broker.limits import SAFE_ABS_SUM, SAFE_INT, SolverRangeError, assert_solver_safe
from broker.pipeline import run_round
from broker.problem import LimitKind, ProblemData
from broker.scenario import Weights
from factories import client, scenario, supporter

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- derivation


def test_worst_cases_fit_the_solvers():
    w = limits.worst_cases()
    for key, value in w.items():
        bound = SAFE_ABS_SUM if key.endswith("_abs_sum") else SAFE_INT
        assert 0 < value <= bound, (key, value, bound)


def test_worst_cases_by_hand():
    w = limits.worst_cases()
    # 7 days = 700 centidays; x 520 weeks x 500,000 pence (£5,000)
    assert w["cost_coefficient"] == 700 * 520 * 500_000 == 182_000_000_000
    # £10^10 in units of £0.0001
    assert w["budget_coefficient"] == 10**14
    # 1000 x (1000 x 18,200 [£k] + 1000 x 1500 km + 1e5 x 10 cross-phase (mode penalty)
    #         + 1e5 other LA + 1e5 continuity + 1e4 x 62 expertise tags + 1e5 outside network)
    assert w["level2_coefficient"] == 1000 * (
        1000 * 18_200 + 1000 * 1500 + 100_000 * 10 + 100_000 + 100_000 + 10_000 * 62 + 100_000
    )
    # a team of two: two pairs per client
    assert w["level2_solution"] == 2 * 200_000 * w["level2_coefficient"] < 2**53
    # high need in hundredths: 1e6 x 100 x (1 + 100)
    assert w["level1_solution"] == 200_000 * 1_000_000 * 100 * 101 < 2**53


def test_bounds_are_documented_in_the_readme():
    """Each bound's maximum appears on its own row of the README's limits table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Limits and safety") :]
    section = section[: section.index("\n## ")]
    rows = {
        line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("|")
    }
    for bound in limits.BOUNDS:
        key = f"`{bound.key}`"
        row = next((line for name, line in rows.items() if key in name), None)
        assert row is not None, f"{bound.key} missing from README's limits table"
        high = f"{int(bound.maximum):,}" if bound.maximum < 1e9 else "10^10"
        assert re.search(rf"(at most|to) {re.escape(high)}(?!\d|,\d|\^)", row), (bound.key, row)


# --------------------------------------------------------------------------- Bound


@pytest.mark.parametrize(
    "bound,ok,bad",
    [
        (limits.CAPACITY_DAYS, [0.01, 7], [0, -1, 7.01, float("inf"), float("nan")]),
        (limits.PRIORITY, [1, 1_000_000], [0, 1_000_001, 1.5, 10**400]),
        (limits.WEEKS, [1, 520], [0, 521, 2.5]),
        (limits.BUDGET_GBP, [0, 1e10], [-0.01, 1e10 + 1, float("inf")]),
        (limits.WEIGHT_CROSS_PHASE, [0, 1e5], [-1, 1e5 + 1]),
        (limits.WEIGHT_EXPERTISE, [0, 1e4], [-1, 1e4 + 1]),
        (limits.HIGH_NEED_WEIGHT, [0, 100], [-1, 101, float("nan")]),
    ],
)
def test_bound_problem(bound, ok, bad):
    for x in ok:
        assert bound.problem(x) is None, x
    for x in bad:
        assert bound.problem(x) is not None, x


def test_bound_messages_name_the_range():
    assert limits.CAPACITY_DAYS.expected() == "greater than 0 and at most 7"
    assert limits.PRIORITY.expected() == "at least 1 and at most 1,000,000"
    assert "not a finite number" in limits.BUDGET_GBP.problem(float("inf"))
    assert limits.NEED_DAYS.implausible(5.5) is not None
    assert limits.NEED_DAYS.implausible(5) is None


# --------------------------------------------------------------------------- solver guard


def test_guard_accepts_the_largest_safe_values():
    assert_solver_safe(np.array([SAFE_INT, -SAFE_INT], dtype=np.int64), what="x")
    assert_solver_safe([1, 2, 3], what="x", rhs=SAFE_INT)


@pytest.mark.parametrize(
    "coefficients,kwargs,fragment",
    [
        (np.array([SAFE_INT + 1], dtype=np.int64), {}, "largest coefficient"),
        (np.array([-SAFE_INT - 1], dtype=np.int64), {}, "largest coefficient"),
        (np.array([2**62], dtype=np.uint64), {}, "largest"),
        ([10**20], {}, "largest"),
        (np.array([1.5]), {}, "not whole numbers"),
        (np.array([np.inf]), {}, "not finite"),
        (np.array(["a"]), {}, "expected integers"),
        (np.full(1025, SAFE_INT, dtype=np.int64), {}, "sum of coefficients"),
        ([1], {"rhs": SAFE_INT + 1}, "right-hand side"),
        ([1], {"rhs": float("inf")}, "right-hand side"),
    ],
)
def test_guard_refuses(coefficients, kwargs, fragment):
    with pytest.raises(SolverRangeError) as info:
        assert_solver_safe(coefficients, what="test row", **kwargs)
    assert "test row" in str(info.value) and fragment in str(info.value)


def test_guard_checks_each_row_on_its_own():
    c = np.full(1024, 2**52, dtype=np.int64)  # 1024 x 2^52 = 2^62 exactly: allowed
    assert_solver_safe(c, what="rows", rows=np.zeros(1024, dtype=np.int64))
    c2 = np.concatenate([c, [1]])
    with pytest.raises(SolverRangeError, match="of a row"):
        assert_solver_safe(c2, what="rows", rows=np.zeros(1025, dtype=np.int64))
    # the same coefficients split over two rows are fine
    assert_solver_safe(c2, what="rows", rows=np.r_[np.zeros(1024), [1]].astype(np.int64))


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 1, 0]], ids=["sorted", "unsorted"])
def test_guard_bounds_what_a_solution_can_reach(order):
    # two clients, each with a pair worth 2^52 + 1: a solution reaches 2^53 + 2
    c = np.array([2**52 + 1, 5, 2**52 + 1], dtype=np.int64)[order]
    clients = np.array([0, 0, 1])[order]
    with pytest.raises(SolverRangeError, match="a solution can reach"):
        assert_solver_safe(c, what="objective", per_client=clients)
    assert_solver_safe(c, what="objective", per_client=np.array([0, 0, 0]))


@given(st.lists(st.integers(-(2**53), 2**53), max_size=3000))
def test_exact_sum_matches_python(values):
    a = np.asarray(values, dtype=np.int64)
    assert limits._exact_abs_sum(a) == sum(abs(v) for v in values)


def _problem(**overrides):
    base = dict(
        client_ids=["C0", "C1"],
        supporter_ids=["S0"],
        priority=np.array([3, 2]),
        capacity=np.array([200]),
        pair_client=np.array([0, 1]),
        pair_supporter=np.array([0, 0]),
        pair_load=np.array([100, 100]),
        pair_cost=np.array([10, 10]),
        pair_level2=np.array([5, 5]),
        client_group=np.array([0, 0]),
        group_budget=np.array([15]),
        group_names=["855"],
    )
    base.update(overrides)
    return ProblemData.create(**base)


def test_problem_data_refuses_unsafe_arrays_naming_them():
    """ProblemData checks itself on construction (limits.assert_problem_safe)."""
    limits.assert_problem_safe(_problem())
    with pytest.raises(SolverRangeError, match="level-2 objective"):
        _problem(pair_level2=np.array([2**60, 1]))
    with pytest.raises(SolverRangeError, match="limit rows"):
        _problem(group_budget=np.array([2**60]))
    with pytest.raises(SolverRangeError, match="limit rows"):
        _problem(programme_budget=2**60)
    with pytest.raises(SolverRangeError, match="level-1"):
        _problem(priority=np.array([2**53 + 2, 1]))


# --------------------------------------------------------------------------- at the bounds


def _extreme():
    """One pair with every quantity at its maximum, and a second, cheap pair."""
    far = dict(x_km=-450, y_km=-300)  # easting 0, northing 0
    return scenario(
        [
            supporter("S_max", "secondary", capacity=7, rate=5000, la="856", **far),
            supporter("S_near", "primary", capacity=7, rate=0.01, x_km=250, y_km=1000),
        ],
        [
            client(
                "C_far",
                "primary",
                need=7,
                priority=1_000_000,
                x_km=250,
                y_km=1000,  # easting 700,000, northing 1,300,000: 1,476 km from S_max
                weeks=520,
                budget_gbp=1e10,
            ),
            client("C_near", "primary", need=7, priority=999_999, x_km=250, y_km=1000),
        ],
        authorities=[{"la_code": "855", "cross_la": "prefer_own", "budget_gbp": 1e10}],
        max_distance_km=1500,
        weeks=520,
        allow_cross_phase=True,
        programme_budget_gbp=1e10,
        weights=Weights(
            cost_per_1000_gbp=1000,
            distance_per_km=1000,
            cross_phase=1e5,
            other_la=1e5,
            continuity=1e5,
            expertise=1e4,
        ),
    )


def test_a_pair_at_every_maximum_stays_within_the_derived_worst_case():
    p = build_candidates(_extreme()).problem
    w = limits.worst_cases()
    k = p.pair_index(p.client_ids.index("C_far"), p.supporter_ids.index("S_max"))
    assert k >= 0
    assert p.pair_cost[k] == w["cost_coefficient"]  # exactly the worst case
    # the cost term alone is 1000 x 18,200 points; the pair stays within the bound
    assert 1000 * 1000 * 18_200 < p.pair_level2[k] <= w["level2_coefficient"]
    budgets = p.limit_rhs[p.limit_kind != LimitKind.CAPACITY]
    assert budgets.max() == budgets.min() == w["budget_coefficient"]
    limits.assert_problem_safe(p)


@pytest.mark.parametrize("solver", ["cpsat", "highs", "greedy"])
def test_scenario_at_every_maximum_solves_exactly(solver):
    # Both clients need all 7 days of a supporter; the optimum matches both
    # (1,000,000 + 999,999), C_far to S_max and C_near to S_near.
    rnd = run_round(_extreme(), solver=solver, time_limit_s=10)
    assert rnd.check.ok
    assert rnd.result.level1.value == 1_999_999
    if solver != "greedy":
        assert rnd.result.level1.optimal


@pytest.mark.parametrize("solver", ["cpsat", "highs"])
def test_largest_priorities_are_not_rounded_away(solver):
    # One 7-day supporter: two clients of 3.5 days and priority 1e6 beat one of
    # 7 days and priority 1e6 - 1 by 1,000,001; a relative tolerance would hide it.
    s = scenario(
        [supporter("S", capacity=7)],
        [
            client("A", need=3.5, priority=1_000_000),
            client("B", need=3.5, priority=1_000_000),
            client("C", need=7, priority=999_999),
        ],
    )
    rnd = run_round(s, solver=solver, time_limit_s=10)
    assert rnd.result.level1.value == 2_000_000 and rnd.result.level1.optimal


# --------------------------------------------------------------------------- validation


def _config_error(**config):
    with pytest.raises(InputError) as info:
        scenario([supporter("S")], [client("C")], **config)
    return str(info.value)


@pytest.mark.parametrize(
    "config,fragment",
    [
        ({"weeks": 521}, "round.weeks"),
        ({"max_distance_km": float("inf")}, "defaults.max_distance_km"),
        ({"programme_budget_gbp": float("inf")}, "budget.programme_gbp"),
        ({"programme_budget_gbp": 1e15}, "10,000,000,000"),
        ({"programme_budget_gbp": 10.001}, "decimal places"),
        ({"weights": Weights(cost_per_1000_gbp=1e9)}, "weights.cost_per_1000_gbp"),
        ({"weights": Weights(other_la=float("nan"))}, "weights.other_la"),
    ],
)
def test_from_frames_checks_the_config(config, fragment):
    assert fragment in _config_error(**config)


def test_too_many_clients_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(limits, "MAX_CLIENTS", 2)
    with pytest.raises(InputError) as info:
        scenario([supporter("S")], [client("A"), client("B"), client("C")])
    assert re.search(r"3 clients; .* at most 2", str(info.value))
