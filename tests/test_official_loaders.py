"""Tests of the loaders for official downloads (GIAS, Ofsted MI, Indices of Deprivation)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import broker.data as data
from broker.data.official import LoadReport, load_gias, load_iod, load_ofsted_mi
from broker.data.schema import GIAS_EXTRA_COLUMNS, SCHOOL_COLUMNS
from broker.errors import InputError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "official"
GIAS = FIXTURES / "edubasealldata20240617.csv"
GIAS_MISSING = FIXTURES / "edubasealldata_missing_columns.csv"
OFSTED = FIXTURES / "ofsted_mi_latest_inspections.csv"
OFSTED_TITLE = FIXTURES / "ofsted_mi_with_title_row.csv"
OFSTED_MISSING = FIXTURES / "ofsted_mi_missing_columns.csv"
OFSTED_CARDS = FIXTURES / "ofsted_mi_report_cards.csv"
IOD7 = FIXTURES / "iod2019_file7.csv"
IOD3 = FIXTURES / "iod2019_file3.csv"

REJECTED_COLUMNS = ["file", "row", "column", "value", "reason", "action"]


def rejected_set(report: LoadReport) -> set[tuple[int, str, str, str]]:
    rej = report.rejected
    return set(zip(rej["row"], rej["column"], rej["value"], rej["action"], strict=True))


# =========================================================================== GIAS


@pytest.fixture(scope="module")
def gias() -> LoadReport:
    return load_gias(GIAS)


def test_gias_fixture_is_really_cp1252() -> None:
    raw = GIAS.read_bytes()
    assert b"\x92" in raw and b"\xe9" in raw  # ’ and é in Windows-1252
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    header = raw.split(b"\n", 1)[0].decode("cp1252")
    assert header.count(",") + 1 >= 130


def test_gias_decodes_cp1252(gias: LoadReport) -> None:
    assert gias.encoding == "cp1252"
    assert gias.layout == "gias_edubasealldata"
    names = set(gias.table["name"])
    assert "St Mary\u2019s Catholic Primary School" in names
    assert "Hinckley Acad\u00e9mie" in names


def test_gias_schema_matches_bundled_schools(gias: LoadReport) -> None:
    table = gias.table
    assert tuple(table.columns) == SCHOOL_COLUMNS + GIAS_EXTRA_COLUMNS
    bundled = data.load_schools()
    for col in SCHOOL_COLUMNS:
        assert table[col].dtype == bundled[col].dtype, col
    assert table["la_code"].str.fullmatch(r"\d{3}").all()


def test_gias_rows_kept_and_left_out(gias: LoadReport) -> None:
    assert sorted(gias.table["urn"]) == [
        100000, 138001, 138002, 138003, 138004, 138005, 138006, 138008, 138009, 138010,
    ]  # fmt: skip
    notes = " ".join(gias.notes)
    assert "1 row(s) with EstablishmentStatus (name)" in notes
    assert "1 Welsh, offshore or overseas establishment(s)" in notes


def test_gias_rejected_rows_are_reported(gias: LoadReport) -> None:
    assert list(gias.rejected.columns) == REJECTED_COLUMNS
    assert set(gias.rejected["file"]) == {str(GIAS)}
    assert rejected_set(gias) == {
        (5, "URN", "13800X", "row dropped"),
        (6, "Easting", "", "value set to missing"),
        (7, "URN", "138001", "row dropped"),
        (12, "OfstedRating (name)", "Excellent", "value set to missing"),
        (13, "LA (code)", "LA1", "row dropped"),
        (14, "Easting", "abc", "value set to missing"),
        (14, "NumberOfPupils", "many", "value set to missing"),
    }
    dup = gias.rejected[gias.rejected["row"] == 7]["reason"].item()
    assert "duplicate URN" in dup and "row 3" in dup
    assert gias.rows_dropped == 3


def test_gias_values(gias: LoadReport) -> None:
    t = gias.table.set_index("urn")
    aldgate = t.loc[100000]
    assert aldgate["la_code"] == "201"
    assert aldgate["la_ons_code"] == "E09000001"
    assert aldgate["lad_code"] == "E09000001"
    assert aldgate["region"] == "London"
    assert aldgate["ofsted_grade_2024"] == 1
    assert aldgate["pupils_2024"] == 276
    assert aldgate["fsm_pct_spc_2023"] == pytest.approx(10.2)
    assert aldgate["sen_ehc_pct_2024"] == pytest.approx(1.8)
    assert aldgate["statutory_low_age"] == 3 and aldgate["statutory_high_age"] == 11
    assert aldgate["lat"] == pytest.approx(51.514, abs=0.001)
    assert aldgate["lon"] == pytest.approx(-0.0775, abs=0.001)
    assert aldgate["coord_source"] == "gias" and aldgate["coord_urn"] == 100000
    assert aldgate["ofsted_last_inspection_date"] == pd.Timestamp("2013-04-19")
    # IDACI joined from the bundled table through the GIAS LSOA code
    idaci = data.load_idaci().set_index("lsoa11_code").loc["E01032739"]
    assert aldgate["idaci_decile_2019"] == idaci["idaci_decile"]

    assert pd.isna(t.loc[138001, "fsm_pct_spc_2023"])  # SUPP
    assert t.loc[138001, "trust_name"] == "Holy Spirit Catholic Multi Academy Trust"
    assert t.loc[138002, "ofsted_grade_2024"] == 4  # Special Measures
    assert t.loc[138002, "phase_group"] == "secondary"
    assert t.loc[138004, "phase_group"] == "special"
    assert t.loc[138005, "phase_group"] == "alternative_provision"
    assert t.loc[138009, "phase_group"] == "nursery"
    assert t.loc[138010, "phase_group"] == "secondary"  # middle deemed secondary
    assert (t["state_funded"] == "Y").all()
    assert pd.isna(t.loc[138006, "ofsted_grade_2024"])
    assert t.loc[138006, "ofsted_rating_2024"] == "Excellent"
    # blank or bad easting -> whole location cleared
    for urn in (138003, 138008):
        assert t.loc[urn, ["easting", "northing", "lat", "lon"]].isna().all()
        assert pd.isna(t.loc[urn, "coord_source"])
    assert pd.isna(t.loc[138008, "pupils_2024"])


def test_gias_filters_can_be_turned_off() -> None:
    every = load_gias(GIAS, statuses=None, england_only=False)
    assert {100050, 401234} <= set(every.table["urn"])
    assert every.notes == ()


def test_gias_uses_supplied_idaci_table() -> None:
    iod = load_iod(IOD7).table
    report = load_gias(GIAS, idaci=iod)
    t = report.table.set_index("urn")
    assert t.loc[138001, "idaci_decile_2019"] == 7  # the fixture's value for E01025600
    assert pd.isna(t.loc[100000, "idaci_rank_2019"])  # E01032739 is not in the fixture
    assert any("not 2011 LSOAs" in n for n in report.notes)
    no_join = load_gias(GIAS, attach_idaci=False).table
    assert no_join["idaci_rank_2019"].isna().all()


def test_gias_missing_required_columns() -> None:
    with pytest.raises(InputError) as err:
        load_gias(GIAS_MISSING)
    (problem,) = err.value.problems
    assert problem.file == str(GIAS_MISSING)
    assert problem.row == 1
    text = str(err.value)
    assert "'Easting'" in text and "'Northing'" in text
    assert "columns found" in text and "'URN'" in text and "'EstablishmentName'" in text


def test_gias_wrong_forced_encoding_is_an_input_error() -> None:
    with pytest.raises(InputError) as err:
        load_gias(GIAS, encoding="utf-8")
    assert "cannot be decoded" in str(err.value)
    assert err.value.problems[0].row == 3  # the line holding "St Mary’s"


def test_gias_accepts_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "edubasealldata_utf8.csv"
    path.write_bytes(GIAS.read_bytes().decode("cp1252").encode("utf-8-sig"))
    report = load_gias(path)
    assert report.encoding == "utf-8-sig"
    assert "St Mary\u2019s Catholic Primary School" in set(report.table["name"])
    assert len(report.table) == 10


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the file"):
        load_gias(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        load_gias(empty)


def test_ragged_row_is_an_input_error_with_its_row(tmp_path: Path) -> None:
    lines = IOD3.read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join([lines[0], lines[1], lines[2] + ",extra,fields"]), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_iod(path)
    assert err.value.problems[0].row == 3
    assert "fields but the header has 8" in str(err.value)


def test_report_problems_and_raise(gias: LoadReport) -> None:
    problems = gias.problems()
    assert len(problems) == len(gias.rejected)
    first = str(problems[0])
    assert "row 5" in first and "column 'URN'" in first and "'13800X'" in first
    assert "expected URN" in first
    with pytest.raises(InputError) as err:
        gias.raise_if_rejected(include_missing_values=False)
    assert len(err.value.problems) == 3
    assert "3 rows dropped" in gias.summary()


# =========================================================================== Ofsted


@pytest.fixture(scope="module")
def ofsted() -> LoadReport:
    return load_ofsted_mi(OFSTED)


def test_ofsted_reads_bom_and_columns(ofsted: LoadReport) -> None:
    assert OFSTED.read_bytes().startswith(b"\xef\xbb\xbf")
    assert ofsted.encoding == "utf-8-sig"
    assert ofsted.layout == "ofsted_mi_latest"
    t = ofsted.table
    assert list(t.columns)[:1] == ["urn"]
    for col in ("ofsted_grade", "leadership_grade", "quality_grade", "behaviour_grade",
                "personal_grade", "idaci_quintile"):  # fmt: skip
        assert t[col].dtype == "Int64", col
    assert t["inspection_date"].dtype == "datetime64[ns]"
    assert t["urn"].dtype == "int64"


def test_ofsted_grades(ofsted: LoadReport) -> None:
    t = ofsted.table.set_index("urn")
    assert sorted(t.index) == [100000, 138001, 138002, 138004, 138006, 138008, 138009]
    assert t.loc[100000, ["ofsted_grade", "leadership_grade"]].tolist() == [1, 1]
    assert t.loc[100000, "inspection_date"] == pd.Timestamp("2023-03-15")
    assert t.loc[100000, "idaci_quintile"] == 3
    # from September 2024 the overall grade is "Not judged"
    assert pd.isna(t.loc[138001, "ofsted_grade"])
    assert t.loc[138001, "quality_grade"] == 2
    assert t.loc[138002, "ofsted_grade"] == 4
    assert t.loc[138002, "category_of_concern"] == "Special Measures"
    # 9 = not applicable, NULL overall -> unknown, not rejected
    assert t.loc[138004, ["ofsted_grade", "quality_grade", "leadership_grade"]].isna().all()
    # words
    assert t.loc[138009, "ofsted_grade"] == 1
    assert t.loc[138009, "leadership_grade"] == 3
    assert t.loc[138009, "inspection_date"] == pd.Timestamp("2021-11-09")
    # unknown grade code 7 -> missing
    assert pd.isna(t.loc[138006, "quality_grade"])
    assert t.loc[138006, "ofsted_grade"] == 2


def test_ofsted_rejected(ofsted: LoadReport) -> None:
    assert rejected_set(ofsted) == {
        (6, "Quality of education", "7", "value set to missing"),
        (7, "URN", "URN138099", "row dropped"),
        (8, "URN", "100000", "row dropped"),
        (9, "Inspection start date", "31/02/2023", "value set to missing"),
        (
            9,
            "The income deprivation affecting children index (IDACI) quintile",
            "6",
            "value set to missing",
        ),
    }
    t = ofsted.table.set_index("urn")
    assert pd.isna(t.loc[138008, "inspection_date"])
    assert pd.isna(t.loc[138008, "idaci_quintile"])
    assert t.loc[100000, "name"] == "The Aldgate School"  # first row of the URN kept


def test_ofsted_title_row_shifts_row_numbers(tmp_path: Path) -> None:
    report = load_ofsted_mi(OFSTED_TITLE)
    assert report.table["urn"].tolist() == [100000, 138001, 138002]
    # Introduce an error on the first data row: header is row 2, so it is row 3.
    text = OFSTED_TITLE.read_text(encoding="utf-8-sig").replace(",100000,", ",10000O,", 1)
    path = tmp_path / "title.csv"
    path.write_text(text, encoding="utf-8")
    bad = load_ofsted_mi(path)
    assert bad.rejected["row"].tolist() == [3]


def test_ofsted_missing_required_column() -> None:
    with pytest.raises(InputError) as err:
        load_ofsted_mi(OFSTED_MISSING)
    text = str(err.value)
    assert "'Inspection start date'" in text
    assert "columns found" in text and "'Overall effectiveness'" in text


def test_ofsted_report_card_layout() -> None:
    report = load_ofsted_mi(OFSTED_CARDS)
    assert report.layout == "ofsted_mi_latest_report_cards"
    t = report.table.set_index("urn")
    assert t.loc[100000, "ofsted_grade"] == 1
    assert t.loc[100000, "inspection_date"] == pd.Timestamp("2023-03-15")
    assert pd.isna(t.loc[138001, "ofsted_grade"])
    assert t.loc[138001, "leadership_grade"] == 2
    assert report.rejected.empty


# =========================================================================== IoD


def test_iod_file7() -> None:
    report = load_iod(IOD7)
    assert report.layout == "iod_file7"
    t = report.table.set_index("lsoa11_code")
    assert len(t) == 6
    assert t.loc["E01000001", "idaci_score"] == pytest.approx(0.006)
    assert t.loc["E01000001", "idaci_rank"] == 32806
    assert t.loc["E01000001", "idaci_decile"] == 10
    assert t.loc["E01000005", "imd_rank"] == 8678
    assert t.loc["E01000005", "imd_decile"] == 3
    assert t["idaci_score"].dtype == "float64"
    assert t["idaci_rank"].dtype == "Int64"
    assert pd.isna(t.loc["E01000006", "idaci_score"])  # 1.7 is not a rate
    assert pd.isna(t.loc["E01000006", "imd_decile"])  # 11 is not a decile
    rej = report.rejected
    assert rej.loc[rej["action"] == "row dropped", "row"].tolist() == [7, 8, 9]
    assert set(rej.loc[rej["action"] == "value set to missing", "row"]) == {10}
    assert rej.loc[rej["row"] == 8, "reason"].item().startswith("duplicate LSOA code")


def test_iod_file7_matches_bundled_ranks() -> None:
    bundled = data.load_idaci().set_index("lsoa11_code")
    t = load_iod(IOD7).table.set_index("lsoa11_code")
    for code in ("E01000001", "E01000002", "E01000005"):
        assert t.loc[code, "idaci_rank"] == bundled.loc[code, "idaci_rank"]
        assert t.loc[code, "imd_rank"] == bundled.loc[code, "imd_rank"]


def test_iod_file3_has_no_score() -> None:
    report = load_iod(IOD3)
    assert report.layout == "iod_file3"
    assert report.encoding == "utf-8-sig"
    t = report.table
    assert len(t) == 5
    assert t["idaci_score"].isna().all()
    assert t["imd_rank"].isna().all()
    assert t["idaci_decile"].tolist() == [10, 10, 3, 7, 1]
    assert any("Score (rate)" in n for n in report.notes)


def test_iod_2021_lsoas(tmp_path: Path) -> None:
    text = IOD3.read_text(encoding="utf-8-sig").replace("(2011)", "(2021)")
    path = tmp_path / "iod2025_file3.csv"
    path.write_text(text, encoding="utf-8")
    t = load_iod(path).table
    assert "lsoa21_code" in t.columns and "lsoa11_code" not in t.columns


def test_iod_missing_required_columns(tmp_path: Path) -> None:
    lines = IOD3.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].replace("IDACI) Rank", "IDACI) Rnk")
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header, *lines[1:]]), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_iod(path)
    text = str(err.value)
    assert "Income Deprivation Affecting Children Index (IDACI) Rank" in text
    assert "did you mean" in text
