"""A second opinion on level 1 from a MIP solver, for the exact CP-SAT path.

CP-SAT is strong at finding solutions but can be slow to prove a knapsack bound
with large coefficients: a local round with one authority budget (22 clients,
107 candidate pairs) stops at level 1 = 43 with bound 44 after 14 s, while
HiGHS's branch and cut proves 43 optimal in 0.07 s. When CP-SAT's level 1 is not
proven, the exact path asks HiGHS (shipped inside SciPy) for the level-1 optimum
of the same formulation (:func:`broker.solve.model.constraint_matrix`)::

    max  sum_k priority[k] x[k]
    s.t. A x in [lo, hi]            (clients, teams, every limit that can bind)
         x[k] = 1 for pinned k,     x in {0, 1}

and uses it only when HiGHS *proves* it: the proven optimum closes CP-SAT's bound,
and a better HiGHS solution (checked against the formulation in exact integers)
replaces CP-SAT's level-1 solution before level 2 starts.

Reproducibility: the MIP is stopped by a node limit (deterministic work) with the
wall clock as a safety net; a MIP stopped by the clock is ignored, so a result
depends on load only if the safety net fires.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from broker.problem import ProblemData
from broker.solve.arm import ArmResult
from broker.solve.highsarm import highs_arm

NODE_LIMIT = 20_000
"""Branch-and-bound nodes HiGHS may explore (deterministic work)."""


@dataclass(frozen=True)
class Level1Proof:
    """A proven level-1 optimum: its value and one optimal pair set."""

    value: int
    pairs: np.ndarray


def prove_level1(p: ProblemData, time_s: float, node_limit: int = NODE_LIMIT) -> Level1Proof | None:
    """HiGHS's proven level-1 optimum of ``p``, or ``None`` if not proven in budget.

    Parameters
    ----------
    p
        The (scaled) problem of the exact path.
    time_s
        Wall-clock safety net in seconds.
    node_limit
        Branch-and-bound nodes (the deterministic budget, default :data:`NODE_LIMIT`).

    Returns
    -------
    Level1Proof or None
        ``None`` when HiGHS stops without proof (node or time limit), reports
        anything but optimal, or returns a pair set that breaks the formulation.
    """
    if p.n_pairs == 0 or time_s < 0.05:
        return None
    return proof_of(p, highs_arm(p, 1, float(time_s), int(node_limit)))


def proof_of(p: ProblemData, arm: ArmResult | None) -> Level1Proof | None:
    """The level-1 proof in a HiGHS arm's answer on level 1, if it is one."""
    if arm is None or not arm.optimal or arm.pairs is None:
        return None  # stopped without proof, or an answer that broke the formulation
    return Level1Proof(int(p.pair_priority[arm.pairs].sum()), arm.pairs)
