"""Candidate pairs: which supporter may serve which client, in which role and mode.

The pipeline stage between a validated scenario and the solver's problem:

1. :mod:`broker.candidates.context` encodes the scenario as arrays;
2. :func:`broker.candidates.stages.generate` lists every (client, role, supporter)
   within the largest reach (a k-d tree in EPSG:27700);
3. each rule of :data:`STAGES` filters the pair table in turn; for every client the
   number of lead supporters surviving each stage is kept, so an isolated client
   gets the *first* rule that removed its last supporter as its reason;
4. :mod:`broker.candidates.encode` turns the surviving pairs into the integer
   :class:`~broker.problem.ProblemData` (level-1 and level-2 coefficients, limits
   for capacity per term and budgets per funder, pins).
"""

from __future__ import annotations

from broker.candidates.encode import Candidates, build_candidates, build_problem
from broker.candidates.stages import STAGES

__all__ = ["STAGES", "Candidates", "build_candidates", "build_problem"]
