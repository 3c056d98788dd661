"""Policies that are the optimiser: ``optimal`` and ``high_need``.

``optimal`` is the pipeline's solver (:mod:`broker.solve.cpsat`): level 1
maximises the priority matched, level 2 minimises the weighted cost with level 1
held (see :mod:`broker.problem`).

``high_need`` is the same model with the ``[objective] high_need_weight`` level 1
(:func:`broker.candidates.encode.level1_coefficients`): a matched high-need client
counts ``priority x (1 + w)``. If the scenario sets ``high_need_weight``, its
problem already has this level 1 (with the scenario's ``high_need`` column) and
``high_need`` equals ``optimal``; otherwise ``w`` is the policy parameter
``high_need_weight`` (default 1) and high need is the instance's flag
(:attr:`~broker.policies.instance.PolicyInstance.high_need`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from broker.policies.instance import PolicyInstance
from broker.policies.registry import PolicyOptions, register_policy
from broker.solve import Result, SolveOptions, get_solver

DEFAULT_HIGH_NEED_WEIGHT = 1.0


def _cpsat(instance: PolicyInstance, options: PolicyOptions, problem=None) -> Result:  # type: ignore[no-untyped-def]
    opts = SolveOptions(time_limit_s=options.time_limit_s, seed=options.seed, workers=2)
    return get_solver("cpsat").solve(problem or instance.problem, opts)


@register_policy(
    "optimal", family="exact", summary="lexicographic optimum: priority matched, then cost"
)
def optimal(instance: PolicyInstance, options: PolicyOptions) -> Result:
    """The pipeline's CP-SAT model: exact on small problems, best found in the limit on large."""
    r = _cpsat(instance, options)
    method = "exact" if r.level1.optimal else "CP-SAT, not proven optimal within the limit"
    return dataclasses.replace(r, params={**r.params, "method": method})


@register_policy(
    "high_need",
    family="exact",
    summary="optimal with high-need clients weighted 1 + high_need_weight in level 1",
)
def high_need(instance: PolicyInstance, options: PolicyOptions) -> Result:
    """Optimal with level 1 ``round(100 * priority * (1 + w * high_need))``.

    When the scenario sets ``[objective] high_need_weight`` its problem's level 1
    already is this objective (:func:`broker.candidates.encode.level1_coefficients`)
    and is used as it is; otherwise the weight is the parameter ``high_need_weight``.
    """
    p = instance.problem
    w = instance.scenario.config.high_need_weight
    if not w:
        w = float(options.params.get("high_need_weight", DEFAULT_HIGH_NEED_WEIGHT))
        coef = np.rint(100 * p.priority * (1.0 + w * instance.high_need)).astype(np.int64)
        p = p.replace(priority=coef)
    r = _cpsat(instance, options, p)
    method = "exact" if r.level1.optimal else "CP-SAT, not proven optimal within the limit"
    return dataclasses.replace(
        r,
        params={
            **r.params,
            "method": method,
            "high_need_weight": w,
            "high_need_source": instance.high_need_source,
        },
    )
