"""Programme rules, tested from the wording of each programme's guidance.

Each case is a tiny hand-made schools table; the expected status comes from the rule text
in models/<programme>.toml, not from the engine.
"""

from __future__ import annotations

import pandas as pd
import pytest

from broker.errors import InputError
from broker.rules import Role, Status, assess, derive, load_all, load_programme

NA = None


@pytest.fixture(scope="module")
def programmes():
    return load_all()


def one(programme, **school):
    """Assess a single school; return its result row as a Series."""
    school.setdefault("urn", 100001)
    out = assess(programme, pd.DataFrame([school]))
    assert len(out) == 1
    return out.iloc[0]


# --------------------------------------------------------------------------- Leading Together

LT_BASE = dict(
    phase_group="primary", ofsted_grade=3, at_risk=False, completed_leading_together=False
)


@pytest.mark.parametrize(
    ("idaci", "aea", "expected"),
    [
        pytest.param(0.37, 5, Status.ELIGIBLE, id="IDACI 37% with AEA 5 eligible"),
        pytest.param(0.32, 4, Status.NOT_ELIGIBLE, id="IDACI 32% with AEA 4 not eligible"),
        pytest.param(0.41, NA, Status.ELIGIBLE, id="IDACI 41% needs no AEA"),
        pytest.param(0.36, NA, Status.UNKNOWN, id="IDACI 36% with AEA missing unknown"),
        pytest.param(0.40, NA, Status.ELIGIBLE, id="exactly 40% eligible"),
        pytest.param(0.39999999999999997, NA, Status.ELIGIBLE, id="40% after rounding error"),
        pytest.param(0.3999, 3, Status.NOT_ELIGIBLE, id="just under 40% needs AEA 4-6"),
        pytest.param(0.35, 4, Status.ELIGIBLE, id="35% is in the 35-40 band"),
        pytest.param(0.35, 3, Status.NOT_ELIGIBLE, id="35% with AEA 3 not eligible"),
        pytest.param(0.30, 5, Status.ELIGIBLE, id="30% with AEA 5 eligible"),
        pytest.param(0.33, 4, Status.NOT_ELIGIBLE, id="30-35% needs AEA 5 or 6"),
        pytest.param(0.25, 6, Status.ELIGIBLE, id="25% with AEA 6 eligible"),
        pytest.param(0.249, 6, Status.NOT_ELIGIBLE, id="24.9% with AEA 6 not eligible"),
        pytest.param(0.28, 5, Status.NOT_ELIGIBLE, id="25-30% needs AEA 6"),
        pytest.param(0.20, NA, Status.NOT_ELIGIBLE, id="20% not eligible whatever the AEA"),
    ],
)
def test_leading_together_deprivation_bands(programmes, idaci, aea, expected):
    row = one(programmes["leading_together"], **LT_BASE, idaci_rate=idaci, aea_score=aea)
    assert row.status == expected, row.reason


def test_leading_together_only_decile_known_is_unknown(programmes):
    row = one(programmes["leading_together"], **LT_BASE, idaci_rate=NA, idaci_decile=1, aea_score=6)
    assert row.status == Status.UNKNOWN
    assert "IDACI rate unknown (only the decile is known)" in row.reason
    assert row.unknown == ("deprivation_band",)


def test_leading_together_unknown_reason_names_missing_aea_and_known_idaci(programmes):
    row = one(programmes["leading_together"], **LT_BASE, idaci_rate=0.36, aea_score=NA)
    assert row.reason.startswith("AEA score unknown")
    assert "IDACI rate 36%" in row.reason


def test_leading_together_failed_reason_names_values(programmes):
    row = one(programmes["leading_together"], **LT_BASE, idaci_rate=0.32, aea_score=4)
    assert row.failed == ("deprivation_band",)
    assert row.reason.startswith("IDACI rate 32%, AEA score 4; Leading Together needs")


def test_leading_together_completed_cannot_apply_again(programmes):
    row = one(
        programmes["leading_together"],
        **{**LT_BASE, "completed_leading_together": True},
        idaci_rate=0.5,
    )
    assert row.status == Status.NOT_ELIGIBLE
    assert row.failed == ("not_completed_before",)
    assert "cannot apply again" in row.reason


def test_leading_together_special_school_not_eligible(programmes):
    row = one(
        programmes["leading_together"], **{**LT_BASE, "phase_group": "special"}, idaci_rate=0.5
    )
    assert row.status == Status.NOT_ELIGIBLE
    assert "phase_primary_or_secondary" in row.failed


def test_unknown_does_not_mask_definite_failure(programmes):
    # Special school with no IDACI, AEA, Ofsted or completion data: definitely out.
    row = one(programmes["leading_together"], phase_group="special")
    assert row.status == Status.NOT_ELIGIBLE
    assert "deprivation_band" in row.unknown
    assert "IDACI" not in row.reason  # only the rejection is given as the reason


@pytest.mark.parametrize(
    ("ofsted", "at_risk", "expected"),
    [
        (3, False, Status.ELIGIBLE),
        (4, NA, Status.ELIGIBLE),
        (2, True, Status.ELIGIBLE),
        (2, False, Status.REVIEW),  # "we accept category 2 schools in certain cases"
        (2, NA, Status.UNKNOWN),  # review or eligible depending on risk: not guessed
        (1, False, Status.NOT_ELIGIBLE),
    ],
)
def test_leading_together_ofsted_priority(programmes, ofsted, at_risk, expected):
    row = one(
        programmes["leading_together"],
        phase_group="secondary",
        ofsted_grade=ofsted,
        at_risk=at_risk,
        completed_leading_together=False,
        idaci_rate=0.45,
    )
    assert row.status == expected, row.reason


def test_leading_together_designates_clients_for_two_years(programmes):
    lt = programmes["leading_together"]
    assert lt.role is Role.CLIENT
    assert lt.terms.duration_years == 2


# --------------------------------------------------------------------------- NLE

NLE_BASE = dict(
    ofsted_grade=1,
    leadership_grade=1,
    quality_grade=1,
    behaviour_grade=1,
    personal_grade=1,
    is_serving_head=True,
)


def test_nle_all_outstanding_serving_head_eligible(programmes):
    assert one(programmes["nle"], **NLE_BASE).status == Status.ELIGIBLE


def test_nle_outstanding_overall_with_leadership_2_is_review(programmes):
    row = one(programmes["nle"], **{**NLE_BASE, "leadership_grade": 2})
    assert row.status == Status.REVIEW
    assert row.failed == ("key_judgements_outstanding",)
    assert "leadership and management grade 2 (good)" in row.reason


def test_nle_leadership_2_with_other_judgements_missing_is_unknown(programmes):
    row = one(programmes["nle"], ofsted_grade=1, leadership_grade=2, is_serving_head=True)
    assert row.status == Status.UNKNOWN
    assert "quality of education grade unknown" in row.reason


def test_nle_two_key_judgements_graded_2_not_eligible(programmes):
    row = one(programmes["nle"], **{**NLE_BASE, "leadership_grade": 2, "quality_grade": 2})
    assert row.status == Status.NOT_ELIGIBLE
    assert "at_most_one_key_judgement_good" in row.failed


def test_nle_grade_2_overall_not_eligible(programmes):
    row = one(programmes["nle"], **{**NLE_BASE, "ofsted_grade": 2})
    assert row.status == Status.NOT_ELIGIBLE
    assert row.failed == ("overall_outstanding",)


def test_nle_reason_wording(programmes):
    row = one(programmes["nle"], **{**NLE_BASE, "ofsted_grade": 3})
    assert row.reason == (
        "Ofsted grade 3 (requires improvement); "
        "NLE support schools must be graded 1 (outstanding) overall"
    )


def test_nle_not_serving_head_not_eligible(programmes):
    row = one(programmes["nle"], **{**NLE_BASE, "is_serving_head": False})
    assert row.status == Status.NOT_ELIGIBLE
    assert row.reason == (
        "the leader is not a serving headteacher; an NLE must be a serving headteacher"
    )


def test_nle_terms(programmes):
    t = programmes["nle"].terms
    assert (t.days_per_week_min, t.days_per_week_max) == (1.0, 2.5)
    assert set(t.support_modes) == {"executive_head", "consultant_leader", "associate_head"}
    assert t.support_school_required is True


# --------------------------------------------------------------------------- LLE


@pytest.mark.parametrize(
    ("ofsted", "head", "expected"),
    [
        (1, True, Status.ELIGIBLE),
        (2, True, Status.ELIGIBLE),
        (3, True, Status.NOT_ELIGIBLE),
        (2, False, Status.NOT_ELIGIBLE),
        (2, NA, Status.UNKNOWN),
        (4, NA, Status.NOT_ELIGIBLE),
    ],
)
def test_lle_good_or_outstanding_serving_head(programmes, ofsted, head, expected):
    row = one(programmes["lle"], ofsted_grade=ofsted, is_serving_head=head)
    assert row.status == expected, row.reason


def test_lle_needs_no_support_school_and_coaches(programmes):
    t = programmes["lle"].terms
    assert t.support_school_required is False
    assert set(t.support_modes) == {"coaching", "mentoring"}


# --------------------------------------------------------------------------- Leading Edge


@pytest.mark.parametrize(
    ("phase", "ofsted", "p8", "expected"),
    [
        pytest.param("secondary", 2, 80, Status.ELIGIBLE, id="grade 2, P8 80th pct"),
        pytest.param("secondary", 2, 70, Status.NOT_ELIGIBLE, id="grade 2, P8 70th pct"),
        pytest.param("secondary", 2, 75, Status.ELIGIBLE, id="grade 2, exactly 75th pct"),
        pytest.param("secondary", 2, NA, Status.UNKNOWN, id="grade 2, P8 unknown"),
        pytest.param("secondary", 1, NA, Status.ELIGIBLE, id="grade 1 needs no P8"),
        pytest.param("secondary", 3, 99, Status.NOT_ELIGIBLE, id="grade 3 loses membership"),
        pytest.param("primary", 1, 99, Status.NOT_ELIGIBLE, id="primary grade 1"),
        pytest.param("all_through", 1, NA, Status.REVIEW, id="all-through reviewed"),
    ],
)
def test_leading_edge(programmes, phase, ofsted, p8, expected):
    row = one(
        programmes["leading_edge"], phase_group=phase, ofsted_grade=ofsted, progress8_percentile=p8
    )
    assert row.status == expected, row.reason


def test_leading_edge_reviewed_annually(programmes):
    assert programmes["leading_edge"].terms.review_interval_years == 1


# --------------------------------------------------------------------------- LEEP LENs


@pytest.mark.parametrize(
    ("district", "network"),
    [
        ("Melton", "Charnwood with Melton"),
        ("Charnwood", "Charnwood with Melton"),
        ("North West Leicestershire", "North West Leicestershire with Hinckley and Bosworth"),
        ("Hinckley & Bosworth", "North West Leicestershire with Hinckley and Bosworth"),
        ("Blaby", "Blaby, Oadby and Wigston, and Harborough"),
        ("oadby  and wigston", "Blaby, Oadby and Wigston, and Harborough"),
        ("Harborough", "Blaby, Oadby and Wigston, and Harborough"),
        ("Leicester", "outside LEEP"),
    ],
)
def test_leep_network_of_district(programmes, district, network):
    out = derive(programmes["leep_len"], pd.DataFrame({"urn": [1], "lad_name": [district]}))
    assert out["leep_network"].iloc[0] == network


def test_leep_melton_school_is_in_charnwood_with_melton(programmes):
    row = one(programmes["leep_len"], lad_name="Melton", ofsted_grade=1)
    assert row.status == Status.ELIGIBLE
    assert row.leep_network == "Charnwood with Melton"
    assert programmes["leep_len"].match_within == ("leep_network",)


@pytest.mark.parametrize(
    ("ofsted", "leadership", "expected"),
    [
        (1, NA, Status.ELIGIBLE),
        (2, 1, Status.REVIEW),
        (2, 2, Status.NOT_ELIGIBLE),
        (2, NA, Status.UNKNOWN),
        (3, 1, Status.NOT_ELIGIBLE),
    ],
)
def test_leep_lead_school_quality(programmes, ofsted, leadership, expected):
    row = one(
        programmes["leep_len"], lad_name="Blaby", ofsted_grade=ofsted, leadership_grade=leadership
    )
    assert row.status == expected, row.reason


def test_leep_outside_leicestershire_reason_names_district(programmes):
    row = one(programmes["leep_len"], lad_name="Leicester", ofsted_grade=1)
    assert row.status == Status.NOT_ELIGIBLE
    assert "district: Leicester" in row.reason


# --------------------------------------------------------------------------- per criterion

# (programme, a school meeting every criterion)
BASES = {
    "nle": NLE_BASE,
    "lle": dict(ofsted_grade=2, is_serving_head=True),
    "leading_together": dict(LT_BASE, idaci_rate=0.45),
    "leading_edge": dict(phase_group="secondary", ofsted_grade=1),
    "leep_len": dict(lad_name="Melton", ofsted_grade=1),
}

# (programme, criterion id, changes that break it, expected status)
CRITERIA_CASES = [
    ("nle", "overall_outstanding", dict(ofsted_grade=2), Status.NOT_ELIGIBLE),
    ("nle", "leadership_at_least_good", dict(leadership_grade=3), Status.NOT_ELIGIBLE),
    ("nle", "key_judgements_at_least_good", dict(quality_grade=3), Status.NOT_ELIGIBLE),
    (
        "nle",
        "at_most_one_key_judgement_good",
        dict(behaviour_grade=2, personal_grade=2),
        Status.NOT_ELIGIBLE,
    ),
    ("nle", "key_judgements_outstanding", dict(personal_grade=2), Status.REVIEW),
    ("nle", "serving_head", dict(is_serving_head=False), Status.NOT_ELIGIBLE),
    ("lle", "school_good_or_outstanding", dict(ofsted_grade=3), Status.NOT_ELIGIBLE),
    ("lle", "serving_head", dict(is_serving_head="no"), Status.NOT_ELIGIBLE),
    (
        "leading_together",
        "phase_primary_or_secondary",
        dict(phase_group="nursery"),
        Status.NOT_ELIGIBLE,
    ),
    ("leading_together", "phase_not_all_through", dict(phase_group="all_through"), Status.REVIEW),
    ("leading_together", "deprivation_band", dict(idaci_rate=0.1), Status.NOT_ELIGIBLE),
    (
        "leading_together",
        "not_completed_before",
        dict(completed_leading_together=True),
        Status.NOT_ELIGIBLE,
    ),
    ("leading_together", "not_outstanding", dict(ofsted_grade=1), Status.NOT_ELIGIBLE),
    ("leading_together", "priority_category", dict(ofsted_grade=2), Status.REVIEW),
    ("leading_edge", "secondary_phase", dict(phase_group="primary"), Status.NOT_ELIGIBLE),
    ("leading_edge", "secondary_not_all_through", dict(phase_group="all_through"), Status.REVIEW),
    ("leading_edge", "ofsted_at_least_good", dict(ofsted_grade=4), Status.NOT_ELIGIBLE),
    (
        "leading_edge",
        "good_with_high_progress",
        dict(ofsted_grade=2, progress8_percentile=50),
        Status.NOT_ELIGIBLE,
    ),
    ("leep_len", "in_leep_network", dict(lad_name="Rutland"), Status.NOT_ELIGIBLE),
    (
        "leep_len",
        "outstanding_or_good_with_strong_leadership",
        dict(ofsted_grade=2, leadership_grade=2),
        Status.NOT_ELIGIBLE,
    ),
    ("leep_len", "outstanding", dict(ofsted_grade=2, leadership_grade=1), Status.REVIEW),
]


@pytest.mark.parametrize("name", sorted(BASES))
def test_base_school_meets_every_criterion(programmes, name):
    row = one(programmes[name], **BASES[name])
    assert row.status == Status.ELIGIBLE, row.reason
    assert row.reason == "meets every criterion"
    assert row.failed == () and row.unknown == ()


@pytest.mark.parametrize(
    ("name", "criterion", "change", "expected"),
    CRITERIA_CASES,
    ids=[f"{c[0]}:{c[1]}" for c in CRITERIA_CASES],
)
def test_each_criterion_fails_alone(programmes, name, criterion, change, expected):
    prog = programmes[name]
    row = one(prog, **{**BASES[name], **change})
    assert row.status == expected, row.reason
    assert criterion in row.failed
    assert prog.criterion(criterion).explain in row.reason


def test_every_criterion_has_a_case(programmes):
    covered = {(n, c) for n, c, _, _ in CRITERIA_CASES}
    every = {(n, c.id) for n, p in programmes.items() for c in p.criteria}
    assert every == covered


# --------------------------------------------------------------------------- the table


def test_every_programme_cites_a_source(programmes):
    assert set(programmes) == {"nle", "lle", "leading_together", "leading_edge", "leep_len"}
    for p in programmes.values():
        assert p.sources
        for s in p.sources:
            assert s.title and s.publisher and s.year and s.url.startswith("http")


def test_assess_keeps_index_and_order_and_input(programmes):
    df = pd.DataFrame(
        {"urn": [3, 1, 2], "ofsted_grade": [1, 3, NA], "is_serving_head": [True, True, True]},
        index=["c", "a", "a"],
    )
    before = df.copy(deep=True)
    out = assess(programmes["lle"], df)
    pd.testing.assert_frame_equal(df, before)
    assert list(out.index) == ["c", "a", "a"]
    assert list(out.urn) == [3, 1, 2]
    assert list(out.status) == ["eligible", "not_eligible", "unknown"]
    assert list(out.columns[:7]) == [
        "urn",
        "programme",
        "role",
        "status",
        "reason",
        "failed",
        "unknown",
    ]


def test_assess_empty_table(programmes):
    out = assess(programmes["nle"], pd.DataFrame({"urn": []}))
    assert len(out) == 0


def test_load_programme_by_name_matches_load_all(programmes):
    assert load_programme("nle") == programmes["nle"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("idaci_rate", 37, "looks like a percentage"),
        ("idaci_rate", -0.1, "from 0 to 1"),
        ("ofsted_grade", 5, "from 1 to 4"),
        ("ofsted_grade", 2.5, "whole number"),
        ("ofsted_grade", "good", "expected a number"),
        ("aea_score", 7, "from 1 to 6"),
        ("phase_group", "secondry", "expected one of"),
        ("completed_leading_together", "maybe", "true or false"),
    ],
)
def test_bad_cells_raise_input_error_naming_row_column_value(programmes, column, value, words):
    school = dict(LT_BASE, urn=1, idaci_rate=0.5, aea_score=5)
    df = pd.DataFrame([school, {**school, "urn": 2, column: value}])
    with pytest.raises(InputError) as exc:
        assess(programmes["leading_together"], df, source="schools.csv")
    (problem,) = exc.value.problems
    assert (problem.file, problem.row, problem.column) == ("schools.csv", 3, column)
    assert problem.value == value
    assert words in str(exc.value)


def test_all_bad_cells_reported_together(programmes):
    df = pd.DataFrame({"urn": [1, 2], "ofsted_grade": [9, 0], "is_serving_head": ["x", True]})
    with pytest.raises(InputError) as exc:
        assess(programmes["lle"], df)
    assert len(exc.value.problems) == 3


def test_missing_urn_column(programmes):
    with pytest.raises(InputError, match="urn"):
        assess(programmes["lle"], pd.DataFrame({"ofsted_grade": [1]}))


def test_accepts_pandas_nullable_dtypes(programmes):
    df = pd.DataFrame(
        {
            "urn": pd.array([1, 2, 3], dtype="Int64"),
            "ofsted_grade": pd.array([1, pd.NA, 2], dtype="Int64"),
            "is_serving_head": pd.array([True, True, pd.NA], dtype="boolean"),
        }
    )
    out = assess(programmes["lle"], df)
    assert list(out.status) == ["eligible", "unknown", "unknown"]


def test_blank_strings_and_unknown_phase_count_as_missing(programmes):
    row = one(programmes["leading_edge"], phase_group="unknown", ofsted_grade="  ")
    assert row.status == Status.UNKNOWN
    assert "phase unknown" in row.reason and "Ofsted grade unknown" in row.reason
