"""Properties of ``assess`` over generated schools tables."""

from __future__ import annotations

from functools import cache

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.rules import Status, assess, load_all
from broker.rules.schema import OnFail

PHASES = [
    "primary",
    "secondary",
    "special",
    "all_through",
    "alternative_provision",
    "nursery",
    "post16",
    "unknown",
]
DISTRICTS = [
    "Melton",
    "Charnwood",
    "Blaby",
    "Harborough",
    "Leicester",
    "Rutland",
    "Hinckley & Bosworth",
]
GRADE = st.integers(1, 4)

# value strategies for every field in models/fields.toml
VALUES = {
    "phase_group": st.sampled_from(PHASES),
    "ofsted_grade": GRADE,
    "leadership_grade": GRADE,
    "quality_grade": GRADE,
    "behaviour_grade": GRADE,
    "personal_grade": GRADE,
    # bias towards band edges
    "idaci_rate": st.one_of(
        st.sampled_from([0.25, 0.249, 0.3, 0.35, 0.4, 0.399]), st.floats(0, 1, allow_nan=False)
    ),
    "aea_score": st.integers(1, 6),
    "progress8_percentile": st.one_of(st.just(75.0), st.floats(0, 100, allow_nan=False)),
    "is_serving_head": st.booleans(),
    "completed_leading_together": st.booleans(),
    "at_risk": st.booleans(),
    "lad_name": st.sampled_from(DISTRICTS),
    "idaci_decile": st.integers(1, 10),
}
ALLOWED = {s.value for s in Status}


@cache
def programmes():
    return load_all()


@st.composite
def schools(draw):
    n = draw(st.integers(0, 6))
    cols = draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True))
    data = {"urn": draw(st.lists(st.integers(100000, 150000), min_size=n, max_size=n))}
    for c in cols:
        data[c] = draw(st.lists(st.one_of(st.none(), VALUES[c]), min_size=n, max_size=n))
    index = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))  # duplicates allowed
    return pd.DataFrame(data, index=index)


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(
    name=st.sampled_from(["nle", "lle", "leading_together", "leading_edge", "leep_len"]),
    df=schools(),
)
def test_assess_is_pure_and_total(name, df):
    prog = programmes()[name]
    before = df.copy(deep=True)
    out = assess(prog, df)
    pd.testing.assert_frame_equal(df, before)  # input untouched
    assert len(out) == len(df)
    assert out.index.equals(df.index)
    assert list(out["urn"]) == list(df["urn"])
    assert set(out["status"]) <= ALLOWED
    ids = {c.id for c in prog.criteria}
    rejects = {c.id for c in prog.criteria if c.on_fail is OnFail.REJECT}
    for row in out.itertuples():
        assert isinstance(row.failed, tuple) and set(row.failed) <= ids
        assert isinstance(row.unknown, tuple) and set(row.unknown) <= ids
        assert not set(row.failed) & set(row.unknown)
        assert isinstance(row.reason, str) and row.reason
        if row.status == Status.ELIGIBLE:
            assert row.failed == () and row.unknown == ()
        elif row.status == Status.NOT_ELIGIBLE:
            assert set(row.failed) & rejects
        elif row.status == Status.REVIEW:
            assert row.failed and not set(row.failed) & rejects
        else:
            assert row.unknown and not set(row.failed) & rejects


@FAST
@given(
    name=st.sampled_from(["nle", "lle", "leading_together", "leading_edge", "leep_len"]),
    df=schools(),
    data=st.data(),
)
def test_filling_missing_values_never_changes_a_decided_status(name, df, data):
    """A status other than 'unknown' holds whatever the missing values turn out to be."""
    prog = programmes()[name]
    first = assess(prog, df)
    filled = df.copy()
    for col in prog.input_fields:
        if col not in filled.columns:
            filled[col] = None
        values = filled[col].astype(object).tolist()
        for i, v in enumerate(values):
            is_missing = (
                v is None
                or (isinstance(v, float) and v != v)
                or (col == "phase_group" and v == "unknown")
            )
            if is_missing:
                values[i] = data.draw(VALUES[col].filter(lambda x: x != "unknown"))
        filled[col] = pd.Series(values, index=filled.index, dtype=object)
    second = assess(prog, filled)
    decided = first["status"] != Status.UNKNOWN
    assert (first["status"][decided] == second["status"][decided]).all()
    assert (second["status"] != Status.UNKNOWN).all()
