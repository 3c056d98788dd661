"""Stable matching with sizes: deferred acceptance, and blocking pairs.

The market
----------
Clients rank supporters and supporters rank clients
(:mod:`broker.policies.preferences`), over candidate lead pairs only. A client
takes at most one supporter; a supporter takes clients whose needs (days per
week, in each term they cover) fit its capacity, and every pair's cost must fit
its funder's and the programme's budgets: a many-to-one matching with sizes and
shared budgets.

Blocking pair
-------------
Given an assignment ``X``, a candidate pair ``k = (i, j)`` of a client ``i``
*blocks* ``X`` when

1. ``i`` is unmatched, or ranks ``j`` above its supporter in ``X``; and
2. ``j`` would take ``i``: with ``i``'s current pair given up, ``k`` fits every
   limit (capacity, budgets) after ``j`` drops none, or some, of the clients it
   ranks below ``i``, least preferred first.

Clients with a pinned pair or a team of two take no part: their pairs are fixed
or come in twos, and do not block (their pairs are never dropped either).
``count`` is the number of blocking pairs, ``share`` that number over the
candidate lead pairs of the clients that take part.

With unit sizes (every need the same, capacities multiples of it, no budget that
binds) this is the hospitals/residents problem: client-proposing deferred
acceptance (Gale and Shapley) returns the client-optimal stable matching and
supporter-proposing the supporter-optimal one, with no blocking pair. With
sizes a stable matching need not exist (and deciding whether one does is
NP-hard), so both variants end with a stabilisation pass: while a scan finds
blocking pairs, each is satisfied in turn (the client moves, the supporter drops
what it must), at most :data:`STABILISE_SCANS` scans. The metrics report the
blocking pairs that remain (zero on every instance we tested).

Policies
--------
``deferred_acceptance`` (clients propose) and ``deferred_acceptance_supporters``
(supporters propose). Pinned pairs are placed first. Team clients are placed
after the matching, by priority, each with its most preferred lead and second
that fit in the remaining room.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from broker.policies.instance import PolicyInstance
from broker.policies.preferences import Preferences
from broker.policies.registry import PolicyOptions, heuristic_result, register_policy
from broker.problem import LEAD, ProblemData
from broker.solve import Result
from broker.solve.model import fill

STABILISE_SCANS = 50
"""Most full scans for blocking pairs after deferred acceptance."""


@dataclass(frozen=True)
class BlockingPairs:
    """Blocking pairs of an assignment (see the module docstring).

    Attributes
    ----------
    pairs
        Candidate pair indices that block.
    eligible
        Candidate lead pairs of clients that take part.
    """

    pairs: np.ndarray
    eligible: int

    @property
    def count(self) -> int:
        return len(self.pairs)

    @property
    def share(self) -> float:
        return self.count / self.eligible if self.eligible else 0.0


def _market(p: ProblemData) -> np.ndarray:
    """Clients that take part: one supporter, no pinned pair."""
    part = p.team_size == 1
    part[p.pair_client[p.pinned]] = False
    return part


class _State:
    """An assignment held as lead pair per client and clients per supporter, with residual."""

    def __init__(self, p: ProblemData, prefs: Preferences, pairs: np.ndarray) -> None:
        self.p, self.prefs = p, prefs
        ks = p.as_pair_indices(pairs)
        self.residual = p.residual(ks)
        self.pair_of = np.full(p.n_clients, -1, np.int64)
        lead = ks[p.pair_role[ks] == LEAD]
        self.pair_of[p.pair_client[lead]] = lead
        self.others = ks[p.pair_role[ks] != LEAD]
        self.part = _market(p)
        self.held: list[list[int]] = [[] for _ in range(p.n_supporters)]
        for k in lead.tolist():
            if self.part[p.pair_client[k]]:
                self.held[int(p.pair_supporter[k])].append(k)

    def pairs(self) -> np.ndarray:
        lead = self.pair_of[self.pair_of >= 0]
        return np.sort(np.concatenate([lead, self.others]).astype(np.int64))

    def drops_for(self, k: int) -> list[int] | None:
        """Pairs of ``k``'s supporter (ranked below ``k``'s client) to drop so ``k`` fits.

        ``None`` if no such set exists. The client's current pair counts as given up.
        The residual is left unchanged.
        """
        p, r = self.p, self.residual
        i = int(p.pair_client[k])
        cur = int(self.pair_of[i])
        if cur >= 0:
            p.release(cur, r)
        dropped: list[int] = []
        found = p.fits(k, r)
        if not found:
            rank = self.prefs.supporter_rank
            worse = [h for h in self.held[int(p.pair_supporter[k])] if rank[h] > rank[k]]
            worse.sort(key=lambda h: -int(rank[h]))
            for h in worse:
                p.release(h, r)
                dropped.append(h)
                if p.fits(k, r):
                    found = True
                    break
        for h in dropped:
            p.take(h, r)
        if cur >= 0:
            p.take(cur, r)
        return dropped if found else None

    def prefers(self, k: int) -> bool:
        """Whether ``k``'s client ranks ``k`` above its current pair (or is unmatched)."""
        cur = int(self.pair_of[int(self.p.pair_client[k])])
        return cur < 0 or self.prefs.client_rank[k] < self.prefs.client_rank[cur]

    def move(self, k: int, dropped: list[int]) -> None:
        """Satisfy blocking pair ``k``: drop ``dropped``, move its client to ``k``."""
        p, r = self.p, self.residual
        for h in dropped:
            p.release(h, r)
            self.pair_of[p.pair_client[h]] = -1
            self.held[int(p.pair_supporter[h])].remove(h)
        i = int(p.pair_client[k])
        cur = int(self.pair_of[i])
        if cur >= 0:
            p.release(cur, r)
            self.held[int(p.pair_supporter[cur])].remove(cur)
        p.take(k, r)
        self.pair_of[i] = k
        self.held[int(p.pair_supporter[k])].append(k)


def _lead_pairs(p: ProblemData, part: np.ndarray) -> np.ndarray:
    return np.flatnonzero((p.pair_role == LEAD) & part[p.pair_client])


def blocking_pairs(instance: PolicyInstance, pairs: np.ndarray) -> BlockingPairs:
    """Blocking pairs of the assignment ``pairs`` (see the module docstring)."""
    prefs = instance.preferences
    assert isinstance(prefs, Preferences)
    return _blocking(instance.problem, prefs, pairs)


def _blocking(p: ProblemData, prefs: Preferences, pairs: np.ndarray) -> BlockingPairs:
    state = _State(p, prefs, pairs)
    eligible = _lead_pairs(p, state.part)
    out = [k for k in eligible.tolist() if state.prefers(k) and state.drops_for(k) is not None]
    return BlockingPairs(np.asarray(out, np.int64), len(eligible))


def stabilise(p: ProblemData, prefs: Preferences, pairs: np.ndarray) -> tuple[np.ndarray, int]:
    """Satisfy blocking pairs scan by scan; returns the pairs and the scans used."""
    state = _State(p, prefs, pairs)
    eligible = _lead_pairs(p, state.part)
    # each client's pairs by its preference, so a client moves to its best blocking pair
    eligible = eligible[np.lexsort((prefs.client_rank[eligible], p.pair_client[eligible]))]
    for scan in range(1, STABILISE_SCANS + 1):
        moved = False
        for k in eligible.tolist():
            if not state.prefers(k):
                continue
            dropped = state.drops_for(k)
            if dropped is not None:
                state.move(k, dropped)
                moved = True
        if not moved:
            return state.pairs(), scan
    return state.pairs(), STABILISE_SCANS


def client_proposing(p: ProblemData, prefs: Preferences) -> np.ndarray:
    """Client-proposing deferred acceptance with sizes; pinned pairs first (pair indices)."""
    state = _State(p, prefs, p.pinned)
    r = state.residual
    lead = _lead_pairs(p, state.part)
    lists: dict[int, list[int]] = {}
    for k in lead[np.lexsort((prefs.client_rank[lead], p.pair_client[lead]))].tolist():
        lists.setdefault(int(p.pair_client[k]), []).append(k)
    pointer = dict.fromkeys(lists, 0)
    order = sorted(lists, key=lambda i: (not p.required[i], i))
    free = deque(order)
    srank = prefs.supporter_rank
    while free:
        i = free.popleft()
        options = lists[i]
        while pointer[i] < len(options):
            k = options[pointer[i]]
            pointer[i] += 1
            j = int(p.pair_supporter[k])
            for h in state.held[j]:
                p.release(h, r)
            keep: list[int] = []
            for h in sorted([*state.held[j], k], key=lambda h: int(srank[h])):
                if p.fits(h, r):
                    p.take(h, r)
                    keep.append(h)
                elif h != k:
                    state.pair_of[p.pair_client[h]] = -1
                    free.append(int(p.pair_client[h]))
            state.held[j] = keep
            if k in keep:
                state.pair_of[i] = k
                break
    return state.pairs()


def supporter_proposing(p: ProblemData, prefs: Preferences) -> np.ndarray:
    """Supporter-proposing deferred acceptance with sizes; pinned pairs first (pair indices)."""
    state = _State(p, prefs, p.pinned)
    r = state.residual
    lead = _lead_pairs(p, state.part)
    lists: dict[int, list[int]] = {}
    for k in lead[np.lexsort((prefs.supporter_rank[lead], p.pair_supporter[lead]))].tolist():
        lists.setdefault(int(p.pair_supporter[k]), []).append(k)
    proposed = np.zeros(p.n_pairs, bool)
    crank = prefs.client_rank
    active = deque(sorted(lists))
    queued = set(active)
    while active:
        j = active.popleft()
        queued.discard(j)
        for k in lists[j]:
            if proposed[k]:
                continue
            i = int(p.pair_client[k])
            cur = int(state.pair_of[i])
            if cur >= 0 and crank[cur] <= crank[k]:
                proposed[k] = True  # the client holds a supporter it likes at least as much
                continue
            if cur >= 0:
                p.release(cur, r)
            if not p.fits(k, r):
                if cur >= 0:
                    p.take(cur, r)
                continue  # no room now; proposed again if j regains room
            p.take(k, r)
            proposed[k] = True
            state.pair_of[i] = k
            state.held[j].append(k)
            if cur >= 0:
                jc = int(p.pair_supporter[cur])
                state.held[jc].remove(cur)
                if jc not in queued:
                    active.append(jc)
                    queued.add(jc)
    return state.pairs()


def _with_teams(p: ProblemData, prefs: Preferences, pairs: np.ndarray) -> np.ndarray:
    """Place team clients after the matching: by priority, each its most preferred pairs."""
    team_pairs = np.flatnonzero(p.team_size[p.pair_client] == 2)
    if not len(team_pairs):
        return pairs
    order = team_pairs[
        np.lexsort(
            (
                prefs.client_rank[team_pairs],
                p.pair_client[team_pairs],
                -p.priority[p.pair_client[team_pairs]],
            )
        )
    ]
    return fill(p, order, start=pairs)


def _run(instance: PolicyInstance, options: PolicyOptions, side: str) -> Result:
    p = instance.problem
    prefs = instance.preferences
    assert isinstance(prefs, Preferences)
    ks = client_proposing(p, prefs) if side == "clients" else supporter_proposing(p, prefs)
    ks, scans = stabilise(p, prefs, ks)
    ks = _with_teams(p, prefs, ks)
    name = "deferred_acceptance" if side == "clients" else "deferred_acceptance_supporters"
    return heuristic_result(
        instance,
        ks,
        name=name,
        options=options,
        params={"proposing": side, "stabilise_scans": scans},
        log=(f"stabilisation: {scans} scan(s) ({prefs.source})",),
    )


@register_policy(
    "deferred_acceptance",
    family="stable",
    summary="client-proposing deferred acceptance with sizes (stable matching)",
)
def deferred_acceptance(instance: PolicyInstance, options: PolicyOptions) -> Result:
    return _run(instance, options, "clients")


@register_policy(
    "deferred_acceptance_supporters",
    family="stable",
    summary="supporter-proposing deferred acceptance with sizes (stable matching)",
)
def deferred_acceptance_supporters(instance: PolicyInstance, options: PolicyOptions) -> Result:
    return _run(instance, options, "supporters")
