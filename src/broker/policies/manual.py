"""Manual brokering: requests taken one at a time, each given a supporter with room.

These are how authorities broker by hand, and a lottery. Each takes clients in
an order and gives each, in turn, a candidate supporter that still has room in
every limit it uses (capacity in each of its terms, the funder's and the
programme's budgets, a team school's own budget); a team of two gets a lead and a
second that fit together, or neither (:func:`broker.solve.model.fill`). Pinned
pairs are placed first; required clients go first in every order.

``greedy_priority``
    Clients by priority (highest first), then file order; each gets the nearest
    supporter with room.
``first_come``
    Clients in arrival order (the order of ``clients.csv``); nearest with room.
``first_come_random``
    Clients in a random arrival order (seeded); nearest with room.
``lottery``
    Random serial dictatorship: clients in a random order (seeded), each takes
    its most preferred supporter with room (:mod:`broker.policies.preferences`).
    ``broker compare`` averages it over seeds.
"""

from __future__ import annotations

import numpy as np

from broker.policies.instance import PolicyInstance
from broker.policies.preferences import Preferences
from broker.policies.registry import PolicyOptions, heuristic_result, register_policy
from broker.solve import Result
from broker.solve.model import fill


def ordered_fill(
    instance: PolicyInstance, client_order: np.ndarray, pair_key: np.ndarray
) -> np.ndarray:
    """Pairs chosen taking clients in ``client_order``, each its pairs by ascending ``pair_key``.

    Required clients are moved to the front (keeping their relative order).
    """
    p = instance.problem
    client_order = np.asarray(client_order, np.int64)
    client_order = np.concatenate(
        [client_order[p.required[client_order]], client_order[~p.required[client_order]]]
    )
    pos = np.empty(p.n_clients, np.int64)
    pos[client_order] = np.arange(p.n_clients)
    order = np.lexsort((p.pair_supporter, pair_key, pos[p.pair_client]))
    return fill(p, order)


def random_order(n: int, seed: int) -> np.ndarray:
    """A random permutation of ``range(n)`` from ``seed`` (NumPy's PCG64)."""
    return np.random.default_rng(seed).permutation(n)


@register_policy(
    "greedy_priority",
    family="manual",
    summary="by priority, each client the nearest supporter with room",
)
def greedy_priority(instance: PolicyInstance, options: PolicyOptions) -> Result:
    p = instance.problem
    order = np.lexsort((np.arange(p.n_clients), -p.priority))
    ks = ordered_fill(instance, order, p.pair_distance_km)
    return heuristic_result(instance, ks, name="greedy_priority", options=options)


@register_policy(
    "first_come",
    family="manual",
    summary="in arrival (file) order, each client the nearest supporter with room",
)
def first_come(instance: PolicyInstance, options: PolicyOptions) -> Result:
    p = instance.problem
    ks = ordered_fill(instance, np.arange(p.n_clients), p.pair_distance_km)
    return heuristic_result(instance, ks, name="first_come", options=options)


@register_policy(
    "first_come_random",
    family="manual",
    seeded=True,
    summary="in a random arrival order, each client the nearest supporter with room",
)
def first_come_random(instance: PolicyInstance, options: PolicyOptions) -> Result:
    p = instance.problem
    ks = ordered_fill(instance, random_order(p.n_clients, options.seed), p.pair_distance_km)
    return heuristic_result(instance, ks, name="first_come_random", options=options)


@register_policy(
    "lottery",
    family="manual",
    seeded=True,
    summary="random serial dictatorship: random order, each its favourite supporter with room",
)
def lottery(instance: PolicyInstance, options: PolicyOptions) -> Result:
    p = instance.problem
    prefs = instance.preferences
    assert isinstance(prefs, Preferences)
    ks = ordered_fill(instance, random_order(p.n_clients, options.seed), prefs.client_rank)
    return heuristic_result(instance, ks, name="lottery", options=options)
