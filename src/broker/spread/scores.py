r"""Spread scores of a scenario (and of a solved round), per client, LA and region.

Definitions, for an area :math:`A` (a local authority or a region) whose clients
are :math:`C_A`, with need :math:`n_i` (days per week) and priority :math:`p_i`:

* **in reach**: a client is in reach when it has at least one candidate pair
  (a supporter the hard rules allow); otherwise it is *isolated* and its reason is
  the first candidate stage that removed its last supporter
  (:data:`broker.candidates.STAGES`), worded by :mod:`broker.explain`.
* **coverage**: ``share_need_in_reach`` :math:`= \sum_{i \in C_A, \text{in reach}} n_i
  / \sum_{i \in C_A} n_i`; ``share_priority_need_in_reach`` the same with weights
  :math:`p_i n_i`.
* **supply in reach**: :math:`S_A = \sum_{j \in R_A} cap_j` where :math:`R_A` is the
  set of *distinct* supporters with at least one candidate pair to a client of
  :math:`A` (a supporter counts once per area however many of its clients it
  reaches, but may count in several areas).
* **balance**: ``balance_in_reach`` :math:`= S_A / \sum_{i \in C_A} n_i` (days of
  supply in reach per day of need; NaN when the area has no need);
  ``balance_local`` uses instead the capacity of supporters *located* in the area.
* **round** (when given): matched need and priority, and
  ``share_matched_cross_la`` = need matched to a supporter from another LA over
  all need matched in the area (for a region: from an LA other than the client's
  own, wherever it is; ``share_matched_cross_region`` counts supporters from
  another region).
* **max-flow bound**: ``maxflow_bound_days`` is :func:`broker.spread.flow.area_bounds`
  for the area's clients alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broker.candidates import STAGES, Candidates
from broker.scenario.model import Scenario
from broker.spread.flow import area_bounds
from broker.spread.geography import codes_index, la_names, la_regions
from broker.spread.inequality import gini, theil, theil_decomposition
from broker.spread.rounds import SolvedRound
from broker.units import DAY_SCALE

CLIENT_COLUMNS = [
    "client_id",
    "la_code",
    "region",
    "phase",
    "need_days",
    "priority",
    "priority_need",
    "n_candidates",
    "in_reach",
    "binding_stage",
    "reason_code",
]
ROUND_CLIENT_COLUMNS = ["matched", "supporter_id", "supporter_la", "cross_la"]
ISOLATED_COLUMNS = [
    "client_id",
    "name",
    "la_code",
    "la_name",
    "region",
    "phase",
    "need_days",
    "priority",
    "binding_stage",
    "reason_code",
    "reason",
    "nearest_km",
]


def client_facts(
    scenario: Scenario, candidates: Candidates, round_: SolvedRound | None = None
) -> pd.DataFrame:
    """One row per client: area, need, priority, reach and (if given) the round's match.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CLIENT_COLUMNS` (plus :data:`ROUND_CLIENT_COLUMNS` with a
        round). ``binding_stage`` and ``reason_code`` are blank for clients in reach;
        for isolated clients they are the first stage of
        :data:`broker.candidates.STAGES` that hit zero and :mod:`broker.explain`'s code.
    """
    p = candidates.problem
    cli = scenario.clients
    n_cand = np.bincount(p.pair_client, minlength=p.n_clients)
    need = cli["need_days"].to_numpy(float)
    stage, code, _text = _isolation(scenario, candidates, n_cand)
    out = pd.DataFrame(
        {
            "client_id": list(p.client_ids),
            "la_code": cli["la_code"].astype(str).to_numpy(),
            "region": la_regions(cli["la_code"]),
            "phase": cli["phase"].astype(str).to_numpy(),
            "need_days": need,
            "priority": p.priority.astype(np.int64),
            "priority_need": p.priority * need,
            "n_candidates": n_cand,
            "in_reach": n_cand > 0,
            "binding_stage": stage,
            "reason_code": code,
        }
    )
    if round_ is not None:
        a = np.asarray(round_.assignment)
        sla = scenario.supporters["la_code"].astype(str).to_numpy()
        sids = np.asarray(p.supporter_ids + ("",), dtype=object)
        out["matched"] = a >= 0
        out["supporter_id"] = sids[a]
        out["supporter_la"] = np.append(sla, "").astype(object)[a]
        out["cross_la"] = (a >= 0) & (out["supporter_la"] != out["la_code"])
    return out


def _isolation(
    scenario: Scenario, candidates: Candidates, n_cand: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binding stage, reason code and sentence of every isolated client (blank otherwise).

    Delegates to :mod:`broker.explain` so that codes and wording are those of the
    round outputs; the stage is the first column of ``stage_counts`` that is zero.
    """
    from broker.explain import _isolated_reason

    n = len(n_cand)
    stage = np.full(n, "", dtype=object)
    code = np.full(n, "", dtype=object)
    text = np.full(n, "", dtype=object)
    for i in np.flatnonzero(n_cand == 0):
        stage[i] = STAGES[int(np.argmax(candidates.stage_counts[i] == 0))]
        code[i], text[i] = _isolated_reason(scenario, candidates, int(i))
    return stage, code, text


def isolated_clients(scenario: Scenario, candidates: Candidates) -> pd.DataFrame:
    """Clients with no allowed supporter, with the binding rule and a sentence.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ISOLATED_COLUMNS`, sorted by priority (highest first), then
        LA and client id.
    """
    p = candidates.problem
    cli = scenario.clients
    n_cand = np.bincount(p.pair_client, minlength=p.n_clients)
    stage, code, text = _isolation(scenario, candidates, n_cand)
    iso = np.flatnonzero(n_cand == 0)
    out = pd.DataFrame(
        {
            "client_id": np.asarray(p.client_ids, dtype=object)[iso],
            "name": cli["name"].astype(str).to_numpy()[iso],
            "la_code": cli["la_code"].astype(str).to_numpy()[iso],
            "la_name": la_names(cli["la_code"].to_numpy()[iso]),
            "region": la_regions(cli["la_code"].to_numpy()[iso]),
            "phase": cli["phase"].astype(str).to_numpy()[iso],
            "need_days": cli["need_days"].to_numpy(float)[iso],
            "priority": p.priority[iso],
            "binding_stage": stage[iso],
            "reason_code": code[iso],
            "reason": text[iso],
            "nearest_km": np.round(candidates.nearest_km[iso], 2),
        },
        columns=ISOLATED_COLUMNS,
    )
    return out.sort_values(
        ["priority", "la_code", "client_id"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)


def _area_table(
    scenario: Scenario,
    candidates: Candidates,
    facts: pd.DataFrame,
    client_area: np.ndarray,
    supporter_area: np.ndarray,
    labels: np.ndarray,
    round_: SolvedRound | None,
    cross_region: bool,
) -> pd.DataFrame:
    """Scores per area; areas are ``labels[k]`` with client/supporter area indices."""
    p = candidates.problem
    n_a = len(labels)
    need = facts["need_days"].to_numpy(float)
    pneed = facts["priority_need"].to_numpy(float)
    reach = facts["in_reach"].to_numpy(bool)
    cap = p.capacity / DAY_SCALE

    def per_area(weights: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        w = weights if mask is None else np.where(mask, weights, 0)
        return np.bincount(client_area, weights=w, minlength=n_a)

    need_a = per_area(need)
    pneed_a = per_area(pneed)
    # distinct (area, supporter) pairs over candidate pairs
    key = np.unique(client_area[p.pair_client] * max(p.n_supporters, 1) + p.pair_supporter)
    key_area, key_sup = key // max(p.n_supporters, 1), key % max(p.n_supporters, 1)
    supply_reach = np.bincount(key_area, weights=cap[key_sup], minlength=n_a)
    n_sup_reach = np.bincount(key_area, minlength=n_a)
    supply_local = np.bincount(supporter_area, weights=cap, minlength=n_a)
    n_sup_local = np.bincount(supporter_area, minlength=n_a)
    isolated = np.bincount(client_area, weights=(~reach).astype(float), minlength=n_a)
    codes = facts["reason_code"].to_numpy(object)
    main_reason = np.full(n_a, "", dtype=object)
    iso_idx = np.flatnonzero(~reach)
    if len(iso_idx):
        tally = pd.DataFrame({"a": client_area[iso_idx], "code": codes[iso_idx]})
        counts = tally.groupby(["a", "code"]).size().reset_index(name="n")
        counts = counts.sort_values(
            ["a", "n", "code"], ascending=[True, False, True], kind="stable"
        ).drop_duplicates("a")
        main_reason[counts["a"].to_numpy()] = counts["code"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame(
            {
                "clients": np.bincount(client_area, minlength=n_a),
                "need_days": need_a,
                "priority_need": pneed_a,
                "clients_in_reach": np.bincount(
                    client_area, weights=reach.astype(float), minlength=n_a
                ).astype(np.int64),
                "need_days_in_reach": per_area(need, reach),
                "share_need_in_reach": np.where(need_a > 0, per_area(need, reach) / need_a, np.nan),
                "share_priority_need_in_reach": np.where(
                    pneed_a > 0, per_area(pneed, reach) / pneed_a, np.nan
                ),
                "isolated": isolated.astype(np.int64),
                "main_isolation_reason": main_reason,
                "supporters_local": n_sup_local,
                "capacity_days_local": supply_local,
                "supporters_in_reach": n_sup_reach,
                "capacity_days_in_reach": supply_reach,
                "balance_in_reach": np.where(need_a > 0, supply_reach / need_a, np.nan),
                "balance_local": np.where(need_a > 0, supply_local / need_a, np.nan),
                "maxflow_bound_days": area_bounds(p, client_area, n_a) / DAY_SCALE,
            }
        )
    if round_ is not None:
        matched = facts["matched"].to_numpy(bool)
        cross = facts["cross_la"].to_numpy(bool)
        m_need = per_area(need, matched)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["clients_matched"] = np.bincount(
                client_area, weights=matched.astype(float), minlength=n_a
            ).astype(np.int64)
            out["need_days_matched"] = m_need
            out["share_need_matched"] = np.where(need_a > 0, m_need / need_a, np.nan)
            out["priority_matched"] = per_area(facts["priority"].to_numpy(float), matched).astype(
                np.int64
            )
            out["share_priority_need_matched"] = np.where(
                pneed_a > 0, per_area(pneed, matched) / pneed_a, np.nan
            )
            out["need_days_matched_cross_la"] = per_area(need, cross)
            out["share_matched_cross_la"] = np.where(
                m_need > 0, per_area(need, cross) / m_need, np.nan
            )
            a = np.asarray(round_.assignment)
            s_area = np.where(a >= 0, supporter_area[np.maximum(a, 0)], -1)
            exported = matched & (s_area != client_area)  # served from another area
            if cross_region:
                out["share_matched_cross_region"] = np.where(
                    m_need > 0, per_area(need, exported) / m_need, np.nan
                )
            out["days_exported"] = np.bincount(
                s_area[exported], weights=need[exported], minlength=n_a
            )
            out["days_imported"] = per_area(need, exported)
    return out


def la_scores(
    scenario: Scenario,
    candidates: Candidates,
    round_: SolvedRound | None = None,
    *,
    facts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Spread scores per local authority (see the module docstring for definitions).

    Every LA with a client or a supporter in the scenario has a row. LAs with
    supporters but no clients have NaN shares and balances.

    Returns
    -------
    pandas.DataFrame
        ``la_code``, ``la_name``, ``region`` and the score columns, sorted by
        ``la_code``; with a round, also ``clients_matched``, ``need_days_matched``,
        ``share_need_matched``, ``priority_matched``, ``share_priority_need_matched``,
        ``need_days_matched_cross_la``, ``share_matched_cross_la``, ``days_exported``
        (need served by this LA's supporters elsewhere) and ``days_imported``.
        ``facts`` may pass :func:`client_facts` (same round) to avoid recomputing it.
    """
    if facts is None:
        facts = client_facts(scenario, candidates, round_)
    cla = scenario.clients["la_code"].astype(str).to_numpy()
    sla = scenario.supporters["la_code"].astype(str).to_numpy()
    labels, inv = codes_index(np.concatenate([cla, sla]))
    table = _area_table(
        scenario,
        candidates,
        facts,
        inv[: len(cla)],
        inv[len(cla) :],
        labels,
        round_,
        cross_region=False,
    )
    table.insert(0, "region", la_regions(labels))
    table.insert(0, "la_name", la_names(labels))
    table.insert(0, "la_code", labels)
    return table


def region_scores(
    scenario: Scenario,
    candidates: Candidates,
    round_: SolvedRound | None = None,
    *,
    facts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Spread scores per region (the same definitions, areas = regions).

    ``share_matched_cross_la`` still counts supporters from another LA (which may
    be in the same region); ``share_matched_cross_region`` counts those from
    another region.
    """
    if facts is None:
        facts = client_facts(scenario, candidates, round_)
    creg = la_regions(scenario.clients["la_code"]).astype(str)
    sreg = la_regions(scenario.supporters["la_code"]).astype(str)
    labels, inv = codes_index(np.concatenate([creg, sreg]))
    table = _area_table(
        scenario,
        candidates,
        facts,
        inv[: len(creg)],
        inv[len(creg) :],
        labels,
        round_,
        cross_region=True,
    )
    table.insert(0, "region", labels)
    return table


def spread_indices(la_table: pd.DataFrame) -> dict[str, float]:
    r"""How unevenly supply per day of need is spread across authorities.

    Over the LAs with need (:math:`N_a > 0`), with :math:`x_a` = ``balance_in_reach``
    (supply days in reach per day of need):

    * ``gini_balance_in_reach``: Gini :math:`G` with every LA counting once,
      :math:`G = \sum_a\sum_b |x_a-x_b| / (2 n^2 \bar x)`;
    * ``gini_balance_in_reach_need_weighted``: the same with weights :math:`N_a`
      (each day of need counts once);
    * ``theil_balance_in_reach``: Theil :math:`T = \frac1n \sum_a \frac{x_a}{\bar x}
      \ln\frac{x_a}{\bar x}`, and ``theil_between_regions_share``: the share of
      :math:`T` that lies between regions (Theil decomposition);
    * ``gini_balance_local``: Gini of ``balance_local`` (supply located in the LA).

    See :mod:`broker.spread.inequality` for the formulas. Values are NaN when no LA
    has supply.
    """
    t = la_table[la_table["need_days"] > 0]
    x = t["balance_in_reach"].to_numpy(float)
    dec = theil_decomposition(x, t["region"].to_numpy(str))
    return {
        "las_with_need": int(len(t)),
        "gini_balance_in_reach": gini(x),
        "gini_balance_in_reach_need_weighted": gini(x, t["need_days"].to_numpy(float)),
        "theil_balance_in_reach": theil(x),
        "theil_between_regions_share": dec["between_share"],
        "gini_balance_local": gini(t["balance_local"].to_numpy(float)),
        "las_without_local_supply": int((t["capacity_days_local"] == 0).sum()),
    }
