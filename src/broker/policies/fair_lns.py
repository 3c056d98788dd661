"""Large-neighbourhood search for the fairness models on large problems.

Above :data:`LNS_MIN_PAIRS` candidate pairs, one CP-SAT model of the whole
country rarely beats the water-filling start within practical limits. There
the fairness models improve the start by neighbourhoods instead:

1. the *target* is the authority with the lowest share (for ``proportional``:
   the furthest from the overall share) not tried since the last improvement
   (ties by code);
2. the neighbourhood is the target's reachable clients (for ``proportional``
   also those of the authority furthest on the other side of the overall share),
   and the clients now served by any supporter that could serve one of them (at
   most :data:`MAX_NEIGHBOURHOOD` clients, lowest priority first among the latter);
3. everything else is fixed: the sub-problem keeps every limit with what the
   fixed clients leave (:meth:`ProblemData.subproblem`) and each authority's
   matched need outside the neighbourhood as a constant;
4. the policy's own model (the same levels as the whole-country model, over the
   authorities in the neighbourhood; for ``proportional`` every authority's band,
   as a total excess to minimise, since the overall share moves) is solved by
   :mod:`broker.policies.lexico` from the current assignment as a hint, with a
   deterministic work limit of :data:`STEP_WORK` per step;
5. the new assignment is kept if it is lexicographically at least as good on the
   policy's own objectives over the whole country.

The number of steps is ``time_limit_s / STEP_WORK``, so the result depends only
on the instance, the options and the seed.
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from broker.policies.instance import PolicyInstance
from broker.policies.lexico import Objective, solve_lexicographic
from broker.problem import LEAD, ProblemData

LNS_MIN_PAIRS = 4_000
"""From this many candidate pairs the fairness models search by neighbourhoods."""
MAX_NEIGHBOURHOOD = 250
"""Most clients in one neighbourhood."""
STEP_WORK = 1.0
"""Deterministic CP-SAT work per step (about a second)."""
D = 10_000


def _neighbourhood(
    instance: PolicyInstance, pairs: np.ndarray, target: int, partner: int = -1
) -> np.ndarray:
    p = instance.problem
    own = np.isin(instance.client_la, [target, partner])
    mine = np.flatnonzero(own & instance.reachable)
    lead_of_mine = np.isin(p.pair_client, mine) & (p.pair_role == LEAD)
    supporters = np.unique(p.pair_supporter[lead_of_mine])
    served = pairs[np.isin(p.pair_supporter[pairs], supporters)]
    others = np.setdiff1d(np.unique(p.pair_client[served]), mine)
    room = max(0, MAX_NEIGHBOURHOOD - len(mine))
    others = others[np.lexsort((others, p.priority[others]))][:room]
    return np.union1d(mine, others)


def improve(
    instance: PolicyInstance,
    start: np.ndarray,
    *,
    kind: str,
    param: float,
    time_limit_s: float,
    seed: int,
    unit: int,
    own_values,  # type: ignore[no-untyped-def]
) -> tuple[np.ndarray, int, int]:
    """Improve ``start`` by neighbourhoods; returns the pairs, steps run and steps kept."""
    p = instance.problem
    n_a = instance.la_reachable_need() // unit
    current = np.sort(np.asarray(start, np.int64))
    best = own_values(instance, current, kind, param)
    tried: set[int] = set()
    steps = max(1, int(time_limit_s / STEP_WORK))
    kept = 0
    for step in range(steps):
        m_a = instance.la_met_need(current) // unit
        share = m_a / np.maximum(n_a, 1)
        if kind == "proportional":  # the authority furthest from the overall share first
            share = -np.abs(share - m_a[n_a > 0].sum() / max(int(n_a.sum()), 1))
        order = [
            a
            for a in np.lexsort((np.arange(instance.n_las), share))
            if n_a[a] > 0 and a not in tried
        ]
        if not order:
            break
        target = int(order[0])
        tried.add(target)
        partner = -1
        if kind == "proportional":
            # with the authority furthest on the other side of the overall share, so that
            # the band can close from both sides rather than only by levelling down
            overall = m_a[n_a > 0].sum() / max(int(n_a.sum()), 1)
            ratio = m_a / np.maximum(n_a, 1)
            side = ratio > overall if ratio[target] <= overall else ratio < overall
            side &= n_a > 0
            if side.any():
                cand = np.flatnonzero(side)
                far = np.abs(ratio[cand] - overall)
                partner = int(cand[np.lexsort((cand, -far))[0]])
        clients = _neighbourhood(instance, current, target, partner)
        inside = np.isin(p.pair_client[current], clients)
        fixed = current[~inside]
        sub, kmap = p.subproblem(clients, p.residual(fixed))
        fixed_met = instance.la_met_need(fixed) // unit
        sub_la = instance.client_la[clients]
        need = instance.need_cdays[clients] // unit
        hint = np.flatnonzero(np.isin(kmap, current[inside]))

        def add(
            model: cp_model.CpModel,
            x: list[cp_model.IntVar],
            sub: ProblemData = sub,
            sub_la: np.ndarray = sub_la,
            need: np.ndarray = need,
            fixed_met: np.ndarray = fixed_met,
        ) -> list[Objective]:
            met: dict[int, list[tuple[cp_model.IntVar, int]]] = {}
            for k in np.flatnonzero(sub.pair_role == LEAD).tolist():
                i = int(sub.pair_client[k])
                met.setdefault(int(sub_la[i]), []).append((x[k], int(need[i])))
            las = [a for a in sorted(met) if n_a[a] > 0]

            def expr(a: int) -> cp_model.LinearExpr:
                return cp_model.LinearExpr.weighted_sum(
                    [v for v, _ in met[a]], [c for _, c in met[a]]
                )

            prio = cp_model.LinearExpr.weighted_sum(x, [int(v) for v in sub.pair_priority])
            cost = cp_model.LinearExpr.weighted_sum(x, [int(v) for v in sub.pair_level2])
            if kind == "maxmin":
                t = model.new_int_var(0, D, "t")
                for a in las:
                    model.add(D * (expr(a) + int(fixed_met[a])) >= int(n_a[a]) * t)
                return [("max", t), ("max", prio), ("min", cost)]
            if kind == "proportional":
                # every authority's band, with the neighbourhood's matched need as one variable
                total_n = int(n_a[n_a > 0].sum())
                inside = sum((expr(a) for a in met), cp_model.LinearExpr.constant(0))
                m_sub = model.new_int_var(0, total_n, "m_sub")
                model.add(m_sub == inside)
                fixed_total = int(fixed_met[n_a > 0].sum())
                excess = []
                for a in np.flatnonzero(n_a > 0).tolist():
                    own = (expr(a) if a in met else 0) + int(fixed_met[a])
                    dev = total_n * own - int(n_a[a]) * (m_sub + fixed_total)
                    slack = int(np.floor(param * int(n_a[a]) * total_n))
                    e = model.new_int_var(0, total_n * total_n, f"e{a}")
                    model.add(e >= dev - slack)
                    model.add(e >= -dev - slack)
                    excess.append(e)
                band = sum(excess, cp_model.LinearExpr.constant(0))
                return [("min", band), ("max", prio), ("min", cost)]
            short = []
            for a in las:
                floor_a = int(np.ceil(param * int(n_a[a])))
                s = model.new_int_var(0, max(floor_a, 0), f"s{a}")
                model.add(s + expr(a) + int(fixed_met[a]) >= floor_a)
                short.append(s)
            total = sum(short, cp_model.LinearExpr.constant(0))
            return [("min", total), ("max", prio), ("min", cost)]

        lex = solve_lexicographic(
            sub,
            add,
            time_limit_s=STEP_WORK,
            seed=seed + step,
            shares=(0.5, 0.3, 0.2),
            hint=hint,
        )
        if lex.pairs is None:
            continue
        trial = np.sort(np.concatenate([fixed, kmap[lex.pairs]]).astype(np.int64))
        if p.violations(trial):
            continue
        value = own_values(instance, trial, kind, param)
        if value >= best:
            if value > best:
                tried.clear()
                kept += 1
            current, best = trial, value
    return current, steps, kept
