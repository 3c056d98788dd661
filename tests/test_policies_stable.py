"""Deferred acceptance with sizes: zero blocking pairs, checked against the `matching`
package (hospitals/residents) on unit-need instances and against brute force on tiny ones."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.policies.preferences import Preferences
from broker.policies.stable import _blocking, client_proposing, stabilise, supporter_proposing
from broker.problem import LEAD, ProblemData

matching_games = pytest.importorskip("matching.games")


@st.composite
def markets(draw: st.DrawFn, unit: bool, max_c: int = 6, max_s: int = 3):
    """A random market: acceptable pairs, strict preferences, loads and capacities."""
    n_c = draw(st.integers(1, max_c))
    n_s = draw(st.integers(1, max_s))
    pairs = [
        (i, j) for i in range(n_c) for j in range(n_s) if draw(st.integers(0, 3)) > 0
    ]  # about three in four pairs acceptable
    if not pairs:
        pairs = [(0, 0)]
    load_of = [100 if unit else draw(st.sampled_from([50, 100, 150])) for _ in range(n_c)]
    cap = [
        100 * draw(st.integers(1, 2)) if unit else draw(st.sampled_from([100, 150, 200, 250]))
        for _ in range(n_s)
    ]
    pc = np.array([i for i, _ in pairs])
    ps = np.array([j for _, j in pairs])
    p = ProblemData.create(
        client_ids=[f"C{i}" for i in range(n_c)],
        supporter_ids=[f"S{j}" for j in range(n_s)],
        priority=np.ones(n_c, np.int64),
        capacity=np.array(cap),
        pair_client=pc,
        pair_supporter=ps,
        pair_load=np.array([load_of[i] for i in pc]),
    )
    # strict preferences: a random permutation per client and per supporter
    c_rank = np.zeros(p.n_pairs, np.int64)
    s_rank = np.zeros(p.n_pairs, np.int64)
    for i in range(n_c):
        ks = np.flatnonzero(p.pair_client == i)
        c_rank[ks] = np.asarray(draw(st.permutations(list(range(1, len(ks) + 1)))), np.int64)
    for j in range(n_s):
        ks = np.flatnonzero(p.pair_supporter == j)
        s_rank[ks] = np.asarray(draw(st.permutations(list(range(1, len(ks) + 1)))), np.int64)
    return p, Preferences(c_rank, s_rank, "test")


def naive_blocking(p: ProblemData, prefs: Preferences, pairs: np.ndarray) -> int:
    """Blocking pairs by brute force, from the definition, with full feasibility checks."""
    chosen = set(int(k) for k in pairs)
    of = {int(p.pair_client[k]): int(k) for k in chosen}
    count = 0
    for k in range(p.n_pairs):
        i, j = int(p.pair_client[k]), int(p.pair_supporter[k])
        cur = of.get(i, -1)
        if cur >= 0 and prefs.client_rank[cur] <= prefs.client_rank[k]:
            continue
        base = chosen - {cur}
        worse = sorted(
            (
                h
                for h in base
                if p.pair_supporter[h] == j and prefs.supporter_rank[h] > prefs.supporter_rank[k]
            ),
            key=lambda h: -prefs.supporter_rank[h],
        )
        for n_drop in range(len(worse) + 1):
            trial = (base - set(worse[:n_drop])) | {k}
            if not p.violations(np.array(sorted(trial), np.int64)):
                count += 1
                break
    return count


def all_assignments(p: ProblemData):
    options = [[-1, *np.flatnonzero(p.pair_client == i).tolist()] for i in range(p.n_clients)]
    for combo in itertools.product(*options):
        ks = np.array(sorted(k for k in combo if k >= 0), np.int64)
        if not p.violations(ks):
            yield ks


def _client_view(p: ProblemData, prefs: Preferences, ks: np.ndarray) -> np.ndarray:
    """Rank each client gets (n_pairs + 1 when unmatched)."""
    out = np.full(p.n_clients, p.n_pairs + 1)
    out[p.pair_client[ks]] = prefs.client_rank[ks]
    return out


def _hr(p: ProblemData, prefs: Preferences, optimal: str) -> set[tuple[int, int]]:
    res = {
        f"C{i}": [
            f"S{p.pair_supporter[k]}"
            for k in sorted(np.flatnonzero(p.pair_client == i), key=lambda k: prefs.client_rank[k])
        ]
        for i in range(p.n_clients)
    }
    hos = {
        f"S{j}": [
            f"C{p.pair_client[k]}"
            for k in sorted(
                np.flatnonzero(p.pair_supporter == j), key=lambda k: prefs.supporter_rank[k]
            )
        ]
        for j in range(p.n_supporters)
    }
    res = {r: v for r, v in res.items() if v}
    hos = {h: v for h, v in hos.items() if v}
    caps = {f"S{j}": int(p.capacity[j] // 100) for j in range(p.n_supporters) if f"S{j}" in hos}
    game = matching_games.HospitalResident.create_from_dictionaries(res, hos, caps)
    solved = game.solve(optimal=optimal)
    assert game.check_stability()
    return {(int(r.name[1:]), int(h.name[1:])) for h, rs in solved.items() for r in rs}


def _as_set(p: ProblemData, ks: np.ndarray) -> set[tuple[int, int]]:
    return {(int(p.pair_client[k]), int(p.pair_supporter[k])) for k in ks}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets(unit=True, max_c=8, max_s=4))
def test_unit_needs_match_the_matching_package(market):
    p, prefs = market
    cp = client_proposing(p, prefs)
    sp = supporter_proposing(p, prefs)
    assert _as_set(p, cp) == _hr(p, prefs, "resident")
    assert _as_set(p, sp) == _hr(p, prefs, "hospital")
    for ks in (cp, sp):
        assert not p.violations(ks)
        assert _blocking(p, prefs, ks).count == 0
        assert stabilise(p, prefs, ks)[1] == 1  # nothing to repair


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets(unit=True, max_c=5, max_s=3))
def test_unit_needs_client_optimal_by_brute_force(market):
    p, prefs = market
    stable = [ks for ks in all_assignments(p) if naive_blocking(p, prefs, ks) == 0]
    assert stable  # Gale and Shapley: one always exists
    cp = client_proposing(p, prefs)
    sp = supporter_proposing(p, prefs)
    best = _client_view(p, prefs, cp)
    worst = _client_view(p, prefs, sp)
    for ks in stable:
        view = _client_view(p, prefs, ks)
        assert np.all(best <= view)  # client-optimal among stable matchings
        assert np.all(worst >= view)  # supporter-optimal is client-pessimal


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets(unit=False, max_c=5, max_s=3))
def test_sizes_blocking_pairs_agree_with_brute_force_and_none_remain(market):
    p, prefs = market
    for ks in (client_proposing(p, prefs), supporter_proposing(p, prefs)):
        assert not p.violations(ks)
        final, _ = stabilise(p, prefs, ks)
        assert not p.violations(final)
        assert _blocking(p, prefs, ks).count == naive_blocking(p, prefs, ks)
        assert _blocking(p, prefs, final).count == naive_blocking(p, prefs, final) == 0


def test_hand_checked_sizes_example():
    # S0 has 2 days; C0 (1.5 days) and C1 (1 day) both want S0; S0 prefers C1.
    # Client-proposing: both propose to S0, S0 keeps C1 (its favourite) and has 1 day
    # left, too little for C0, who goes to S1.
    p = ProblemData.create(
        client_ids=["C0", "C1"],
        supporter_ids=["S0", "S1"],
        priority=np.array([1, 1]),
        capacity=np.array([200, 200]),
        pair_client=np.array([0, 0, 1]),
        pair_supporter=np.array([0, 1, 0]),
        pair_load=np.array([150, 150, 100]),
    )
    prefs = Preferences(np.array([1, 2, 1]), np.array([2, 1, 1]), "hand")
    ks = client_proposing(p, prefs)
    assert _as_set(p, ks) == {(0, 1), (1, 0)}
    assert _blocking(p, prefs, ks).count == 0
    # C0 at S0 alone would be blocked by (C1, S0): S0 prefers C1 and drops C0 for it
    alone = np.array([p.pair_index(0, 0, LEAD)])
    assert _blocking(p, prefs, alone).count == 1
