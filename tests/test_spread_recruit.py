"""Recruitment targeting: weighted max coverage (broker.spread.recruit)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.errors import InputError
from broker.scenario import read_scenario
from broker.spread import (
    CoverageModel,
    SolvedRound,
    coverage_model,
    designation_pool,
    exact_cover,
    greedy_cover,
    read_pool,
    recruitment_targets,
)
from broker.spread.recruit import greedy_guarantee
from factories import client, scenario, supporter

ROOT = Path(__file__).resolve().parents[1]


def random_model(n_targets: int, n_pool: int, density: float, seed: int) -> CoverageModel:
    rng = np.random.default_rng(seed)
    reach = rng.random((n_targets, n_pool)) < density
    return CoverageModel(
        targets=np.arange(n_targets),
        weight=rng.integers(1, 50, size=n_targets),
        reach=sp.csc_array(reach),
        pool=pd.DataFrame(index=range(n_pool)),
        weight_name="priority",
        scenario_supply_days=0.0,
        n_supporters=0,
    )


def brute_force(model: CoverageModel, k: int) -> int:
    m = min(k, model.n_pool)
    return max(
        (model.value(list(c)) for c in itertools.combinations(range(model.n_pool), m)), default=0
    )


@settings(max_examples=60)
@given(
    st.integers(1, 12),
    st.integers(1, 8),
    st.floats(0.05, 0.6),
    st.integers(1, 4),
    st.integers(0, 2**31 - 1),
)
def test_exact_matches_brute_force_and_greedy_keeps_its_guarantee(n_t, n_p, density, k, seed):
    model = random_model(n_t, n_p, density, seed)
    best = brute_force(model, k)
    for solver in ("highs", "cpsat"):
        ex = exact_cover(model, k, solver=solver)
        assert ex.optimal and ex.value == best and ex.bound == best, solver
        assert len(ex.chosen) <= k and model.value(list(ex.chosen)) == ex.value
        assert ex.method == f"exact_{solver}"
    gr = greedy_cover(model, k)
    assert gr.value <= best <= gr.bound
    assert gr.value >= greedy_guarantee(k) * best - 1e-9
    assert gr.value >= (1 - 1 / math.e) * best - 1e-9
    assert sum(gr.gains) == gr.value == model.value(list(gr.chosen))
    assert list(gr.gains) == sorted(gr.gains, reverse=True)  # diminishing returns


def test_greedy_can_be_suboptimal_and_exact_fixes_it():
    # school 2 covers targets 0 and 2 (weight 14) and is taken first by greedy; schools 0
    # and 1 together cover everything (24)
    reach = np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 0]], dtype=bool)
    model = CoverageModel(
        np.arange(4),
        np.array([7, 5, 7, 5]),
        sp.csc_array(reach),
        pd.DataFrame(index=range(3)),
        "priority",
        0.0,
        0,
    )
    gr, ex = greedy_cover(model, 2), exact_cover(model, 2)
    assert gr.chosen[0] == 2 and gr.value == 19 and not gr.optimal
    assert exact_cover(model, 2, solver="cpsat", hint=gr).value == 24
    rec_model = model
    assert greedy_cover(rec_model, 3).value == 24
    assert ex.value == 24 and sorted(ex.chosen) == [0, 1] and ex.optimal
    assert gr.bound >= ex.value >= gr.value >= greedy_guarantee(2) * ex.value


def test_greedy_stops_when_nothing_is_left_to_cover():
    model = random_model(3, 5, 1.0, 0)  # every school covers everything
    gr = greedy_cover(model, 4)
    assert len(gr.chosen) == 1 and gr.optimal and gr.value == int(model.weight.sum())
    assert exact_cover(model, 0).value == 0


# --------------------------------------------------------------------------- scenarios


@pytest.fixture(scope="module")
def gap():
    """Two isolated clients far from the only supporter; a pool of three schools."""
    s = scenario(
        [supporter("S1", x_km=0, la="855")],
        [
            client("C0", x_km=1, la="855", priority=1),
            client("C1", x_km=50, la="855", priority=3, need=1.5),
            client("C2", "secondary", x_km=52, la="855", priority=2),
            client("C3", x_km=90, la="856", priority=1),
        ],
        max_distance_km=10.0,
    )
    pool = pd.DataFrame(
        [
            {
                "supporter_id": "P1",
                "kind": "nle",
                "phase": "primary",
                "la_code": "855",
                "easting": 450_000 + 51_000,
                "northing": 300_000,
                "capacity_days": 2,
                "day_rate_gbp": 500,
                "urn": "900001",
            },
            {
                "supporter_id": "P2",
                "kind": "nle",
                "phase": "secondary",
                "la_code": "855",
                "easting": 450_000 + 51_000,
                "northing": 300_000,
                "capacity_days": 2,
                "day_rate_gbp": 500,
            },
            {
                "supporter_id": "P3",
                "kind": "nle",
                "phase": "primary;secondary",
                "la_code": "856",
                "easting": 450_000 + 88_000,
                "northing": 300_000,
                "capacity_days": 0.5,
                "day_rate_gbp": 500,
            },
        ]
    )
    return s, pool


def test_coverage_follows_the_hard_rules(gap):
    s, pool = gap
    m = coverage_model(s, pool)
    assert [s.clients["client_id"].iat[i] for i in m.targets] == ["C1", "C2", "C3"]
    reach = m.reach.toarray()
    assert reach[:, 0].tolist() == [True, False, False]  # P1: primary only
    assert reach[:, 1].tolist() == [False, True, False]  # P2: secondary only
    # P3 is near C3 but has 0.5 days, less than C3's need: the capacity rule excludes it
    assert reach[:, 2].tolist() == [False, False, False]
    assert m.weight.tolist() == [3 * 150, 2 * 100, 1 * 100]  # priority x need (centidays)


def test_recruitment_targets_table_and_summary(gap):
    s, pool = gap
    rec = recruitment_targets(s, pool, 1)
    t = rec.targets
    assert list(t["supporter_id"]) == ["P1"] and t["new_clients"].tolist() == [1]
    assert t["new_weight"].tolist() == [450] and t["method"].tolist() == ["greedy"]
    assert t["la_name"].tolist() == ["Leicestershire"]
    sm = rec.summary
    assert sm["target_clients"] == 3 and sm["covered_weight"] == 450 and sm["optimal"]
    assert sm["targets"] == "isolated clients" and sm["current_supporters"] == 1
    assert sm["added_capacity_days"] == 2.0 and sm["added_capacity_share"] == 1.0
    two = recruitment_targets(s, pool, 3, method="exact")
    assert list(two.targets["supporter_id"]) == ["P1", "P2"] and two.summary["designated"] == 2
    assert set(two.targets["method"]) == {"exact_highs"} and two.summary["optimal"]
    assert two.targets["cumulative_share"].iloc[-1] == pytest.approx(650 / 750)
    by_priority = recruitment_targets(s, pool, 1, weight="priority")
    assert by_priority.summary["target_weight"] == 6


def test_round_targets_are_the_unmatched_clients(gap):
    s, pool = gap
    rnd = SolvedRound(np.zeros(0, np.int64), np.array([-1, -1, -1, -1]), level1_optimal=False)
    m = coverage_model(s, pool, round_=rnd)
    assert len(m.targets) == 4  # C0 is in reach but unmatched, so it is a target too
    rec = recruitment_targets(s, pool, 2, round_=rnd)
    assert rec.summary["targets"] == "unmatched clients"


def test_pool_errors_name_file_row_column_value(gap, tmp_path):
    s, pool = gap
    bad = pool.copy()
    bad.loc[0, "supporter_id"] = "S1"
    with pytest.raises(InputError) as e:
        coverage_model(s, bad, label="pool.csv")
    assert "pool.csv, row 2, column 'supporter_id': value 'S1'" in str(e.value)
    path = tmp_path / "pool.csv"
    text = pool.astype(object)
    text.loc[1, "capacity_days"] = "lots"
    text.to_csv(path, index=False)
    with pytest.raises(InputError) as e:
        coverage_model(s, read_pool(path), label=str(path))
    assert "row 3, column 'capacity_days': value 'lots'" in str(e.value)
    with pytest.raises(InputError, match="file not found"):
        read_pool(tmp_path / "missing.csv")


def test_designation_pool_from_the_register():
    s = read_scenario(ROOT / "scenarios" / "leicestershire")
    pool = designation_pool(s, capacity_days=1.5)
    assert len(pool) > 0 and (pool["capacity_days"] == 1.5).all()
    assert not set(pool["urn"]) & set(s.supporters["urn"])
    assert pool["supporter_id"].str.startswith("R").all()
    assert set(pool["la_code"]) <= {
        "855",
        "830",
        "856",
        "857",
        "860",
        "891",
        "925",
        "937",
        "940",
        "941",
    }
    from broker.data import load_schools

    reg = load_schools().set_index(load_schools()["urn"].astype(str))
    assert (reg.loc[pool["urn"], "ofsted_grade_2024"] == 1).all()
    m = coverage_model(s, pool)  # validates as supporters.csv rows
    assert m.n_pool == len(pool)
