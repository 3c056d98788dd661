"""The stage machine: every legal and every illegal transition, in the table and the ledger."""

from __future__ import annotations

import itertools

import pytest

from broker.errors import InputError
from broker.ledger import repository as repo
from broker.ledger.models import AuditEntry, StageChange
from broker.ledger.stages import (
    FORWARD,
    TERMINAL,
    TRANSITIONS,
    Stage,
    check_transition,
    diagram,
    parse_stage,
    path_to,
)
from ledger_helpers import count, record, table

S = Stage
EXPECTED_LEGAL = {
    (S.PROPOSED, S.SCOPED),
    (S.SCOPED, S.DUE_DILIGENCE),
    (S.DUE_DILIGENCE, S.COSTED),
    (S.COSTED, S.CONTRACTED),
    (S.CONTRACTED, S.IN_DELIVERY),
    (S.IN_DELIVERY, S.REPORTED),
    (S.REPORTED, S.CLOSED),
    *((s, S.DECLINED) for s in (S.PROPOSED, S.SCOPED, S.DUE_DILIGENCE, S.COSTED)),
    *(
        (s, S.WITHDRAWN)
        for s in (
            S.PROPOSED,
            S.SCOPED,
            S.DUE_DILIGENCE,
            S.COSTED,
            S.CONTRACTED,
            S.IN_DELIVERY,
            S.REPORTED,
        )
    ),
}
ALL_PAIRS = list(itertools.product(Stage, Stage))


def test_the_table_is_exactly_the_issue_s_machine():
    table_pairs = {(a, b) for a, moves in TRANSITIONS.items() for b in moves}
    assert table_pairs == EXPECTED_LEGAL
    assert TERMINAL == {S.CLOSED, S.DECLINED, S.WITHDRAWN}


@pytest.mark.parametrize(("a", "b"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_transition(a, b):
    if (a, b) in EXPECTED_LEGAL:
        check_transition(a, b, reason="because")
        return
    with pytest.raises(InputError) as e:
        check_transition(a, b, reason="because")
    msg = str(e.value)
    assert f"cannot move to {b.value}" in msg
    legal = [m.value for m in TRANSITIONS[a]]
    assert ("Legal moves from " + a.value + ": " + (", ".join(legal) or "none")) in msg


def test_withdrawn_needs_a_reason():
    for s in (S.PROPOSED, S.CONTRACTED, S.REPORTED):
        with pytest.raises(InputError, match="needs a reason"):
            check_transition(s, S.WITHDRAWN, reason="  ")
        check_transition(s, S.WITHDRAWN, reason="school closed")


def test_stage_names_are_forgiving_but_unknown_ones_listed():
    assert parse_stage("Due-Diligence") is S.DUE_DILIGENCE
    assert parse_stage(" in delivery ") is S.IN_DELIVERY
    with pytest.raises(InputError) as e:
        parse_stage("signed")
    assert "'signed'" in str(e.value) and "proposed, scoped" in str(e.value)


def test_path_to_walks_the_main_line():
    assert path_to(S.PROPOSED, S.CONTRACTED) == (S.SCOPED, S.DUE_DILIGENCE, S.COSTED, S.CONTRACTED)
    assert path_to(S.CONTRACTED, S.SCOPED) == ()
    assert path_to(S.PROPOSED, S.DECLINED) == ()
    assert FORWARD[0] is S.PROPOSED and FORWARD[-1] is S.CLOSED
    assert "withdrawn" in diagram() and "(final)" in diagram()


# ----------------------------------------------------------------- in the ledger


def _walk_to(ledger, client: str, stage: Stage) -> None:
    """Move the client's deployment from proposed to ``stage`` along legal moves."""
    path = path_to(S.PROPOSED, stage) if stage in FORWARD else (stage,)
    with ledger.session() as s:
        for st in path:
            repo.move_stage(s, client, st, user="t", reason="r")


def test_every_legal_transition_in_the_ledger(ledger):
    pairs = sorted(EXPECTED_LEGAL, key=lambda p: (p[0].value, p[1].value))
    record(ledger, [(f"C{k}", "S1") for k in range(len(pairs))])
    for k, (a, b) in enumerate(pairs):
        cid = f"C{k}"
        _walk_to(ledger, cid, a)
        with ledger.session() as s:
            dep, moves = repo.move_stage(s, cid, b, user="tester", reason="why", note="n")
            assert moves == [(a.value, b.value)]
            assert dep.stage == b.value
            assert (dep.is_open is None) == (b in TERMINAL)
    t = table(ledger)
    assert sorted(t["stage"]) == sorted(b.value for _, b in pairs)


@pytest.mark.parametrize("start", [S.PROPOSED, S.COSTED, S.CONTRACTED, S.REPORTED])
def test_illegal_transitions_change_nothing(ledger, start):
    record(ledger, [("C1", "S1")])
    _walk_to(ledger, "C1", start)
    before = (count(ledger, AuditEntry), count(ledger, StageChange))
    for target in Stage:
        if target in TRANSITIONS[start]:
            continue
        with pytest.raises(InputError) as e:
            with ledger.session() as s:
                repo.move_stage(s, "C1", target, user="t", reason="r")
        assert f"Legal moves from {start.value}" in str(e.value)
    assert (count(ledger, AuditEntry), count(ledger, StageChange)) == before
    assert table(ledger)["stage"].tolist() == [start.value]


def test_through_records_every_stage(ledger):
    record(ledger, [("C1", "S1")])
    with ledger.session() as s:
        _, moves = repo.move_stage(s, "C1", S.IN_DELIVERY, user="t", through=True)
    assert [m[1] for m in moves] == [
        "scoped",
        "due_diligence",
        "costed",
        "contracted",
        "in_delivery",
    ]
    with ledger.session() as s:
        assert [h.to_stage for h in repo.stage_history(s, 1)][-5:] == [m[1] for m in moves]
    with pytest.raises(InputError, match="add --through"):
        record(ledger, [("C2", "S1")])
        with ledger.session() as s:
            repo.move_stage(s, "C2", S.COSTED, user="t")


def test_no_current_deployment_is_explained(ledger):
    record(ledger, [("C1", "S1")])
    with ledger.session() as s:
        repo.move_stage(s, "C1", S.DECLINED, user="t")
    with pytest.raises(InputError) as e:
        with ledger.session() as s:
            repo.move_stage(s, "C1", S.SCOPED, user="t")
    assert "no current deployment" in str(e.value) and "declined" in str(e.value)
    with pytest.raises(InputError, match="no deployment has ever been recorded"):
        with ledger.session() as s:
            repo.move_stage(s, "C9", S.SCOPED, user="t")


def test_round_guard(ledger):
    record(ledger, [("C1", "S1")])
    with pytest.raises(InputError, match="is from round 1, not round 2"):
        with ledger.session() as s:
            repo.move_stage(s, "C1", S.SCOPED, user="t", round_id=2)
    with ledger.session() as s:
        repo.move_stage(s, "C1", S.SCOPED, user="t", round_id=1)
