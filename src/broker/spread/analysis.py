"""The whole spread analysis of a scenario (and optionally a solved round) in one call.

:func:`analyse` computes every table; :func:`write_report` writes them as CSV
with maps and ``headline.json``; :func:`format_headline` gives the terminal text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from broker.candidates import Candidates, build_candidates
from broker.csvtext import write_csv
from broker.high_need_share import high_need_share
from broker.scenario.model import Scenario
from broker.spread.flow import FlowBound, coverage_bound
from broker.spread.graphs import flow_table
from broker.spread.recruit import Recruitment, recruitment_targets
from broker.spread.resilience import annotate, supporter_resilience
from broker.spread.rounds import SolvedRound
from broker.spread.scores import (
    client_facts,
    isolated_clients,
    la_scores,
    region_scores,
    spread_indices,
)
from broker.units import DAY_SCALE


@dataclass(frozen=True, eq=False)
class SpreadReport:
    """Every table of a spread analysis.

    Attributes
    ----------
    scenario, candidates, round
        Inputs (``round`` may be ``None``).
    clients
        Per-client facts (:func:`broker.spread.scores.client_facts`).
    la, regions
        Per-LA and per-region scores.
    isolated
        Isolated clients with their binding rule.
    bound
        The max-flow bound on matched need.
    flows, resilience
        Deployments between LAs and supporter resilience (``None`` without a round).
    recruitment
        Recruitment targeting (``None`` unless asked for).
    headline
        The headline figures (JSON-ready); ``timings_s`` holds seconds per step,
        the only part that varies from run to run.
    timings
        Seconds per step.
    """

    scenario: Scenario
    candidates: Candidates
    round: SolvedRound | None
    clients: pd.DataFrame
    la: pd.DataFrame
    regions: pd.DataFrame
    isolated: pd.DataFrame
    bound: FlowBound
    flows: pd.DataFrame | None
    resilience: pd.DataFrame | None
    recruitment: Recruitment | None
    headline: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def analyse(
    scenario: Scenario,
    *,
    round_: SolvedRound | None = None,
    candidates: Candidates | None = None,
    recruit_k: int = 0,
    pool: pd.DataFrame | None = None,
    pool_label: str = "designation pool",
    resilience_top: int = 10,
    recruit_time_s: float = 10.0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> SpreadReport:
    """Run the spread analysis.

    Parameters
    ----------
    scenario
        The scenario.
    round_
        Optional solved round (flows, cross-LA shares, resilience, unmatched targets).
    candidates
        Its candidates, if already built.
    recruit_k
        Schools to designate in recruitment targeting (0: skip).
    pool
        Pool of designable schools (supporters format); default
        :func:`broker.spread.recruit.designation_pool`.
    pool_label
        Name of the pool in error messages.
    resilience_top
        Supporters whose loss estimate to refine by local re-solves (see
        :func:`broker.spread.resilience.supporter_resilience`).
    recruit_time_s
        Wall-clock safety limit of the exact recruitment model.
    seed
        CP-SAT seed (only used when CP-SAT is chosen for a local solve).
    progress
        Optional callback for one-line progress messages.
    """
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}

    def timed(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 4)
        say(f"{name}: {timings[name]:.2f}s")

    t = time.perf_counter()
    cand = candidates if candidates is not None else build_candidates(scenario)
    p = cand.problem
    timed("candidates", t)
    t = time.perf_counter()
    facts = client_facts(scenario, cand, round_)
    la = la_scores(scenario, cand, round_, facts=facts)
    regions = region_scores(scenario, cand, round_, facts=facts)
    iso = isolated_clients(scenario, cand)
    indices = spread_indices(la)
    timed("scores", t)
    t = time.perf_counter()
    need_c = np.rint(scenario.clients["need_days"].to_numpy(float) * DAY_SCALE).astype(np.int64)
    bound = coverage_bound(p, need_centidays=need_c)
    timed("maxflow", t)
    flows = res = None
    if round_ is not None:
        t = time.perf_counter()
        flows = flow_table(scenario, p, round_.pairs)
        timed("flows", t)
        t = time.perf_counter()
        res = supporter_resilience(
            p,
            round_.pairs,
            level1_optimal=round_.level1_optimal,
            refine_top=resilience_top,
            seed=seed,
        )
        res = annotate(
            res,
            dict(
                zip(
                    scenario.supporters["supporter_id"],
                    scenario.supporters["la_code"].astype(str),
                    strict=True,
                )
            ),
        )
        timed("resilience", t)
    rec = None
    if recruit_k > 0:
        t = time.perf_counter()
        if pool is None:
            from broker.spread.recruit import designation_pool

            pool = designation_pool(scenario)
        rec = recruitment_targets(
            scenario,
            pool,
            recruit_k,
            round_=round_,
            time_limit_s=recruit_time_s,
            seed=seed,
            label=pool_label,
        )
        if round_ is not None:  # say when budgets or capacity, not reach, bind
            from broker.explain.binding import binding_counts

            rec.summary["binding"] = binding_counts(cand, round_.pairs)
        timed("recruitment", t)
    headline = _headline(scenario, p, facts, iso, indices, bound, round_, res, rec)
    headline["timings_s"] = dict(timings)
    return SpreadReport(
        scenario, cand, round_, facts, la, regions, iso, bound, flows, res, rec, headline, timings
    )


def _r(x: float, n: int = 4) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), n)


def _headline(
    scenario: Scenario,
    p,
    facts: pd.DataFrame,
    iso: pd.DataFrame,  # type: ignore[no-untyped-def]
    indices: dict[str, float],
    bound: FlowBound,
    round_: SolvedRound | None,
    res: pd.DataFrame | None,
    rec: Recruitment | None,
) -> dict[str, Any]:
    need = facts["need_days"].to_numpy(float)
    pneed = facts["priority_need"].to_numpy(float)
    reach = facts["in_reach"].to_numpy(bool)
    h: dict[str, Any] = {
        "scenario": scenario.name,
        "clients": int(len(facts)),
        "supporters": int(p.n_supporters),
        "candidate_pairs": int(p.n_pairs),
        "need_days": _r(need.sum(), 2),
        "supply_days": _r(p.capacity.sum() / DAY_SCALE, 2),
        "share_need_in_reach": _r(need[reach].sum() / need.sum()) if need.sum() else None,
        "share_priority_need_in_reach": (
            _r(pneed[reach].sum() / pneed.sum()) if pneed.sum() else None
        ),
        "isolated_clients": int(len(iso)),
        "isolated_by_reason": {
            str(k): int(v) for k, v in iso["reason_code"].value_counts().sort_index().items()
        },
        "maxflow_bound_days": _r(bound.days, 2),
        "maxflow_method": bound.method,
        "spread": {k: (_r(v) if isinstance(v, float) else v) for k, v in indices.items()},
    }
    if round_ is not None:
        matched = facts["matched"].to_numpy(bool)
        cross = facts["cross_la"].to_numpy(bool)
        m_need = float(need[matched].sum())
        h["round"] = {
            "source": round_.source,
            "solver": round_.solver,
            "level1_optimal": round_.level1_optimal,
            "clients_matched": int(matched.sum()),
            "need_days_matched": _r(m_need, 2),
            "priority_matched": int(p.priority[matched].sum()),
            "share_of_maxflow_bound": _r(m_need / bound.days) if bound.days else None,
            "share_matched_cross_la": _r(need[cross].sum() / m_need) if m_need else None,
            "high_need": high_need_share(
                scenario.clients, scenario.clients["client_id"].to_numpy()[matched]
            ),
        }
        if res is not None and len(res):
            top = res.iloc[0]
            h["round"]["most_depended_on"] = {
                "supporter_id": str(top["supporter_id"]),
                "la_name": str(top["la_name"]),
                "loss_estimate": int(top["loss_estimate"]),
                "method": str(top["method"]),
                "bound": str(top["bound"]),
            }
    if rec is not None:
        h["recruitment"] = rec.summary
    return h


def format_headline(report: SpreadReport) -> str:
    """Headline figures as a few readable lines."""
    h = report.headline
    s = h["spread"]
    assert isinstance(s, dict)
    lines = [
        f"spread: {h['scenario']}",
        f"  clients {h['clients']:,}, supporters {h['supporters']:,}, allowed pairs "
        f"{h['candidate_pairs']:,}; need {h['need_days']:g} days/week, supply "
        f"{h['supply_days']:g} days/week",
        f"  need with a supporter in reach: {_pct(h['share_need_in_reach'])} "
        f"(priority-weighted {_pct(h['share_priority_need_in_reach'])}); isolated clients "
        f"{h['isolated_clients']}"
        + (
            " (" + ", ".join(f"{k} {v}" for k, v in h["isolated_by_reason"].items()) + ")"  # type: ignore[union-attr]
            if h["isolated_clients"]
            else ""
        ),
        f"  spread across {s['las_with_need']} LAs with need: Gini of supply-in-reach per "
        f"need {_num(s['gini_balance_in_reach'])}, Theil {_num(s['theil_balance_in_reach'])} "
        f"({_pct(s['theil_between_regions_share'])} between regions); "
        f"{s['las_without_local_supply']} LAs have no supporter of their own",
        f"  max-flow bound on matched need: {h['maxflow_bound_days']:g} days/week of "
        f"{h['need_days']:g} (no solver can match more)",
    ]
    if "round" in h:
        r = h["round"]
        assert isinstance(r, dict)
        lines.append(
            f"  round ({r['solver'] or 'unknown solver'}): matched {r['clients_matched']} "
            f"clients, {r['need_days_matched']:g} days/week = "
            f"{_pct(r['share_of_maxflow_bound'])} of the bound; served across LA "
            f"boundaries {_pct(r['share_matched_cross_la'])}"
        )
        if r.get("high_need"):
            hn = r["high_need"]
            lines.append(
                f"  high-need schools: {_pct(hn['share_of_matched_need'])} of matched need "
                f"({_pct(hn['share_of_need'])} of all need); {hn['matched']} of "
                f"{hn['clients']} matched"
            )
        if "most_depended_on" in r:
            m = r["most_depended_on"]
            lines.append(
                f"  most depended-on supporter: {m['supporter_id']} ({m['la_name']}), "
                f"losing it costs up to {m['loss_estimate']} priority "
                f"[{m['method']}, {m['bound'].replace('_', ' ')}]"
            )
    if "recruitment" in h:
        r = h["recruitment"]
        assert isinstance(r, dict)
        lines.append(
            f"  recruitment: designating {r['designated']} of {r['pool_schools']} "
            f"pool schools (+{r['added_capacity_days']:g} days/week on "
            f"{r['current_capacity_days']:g}) brings {r['covered_clients']} of "
            f"{r['target_clients']} {r['targets']} within reach "
            f"({_pct(r['covered_share'])} of their {r['weight'].replace('_', ' x ')}; "
            f"{r['method']}{', optimal' if r['optimal'] else ''})"
        )
        if "binding" in r:
            from broker.explain.binding import binding_sentence

            sentence = binding_sentence(r["binding"])  # type: ignore[arg-type]
            if sentence:
                lines.append(f"  {sentence}")
    return "\n".join(lines)


def _pct(v: object) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f}%"  # type: ignore[arg-type]


def _num(v: object) -> str:
    return "n/a" if v is None else f"{float(v):.3f}"  # type: ignore[arg-type]


def write_report(
    report: SpreadReport, out: str | Path, *, maps: bool = True, map_score: str = "balance_in_reach"
) -> dict[str, Path]:
    """Write the tables (CSV), ``headline.json`` and maps (PNG) into ``out``.

    Files: ``la_scores.csv``, ``region_scores.csv``, ``isolated_clients.csv``,
    ``headline.json``; with a round ``flows.csv`` and ``resilience.csv``; with
    recruitment ``recruitment_targets.csv``; maps ``map_<score>.png`` (and
    ``map_share_need_in_reach.png``, ``map_flows.png`` with a round).
    """
    from broker.spread import maps as m

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    def csv(name: str, frame: pd.DataFrame) -> None:
        path = folder / f"{name}.csv"
        floats = frame.select_dtypes("float").columns
        write_csv(frame.assign(**{c: frame[c].round(6) for c in floats}), path)
        paths[name] = path

    csv("la_scores", report.la)
    csv("region_scores", report.regions)
    csv("isolated_clients", report.isolated)
    if report.flows is not None:
        csv("flows", report.flows)
    if report.resilience is not None:
        csv("resilience", report.resilience)
    if report.recruitment is not None:
        csv("recruitment_targets", report.recruitment.targets)
    paths["headline"] = folder / "headline.json"
    paths["headline"].write_text(
        json.dumps(report.headline, indent=2, default=_json) + "\n", encoding="utf-8"
    )
    if maps:
        reach = report.clients["in_reach"].to_numpy(bool)
        h = report.headline
        sub = (
            f"{h['clients']:,} clients, {h['supporters']:,} supporters; need in reach "
            f"{_pct(h['share_need_in_reach'])}; isolated {h['isolated_clients']}"
        )
        scores = [map_score] + [s for s in ("share_need_in_reach",) if s != map_score]
        for score in scores:
            paths[f"map_{score}"] = m.la_map(
                report.la,
                report.scenario,
                folder / f"map_{score}.png",
                column=score,
                in_reach=reach,
                subtitle=sub,
            )
        if report.flows is not None:
            r = h["round"]
            assert isinstance(r, dict)
            paths["map_flows"] = m.flow_map(
                report.flows,
                report.scenario,
                folder / "map_flows.png",
                subtitle=f"{r['clients_matched']} deployments; "
                f"{_pct(r['share_matched_cross_la'])} of matched need served "
                "across LA boundaries",
            )
    return paths


def _json(v: object) -> object:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return str(v)
