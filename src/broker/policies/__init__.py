"""Allocation policies for researchers: many policies on one problem, one set of metrics.

* :mod:`~broker.policies.instance`: a scenario made ready for the policies;
* :mod:`~broker.policies.preferences`: both sides' ranks, read or derived;
* :mod:`~broker.policies.registry`: names to policies, and :func:`run_policy`,
  which checks every result with the independent checker;
* one module per family: :mod:`~broker.policies.exact` (``optimal``,
  ``high_need``), :mod:`~broker.policies.manual` (``greedy_priority``,
  ``first_come``, ``first_come_random``, ``lottery``), :mod:`~broker.policies.stable`
  (``deferred_acceptance``, ``deferred_acceptance_supporters``) and
  :mod:`~broker.policies.fair` (``maxmin_la``, ``proportional``, ``fair_flow``);
* :mod:`~broker.policies.metrics`: one function computing every metric;
* :mod:`~broker.policies.compare`: ``broker compare``.

See ``docs/policies.md``.
"""

from __future__ import annotations

from broker.policies.instance import PolicyInstance, build_instance
from broker.policies.registry import PolicyOptions, get_policy, policy_names, run_policy

__all__ = [
    "PolicyInstance",
    "PolicyOptions",
    "build_instance",
    "get_policy",
    "policy_names",
    "run_policy",
]
