r"""Every metric of an assignment, computed the same way for any policy.

:func:`metrics` is one pure function of ``(instance, pairs)`` returning plain
data. Notation: ``x`` the chosen pairs, ``L`` the matched lead pairs (one per
matched client), ``P`` all matched pairs (a team has two), ``c(k)`` the client and
``s(k)`` the supporter of pair ``k``, ``need[i]`` in days per week
(:mod:`broker.policies.instance`).

Formulas
--------
``priority_matched``
    :math:`\sum_{k \in L} priority[c(k)]`.
``priority_bound``, ``priority_ratio``
    The LP relaxation of the formulation of :mod:`broker.problem` maximising
    priority (HiGHS; an upper bound for every policy), and ``priority_matched /
    priority_bound``.
``need_met_days``, ``need_met_share``
    :math:`\sum_{k \in L} need[c(k)]`, over the total need of all clients.
``matched``, ``clients``
    :math:`|L|` and the number of clients.
``total_cost_gbp``
    :math:`\sum_{k \in P} cost[k]`.
``mean_distance_km``, ``p90_distance_km``
    Mean and 90th percentile (linear interpolation, ``numpy.percentile``) of the
    distance over :math:`P`; NaN when nothing is matched.
``cross_la_share``
    Share of :math:`P` whose supporter's authority differs from its client's.
``la_share_<code>``, ``la_gini``, ``la_theil``, ``worst_la_share``, ``worst_la``
    Per authority with reachable need :math:`N_a > 0`, :math:`s_a = M_a / N_a`;
    the Gini and Theil indices of the :math:`s_a` (unweighted,
    :mod:`broker.spread.inequality`; 0 when every share is 0), and the smallest
    share and its authority.
``high_need_share``
    Matched high-need clients over all high-need clients (NaN if none).
``blocking_pairs``, ``blocking_share``
    Count and share of blocking pairs (:mod:`broker.policies.stable`).
``la_envy``, ``la_envy_max``
    Envy between authorities, from shares: the mean over ordered pairs of
    authorities :math:`a \ne b` of :math:`\max(0, s_b - s_a)` (how much more of
    its need another authority gets, on average), and its largest value
    :math:`\max_b s_b - \min_a s_a`.
``client_rank_mean``, ``client_rank_median``, ``client_first_choice_share``
    Over :math:`L`: the rank the client gives its supporter (1 = first choice).
``supporter_rank_mean``, ``supporter_rank_median``
    Over :math:`L`: the rank the supporter gives its client.
``runtime_s``
    The policy's wall time, when given.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from broker.policies.instance import PolicyInstance
from broker.policies.preferences import Preferences
from broker.policies.stable import blocking_pairs
from broker.problem import LEAD, ProblemData
from broker.spread.inequality import gini, theil
from broker.units import DAY_SCALE, MONEY_SCALE


def lp_bound(problem: ProblemData) -> float:
    """LP relaxation bound on the priority matched (HiGHS via :func:`scipy.optimize.milp`)."""
    from broker.solve.model import constraint_matrix

    p = problem
    if p.n_pairs == 0:
        return 0.0
    a, lo, hi = constraint_matrix(p)
    lb = np.zeros(p.n_pairs)
    lb[p.pinned] = 1.0
    res = milp(
        -p.pair_priority.astype(float),
        constraints=LinearConstraint(a, lo, hi),
        bounds=Bounds(lb, np.ones(p.n_pairs)),
        integrality=np.zeros(p.n_pairs),
    )
    if res.status != 0 or res.fun is None:
        return float(p.priority.sum())
    return float(-res.fun)


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else math.nan


def la_shares(instance: PolicyInstance, pairs: np.ndarray) -> dict[str, float]:
    """``s_a = M_a / N_a`` for every authority with reachable need, by code."""
    n_a = instance.la_reachable_need()
    m_a = instance.la_met_need(pairs)
    return {
        instance.la_codes[a]: float(m_a[a] / n_a[a]) for a in range(instance.n_las) if n_a[a] > 0
    }


def envy(shares: np.ndarray) -> tuple[float, float]:
    """Mean over ordered pairs ``a != b`` of ``max(0, s_b - s_a)``, and ``max s - min s``."""
    s = np.asarray(shares, float)
    m = len(s)
    if m < 2:
        return 0.0, 0.0
    diff = np.maximum(0.0, s[None, :] - s[:, None])
    return float(diff.sum() / (m * (m - 1))), float(s.max() - s.min())


def _index(values: np.ndarray, fn) -> float:  # type: ignore[no-untyped-def]
    if len(values) == 0:
        return math.nan
    if not np.any(values > 0):
        return 0.0
    return float(fn(values))


def metrics(
    instance: PolicyInstance,
    pairs: np.ndarray,
    *,
    runtime_s: float | None = None,
    bound: float | None = None,
    per_la: bool = False,
) -> dict[str, object]:
    """Every metric of the assignment ``pairs`` (see the module docstring).

    Parameters
    ----------
    instance
        The policy instance.
    pairs
        Chosen pair indices (or a 0/1 vector over pairs).
    runtime_s
        The policy's runtime, copied into the output.
    bound
        The priority bound to use; by default the LP bound (computed once per
        instance and cached).
    per_la
        Also return ``la_share_<code>`` for every authority.
    """
    p = instance.problem
    ks = p.as_pair_indices(np.asarray(pairs))
    lead = ks[p.pair_role[ks] == LEAD]
    clients = p.pair_client[lead]
    prefs = instance.preferences
    assert isinstance(prefs, Preferences)
    if bound is None:
        cached = instance._cache.get("lp_bound")
        if cached is None:
            cached = lp_bound(p)
            instance._cache["lp_bound"] = cached
        bound = float(cached)  # type: ignore[arg-type]
    prio = int(p.priority[clients].sum())
    need = instance.need_cdays
    dist = p.pair_distance_km[ks]
    sup_la = instance.supporter_la_code[p.pair_supporter[ks]]
    cli_la = np.asarray(instance.la_codes, dtype=object)[instance.client_la[p.pair_client[ks]]]
    shares = la_shares(instance, ks)
    s = np.asarray(list(shares.values()), float)
    worst = min(shares, key=lambda c: (shares[c], c)) if shares else ""
    env, env_max = envy(s)
    high = instance.high_need
    blocking = blocking_pairs(instance, ks)
    crank = prefs.client_rank[lead]
    srank = prefs.supporter_rank[lead]
    out: dict[str, object] = {
        "priority_matched": prio,
        "priority_bound": round(bound, 6),
        "priority_ratio": prio / bound if bound > 0 else math.nan,
        "need_met_days": float(need[clients].sum()) / DAY_SCALE,
        "need_met_share": float(need[clients].sum() / need.sum()) if need.sum() else math.nan,
        "matched": len(clients),
        "clients": p.n_clients,
        "total_cost_gbp": float(p.pair_cost[ks].sum()) / MONEY_SCALE,
        "mean_distance_km": float(dist.mean()) if len(dist) else math.nan,
        "p90_distance_km": _pct(dist, 90),
        "cross_la_share": float(np.mean(sup_la != cli_la)) if len(ks) else math.nan,
        "la_gini": _index(s, gini),
        "la_theil": _index(s, theil),
        "worst_la_share": float(shares[worst]) if shares else math.nan,
        "worst_la": worst,
        "high_need_share": float(high[clients].sum() / high.sum()) if high.any() else math.nan,
        "blocking_pairs": blocking.count,
        "blocking_share": blocking.share,
        "la_envy": env,
        "la_envy_max": env_max,
        "client_rank_mean": float(crank.mean()) if len(crank) else math.nan,
        "client_rank_median": float(np.median(crank)) if len(crank) else math.nan,
        "client_first_choice_share": float(np.mean(crank == 1)) if len(crank) else math.nan,
        "supporter_rank_mean": float(srank.mean()) if len(srank) else math.nan,
        "supporter_rank_median": float(np.median(srank)) if len(srank) else math.nan,
        "runtime_s": math.nan if runtime_s is None else float(runtime_s),
    }
    if per_la:
        out.update({f"la_share_{code}": v for code, v in shares.items()})
    return out
