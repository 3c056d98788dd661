"""The immutable problem every solver works on: integer arrays over candidate pairs.

Axis conventions, stated once:

* clients are ``i = 0 .. n_clients-1``, supporters ``j = 0 .. n_supporters-1``;
* candidate pairs are ``k = 0 .. n_pairs-1`` with
  ``pairs[k] = (pair_client[k], pair_role[k], pair_supporter[k])``, sorted by client,
  then role, then supporter, without duplicates. The role is :data:`LEAD` (0) or,
  for a client that needs a team of two, :data:`SECOND` (1);
* limits are ``r = 0 .. n_limits-1``: knapsack rows ``sum_k a[r, k] x[k] <= rhs[r]``
  with non-negative integer coefficients. Each is a supporter's capacity in one
  term (:attr:`LimitKind.CAPACITY`) or a budget (an authority or other funder,
  the whole programme, or one school's own budget for a team).

Formulation (what every solver must respect)::

    x[k] in {0, 1}
    m[i] = sum_{k in K(i), role k = LEAD} x[k] <= 1       every client i (== 1 if required[i])
    sum_{k in K(i), role k = SECOND} x[k] == m[i]          every client with team_size[i] == 2
    x[(i, LEAD, j)] + x[(i, SECOND, j)] <= 1               one person cannot fill both roles
    sum_k a[r, k] x[k] <= rhs[r]                           every limit r
    x[k] = 1                                               every pinned pair k

    level 1: maximise sum_k priority[pair_client[k]] [role k = LEAD] x[k]
    level 2: minimise sum_k level2[k] x[k], with level 1 held at its value

A client with ``team_size == 1`` has only lead pairs, and the formulation is then
the generalised assignment problem with side constraints that broker has always
solved. Quantities are integers in the units of :mod:`broker.units` (loads in
centidays, money in £0.0001, level-2 in 1/1000 points). IDs never reach a solver;
they live in ``client_ids`` and ``supporter_ids`` for decoding.

The limit coefficients are stored by pair (compressed sparse columns:
``limit_ptr``, ``limit_row``, ``limit_amount``), which is what residual checks in
heuristics need; :meth:`ProblemData.limit_matrix` gives the row-major view the
model builders use.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import sparse

NO_LIMIT = -1
"""Sentinel for "no budget" in integer budget arguments."""

LEAD = 0
SECOND = 1
ROLE_NAMES = ("lead", "second")

FLAG_CROSS_PHASE = np.uint8(1)
FLAG_OTHER_LA = np.uint8(2)


class LimitKind(enum.IntEnum):
    """What a limit row stands for (used to explain what blocked a match)."""

    CAPACITY = 0
    """A supporter's days per week in one term."""
    GROUP_BUDGET = 1
    """A funder's budget: a local authority's, or another funder's."""
    PROGRAMME_BUDGET = 2
    """The whole round's budget."""
    CLIENT_BUDGET = 3
    """One school's own budget for all members of its team."""


def _ro(a: np.ndarray, dtype: type) -> np.ndarray:
    out: np.ndarray = np.ascontiguousarray(a, dtype=dtype).copy()
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class ProblemData:
    """Validated, read-only arrays describing one matching problem.

    Build with :func:`broker.candidates.build_problem` (from a scenario) or
    :func:`ProblemData.create` (from arrays, e.g. a GAP instance). Make variants
    with :meth:`replace` or :meth:`subproblem`; arrays are never modified in place.
    """

    client_ids: tuple[str, ...]
    supporter_ids: tuple[str, ...]
    priority: np.ndarray
    required: np.ndarray
    team_size: np.ndarray
    pair_client: np.ndarray
    pair_role: np.ndarray
    pair_supporter: np.ndarray
    pair_load: np.ndarray
    pair_cost: np.ndarray
    pair_level2: np.ndarray
    pair_distance_km: np.ndarray
    pair_flags: np.ndarray
    pinned: np.ndarray
    limit_ptr: np.ndarray
    limit_row: np.ndarray
    limit_amount: np.ndarray
    limit_rhs: np.ndarray
    limit_kind: np.ndarray
    limit_owner: np.ndarray
    limit_term: np.ndarray
    limit_names: tuple[str, ...]
    n_terms: int = 1
    name: str = ""
    _cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

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
        pair_role: np.ndarray | None = None,
        required: np.ndarray | None = None,
        team_size: np.ndarray | None = None,
        pinned: np.ndarray | None = None,
        client_group: np.ndarray | None = None,
        pair_group: np.ndarray | None = None,
        group_budget: np.ndarray | None = None,
        group_names: list[str] | tuple[str, ...] = (),
        programme_budget: int = NO_LIMIT,
        client_budget: np.ndarray | None = None,
        client_terms: np.ndarray | None = None,
        n_terms: int = 1,
        name: str = "",
    ) -> ProblemData:
        """Sort pairs canonically, build the limit rows, validate, and freeze.

        Parameters
        ----------
        client_ids, supporter_ids
            Names for decoding.
        priority
            Level-1 value of matching each client (>= 0).
        capacity
            Each supporter's capacity per term in centidays: shape
            ``(n_supporters,)`` (the same in every term) or
            ``(n_supporters, n_terms)``.
        pair_client, pair_supporter, pair_role
            The candidate pairs (role defaults to :data:`LEAD`).
        pair_load
            Centidays per week the pair takes from its supporter in each of its
            client's terms.
        pair_cost, pair_level2, pair_distance_km, pair_flags
            Cost in £0.0001, level-2 coefficient, distance and flags per pair.
        required, team_size
            Per client: must be matched; 1 or 2 supporters.
        pinned
            Indices into the *given* pair order; they are remapped.
        client_group, pair_group, group_budget, group_names
            Budget groups (funders): each pair's cost is charged to its group
            (``pair_group``, by default its client's ``client_group``; -1 for
            none), and each group's spend is at most ``group_budget``.
        programme_budget
            Most all pairs may cost together, or :data:`NO_LIMIT`.
        client_budget
            Per client, most its pairs may cost together (-1 for none). Only
            clients with a team get a row: a single pair above its client's budget
            is not a candidate in the first place.
        client_terms, n_terms
            Terms of the planning period: each client's terms as a bit mask
            (bit ``t`` for term ``t``; default all terms).
        """
        n_c, n_s, n_p = len(client_ids), len(supporter_ids), len(pair_client)
        pc = np.asarray(pair_client, dtype=np.int64)
        ps = np.asarray(pair_supporter, dtype=np.int64)
        pr = np.zeros(n_p, np.int64) if pair_role is None else np.asarray(pair_role, np.int64)
        for a_name, a in (("pair_supporter", ps), ("pair_role", pr)):
            if a.shape != (n_p,):
                raise ValueError(f"{a_name} has shape {a.shape}, expected ({n_p},)")
        order = np.lexsort((ps, pr, pc))
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
        pc, ps, pr = pc[order], ps[order], pr[order]
        load = arr(pair_load, 0, np.int64)
        cost = arr(pair_cost, 0, np.int64)
        if n_terms < 1 or n_terms > 62:
            raise ValueError(f"n_terms must be between 1 and 62, got {n_terms}")
        all_terms = (1 << n_terms) - 1
        terms = (
            np.full(n_c, all_terms, np.int64)
            if client_terms is None
            else np.asarray(client_terms, np.int64)
        )
        cap = np.asarray(capacity, dtype=np.int64)
        if cap.ndim == 1:
            cap = np.repeat(cap[:, None], n_terms, axis=1)
        if cap.shape != (n_s, n_terms):
            raise ValueError(
                f"capacity has shape {cap.shape}, expected ({n_s},) or ({n_s}, {n_terms})"
            )
        if terms.shape != (n_c,):
            raise ValueError("client_terms must have one entry per client")
        if n_c and (np.any(terms <= 0) or np.any(terms > all_terms)):
            raise ValueError("every client needs at least one term within n_terms")

        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        rhs: list[np.ndarray] = []
        kind: list[np.ndarray] = []
        owner: list[np.ndarray] = []
        term: list[np.ndarray] = []
        names: list[str] = []
        pk = np.arange(n_p, dtype=np.int64)
        # capacity of supporter j in term t is row j * n_terms + t
        pair_terms = terms[pc] if n_p else np.zeros(0, np.int64)
        for t in range(n_terms):
            on = (pair_terms >> t) & 1 == 1
            rows.append(ps[on] * n_terms + t)
            cols.append(pk[on])
            vals.append(load[on])
        rhs.append(cap.reshape(-1))
        kind.append(np.full(n_s * n_terms, LimitKind.CAPACITY, np.uint8))
        owner.append(np.repeat(np.arange(n_s), n_terms))
        term.append(np.tile(np.arange(n_terms), n_s))
        for j in range(n_s):
            sid = supporter_ids[j]
            names.extend(
                [f"supporter {sid}"]
                if n_terms == 1
                else [f"supporter {sid}, term {t + 1}" for t in range(n_terms)]
            )
        base = n_s * n_terms
        budgets = np.zeros(0, np.int64) if group_budget is None else np.asarray(group_budget)
        n_g = len(budgets)
        if n_g:
            if pair_group is not None:
                pg = arr(pair_group, -1, np.int64)
            elif client_group is not None:
                cg = np.asarray(client_group, np.int64)
                if cg.shape != (n_c,):
                    raise ValueError("client_group must have one entry per client")
                pg = cg[pc]
            else:
                pg = np.full(n_p, -1, np.int64)
            if np.any(pg >= n_g) or np.any(pg < -1):
                raise ValueError("pair group out of range")
            on = pg >= 0
            rows.append(base + pg[on])
            cols.append(pk[on])
            vals.append(cost[on])
            rhs.append(budgets.astype(np.int64))
            kind.append(np.full(n_g, LimitKind.GROUP_BUDGET, np.uint8))
            owner.append(np.arange(n_g))
            term.append(np.full(n_g, -1))
            names.extend(
                list(group_names) if len(group_names) == n_g else [f"group {g}" for g in range(n_g)]
            )
            base += n_g
        if programme_budget != NO_LIMIT:
            rows.append(np.full(n_p, base, np.int64))
            cols.append(pk)
            vals.append(cost)
            rhs.append(np.array([programme_budget], np.int64))
            kind.append(np.array([LimitKind.PROGRAMME_BUDGET], np.uint8))
            owner.append(np.array([-1]))
            term.append(np.array([-1]))
            names.append("programme")
            base += 1
        size = np.ones(n_c, np.int64) if team_size is None else np.asarray(team_size, np.int64)
        if client_budget is not None:
            cb = np.asarray(client_budget, np.int64)
            if cb.shape != (n_c,):
                raise ValueError("client_budget must have one entry per client")
            with_row = np.flatnonzero((cb >= 0) & (size == 2))
            row_of = np.full(n_c, -1, np.int64)
            row_of[with_row] = base + np.arange(len(with_row))
            on = row_of[pc] >= 0 if n_p else np.zeros(0, bool)
            rows.append(row_of[pc[on]])
            cols.append(pk[on])
            vals.append(cost[on])
            rhs.append(cb[with_row])
            kind.append(np.full(len(with_row), LimitKind.CLIENT_BUDGET, np.uint8))
            owner.append(with_row)
            term.append(np.full(len(with_row), -1))
            names.extend(f"school {client_ids[i]}" for i in with_row)
            base += len(with_row)
        r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        v = np.concatenate(vals) if vals else np.zeros(0, np.int64)
        o = np.lexsort((r, c))
        ptr = np.searchsorted(c[o], np.arange(n_p + 1))
        return cls(
            client_ids=tuple(client_ids),
            supporter_ids=tuple(supporter_ids),
            priority=_ro(priority, np.int64),
            required=_ro(np.zeros(n_c, bool) if required is None else required, np.bool_),
            team_size=_ro(size, np.int8),
            pair_client=_ro(pc, np.int32),
            pair_role=_ro(pr, np.uint8),
            pair_supporter=_ro(ps, np.int32),
            pair_load=_ro(load, np.int64),
            pair_cost=_ro(cost, np.int64),
            pair_level2=_ro(arr(pair_level2, 0, np.int64), np.int64),
            pair_distance_km=_ro(arr(pair_distance_km, 0.0, np.float64), np.float64),
            pair_flags=_ro(arr(pair_flags, 0, np.uint8), np.uint8),
            pinned=_ro(np.sort(pins), np.int64),
            limit_ptr=_ro(ptr, np.int64),
            limit_row=_ro(r[o], np.int32),
            limit_amount=_ro(v[o], np.int64),
            limit_rhs=_ro(np.concatenate(rhs), np.int64),
            limit_kind=_ro(np.concatenate(kind), np.uint8),
            limit_owner=_ro(np.concatenate(owner), np.int32),
            limit_term=_ro(np.concatenate(term), np.int16),
            limit_names=tuple(names),
            n_terms=int(n_terms),
            name=name,
        )

    def __post_init__(self) -> None:
        n_c, n_s, n_p, n_l = self.n_clients, self.n_supporters, self.n_pairs, self.n_limits
        checks = [
            (self.priority.shape == (n_c,), "priority must have one entry per client"),
            (self.required.shape == (n_c,), "required must have one entry per client"),
            (self.team_size.shape == (n_c,), "team_size must have one entry per client"),
            (self.limit_ptr.shape == (n_p + 1,), "limit_ptr must have n_pairs + 1 entries"),
            (self.limit_row.shape == self.limit_amount.shape, "limit rows and amounts differ"),
            (len(self.limit_names) == n_l, "limit_names must name every limit"),
        ]
        for arr_name in (
            "pair_role",
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
        for arr_name in ("limit_kind", "limit_owner", "limit_term"):
            checks.append(
                (
                    getattr(self, arr_name).shape == (n_l,),
                    f"{arr_name} must have one entry per limit",
                )
            )
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)
        if n_c and not np.all((self.team_size == 1) | (self.team_size == 2)):
            raise ValueError("team_size must be 1 or 2")
        if n_p:
            if self.pair_client.min() < 0 or self.pair_client.max() >= n_c:
                raise ValueError("pair_client out of range")
            if self.pair_supporter.min() < 0 or self.pair_supporter.max() >= n_s:
                raise ValueError("pair_supporter out of range")
            if self.pair_role.max() > SECOND:
                raise ValueError("pair_role must be 0 (lead) or 1 (second)")
            if np.any((self.pair_role == SECOND) & (self.team_size[self.pair_client] != 2)):
                raise ValueError("second-role pairs are only allowed for clients with a team of 2")
            key = self._pair_keys()
            if np.any(np.diff(key) <= 0):
                raise ValueError(
                    "pairs must be sorted by (client, role, supporter) without duplicates"
                )
            if self.pair_load.min() < 0 or self.pair_cost.min() < 0:
                raise ValueError("pair loads and costs must be >= 0")
        if n_c and self.priority.min() < 0:
            raise ValueError("priorities must be >= 0")
        if np.any(np.diff(self.limit_ptr) < 0) or (n_p and self.limit_ptr[0] != 0):
            raise ValueError("limit_ptr must be non-decreasing from 0")
        if len(self.limit_row) and (self.limit_row.min() < 0 or self.limit_row.max() >= n_l):
            raise ValueError("limit row out of range")
        if len(self.limit_amount) and self.limit_amount.min() < 0:
            raise ValueError("limit coefficients must be >= 0")
        if n_l and self.limit_rhs.min() < 0:
            raise ValueError("limits must be >= 0")
        if len(self.pinned) and (self.pinned.min() < 0 or self.pinned.max() >= n_p):
            raise ValueError("pinned pair index out of range")
        if len(self.pinned):
            slot = self.pair_client[self.pinned].astype(np.int64) * 2 + self.pair_role[self.pinned]
            if len(np.unique(slot)) < len(slot):
                raise ValueError("a client has more than one pinned pair in the same role")
        self._check_safe_ranges()

    def _check_safe_ranges(self) -> None:
        """Assert that no coefficient or sum leaves the range every solver holds exactly."""
        from broker.limits import assert_problem_safe

        assert_problem_safe(self)

    def replace(self, **changes: object) -> ProblemData:
        """Copy with fields replaced; the result is validated again."""
        changes.setdefault("_cache", {})
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
    def n_limits(self) -> int:
        return len(self.limit_rhs)

    @property
    def has_teams(self) -> bool:
        return bool(np.any(self.team_size == 2))

    @cached_property
    def pair_priority(self) -> np.ndarray:
        """Level-1 value of each pair: its client's priority on lead pairs, else 0."""
        out = np.where(self.pair_role == LEAD, self.priority[self.pair_client], 0)
        return _ro(out, np.int64)

    @cached_property
    def capacity(self) -> np.ndarray:
        """Each supporter's largest capacity over the terms (centidays per week).

        Exact for single-term problems; for several terms an upper bound on what
        the supporter can give in any one term (used by bounds such as max-flow).
        """
        cap = self.limit_kind == LimitKind.CAPACITY
        out = np.zeros(self.n_supporters, np.int64)
        np.maximum.at(out, self.limit_owner[cap], self.limit_rhs[cap])
        return _ro(out, np.int64)

    def _pair_keys(self) -> np.ndarray:
        n_s = max(self.n_supporters, 1)
        return (self.pair_client.astype(np.int64) * 2 + self.pair_role) * n_s + self.pair_supporter

    def client_pair_ranges(self) -> np.ndarray:
        """Offsets (length ``n_clients + 1``): client i owns pairs ``starts[i]:starts[i+1]``.

        A team client's lead pairs come before its second pairs.
        """
        cached = self._cache.get("starts")
        if cached is None:
            cached = _ro(np.searchsorted(self.pair_client, np.arange(self.n_clients + 1)), np.int64)
            self._cache["starts"] = cached
        return cached  # type: ignore[return-value]

    def limit_matrix(self) -> sparse.csr_array:
        """Limit coefficients as a sparse ``(n_limits, n_pairs)`` int64 matrix (cached)."""
        cached = self._cache.get("limit_matrix")
        if cached is None:
            cols = np.repeat(np.arange(self.n_pairs), np.diff(self.limit_ptr))
            cached = sparse.csr_array(
                (self.limit_amount, (self.limit_row, cols)), shape=(self.n_limits, self.n_pairs)
            )
            cached.sum_duplicates()
            self._cache["limit_matrix"] = cached
        return cached  # type: ignore[return-value]

    def limit_label(self, r: int) -> str:
        """A readable name of limit ``r``, e.g. ``capacity of supporter S1``."""
        kind = LimitKind(int(self.limit_kind[r]))
        name = self.limit_names[r]
        if kind == LimitKind.CAPACITY:
            return f"capacity of {name}"
        if kind == LimitKind.PROGRAMME_BUDGET:
            return "programme budget"
        return f"budget of {name}"

    def limits_of(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and amounts pair ``k`` consumes."""
        lo, hi = self.limit_ptr[k], self.limit_ptr[k + 1]
        return self.limit_row[lo:hi], self.limit_amount[lo:hi]

    def usage(self, pairs: np.ndarray) -> np.ndarray:
        """How much of every limit the pairs ``pairs`` use together (int64 per limit)."""
        pairs = np.asarray(pairs, dtype=np.int64)
        if not len(pairs):
            return np.zeros(self.n_limits, np.int64)
        idx = self._entries(pairs)
        out = np.zeros(self.n_limits, np.int64)
        if len(idx):
            np.add.at(out, self.limit_row[idx], self.limit_amount[idx])
        return out

    def _entries(self, pairs: np.ndarray) -> np.ndarray:
        """Positions in ``limit_row``/``limit_amount`` of the entries of ``pairs``, in order."""
        pairs = np.asarray(pairs, dtype=np.int64)
        starts = self.limit_ptr[pairs]
        counts = self.limit_ptr[pairs + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64)
        offsets = np.cumsum(counts) - counts
        return np.repeat(starts - offsets, counts) + np.arange(total)

    def residual(self, pairs: np.ndarray) -> np.ndarray:
        """What is left of every limit after ``pairs`` (may be negative if infeasible)."""
        return self.limit_rhs - self.usage(pairs)

    def fits(self, k: int, residual: np.ndarray) -> bool:
        """Whether pair ``k`` fits into ``residual`` on every limit it uses."""
        rows, amounts = self.limits_of(k)
        return bool(np.all(amounts <= residual[rows]))

    def take(self, k: int, residual: np.ndarray) -> None:
        """Charge pair ``k`` to ``residual`` (in place)."""
        rows, amounts = self.limits_of(k)
        residual[rows] -= amounts

    def release(self, k: int, residual: np.ndarray) -> None:
        """Give pair ``k``'s use back to ``residual`` (in place)."""
        rows, amounts = self.limits_of(k)
        residual[rows] += amounts

    def pair_index(self, client: int, supporter: int, role: int = LEAD) -> int:
        """Index of pair ``(client, role, supporter)`` or -1."""
        keys = self._pair_keys()
        n_s = max(self.n_supporters, 1)
        want = (client * 2 + role) * n_s + supporter
        pos = int(np.searchsorted(keys, want))
        return pos if pos < len(keys) and keys[pos] == want else -1

    def assignment_to_pairs(
        self, assignment: np.ndarray, second: np.ndarray | None = None
    ) -> np.ndarray:
        """Sorted pair indices used by an assignment.

        ``assignment`` holds the (lead) supporter per client and ``second`` the
        second supporter of team clients, -1 where none. Raises ``ValueError`` if
        an assigned (client, role, supporter) is not a candidate pair.
        """
        n_s = max(self.n_supporters, 1)
        keys = self._pair_keys()
        want = []
        for role, a in ((LEAD, assignment), (SECOND, second)):
            if a is None:
                continue
            a = np.asarray(a, dtype=np.int64)
            if a.shape != (self.n_clients,):
                raise ValueError(f"expected one entry per client, got shape {a.shape}")
            clients = np.flatnonzero(a >= 0)
            want.append((clients * 2 + role) * n_s + a[clients])
        w = np.sort(np.concatenate(want)) if want else np.zeros(0, np.int64)
        pos = np.searchsorted(keys, w)
        pos = np.minimum(pos, max(len(keys) - 1, 0))
        if len(w) and (len(keys) == 0 or np.any(keys[pos] != w)):
            raise ValueError("assignment uses a pair that is not a candidate")
        return pos.astype(np.int64)

    def pairs_to_assignment(self, chosen: np.ndarray) -> np.ndarray:
        """Lead supporter per client (-1 if none) from a 0/1 vector or index list over pairs."""
        return self.pairs_to_roles(chosen)[0]

    def pairs_to_roles(self, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lead, second) supporter per client from a 0/1 vector or index list over pairs."""
        idx = self.as_pair_indices(chosen)
        lead = np.full(self.n_clients, -1, dtype=np.int64)
        second = np.full(self.n_clients, -1, dtype=np.int64)
        for role, out in ((LEAD, lead), (SECOND, second)):
            ks = idx[self.pair_role[idx] == role]
            out[self.pair_client[ks]] = self.pair_supporter[ks]
        return lead, second

    def as_pair_indices(self, chosen: np.ndarray) -> np.ndarray:
        """Sorted pair indices from a boolean vector over pairs or an index list."""
        chosen = np.asarray(chosen)
        if chosen.dtype == bool or (chosen.shape == (self.n_pairs,) and chosen.dtype.kind == "f"):
            return np.flatnonzero(chosen > 0.5).astype(np.int64)
        out = np.sort(chosen.astype(np.int64).reshape(-1))
        if len(out) and (out[0] < 0 or out[-1] >= self.n_pairs or np.any(np.diff(out) == 0)):
            raise ValueError(
                "expected distinct pair indices in range (or a 0/1 vector over pairs); "
                "to convert supporter-per-client assignments use assignment_to_pairs"
            )
        return out

    def violations(self, pairs: np.ndarray, limit: int = 20) -> list[str]:
        """Constraints of the formulation that the pair set ``pairs`` breaks (empty if none).

        A direct reading of the formulation in the module docstring, in exact
        integers; the independent checker (:mod:`broker.check`) checks outputs
        against the scenario's rules instead.
        """
        ks = self.as_pair_indices(pairs)
        out: list[str] = []
        if len(ks) and (ks.min() < 0 or ks.max() >= self.n_pairs):
            return ["pair index out of range"]
        if len(np.unique(ks)) < len(ks):
            out.append("a pair is used twice")
        lead = ks[self.pair_role[ks] == LEAD]
        second = ks[self.pair_role[ks] == SECOND]
        n_lead = np.bincount(self.pair_client[lead], minlength=self.n_clients)
        n_second = np.bincount(self.pair_client[second], minlength=self.n_clients)
        for i in np.flatnonzero(n_lead > 1)[:limit]:
            out.append(f"client {self.client_ids[i]}: {n_lead[i]} lead supporters")
        for i in np.flatnonzero(n_second != np.where(self.team_size == 2, n_lead, 0))[:limit]:
            out.append(
                f"client {self.client_ids[i]}: {n_second[i]} second supporters with "
                f"{n_lead[i]} lead (team of {self.team_size[i]})"
            )
        lead_sup = np.full(self.n_clients, -1, np.int64)
        lead_sup[self.pair_client[lead]] = self.pair_supporter[lead]
        same = self.pair_supporter[second] == lead_sup[self.pair_client[second]]
        for k in second[same][:limit]:
            out.append(
                f"client {self.client_ids[self.pair_client[k]]}: one supporter in both roles"
            )
        for i in np.flatnonzero(self.required & (n_lead == 0))[:limit]:
            out.append(f"client {self.client_ids[i]}: required but unmatched")
        used = self.usage(ks)
        for r in np.flatnonzero(used > self.limit_rhs)[:limit]:
            out.append(
                f"{self.limit_label(r)}: uses {int(used[r])}, more than {int(self.limit_rhs[r])}"
            )
        missing = np.setdiff1d(self.pinned, ks)
        for k in missing[:limit]:
            out.append(
                f"pinned pair (client {self.client_ids[self.pair_client[k]]}, supporter "
                f"{self.supporter_ids[self.pair_supporter[k]]}) is not used"
            )
        return out[:limit]

    def objective(self, pairs: np.ndarray) -> tuple[int, int]:
        """Level-1 and level-2 values of a pair set (no feasibility check)."""
        ks = self.as_pair_indices(pairs)
        return int(self.pair_priority[ks].sum()), int(self.pair_level2[ks].sum())

    def subproblem(
        self,
        clients: np.ndarray,
        rhs: np.ndarray,
        *,
        keep_pair: np.ndarray | None = None,
        drop_pins_of: np.ndarray | None = None,
        name: str | None = None,
    ) -> tuple[ProblemData, np.ndarray]:
        """The problem restricted to ``clients``, with limits ``rhs`` (e.g. a residual).

        Parameters
        ----------
        clients
            Client indices to keep (any order; kept sorted).
        rhs
            Right-hand side of every limit in the sub-problem (same limits, same
            order), typically what is left after everyone else's pairs.
        keep_pair
            Optional boolean mask over pairs; pairs outside it are dropped (e.g.
            the pairs of a withdrawn supporter).
        drop_pins_of
            Clients whose pins are not carried over (e.g. those a withdrawn
            supporter served: their agreed deployment is gone).

        Returns
        -------
        (ProblemData, numpy.ndarray)
            The sub-problem (all supporters and limits kept, clients renumbered)
            and, for each of its pairs, the pair's index in this problem.
        """
        clients = np.unique(np.asarray(clients, dtype=np.int64))
        in_c = np.zeros(self.n_clients, dtype=bool)
        in_c[clients] = True
        mask = in_c[self.pair_client]
        if keep_pair is not None:
            mask &= np.asarray(keep_pair, bool)
        ks = np.flatnonzero(mask)
        cmap = np.full(self.n_clients, -1, dtype=np.int64)
        cmap[clients] = np.arange(len(clients))
        counts = np.diff(self.limit_ptr)[ks]
        ptr = np.concatenate([[0], np.cumsum(counts)])
        idx = self._entries(ks)
        pin_mask = np.zeros(self.n_pairs, dtype=bool)
        pin_mask[self.pinned] = True
        if drop_pins_of is not None and len(drop_pins_of):
            gone = np.zeros(self.n_clients, dtype=bool)
            gone[np.asarray(drop_pins_of, dtype=np.int64)] = True
            pin_mask &= ~gone[self.pair_client]
        sub = ProblemData(
            client_ids=tuple(self.client_ids[i] for i in clients),
            supporter_ids=self.supporter_ids,
            priority=_ro(self.priority[clients], np.int64),
            required=_ro(self.required[clients], np.bool_),
            team_size=_ro(self.team_size[clients], np.int8),
            pair_client=_ro(cmap[self.pair_client[ks]], np.int32),
            pair_role=_ro(self.pair_role[ks], np.uint8),
            pair_supporter=_ro(self.pair_supporter[ks], np.int32),
            pair_load=_ro(self.pair_load[ks], np.int64),
            pair_cost=_ro(self.pair_cost[ks], np.int64),
            pair_level2=_ro(self.pair_level2[ks], np.int64),
            pair_distance_km=_ro(self.pair_distance_km[ks], np.float64),
            pair_flags=_ro(self.pair_flags[ks], np.uint8),
            pinned=_ro(np.flatnonzero(pin_mask[ks]), np.int64),
            limit_ptr=_ro(ptr, np.int64),
            limit_row=_ro(self.limit_row[idx], np.int32),
            limit_amount=_ro(self.limit_amount[idx], np.int64),
            limit_rhs=_ro(np.asarray(rhs, np.int64), np.int64),
            limit_kind=self.limit_kind,
            limit_owner=self.limit_owner,
            limit_term=self.limit_term,
            limit_names=self.limit_names,
            n_terms=self.n_terms,
            name=self.name if name is None else name,
        )
        return sub, ks
