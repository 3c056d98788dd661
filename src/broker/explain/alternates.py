"""Alternates: who else could take a matched school if its supporter declines.

For every matched client, the lead pair is released (the second member of a
team stays), and every other candidate lead pair of the client is tested against
what the round leaves of each limit (every supporter's capacity in each term, and
every budget the package is charged to). The pairs that fit are the alternates,
ranked as the round itself ranks pairs: by level-2 points (cost, distance and
penalties), then distance, then supporter id. Only candidate pairs are
considered, so every hard rule of the scenario holds for each alternate; its
feasibility against the rest of the round is exact (integer units) and is
re-checked by :func:`broker.check.check_assignment` in the tests.

Each alternate stands alone: taking it changes what is left for the others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broker.pipeline import MatchingRound
from broker.problem import LEAD
from broker.units import MONEY_SCALE, OBJECTIVE_SCALE

ALTERNATE_COLUMNS = [
    "client_id",
    "client_name",
    "supporter_id",
    "rank",
    "alternate_id",
    "alternate_name",
    "alternate_kind",
    "mode",
    "distance_km",
    "cost_gbp",
    "distance_diff_km",
    "cost_diff_gbp",
    "points_diff",
    "alternate_text",
]


def _names(frame: pd.DataFrame) -> list[str]:
    if "name" not in frame.columns:
        return [""] * len(frame)
    return ["" if not isinstance(v, str) else v for v in frame["name"]]


def find_alternates(rnd: MatchingRound, k: int = 3) -> pd.DataFrame:
    """The next ``k`` feasible supporters of every matched client (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ALTERNATE_COLUMNS`, one row per alternate, ranked 1..k per
        client; a client with no alternate has no row.
    """
    p = rnd.candidates.problem
    cand = rnd.candidates
    chosen = np.asarray(rnd.result.pairs, dtype=np.int64)
    residual = p.residual(chosen)
    starts = p.client_pair_ranges()
    client_names = _names(rnd.scenario.clients)
    sup = rnd.scenario.supporters
    sup_names = _names(sup)
    kinds = sup["kind"].astype(str).tolist()
    rows = []
    lead_pairs = chosen[p.pair_role[chosen] == LEAD]
    second_of = {int(p.pair_client[q]): int(p.pair_supporter[q]) for q in chosen.tolist()}
    for k0 in lead_pairs.tolist():
        i, j0 = int(p.pair_client[k0]), int(p.pair_supporter[k0])
        rows_k, amounts = p.limits_of(k0)
        left = residual.copy()
        left[rows_k] += amounts  # the chosen supporter declines
        second = second_of.get(i, -1) if p.team_size[i] == 2 else -1
        ks = np.arange(starts[i], starts[i + 1])
        ks = ks[(p.pair_role[ks] == LEAD) & (p.pair_supporter[ks] != j0)]
        if second >= 0:
            ks = ks[p.pair_supporter[ks] != second]
        fits = [q for q in ks.tolist() if p.fits(q, left)]
        fits.sort(key=lambda q: (int(p.pair_level2[q]), float(p.pair_distance_km[q]), q))
        for rank, q in enumerate(fits[:k], start=1):
            j = int(p.pair_supporter[q])
            d = round(float(p.pair_distance_km[q]), 2)
            cost = p.pair_cost[q] / MONEY_SCALE
            dd = round(d - float(p.pair_distance_km[k0]), 2)
            dc = round((int(p.pair_cost[q]) - int(p.pair_cost[k0])) / MONEY_SCALE, 2)
            dp = round((int(p.pair_level2[q]) - int(p.pair_level2[k0])) / OBJECTIVE_SCALE, 3)
            who = f"{p.supporter_ids[j]} ({sup_names[j]})" if sup_names[j] else p.supporter_ids[j]
            rows.append(
                (
                    p.client_ids[i],
                    client_names[i],
                    p.supporter_ids[j0],
                    rank,
                    p.supporter_ids[j],
                    sup_names[j],
                    kinds[j],
                    cand.mode_ids[cand.pair_mode[q]],
                    d,
                    round(cost, 2),
                    dd,
                    dc,
                    dp,
                    f"{who}: {d:.1f} km ({dd:+.1f} km), £{cost:,.2f} "
                    f"({'-' if dc < 0 else '+'}£{abs(dc):,.2f})",
                )
            )
    return pd.DataFrame(rows, columns=ALTERNATE_COLUMNS)
