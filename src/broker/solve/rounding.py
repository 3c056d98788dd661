"""A start from the LP relaxation of level 2 for problems where every client is required.

For the generalised assignment problem a basic optimal solution of the LP
relaxation splits at most as many jobs as there are agents (Benders and van
Nunen, 1983): nearly every client already sits whole at one supporter. Rounding
keeps those, places the few split clients where they fit, and local search
removes the rest of the damage:

1. :func:`broker.solve.model.fill` takes pairs in decreasing LP value (ties: the
   lower level-2 coefficient), so each client goes to the supporter the LP gave
   most of it, while it fits;
2. a client left without a supporter is placed by
   :func:`broker.solve.insertion.improve_level1` (insert, or shift another client
   to make room);
3. :func:`broker.solve.localsearch.improve_assignment` shifts and swaps to lower
   level 2.

On the generated 80 x 1,600 problems of types D and E this start is within 0.4%
of the best value ten minutes of broker's race find (``benchmarks/README.md``,
fourth pass), where the regret start with shift/swap is 5% (D) and 630% (E)
above it.
"""

from __future__ import annotations

import numpy as np

from broker.problem import ProblemData
from broker.solve.deadline import Deadline
from broker.solve.insertion import improve_level1
from broker.solve.localsearch import improve_assignment
from broker.solve.model import fill, is_complete


def lp_rounding(p: ProblemData, x: np.ndarray, until: Deadline) -> np.ndarray | None:
    """A complete, feasible pair set from the LP's primal values ``x`` (one per pair),
    or ``None`` when rounding and repair leave a required client unmatched.

    Deterministic: the same ``x`` gives the same result unless ``until`` passes.
    """
    if x is None or len(x) != p.n_pairs or not np.all(np.isfinite(x)):
        return None
    order = np.lexsort((np.arange(p.n_pairs), p.pair_level2, -np.round(x, 6)))
    pairs = fill(p, order, until=until.share(0.3))
    if not is_complete(p, pairs):
        pairs = improve_level1(p, pairs, until.share(0.5))
    if not is_complete(p, pairs):
        return None
    return improve_assignment(p, pairs, until)
