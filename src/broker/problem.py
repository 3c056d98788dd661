"""The immutable problem every solver works on: integer arrays over candidate pairs.

Axis conventions, stated once:

* clients are ``i = 0 .. n_clients-1``, supporters ``j = 0 .. n_supporters-1``;
* candidate pairs are ``k = 0 .. n_pairs-1`` with ``pairs[k] = (pair_client[k],
  pair_supporter[k])``, sorted by client then supporter, without duplicates;
* budget groups (authorities with a budget) are ``g = 0 .. n_groups-1``.

Formulation (what every solver must respect)::

    x[k] in {0, 1}
    sum_{k in K(i)} x[k] <= 1            every client i   (== 1 if required[i])
    sum_{k in K(j)} load[k] x[k] <= capacity[j]          every supporter j
    sum_{k: group[client k] = g} cost[k] x[k] <= group_budget[g]   every group g
    sum_k cost[k] x[k] <= programme_budget               (if programme_budget >= 0)
    x[k] = 1                              every pinned pair k

    level 1: maximise sum_k priority[pair_client[k]] x[k]
    level 2: minimise sum_k level2[k] x[k], with level 1 held at its value

Quantities are integers in the units of :mod:`broker.units` (loads in centidays,
money in £0.0001, level-2 in 1/1000 points). IDs never reach a solver; they live
in ``client_ids`` and ``supporter_ids`` for decoding.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

NO_LIMIT = -1
"""Sentinel for "no budget" in integer budget fields."""

FLAG_CROSS_PHASE = np.uint8(1)
FLAG_OTHER_LA = np.uint8(2)


def _ro(a: np.ndarray, dtype: type) -> np.ndarray:
    out: np.ndarray = np.ascontiguousarray(a, dtype=dtype).copy()
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class ProblemData:
    """Validated, read-only arrays describing one matching problem.

    Build with :func:`broker.candidates.build_problem` (from a scenario) or
    :func:`ProblemData.create` (from arrays, e.g. a GAP instance). Make variants
    with :meth:`replace`; arrays are never modified in place.
    """

    client_ids: tuple[str, ...]
    supporter_ids: tuple[str, ...]
    priority: np.ndarray
    required: np.ndarray
    capacity: np.ndarray
    pair_client: np.ndarray
    pair_supporter: np.ndarray
    pair_load: np.ndarray
    pair_cost: np.ndarray
    pair_level2: np.ndarray
    pair_distance_km: np.ndarray
    pair_flags: np.ndarray
    pinned: np.ndarray
    client_group: np.ndarray
    group_budget: np.ndarray
    group_names: tuple[str, ...]
    programme_budget: int = NO_LIMIT
    name: str = ""
    _pair_key: dict[tuple[int, int], int] | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ build
    @classmethod
    def create(
        cls,
        *,
        client_ids: list[str] | tuple[str, ...],
        supporter_ids: list[str] | tuple[str, ...],
        priority: np.ndarray,
        capacity: np.ndarray,
        pair_client: np.ndarray,
        pair_supporter: np.ndarray,
        pair_load: np.ndarray,
        pair_cost: np.ndarray | None = None,
        pair_level2: np.ndarray | None = None,
        pair_distance_km: np.ndarray | None = None,
        pair_flags: np.ndarray | None = None,
        required: np.ndarray | None = None,
        pinned: np.ndarray | None = None,
        client_group: np.ndarray | None = None,
        group_budget: np.ndarray | None = None,
        group_names: list[str] | tuple[str, ...] = (),
        programme_budget: int = NO_LIMIT,
        name: str = "",
    ) -> ProblemData:
        """Sort pairs canonically, fill defaults, validate, and freeze.

        ``pinned`` holds indices into the *given* pair order; they are remapped.
        """
        n_c, n_p = len(client_ids), len(pair_client)
        pc = np.asarray(pair_client, dtype=np.int64)
        ps = np.asarray(pair_supporter, dtype=np.int64)
        order = np.lexsort((ps, pc))
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))

        def arr(a: np.ndarray | None, default: object, dtype: type) -> np.ndarray:
            if a is None:
                return np.full(n_p, default, dtype=dtype)
            a = np.asarray(a)
            if a.shape != (n_p,):
                raise ValueError(f"pair array has shape {a.shape}, expected ({n_p},)")
            return a.astype(dtype)[order]

        pins = (
            np.zeros(0, dtype=np.int64)
            if pinned is None
            else inverse[np.asarray(pinned, dtype=np.int64)]
        )
        return cls(
            client_ids=tuple(client_ids),
            supporter_ids=tuple(supporter_ids),
            priority=_ro(priority, np.int64),
            required=_ro(np.zeros(n_c, bool) if required is None else required, np.bool_),
            capacity=_ro(capacity, np.int64),
            pair_client=_ro(pc[order], np.int32),
            pair_supporter=_ro(ps[order], np.int32),
            pair_load=_ro(arr(pair_load, 0, np.int64), np.int64),
            pair_cost=_ro(arr(pair_cost, 0, np.int64), np.int64),
            pair_level2=_ro(arr(pair_level2, 0, np.int64), np.int64),
            pair_distance_km=_ro(arr(pair_distance_km, 0.0, np.float64), np.float64),
            pair_flags=_ro(arr(pair_flags, 0, np.uint8), np.uint8),
            pinned=_ro(np.sort(pins), np.int64),
            client_group=_ro(np.full(n_c, -1) if client_group is None else client_group, np.int32),
            group_budget=_ro(np.zeros(0) if group_budget is None else group_budget, np.int64),
            group_names=tuple(group_names),
            programme_budget=int(programme_budget),
            name=name,
        )

    def __post_init__(self) -> None:
        n_c, n_s, n_p = self.n_clients, self.n_supporters, self.n_pairs
        checks = [
            (self.priority.shape == (n_c,), "priority must have one entry per client"),
            (self.required.shape == (n_c,), "required must have one entry per client"),
            (self.capacity.shape == (n_s,), "capacity must have one entry per supporter"),
            (self.client_group.shape == (n_c,), "client_group must have one entry per client"),
            (
                len(self.group_names) in (0, len(self.group_budget)),
                "group_names must match group_budget",
            ),
        ]
        for arr_name in (
            "pair_supporter",
            "pair_load",
            "pair_cost",
            "pair_level2",
            "pair_distance_km",
            "pair_flags",
        ):
            checks.append(
                (
                    getattr(self, arr_name).shape == (n_p,),
                    f"{arr_name} must have one entry per pair",
                )
            )
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)
        if n_p:
            if self.pair_client.min() < 0 or self.pair_client.max() >= n_c:
                raise ValueError("pair_client out of range")
            if self.pair_supporter.min() < 0 or self.pair_supporter.max() >= n_s:
                raise ValueError("pair_supporter out of range")
            key = self.pair_client.astype(np.int64) * max(n_s, 1) + self.pair_supporter
            if np.any(np.diff(key) <= 0):
                raise ValueError("pairs must be sorted by (client, supporter) without duplicates")
            if self.pair_load.min() < 0 or self.pair_cost.min() < 0:
                raise ValueError("pair loads and costs must be >= 0")
        if n_c and self.priority.min() < 0:
            raise ValueError("priorities must be >= 0")
        if n_s and self.capacity.min() < 0:
            raise ValueError("capacities must be >= 0")
        if len(self.pinned) and (self.pinned.min() < 0 or self.pinned.max() >= n_p):
            raise ValueError("pinned pair index out of range")
        if len(self.pinned) and len(np.unique(self.pair_client[self.pinned])) < len(self.pinned):
            raise ValueError("a client has more than one pinned pair")
        g = self.client_group
        if n_c and (g.min() < -1 or g.max() >= len(self.group_budget)):
            raise ValueError("client_group out of range")

    def replace(self, **changes: object) -> ProblemData:
        """Copy with fields replaced; the result is validated again."""
        changes.setdefault("_pair_key", None)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    # ------------------------------------------------------------- properties
    @property
    def n_clients(self) -> int:
        return len(self.client_ids)

    @property
    def n_supporters(self) -> int:
        return len(self.supporter_ids)

    @property
    def n_pairs(self) -> int:
        return len(self.pair_client)

    @property
    def n_groups(self) -> int:
        return len(self.group_budget)

    @property
    def pair_priority(self) -> np.ndarray:
        """Level-1 value of each pair (its client's priority)."""
        return self.priority[self.pair_client]

    def client_pair_ranges(self) -> np.ndarray:
        """Offsets (length ``n_clients + 1``): client i owns pairs ``starts[i]:starts[i+1]``."""
        return np.searchsorted(self.pair_client, np.arange(self.n_clients + 1))

    def pair_index(self, client: int, supporter: int) -> int:
        """Index of pair ``(client, supporter)`` or -1."""
        starts = self.client_pair_ranges()
        lo, hi = starts[client], starts[client + 1]
        pos = lo + np.searchsorted(self.pair_supporter[lo:hi], supporter)
        if pos < hi and self.pair_supporter[pos] == supporter:
            return int(pos)
        return -1

    def assignment_to_pairs(self, assignment: np.ndarray) -> np.ndarray:
        """Pair indices used by an assignment (supporter per client, -1 if none).

        Raises ``ValueError`` if an assigned (client, supporter) is not a pair.
        """
        assignment = np.asarray(assignment)
        clients = np.flatnonzero(assignment >= 0)
        n_s = max(self.n_supporters, 1)
        keys = self.pair_client.astype(np.int64) * n_s + self.pair_supporter
        want = clients.astype(np.int64) * n_s + assignment[clients]
        pos = np.searchsorted(keys, want)
        pos = np.minimum(pos, max(len(keys) - 1, 0))
        if len(want) and (len(keys) == 0 or np.any(keys[pos] != want)):
            raise ValueError("assignment uses a pair that is not a candidate")
        return pos.astype(np.int64)

    def pairs_to_assignment(self, chosen: np.ndarray) -> np.ndarray:
        """Supporter per client (-1 if none) from a 0/1 vector over pairs."""
        out = np.full(self.n_clients, -1, dtype=np.int64)
        idx = np.flatnonzero(np.asarray(chosen) > 0.5)
        out[self.pair_client[idx]] = self.pair_supporter[idx]
        return out
