"""Everything the candidate stages read from a scenario, encoded once as arrays.

IDs, phases, modes, expertise tags and kinds become integer indices or bit masks
here, so the rule stages (:mod:`broker.candidates.stages`) are vectorised filters
over a pair table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from broker.rules.modes import Catalogue, load_modes
from broker.scenario import schema
from broker.scenario.model import Scenario
from broker.units import days_to_int


def _mask(items: tuple[str, ...], index: dict[str, int]) -> int:
    out = 0
    for x in items:
        out |= 1 << index[x]
    return out


@dataclass(frozen=True, eq=False)
class Context:
    """Scenario arrays for the candidate stages (clients ``i``, supporters ``j``)."""

    scenario: Scenario
    catalogue: Catalogue
    mode_ids: tuple[str, ...]
    client_ids: tuple[str, ...]
    supporter_ids: tuple[str, ...]
    cxy: np.ndarray
    sxy: np.ndarray
    reach_km: np.ndarray
    # per client
    c_phase: np.ndarray
    c_la: np.ndarray
    c_net: np.ndarray
    c_urn: np.ndarray
    c_need: np.ndarray  # centidays, lead
    c_need2: np.ndarray  # centidays, second
    c_weeks: np.ndarray
    c_team: np.ndarray
    c_terms: np.ndarray  # bit mask of terms
    c_modes: np.ndarray  # (n_c, L) preferred mode index, -1 padded; all -1: any mode
    c_modes2: np.ndarray  # the same for the second supporter
    c_needs: np.ndarray  # tag mask
    c_must: np.ndarray  # tag mask
    c_exclude: np.ndarray  # kind mask
    c_previous: np.ndarray  # supporter index of the previous supporter, -1
    c_budget: np.ndarray  # float pounds, NaN = none
    # per supporter
    s_phase: np.ndarray
    s_la: np.ndarray
    s_net: np.ndarray
    s_urn: np.ndarray
    s_cross_ok: np.ndarray
    s_cap: np.ndarray  # (n_s, n_terms) centidays
    s_rate: np.ndarray
    s_modes: np.ndarray  # mode mask
    s_mode_order: np.ndarray  # (n_s, M) offered mode index in the supporter's order
    s_tags: np.ndarray
    s_kind: np.ndarray  # kind index
    mode_penalty: np.ndarray  # per mode index
    mode_funder: tuple[str, ...]  # per mode index

    @property
    def n_clients(self) -> int:
        return len(self.client_ids)

    @property
    def n_supporters(self) -> int:
        return len(self.supporter_ids)


def _pad(rows: list[tuple[int, ...]], width: int) -> np.ndarray:
    out = np.full((len(rows), max(width, 1)), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def build_context(scenario: Scenario) -> Context:
    """Encode ``scenario`` for the candidate stages."""
    cfg = scenario.config
    sup, cli = scenario.supporters, scenario.clients
    cat = load_modes()
    mode_ids = tuple(cat.modes)
    mode_index = {m: k for k, m in enumerate(mode_ids)}
    tag_index = {t: k for k, t in enumerate(cat.expertise_tags)}
    kind_index = {k: n for n, k in enumerate(schema.KINDS)}
    n_s = len(sup)
    sid_index = {s: j for j, s in enumerate(sup["supporter_id"].astype(str))}

    def col(frame, name, default):  # type: ignore[no-untyped-def]
        return frame[name] if name in frame.columns else [default] * len(frame)

    reach = sup["max_distance_km"].to_numpy(float)
    reach = np.where(np.isnan(reach), cfg.max_distance_km, reach)
    c_modes = [tuple(mode_index[m] for m in ms) for ms in col(cli, "mode", ())]
    c_modes2 = [tuple(mode_index[m] for m in ms) for ms in col(cli, "second_mode", ())]
    s_modes_list = [tuple(mode_index[m] for m in ms) for ms in col(sup, "modes", ())]
    width = max([len(r) for r in c_modes + c_modes2 + s_modes_list] + [1])
    start = np.asarray(col(cli, "start_term", 1), dtype=np.int64)
    span = np.asarray(col(cli, "terms", cfg.terms), dtype=np.int64)
    terms = ((1 << span) - 1) << (start - 1)
    cap_rows = list(col(sup, "capacity_by_term", None))
    caps = np.array(
        [
            (t if t is not None else (c,) * cfg.terms)
            for t, c in zip(cap_rows, sup["capacity_days"].to_numpy(float), strict=True)
        ],
        dtype=float,
    ).reshape(n_s, cfg.terms)
    funders = {m: cat.modes[m].funder for m in mode_ids} | dict(cfg.funders)
    need = cli["need_days"].to_numpy(float)
    return Context(
        scenario=scenario,
        catalogue=cat,
        mode_ids=mode_ids,
        client_ids=tuple(cli["client_id"].astype(str)),
        supporter_ids=tuple(sup["supporter_id"].astype(str)),
        cxy=np.column_stack([cli["easting"].to_numpy(float), cli["northing"].to_numpy(float)]),
        sxy=np.column_stack([sup["easting"].to_numpy(float), sup["northing"].to_numpy(float)]),
        reach_km=reach,
        c_phase=cli["phase_mask"].to_numpy(np.int64),
        c_la=cli["la_code"].astype(str).to_numpy(),
        c_net=cli["network"].astype(str).to_numpy(),
        c_urn=cli["urn"].astype(str).to_numpy(),
        c_need=days_to_int(need),
        c_need2=days_to_int(np.asarray(col(cli, "second_need_days", np.nan), float)),
        c_weeks=cli["weeks"].to_numpy(np.int64),
        c_team=np.asarray(col(cli, "team_size", 1), dtype=np.int64),
        c_terms=terms,
        c_modes=_pad(c_modes, width),
        c_modes2=_pad(c_modes2, width),
        c_needs=np.array([_mask(t, tag_index) for t in col(cli, "needs", ())], dtype=np.int64),
        c_must=np.array([_mask(t, tag_index) for t in col(cli, "must", ())], dtype=np.int64),
        c_exclude=np.array(
            [_mask(t, kind_index) for t in col(cli, "exclude_kinds", ())], dtype=np.int64
        ),
        c_previous=np.array(
            [sid_index.get(str(x), -1) for x in col(cli, "previous_supporter_id", "")],
            dtype=np.int64,
        ),
        c_budget=cli["budget_gbp"].to_numpy(float),
        s_phase=sup["phase_mask"].to_numpy(np.int64),
        s_la=sup["la_code"].astype(str).to_numpy(),
        s_net=sup["network"].astype(str).to_numpy(),
        s_urn=sup["urn"].astype(str).to_numpy(),
        s_cross_ok=cfg.allow_cross_phase | sup["cross_phase"].to_numpy(bool),
        s_cap=days_to_int(caps).reshape(n_s, cfg.terms),
        s_rate=sup["day_rate_gbp"].to_numpy(float),
        s_modes=np.array([sum(1 << k for k in r) for r in s_modes_list], dtype=np.int64),
        s_mode_order=_pad(s_modes_list, width),
        s_tags=np.array([_mask(t, tag_index) for t in col(sup, "expertise", ())], dtype=np.int64),
        s_kind=np.array([kind_index[k] for k in sup["kind"]], dtype=np.int64),
        mode_penalty=np.array([cat.modes[m].cross_phase_penalty for m in mode_ids]),
        mode_funder=tuple(funders[m] for m in mode_ids),
    )
