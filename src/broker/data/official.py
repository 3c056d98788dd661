"""Loaders for the official files users download, so they can refresh the data.

Three publications are supported:

* :func:`load_gias`: DfE *Get Information About Schools* full extract
  ``edubasealldataYYYYMMDD.csv`` (cp1252, about 140 columns), mapped onto the
  same columns and dtypes as :func:`broker.data.load_schools`;
* :func:`load_ofsted_mi`: Ofsted *State-funded schools inspections and
  outcomes: management information*, "latest inspections" CSV;
* :func:`load_iod`: English Indices of Deprivation by LSOA, File 7 ("all ranks,
  scores, deciles and population denominators") or File 3 (IDACI supplementary
  indices, saved as CSV; ranks and deciles only).

Each loader maps the publisher's column names explicitly, checks that the
required columns exist (raising :class:`broker.errors.InputError` that lists the
missing columns and the columns found) and returns a :class:`LoadReport`. Rows
that cannot be used are dropped and values that cannot be read are set to
missing, and every such case is listed in ``LoadReport.rejected`` with the
file, spreadsheet row (header = row 1), column, value, reason and action:
nothing is dropped silently. Rows a loader leaves out on purpose (closed
schools, Welsh establishments) are counted in ``LoadReport.notes``.

Encodings: UTF-8 with or without a byte-order mark is detected; otherwise the
GIAS loader decodes cp1252 (what GIAS publishes) and the others cp1252 too, as
Excel on Windows writes it. Pass ``encoding=`` to force one.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from broker.data._csvio import (
    ROW_DROPPED,
    VALUE_MISSING,
    Work,
    read_csv_text,
    resolve_columns,
)
from broker.data.schema import (
    GIAS_EXTRA_COLUMNS,
    OFSTED_GRADE_BY_WORD,
    SCHOOL_COLUMNS,
    coerce_school_dtypes,
    phase_group,
)
from broker.errors import InputError, Problem

__all__ = [
    "GIAS_COLUMNS",
    "GIAS_OPEN_STATUSES",
    "IOD_COLUMNS",
    "LoadReport",
    "OFSTED_COLUMNS",
    "load_gias",
    "load_iod",
    "load_ofsted_mi",
]


@dataclass(frozen=True, eq=False)
class LoadReport:
    """What a loader made of one official file.

    Attributes
    ----------
    table
        The usable rows, with this package's column names and dtypes.
    rejected
        One row per problem, columns ``file``, ``row`` (1-based spreadsheet row;
        the header is row 1 unless the file starts with title lines), ``column``
        (the publisher's column name, or NA for a whole-row problem), ``value``
        (as read), ``reason`` (what was expected) and ``action`` (``"row dropped"``
        or ``"value set to missing"``).
    source
        Path of the file read.
    layout
        Which layout was recognised, e.g. ``"gias_edubasealldata"``,
        ``"ofsted_mi_latest"``, ``"iod_file7"``, ``"iod_file3"``.
    encoding
        Encoding used to decode the file.
    notes
        Plain-language notes: rows left out on purpose, optional columns absent.
    """

    table: pd.DataFrame
    rejected: pd.DataFrame
    source: str
    layout: str
    encoding: str
    notes: tuple[str, ...] = ()

    @property
    def rows_dropped(self) -> int:
        """Number of input rows dropped because they could not be used."""
        dropped = self.rejected[self.rejected["action"] == ROW_DROPPED]
        return int(dropped["row"].nunique())

    def problems(self) -> list[Problem]:
        """The rejected entries as :class:`broker.errors.Problem` records."""
        out = []
        for r in self.rejected.itertuples(index=False):
            column = None if pd.isna(r.column) else str(r.column)
            out.append(
                Problem(str(r.file), f"{r.reason} ({r.action})", int(r.row), column, r.value)
            )
        return out

    def raise_if_rejected(self, *, include_missing_values: bool = True) -> None:
        """Raise :class:`broker.errors.InputError` if anything was rejected.

        Parameters
        ----------
        include_missing_values
            When false, only dropped rows count; values set to missing are
            tolerated.
        """
        rej = self.rejected
        if not include_missing_values:
            rej = rej[rej["action"] == ROW_DROPPED]
        if len(rej):
            keep = set(rej.index)
            problems = [p for i, p in enumerate(self.problems()) if i in keep]
            raise InputError(problems)

    def summary(self) -> str:
        """One paragraph describing the load, for logs and the CLI."""
        n_missing = int((self.rejected["action"] == VALUE_MISSING).sum())
        text = (
            f"{self.source}: {self.layout} ({self.encoding}); {len(self.table):,} rows loaded, "
            f"{self.rows_dropped:,} rows dropped, {n_missing:,} values set to missing."
        )
        if self.notes:
            text += " " + " ".join(self.notes)
        return text


def _report(
    work: Work, table: pd.DataFrame, layout: str, encoding: str, notes: list[str]
) -> LoadReport:
    return LoadReport(
        table=table.reset_index(drop=True),
        rejected=work.rejects.frame(),
        source=work.file,
        layout=layout,
        encoding=encoding,
        notes=tuple(notes),
    )


def _drop_bad_and_duplicate_ids(work: Work, target: str, what: str) -> pd.Series:
    """Drop rows whose ``target`` is not a positive whole number, or repeats; return ints."""
    text = work.text(target)
    ok = text.str.fullmatch(r"\d+").fillna(False).astype(bool) & (text.str.lstrip("0") != "")
    work.drop(~ok, target, f"expected {what} (a positive whole number)")
    return _drop_duplicates(work, target, work.text(target).astype("int64"), what)


def _drop_duplicates(work: Work, target: str, key: pd.Series, what: str) -> pd.Series:
    first_row = pd.Series(work.rownum.to_numpy(), index=key.to_numpy())
    first_row = first_row[~first_row.index.duplicated()]
    dup = key.duplicated(keep="first")
    if dup.any():
        reasons = key[dup].map(lambda k: f"duplicate {what}; first given on row {first_row[k]}")
        work.drop(dup, target, reasons.reindex(key.index))
    return key[~dup]


# =========================================================================== GIAS

#: GIAS extract column for each field this loader reads (aliases in order).
GIAS_COLUMNS: dict[str, tuple[str, ...]] = {
    "urn": ("URN",),
    "name": ("EstablishmentName",),
    "la_code": ("LA (code)",),
    "la_name": ("LA (name)",),
    "type_code": ("TypeOfEstablishment (code)",),
    "type": ("TypeOfEstablishment (name)",),
    "status": ("EstablishmentStatus (name)",),
    "phase": ("PhaseOfEducation (name)",),
    "easting": ("Easting",),
    "northing": ("Northing",),
    # optional
    "statutory_low_age": ("StatutoryLowAge",),
    "statutory_high_age": ("StatutoryHighAge",),
    "gender": ("Gender (name)",),
    "pupils": ("NumberOfPupils",),
    "fsm_pct": ("PercentageFSM",),
    "sen_stat": ("SENStat",),
    "ofsted_rating": ("OfstedRating (name)",),
    "ofsted_last_insp": ("OfstedLastInsp",),
    "open_date": ("OpenDate",),
    "trust_code": ("Trusts (code)",),
    "trust_name": ("Trusts (name)",),
    "postcode": ("Postcode",),
    "region": ("GOR (name)",),
    "lad_code": ("DistrictAdministrative (code)",),
    "lad_name": ("DistrictAdministrative (name)",),
    "la_ons_code": ("GSSLACode (name)",),
    "lsoa_code": ("LSOA (code)",),
    "country": ("Country (name)",),
}
_GIAS_REQUIRED = (
    "urn", "name", "la_code", "la_name", "type_code", "type", "status", "phase",
    "easting", "northing",
)  # fmt: skip

#: Establishment statuses kept by default: the establishment is open.
GIAS_OPEN_STATUSES: tuple[str, ...] = ("Open", "Open, but proposed to close")

#: GIAS type codes outside England: offshore, Welsh, British schools overseas.
_NON_ENGLAND_TYPE_CODES = frozenset({25, 30, 37})
_NON_ENGLAND_REGIONS = frozenset({"wales (pseudo)", "not applicable"})
_GIAS_NOT_A_GRADE = frozenset({"", "not applicable", "insufficient evidence", "null", "no data"})

# British National Grid box that holds all of Great Britain.
_E_RANGE = (1.0, 700_000.0)
_N_RANGE = (1.0, 1_300_000.0)


def load_gias(
    path: str | os.PathLike[str],
    *,
    statuses: Collection[str] | None = GIAS_OPEN_STATUSES,
    england_only: bool = True,
    attach_idaci: bool = True,
    idaci: pd.DataFrame | None = None,
    encoding: str | None = None,
) -> LoadReport:
    """Load a GIAS ``edubasealldataYYYYMMDD.csv`` extract as a school register.

    Parameters
    ----------
    path
        The extract as downloaded from Get Information About Schools (cp1252).
    statuses
        ``EstablishmentStatus (name)`` values to keep; the default keeps open
        establishments ("Open" and "Open, but proposed to close"). Add
        ``"Proposed to open"`` to match the bundled register, or pass ``None``
        to keep every status (closed included).
    england_only
        Leave out Welsh, offshore and overseas establishments (``GOR (name)`` of
        "Wales (pseudo)" or "Not Applicable", or type codes 25, 30, 37).
    attach_idaci
        Fill ``idaci_rank_2019``, ``idaci_decile_2019`` and ``imd_decile_2019`` by
        joining the extract's ``LSOA (code)`` to ``idaci`` (by default the bundled
        :func:`broker.data.load_idaci`). GIAS LSOA codes that are not 2011 LSOAs
        stay blank.
    idaci
        A table with ``lsoa11_code``, ``idaci_rank``, ``idaci_decile`` and
        ``imd_decile`` (e.g. ``load_iod(...).table``), used instead of the bundle.
    encoding
        Force an encoding; by default UTF-8 (with or without BOM) is detected and
        anything else is read as cp1252.

    Returns
    -------
    LoadReport
        ``table`` has the columns of :data:`broker.data.schema.SCHOOL_COLUMNS`
        with the dtypes of :func:`broker.data.load_schools`, followed by
        :data:`broker.data.schema.GIAS_EXTRA_COLUMNS` (``statutory_low_age``,
        ``statutory_high_age``, ``postcode``, ``ofsted_last_inspection_date``,
        ``trust_code``, ``trust_name``, ``open_date``). Column names ending in a
        year keep the bundle's names so the engine can take either table, but hold
        the extract's values: ``pupils_2024`` is ``NumberOfPupils``,
        ``fsm_pct_gias_2024`` and ``fsm_pct_spc_2023`` are both ``PercentageFSM``
        (GIAS copies it from the latest school census), ``sen_ehc_pct_2024`` is
        ``SENStat / NumberOfPupils``, ``ofsted_rating_2024`` is ``OfstedRating
        (name)`` and ``ofsted_grade_2024`` its grade (Serious Weaknesses and
        Special Measures are 4). ``ofsted_rating_2019``,
        ``ofsted_inspection_date_2019``, ``pupils_pp_2019`` and
        ``coord_dist_outside_la_km`` are empty. ``phase_group`` follows
        :func:`broker.data.schema.phase_group`; ``state_funded`` comes from the
        bundled type-code list (``unknown`` for codes it lacks); ``lad_code`` and
        ``lad_name`` are GIAS's ``DistrictAdministrative``.

    Raises
    ------
    InputError
        If the file cannot be read or decoded, or lacks a required column (URN,
        EstablishmentName, LA (code), LA (name), TypeOfEstablishment (code),
        TypeOfEstablishment (name), EstablishmentStatus (name), PhaseOfEducation
        (name), Easting, Northing).

    Notes
    -----
    Rows are dropped (and listed in ``rejected``) for a URN that is not a
    positive whole number, a repeated URN (the first row is kept) or an LA code
    that is not 1-3 digits. Values set to missing (and listed) include blank,
    non-numeric or out-of-range Easting/Northing (both are cleared, so the school
    has no location), non-numeric pupils/ages/type code/FSM, an unknown Ofsted
    rating word and unreadable dates. ``"SUPP"`` (suppressed) FSM values are
    missing without comment.
    """
    raw = read_csv_text(path, key_column="URN", fallback_encoding="cp1252", encoding=encoding)
    cols = resolve_columns(raw, GIAS_COLUMNS, _GIAS_REQUIRED, "GIAS edubasealldata")
    work = Work(raw, cols)
    notes: list[str] = []
    absent = [GIAS_COLUMNS[k][0] for k, v in cols.items() if v is None]
    if absent:
        notes.append("Optional columns absent (left blank): " + ", ".join(absent) + ".")

    # -- filters (deliberate, counted in notes)
    if statuses is not None:
        wanted = {s.casefold() for s in statuses}
        n = work.keep(work.text("status").str.casefold().isin(wanted))
        if n:
            notes.append(
                f"{n:,} row(s) with EstablishmentStatus (name) not in {sorted(statuses)} left out."
            )
    if england_only:
        region = work.text("region").str.casefold()
        tcode = pd.to_numeric(work.text("type_code"), errors="coerce")
        outside = region.isin(_NON_ENGLAND_REGIONS) | tcode.isin(_NON_ENGLAND_TYPE_CODES)
        n = work.keep(~outside)
        if n:
            notes.append(f"{n:,} Welsh, offshore or overseas establishment(s) left out.")

    # -- row-level checks
    urn = _drop_bad_and_duplicate_ids(work, "urn", "URN")
    la_text = work.text("la_code")
    la_ok = la_text.str.fullmatch(r"\d{1,3}").fillna(False).astype(bool)
    work.drop(~la_ok, "la_code", "expected a DfE LA code of 1-3 digits, e.g. 855")
    urn = urn.loc[work.frame.index]
    idx = work.frame.index

    # -- values
    t = pd.DataFrame(index=idx)
    t["urn"] = urn
    t["name"] = work.text("name")
    t["la_code"] = work.text("la_code").str.zfill(3)
    t["la_name"] = work.text("la_name")
    t["region"] = work.text("region")
    t["status"] = work.text("status")
    t["phase"] = work.text("phase")
    t["type"] = work.text("type")
    t["type_code"] = work.integer("type_code", lo=0, expected="a GIAS type code (whole number)")
    t["phase_group"] = [
        phase_group(None if pd.isna(c) else int(c), n, p)
        for c, n, p in zip(t["type_code"], t["type"], t["phase"], strict=True)
    ]
    t["type_source"] = "gias"
    t["state_funded"] = _state_funded(t["type_code"])
    t["gender"] = work.text("gender")
    t["pupils_2024"] = work.integer("pupils", lo=0, expected="a number of pupils (whole number)")
    fsm = work.number(
        "fsm_pct", lo=0, hi=100, missing_tokens=("SUPP", "x", "z", "c"),
        expected="a percentage between 0 and 100",
    )  # fmt: skip
    t["fsm_pct_gias_2024"] = fsm
    t["fsm_pct_spc_2023"] = fsm
    sen = work.integer("sen_stat", lo=0, expected="a number of pupils with an EHC plan")
    pupils = t["pupils_2024"].astype("float64")
    t["sen_ehc_pct_2024"] = (sen.astype("float64") / pupils.where(pupils > 0) * 100).round(1)
    rating = work.text("ofsted_rating")
    grade = rating.str.casefold().map(OFSTED_GRADE_BY_WORD)
    unknown = grade.isna() & ~rating.str.casefold().isin(_GIAS_NOT_A_GRADE)
    work.blanked(
        unknown,
        "ofsted_rating",
        "expected an Ofsted rating (Outstanding, Good, Requires improvement, Inadequate, "
        "Serious Weaknesses, Special Measures); grade left blank",
    )
    t["ofsted_rating_2024"] = rating
    t["ofsted_grade_2024"] = grade.astype("Int64")

    east, north = _coordinates(work)
    t["easting"] = east
    t["northing"] = north
    has_xy = east.notna()
    lon, lat = _bng_to_wgs84(east[has_xy].to_numpy(), north[has_xy].to_numpy())
    t["lat"] = pd.Series(np.round(lat, 6), index=east[has_xy].index).reindex(idx)
    t["lon"] = pd.Series(np.round(lon, 6), index=east[has_xy].index).reindex(idx)
    t["coord_source"] = np.where(has_xy, "gias", "")
    t["coord_urn"] = t["urn"].where(has_xy).astype("Int64")

    authorities = _bundled_authorities()
    ons_by_la = dict(zip(authorities["la_code"], authorities["la_ons_code"], strict=True))
    gss = work.text("la_ons_code")
    t["la_ons_code"] = gss.where(gss != "", t["la_code"].map(ons_by_la).fillna(""))
    t["lad_code"] = work.text("lad_code")
    t["lad_name"] = work.text("lad_name")
    t["lad_method"] = np.where(t["lad_code"] != "", "GIAS DistrictAdministrative", "")
    lsoa = work.text("lsoa_code")
    t["lsoa11_code"] = lsoa
    t["lsoa11_method"] = np.where(lsoa != "", "GIAS LSOA (code)", "")
    if attach_idaci:
        table = idaci if idaci is not None else _bundled_idaci()
        need = {"lsoa11_code", "idaci_rank", "idaci_decile", "imd_decile"}
        if not need <= set(table.columns):
            raise InputError.one(
                "<arguments>",
                f"idaci table lacks columns {sorted(need - set(table.columns))}; "
                "expected lsoa11_code, idaci_rank, idaci_decile, imd_decile",
            )
        lookup = table.drop_duplicates("lsoa11_code").set_index("lsoa11_code")
        t["idaci_rank_2019"] = lsoa.map(lookup["idaci_rank"])
        t["idaci_decile_2019"] = lsoa.map(lookup["idaci_decile"])
        t["imd_decile_2019"] = lsoa.map(lookup["imd_decile"])
        unmatched = int(((lsoa != "") & t["idaci_rank_2019"].isna()).sum())
        if unmatched:
            notes.append(
                f"{unmatched:,} LSOA (code) values are not 2011 LSOAs in the IDACI table; "
                "their IDACI columns are blank."
            )

    t["statutory_low_age"] = work.integer("statutory_low_age", lo=0, hi=99, expected="an age")
    t["statutory_high_age"] = work.integer("statutory_high_age", lo=0, hi=99, expected="an age")
    t["postcode"] = work.text("postcode")
    t["ofsted_last_inspection_date"] = work.date("ofsted_last_insp")
    t["open_date"] = work.date("open_date")
    t["trust_code"] = work.text("trust_code")
    t["trust_name"] = work.text("trust_name")

    table = coerce_school_dtypes(t, SCHOOL_COLUMNS + GIAS_EXTRA_COLUMNS)
    return _report(work, table, "gias_edubasealldata", raw.encoding, notes)


def _coordinates(work: Work) -> tuple[pd.Series, pd.Series]:
    """Easting/Northing as floats; a pair with any bad or blank part is cleared and listed."""
    e_text, n_text = work.text("easting"), work.text("northing")
    e = pd.to_numeric(e_text.where(e_text != ""), errors="coerce")
    n = pd.to_numeric(n_text.where(n_text != ""), errors="coerce")
    e_bad = e.isna() | ~e.between(*_E_RANGE)
    n_bad = n.isna() | ~n.between(*_N_RANGE)
    for target, text, bad, rng in (
        ("easting", e_text, e_bad, _E_RANGE),
        ("northing", n_text, n_bad, _N_RANGE),
    ):
        blank = bad & (text == "")
        work.blanked(
            blank, target, "blank; the school has no location (Easting and Northing both cleared)"
        )
        work.blanked(
            bad & ~blank,
            target,
            f"expected British National Grid metres between {rng[0]:,.0f} and {rng[1]:,.0f}; "
            "Easting and Northing both cleared",
        )
    clear = e_bad | n_bad
    return e.where(~clear).astype("float64"), n.where(~clear).astype("float64")


def _bng_to_wgs84(east: np.ndarray, north: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(east) == 0:
        return np.array([], dtype=float), np.array([], dtype=float)
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(east, north)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _state_funded(type_code: pd.Series) -> pd.Series:
    from broker.data.bundled import load_type_codes

    codes = load_type_codes()
    lookup = dict(zip(codes["type_code"].astype(int), codes["state_funded"], strict=True))
    return type_code.map(lambda c: "unknown" if pd.isna(c) else lookup.get(int(c), "unknown"))


def _bundled_authorities() -> pd.DataFrame:
    from broker.data.bundled import load_authorities

    return load_authorities()


def _bundled_idaci() -> pd.DataFrame:
    from broker.data.bundled import load_idaci

    return load_idaci()


# =========================================================================== Ofsted

#: Ofsted management-information column(s) for each output field, per layout.
OFSTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "urn": ("URN",),
    "name": ("School name",),
    "ofsted_phase": ("Ofsted phase",),
    "type_of_education": ("Type of education",),
    "la_name": ("Local authority",),
    "postcode": ("Postcode",),
    "pupils": ("Total number of pupils",),
    "idaci_quintile": (
        "The income deprivation affecting children index (IDACI) quintile",
        "IDACI quintile",
    ),
    "ofsted_grade": ("Overall effectiveness",),
    "quality_grade": ("Quality of education",),
    "behaviour_grade": ("Behaviour and attitudes",),
    "personal_grade": ("Personal development",),
    "leadership_grade": (
        "Effectiveness of leadership and management",
        "Leadership and management",
    ),
    "category_of_concern": ("Category of concern",),
    "inspection_date": ("Inspection start date",),
    "publication_date": ("Publication date",),
}
# From November 2025 the "latest inspections" file carries report-card judgements;
# the last graded (OEIF) inspection is in columns prefixed "Latest OEIF".
_OFSTED_OEIF_COLUMNS: dict[str, tuple[str, ...]] = {
    **OFSTED_COLUMNS,
    "ofsted_grade": ("Latest OEIF overall effectiveness",),
    "quality_grade": ("Latest OEIF quality of education",),
    "behaviour_grade": ("Latest OEIF behaviour and attitudes",),
    "personal_grade": ("Latest OEIF personal development",),
    "leadership_grade": ("Latest OEIF effectiveness of leadership and management",),
    "inspection_date": ("Inspection start date of latest OEIF graded inspection",),
    "publication_date": ("Publication date of latest OEIF graded inspection",),
    "category_of_concern": ("Most recent category of concern", "Category of concern"),
}
_OFSTED_REQUIRED = ("urn", "ofsted_grade", "inspection_date")
_GRADE_COLUMNS = (
    "ofsted_grade", "quality_grade", "behaviour_grade", "personal_grade", "leadership_grade",
)  # fmt: skip
#: Values that mean "no grade" (9 = not applicable; "Not judged" since September 2024).
_NO_GRADE = ("", "NULL", "9", "Not judged", "Not applicable", "N/A", "NA", "-", ".")
_OFSTED_OUTPUT = (
    "urn", "name", "ofsted_phase", "type_of_education", "la_name", "postcode", "pupils",
    "idaci_quintile", "ofsted_grade", "quality_grade", "behaviour_grade", "personal_grade",
    "leadership_grade", "category_of_concern", "inspection_date", "publication_date",
)  # fmt: skip


def load_ofsted_mi(path: str | os.PathLike[str], *, encoding: str | None = None) -> LoadReport:
    """Load Ofsted's "state-funded schools inspections and outcomes" management information.

    Expects the *latest inspections* CSV (one row per school). The 2019-2025
    layout (``Overall effectiveness``, ``Quality of education``, ...,
    ``Effectiveness of leadership and management``, ``Inspection start date``)
    and the report-card layout from November 2025 (``Latest OEIF overall
    effectiveness``, ..., ``Inspection start date of latest OEIF graded
    inspection``) are both recognised; a title line above the header is skipped.

    Parameters
    ----------
    path
        The CSV as downloaded from GOV.UK.
    encoding
        Force an encoding; by default UTF-8 (with or without BOM), else cp1252.

    Returns
    -------
    LoadReport
        ``table`` columns: ``urn`` (``int64``); ``name``, ``ofsted_phase``,
        ``type_of_education``, ``la_name``, ``postcode``, ``category_of_concern``
        (``str``); ``pupils``, ``idaci_quintile`` (1 = most deprived fifth) and the
        grades ``ofsted_grade`` (overall effectiveness), ``quality_grade``,
        ``behaviour_grade``, ``personal_grade``, ``leadership_grade`` (``Int64``, 1
        Outstanding to 4 Inadequate; NA when not graded); ``inspection_date``,
        ``publication_date`` (``datetime64[ns]``).

    Raises
    ------
    InputError
        If the file cannot be read or lacks ``URN``, the overall-effectiveness
        column or the inspection-date column.

    Notes
    -----
    Since September 2024 Ofsted no longer gives state-funded schools an overall
    effectiveness grade, so ``Overall effectiveness`` may be "Not judged",
    "NULL" or blank; these, and grade 9 (not applicable), become NA without
    being listed as problems. A grade that is none of 1-4, 9 or a grade word is
    set to NA and listed. Rows with a non-numeric or repeated URN are dropped
    and listed (the first row of a URN is kept; this loader expects one row per
    school).
    """
    raw = read_csv_text(path, key_column="URN", fallback_encoding="cp1252", encoding=encoding)
    oeif = any(c.casefold().startswith("latest oeif") for c in raw.frame.columns)
    spec = _OFSTED_OEIF_COLUMNS if oeif else OFSTED_COLUMNS
    layout = "ofsted_mi_latest_report_cards" if oeif else "ofsted_mi_latest"
    cols = resolve_columns(raw, spec, _OFSTED_REQUIRED, "Ofsted management information")
    work = Work(raw, cols)
    notes: list[str] = []
    absent = [spec[k][0] for k, v in cols.items() if v is None]
    if absent:
        notes.append("Optional columns absent (left blank): " + ", ".join(absent) + ".")

    urn = _drop_bad_and_duplicate_ids(work, "urn", "URN")
    idx = work.frame.index
    t = pd.DataFrame(index=idx)
    t["urn"] = urn.loc[idx]
    for target in ("name", "ofsted_phase", "type_of_education", "la_name", "postcode"):
        t[target] = work.text(target)
    t["pupils"] = work.integer(
        "pupils", lo=0, missing_tokens=("NULL",), expected="a number of pupils (whole number)"
    )
    t["idaci_quintile"] = work.integer(
        "idaci_quintile", lo=1, hi=5, missing_tokens=("NULL",),
        expected="an IDACI quintile 1-5 (1 = most deprived)",
    )  # fmt: skip
    for target in _GRADE_COLUMNS:
        t[target] = _grade(work, target)
    concern = work.text("category_of_concern")
    t["category_of_concern"] = concern.where(~concern.str.upper().isin({"NULL"}), "")
    t["inspection_date"] = work.date("inspection_date", missing_tokens=("NULL",))
    t["publication_date"] = work.date("publication_date", missing_tokens=("NULL",))

    table = pd.DataFrame(index=idx)
    for col in _OFSTED_OUTPUT:
        values = t[col]
        if col == "urn":
            table[col] = values.astype("int64")
        elif col in ("inspection_date", "publication_date"):
            table[col] = values.astype("datetime64[ns]")
        elif col in ("pupils", "idaci_quintile", *_GRADE_COLUMNS):
            table[col] = values.astype("Int64")
        else:
            text = values.astype("str")
            table[col] = text.mask(text.eq(""))
    return _report(work, table, layout, raw.encoding, notes)


def _grade(work: Work, target: str) -> pd.Series:
    text = work.text(target)
    folded = text.str.casefold()
    blank = folded.isin({t.casefold() for t in _NO_GRADE})
    digits = text.str.fullmatch(r"[1-4]").fillna(False).astype(bool)
    grade = pd.to_numeric(text.where(digits), errors="coerce")
    grade = grade.fillna(folded.map(OFSTED_GRADE_BY_WORD))
    bad = ~blank & grade.isna()
    work.blanked(
        bad,
        target,
        "expected an Ofsted grade 1-4 (1 Outstanding, 2 Good, 3 Requires improvement, "
        "4 Inadequate), 9 or 'Not judged'",
    )
    return grade.where(~bad).astype("Int64")


# =========================================================================== IoD

#: English Indices of Deprivation columns for each output field. ``{year}`` is
#: the LSOA vintage (2011 for IoD2019, 2021 for IoD2025) or LAD year.
IOD_COLUMNS: dict[str, tuple[str, ...]] = {
    "lsoa_code": ("LSOA code (2011)", "LSOA code (2021)"),
    "lsoa_name": ("LSOA name (2011)", "LSOA name (2021)"),
    "lad_code": (
        "Local Authority District code (2019)",
        "Local Authority District code (2024)",
        "Local Authority District code (2023)",
    ),
    "lad_name": (
        "Local Authority District name (2019)",
        "Local Authority District name (2024)",
        "Local Authority District name (2023)",
    ),
    "imd_score": ("Index of Multiple Deprivation (IMD) Score",),
    "imd_rank": ("Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",),
    "imd_decile": (
        "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
    ),
    "idaci_score": ("Income Deprivation Affecting Children Index (IDACI) Score (rate)",),
    "idaci_rank": (
        "Income Deprivation Affecting Children Index (IDACI) Rank (where 1 is most deprived)",
    ),
    "idaci_decile": (
        "Income Deprivation Affecting Children Index (IDACI) Decile (where 1 is most deprived 10% of LSOAs)",  # noqa: E501
    ),
}
_IOD_REQUIRED = ("lsoa_code", "idaci_rank", "idaci_decile")


def load_iod(path: str | os.PathLike[str], *, encoding: str | None = None) -> LoadReport:
    """Load English Indices of Deprivation by LSOA (File 7, or File 3 saved as CSV).

    Parameters
    ----------
    path
        IoD2019 *File 7: all ranks, scores, deciles and population denominators*
        (CSV as published), or *File 3: supplementary indices - IDACI and IDAOPI*
        saved from Excel as CSV (ranks and deciles only). IoD2025 files, keyed on
        2021 LSOAs, are accepted too.
    encoding
        Force an encoding; by default UTF-8 (with or without BOM), else cp1252.

    Returns
    -------
    LoadReport
        ``layout`` is ``"iod_file7"`` when the IDACI score column is present, else
        ``"iod_file3"``. ``table`` columns: ``lsoa11_code`` (``lsoa21_code`` for a
        2021-LSOA file), ``lsoa_name``, ``lad_code``, ``lad_name`` (``str``);
        ``imd_score``, ``idaci_score`` (``float64``; the IDACI score is the share of
        children in income-deprived families, 0-1; NaN in File 3);
        ``imd_rank``, ``imd_decile``, ``idaci_rank``, ``idaci_decile`` (``Int64``; 1
        = most deprived; the IMD columns are NA when the file lacks them).

    Raises
    ------
    InputError
        If the file cannot be read or lacks the LSOA code, IDACI rank or IDACI
        decile column.

    Notes
    -----
    Rows are dropped (and listed) for an LSOA code that is not ``E01`` followed by
    six digits, a repeated LSOA, or an IDACI rank or decile that is not a whole
    number in range (rank 1 or more, decile 1-10). A bad IMD value or IDACI score
    is set to missing and listed.
    """
    raw = read_csv_text(
        path, key_column="LSOA code (2011)", fallback_encoding="cp1252", encoding=encoding
    )
    if "LSOA code (2011)" not in raw.frame.columns:
        raw = read_csv_text(
            path, key_column="LSOA code (2021)", fallback_encoding="cp1252", encoding=encoding
        )
    cols = resolve_columns(raw, IOD_COLUMNS, _IOD_REQUIRED, "English Indices of Deprivation")
    work = Work(raw, cols)
    layout = "iod_file7" if cols["idaci_score"] else "iod_file3"
    notes: list[str] = []
    absent = [IOD_COLUMNS[k][0] for k, v in cols.items() if v is None]
    if absent:
        notes.append("Optional columns absent (left blank): " + ", ".join(absent) + ".")
    vintage = "21" if str(cols["lsoa_code"]).endswith("(2021)") else "11"
    code_col = f"lsoa{vintage}_code"

    code = work.text("lsoa_code").str.upper()
    ok = code.str.fullmatch(r"E01\d{6}").fillna(False).astype(bool)
    work.drop(~ok, "lsoa_code", "expected an English LSOA code: E01 followed by six digits")
    code = _drop_duplicates(work, "lsoa_code", work.text("lsoa_code").str.upper(), "LSOA code")
    for target, hi, what in (("idaci_rank", None, "rank"), ("idaci_decile", 10, "decile")):
        text = work.text(target).str.replace(",", "", regex=False)
        value = pd.to_numeric(text.where(text.str.fullmatch(r"\d+(\.0+)?")), errors="coerce")
        bad = value.isna() | (value < 1)
        if hi is not None:
            bad |= value > hi
        rng = "1-10" if hi else "1 or more"
        work.drop(bad, target, f"expected an IDACI {what}: a whole number {rng}")

    idx = work.frame.index
    t = pd.DataFrame(index=idx)
    t[code_col] = code.loc[idx]
    t["lsoa_name"] = work.text("lsoa_name")
    t["lad_code"] = work.text("lad_code")
    t["lad_name"] = work.text("lad_name")
    t["imd_score"] = work.number("imd_score", lo=0, expected="an IMD score (0 or more)")
    t["imd_rank"] = work.integer("imd_rank", lo=1, expected="an IMD rank (1 or more)")
    t["imd_decile"] = work.integer("imd_decile", lo=1, hi=10, expected="an IMD decile 1-10")
    t["idaci_score"] = work.number(
        "idaci_score", lo=0, hi=1, expected="an IDACI score: a rate between 0 and 1"
    )
    t["idaci_rank"] = work.integer("idaci_rank", lo=1)
    t["idaci_decile"] = work.integer("idaci_decile", lo=1, hi=10)
    for col in (code_col, "lsoa_name", "lad_code", "lad_name"):
        text = t[col].astype("str")
        t[col] = text.mask(text.eq(""))
    return _report(work, t, layout, raw.encoding, notes)
