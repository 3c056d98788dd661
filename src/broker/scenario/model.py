"""The validated, read-only scenario: configuration plus tables."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Weights:
    """Level-2 objective weights (minimised once level 1 is held at its value).

    The level-2 objective of a pair is::

        cost_per_1000_gbp * cost_gbp / 1000
        + distance_per_km * distance_km
        + cross_phase * [pair is cross-phase]
        + other_la * [client's authority prefers its own and the supporter is not from it]

        + outside_network * [the supporter's network is not the client's; ``network = "prefer"``]
        - continuity * [the supporter is the client's previous supporter]
        - expertise * (number of the client's needs tags the supporter has)

    The cross-phase penalty is multiplied by the mode's ``cross_phase_penalty``
    (``models/modes.toml``: headship meets more resistance across phases than
    coaching). All weights are points and must be >= 0.
    """

    cost_per_1000_gbp: float = 1.0
    distance_per_km: float = 1.0
    cross_phase: float = 50.0
    other_la: float = 25.0
    continuity: float = 100.0
    expertise: float = 20.0
    outside_network: float = 50.0


@dataclass(frozen=True)
class Config:
    """Contents of ``scenario.toml`` after validation.

    Attributes
    ----------
    name, description
        Free text.
    weeks
        Contract length in school weeks used for costing (default 39).
    max_distance_km
        Default reach of a supporter, straight line (km).
    allow_cross_phase
        Whether any supporter may work outside its phases (at a level-2 penalty).
    programme_budget_gbp
        Most that all matched packages may cost together, or ``None``.
    weights
        Level-2 weights.
    terms
        Terms in the planning period (``[round] terms``, default 1). Supporter
        capacity is per term; a need covers a run of terms.
    funders
        Who pays for each mode, overriding ``models/modes.toml`` (``[funders]``):
        ``authority``, ``school`` or ``programme:<name>``.
    funder_budgets_gbp
        Budgets of programme funders (``[budget.funders]``), by name.
    high_need_weight
        Level-1 weight of high need (``[objective] high_need_weight``): a matched
        client counts ``priority x (1 + high_need_weight)`` if it is high-need.
    network_rule
        ``"hard"`` (default): a supporter with a ``network`` serves only its
        network; ``"prefer"``: it may serve others at the ``outside_network``
        level-2 penalty (``[defaults] network``).
    no_school_isolated
        ``[objective] no_school_isolated``: level 1 first maximises the number of
        clients matched, then priority, so every client that can be reached gets a
        supporter if at all possible, and the others a reason.
    """

    name: str
    description: str = ""
    weeks: int = 39
    max_distance_km: float = 40.0
    allow_cross_phase: bool = False
    programme_budget_gbp: float | None = None
    weights: Weights = field(default_factory=Weights)
    terms: int = 1
    funders: dict[str, str] = field(default_factory=dict)
    funder_budgets_gbp: dict[str, float] = field(default_factory=dict)
    high_need_weight: float = 0.0
    network_rule: str = "hard"
    no_school_isolated: bool = False


@dataclass(frozen=True)
class Scenario:
    """A complete, validated matching scenario.

    Tables hold canonical, typed columns (see ``docs/scenario-format.md``) plus any
    extra columns the user supplied, unchanged. Treat them as read-only; derive
    variants with :meth:`replace`.

    Attributes
    ----------
    supporters
        One row per supporter; ``phases`` holds a tuple of phase names and
        ``phase_mask`` the same as a bit mask.
    clients
        One row per client school.
    authorities
        One row per authority with settings (may be empty).
    conflicts, pinned, proposals
        Pairs by id (may be empty). ``pinned`` and ``proposals`` have a ``role``
        column (``lead`` or ``second``).
    source
        Folder the scenario was read from, if any.
    inputs_sha256
        SHA-256 of the scenario files as read (see
        :func:`broker.scenario.read.inputs_sha256`), or ``None`` for a scenario
        built in memory or changed since.
    """

    config: Config
    supporters: pd.DataFrame
    clients: pd.DataFrame
    authorities: pd.DataFrame
    conflicts: pd.DataFrame
    pinned: pd.DataFrame
    source: Path | None = None
    proposals: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {
                "client_id": pd.Series(dtype=object),
                "supporter_id": pd.Series(dtype=object),
                "role": pd.Series(dtype=object),
            }
        )
    )
    inputs_sha256: str | None = None

    def replace(self, **changes: object) -> Scenario:
        """Return a copy with some fields replaced (tables are not re-validated).

        The copy no longer matches the files it was read from, so its
        ``inputs_sha256`` is ``None`` unless given.
        """
        changes.setdefault("inputs_sha256", None)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return self.config.name

    @classmethod
    def from_frames(
        cls,
        config: Config | str,
        supporters: pd.DataFrame,
        clients: pd.DataFrame,
        authorities: pd.DataFrame | None = None,
        conflicts: pd.DataFrame | None = None,
        pinned: pd.DataFrame | None = None,
        *,
        proposals: pd.DataFrame | None = None,
        label: str = "<memory>",
    ) -> Scenario:
        """Validate in-memory tables as a scenario (:func:`broker.scenario.from_frames`).

        ``config`` may be a scenario name instead of a :class:`Config`. The tables
        of a scenario read before are accepted as they are, so
        ``Scenario.from_frames(s.config, s.supporters, s.clients, s.authorities,
        s.conflicts, s.pinned)`` gives back ``s``'s tables.
        """
        from broker.scenario.build import from_frames

        if isinstance(config, str):
            config = Config(name=config)
        return from_frames(
            config,
            supporters,
            clients,
            authorities,
            conflicts,
            pinned,
            proposals=proposals,
            label=label,
        )
