r"""Upper bound on matched need from a maximum flow on the feasibility graph.

Network (capacities in integer centidays, so the bound is exact)::

    source --capacity[j]--> supporter j --need[i]--> client i --need[i]--> sink
                            (one arc per candidate pair (i, j))

Any assignment obeying the hard rules routes ``need[i]`` from its supporter to
every matched client without exceeding a capacity, so it is a feasible flow and

.. math::

    \sum_{i \text{ matched}} need_i \;\le\; F^* = \text{max-flow value}.

The relaxation drops the indivisibility of a client's need (a client may be
split over supporters or part-served), budgets, pins and the level-1
priorities, so no solver's matched need can exceed :math:`F^*`; a solution that
reaches it has matched as much need as the geography and capacities allow.

Two implementations are provided and cross-checked in the tests:
:func:`scipy.sparse.csgraph.maximum_flow` (Dinic, the default: milliseconds at
national size) and :func:`networkx.maximum_flow_value` (preflow-push).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_flow

from broker.problem import LEAD, SECOND, LimitKind, ProblemData
from broker.units import DAY_SCALE

METHODS = ("scipy", "networkx")


@dataclass(frozen=True, eq=False)
class FlowBound:
    """Result of :func:`coverage_bound`.

    Attributes
    ----------
    centidays
        Max-flow value :math:`F^*` in centidays (exact integer).
    client_flow
        Centidays reaching each client in one maximum flow (maximum flows are not
        unique; this is the one the algorithm found).
    method
        ``"scipy"`` or ``"networkx"``.
    runtime_s
        Seconds taken to build and solve the network.
    need_centidays, need_in_reach_centidays, supply_centidays
        Total need, need of clients with at least one candidate pair, and total
        supporter capacity.
    """

    centidays: int
    client_flow: np.ndarray
    method: str
    runtime_s: float
    need_centidays: int
    need_in_reach_centidays: int
    supply_centidays: int

    @property
    def days(self) -> float:
        """:math:`F^*` in days per week."""
        return self.centidays / DAY_SCALE


def client_need(problem: ProblemData) -> np.ndarray:
    """Need of every client in centidays, read from its pairs (0 for isolated clients).

    A team of two needs its lead's and its second's days together.
    """
    p = problem
    need = np.zeros(p.n_clients, dtype=np.int64)
    for role in (LEAD, SECOND):
        part = np.zeros(p.n_clients, dtype=np.int64)
        on = p.pair_role == role
        np.maximum.at(part, p.pair_client[on], p.pair_load[on])
        need += part
    return need


def supporter_supply(problem: ProblemData) -> np.ndarray:
    """Centidays each supporter can give in the flow relaxation.

    With one term, its capacity. With several, a client uses its need in each of
    its terms, so the need a supporter meets is at most the sum of its capacity
    over the terms, and at most its smallest term's capacity when every client
    covers every term; either keeps the flow an upper bound.
    """
    p = problem
    cap = p.limit_kind == LimitKind.CAPACITY
    owner = p.limit_owner[cap]
    total = np.zeros(p.n_supporters, dtype=np.int64)
    np.add.at(total, owner, p.limit_rhs[cap])
    if p.n_terms == 1:
        return total
    smallest = np.full(p.n_supporters, np.iinfo(np.int64).max)
    np.minimum.at(smallest, owner, p.limit_rhs[cap])
    # does every pair's client use every one of its supporter's capacity rows?
    rows_per_pair = np.diff(p.limit_ptr)
    caps_in_pair = np.zeros(p.n_pairs, dtype=np.int64)
    entry_pair = np.repeat(np.arange(p.n_pairs), rows_per_pair)
    np.add.at(caps_in_pair, entry_pair, (p.limit_kind[p.limit_row] == LimitKind.CAPACITY))
    full = np.ones(p.n_supporters, dtype=bool)
    np.logical_and.at(full, p.pair_supporter, caps_in_pair == p.n_terms)
    return np.where(full, smallest, total)


def _edges(p: ProblemData, clients: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Supporter -> client edges, one per (client, supporter), capacity the larger of the
    pair's roles' loads (one person fills at most one role)."""
    if clients is None:
        ks = np.arange(p.n_pairs)
    else:
        mask = np.zeros(p.n_clients, dtype=bool)
        mask[clients] = True
        ks = np.flatnonzero(mask[p.pair_client])
    key = p.pair_client[ks].astype(np.int64) * max(p.n_supporters, 1) + p.pair_supporter[ks]
    uniq, inverse = np.unique(key, return_inverse=True)
    load = np.zeros(len(uniq), dtype=np.int64)
    np.maximum.at(load, inverse, p.pair_load[ks])
    n_s = max(p.n_supporters, 1)
    return uniq // n_s, uniq % n_s, load


def coverage_bound(
    problem: ProblemData, method: str = "scipy", need_centidays: np.ndarray | None = None
) -> FlowBound:
    """Maximum flow from supporters' capacity to clients' need over candidate pairs.

    Parameters
    ----------
    problem
        The candidate problem.
    method
        ``"scipy"`` (Dinic on a CSR matrix, default) or ``"networkx"``
        (preflow-push on a DiGraph; slower, kept for cross-checking).
    need_centidays
        Need per client in centidays, for the totals only; by default read from
        the pairs (isolated clients then count 0 towards ``need_centidays``).

    Returns
    -------
    FlowBound
    """
    if method not in METHODS:
        raise ValueError(f"unknown max-flow method {method!r}; expected one of {METHODS}")
    t0 = time.perf_counter()
    need = client_need(problem)
    if method == "scipy":
        value, flow = _scipy_flow(problem, need)
    else:
        value, flow = _networkx_flow(problem, need)
    total_need = need if need_centidays is None else np.asarray(need_centidays, np.int64)
    in_reach = np.bincount(problem.pair_client, minlength=problem.n_clients) > 0
    return FlowBound(
        centidays=int(value),
        client_flow=flow,
        method=method,
        runtime_s=time.perf_counter() - t0,
        need_centidays=int(total_need.sum()),
        need_in_reach_centidays=int(total_need[in_reach].sum()),
        supply_centidays=int(supporter_supply(problem).sum()),
    )


def _scipy_flow(
    problem: ProblemData, need: np.ndarray, clients: np.ndarray | None = None
) -> tuple[int, np.ndarray]:
    """Max flow with SciPy; ``clients`` restricts the network to those clients' pairs."""
    p = problem
    n_s, n_c = p.n_supporters, p.n_clients
    ec, es, load = _edges(p, clients)
    flow = np.zeros(n_c, dtype=np.int64)
    if len(ec) == 0:
        return 0, flow
    supply = supporter_supply(p)
    if max(int(supply.sum()), int(need.sum())) >= np.iinfo(np.int32).max:
        raise OverflowError("capacities too large for SciPy's int32 max-flow")
    src, sink = 0, n_s + n_c + 1
    sup_node = 1 + np.arange(n_s)
    cli_node = 1 + n_s + np.arange(n_c)
    used_s = np.unique(es)
    used_c = np.unique(ec)
    rows = np.concatenate([np.full(len(used_s), src), sup_node[es], cli_node[used_c]])
    cols = np.concatenate([sup_node[used_s], cli_node[ec], np.full(len(used_c), sink)])
    caps = np.concatenate([supply[used_s], load, need[used_c]])
    n = n_s + n_c + 2
    graph = sp.csr_array((caps.astype(np.int32), (rows, cols)), shape=(n, n))
    graph.sum_duplicates()
    res = maximum_flow(graph, src, sink, method="dinic")
    into_sink = sp.csr_array(res.flow).tocsc()[:, [sink]].toarray().ravel()
    flow = into_sink[1 + n_s : 1 + n_s + n_c].astype(np.int64)
    return int(res.flow_value), flow


def _networkx_flow(problem: ProblemData, need: np.ndarray) -> tuple[int, np.ndarray]:
    import networkx as nx

    p = problem
    g = nx.DiGraph()
    supply = supporter_supply(p)
    g.add_edges_from(
        (("source", ("s", j), {"capacity": int(c)}) for j, c in enumerate(supply.tolist()))
    )
    ec, es, load = _edges(p)
    g.add_edges_from(
        (("s", j), ("c", i), {"capacity": int(c)})
        for i, j, c in zip(ec.tolist(), es.tolist(), load.tolist(), strict=True)
    )
    with_pairs = np.unique(p.pair_client)
    g.add_edges_from((("c", int(i)), "sink", {"capacity": int(need[i])}) for i in with_pairs)
    flow = np.zeros(p.n_clients, dtype=np.int64)
    if "sink" not in g:
        return 0, flow
    value, flow_dict = nx.maximum_flow(g, "source", "sink")
    for i in with_pairs:
        flow[i] = flow_dict[("c", int(i))]["sink"]
    return int(value), flow


def area_bounds(problem: ProblemData, area_of_client: np.ndarray, n_areas: int) -> np.ndarray:
    r"""Max-flow bound on matched need for each area's clients on their own.

    For area ``a`` the network keeps only the clients of ``a`` (and every
    supporter they may use, at full capacity), so :math:`F^*_a` bounds the need
    any solution can match in ``a``. The bounds do not add up to :math:`F^*`:
    areas competing for one supporter each get its whole capacity.

    Parameters
    ----------
    problem
        The candidate problem.
    area_of_client
        Area index ``0 .. n_areas-1`` of every client.
    n_areas
        Number of areas.

    Returns
    -------
    numpy.ndarray
        Centidays per area (int64).
    """
    need = client_need(problem)
    area = np.asarray(area_of_client, dtype=np.int64)
    out = np.zeros(n_areas, dtype=np.int64)
    has_pairs = np.bincount(problem.pair_client, minlength=problem.n_clients) > 0
    for a in np.unique(area[has_pairs]):
        clients = np.flatnonzero((area == a) & has_pairs)
        out[a] = _scipy_flow(problem, need, clients)[0]
    return out
