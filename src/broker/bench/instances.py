"""Named benchmark instance sets and the seeded synthetic national generator.

Sets (:func:`instance_set`)
---------------------------
``gap-small``            gap1 .. gap12, all 60 problems, minimised (OR-Library type C)
``gap-small-max``        the same, maximised (the sense OR-Library states them in)
``gap-large``            gapa .. gapd, all 24 problems, minimised (types A-D)
``leicestershire``       ``scenarios/leicestershire``
``england``              ``scenarios/england`` (skipped with a note if absent)
``england-no-budgets``   the national scenario generated without LA budgets
``england-scaled``       the national scenario at 2x and 4x the school population
``synthetic-national``   :func:`synthetic_national` with seed 0
``scaled``               hook: synthetic national at 0.25x .. 2x; replace with
                         :func:`register_set` (for example scaled England scenarios)
``gap-cde-400``          generated GAP types C, D, E, 400 jobs, 10/20/40 agents
``gap-cde-900``          the same, 900 jobs, 15/30/60 agents
``gap-cde-1600``         the same, 1,600 jobs, 20/40/80 agents (``gap-cde``: all 27)
``england-seeds``        the national scenario, seeds 1-5, with and without budgets
``england-regions``      North West, London and South West on their own
``england-x8``           the national scenario at 8x the school population
any folder path          a scenario folder (``scenario.toml``, ``supporters.csv``, ...)

Scenario folders are read with :func:`broker.scenario.read_scenario` and turned
into a problem with :func:`broker.candidates.build_problem`. Relative paths are
tried against the working directory, then the repository root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from broker.bench import REPO_ROOT
from broker.bench import gap as gapmod
from broker.problem import ProblemData


@dataclass(frozen=True)
class GapInfo:
    """What the runner needs to report a GAP problem in its own terms."""

    file: str
    index: int
    sense: str
    best_known: int | None
    best_known_optimal: bool | None


@dataclass(frozen=True, eq=False)
class Instance:
    """One benchmark instance, loaded on demand.

    Attributes
    ----------
    name
        Unique name within its set (``gap1-1``, ``leicestershire``, ...).
    load
        Builds the :class:`ProblemData` (called once per instance by the runner).
    gap
        Set for GAP problems: the objective is then reported in GAP terms.
    """

    name: str
    load: Callable[[], ProblemData]
    gap: GapInfo | None = None

    @property
    def primary(self) -> str:
        """The level that carries the objective: ``level2`` for a GAP, else ``level1``."""
        return "level2" if self.gap is not None else "level1"


InstanceSet = tuple[list[Instance], list[str]]
"""Instances and notes (for example a skipped scenario)."""

_SETS: dict[str, Callable[[], InstanceSet]] = {}


def register_set(name: str, factory: Callable[[], InstanceSet]) -> None:
    """Register (or replace) a named set; ``factory()`` returns instances and notes."""
    _SETS[name] = factory


def set_names() -> list[str]:
    """Names of the registered sets."""
    return sorted(_SETS)


def instance_set(name: str) -> InstanceSet:
    """Instances of a named set, or of a scenario folder given by path.

    Raises
    ------
    KeyError
        If ``name`` is neither a registered set nor a scenario folder.
    """
    if name in _SETS:
        return _SETS[name]()
    folder = _resolve(name)
    if folder is not None and (folder / "scenario.toml").is_file():
        return [scenario_instance(folder)], []
    raise KeyError(
        f"unknown instance set {name!r}: expected one of {', '.join(set_names())} "
        "or a scenario folder"
    )


def instance_named(spec: str) -> Instance:
    """The instance ``SET:NAME`` (e.g. ``gap-large:gapd-5``), for benchmark scripts.

    Raises
    ------
    KeyError
        With a message naming what is missing and what was expected.
    """
    set_name, sep, name = spec.partition(":")
    if not sep or not set_name or not name:
        raise KeyError(f"{spec!r}: expected SET:INSTANCE, e.g. gap-large:gapd-5")
    found = {i.name: i for i in instance_set(set_name)[0]}
    if name not in found:
        shown = ", ".join(list(found)[:8]) + (", ..." if len(found) > 8 else "")
        raise KeyError(f"{spec!r}: set {set_name!r} has no instance {name!r}; it has {shown}")
    return found[name]


# ------------------------------------------------------------------ GAP
def gap_instances(files: list[Path], sense: str) -> InstanceSet:
    """Every problem of the given OR-Library files, in the given sense."""
    out: list[Instance] = []
    for path in files:
        for gp in gapmod.read_gap_file(path):
            best = gapmod.best_known_for(path, gp.index, sense)
            info = GapInfo(
                gp.file,
                gp.index,
                sense,
                None if best is None else best.value,
                None if best is None else best.optimal,
            )
            out.append(Instance(gp.name, partial(gapmod.to_problem, gp, sense), info))
    return out, [] if files else ["no GAP files found in benchmarks/instances/gap"]


def _gap_small(sense: str) -> Callable[[], InstanceSet]:
    def factory() -> InstanceSet:
        files = [p for p in gapmod.gap_files() if p.stem[3:].isdigit()]
        return gap_instances(files, sense)

    return factory


def _gap_large() -> InstanceSet:
    return gap_instances(
        [p for p in gapmod.gap_files() if p.stem in ("gapa", "gapb", "gapc", "gapd")], "min"
    )


# ------------------------------------------------------------------ scenarios
def _resolve(path: str | Path) -> Path | None:
    path = Path(path)
    for candidate in (path, REPO_ROOT / path):
        if candidate.is_dir():
            return candidate
    return None


def scenario_instance(folder: str | Path, name: str | None = None) -> Instance:
    """An instance read from a scenario folder (read when the runner loads it)."""
    folder = Path(folder)

    def load() -> ProblemData:
        from broker.candidates import build_problem
        from broker.scenario import read_scenario

        return build_problem(read_scenario(folder))

    return Instance(name or folder.name, load)


def _scenario_set(*folders: str) -> Callable[[], InstanceSet]:
    def factory() -> InstanceSet:
        for f in folders:
            found = _resolve(f)
            if found is not None and (found / "scenario.toml").is_file():
                return [scenario_instance(found)], []
        return [], [
            f"skipped: no scenario folder at {' or '.join(folders)} (it is built "
            "separately; generate it, or pass --set PATH)"
        ]

    return factory


# ------------------------------------------------------------------ synthetic
def synthetic_national(
    seed: int = 0,
    scale: float = 1.0,
    *,
    n_clients: int = 2500,
    n_supporters: int = 1000,
    mean_candidates: float = 21.2,
) -> ProblemData:
    """A capacity-only random instance the size of a national round.

    Clients and supporters are scattered uniformly over a 500 km x 600 km box;
    each client's candidates are its ``k`` nearest supporters, ``k ~ Poisson(21.2)``
    clipped to 1 .. 60 (about 53,000 pairs at scale 1). Needs (loads) are 50 .. 250
    centidays, capacities 100 .. 250 centidays, priorities 1 .. 5, day rates
    £300 .. £700. No budgets, no pins, nobody required: capacity is the only
    coupling, and total need is about twice total capacity, so level 1 is a
    knapsack-like choice of whom to match.

    Level 2 follows broker's units (1/1000 points; 1 point per km and per £1,000):
    ``distance in metres + cost in £``. ``pair_cost`` is the cost in £0.0001.

    Parameters
    ----------
    seed
        Random seed; the same seed and scale give the same instance.
    scale
        Multiplies the numbers of clients and supporters (the density of candidates
        per client stays the same).
    n_clients, n_supporters, mean_candidates
        Size at scale 1.
    """
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    nc = max(int(round(n_clients * scale)), 1)
    ns = max(int(round(n_supporters * scale)), 1)
    box = np.array([500_000.0, 600_000.0]) * np.sqrt(scale)
    sxy = rng.uniform(0, 1, size=(ns, 2)) * box
    cxy = rng.uniform(0, 1, size=(nc, 2)) * box
    need = rng.integers(50, 251, size=nc)
    priority = rng.integers(1, 6, size=nc)
    capacity = rng.integers(100, 251, size=ns)
    day_rate = rng.integers(300, 701, size=ns)
    k = np.clip(rng.poisson(mean_candidates, size=nc), 1, min(60, ns))
    kmax = int(k.max())
    dist, idx = cKDTree(sxy).query(cxy, k=kmax)
    dist = dist.reshape(nc, kmax)
    idx = idx.reshape(nc, kmax)
    keep = np.arange(kmax)[np.newaxis, :] < k[:, np.newaxis]
    pc = np.repeat(np.arange(nc), k)
    ps = idx[keep]
    metres = np.rint(dist[keep]).astype(np.int64)
    cost_gbp = day_rate[ps] * need[pc] // 100
    return ProblemData.create(
        client_ids=[f"c{i}" for i in range(nc)],
        supporter_ids=[f"s{j}" for j in range(ns)],
        priority=priority,
        capacity=capacity,
        pair_client=pc,
        pair_supporter=ps,
        pair_load=need[pc],
        pair_cost=cost_gbp * 10_000,
        pair_level2=metres + cost_gbp,
        pair_distance_km=dist[keep] / 1000.0,
        name=f"synthetic-national-s{seed}" + ("" if scale == 1.0 else f"-x{scale:g}"),
    )


SCALES = (0.25, 0.5, 1.0, 2.0)
"""Scales of the ``scaled`` set (hook: replace the set with :func:`register_set`)."""


def _synthetic() -> InstanceSet:
    return [Instance("synthetic-national-s0", lambda: synthetic_national(0))], []


def _scaled() -> InstanceSet:
    return [
        Instance(f"synthetic-national-s0-x{s:g}", partial(synthetic_national, 0, s)) for s in SCALES
    ], [
        "scaled: synthetic national instances (hook; register a "
        "scaled-England set with broker.bench.instances.register_set)"
    ]


register_set("gap-small", _gap_small("min"))
register_set("gap-small-max", _gap_small("max"))
register_set("gap-large", _gap_large)
register_set("leicestershire", _scenario_set("scenarios/leicestershire"))
register_set("england", _scenario_set("scenarios/england"))


def generated_england(seed: int = 1, scale: float = 1.0, budgets: bool = True) -> ProblemData:
    """The national scenario from the generator (``broker scenario england``)."""
    from broker.candidates import build_problem
    from broker.generate.national import NationalOptions, build

    return build_problem(build(NationalOptions(seed=seed, scale=scale, budgets=budgets)))


def _england_no_budgets() -> InstanceSet:
    return [Instance("england-no-budgets", partial(generated_england, 1, 1.0, False))], []


def _england_scaled() -> InstanceSet:
    return [Instance(f"england-x{s:g}", partial(generated_england, 1, s)) for s in (2.0, 4.0)], [
        "england-scaled: the national scenario (seed 1, LA budgets) with 2x and 4x the school "
        "population; 8x is measured for build time and memory by benchmarks/scale_build.py"
    ]


register_set("england-no-budgets", _england_no_budgets)
register_set("england-scaled", _england_scaled)
register_set("synthetic-national", _synthetic)
register_set("scaled", _scaled)


# ------------------------------------------------------------------ issue 14 sets
def _gap_generated(jobs: tuple[int, ...]) -> Callable[[], InstanceSet]:
    """Generated GAP types C, D and E (:mod:`broker.bench.gapgen`), seed 0, minimised."""

    def factory() -> InstanceSet:
        from broker.bench.gapgen import KINDS, SIZES, generate

        out: list[Instance] = []
        for n in jobs:
            for kind in KINDS:
                for m in SIZES[n]:
                    gp = generate(kind, m, n, 0)
                    info = GapInfo(gp.file, gp.index, "min", None, None)
                    out.append(Instance(gp.name, partial(gapmod.to_problem, gp, "min"), info))
        return out, [
            "generated GAP types C, D (Chu and Beasley 1997) and E (Laguna et al. 1995), "
            "seed 0, minimised; no published best-known values: compare with the best of the run"
        ]

    return factory


ENGLAND_SEEDS = (1, 2, 3, 4, 5)
"""Seeds of the ``england-seeds`` set."""

REGIONS = ("North West", "London", "South West")
"""Regions of the ``england-regions`` set."""


def generated_region(region: str, seed: int = 1) -> ProblemData:
    """One region of the national scenario on its own (``--region``)."""
    from broker.candidates import build_problem
    from broker.generate.national import NationalOptions, build

    return build_problem(build(NationalOptions(seed=seed, region=region)))


def _england_seeds() -> InstanceSet:
    out = []
    for s in ENGLAND_SEEDS:
        out.append(Instance(f"england-s{s}", partial(generated_england, s, 1.0, True)))
        out.append(Instance(f"england-s{s}-no-budgets", partial(generated_england, s, 1.0, False)))
    return out, ["england-seeds: broker scenario england --seed 1..5, with and without budgets"]


def _england_regions() -> InstanceSet:
    slug = {r: r.lower().replace(" ", "-") for r in REGIONS}
    return [Instance(f"england-{slug[r]}", partial(generated_region, r)) for r in REGIONS], []


def _england_x8() -> InstanceSet:
    return [Instance("england-x8", partial(generated_england, 1, 8.0))], [
        "england-x8: the national scenario (seed 1, LA budgets) at 8x the school population, "
        "solved (about 1.6 million pairs)"
    ]


register_set("gap-cde-400", _gap_generated((400,)))
register_set("gap-cde-900", _gap_generated((900,)))
register_set("gap-cde-1600", _gap_generated((1600,)))
register_set("gap-cde", _gap_generated((400, 900, 1600)))
register_set("england-seeds", _england_seeds)
register_set("england-regions", _england_regions)
register_set("england-x8", _england_x8)
