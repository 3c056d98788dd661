"""The hard rules as candidate stages: one function per rule over the pair table.

Each stage takes the :class:`~broker.candidates.context.Context` and the current
:class:`PairTable` and returns a boolean mask of the pairs that obey its rule (it
may also attach columns later stages or the encoder need, such as the pair's
mode). :data:`STAGES` fixes their order; the first stage that removes a client's
last supporter is that client's reason. Adding a rule is adding one function and
one entry.

Rules (numbering as in ``docs/scenario-format.md``):

``reach`` (rule 4)
    straight-line distance <= the supporter's ``max_distance_km`` (else the default);
``phase`` (rule 3)
    the client's phase is among the supporter's, or cross-phase work is allowed;
``mode`` (rule 8)
    the supporter offers one of the modes the client accepts (for a team's second
    member, one of its ``second_mode``); the pair's mode is the first such mode in
    the client's order;
``network`` (rule 5)
    a supporter with a ``network`` serves only clients of that network (with
    ``[defaults] network = "prefer"`` others too, at a level-2 penalty);
``authority`` (rule 5)
    the client's authority rule (``own_only``: same LA; ``neighbours``: same or
    adjacent LA);
``capacity`` (rule 2)
    the client's need fits in the supporter's capacity in every term it covers;
``expertise`` (rule 9)
    the supporter has every tag in the client's ``must`` list;
``conflict`` (rule 6)
    not listed in ``conflicts.csv``, not a school paired with itself, and not a
    supporter kind the client excludes (``exclude_kinds``);
``budget`` (rule 7)
    the package cost fits the client's, its funder's and the programme's budget;
``team`` (rule 1)
    a client that needs a team of two keeps its pairs only if a lead and a second,
    two different supporters, are both still possible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from broker.candidates.context import Context
from broker.problem import LEAD, SECOND
from broker.units import gbp_to_int, package_cost_int


@dataclass(eq=False)
class PairTable:
    """Candidate pairs as columns of equal length (``k``-th entry = pair ``k``)."""

    client: np.ndarray
    supporter: np.ndarray
    role: np.ndarray
    dist_m: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.client)

    def keep(self, ok: np.ndarray) -> PairTable:
        return PairTable(
            self.client[ok],
            self.supporter[ok],
            self.role[ok],
            self.dist_m[ok],
            {k: v[ok] for k, v in self.extra.items()},
        )

    def __getitem__(self, name: str) -> np.ndarray:
        return self.extra[name]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self.extra[name] = np.asarray(values)

    @property
    def need(self) -> np.ndarray:
        """Centidays per week of each pair (the second member's need for role 1)."""
        return self["need"]


def generate(ctx: Context) -> PairTable:
    """Every (client, supporter) within the largest reach, one pair per role needed.

    A k-d tree over projected coordinates (EPSG:27700, metres) gives the pairs;
    a client with ``team_size`` 2 gets each pair twice, once per role.
    """
    n_c, n_s = ctx.n_clients, ctx.n_supporters
    if n_c and n_s:
        rmax = float(ctx.reach_km.max()) * 1000.0
        near = cKDTree(ctx.cxy).sparse_distance_matrix(
            cKDTree(ctx.sxy), rmax, output_type="ndarray"
        )
        pc = near["i"].astype(np.int64)
        ps = near["j"].astype(np.int64)
        dist = near["v"].astype(float)
    else:
        pc = ps = np.zeros(0, np.int64)
        dist = np.zeros(0)
    team = ctx.c_team[pc] == 2
    pc = np.concatenate([pc, pc[team]])
    ps = np.concatenate([ps, ps[team]])
    dist = np.concatenate([dist, dist[team]])
    role = np.concatenate([np.full(len(team), LEAD), np.full(int(team.sum()), SECOND)])
    order = np.lexsort((ps, role, pc))
    t = PairTable(pc[order], ps[order], role[order].astype(np.int64), dist[order])
    t["need"] = np.where(t.role == SECOND, ctx.c_need2[t.client], ctx.c_need[t.client])
    return t


def reach(ctx: Context, t: PairTable) -> np.ndarray:
    return t.dist_m <= ctx.reach_km[t.supporter] * 1000.0 + 1e-6


def phase(ctx: Context, t: PairTable) -> np.ndarray:
    same = (ctx.c_phase[t.client] & ctx.s_phase[t.supporter]) != 0
    t["cross"] = ~same
    return same | ctx.s_cross_ok[t.supporter]


def mode(ctx: Context, t: PairTable) -> np.ndarray:
    """Pick each pair's mode: the client's first accepted mode the supporter offers."""
    offered = ctx.s_modes[t.supporter]
    prefs = np.where((t.role == SECOND)[:, None], ctx.c_modes2[t.client], ctx.c_modes[t.client])
    chosen = np.full(len(t), -1, dtype=np.int64)
    for col in range(prefs.shape[1]):
        m = prefs[:, col]
        hit = (chosen < 0) & (m >= 0) & (((offered >> np.maximum(m, 0)) & 1) == 1)
        chosen[hit] = m[hit]
    anything = prefs[:, 0] < 0  # the client accepts any mode: the supporter's first
    first = ctx.s_mode_order[t.supporter, 0]
    chosen[anything] = first[anything]
    t["mode"] = chosen
    return chosen >= 0


def network(ctx: Context, t: PairTable) -> np.ndarray:
    snet = ctx.s_net[t.supporter]
    inside = (snet == "") | (snet == ctx.c_net[t.client])
    t["outside_network"] = ~inside
    if ctx.scenario.config.network_rule == "prefer":
        return np.ones(len(t), dtype=bool)  # others allowed, at a level-2 penalty
    return inside


def authority(ctx: Context, t: PairTable) -> np.ndarray:
    a = ctx.scenario.authorities
    rules = dict(zip(a["la_code"], a["cross_la"], strict=True)) if len(a) else {}
    cmode = np.array([rules.get(code, "allow") for code in ctx.c_la], dtype=object)[t.client]
    same = ctx.c_la[t.client] == ctx.s_la[t.supporter]
    ok = (cmode != "own_only") | same
    nb = cmode == "neighbours"
    if nb.any():
        pairs = neighbour_pairs(ctx)
        adjacent = np.array(
            [
                (x, y) in pairs
                for x, y in zip(ctx.c_la[t.client], ctx.s_la[t.supporter], strict=True)
            ],
            dtype=bool,
        )
        ok &= ~nb | same | adjacent
    t["other_la"] = (cmode == "prefer_own") & ~same
    return ok


def neighbour_pairs(ctx: Context) -> set[tuple[str, str]]:
    """Adjacent LA pairs (both orders): from authorities.csv if given, else bundled data."""
    a = ctx.scenario.authorities
    given = [
        (code, n)
        for code, ns in zip(a.get("la_code", []), a.get("neighbours", []), strict=True)
        for n in ns
    ]
    if given:
        return {p for c, n in given for p in ((c, n), (n, c))}
    from broker.data import load_la_adjacency

    adj = load_la_adjacency()
    pairs = set(zip(adj["la_code_a"], adj["la_code_b"], strict=True))
    return pairs | {(b, a) for a, b in pairs}


def capacity(ctx: Context, t: PairTable) -> np.ndarray:
    ok = np.ones(len(t), dtype=bool)
    terms = ctx.c_terms[t.client]
    for term in range(ctx.s_cap.shape[1]):
        on = ((terms >> term) & 1) == 1
        ok &= ~on | (t.need <= ctx.s_cap[t.supporter, term])
    return ok


def expertise(ctx: Context, t: PairTable) -> np.ndarray:
    must = ctx.c_must[t.client]
    return (must & ctx.s_tags[t.supporter]) == must


def conflict(ctx: Context, t: PairTable) -> np.ndarray:
    con = ctx.scenario.conflicts
    n_s = max(ctx.n_supporters, 1)
    key = t.client * n_s + t.supporter
    bad = np.zeros(0, dtype=np.int64)
    if len(con):
        cid = {c: i for i, c in enumerate(ctx.client_ids)}
        sid = {s: j for j, s in enumerate(ctx.supporter_ids)}
        bad = con["client_id"].map(cid).to_numpy(np.int64) * n_s + con["supporter_id"].map(
            sid
        ).to_numpy(np.int64)
        # a listed conflict forbids the pair in every role
    curn = ctx.c_urn[t.client]
    self_pair = (curn != "") & (curn == ctx.s_urn[t.supporter])
    excluded = ((ctx.c_exclude[t.client] >> ctx.s_kind[t.supporter]) & 1) == 1
    return ~np.isin(key, bad) & ~self_pair & ~excluded


def budget(ctx: Context, t: PairTable) -> np.ndarray:
    """Package cost within the client's, its funder's and the programme's budget.

    Attaches ``cost`` (£0.0001) and ``funder`` (a funder key per pair: ``la:<code>``,
    ``programme:<name>`` or ``school``).
    """
    cfg = ctx.scenario.config
    cost = package_cost_int(t.need, ctx.c_weeks[t.client], ctx.s_rate[t.supporter])
    t["cost"] = cost
    funder = np.array(ctx.mode_funder, dtype=object)[t["mode"]] if len(t) else np.zeros(0, object)
    la_key = np.array(["la:" + x for x in ctx.c_la], dtype=object)[t.client]
    funder = np.where(funder == "authority", la_key, funder)
    t["funder"] = funder
    cb = ctx.c_budget[t.client]
    ok = np.isnan(cb) | (cost <= gbp_to_int(np.nan_to_num(cb)))
    limits = funder_budgets(ctx)
    fb = np.array([limits.get(f, -1) for f in funder], dtype=np.int64)
    ok &= (fb < 0) | (cost <= fb)
    if cfg.programme_budget_gbp is not None:
        ok &= cost <= int(gbp_to_int(cfg.programme_budget_gbp))
    return ok


def funder_budgets(ctx: Context) -> dict[str, int]:
    """Budget of every funder with one (£0.0001): ``la:<code>`` and ``programme:<name>``."""
    out: dict[str, int] = {}
    a = ctx.scenario.authorities
    if len(a):
        for code, b in zip(a["la_code"], a["budget_gbp"], strict=True):
            if not np.isnan(b):
                out[f"la:{code}"] = int(gbp_to_int(float(b)))
    for name, b in ctx.scenario.config.funder_budgets_gbp.items():
        out[f"programme:{name}"] = int(gbp_to_int(b))
    return out


def team(ctx: Context, t: PairTable) -> np.ndarray:
    """A team of two needs a lead and a second, two different people: drop every pair
    of a team client that cannot have both."""
    n_c = ctx.n_clients
    lead, second = t.role == LEAD, t.role == SECOND
    n_lead = np.bincount(t.client[lead], minlength=n_c)
    n_second = np.bincount(t.client[second], minlength=n_c)
    first_lead = np.full(n_c, -1, dtype=np.int64)
    first_second = np.full(n_c, -1, dtype=np.int64)
    first_lead[t.client[lead][::-1]] = t.supporter[lead][::-1]
    first_second[t.client[second][::-1]] = t.supporter[second][::-1]
    only_one = (n_lead == 1) & (n_second == 1) & (first_lead == first_second)
    ok = (ctx.c_team != 2) | ((n_lead > 0) & (n_second > 0) & ~only_one)
    return ok[t.client]


Stage = Callable[[Context, PairTable], np.ndarray]

STAGE_FUNCTIONS: tuple[tuple[str, Stage], ...] = (
    ("reach", reach),
    ("phase", phase),
    ("mode", mode),
    ("network", network),
    ("authority", authority),
    ("capacity", capacity),
    ("expertise", expertise),
    ("conflict", conflict),
    ("budget", budget),
    ("team", team),
)
STAGES: tuple[str, ...] = tuple(name for name, _ in STAGE_FUNCTIONS)

RULE_TEXT = {
    "reach": "rule 4 (distance): the schools are {dist:.1f} km apart, beyond the supporter's "
    "reach of {reach:g} km",
    "phase": "rule 3 (phase): the client's phase is not among the supporter's phases and "
    "cross-phase work is not allowed",
    "mode": "rule 8 (mode): the supporter does not offer a mode of support the client needs",
    "network": "network rule: the supporter serves only its own network",
    "authority": "rule 5 (authority): the client's authority does not accept supporters "
    "from this authority",
    "capacity": "rule 2 (capacity): the client's need exceeds the supporter's capacity",
    "expertise": "rule 9 (expertise): the supporter lacks expertise the client must have",
    "conflict": "rule 6 (conflicts): the pair is listed in conflicts.csv, is a school paired "
    "with itself, or is of a kind the client excludes",
    "budget": "rule 7 (cost): the package costs more than the client's, its funder's or "
    "the programme's budget",
    "team": "rule 1 (teams): the client needs a team of two, and no other supporter is "
    "allowed beside this one",
}
