"""The LP-rounding start for problems where every client is required (GAP-like)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings

from broker.bench import gap
from broker.bench.gapgen import generate
from broker.solve import solve
from broker.solve.deadline import Deadline
from broker.solve.lp import solve_lp
from broker.solve.model import is_complete, scaled
from broker.solve.rounding import lp_rounding
from test_knapsack import _problem, knapsack_cases


def _all_required(p):
    return p.replace(required=np.ones(p.n_clients, dtype=bool))


def _lp_x(p):
    lp = solve_lp(p, p.pair_level2.astype(float), maximize=False, time_limit_s=30)
    return lp


def test_an_integral_lp_is_taken_as_it_is():
    """Two agents, three jobs; each job is cheapest where there is room for it."""
    p = _problem([4, 4, 4], [8, 4], [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)], [1, 1, 1])
    cost = np.array([1, 9, 1, 9, 9, 1])  # jobs 0 and 1 at agent 0, job 2 at agent 1
    p = _all_required(p.replace(pair_level2=cost))
    lp = _lp_x(p)
    assert lp.optimal and lp.bound == 3
    out = lp_rounding(p, lp.x, Deadline.after(10))
    assert out is not None and p.violations(out) == []
    assert int(p.pair_level2[out].sum()) == 3


def test_unusable_values_give_no_start():
    p = _all_required(_problem([1], [1], [(0, 0)], [1]))
    assert lp_rounding(p, np.array([np.nan]), Deadline.after(1)) is None
    assert lp_rounding(p, np.zeros(3), Deadline.after(1)) is None


@settings(max_examples=120, deadline=None)
@given(knapsack_cases())
def test_a_start_is_complete_feasible_and_never_below_the_lp(case):
    p, values = case
    p = _all_required(p.replace(pair_level2=np.round(np.abs(values) * 10).astype(np.int64)))
    lp = _lp_x(p)
    assume(lp.optimal and lp.x is not None)
    out = lp_rounding(p, lp.x, Deadline.after(10))
    if out is None:
        return  # rounding and repair may fail; the other starts then stand
    assert is_complete(p, out) and p.violations(out) == []
    assert int(p.pair_level2[out].sum()) >= lp.bound - 1e-6
    again = lp_rounding(p, lp.x, Deadline.after(10))
    assert again is not None and np.array_equal(out, again)


def test_on_a_generated_type_e_problem_it_is_close_to_the_lp_bound():
    """E 20 x 400: the LP splits at most 20 jobs, so rounding costs little."""
    p = scaled(gap.to_problem(generate("E", 20, 400, 5)))
    lp = _lp_x(p)
    assert lp.optimal and lp.bound is not None
    out = lp_rounding(p, lp.x, Deadline.after(30))
    assert out is not None and p.violations(out) == [] and is_complete(p, out)
    value = int(p.pair_level2[out].sum())
    assert lp.bound <= value <= 1.02 * lp.bound


def test_the_race_starts_from_it():
    p = gap.to_problem(generate("D", 10, 500, 4))  # 5,000 pairs: the race
    r = solve(p, "cpsat", time_limit_s=4, seed=0)
    assert r.params["strategy"] == "required"
    assert any(m.startswith("LP rounding") for m in r.log)
    assert p.violations(r.pairs) == [] and r.level2.bound <= r.level2.value
