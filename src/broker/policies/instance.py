"""One scenario made ready for every policy: the problem plus what fairness and preferences need.

A policy sees a :class:`PolicyInstance`: the solver-facing
:class:`~broker.problem.ProblemData` of the scenario's candidate pairs, and beside
it, encoded once, what the policies and metrics read and the problem does not
hold: each client's authority, need in days, high-need flag, and both sides'
preferences (:mod:`broker.policies.preferences`).

Need and authority shares (used by the fairness policies and the metrics)::

    need[i]       = need_days[i] + second_need_days[i] (team of two)    days per week
    reachable[i]  = client i has at least one candidate lead pair
    N_a           = sum of need[i] over reachable clients i of authority a
    M_a(x)        = sum of need[i] over matched clients i of authority a
    share_a(x)    = M_a(x) / N_a          for every authority a with N_a > 0

The share is of *reachable* need: a school no supporter may serve (out of reach,
wrong phase, excluded by rule) is unmatched under every policy, so counting it
would only shift every policy's share by the same amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from broker.candidates import Candidates, build_candidates
from broker.problem import LEAD, ProblemData
from broker.scenario.model import Scenario
from broker.units import DAY_SCALE

HIGH_NEED_IDACI_DECILE = 2
"""Without a ``high_need`` column, a client in IDACI decile 1 or 2 counts as high need."""


@dataclass(frozen=True, eq=False)
class PolicyInstance:
    """A scenario's problem and the per-client data policies and metrics read.

    Build with :func:`build_instance`. Arrays are read-only.

    Attributes
    ----------
    scenario, candidates
        The scenario and its candidate pairs (``candidates.problem`` is :attr:`problem`).
    la_codes
        Authorities with at least one client, sorted.
    client_la
        Index into ``la_codes`` of each client's authority.
    supporter_la_code
        Each supporter's authority code.
    need_cdays
        Each client's need in centidays per week (lead plus second member).
    reachable
        Whether each client has at least one candidate lead pair.
    high_need
        Whether each client is high need (the ``high_need`` column; without any
        flagged client, IDACI decile at most :data:`HIGH_NEED_IDACI_DECILE`).
    high_need_source
        ``"high_need column"``, ``"idaci_decile <= 2"`` or ``"none"``.
    preferences
        Both sides' ranks over candidate pairs.
    """

    scenario: Scenario
    candidates: Candidates
    la_codes: tuple[str, ...]
    client_la: np.ndarray
    supporter_la_code: np.ndarray
    need_cdays: np.ndarray
    reachable: np.ndarray
    high_need: np.ndarray
    high_need_source: str
    preferences: object  # broker.policies.preferences.Preferences (avoids an import cycle)
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def problem(self) -> ProblemData:
        return self.candidates.problem

    @property
    def n_las(self) -> int:
        return len(self.la_codes)

    @property
    def need_days(self) -> np.ndarray:
        """Each client's need in days per week."""
        return self.need_cdays / DAY_SCALE

    def la_reachable_need(self) -> np.ndarray:
        """``N_a``: reachable need of each authority, centidays per week."""
        out = np.zeros(self.n_las, np.int64)
        np.add.at(out, self.client_la, np.where(self.reachable, self.need_cdays, 0))
        return out

    def la_met_need(self, pairs: np.ndarray) -> np.ndarray:
        """``M_a``: matched need of each authority for a pair set, centidays per week."""
        p = self.problem
        ks = p.as_pair_indices(pairs)
        lead = ks[p.pair_role[ks] == LEAD]
        out = np.zeros(self.n_las, np.int64)
        clients = p.pair_client[lead]
        np.add.at(out, self.client_la[clients], self.need_cdays[clients])
        return out


def _high_need(scenario: Scenario) -> tuple[np.ndarray, str]:
    cli = scenario.clients
    if "high_need" in cli and cli["high_need"].astype(bool).any():
        return cli["high_need"].to_numpy(bool), "high_need column"
    if "idaci_decile" in cli:
        dec = np.asarray(cli["idaci_decile"], dtype=float)
        flags = np.nan_to_num(dec, nan=99) <= HIGH_NEED_IDACI_DECILE
        if flags.any():
            return flags, f"idaci_decile <= {HIGH_NEED_IDACI_DECILE}"
    return np.zeros(len(cli), bool), "none"


def build_instance(
    scenario: Scenario,
    candidates: Candidates | None = None,
    preferences: object | None = None,
) -> PolicyInstance:
    """Encode ``scenario`` for the policies.

    Parameters
    ----------
    scenario
        A validated scenario.
    candidates
        Its candidate pairs, if already built.
    preferences
        A :class:`~broker.policies.preferences.Preferences`; by default read from
        the scenario folder's ``preferences.csv`` if there is one, else derived
        (see :func:`broker.policies.preferences.derive_preferences`).
    """
    from broker.policies.preferences import load_preferences

    cand = candidates if candidates is not None else build_candidates(scenario)
    p = cand.problem
    cli, sup = scenario.clients, scenario.supporters
    codes = cli["la_code"].astype(str).to_numpy()
    la_codes = tuple(sorted(set(codes)))
    index = {c: a for a, c in enumerate(la_codes)}
    need = cli["need_days"].to_numpy(float)
    if "second_need_days" in cli and "team_size" in cli:
        second = np.nan_to_num(cli["second_need_days"].to_numpy(float), nan=0.0)
        need = need + np.where(cli["team_size"].to_numpy(np.int64) == 2, second, 0.0)
    reachable = np.zeros(p.n_clients, bool)
    reachable[p.pair_client[p.pair_role == LEAD]] = True
    high, source = _high_need(scenario)
    prefs = preferences if preferences is not None else load_preferences(scenario, cand)

    def ro(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a).copy()
        a.flags.writeable = False
        return a

    return PolicyInstance(
        scenario=scenario,
        candidates=cand,
        la_codes=la_codes,
        client_la=ro(np.array([index[c] for c in codes], dtype=np.int64)),
        supporter_la_code=ro(sup["la_code"].astype(str).to_numpy()),
        need_cdays=ro(np.rint(need * DAY_SCALE).astype(np.int64)),
        reachable=ro(reachable),
        high_need=ro(high),
        high_need_source=source,
        preferences=prefs,
    )
