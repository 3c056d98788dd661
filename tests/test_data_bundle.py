"""Tests of the open data bundled in broker.data and of the script that builds it."""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import broker.data as data
from broker.data.schema import PHASE_GROUPS, SCHOOL_COLUMNS, SCHOOL_DTYPES, phase_group

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
BUNDLE = resources.files("broker.data")

LEICESTERSHIRE = "855"
LEICESTERSHIRE_DISTRICTS = {
    "Blaby",
    "Charnwood",
    "Harborough",
    "Hinckley and Bosworth",
    "Melton",
    "North West Leicestershire",
    "Oadby and Wigston",
}


@pytest.fixture(scope="module")
def schools() -> pd.DataFrame:
    return data.load_schools()


# --------------------------------------------------------------------------- files


def test_bundle_files_present_and_small() -> None:
    names = [
        "schools_england_open_2024.csv.gz",
        "idaci_imd_2019_lsoa11.csv.gz",
        "local_authorities_england.csv.gz",
        "gias_establishment_type_codes.csv.gz",
        "la_boundaries_utla2023_buc.geojson.gz",
        "lad_boundaries_2024_buc.geojson.gz",
        "la_adjacency.csv",
        "PROVENANCE.md",
    ]
    sizes = {n: len(BUNDLE.joinpath(n).read_bytes()) for n in names}
    assert sum(sizes.values()) < 4_000_000, sizes


def test_provenance_flags_opencage_rows_with_the_right_count(schools: pd.DataFrame) -> None:
    text = BUNDLE.joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    opencage = schools["coord_source"].str.startswith("edubase2017_opencage", na=False)
    assert f"**{int(opencage.sum())} rows**" in text
    assert "ODbL" in text and "Open Government Licence v3.0" in text
    for who in ("Department for Education", "Ofsted", "Ministry of Housing", "Office for National"):
        assert who in text
    assert "Crown copyright" in text


def test_attribution_text() -> None:
    assert "Open Government Licence v3.0" in data.ATTRIBUTION
    assert "Crown copyright" in data.ATTRIBUTION
    for who in ("Department for Education", "Ofsted", "Ministry of Housing", "Office for National"):
        assert who in data.ATTRIBUTION


# --------------------------------------------------------------------------- schools


def test_schools_shape_and_dtypes(schools: pd.DataFrame) -> None:
    assert len(schools) == 25_182
    assert tuple(schools.columns) == SCHOOL_COLUMNS
    assert schools["urn"].dtype == "int64"
    assert schools["urn"].is_unique
    assert schools["easting"].dtype == "float64"
    assert schools["northing"].dtype == "float64"
    assert schools["la_code"].str.fullmatch(r"\d{3}").all()
    for col in SCHOOL_COLUMNS:
        assert str(schools[col].dtype) == SCHOOL_DTYPES[col], col
    assert (schools["state_funded"] == "Y").sum() == 22_000
    assert set(schools["phase_group"]) <= set(PHASE_GROUPS)


def test_schools_known_values(schools: pd.DataFrame) -> None:
    aldgate = schools.set_index("urn").loc[100000]
    assert aldgate["name"] == "The Aldgate School"
    assert aldgate["la_code"] == "201"
    assert aldgate["lad_name"] == "City of London"
    assert aldgate["ofsted_grade_2024"] == 1
    assert aldgate["ofsted_inspection_date_2019"] == pd.Timestamp("2013-04-18")


def test_loaders_return_copies() -> None:
    first = data.load_schools()
    first.loc[:, "name"] = "changed"
    first["urn"] += 1
    again = data.load_schools()
    assert len(again) == 25_182
    assert again["name"].iloc[0] == "The Aldgate School"
    assert again["urn"].iloc[0] == 100000
    la = data.load_authorities()
    la["la_code"] = "x"
    assert data.load_authorities()["la_code"].iloc[0] == "201"
    gdf = data.load_la_boundaries()
    gdf["la_code"] = "x"
    assert data.load_la_boundaries()["la_code"].str.fullmatch(r"\d{3}").all()


def test_phase_group_rule_reproduces_bundle(schools: pd.DataFrame) -> None:
    derived = [
        phase_group(
            None if pd.isna(c) else int(c),
            None if pd.isna(t) else t,
            None if pd.isna(p) else p,
        )
        for c, t, p in zip(schools["type_code"], schools["type"], schools["phase"], strict=True)
    ]
    assert (schools["phase_group"] == pd.Series(derived, index=schools.index)).all()


@given(
    st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
    st.one_of(st.none(), st.text(max_size=30)),
    st.one_of(st.none(), st.sampled_from(["Primary", "Secondary", "Nursery", "16 plus", "x"])),
)
def test_phase_group_always_valid(code: int | None, name: str | None, phase: str | None) -> None:
    assert phase_group(code, name, phase) in PHASE_GROUPS


# --------------------------------------------------------------------------- districts


def test_leicestershire_schools_get_one_of_its_districts(schools: pd.DataFrame) -> None:
    leics = schools[(schools["la_code"] == LEICESTERSHIRE) & schools["easting"].notna()]
    assert len(leics) > 250
    assert leics["lad_name"].notna().all()
    assert set(leics["lad_name"]) == LEICESTERSHIRE_DISTRICTS


def test_districts_nest_inside_the_schools_la(schools: pd.DataFrame) -> None:
    lad = data.load_lad_boundaries()
    parent = schools["lad_code"].map(lad.set_index("lad_code")["la_ons_code"])
    has = schools["lad_code"].notna()
    assert (parent[has] == schools.loc[has, "la_ons_code"]).all()
    # no coordinates -> no district; coordinates -> a district except the few bad geocodes
    assert schools.loc[schools["easting"].isna(), "lad_code"].isna().all()
    no_lad = schools["easting"].notna() & schools["lad_code"].isna()
    assert no_lad.sum() == 43
    assert schools.loc[no_lad, "lad_method"].str.startswith("none").all()
    assert (schools.loc[no_lad, "coord_dist_outside_la_km"] > 2).all()


# --------------------------------------------------------------------------- tables


def test_idaci_table() -> None:
    idaci = data.load_idaci()
    assert len(idaci) == 32_844
    assert idaci["lsoa11_code"].is_unique
    assert idaci["idaci_rank"].min() == 1 and idaci["idaci_rank"].max() == 32_844
    assert set(idaci["idaci_decile"]) == set(range(1, 11))
    assert idaci["idaci_rank"].dtype == "int64"


def test_authorities_and_type_codes() -> None:
    la = data.load_authorities()
    assert len(la) == 153
    assert la["la_code"].is_unique and la["la_code"].str.fullmatch(r"\d{3}").all()
    assert la["la_ons_code"].is_unique
    types = data.load_type_codes()
    assert len(types) == 39
    assert types["type_code"].dtype == "int64"
    assert set(types["state_funded"]) == {"Y", "N"}


def test_every_school_la_is_known(schools: pd.DataFrame) -> None:
    la = data.load_authorities()
    assert set(schools["la_code"]) == set(la["la_code"])


# --------------------------------------------------------------------------- boundaries


def test_boundaries_in_british_national_grid() -> None:
    la = data.load_la_boundaries()
    lad = data.load_lad_boundaries()
    assert la.crs.to_epsg() == 27700
    assert lad.crs.to_epsg() == 27700
    assert len(la) == 153 and len(lad) == 296
    assert set(la["la_code"]) == set(data.load_authorities()["la_code"])
    assert set(lad["la_ons_code"]) == set(la["la_ons_code"])
    minx, miny, maxx, maxy = la.total_bounds
    assert 0 < minx < maxx < 700_000 and 0 < miny < maxy < 700_000
    assert la.is_valid.all() and lad.is_valid.all()


# --------------------------------------------------------------------------- adjacency


def test_adjacency_table() -> None:
    adj = data.load_la_adjacency()
    assert list(adj.columns) == [
        "la_code_a", "la_code_b", "la_name_a", "la_name_b", "gap_m", "shared_border_km",
    ]  # fmt: skip
    assert (adj["la_code_a"] < adj["la_code_b"]).all()
    assert not adj.duplicated(["la_code_a", "la_code_b"]).any()
    assert (adj["gap_m"] >= 0).all() and (adj["gap_m"] <= 500).all()
    assert adj["la_code_a"].str.fullmatch(r"\d{3}").all()


def test_leicestershire_neighbours() -> None:
    graph = data.la_adjacency_graph()
    neighbours = set(graph.neighbors(LEICESTERSHIRE))
    # Leicester, Nottinghamshire, Derbyshire, Warwickshire, Rutland
    assert {"856", "891", "830", "937", "857"} <= neighbours
    # Northamptonshire's successors (North and West Northamptonshire), Lincolnshire, Staffordshire
    assert {"940", "941", "925", "860"} <= neighbours
    assert graph.nodes[LEICESTERSHIRE]["la_name"] == "Leicestershire"
    assert graph.nodes[LEICESTERSHIRE]["region"] == "East Midlands"
    edge = graph.edges[LEICESTERSHIRE, "856"]
    assert edge["gap_m"] == 0 and edge["shared_border_km"] > 10


def test_adjacency_graph_shape() -> None:
    graph = data.la_adjacency_graph()
    assert graph.number_of_nodes() == 153
    assert graph.number_of_edges() == len(data.load_la_adjacency())
    isolated = set(nx.isolates(graph))
    assert isolated == {"420", "921"}  # Isles of Scilly, Isle of Wight
    # mainland England is one connected piece
    assert nx.number_connected_components(graph) == 3
    assert data.la_adjacency_graph() is not graph


# --------------------------------------------------------------------------- build script


def _load_build_script():
    spec = importlib.util.spec_from_file_location(
        "build_data_bundle", REPO / "scripts" / "build_data_bundle.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not (SHARED / "schools_england_open_2024.csv").is_file(), reason="no shared data"
)
def test_build_script_reproduces_bundle(tmp_path: Path) -> None:
    build = _load_build_script()
    facts = build.build(SHARED, tmp_path)
    assert facts["schools"] == 25_182
    assert facts["lad_parent_differs_from_la"] == 0
    for path in sorted(tmp_path.iterdir()):
        assert path.read_bytes() == BUNDLE.joinpath(path.name).read_bytes(), path.name
