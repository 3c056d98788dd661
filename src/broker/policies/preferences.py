"""Both sides' preferences over candidate pairs: read from ``preferences.csv`` or derived.

Preferences are ranks over *candidate* pairs (pairs the hard rules allow; a
preference can never make a forbidden pair possible). A client ranks supporters
and a supporter ranks clients, 1 being the first choice; the lead and second pair
of the same (client, supporter) share their ranks.

Default derivation (when a side gives no ranks)
-----------------------------------------------
A client ``i`` ranks its candidate supporters ``j`` by ascending score, in
kilometre-equivalents::

    client_score(i, j) = distance_km(i, j)
                         + 10 * [j works across phase for i]
                         + 10 * [j is from another authority than i]
                         -  5 * (number of i's ``needs`` expertise tags that j has)

then by supporter order in ``supporters.csv``. A supporter ``j`` ranks its
candidate clients ``i`` by descending priority, then ascending
``distance_km(i, j) + 10 * [i is from another authority than j]``, then client
order in ``clients.csv``. So clients prefer nearer, same-phase, own-LA supporters
with matching expertise; supporters prefer higher priority, nearer, own-LA
schools. The weights are :data:`PHASE_KM`, :data:`OTHER_LA_KM` and
:data:`EXPERTISE_KM`.

``preferences.csv``
-------------------
Optional, in the scenario folder, read through the scenario reader's validation
path (:func:`broker.scenario.read.read_table`: encodings, delimiters and
formula-neutralising apostrophes; every problem reported with file, row, column,
value and what was expected). Columns ``client_id``, ``supporter_id``,
``client_rank``, ``supporter_rank``; either rank may be blank in a row, not both.
For each client with at least one ``client_rank``, its ranked supporters come
first in rank order (ties in the derived order), then the others in the derived
order; the same for each supporter with ``supporter_rank``. Rows naming a pair
that is not a candidate pair are ignored (counted in :attr:`Preferences.source`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from broker.candidates import Candidates
from broker.candidates.context import build_context
from broker.errors import InputError, ProblemCollector
from broker.limits import Bound
from broker.problem import FLAG_CROSS_PHASE
from broker.scenario.model import Scenario
from broker.scenario.read import _number, read_table

PHASE_KM = 10.0
"""Kilometres a client would travel further to keep its own phase."""
OTHER_LA_KM = 10.0
"""Kilometres either side would travel further to stay within its own authority."""
EXPERTISE_KM = 5.0
"""Kilometres a client would travel further per matching expertise tag."""

PREFERENCES_FILE = "preferences.csv"
RANK = Bound("rank", 1, 1_000_000, "a whole rank, 1 = first choice", integer=True)


@dataclass(frozen=True, eq=False)
class Preferences:
    """Ranks over the candidate pairs of one problem (1 = first choice).

    Attributes
    ----------
    client_rank
        Per pair ``k``: the rank the client gives the pair's supporter among its
        candidate supporters.
    supporter_rank
        Per pair ``k``: the rank the supporter gives the pair's client among its
        candidate clients.
    source
        Where the ranks came from, in words.
    """

    client_rank: np.ndarray
    supporter_rank: np.ndarray
    source: str


def _popcount(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.uint64)
    out = np.zeros(a.shape, np.int64)
    while np.any(a):
        out += (a & np.uint64(1)).astype(np.int64)
        a = a >> np.uint64(1)
    return out


def _ranks(group: np.ndarray, keys: list[np.ndarray]) -> np.ndarray:
    """1-based rank of each element within its group by ``keys`` (most significant first)."""
    n = len(group)
    if n == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort(tuple(reversed([group, *keys])))
    g = group[order]
    first = np.searchsorted(g, g, side="left")
    out = np.empty(n, np.int64)
    out[order] = np.arange(n) - first + 1
    return out


def derive_preferences(
    scenario: Scenario,
    candidates: Candidates,
    given_client: dict[tuple[int, int], int] | None = None,
    given_supporter: dict[tuple[int, int], int] | None = None,
    source: str = "derived (clients: nearer, same phase, own LA, expertise; supporters: "
    "priority, nearer, own LA)",
) -> Preferences:
    """Preferences of both sides (see the module docstring), with optional given ranks.

    Parameters
    ----------
    scenario, candidates
        The scenario and its candidate pairs.
    given_client, given_supporter
        Ranks from ``preferences.csv`` by ``(client index, supporter index)``.
    source
        Text stored in :attr:`Preferences.source`.
    """
    p = candidates.problem
    n_s = max(p.n_supporters, 1)
    key = p.pair_client.astype(np.int64) * n_s + p.pair_supporter
    uniq, inverse = np.unique(key, return_inverse=True)
    ci, sj = uniq // n_s, uniq % n_s
    first = np.zeros(len(uniq), np.int64)
    first[inverse[::-1]] = np.arange(p.n_pairs)[::-1]  # a representative pair per (i, j)
    dist = p.pair_distance_km[first]
    cross = (p.pair_flags[first] & FLAG_CROSS_PHASE) > 0
    ctx = build_context(scenario)
    other = ctx.c_la[ci] != ctx.s_la[sj]
    tags = _popcount(ctx.c_needs[ci] & ctx.s_tags[sj])
    c_score = dist + PHASE_KM * cross + OTHER_LA_KM * other - EXPERTISE_KM * tags
    s_score = dist + OTHER_LA_KM * other
    prio = p.priority[ci]

    def given(table: dict[tuple[int, int], int] | None) -> tuple[np.ndarray, np.ndarray]:
        has = np.zeros(len(uniq), bool)
        rank = np.zeros(len(uniq), np.int64)
        if table:
            pos = np.searchsorted(uniq, [i * n_s + j for i, j in table])
            ok = (pos < len(uniq)) & (
                uniq[np.minimum(pos, len(uniq) - 1)] == [i * n_s + j for i, j in table]
            )
            has[pos[ok]] = True
            rank[pos[ok]] = np.asarray(list(table.values()), np.int64)[ok]
        return has, rank

    ghas, grank = given(given_client)
    # clients: given ranks first (in rank order), then by score, then supporter order
    c_rank = _ranks(ci, [~ghas, grank, c_score, sj])
    shas, srank = given(given_supporter)
    s_rank = _ranks(sj, [~shas, srank, -prio, s_score, ci])
    return Preferences(
        client_rank=_ro(c_rank[inverse]),
        supporter_rank=_ro(s_rank[inverse]),
        source=source,
    )


def _ro(a: np.ndarray) -> np.ndarray:
    out = np.asarray(a, dtype=np.int64).copy()
    out.flags.writeable = False
    return out


def read_preferences(
    path: str | Path, scenario: Scenario
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
    """Read and validate ``preferences.csv``: ranks by (client index, supporter index).

    Raises
    ------
    broker.errors.InputError
        Listing every problem found (unknown ids, bad or blank ranks, duplicate
        pairs), each with file, row, column, value and what was expected.
    """
    path = Path(path)
    file = str(path)
    raw = read_table(path, ("client_id", "supporter_id"), ("client_rank", "supporter_rank"))
    errors = ProblemCollector()
    if "client_rank" not in raw.columns and "supporter_rank" not in raw.columns:
        raise InputError.one(
            file, "no rank column; expected client_rank, supporter_rank or both", row=1
        )
    cidx = {c: i for i, c in enumerate(scenario.clients["client_id"].astype(str))}
    sidx = {s: j for j, s in enumerate(scenario.supporters["supporter_id"].astype(str))}
    blank = "or blank when this side gives no rank"
    cr = _number(raw, "client_rank", file, errors, RANK, required=False, blank=blank)
    sr = _number(raw, "supporter_rank", file, errors, RANK, required=False, blank=blank)
    seen: dict[tuple[str, str], int] = {}
    given_c: dict[tuple[int, int], int] = {}
    given_s: dict[tuple[int, int], int] = {}
    for k, (row, c, s) in enumerate(
        zip(raw.index, raw["client_id"], raw["supporter_id"], strict=True)
    ):
        ok = True
        if c not in cidx:
            errors.add(
                file, "unknown client_id; not in clients.csv", row=row, column="client_id", value=c
            )
            ok = False
        if s not in sidx:
            errors.add(
                file,
                "unknown supporter_id; not in supporters.csv",
                row=row,
                column="supporter_id",
                value=s,
            )
            ok = False
        if (c, s) in seen:
            errors.add(
                file, f"duplicate pair (first on row {seen[(c, s)]}); each pair once", row=row
            )
            ok = False
        seen.setdefault((c, s), int(row))
        c_blank = "client_rank" not in raw.columns or raw["client_rank"].iloc[k] == ""
        s_blank = "supporter_rank" not in raw.columns or raw["supporter_rank"].iloc[k] == ""
        if c_blank and s_blank:
            errors.add(
                file,
                "both ranks blank; expected client_rank, supporter_rank or both",
                row=row,
                column="client_rank",
            )
            ok = False
        if not ok:
            continue
        if not np.isnan(cr.iloc[k]):
            given_c[(cidx[c], sidx[s])] = int(cr.iloc[k])
        if not np.isnan(sr.iloc[k]):
            given_s[(cidx[c], sidx[s])] = int(sr.iloc[k])
    errors.raise_if_any()
    return given_c, given_s


def load_preferences(
    scenario: Scenario, candidates: Candidates, path: str | Path | None = None
) -> Preferences:
    """``preferences.csv`` of the scenario folder (or ``path``) if present, else derived."""
    if path is None and scenario.source is not None:
        found = Path(scenario.source) / PREFERENCES_FILE
        path = found if found.is_file() else None
    if path is None:
        return derive_preferences(scenario, candidates)
    given_c, given_s = read_preferences(path, scenario)
    p = candidates.problem
    n_s = max(p.n_supporters, 1)
    keys = set((p.pair_client.astype(np.int64) * n_s + p.pair_supporter).tolist())
    listed = set(given_c) | set(given_s)
    ignored = sum(1 for i, j in listed if i * n_s + j not in keys)
    return derive_preferences(
        scenario,
        candidates,
        given_c,
        given_s,
        source=f"{path} ({len(listed)} pairs, {ignored} not candidate pairs and ignored; "
        "unranked pairs in the derived order)",
    )
