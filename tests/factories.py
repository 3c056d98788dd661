"""Builders for small scenarios used across the tests."""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st

from broker.scenario import Config, Scenario, Weights, from_frames

BASE_E, BASE_N = 450_000.0, 300_000.0  # Leicestershire, British National Grid


def supporter(
    sid: str,
    phase: str = "primary",
    *,
    x_km: float = 0.0,
    y_km: float = 0.0,
    capacity: float = 2.0,
    rate: float = 500.0,
    la: str = "855",
    kind: str = "nle",
    **extra: object,
) -> dict[str, object]:
    return {
        "supporter_id": sid,
        "kind": kind,
        "phase": phase,
        "la_code": la,
        "easting": BASE_E + 1000 * x_km,
        "northing": BASE_N + 1000 * y_km,
        "capacity_days": capacity,
        "day_rate_gbp": rate,
        **extra,
    }


def client(
    cid: str,
    phase: str = "primary",
    *,
    x_km: float = 0.0,
    y_km: float = 0.0,
    need: float = 1.0,
    priority: int = 1,
    la: str = "855",
    **extra: object,
) -> dict[str, object]:
    return {
        "client_id": cid,
        "phase": phase,
        "la_code": la,
        "easting": BASE_E + 1000 * x_km,
        "northing": BASE_N + 1000 * y_km,
        "need_days": need,
        "priority": priority,
        **extra,
    }


def scenario(
    supporters: list[dict],
    clients: list[dict],
    *,
    authorities: list[dict] | None = None,
    conflicts: list[tuple[str, str]] | None = None,
    pinned: list[tuple[str, ...]] | None = None,
    proposals: list[tuple[str, ...]] | None = None,
    **config: object,
) -> Scenario:
    """A validated scenario; ``conflicts``, ``pinned`` and ``proposals`` are
    (client, supporter) pairs, the last two optionally with a role."""
    cfg = Config(name=str(config.pop("name", "test")), **config)  # type: ignore[arg-type]

    def pairs(rows: list[tuple[str, ...]] | None) -> pd.DataFrame | None:
        if not rows:
            return None
        cols = ["client_id", "supporter_id", "role"][: max(len(r) for r in rows)]
        return pd.DataFrame(
            [tuple(r) + ("lead",) * (len(cols) - len(r)) for r in rows], columns=cols
        )

    return from_frames(
        cfg,
        pd.DataFrame(supporters),
        pd.DataFrame(clients),
        pd.DataFrame(authorities) if authorities else None,
        pd.DataFrame(conflicts, columns=["client_id", "supporter_id"]) if conflicts else None,
        pairs(pinned),
        proposals=pairs(proposals),
    )


PHASES = ["primary", "secondary", "special"]


KINDS = ["nle", "nle", "lle", "len_lead", "achievement_partner", "leading_edge"]
CATEGORIES = ["", "requires_improvement", "inadequate"]
TAGS = ["send", "behaviour", "maths"]


@st.composite
def small_scenarios(
    draw: st.DrawFn,
    max_supporters: int = 5,
    max_clients: int = 8,
    with_pins: bool = True,
    rich: bool = True,
) -> Scenario:
    """Small valid scenarios that exercise every hard rule.

    Points lie in a 60 km square so distance binds; two authorities with random
    rules and budgets; random conflicts; pins drawn from pairs that are valid on
    their own (a pin set that is infeasible together is rejected by validation and
    so filtered out by the tests).
    """
    n_s = draw(st.integers(1, max_supporters))
    n_c = draw(st.integers(1, max_clients))
    coord = st.integers(0, 60)
    # the format's later features (terms, kinds and modes, teams, expertise, funders,
    # exclusions, proposals, continuity, soft networks, high need), each sometimes
    terms = draw(st.sampled_from([1, 1, 2, 3])) if rich else 1
    extras = rich and draw(st.booleans())
    sups = []
    for j in range(n_s):
        phases = draw(st.lists(st.sampled_from(PHASES), min_size=1, max_size=2, unique=True))
        sups.append(
            supporter(
                f"S{j}",
                ";".join(phases),
                x_km=draw(coord),
                y_km=draw(coord),
                capacity=draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5])),
                rate=draw(st.sampled_from([300.0, 450.5, 600.0])),
                la=draw(st.sampled_from(["855", "856"])),
                max_distance_km=draw(st.sampled_from([None, 20.0, 35.0])),
                cross_phase=draw(st.booleans()),
                network=draw(st.sampled_from(["", "", "north"])),
            )
        )
        if terms > 1 and draw(st.booleans()):
            caps = draw(
                st.lists(st.sampled_from([0, 0.5, 1.0, 2.0]), min_size=terms, max_size=terms)
            )
            sups[-1]["capacity_by_term"] = ";".join(f"{c:g}" for c in caps)
        if extras:
            sups[-1]["kind"] = draw(st.sampled_from(KINDS))
            sups[-1]["expertise"] = ";".join(
                draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2))
            )
    clis = []
    for i in range(n_c):
        clis.append(
            client(
                f"C{i}",
                draw(st.sampled_from(PHASES)),
                x_km=draw(coord),
                y_km=draw(coord),
                need=draw(st.sampled_from([0.5, 1.0, 1.5, 2.0])),
                priority=draw(st.integers(1, 5)),
                la=draw(st.sampled_from(["855", "856"])),
                budget_gbp=draw(st.sampled_from([None, None, 20_000.0, 40_000.0])),
                network=draw(st.sampled_from(["", "north"])),
            )
        )
        c = clis[-1]
        if terms > 1:
            start = draw(st.integers(1, terms))
            c["start_term"] = start
            c["terms"] = draw(st.integers(1, terms - start + 1))
        if extras:
            c["category"] = draw(st.sampled_from(CATEGORIES))
            if draw(st.integers(0, 3)) == 0:
                c["team_size"] = 2
                c["second_need_days"] = draw(st.sampled_from([0.5, 1.0]))
            c["needs"] = ";".join(draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2)))
            if draw(st.integers(0, 4)) == 0:
                c["must"] = draw(st.sampled_from(TAGS))
            if draw(st.integers(0, 4)) == 0:
                c["exclude_kinds"] = draw(st.sampled_from(["lle", "achievement_partner"]))
            if draw(st.booleans()):
                c["previous_supporter_id"] = f"S{draw(st.integers(0, n_s - 1))}"
            c["high_need"] = draw(st.booleans())
    authorities = [
        {
            "la_code": code,
            "cross_la": draw(st.sampled_from(["allow", "prefer_own", "own_only", "neighbours"])),
            "budget_gbp": draw(st.sampled_from([None, 30_000.0, 60_000.0])),
            "neighbours": draw(st.sampled_from(["", "856" if code == "855" else "855"])),
        }
        for code in ("855", "856")
    ]
    if all(a["neighbours"] == "" for a in authorities):
        authorities[0]["neighbours"] = "857"  # keeps adjacency local (no bundled data needed)
    conflicts = draw(
        st.lists(
            st.tuples(
                st.sampled_from([c["client_id"] for c in clis]),
                st.sampled_from([s["supporter_id"] for s in sups]),
            ),
            max_size=3,
            unique=True,
        )
    )
    pinned: list[tuple[str, str]] = []
    if with_pins and draw(st.booleans()):
        c = draw(st.sampled_from(clis))
        s = draw(st.sampled_from(sups))
        if (c["client_id"], s["supporter_id"]) not in conflicts:
            pinned = [(c["client_id"], s["supporter_id"])]
    programme = draw(st.sampled_from([None, None, 80_000.0]))
    config: dict[str, object] = {"terms": terms}
    proposals: list[tuple[str, str]] = []
    if extras:
        funders = draw(
            st.sampled_from([{}, {"network_support": "authority"}, {"coaching": "programme:fund"}])
        )
        config["funders"] = funders
        # a budget only for a programme that pays for a mode (scenario.toml refuses others)
        if "programme:fund" in funders.values():
            config["funder_budgets_gbp"] = draw(st.sampled_from([{}, {"fund": 15_000.0}]))
        config["high_need_weight"] = draw(st.sampled_from([0.0, 0.0, 1.5]))
        config["no_school_isolated"] = draw(st.booleans())
        config["network_rule"] = draw(st.sampled_from(["hard", "prefer"]))
        proposals = draw(
            st.lists(
                st.tuples(
                    st.sampled_from([c["client_id"] for c in clis]),
                    st.sampled_from([s["supporter_id"] for s in sups]),
                ),
                max_size=3,
                unique_by=lambda t: t[0],
            )
        )
        proposals = [p for p in proposals if p not in conflicts]
    return scenario(
        sups,
        clis,
        authorities=authorities,
        conflicts=conflicts,
        pinned=pinned,
        proposals=proposals,
        max_distance_km=30.0,
        weeks=draw(st.sampled_from([10, 39])),
        allow_cross_phase=draw(st.booleans()),
        programme_budget_gbp=programme,
        weights=Weights(
            cost_per_1000_gbp=1.0,
            distance_per_km=1.0,
            cross_phase=draw(st.sampled_from([0.0, 50.0])),
            other_la=25.0,
        ),
        **config,
    )


def rebuild(p, **changes):  # type: ignore[no-untyped-def]
    """``p`` rebuilt through :meth:`ProblemData.create` with structured changes
    (``capacity``, ``client_group``, ``group_budget``, ``programme_budget``,
    ``required``, ``pinned`` ...). Limits other than capacity are not carried over:
    use it on problems whose only limits are capacities, as the tests do."""
    from broker.problem import ProblemData

    args = dict(
        client_ids=p.client_ids,
        supporter_ids=p.supporter_ids,
        priority=p.priority,
        capacity=p.capacity,
        pair_client=p.pair_client,
        pair_supporter=p.pair_supporter,
        pair_role=p.pair_role,
        pair_load=p.pair_load,
        pair_cost=p.pair_cost,
        pair_level2=p.pair_level2,
        pair_distance_km=p.pair_distance_km,
        pair_flags=p.pair_flags,
        required=p.required,
        team_size=p.team_size,
        pinned=p.pinned,
        name=p.name,
    )
    args.update(changes)
    return ProblemData.create(**args)


def client_options(p) -> list[list[tuple[int, ...]]]:  # type: ignore[no-untyped-def]
    """Every way each client can be served: nobody, one lead, or a lead and a second
    supporter (teams); a pinned client only its pins."""
    starts = p.client_pair_ranges()
    pins = set(p.pinned.tolist())
    options = []
    for i in range(p.n_clients):
        ks = range(starts[i], starts[i + 1])
        leads = [k for k in ks if p.pair_role[k] == 0]
        seconds = [k for k in ks if p.pair_role[k] == 1]
        if p.team_size[i] == 1:
            opts = [(k,) for k in leads]
        else:
            opts = [
                (a, b) for a in leads for b in seconds if p.pair_supporter[a] != p.pair_supporter[b]
            ]
        pinned = [o for o in opts if pins & set(ks) <= set(o)] if pins & set(ks) else opts
        options.append(pinned if pins & set(ks) else [(), *opts])
    return options
