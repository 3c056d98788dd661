"""Graphs of a scenario and a round, as networkx objects.

* :func:`feasibility_graph`: clients and supporters as nodes, an edge for every
  candidate pair that the hard rules allow (exactly the pairs of
  :func:`broker.candidates.build_candidates`);
* :func:`la_graph`: neighbouring local authorities, as the ``neighbours`` rule
  sees them;
* :func:`flow_graph` / :func:`flow_table`: deployments of a solved round between
  authorities, supporter LA -> client LA.

Node keys of the feasibility graph are tuples ``("client", client_id)`` and
``("supporter", supporter_id)``, so a client and a supporter with the same id
never collide.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from broker.candidates import Candidates
from broker.problem import FLAG_CROSS_PHASE, FLAG_OTHER_LA, ROLE_NAMES, SECOND, ProblemData
from broker.scenario.model import Scenario
from broker.spread.geography import la_names, la_regions
from broker.units import DAY_SCALE, MONEY_SCALE

CLIENT = "client"
SUPPORTER = "supporter"

FLOW_COLUMNS = [
    "from_la",
    "from_la_name",
    "from_region",
    "to_la",
    "to_la_name",
    "to_region",
    "deployments",
    "days",
    "cost_gbp",
    "priority",
    "cross_la",
    "adjacent",
]


def feasibility_graph(scenario: Scenario, candidates: Candidates) -> nx.Graph:
    """Bipartite graph of the pairs the hard rules allow.

    Parameters
    ----------
    scenario
        The scenario.
    candidates
        Its candidate pairs (:func:`broker.candidates.build_candidates`).

    Returns
    -------
    networkx.Graph
        Client nodes ``("client", client_id)`` with ``bipartite=0``, ``index``,
        ``la_code``, ``need_days``, ``priority``; supporter nodes
        ``("supporter", supporter_id)`` with ``bipartite=1``, ``index``, ``la_code``,
        ``capacity_days``, ``kind``. One edge per (client, supporter) that the
        rules allow, with ``pair`` (its candidate pair index, the lead pair when
        the supporter may fill either role of a team; the second pair is then
        ``second_pair``), ``role``, ``distance_km``, ``cost_gbp`` (the package
        cost), ``days`` (the need of that role), ``cross_phase`` and ``other_la``
        (penalised pairings). Every node is present, including isolated clients and
        unused supporters.
    """
    p = candidates.problem
    cli, sup = scenario.clients, scenario.supporters
    g = nx.Graph(name=p.name)
    g.add_nodes_from(
        (
            (CLIENT, cid),
            {"bipartite": 0, "index": i, "la_code": la, "need_days": float(n), "priority": int(pr)},
        )
        for i, (cid, la, n, pr) in enumerate(
            zip(p.client_ids, cli["la_code"], cli["need_days"], p.priority, strict=True)
        )
    )
    g.add_nodes_from(
        (
            (SUPPORTER, sid),
            {"bipartite": 1, "index": j, "la_code": la, "capacity_days": float(c), "kind": kind},
        )
        for j, (sid, la, c, kind) in enumerate(
            zip(p.supporter_ids, sup["la_code"], sup["capacity_days"], sup["kind"], strict=True)
        )
    )
    cids = np.asarray(p.client_ids, dtype=object)[p.pair_client]
    sids = np.asarray(p.supporter_ids, dtype=object)[p.pair_supporter]
    dist = p.pair_distance_km.tolist()
    cost = (p.pair_cost / MONEY_SCALE).tolist()
    days = (p.pair_load / DAY_SCALE).tolist()
    cross = ((p.pair_flags & FLAG_CROSS_PHASE) != 0).tolist()
    other = ((p.pair_flags & FLAG_OTHER_LA) != 0).tolist()
    roles = p.pair_role.tolist()
    for k, (c, s, d, m, dy, x, o) in enumerate(
        zip(cids, sids, dist, cost, days, cross, other, strict=True)
    ):
        u, v = (CLIENT, c), (SUPPORTER, s)
        if roles[k] == SECOND and g.has_edge(u, v):
            g.edges[u, v]["second_pair"] = k  # the same person as the team's second
            continue
        g.add_edge(
            u,
            v,
            pair=k,
            role=ROLE_NAMES[roles[k]],
            distance_km=d,
            cost_gbp=m,
            days=dy,
            cross_phase=x,
            other_la=o,
        )
    return g


def la_graph(scenario: Scenario | None = None) -> nx.Graph:
    """Neighbouring local authorities, as the ``neighbours`` rule sees them.

    The bundled ONS-boundary graph (:func:`broker.data.la_adjacency_graph`: 153
    upper-tier LAs, node attributes ``la_name``, ``region``...). When the
    scenario's ``authorities.csv`` lists neighbours, those replace the bundled
    edges, exactly as the candidate rules do; LAs of the scenario missing from
    the bundled data are added as nodes.

    Parameters
    ----------
    scenario
        Optional scenario whose adjacency rule to follow.

    Returns
    -------
    networkx.Graph
        Nodes are DfE LA codes; the graph attribute ``source`` is ``"ons_boundaries"``
        or ``"authorities.csv"``.
    """
    from broker.data import la_adjacency_graph

    g = la_adjacency_graph()
    g.graph["source"] = "ons_boundaries"
    if scenario is None:
        return g
    a = scenario.authorities
    given = sorted(
        {
            tuple(sorted((str(code), str(n))))
            for code, ns in zip(a.get("la_code", []), a.get("neighbours", []), strict=True)
            for n in ns
        }
    )
    if given:
        g.remove_edges_from(list(g.edges))
        g.add_edges_from(given)
        g.graph["source"] = "authorities.csv"
    codes = set(scenario.clients["la_code"]) | set(scenario.supporters["la_code"])
    for code in sorted(codes - set(g.nodes)):
        g.add_node(code, la_name=str(code), region=la_regions([code])[0])
    return g


def flow_table(
    scenario: Scenario,
    problem: ProblemData,
    pairs: np.ndarray,
    adjacency: nx.Graph | None = None,
) -> pd.DataFrame:
    """Deployments of a round aggregated by supporter LA -> client LA.

    Parameters
    ----------
    scenario, problem
        The scenario and its candidate problem.
    pairs
        The round's chosen pairs (indices, e.g. ``result.pairs``, or a 0/1 vector).
    adjacency
        LA neighbour graph for the ``adjacent`` column (default :func:`la_graph`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FLOW_COLUMNS`, one row per (from_la, to_la) with at least
        one deployment, sorted by days descending then codes. ``days`` is the
        matched need (days per week), ``cost_gbp`` the package costs, ``priority``
        the matched priority; ``cross_la`` is False on the diagonal (own-LA
        deployments), ``adjacent`` whether the two LAs are neighbours.
    """
    k = problem.as_pair_indices(pairs)
    cla = scenario.clients["la_code"].astype(str).to_numpy()
    sla = scenario.supporters["la_code"].astype(str).to_numpy()
    frame = pd.DataFrame(
        {
            "from_la": sla[problem.pair_supporter[k]],
            "to_la": cla[problem.pair_client[k]],
            "deployments": 1,
            "days": problem.pair_load[k] / DAY_SCALE,
            "cost_gbp": problem.pair_cost[k] / MONEY_SCALE,
            "priority": problem.pair_priority[k],
        }
    )
    out = frame.groupby(["from_la", "to_la"], as_index=False, sort=True).sum()
    adj = la_graph(scenario) if adjacency is None else adjacency
    out["cross_la"] = out["from_la"] != out["to_la"]
    out["adjacent"] = [
        bool(adj.has_edge(a, b)) for a, b in zip(out["from_la"], out["to_la"], strict=True)
    ]
    out["from_la_name"] = la_names(out["from_la"])
    out["from_region"] = la_regions(out["from_la"])
    out["to_la_name"] = la_names(out["to_la"])
    out["to_region"] = la_regions(out["to_la"])
    out["days"] = out["days"].round(2)
    out["cost_gbp"] = out["cost_gbp"].round(2)
    out = out.sort_values(
        ["days", "from_la", "to_la"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
    return out[FLOW_COLUMNS]


def flow_graph(
    scenario: Scenario,
    problem: ProblemData,
    pairs: np.ndarray,
    adjacency: nx.Graph | None = None,
) -> nx.DiGraph:
    """Deployment flow graph between authorities for a solved round.

    Returns
    -------
    networkx.DiGraph
        Nodes are LA codes (attributes ``la_name``, ``region``), an edge
        ``supporter LA -> client LA`` per row of :func:`flow_table` with attributes
        ``deployments``, ``days``, ``cost_gbp``, ``priority``, ``adjacent``.
        Deployments within one LA are self-loops.
    """
    table = flow_table(scenario, problem, pairs, adjacency)
    g = nx.DiGraph(name=problem.name)
    codes = sorted(set(scenario.clients["la_code"]) | set(scenario.supporters["la_code"]))
    for code, name, region in zip(codes, la_names(codes), la_regions(codes), strict=True):
        g.add_node(code, la_name=name, region=region)
    for row in table.itertuples(index=False):
        g.add_edge(
            row.from_la,
            row.to_la,
            deployments=int(row.deployments),
            days=float(row.days),
            cost_gbp=float(row.cost_gbp),
            priority=int(row.priority),
            adjacent=bool(row.adjacent),
        )
    return g
