"""The policy registry: names to functions ``(instance, options) -> Result``.

Every policy returns the same :class:`~broker.solve.Result` value as the solvers,
so the same explanation, checker and metrics apply to all. :func:`run_policy` is
the one way to run a policy: it times it, and passes its assignment through the
formulation check (:meth:`ProblemData.violations`) and the independent checker
(:func:`broker.check.check_assignment`); a violation is a bug in broker and raises
``AssertionError``, it is never returned.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from broker.policies.instance import PolicyInstance
from broker.solve.result import Level, Result, Sense, SolveStatus, evaluate, make_result


@dataclass(frozen=True)
class PolicyOptions:
    """Options every policy accepts.

    Attributes
    ----------
    seed
        Random seed: the same instance, options and seed give the same result.
    time_limit_s
        Budget for the policies that search (CP-SAT); each level of a
        lexicographic model gets a share. The search stops on a deterministic
        work limit of the same size, so results do not depend on machine load.
    params
        Policy parameters (see each policy), e.g. ``{"min_share": 0.5}``.
    """

    seed: int = 0
    time_limit_s: float = 10.0
    params: dict[str, float] = field(default_factory=dict)


PARAMETERS: dict[str, tuple[float, float, str]] = {
    "min_share": (0.0, 1.0, "fair_flow: the floor on every authority's share of need met"),
    "tolerance": (0.0, 1.0, "proportional: how far an authority's share may be from the overall"),
    "high_need_weight": (0.0, 100.0, "high_need: the extra weight of a high-need school"),
}
"""Policy parameters: name -> (minimum, maximum, what it is)."""


def parameter_problem(name: str, value: float) -> str | None:
    """Why ``name = value`` is not an accepted policy parameter, or ``None``."""
    if name not in PARAMETERS:
        return f"unknown policy parameter; expected one of {', '.join(PARAMETERS)}"
    lo, hi, what = PARAMETERS[name]
    if not lo <= value <= hi:
        return f"out of range; expected {what}, from {lo:g} to {hi:g}"
    return None


PolicyFunction = Callable[[PolicyInstance, PolicyOptions], Result]


@dataclass(frozen=True)
class PolicySpec:
    """A registered policy.

    Attributes
    ----------
    name
        Registry name (used on the command line).
    run
        The policy function.
    seeded
        Whether the result depends on the seed (then compare averages over seeds).
    family
        Module family: ``exact``, ``manual``, ``stable`` or ``fair``.
    summary
        One line for ``--help`` and the docs.
    """

    name: str
    run: PolicyFunction
    seeded: bool
    family: str
    summary: str


_REGISTRY: dict[str, PolicySpec] = {}


def register_policy(
    name: str, *, family: str, summary: str, seeded: bool = False
) -> Callable[[PolicyFunction], PolicyFunction]:
    """Decorator registering a policy function under ``name``."""

    def deco(fn: PolicyFunction) -> PolicyFunction:
        _REGISTRY[name] = PolicySpec(name, fn, seeded, family, summary)
        return fn

    return deco


def _load_builtin() -> None:
    # imported lazily: importing broker does no policy work
    from broker.policies import exact, fair, manual, stable  # noqa: F401


FAMILIES = ("exact", "manual", "stable", "fair")
"""Families in the order policies are listed (then in their module's order)."""


def policy_names() -> list[str]:
    """Registered policy names, by family (:data:`FAMILIES`), then registration order."""
    _load_builtin()
    rank = {f: n for n, f in enumerate(FAMILIES)}
    return sorted(_REGISTRY, key=lambda n: rank.get(_REGISTRY[n].family, len(rank)))


def get_policy(name: str) -> PolicySpec:
    """The policy registered as ``name``; an unknown name raises ``KeyError`` listing them all."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown policy {name!r}; available: {', '.join(policy_names())}") from None


def check_result(instance: PolicyInstance, result: Result) -> None:
    """Raise ``AssertionError`` if ``result`` breaks a hard rule (formulation and checker)."""
    from broker.check import check_assignment
    from broker.explain import outcomes

    p = instance.problem
    bad = p.violations(result.pairs)
    if bad:
        raise AssertionError(
            f"policy {result.solver} broke the formulation (a bug in broker):\n" + "\n".join(bad)
        )
    report = check_assignment(
        instance.scenario, outcomes(instance.scenario, instance.candidates, result)
    )
    if not report.ok:
        raise AssertionError(
            f"the independent checker rejected policy {result.solver} (a bug in broker):\n"
            + "\n".join(report.violations[:20])
        )


def run_policy(
    instance: PolicyInstance, name: str, options: PolicyOptions | None = None, *, check: bool = True
) -> Result:
    """Run the policy ``name`` on ``instance``; the result is checked unless ``check`` is false.

    The returned result's ``solver`` is the policy name and ``runtime_s`` the
    wall time of the policy itself (checking excluded).
    """
    spec = get_policy(name)
    opts = options or PolicyOptions()
    t0 = time.perf_counter()
    result = spec.run(instance, opts)
    runtime = time.perf_counter() - t0
    result = dataclasses.replace(result, solver=name, runtime_s=runtime, seed=opts.seed)
    if check:
        check_result(instance, result)
    return result


def heuristic_result(
    instance: PolicyInstance,
    pairs: np.ndarray,
    *,
    name: str,
    options: PolicyOptions,
    params: dict[str, object] | None = None,
    log: tuple[str, ...] = (),
) -> Result:
    """Wrap a pair set found by a constructive policy as a :class:`Result`.

    Level 1 is the priority matched against the trivial bound (all priorities);
    the status is ``FEASIBLE`` (the checker verifies it), ``stopped_by`` is
    ``complete``.
    """
    p = instance.problem
    ks = p.as_pair_indices(np.asarray(pairs, np.int64))
    l1, l2 = evaluate(p, ks)
    trivial = int(p.priority.sum())
    return make_result(
        p,
        ks,
        level1=Level(l1, trivial, l1 == trivial, Sense.MAX),
        level2=Level(l2, int(np.minimum(p.pair_level2, 0).sum()), False, Sense.MIN),
        status=SolveStatus.FEASIBLE,
        solver=name,
        params={"method": "heuristic", **(params or {})},
        seed=options.seed,
        runtime_s=0.0,
        stopped_by="complete",
        log=log,
    )
