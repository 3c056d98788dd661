r"""Recruitment targeting: which schools to designate so that unmet need comes within reach.

Given a *pool* of schools that meet the designation rules but are not yet
supporters (a supporters-format table with an assumed capacity each), choose at
most :math:`k` of them to designate.

**Targets** are the clients the current supply leaves out: with a round, every
unmatched client; without one, every isolated client (no candidate pair). Target
:math:`t` has weight :math:`w_t` (default :math:`p_t \times n_t`, priority times
need in centidays; or priority alone). A pool school :math:`c` *reaches* target
:math:`t` when the hard rules allow the pair, decided by
:func:`broker.candidates.build_candidates` on the scenario with the pool added
(phase, reach, network, authority, capacity, conflict and budget rules alike).

Weighted maximum coverage::

    maximise   \sum_t w_t z_t
    subject to z_t \le \sum_{c \in N(t)} y_c      every target t
               \sum_c y_c \le k
               y_c, z_t \in \{0, 1\}

Coverage ignores how many clients one new supporter can serve (its capacity): it
answers *where* supply is missing, not how much.

* :func:`exact_cover`: the model above as a MILP on HiGHS (default; with
  :math:`z_t` continuous in [0, 1], which is exact because :math:`z_t = \min(1,
  \sum y_c)` at an optimum; the national instance solves in well under a second
  for any k) or on CP-SAT; reports the proven bound when stopped early.
* :func:`greedy_cover`: repeatedly take the school with the largest marginal
  weight. Coverage is monotone submodular, so greedy achieves at least
  :math:`1-(1-1/k)^k \ge 1-1/e \approx 0.632` of the optimum (Nemhauser, Wolsey
  and Fisher 1978). It also yields an a-posteriori bound: for every greedy
  prefix :math:`S_i`, :math:`OPT \le f(S_i) + ` the sum of the :math:`k` largest
  marginal gains w.r.t. :math:`S_i`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from broker.candidates import build_candidates
from broker.errors import InputError, ProblemCollector
from broker.scenario.model import Scenario
from broker.spread.geography import la_names, la_regions
from broker.spread.rounds import SolvedRound
from broker.units import DAY_SCALE

WEIGHTS = ("priority_need", "priority", "clients")
TARGET_COLUMNS = [
    "rank",
    "supporter_id",
    "name",
    "urn",
    "la_code",
    "la_name",
    "region",
    "phase",
    "capacity_days",
    "new_clients",
    "new_priority",
    "new_need_days",
    "new_weight",
    "cumulative_weight",
    "cumulative_share",
    "method",
]


def greedy_guarantee(k: int) -> float:
    r"""Greedy's worst-case ratio for weighted max coverage, :math:`1-(1-1/k)^k`."""
    return 1.0 - (1.0 - 1.0 / k) ** k if k >= 1 else 1.0


# --------------------------------------------------------------------------- pool


def designation_pool(
    scenario: Scenario,
    *,
    schools: pd.DataFrame | None = None,
    capacity_days: float = 2.0,
    day_rate_gbp: float | None = None,
    las: list[str] | None = None,
) -> pd.DataFrame:
    """Outstanding schools that are not yet supporters, as a supporters-format table.

    Parameters
    ----------
    scenario
        The scenario whose clients are to be reached.
    schools
        The school register (default: the bundled one, :func:`broker.data.load_schools`).
    capacity_days
        Assumed capacity of every new supporter (days per week).
    day_rate_gbp
        Assumed day rate; default the median of the scenario's supporters, to the penny.
    las
        LA codes to draw from; default the LAs of the scenario's clients and their
        neighbours (:func:`broker.spread.graphs.la_graph`).

    Returns
    -------
    pandas.DataFrame
        Columns of ``supporters.csv``: ``supporter_id`` (``"R"`` + URN), ``urn``,
        ``name``, ``kind`` (``nle``), ``phase`` (all-through schools may serve
        primary and secondary), ``la_code``, ``easting``, ``northing``,
        ``capacity_days``, ``day_rate_gbp``. State-funded schools graded
        outstanding (grade 1) in the 2024 register whose URN is not already a
        supporter's or a client's.
    """
    from broker.generate.real import usable_schools
    from broker.spread.graphs import la_graph

    if schools is None:
        from broker.data import load_schools

        schools = load_schools()
    if las is None:
        g = la_graph(scenario)
        own = sorted(set(scenario.clients["la_code"].astype(str)))
        las = sorted(set(own) | {n for code in own if code in g for n in g.neighbors(code)})
    if day_rate_gbp is None:
        day_rate_gbp = round(float(np.median(scenario.supporters["day_rate_gbp"])), 2)
    s = usable_schools(schools[schools["la_code"].isin(las)])
    s = s[(s["ofsted_grade_2024"] == 1).fillna(False)]
    taken = set(scenario.supporters["urn"].astype(str)) | set(scenario.clients["urn"].astype(str))
    s = s[~s["urn"].astype(str).isin(taken - {""})].sort_values("urn")
    phase = s["phase_group"].to_numpy(object)
    phase = np.where(phase == "all_through", "all_through;primary;secondary", phase)
    return pd.DataFrame(
        {
            "supporter_id": ("R" + s["urn"].astype(str)).to_numpy(),
            "urn": s["urn"].astype(str).to_numpy(),
            "name": s["name"].to_numpy(),
            "kind": "nle",
            "phase": phase,
            "la_code": s["la_code"].to_numpy(),
            "easting": s["easting"].round(0).to_numpy(),
            "northing": s["northing"].round(0).to_numpy(),
            "capacity_days": float(capacity_days),
            "day_rate_gbp": float(day_rate_gbp),
        }
    ).reset_index(drop=True)


def read_pool(path: str | Path) -> pd.DataFrame:
    """Read a pool CSV (supporters.csv format) as text, ready for :func:`parse_pool`."""
    from broker.scenario import schema
    from broker.scenario.read import read_table

    p = Path(path)
    if not p.is_file():
        raise InputError.one(
            str(p), "file not found; expected a CSV of candidate schools in supporters.csv format"
        )
    return read_table(p, schema.SUPPORTERS_REQUIRED, schema.SUPPORTERS_OPTIONAL)


def parse_pool(pool: pd.DataFrame, scenario: Scenario, label: str = "pool.csv") -> pd.DataFrame:
    """Validate a pool table as ``supporters.csv`` rows and check it against the scenario.

    Raises
    ------
    broker.errors.InputError
        For any invalid cell, a ``supporter_id`` already used by a supporter of the
        scenario, or a ``urn`` that is already a supporter's (file, row, column, value).
    """
    from broker.scenario.build import _as_text
    from broker.scenario.read import parse_supporters

    errors = ProblemCollector()
    text = pool if pool.index.name == "row" else _as_text(pool)
    parsed = parse_supporters(text, label, errors)
    errors.raise_if_any()
    sids = set(scenario.supporters["supporter_id"])
    surns = dict(
        zip(
            scenario.supporters["urn"].astype(str), scenario.supporters["supporter_id"], strict=True
        )
    )
    surns.pop("", None)
    for row, sid, urn in zip(
        parsed.index, parsed["supporter_id"], parsed["urn"].astype(str), strict=True
    ):
        if sid in sids:
            errors.add(
                label,
                "supporter_id already used by a supporter of the scenario; "
                "pool schools need new ids",
                row=row,
                column="supporter_id",
                value=sid,
            )
        if urn and urn in surns:
            errors.add(
                label, f"school is already supporter {surns[urn]}", row=row, column="urn", value=urn
            )
    errors.raise_if_any()
    return parsed.reset_index(drop=False)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, eq=False)
class CoverageModel:
    """Targets, their weights and which pool school reaches which target.

    Attributes
    ----------
    targets
        Client indices of the targets.
    weight
        Integer weight of each target.
    reach
        Boolean sparse matrix (targets x pool): the hard rules allow the pair.
    pool
        The parsed pool (one row per pool school, in column order of ``reach``).
    weight_name
        One of :data:`WEIGHTS`.
    scenario_supply_days
        Total capacity of the scenario's current supporters.
    """

    targets: np.ndarray
    weight: np.ndarray
    reach: sp.csc_array
    pool: pd.DataFrame
    weight_name: str
    scenario_supply_days: float
    n_supporters: int

    @property
    def n_pool(self) -> int:
        return self.reach.shape[1]

    def value(self, chosen: list[int] | np.ndarray) -> int:
        """Weight of the targets reached by the pool schools ``chosen``."""
        chosen = np.asarray(chosen, dtype=np.int64)
        if not len(chosen):
            return 0
        hit = np.asarray(self.reach[:, chosen].sum(axis=1)).ravel() > 0
        return int(self.weight[hit].sum())


def coverage_model(
    scenario: Scenario,
    pool: pd.DataFrame,
    *,
    round_: SolvedRound | None = None,
    weight: str = "priority_need",
    label: str = "pool.csv",
) -> CoverageModel:
    """Build the coverage model (see the module docstring).

    Parameters
    ----------
    scenario
        The scenario.
    pool
        Pool schools in ``supporters.csv`` format (raw, e.g. from
        :func:`designation_pool` or :func:`read_pool`).
    round_
        A solved round: targets are then its unmatched clients; otherwise the
        isolated clients.
    weight
        ``"priority_need"`` (priority x need in centidays, default), ``"priority"``
        or ``"clients"`` (every target counts 1).
    label
        Name of the pool in error messages.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"unknown weight {weight!r}; expected one of {WEIGHTS}")
    parsed = parse_pool(pool, scenario, label)
    n_s = len(scenario.supporters)
    extra = parsed.drop(columns=[c for c in parsed.columns if c not in scenario.supporters.columns])
    aug = scenario.replace(supporters=pd.concat([scenario.supporters, extra], ignore_index=True))
    cand = build_candidates(aug)
    p = cand.problem
    if round_ is not None:
        targets = np.flatnonzero(np.asarray(round_.assignment) < 0)
    else:
        own = np.bincount(p.pair_client[p.pair_supporter < n_s], minlength=p.n_clients)
        targets = np.flatnonzero(own == 0)
    need = scenario.clients["need_days"].to_numpy(float)
    prio = p.priority.astype(np.int64)
    if weight == "priority_need":
        w = prio * np.rint(need * DAY_SCALE).astype(np.int64)
    elif weight == "priority":
        w = prio
    else:
        w = np.ones(p.n_clients, dtype=np.int64)
    row_of = np.full(p.n_clients, -1, dtype=np.int64)
    row_of[targets] = np.arange(len(targets))
    use = (p.pair_supporter >= n_s) & (row_of[p.pair_client] >= 0)
    reach = sp.csc_array(
        (
            np.ones(int(use.sum()), dtype=bool),
            (row_of[p.pair_client[use]], p.pair_supporter[use] - n_s),
        ),
        shape=(len(targets), len(parsed)),
    )
    return CoverageModel(
        targets=targets,
        weight=w[targets],
        reach=reach,
        pool=parsed,
        weight_name=weight,
        scenario_supply_days=float(scenario.supporters["capacity_days"].sum()),
        n_supporters=n_s,
    )


# --------------------------------------------------------------------------- solve


@dataclass(frozen=True)
class Selection:
    """Pool schools chosen (indices into the pool, in the order they add coverage).

    ``value`` is the covered weight, ``bound`` a proven upper bound on the best
    coverage with ``k`` schools, ``optimal`` whether ``value`` is proven optimal,
    ``method`` ``"greedy"``, ``"exact_highs"`` or ``"exact_cpsat"``, ``gains`` the
    marginal weight of each chosen school in order.
    """

    chosen: tuple[int, ...]
    gains: tuple[int, ...]
    value: int
    bound: int
    optimal: bool
    method: str
    k: int


def greedy_cover(model: CoverageModel, k: int) -> Selection:
    """Greedy weighted max coverage (ties to the earlier pool row); stops at zero gain.

    Each step costs one sparse product :math:`A^T u` (``u`` = weights still
    uncovered), so the whole run is :math:`O(k \\cdot nnz(A))`.
    """
    a = model.reach.astype(np.int64)
    at = a.T.tocsr()
    u = model.weight.astype(np.int64).copy()
    chosen: list[int] = []
    gains: list[int] = []
    value = 0
    bound = int(model.weight[np.asarray(a.sum(axis=1)).ravel() > 0].sum())
    for _ in range(max(k, 0)):
        g = at @ u
        top = np.sort(g)[::-1][:k]
        bound = min(bound, value + int(top.sum()))
        c = int(np.argmax(g)) if len(g) else -1
        if c < 0 or g[c] <= 0:
            break
        chosen.append(c)
        gains.append(int(g[c]))
        value += int(g[c])
        u[a[:, [c]].toarray().ravel() > 0] = 0
    else:
        g = at @ u if model.n_pool else np.zeros(0, np.int64)
        bound = min(bound, value + int(np.sort(g)[::-1][:k].sum()))
    return Selection(tuple(chosen), tuple(gains), value, bound, value >= bound, "greedy", k)


def exact_cover(
    model: CoverageModel,
    k: int,
    *,
    solver: str = "highs",
    node_limit: int = 100_000,
    time_limit_s: float = 10.0,
    seed: int = 0,
    hint: Selection | None = None,
) -> Selection:
    """Exact weighted max coverage (see the module docstring).

    Parameters
    ----------
    model
        The coverage model.
    k
        Most schools to choose.
    solver
        ``"highs"`` (MILP through :func:`scipy.optimize.milp`, default) or
        ``"cpsat"`` (single worker; deterministic work limit).
    node_limit
        HiGHS branch-and-bound nodes (a deterministic stop).
    time_limit_s
        CP-SAT deterministic work limit; for HiGHS a wall-clock safety net (the
        national instance needs well under a second).
    seed
        CP-SAT random seed.
    hint
        A selection to start CP-SAT from (e.g. the greedy one).

    Returns
    -------
    Selection
        Only targets reached by some pool school and schools reaching some target
        enter the model; the chosen schools are ordered by marginal gain and the
        value is recomputed exactly from them.
    """
    if solver not in ("highs", "cpsat"):
        raise ValueError(f"unknown solver {solver!r}; expected highs or cpsat")
    a = model.reach.tocsr()
    rows_hit = np.flatnonzero(np.diff(a.indptr) > 0)
    cols_hit = np.flatnonzero(np.diff(model.reach.indptr) > 0)
    method = f"exact_{solver}"
    if k <= 0 or not len(rows_hit):
        return Selection((), (), 0, 0, True, method, k)
    sub = a[rows_hit][:, cols_hit].tocsr()
    w = model.weight[rows_hit].astype(np.int64)
    if solver == "highs":
        picked, bound, optimal = _highs_cover(sub, w, k, node_limit, time_limit_s)
    else:
        picked, bound, optimal = _cpsat_cover(sub, w, k, time_limit_s, seed, hint, cols_hit)
    chosen = [int(cols_hit[c]) for c in picked]
    # order by marginal gain (greedy over the chosen set), dropping useless picks
    only = CoverageModel(
        model.targets,
        model.weight,
        model.reach[:, chosen],
        model.pool,
        model.weight_name,
        model.scenario_supply_days,
        model.n_supporters,
    )
    order = greedy_cover(only, len(chosen))
    ordered = tuple(chosen[i] for i in order.chosen)
    value = model.value(list(ordered))
    return Selection(ordered, order.gains, value, max(bound, value), optimal, method, k)


def _highs_cover(
    a: sp.csr_array, w: np.ndarray, k: int, node_limit: int, time_limit_s: float
) -> tuple[list[int], int, bool]:
    from scipy.optimize import Bounds, LinearConstraint, milp

    n_t, n_p = a.shape
    c = np.concatenate([np.zeros(n_p), -w.astype(float)])
    cover = sp.hstack([-sp.csr_array(a, dtype=float), sp.eye_array(n_t)]).tocsr()
    budget = np.concatenate([np.ones(n_p), np.zeros(n_t)])[np.newaxis, :]
    from broker.spread._cstdout import silenced_c_stdout

    with silenced_c_stdout():
        res = milp(
            c,
            constraints=[
                LinearConstraint(cover, -np.inf, 0.0),
                LinearConstraint(budget, 0.0, float(k)),
            ],
            integrality=np.concatenate([np.ones(n_p), np.zeros(n_t)]),
            bounds=Bounds(0.0, 1.0),
            options={
                "time_limit": max(float(time_limit_s), 0.05),
                "disp": False,
                "node_limit": max(int(node_limit), 1),
                "mip_rel_gap": 0.0,
            },
        )
    if res.x is None:
        raise RuntimeError(f"HiGHS found no coverage solution ({res.message})")
    picked = [int(c) for c in np.flatnonzero(res.x[:n_p] > 0.5)][:k]
    dual = getattr(res, "mip_dual_bound", None)
    bound = int(w.sum()) if dual is None or not np.isfinite(dual) else int(math.floor(-dual + 1e-6))
    return picked, bound, res.status == 0


def _cpsat_cover(
    a: sp.csr_array,
    w: np.ndarray,
    k: int,
    time_limit_s: float,
    seed: int,
    hint: Selection | None,
    cols: np.ndarray,
) -> tuple[list[int], int, bool]:
    from ortools.sat.python import cp_model

    from broker.solve import search

    n_t, n_p = a.shape
    m = cp_model.CpModel()
    y = [m.new_bool_var(f"y{c}") for c in range(n_p)]
    z = [m.new_bool_var(f"z{t}") for t in range(n_t)]
    for t in range(n_t):
        m.add_bool_or([z[t].Not()] + [y[int(c)] for c in a.indices[a.indptr[t] : a.indptr[t + 1]]])
    m.add(sum(y) <= k)
    m.maximize(cp_model.LinearExpr.weighted_sum(z, [int(v) for v in w]))
    if hint is not None:
        hinted = set(hint.chosen)
        on = np.array([int(c) in hinted for c in cols])
        for c, var in enumerate(y):
            m.add_hint(var, bool(on[c]))
        covered = (a @ on.astype(np.int64)) > 0
        for t, var in enumerate(z):
            m.add_hint(var, bool(covered[t]))
    solver = search.new_solver()  # SIGINT is left to broker (broker.interrupt)
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed)
    solver.parameters.max_deterministic_time = max(float(time_limit_s), 0.01)
    solver.parameters.max_time_in_seconds = max(3.0 * float(time_limit_s), 0.05)
    code = solver.solve(m)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"CP-SAT found no coverage solution ({solver.status_name(code)})")
    picked = [c for c, var in enumerate(y) if solver.boolean_value(var)]
    bound = int(math.floor(solver.best_objective_bound + 1e-6))
    return picked, bound, code == cp_model.OPTIMAL


@dataclass(frozen=True, eq=False)
class Recruitment:
    """Result of :func:`recruitment_targets`: the chosen schools and the headline comparison."""

    targets: pd.DataFrame
    selection: Selection
    summary: dict[str, object]
    model: CoverageModel


def recruitment_targets(
    scenario: Scenario,
    pool: pd.DataFrame,
    k: int,
    *,
    round_: SolvedRound | None = None,
    method: str = "auto",
    exact_max_k: int = 200,
    solver: str = "highs",
    time_limit_s: float = 10.0,
    weight: str = "priority_need",
    seed: int = 0,
    label: str = "pool.csv",
) -> Recruitment:
    """Choose up to ``k`` pool schools to designate (see the module docstring).

    Parameters
    ----------
    scenario, pool, round_, weight, label
        As for :func:`coverage_model`.
    k
        Number of schools to designate.
    method
        ``"greedy"``, ``"exact"`` or ``"auto"`` (greedy, then the exact model when
        ``k <= exact_max_k`` and greedy is not already proven optimal; the better
        is kept, with the tighter bound).
    solver
        Solver of the exact model (see :func:`exact_cover`).
    time_limit_s
        Time limit of the exact model.

    Returns
    -------
    Recruitment
        ``targets`` has columns :data:`TARGET_COLUMNS`, one row per chosen school in
        the order it adds coverage; ``summary`` compares with the current supply.
    """
    if method not in ("auto", "greedy", "exact"):
        raise ValueError(f"unknown method {method!r}; expected auto, greedy or exact")
    model = coverage_model(scenario, pool, round_=round_, weight=weight, label=label)
    sel = greedy_cover(model, k)
    if method == "exact" or (method == "auto" and k <= exact_max_k and not sel.optimal):
        ex = exact_cover(model, k, solver=solver, time_limit_s=time_limit_s, seed=seed, hint=sel)
        if ex.value >= sel.value or method == "exact":
            sel = Selection(
                ex.chosen,
                ex.gains,
                ex.value,
                min(ex.bound, sel.bound),
                ex.optimal or ex.value >= sel.bound,
                ex.method,
                k,
            )
        else:
            sel = Selection(
                sel.chosen,
                sel.gains,
                sel.value,
                min(ex.bound, sel.bound),
                sel.value >= ex.bound,
                sel.method,
                k,
            )
    table = _targets_table(scenario, model, sel)
    return Recruitment(table, sel, _summary(scenario, model, sel, table, round_), model)


def _targets_table(scenario: Scenario, model: CoverageModel, sel: Selection) -> pd.DataFrame:
    pool = model.pool
    cli = scenario.clients
    prio = cli["priority"].to_numpy(np.int64)[model.targets]
    need = cli["need_days"].to_numpy(float)[model.targets]
    covered = np.zeros(len(model.targets), dtype=bool)
    total = int(model.weight.sum())
    rows = []
    cum = 0
    for rank, (c, gain) in enumerate(zip(sel.chosen, sel.gains, strict=True), start=1):
        hit = model.reach[:, [c]].toarray().ravel() & ~covered
        covered |= hit
        cum += gain
        r = pool.iloc[c]
        rows.append(
            (
                rank,
                r["supporter_id"],
                r["name"],
                r["urn"],
                r["la_code"],
                "",
                "",
                ";".join(r["phases"]),
                float(r["capacity_days"]),
                int(hit.sum()),
                int(prio[hit].sum()),
                float(need[hit].sum()),
                int(gain),
                cum,
                round(cum / total, 6) if total else 0.0,
                sel.method,
            )
        )
    out = pd.DataFrame(rows, columns=TARGET_COLUMNS)
    out["la_name"] = la_names(out["la_code"])
    out["region"] = la_regions(out["la_code"])
    return out


def _summary(
    scenario: Scenario,
    model: CoverageModel,
    sel: Selection,
    table: pd.DataFrame,
    round_: SolvedRound | None,
) -> dict[str, object]:
    total = int(model.weight.sum())
    reachable = np.asarray(model.reach.sum(axis=1)).ravel() > 0
    added = float(table["capacity_days"].sum()) if len(table) else 0.0
    return {
        "k": sel.k,
        "designated": len(sel.chosen),
        "method": sel.method,
        "optimal": bool(sel.optimal),
        "weight": model.weight_name,
        "targets": "unmatched clients" if round_ is not None else "isolated clients",
        "target_clients": int(len(model.targets)),
        "target_weight": total,
        "pool_schools": int(model.n_pool),
        "reachable_by_pool_clients": int(reachable.sum()),
        "reachable_by_pool_weight": int(model.weight[reachable].sum()),
        "covered_clients": int(table["new_clients"].sum()) if len(table) else 0,
        "covered_weight": int(sel.value),
        "covered_share": round(sel.value / total, 6) if total else 0.0,
        "bound_weight": int(sel.bound),
        "greedy_guarantee": round(greedy_guarantee(sel.k), 6),
        "current_supporters": int(model.n_supporters),
        "current_capacity_days": round(model.scenario_supply_days, 2),
        "added_capacity_days": round(added, 2),
        "added_capacity_share": (
            round(added / model.scenario_supply_days, 6) if model.scenario_supply_days else None
        ),
    }
