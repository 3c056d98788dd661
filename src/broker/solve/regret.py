"""A regret start for problems where every client must be matched (GAP-like).

When every client is required, a start that leaves one out is useless: level 1
is fixed and every search has to find a complete assignment before it can
improve one. The plain greedy (:mod:`broker.solve.greedy`) takes clients in
priority order and often strands the last ones on tight instances. This is the
regret heuristic of Martello and Toth (1981) for the generalised assignment
problem, on broker's model:

* a pair is *feasible* while its amounts fit every limit it uses;
* each unmatched client's *desirability* of a feasible pair is ``f``: its level-2
  cost times its *strain* (the largest share of what is left of a limit that it
  would use), or the strain alone;
* the client with the largest *regret* (the difference between its best and
  second-best feasible ``f``; a client with one feasible pair first) takes its
  best pair; repeat.

:func:`regret_start` tries cost times strain first (on generated GAP type C it
starts within 3% of the optimum), then strain alone (which completes the
tighter types D and E), and keeps the first complete assignment. Team clients
(two supporters) are left to the searches. Each round is a few vectorised
passes over the pairs, so it is for problems up to :data:`MAX_PAIRS` pairs,
and it stops at a deadline (the result is then incomplete, which the callers
check).
"""

from __future__ import annotations

import numpy as np

from broker.problem import LEAD, ProblemData
from broker.solve.deadline import Deadline

MAX_PAIRS = 300_000
"""Larger problems are left to the other starts."""

BATCH_SHARE = 0.02
"""Share of the unmatched clients placed per round (each to a different supporter)."""


def _fits_all(p: ProblemData, residual: np.ndarray, entry_pair: np.ndarray) -> np.ndarray:
    """Per pair: whether every limit amount fits what is left."""
    over = p.limit_amount > residual[p.limit_row]
    bad = np.zeros(p.n_pairs, dtype=bool)
    bad[entry_pair[over]] = True
    return ~bad


def _strain(p: ProblemData, residual: np.ndarray, entry_pair: np.ndarray) -> np.ndarray:
    """Per pair: the largest share of what is left of a limit that it would use."""
    share = p.limit_amount / np.maximum(residual[p.limit_row], 1)
    out = np.zeros(p.n_pairs)
    np.maximum.at(out, entry_pair, share)
    return out


def regret_fill(p: ProblemData, by: str, until: Deadline | None = None) -> np.ndarray:
    """Pair indices of the regret heuristic with desirability ``by`` (``"cost"``/``"load"``).

    Pinned pairs are taken first. The result is feasible; it may leave clients
    unmatched (check with :func:`broker.solve.model.is_complete`).
    """
    entry_pair = np.repeat(np.arange(p.n_pairs), np.diff(p.limit_ptr))
    residual = p.limit_rhs.astype(np.int64).copy()
    chosen: list[int] = []
    matched = np.zeros(p.n_clients, dtype=bool)
    for k in p.pinned.tolist():
        p.take(int(k), residual)
        chosen.append(int(k))
        matched[p.pair_client[k]] = True
    single = p.team_size[p.pair_client] == 1
    eligible = single & (p.pair_role == LEAD)
    starts = p.client_pair_ranges()
    level2 = p.pair_level2.astype(float)
    while True:
        if until is not None and until.passed():
            break
        open_pair = eligible & ~matched[p.pair_client]
        if not open_pair.any():
            break
        ok = open_pair & _fits_all(p, residual, entry_pair)
        if not ok.any():
            break
        if by == "cost":
            f = level2
        elif by == "load":
            f = _strain(p, residual, entry_pair)
        else:  # cost per unit of strain: cheap pairs that leave room
            f = (level2 - level2.min() + 1.0) * _strain(p, residual, entry_pair)
        f = np.where(ok, f, np.inf)
        # best and second-best per client (pairs are sorted by client)
        nonempty = np.flatnonzero(np.diff(starts) > 0)
        best = np.full(p.n_clients, np.inf)
        best[nonempty] = np.minimum.reduceat(f, starts[nonempty])
        at_best = f <= best[p.pair_client]
        # the first pair achieving the best, per client
        first_best = np.full(p.n_clients, -1, dtype=np.int64)
        ks = np.flatnonzero(at_best & np.isfinite(f))
        first_best[p.pair_client[ks[::-1]]] = ks[::-1]
        f2 = f.copy()
        f2[first_best[first_best >= 0]] = np.inf
        second = np.full(p.n_clients, np.inf)
        second[nonempty] = np.minimum.reduceat(f2, starts[nonempty])
        candidates = np.flatnonzero(np.isfinite(best) & ~matched)
        if not len(candidates):
            break
        regret = np.where(
            np.isfinite(second[candidates]), second[candidates] - best[candidates], np.inf
        )
        order = candidates[np.lexsort((candidates, -regret))]
        batch = max(1, int(BATCH_SHARE * len(candidates)))
        used: set[int] = set()
        placed = 0
        for i in order.tolist():
            k = int(first_best[i])
            j = int(p.pair_supporter[k])
            if j in used:
                continue
            if not p.fits(k, residual):
                continue
            p.take(k, residual)
            chosen.append(k)
            matched[i] = True
            used.add(j)
            placed += 1
            if placed >= batch:
                break
        if placed == 0:
            break
    return np.sort(np.asarray(chosen, dtype=np.int64))


def regret_start(p: ProblemData, until: Deadline | None = None) -> np.ndarray | None:
    """The first complete regret assignment (see the module docstring), or ``None``."""
    from broker.solve.model import is_complete

    if p.n_pairs > MAX_PAIRS or p.n_pairs == 0:
        return None
    for by in ("mixed", "load"):
        ks = regret_fill(p, by, until)
        matched = np.zeros(p.n_clients, dtype=bool)
        matched[p.pair_client[ks]] = True
        if is_complete(p, ks) and bool(np.all(matched[p.required])):
            return ks
    return None
