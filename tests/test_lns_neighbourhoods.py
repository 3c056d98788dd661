"""The LNS's neighbourhood by supporters (used in the required-client race)."""

from __future__ import annotations

import numpy as np

from broker.bench import gap
from broker.bench.gapgen import generate
from broker.solve import lns, solve
from broker.solve.deadline import Deadline
from broker.solve.lns import (
    SHRINK,
    SIZE_STEP,
    SUPPORTERS_MIN,
    AdaptiveSize,
    _supporters_clients,
    improve,
)
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
    for k in (1, 2, 3, 4, 5, 9):
        free = _supporters_clients(p, a, rng, k)
        sups = np.unique(p.pair_supporter[a[np.isin(p.pair_client[a], free)]])
        # at most k supporters (fewer only if one drawn has no client), never more
        assert 1 <= len(sups) <= min(k, p.n_supporters)
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
    """Five agents, 40 jobs: freeing a few agents' jobs at a time, the search
    reaches the optimum HiGHS proves (a bound no search can pass)."""
    p, start = _gap("C", 5, 40, 2)
    exact = solve(p, "highs", time_limit_s=30)
    assert exact.level2.optimal
    a, _ = improve(p, start, level=2, work_limit=5.0, time_limit_s=60, seed=0, by_supporters=True)
    assert int(p.pair_level2[a].sum()) == exact.level2.value


def test_the_size_grows_while_sub_solves_finish_and_shrinks_when_they_do_not():
    size = AdaptiveSize(20, start=3.0)
    for _ in range(4):
        size.update(True)
    assert size.size == 3.0 + 4 * SIZE_STEP
    size.update(False)
    assert size.size == 3.0 + (4 - SHRINK) * SIZE_STEP
    for _ in range(100):
        size.update(False)
    assert size.size == SUPPORTERS_MIN  # never below the floor
    for _ in range(1000):
        size.update(True)
    assert size.size == 20  # never above the number of supporters
    tiny = AdaptiveSize(1)  # one supporter: every draw is that one
    assert tiny.draw(np.random.default_rng(0)) == 1


def test_a_fractional_size_draws_its_neighbours_with_its_mean():
    size = AdaptiveSize(20, start=3.25)
    rng = np.random.default_rng(4)
    draws = np.array([size.draw(rng) for _ in range(4000)])
    assert set(draws.tolist()) == {3, 4}
    assert abs(draws.mean() - 3.25) < 0.03


def test_the_search_grows_its_neighbourhoods_where_sub_solves_are_easy():
    """Type C, ten agents, 60 jobs: sub-problems of a few agents are solved at once,
    so the size climbs from its start; with a work limit per sub-solve too small to
    finish any, it falls to the floor."""
    p, start = _gap("C", 10, 60, 4)
    _, easy = improve(
        p, start, level=2, work_limit=1.0, time_limit_s=60, seed=1, by_supporters=True
    )
    assert easy.supporters > lns.SUPPORTERS_START
    _, hard = improve(
        p,
        start,
        level=2,
        work_limit=0.5,
        time_limit_s=60,
        seed=1,
        by_supporters=True,
        sub_work=1e-6,
    )
    assert hard.iterations >= 4 and hard.supporters == SUPPORTERS_MIN
