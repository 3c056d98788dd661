"""The LNS's neighbourhood by supporters (used in the required-client race)."""

from __future__ import annotations

import numpy as np

from broker.bench import gap
from broker.bench.gapgen import generate
from broker.solve import solve
from broker.solve.deadline import Deadline
from broker.solve.lns import SUPPORTERS_MAX, SUPPORTERS_MIN, _supporters_clients, improve
from broker.solve.model import is_complete, scaled
from broker.solve.regret import regret_start


def _gap(kind="D", agents=5, jobs=40, seed=2):
    p = scaled(gap.to_problem(generate(kind, agents, jobs, seed)))
    start = regret_start(p, Deadline.after(5))
    assert start is not None and is_complete(p, start)
    return p, start


def test_a_neighbourhood_is_every_client_of_the_supporters_drawn():
    p, a = _gap()
    rng = np.random.default_rng(3)
    for _ in range(20):
        free = _supporters_clients(p, a, rng)
        sups = np.unique(p.pair_supporter[a[np.isin(p.pair_client[a], free)]])
        assert SUPPORTERS_MIN <= len(sups) <= SUPPORTERS_MAX
        # nobody matched to those supporters is left out
        at = a[np.isin(p.pair_supporter[a], sups)]
        assert set(p.pair_client[at].tolist()) == set(free.tolist())


def test_the_search_by_supporters_is_feasible_never_worse_and_reproducible():
    p, start = _gap()
    before = int(p.pair_level2[start].sum())
    runs = [
        improve(p, start, level=2, work_limit=1.0, time_limit_s=60, seed=5, by_supporters=True)
        for _ in range(2)
    ]
    (a, stats), (b, _) = runs
    assert np.array_equal(a, b)
    assert stats.iterations > 0 and not stats.wall_clock
    assert p.violations(a) == [] and is_complete(p, a)
    assert int(p.pair_level2[a].sum()) <= before


def test_on_a_small_gap_it_reaches_the_proven_optimum():
    """Five agents, 40 jobs: freeing two to four agents' jobs at a time, the search
    reaches the optimum HiGHS proves (a bound no search can pass)."""
    p, start = _gap("C", 5, 40, 2)
    exact = solve(p, "highs", time_limit_s=30)
    assert exact.level2.optimal
    a, _ = improve(p, start, level=2, work_limit=5.0, time_limit_s=60, seed=0, by_supporters=True)
    assert int(p.pair_level2[a].sum()) == exact.level2.value
