"""Insertion local search for level 1 on capacity-only rounds.

On a round whose only limits are the supporters' capacities, a client left
unmatched by a start heuristic can often be matched without losing anyone, by
moving one matched client to another supporter with room. Three moves, tried for
each unmatched client ``i`` in order of priority (highest first) and, within a
client, over its candidate pairs from the lightest load:

* **insert**: a supporter of ``i`` has room for ``i``'s load; level 1 gains
  ``priority[i]``;
* **shift and insert**: a matched client ``j`` of supporter ``s`` moves to another of
  its supporters that has room, and the room this frees at ``s`` takes ``i``; level 1
  gains ``priority[i]``;
* **replace**: an optional client ``j`` of ``s`` with a lower priority than ``i`` is
  unmatched and ``i`` takes its place; level 1 gains ``priority[i] - priority[j]``,
  and ``j`` is tried again in the next round.

Rounds repeat until none of them improves level 1 or the deadline passes. Every
move keeps every hard rule (each client at most once, every capacity), so the
result is feasible whenever the start is, and its level 1 is never lower. Level 2
is left to the later phases. No randomness: the same start gives the same result.

The search applies (:func:`applies`) when every client needs one supporter, no
pair is pinned, and each pair uses exactly one limit, a capacity: the shape of
capacity-only national rounds, where the LP bound is weak and the LNS starts far
from it.
"""

from __future__ import annotations

import numpy as np

from broker.problem import LimitKind, ProblemData
from broker.solve.deadline import Deadline


def applies(p: ProblemData) -> bool:
    """Whether ``p`` has the shape the search needs (module docstring)."""
    if p.n_pairs == 0 or np.any(p.team_size != 1) or len(p.pinned):
        return False
    if not np.all(np.diff(p.limit_ptr) == 1):
        return False
    return bool(np.all(p.limit_kind[p.limit_row] == int(LimitKind.CAPACITY)))


class _State:
    """The current assignment: each client's pair, each row's load and clients."""

    def __init__(self, p: ProblemData, pairs: np.ndarray) -> None:
        self.p = p
        self.row = p.limit_row.astype(np.int64)  # one entry per pair
        self.weight = p.limit_amount.astype(np.int64)
        self.rhs = p.limit_rhs.astype(np.int64)
        self.starts = p.client_pair_ranges()
        self.pair_of = np.full(p.n_clients, -1, dtype=np.int64)
        self.pair_of[p.pair_client[pairs]] = pairs
        self.used = np.bincount(self.row[pairs], weights=self.weight[pairs], minlength=p.n_limits)
        self.used = self.used.astype(np.int64)
        self.clients_of: list[list[int]] = [[] for _ in range(p.n_limits)]
        for k in np.sort(pairs).tolist():
            self.clients_of[int(self.row[k])].append(int(p.pair_client[k]))

    def pairs(self, i: int) -> np.ndarray:
        return np.arange(self.starts[i], self.starts[i + 1])

    def room(self, rows: np.ndarray) -> np.ndarray:
        return self.rhs[rows] - self.used[rows]

    def take(self, i: int, k: int) -> None:
        r = int(self.row[k])
        self.pair_of[i] = k
        self.used[r] += self.weight[k]
        self.clients_of[r].append(i)

    def drop(self, i: int) -> None:
        k = int(self.pair_of[i])
        r = int(self.row[k])
        self.pair_of[i] = -1
        self.used[r] -= self.weight[k]
        self.clients_of[r].remove(i)

    def place_elsewhere(self, j: int, avoid: int) -> int:
        """The lightest pair of matched client ``j`` in another row that has room for
        it, or -1."""
        ks = self.pairs(j)
        rows = self.row[ks]
        ok = (rows != avoid) & (self.weight[ks] <= self.room(rows))
        if not ok.any():
            return -1
        cand = ks[ok]
        return int(cand[np.argmin(self.weight[cand])])  # first of the lightest


def _try_client(s: _State, i: int, prio: np.ndarray, optional: np.ndarray) -> int:
    """Match unmatched client ``i`` by one move; returns the level-1 gain (0: no move
    was found). A client a replace unmatches waits for the next round."""
    ks = s.pairs(i)
    if len(ks) == 0:
        return 0
    ks = ks[np.argsort(s.weight[ks], kind="stable")]
    rows = s.row[ks]
    fits = s.weight[ks] <= s.room(rows)
    if fits.any():
        s.take(i, int(ks[np.argmax(fits)]))
        return int(prio[i])
    # shift and insert: free room at a supporter by moving one of its clients
    for k, r in zip(ks.tolist(), rows.tolist(), strict=True):
        need = int(s.weight[k] - (s.rhs[r] - s.used[r]))
        for j in list(s.clients_of[r]):
            if s.weight[s.pair_of[j]] < need:
                continue
            k2 = s.place_elsewhere(j, r)
            if k2 >= 0:
                s.drop(j)
                s.take(j, k2)
                s.take(i, k)
                return int(prio[i])
    # replace: the lowest-priority optional client whose place is enough
    best: tuple[int, int, int, int] | None = None  # (prio j, -weight, j, k)
    for k, r in zip(ks.tolist(), rows.tolist(), strict=True):
        need = int(s.weight[k] - (s.rhs[r] - s.used[r]))
        for j in s.clients_of[r]:
            if optional[j] and prio[j] < prio[i] and s.weight[s.pair_of[j]] >= need:
                key = (int(prio[j]), -int(s.weight[s.pair_of[j]]), j, k)
                if best is None or key < best:
                    best = key
    if best is None:
        return 0
    _, _, j, k = best
    s.drop(j)
    s.take(i, k)
    return int(prio[i] - prio[j])


def improve_level1(p: ProblemData, pairs: np.ndarray, until: Deadline) -> np.ndarray:
    """Insert, shift-and-insert and replace from the feasible ``pairs`` (module
    docstring); returns the improved pair indices, sorted (``pairs`` itself when the
    search does not apply)."""
    ks = p.as_pair_indices(pairs)
    if not applies(p):
        return ks
    s = _State(p, ks)
    prio = p.priority.astype(np.int64)
    optional = ~p.required.astype(bool)
    improved = True
    while improved and not until.passed():
        improved = False
        waiting = np.flatnonzero(s.pair_of < 0)
        waiting = waiting[np.argsort(-prio[waiting], kind="stable")]
        for i in waiting.tolist():
            if until.passed():
                break
            if s.pair_of[i] >= 0:
                continue
            gain = _try_client(s, i, prio, optional)
            improved = improved or gain > 0
    return np.sort(s.pair_of[s.pair_of >= 0])
