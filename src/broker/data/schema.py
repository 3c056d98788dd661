"""Column schema shared by the bundled school register and the GIAS loader.

:func:`broker.data.load_schools` and :func:`broker.data.official.load_gias`
return frames with the same columns (in the order of :data:`SCHOOL_COLUMNS`)
and the same dtypes (:data:`SCHOOL_DTYPES`), so the rest of the engine can take
either. The GIAS loader appends :data:`GIAS_EXTRA_COLUMNS` after them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: Columns of the school table, in order.
SCHOOL_COLUMNS: tuple[str, ...] = (
    "urn", "name", "la_code", "la_name", "la_ons_code", "region",
    "lad_code", "lad_name", "lad_method",
    "status", "phase", "phase_group", "type_code", "type", "type_source", "state_funded",
    "gender", "pupils_2024", "pupils_pp_2019", "fsm_pct_gias_2024", "fsm_pct_spc_2023",
    "sen_ehc_pct_2024", "ofsted_rating_2024", "ofsted_grade_2024", "ofsted_rating_2019",
    "ofsted_inspection_date_2019", "lat", "lon", "easting", "northing", "coord_source",
    "coord_urn", "coord_dist_outside_la_km", "lsoa11_code", "lsoa11_method",
    "idaci_rank_2019", "idaci_decile_2019", "imd_decile_2019",
)  # fmt: skip

#: Extra columns that only the GIAS loader fills (appended after SCHOOL_COLUMNS).
GIAS_EXTRA_COLUMNS: tuple[str, ...] = (
    "statutory_low_age", "statutory_high_age", "postcode", "ofsted_last_inspection_date",
    "trust_code", "trust_name", "open_date",
)  # fmt: skip

_STR = "str"
_INT = "int64"
_NINT = "Int64"
_FLOAT = "float64"
_DATE = "datetime64[ns]"

#: dtype of every school column (text columns use pandas' ``str`` dtype, missing = NaN).
SCHOOL_DTYPES: Mapping[str, str] = {
    "urn": _INT,
    "name": _STR,
    "la_code": _STR,
    "la_name": _STR,
    "la_ons_code": _STR,
    "region": _STR,
    "lad_code": _STR,
    "lad_name": _STR,
    "lad_method": _STR,
    "status": _STR,
    "phase": _STR,
    "phase_group": _STR,
    "type_code": _NINT,
    "type": _STR,
    "type_source": _STR,
    "state_funded": _STR,
    "gender": _STR,
    "pupils_2024": _NINT,
    "pupils_pp_2019": _NINT,
    "fsm_pct_gias_2024": _FLOAT,
    "fsm_pct_spc_2023": _FLOAT,
    "sen_ehc_pct_2024": _FLOAT,
    "ofsted_rating_2024": _STR,
    "ofsted_grade_2024": _NINT,
    "ofsted_rating_2019": _STR,
    "ofsted_inspection_date_2019": _DATE,
    "lat": _FLOAT,
    "lon": _FLOAT,
    "easting": _FLOAT,
    "northing": _FLOAT,
    "coord_source": _STR,
    "coord_urn": _NINT,
    "coord_dist_outside_la_km": _FLOAT,
    "lsoa11_code": _STR,
    "lsoa11_method": _STR,
    "idaci_rank_2019": _NINT,
    "idaci_decile_2019": _NINT,
    "imd_decile_2019": _NINT,
    # GIAS-only extras
    "statutory_low_age": _NINT,
    "statutory_high_age": _NINT,
    "postcode": _STR,
    "ofsted_last_inspection_date": _DATE,
    "trust_code": _STR,
    "trust_name": _STR,
    "open_date": _DATE,
}

#: GIAS type codes that are special schools (phase_group ``special``).
SPECIAL_TYPE_CODES: frozenset[int] = frozenset({7, 12, 33, 36, 44})
#: GIAS type codes that are alternative provision (phase_group ``alternative_provision``).
AP_TYPE_CODES: frozenset[int] = frozenset({14, 38, 42, 43})

#: GIAS ``PhaseOfEducation (name)`` -> phase_group.
PHASE_GROUP_BY_PHASE: Mapping[str, str] = {
    "primary": "primary",
    "middle deemed primary": "primary",
    "secondary": "secondary",
    "middle deemed secondary": "secondary",
    "all-through": "all_through",
    "nursery": "nursery",
    "16 plus": "post16",
}

#: Allowed phase_group values.
PHASE_GROUPS: tuple[str, ...] = (
    "primary", "secondary", "all_through", "special", "alternative_provision",
    "nursery", "post16", "unknown",
)  # fmt: skip

#: Ofsted overall-effectiveness words (lower case) -> grade 1-4.
OFSTED_GRADE_BY_WORD: Mapping[str, int] = {
    "outstanding": 1,
    "good": 2,
    "requires improvement": 3,
    "satisfactory": 3,
    "inadequate": 4,
    "serious weaknesses": 4,
    "special measures": 4,
}


def phase_group(type_code: int | None, type_name: str | None, phase: str | None) -> str:
    """Engine-friendly phase group of one establishment.

    The type decides first: type codes 7, 12, 33, 36, 44 (or a type name
    containing "special") give ``special``; codes 14, 38, 42, 43 (or a name
    mentioning "pupil referral" or "alternative provision") give
    ``alternative_provision``. Otherwise the GIAS phase decides: ``primary``
    (incl. middle deemed primary), ``secondary`` (incl. middle deemed
    secondary), ``all_through``, ``nursery``, ``post16`` (16 plus), else
    ``unknown``.

    Parameters
    ----------
    type_code
        GIAS ``TypeOfEstablishment (code)``, or ``None``.
    type_name
        GIAS ``TypeOfEstablishment (name)``, or ``None``.
    phase
        GIAS ``PhaseOfEducation (name)``, or ``None``.

    Returns
    -------
    str
        One of :data:`PHASE_GROUPS`.
    """
    name = (type_name or "").lower()
    if type_code in SPECIAL_TYPE_CODES or "special" in name:
        return "special"
    if type_code in AP_TYPE_CODES or "pupil referral" in name or "alternative provision" in name:
        return "alternative_provision"
    return PHASE_GROUP_BY_PHASE.get((phase or "").strip().lower(), "unknown")


def coerce_school_dtypes(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Return ``frame[columns]`` cast to :data:`SCHOOL_DTYPES`.

    Text columns become pandas ``str`` with empty strings turned into missing
    values; numeric columns must already hold numbers or missing values.
    """
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        dtype = SCHOOL_DTYPES[col]
        values = frame[col] if col in frame.columns else pd.Series(np.nan, index=frame.index)
        if dtype == _STR:
            text = values.astype("str")
            out[col] = text.mask(text.str.strip().eq(""))
        elif dtype == _DATE:
            out[col] = pd.to_datetime(values, errors="raise").astype(_DATE)
        elif dtype == _INT:
            out[col] = pd.to_numeric(values, errors="raise").astype(_INT)
        elif dtype == _NINT:
            out[col] = pd.to_numeric(values, errors="raise").astype(_NINT)
        else:
            out[col] = pd.to_numeric(values, errors="raise").astype(_FLOAT)
    return out
