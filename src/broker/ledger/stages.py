"""The stage machine of a deployment, as a transition table.

A deployment moves forward through the programme's six stages of work, bracketed
by ``proposed`` (what a round suggested) and ``closed`` (the summary report has
been accepted)::

    proposed -> scoped -> due_diligence -> costed -> contracted -> in_delivery
             -> reported -> closed

    any stage before contracted  -> declined   (the school or supporter said no)
    any stage before closed      -> withdrawn  (with a reason)

The rules are data (:data:`TRANSITIONS`), not ``if`` chains: to change what is
legal, edit the table. :func:`check_transition` refuses an illegal move with a
message that lists the legal ones.
"""

from __future__ import annotations

import enum

from broker.errors import InputError


class Stage(enum.StrEnum):
    """Where a deployment is in the programme's process."""

    PROPOSED = "proposed"
    SCOPED = "scoped"
    DUE_DILIGENCE = "due_diligence"
    COSTED = "costed"
    CONTRACTED = "contracted"
    IN_DELIVERY = "in_delivery"
    REPORTED = "reported"
    CLOSED = "closed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


S = Stage

FORWARD: tuple[Stage, ...] = (
    S.PROPOSED,
    S.SCOPED,
    S.DUE_DILIGENCE,
    S.COSTED,
    S.CONTRACTED,
    S.IN_DELIVERY,
    S.REPORTED,
    S.CLOSED,
)
"""The main line, in order."""

TRANSITIONS: dict[Stage, tuple[Stage, ...]] = {
    #  from              to (legal moves)
    S.PROPOSED: (S.SCOPED, S.DECLINED, S.WITHDRAWN),
    S.SCOPED: (S.DUE_DILIGENCE, S.DECLINED, S.WITHDRAWN),
    S.DUE_DILIGENCE: (S.COSTED, S.DECLINED, S.WITHDRAWN),
    S.COSTED: (S.CONTRACTED, S.DECLINED, S.WITHDRAWN),
    S.CONTRACTED: (S.IN_DELIVERY, S.WITHDRAWN),
    S.IN_DELIVERY: (S.REPORTED, S.WITHDRAWN),
    S.REPORTED: (S.CLOSED, S.WITHDRAWN),
    S.CLOSED: (),
    S.DECLINED: (),
    S.WITHDRAWN: (),
}
"""Every legal move. A stage with no moves is terminal."""

NEEDS_REASON: frozenset[Stage] = frozenset({S.WITHDRAWN})
"""Moves into these stages must say why."""

TERMINAL: frozenset[Stage] = frozenset(s for s, to in TRANSITIONS.items() if not to)
"""Stages a deployment never leaves: ``closed``, ``declined``, ``withdrawn``."""

OPEN: frozenset[Stage] = frozenset(s for s in Stage if s not in TERMINAL)
"""A client's *current* deployment is in one of these (at most one per client and role)."""

PROPOSALS: frozenset[Stage] = frozenset({S.PROPOSED, S.SCOPED, S.DUE_DILIGENCE, S.COSTED})
"""Not yet contracted: a top-up round may still change these (as few as it can)."""

COMMITTED: frozenset[Stage] = frozenset({S.CONTRACTED, S.IN_DELIVERY, S.REPORTED, S.CLOSED})
"""Contracted or later: agreed work a top-up round keeps."""

OCCUPYING: frozenset[Stage] = frozenset({S.CONTRACTED, S.IN_DELIVERY})
"""Committed and still being delivered: these use a supporter's days and a budget.

``reported`` and ``closed`` deployments have finished delivery; they count as
history (continuity, no-repeat rules), not as load.
"""


def parse_stage(text: str, *, where: str = "<arguments>", column: str = "STAGE") -> Stage:
    """The :class:`Stage` named by ``text`` (case and ``-`` forgiven), or a clear error."""
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Stage(key)
    except ValueError:
        raise InputError.one(
            where,
            "unknown stage; expected one of " + ", ".join(s.value for s in Stage),
            column=column,
            value=text,
        ) from None


def legal_moves(stage: Stage) -> tuple[Stage, ...]:
    """Stages a deployment in ``stage`` may move to."""
    return TRANSITIONS[stage]


def check_transition(
    current: Stage, target: Stage, *, reason: str | None = None, what: str = "the deployment"
) -> None:
    """Raise :class:`InputError` unless ``current -> target`` is legal (and has a reason if needed).

    The message names the current stage and lists the legal moves, so the user can
    correct the command without reading documentation.
    """
    moves = TRANSITIONS[current]
    if target not in moves:
        legal = ", ".join(m.value for m in moves) if moves else "none (it is a final stage)"
        ahead = len(path_to(current, target)) > 1
        raise InputError.one(
            "<arguments>",
            f"{what} is at stage {current.value}; it cannot move to {target.value}. "
            f"Legal moves from {current.value}: {legal}"
            + ("; to record every stage on the way, add --through" if ahead else ""),
            column="STAGE",
            value=target.value,
        )
    if target in NEEDS_REASON and not (reason and reason.strip()):
        raise InputError.one(
            "<arguments>",
            f"moving {what} to {target.value} needs a reason; add --reason TEXT",
            column="--reason",
        )


def path_to(current: Stage, target: Stage) -> tuple[Stage, ...]:
    """The forward stages from ``current`` (exclusive) to ``target`` (inclusive).

    Used by ``broker stage --through`` to record each intermediate stage. Empty
    when ``target`` is not ahead of ``current`` on the main line.
    """
    if current not in FORWARD or target not in FORWARD:
        return ()
    a, b = FORWARD.index(current), FORWARD.index(target)
    return FORWARD[a + 1 : b + 1] if b > a else ()


def diagram() -> str:
    """The transition table as text, one line per stage (for docs and ``--help``)."""
    width = max(len(s.value) for s in Stage)
    lines = []
    for s, moves in TRANSITIONS.items():
        to = ", ".join(m.value for m in moves) or "(final)"
        lines.append(f"{s.value:<{width}} -> {to}")
    return "\n".join(lines)
