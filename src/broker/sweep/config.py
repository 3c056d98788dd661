"""A sweep's configuration: ``CONFIG.toml``, validated once.

Example::

    scenario = "../scenarios/leicestershire"   # relative to this file
    policies = ["optimal", "greedy_priority", "lottery"]
    seeds = 3              # seeded policies run seeds 0, 1, 2; the others once
    time_limit_s = 5       # budget of each searching policy

    [params]               # optional policy parameters
    min_share = 0.5

    [variants]             # the grid: every combination of these multipliers
    budget = [0.5, 1.0, 2.0]   # every budget: authorities, schools, programme, funders
    reach = [1.0]              # every supporter's reach (max_distance_km)
    supply = [1.0]             # every supporter's capacity (days per week)

The grid is ``variants x policies x seeds``; each cell is an independent task.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from broker.errors import InputError, ProblemCollector

VARIANT_KEYS = ("budget", "reach", "supply")
"""Scenario multipliers a sweep can vary (see :mod:`broker.sweep.variants`)."""
MAX_MULTIPLIER = 100.0
MAX_TASKS = 100_000


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep configuration (see the module docstring)."""

    scenario: Path
    policies: tuple[str, ...]
    seeds: int = 1
    time_limit_s: float = 10.0
    params: dict[str, float] = field(default_factory=dict)
    variants: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: {k: (1.0,) for k in VARIANT_KEYS}
    )
    source: Path | None = None

    def grid(self) -> list[dict[str, float]]:
        """Every combination of the variant multipliers, in a stable order."""
        values = [self.variants.get(k, (1.0,)) for k in VARIANT_KEYS]
        return [dict(zip(VARIANT_KEYS, combo, strict=True)) for combo in itertools.product(*values)]


def _positive(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and 0 < float(x) <= MAX_MULTIPLIER


def read_config(path: str | Path) -> SweepConfig:
    """Read and validate a sweep ``CONFIG.toml``.

    Raises
    ------
    broker.errors.InputError
        Naming the file, the setting, the value and what was expected.
    """
    from broker.policies.registry import parameter_problem, policy_names

    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise InputError.one(file, "file not found; expected a sweep configuration (TOML)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError.one(file, f"not valid TOML ({exc})") from None
    errors = ProblemCollector()
    known = {"scenario", "policies", "seeds", "time_limit_s", "params", "variants"}
    for key in sorted(set(raw) - known):
        errors.add(file, f"unknown setting; expected one of {', '.join(sorted(known))}", column=key)
    scen = raw.get("scenario")
    scenario = Path()
    if not isinstance(scen, str) or not scen:
        errors.add(file, "missing or not text; expected the scenario folder", column="scenario")
    else:
        scenario = (path.parent / scen).resolve() if not Path(scen).is_absolute() else Path(scen)
        if not scenario.is_dir():
            errors.add(file, "scenario folder not found", column="scenario", value=scen)
    names = policy_names()
    pols = raw.get("policies", names)
    if not isinstance(pols, list) or not pols or not all(isinstance(p, str) for p in pols):
        errors.add(file, "expected a list of policy names", column="policies", value=pols)
        pols = []
    for p in pols:
        if p not in names:
            errors.add(
                file,
                f"unknown policy; expected one of {', '.join(names)}",
                column="policies",
                value=p,
            )
    seeds = raw.get("seeds", 1)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or not 1 <= seeds <= 1000:
        errors.add(file, "expected a whole number from 1 to 1000", column="seeds", value=seeds)
        seeds = 1
    tl = raw.get("time_limit_s", 10.0)
    if not isinstance(tl, int | float) or isinstance(tl, bool) or not 0 < tl <= 86_400:
        errors.add(
            file, "expected seconds, more than 0 and at most 86400", column="time_limit_s", value=tl
        )
        tl = 10.0
    params = raw.get("params", {})
    if not isinstance(params, dict):
        errors.add(file, "expected a table of numbers", column="params", value=params)
        params = {}
    for key, value in list(params.items()):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        why = parameter_problem(key, float(value)) if ok else "not a number"
        if why is not None:
            errors.add(file, why, column=f"params.{key}", value=value)
            del params[key]
    variants_raw = raw.get("variants", {})
    variants: dict[str, tuple[float, ...]] = {}
    if not isinstance(variants_raw, dict):
        errors.add(file, "expected a table of multiplier lists", column="variants")
        variants_raw = {}
    for key, values in variants_raw.items():
        col = f"variants.{key}"
        if key not in VARIANT_KEYS:
            errors.add(file, f"unknown variant; expected {', '.join(VARIANT_KEYS)}", column=col)
            continue
        if not isinstance(values, list) or not values or not all(_positive(v) for v in values):
            errors.add(
                file,
                f"expected a list of multipliers, each more than 0 and at most {MAX_MULTIPLIER:g}",
                column=col,
                value=values,
            )
            continue
        variants[key] = tuple(dict.fromkeys(float(v) for v in values))
    errors.raise_if_any()
    cfg = SweepConfig(
        scenario=scenario,
        policies=tuple(dict.fromkeys(pols)),
        seeds=int(seeds),
        time_limit_s=float(tl),
        params={str(k): float(v) for k, v in params.items()},
        variants={k: variants.get(k, (1.0,)) for k in VARIANT_KEYS},
        source=path,
    )
    n = len(cfg.grid()) * len(cfg.policies) * cfg.seeds
    if n > MAX_TASKS:
        raise InputError.one(
            file, f"{n:,} tasks; expected at most {MAX_TASKS:,}", column="variants"
        )
    return cfg
