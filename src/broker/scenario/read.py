"""Read and validate a scenario folder (format v1).

Every cell is read as text first, so that an error can quote the value exactly as
the user typed it, then parsed column by column. All problems in a file are
collected and reported together (:class:`broker.errors.InputError`); nothing is
written to the scenario folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from broker import limits
from broker.csvtext import PLAIN_NUMBER, parse_text_table, read_text_table
from broker.errors import InputError, ProblemCollector, warn_rows
from broker.limits import Bound
from broker.rules.modes import check_funder, load_modes
from broker.scenario import schema
from broker.scenario.model import Config, Scenario, Weights
from broker.units import decimal_places

TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0", ""}

FORMAT_VERSIONS = (1,)
"""Scenario format versions this broker reads (``format = 1`` in ``scenario.toml``)."""

SCENARIO_FILES = (
    "scenario.toml",
    "supporters.csv",
    "clients.csv",
    "authorities.csv",
    "conflicts.csv",
    "pinned.csv",
)
"""Every file of a scenario folder broker reads (others are ignored)."""


# ---------------------------------------------------------------------------
# CSV reading


def read_table(
    path: Path,
    required: Iterable[str],
    optional: Iterable[str] = (),
    *,
    data: bytes | None = None,
) -> pd.DataFrame:
    """Read a CSV as text cells with checks on its header.

    The one reading path of :mod:`broker.csvtext`: UTF-8 (with or without a
    byte-order mark) or, with a warning, Windows-1252; comma, semicolon or tab
    delimited; formula-neutralising apostrophes removed.

    Parameters
    ----------
    path
        File to read.
    required
        Columns that must be present.
    optional
        Known optional columns (others are kept and passed through unchanged).
    data
        The file's bytes, if already read (``path`` then only names it).

    Returns
    -------
    pandas.DataFrame
        All cells as ``str`` with surrounding whitespace removed; the index is the
        spreadsheet row number (header = row 1). ``attrs["delimiter"]`` holds the
        delimiter found.
    """
    del optional  # known optional columns need no special handling when reading
    required = tuple(required)
    if data is None:
        return read_text_table(path, required=required).frame()
    return parse_text_table(data, str(path), required=required).frame()


# ---------------------------------------------------------------------------
# Cell parsers. Each returns the parsed column and records problems.


def _ids(df: pd.DataFrame, col: str, file: str, errors: ProblemCollector) -> pd.Series:
    values = df[col]
    for row, v in values.items():
        if v == "":
            errors.add(file, "blank id; every row needs a unique id", row=row, column=col)
    dup = values[(values != "") & values.duplicated(keep=False)]
    for v, rows in dup.groupby(dup).groups.items():
        rows = list(rows)
        for row in rows[1:]:
            errors.add(
                file, f"duplicate id (first used on row {rows[0]})", row=row, column=col, value=v
            )
    return values.astype(str)


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?", re.ASCII)
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+", re.ASCII)
_NON_FINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"}


def number_text(v: str, *, thousands: bool = True, delimiter: str = ",") -> float:
    """Parse a number as written in a cell.

    Accepts plain decimals and exponents (``2.5``, ``-3``, ``1e3``) and, when
    ``thousands`` is true and the file is not semicolon-delimited, thousands
    separators (``12,500``, ``7,800.00``). Only ASCII digits; no underscores, no
    decimal comma. The result may be infinite (``1e400``); callers check range.

    Raises
    ------
    ValueError
        With the reason as its message (``not a number ...``).
    """
    semicolon = delimiter == ";"
    if "," in v and not thousands:
        raise ValueError(
            "a comma is not accepted here: it reads as a decimal comma; write the number "
            "with a decimal point (for example 2.5)"
        )
    if "," in v and semicolon:
        raise ValueError(
            "a comma in a number is ambiguous in a semicolon-separated file (it is usually a "
            "decimal comma); write the number with a decimal point and no thousands "
            "separator (for example 2.5 or 2500)"
        )
    if thousands and _THOUSANDS.fullmatch(v):
        return float(v.replace(",", ""))
    if PLAIN_NUMBER.fullmatch(v):
        return float(v)
    if v.lower() in _NON_FINITE:
        raise ValueError("not a finite number")
    if _DECIMAL_COMMA.fullmatch(v):
        raise ValueError(
            "not a number: the comma looks like a decimal comma; write the number with a "
            "decimal point (for example 2.5)"
        )
    raise ValueError("not a number")


def _number(
    df: pd.DataFrame,
    col: str,
    file: str,
    errors: ProblemCollector,
    bound: Bound,
    *,
    required: bool = True,
    blank: str = "",
) -> pd.Series:
    """Parse column ``col`` against ``bound``; problems are recorded, bad cells become NaN.

    ``blank`` completes the expectation of an optional column (``"or blank for the
    default"``). Commas are thousands separators, except in columns whose bound
    refuses them (days: a days value never needs a thousands separator, so a comma
    there is a decimal comma) and in semicolon-delimited files (where a comma is
    usually a decimal comma).
    """
    out = np.full(len(df), np.nan)
    if col not in df.columns:
        return pd.Series(out, index=df.index)
    what = f"{bound.unit}, {bound.expected()}" + (f", {blank}" if blank else "")
    delimiter = df.attrs.get("delimiter", ",")
    implausible: list[tuple[int, object]] = []
    note = ""
    for k, (row, v) in enumerate(df[col].items()):
        if v == "":
            if required:
                errors.add(file, f"blank; expected {what}", row=row, column=col)
            continue
        try:
            x = number_text(v, thousands=bound.thousands, delimiter=delimiter)
        except ValueError as exc:
            errors.add(file, f"{exc}; expected {what}", row=row, column=col, value=v)
            continue
        if bound.decimals is not None and math.isfinite(x):
            places = decimal_places(v.replace(",", ""))
            if places is not None and places > bound.decimals:
                errors.add(
                    file,
                    f"more than {bound.decimals} decimal places; expected {what}",
                    row=row,
                    column=col,
                    value=v,
                )
                continue
        why = bound.problem(x)
        if why is not None:
            errors.add(file, why + (f", {blank}" if blank else ""), row=row, column=col, value=v)
            continue
        warning = bound.implausible(x)
        if warning is not None:
            implausible.append((int(row), v))
            note = warning
        out[k] = x
    if implausible:
        warn_rows(file, col, note, implausible)
    return pd.Series(out, index=df.index)


def _bool(df: pd.DataFrame, col: str, file: str, errors: ProblemCollector) -> pd.Series:
    out = np.zeros(len(df), dtype=bool)
    if col not in df.columns:
        return pd.Series(out, index=df.index)
    for k, (row, v) in enumerate(df[col].items()):
        w = v.lower()
        if w in TRUE_WORDS:
            out[k] = True
        elif w not in FALSE_WORDS:
            errors.add(
                file,
                "expected true or false (or yes/no, 1/0, blank for false)",
                row=row,
                column=col,
                value=v,
            )
    return pd.Series(out, index=df.index)


def _phase_name(v: str) -> str:
    return v.strip().lower().replace("-", "_").replace(" ", "_")


def _phases(
    df: pd.DataFrame, col: str, file: str, errors: ProblemCollector, *, multiple: bool
) -> tuple[pd.Series, pd.Series]:
    names: list[object] = []
    masks = np.zeros(len(df), dtype=np.int64)
    expected = ", ".join(schema.PHASES)
    for k, (row, v) in enumerate(df[col].items()):
        parts = [p for p in (v.split(";") if multiple else [v])]
        canon = [_phase_name(p) for p in parts if p.strip() != ""]
        if not canon:
            errors.add(
                file,
                f"blank; expected {'one or more of' if multiple else 'one of'} "
                f"{expected}" + (" separated by ';'" if multiple else ""),
                row=row,
                column=col,
            )
            names.append(() if multiple else "")
            continue
        bad = [p for p, c in zip(parts, canon, strict=False) if c not in schema.PHASE_BIT]
        if bad:
            hint = " (use ';' to separate phases)" if any("," in b for b in bad) else ""
            errors.add(
                file,
                f"unknown phase; expected {'one or more of' if multiple else 'one of'}"
                f" {expected}{hint}",
                row=row,
                column=col,
                value=v,
            )
            names.append(() if multiple else "")
            continue
        for c in canon:
            masks[k] |= schema.PHASE_BIT[c]
        names.append(tuple(dict.fromkeys(canon)) if multiple else canon[0])
    return pd.Series(names, index=df.index, dtype=object), pd.Series(masks, index=df.index)


def _choice(
    df: pd.DataFrame,
    col: str,
    file: str,
    errors: ProblemCollector,
    allowed: tuple[str, ...],
    default: str | None = None,
) -> pd.Series:
    out: list[str] = []
    if col not in df.columns:
        return pd.Series([default or ""] * len(df), index=df.index, dtype=object)
    for row, v in df[col].items():
        w = v.strip().lower()
        if w == "" and default is not None:
            out.append(default)
        elif w in allowed:
            out.append(w)
        else:
            errors.add(file, f"expected one of {', '.join(allowed)}", row=row, column=col, value=v)
            out.append(default or "")
    return pd.Series(out, index=df.index, dtype=object)


def _words(
    df: pd.DataFrame,
    col: str,
    file: str,
    errors: ProblemCollector,
    allowed: tuple[str, ...],
    what: str,
    default: list[tuple[str, ...]] | None = None,
) -> pd.Series:
    """A ``;``-separated list of names from ``allowed`` per row (case and ``-`` forgiven).

    Blank cells take ``default[row]`` (or an empty tuple).
    """
    out: list[tuple[str, ...]] = []
    present = col in df.columns
    for k, row in enumerate(df.index):
        v = df.at[row, col] if present else ""
        parts = [_phase_name(x) for x in str(v).split(";") if x.strip()]
        if not parts:
            out.append(default[k] if default is not None else ())
            continue
        bad = [x for x in parts if x not in allowed]
        if bad:
            hint = " (use ';' to separate them)" if any("," in b for b in bad) else ""
            errors.add(
                file,
                f"unknown {what} {', '.join(repr(b) for b in bad)}; expected {what}s from "
                f"{', '.join(allowed)} separated by ';'{hint}",
                row=row,
                column=col,
                value=v,
            )
            out.append(default[k] if default is not None else ())
            continue
        out.append(tuple(dict.fromkeys(parts)))
    return pd.Series(out, index=df.index, dtype=object)


def _la_code(df: pd.DataFrame, col: str, file: str, errors: ProblemCollector) -> pd.Series:
    for row, v in df[col].items():
        if not (len(v) == 3 and v.isdigit()):
            errors.add(
                file,
                "expected a DfE 3-digit local authority code such as 855",
                row=row,
                column=col,
                value=v,
            )
    return df[col].astype(str)


EASTING = Bound(
    "easting",
    schema.BNG_EASTING[0],
    schema.BNG_EASTING[1],
    "British National Grid easting in metres within Great Britain",
)
NORTHING = Bound(
    "northing",
    schema.BNG_NORTHING[0],
    schema.BNG_NORTHING[1],
    "British National Grid northing in metres within Great Britain",
)
LATITUDE = Bound(
    "latitude", schema.GB_LATITUDE[0], schema.GB_LATITUDE[1], "degrees within Great Britain"
)
LONGITUDE = Bound(
    "longitude", schema.GB_LONGITUDE[0], schema.GB_LONGITUDE[1], "degrees within Great Britain"
)


def _coordinates(df: pd.DataFrame, file: str, errors: ProblemCollector) -> pd.DataFrame:
    """Parse easting/northing, or latitude/longitude converted to EPSG:27700."""
    has_en = "easting" in df.columns and "northing" in df.columns
    has_ll = "latitude" in df.columns and "longitude" in df.columns
    if not has_en and not has_ll:
        errors.add(
            file,
            "missing coordinate columns; expected easting and northing "
            "(British National Grid, metres) or latitude and longitude (WGS84)",
            row=1,
        )
        return pd.DataFrame({"easting": np.nan, "northing": np.nan}, index=df.index)
    east = pd.Series(np.nan, index=df.index)
    north = pd.Series(np.nan, index=df.index)
    use_ll = pd.Series(False, index=df.index)
    if has_en:
        blank = (df["easting"] == "") & (df["northing"] == "")
        sub = df[~blank] if has_ll else df
        sub_errors = errors
        east.loc[sub.index] = _number(
            sub,
            "easting",
            file,
            sub_errors,
            EASTING,
        ).to_numpy()
        north.loc[sub.index] = _number(
            sub,
            "northing",
            file,
            sub_errors,
            NORTHING,
        ).to_numpy()
        if has_ll:
            use_ll = blank
    else:
        use_ll[:] = True
    if has_ll and use_ll.any():
        sub = df[use_ll]
        lat = _number(
            sub,
            "latitude",
            file,
            errors,
            LATITUDE,
        )
        lon = _number(
            sub,
            "longitude",
            file,
            errors,
            LONGITUDE,
        )
        ok = lat.notna() & lon.notna()
        if ok.any():
            from pyproj import Transformer

            tr = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
            e, n = tr.transform(lon[ok].to_numpy(), lat[ok].to_numpy())
            east.loc[ok[ok].index] = np.round(np.asarray(e), 1)
            north.loc[ok[ok].index] = np.round(np.asarray(n), 1)
    return pd.DataFrame({"easting": east, "northing": north}, index=df.index)


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    if col in df.columns:
        return df[col].astype(str)
    return pd.Series([""] * len(df), index=df.index, dtype=object)


def _assemble(raw: pd.DataFrame, parsed: dict[str, pd.Series]) -> pd.DataFrame:
    """Canonical columns first, then the user's other columns unchanged."""
    out = pd.DataFrame(parsed, index=raw.index)
    extra = [c for c in raw.columns if c not in out.columns]
    for c in extra:
        out[c] = raw[c]
    return out


# ---------------------------------------------------------------------------
# Files


def parse_supporters(
    raw: pd.DataFrame, file: str, errors: ProblemCollector, config: Config | None = None
) -> pd.DataFrame:
    """Validate and type a supporters table read by :func:`read_table`.

    ``config`` gives the number of terms for ``capacity_by_term`` (one term if
    ``None``). Blank ``modes`` take the kind's modes from ``models/modes.toml``.
    """
    phases, masks = _phases(raw, "phase", file, errors, multiple=True)
    coords = _coordinates(raw, file, errors)
    parsed = {
        "supporter_id": _ids(raw, "supporter_id", file, errors),
        "kind": _choice(raw, "kind", file, errors, schema.KINDS),
        "phases": phases,
        "phase_mask": masks,
        "la_code": _la_code(raw, "la_code", file, errors),
        "easting": coords["easting"],
        "northing": coords["northing"],
        "capacity_days": _number(
            raw,
            "capacity_days",
            file,
            errors,
            limits.CAPACITY_DAYS,
        ),
        "day_rate_gbp": _number(
            raw,
            "day_rate_gbp",
            file,
            errors,
            limits.DAY_RATE_GBP,
        ),
        "name": _text(raw, "name"),
        "urn": _text(raw, "urn"),
        "max_distance_km": _number(
            raw,
            "max_distance_km",
            file,
            errors,
            limits.MAX_DISTANCE_KM,
            required=False,
            blank="or blank for the default",
        ),
        "cross_phase": _bool(raw, "cross_phase", file, errors),
        "network": _text(raw, "network"),
    }
    n_terms = config.terms if config is not None else 1
    parsed["capacity_by_term"] = _term_capacities(
        raw, file, errors, n_terms, parsed["capacity_days"]
    )
    cat = load_modes()
    kinds = parsed["kind"]
    parsed["modes"] = _words(
        raw,
        "modes",
        file,
        errors,
        tuple(cat.modes),
        "mode",
        default=[cat.kind_modes(k) for k in kinds],
    )
    for row, kind, modes in zip(raw.index, kinds, parsed["modes"], strict=True):
        wrong = [m for m in modes if kind and kind not in cat.modes[m].kinds]
        if wrong and "modes" in raw.columns and raw.at[row, "modes"].strip():
            who = "; ".join(m + " by " + "/".join(cat.modes[m].kinds) for m in wrong)
            errors.add(
                file,
                f"a supporter of kind {kind!r} may not offer {', '.join(wrong)} "
                f"(models/modes.toml: {who})",
                row=row,
                column="modes",
                value=raw.at[row, "modes"],
            )
    parsed["expertise"] = _words(
        raw, "expertise", file, errors, cat.expertise_tags, "expertise tag"
    )
    return _assemble(raw, parsed)


def _term_capacities(
    raw: pd.DataFrame, file: str, errors: ProblemCollector, n_terms: int, capacity: pd.Series
) -> pd.Series:
    """``capacity_by_term``: days per week in each term (default ``capacity_days`` in all)."""
    out: list[tuple[float, ...]] = []
    present = "capacity_by_term" in raw.columns
    for row, cap in zip(raw.index, capacity, strict=True):
        v = raw.at[row, "capacity_by_term"].strip() if present else ""
        if not v:
            out.append((float(cap),) * n_terms)
            continue
        parts = [x.strip() for x in v.split(";")]
        values: list[float] | None = []
        for x in parts:
            places = decimal_places(x)
            try:
                d = float(x)
            except ValueError:
                d = math.nan
            if not math.isfinite(d) or d < 0 or d > 7 or places is None or places > 2:
                values = None
                break
            assert values is not None
            values.append(d)
        if values is None or len(values) != n_terms:
            errors.add(
                file,
                f"expected {n_terms} capacities (days per week, 0 to 7, at most 2 decimals), "
                f"one per term of [round] terms = {n_terms}, separated by ';'",
                row=row,
                column="capacity_by_term",
                value=v,
            )
            out.append((float(cap),) * n_terms)
            continue
        out.append(tuple(values))
    return pd.Series(out, index=raw.index, dtype=object)


def parse_clients(
    raw: pd.DataFrame,
    file: str,
    errors: ProblemCollector,
    default_weeks: int,
    config: Config | None = None,
) -> pd.DataFrame:
    """Validate and type a clients table read by :func:`read_table`.

    ``config`` gives the number of terms (one if ``None``). Blank ``mode`` cells
    take the category's acceptable modes from ``models/modes.toml`` (none listed:
    any mode).
    """
    phases, masks = _phases(raw, "phase", file, errors, multiple=False)
    coords = _coordinates(raw, file, errors)
    weeks = _number(
        raw,
        "weeks",
        file,
        errors,
        limits.WEEKS,
        required=False,
        blank="or blank for the round's weeks",
    )
    parsed = {
        "client_id": _ids(raw, "client_id", file, errors),
        "phase": phases,
        "phase_mask": masks,
        "la_code": _la_code(raw, "la_code", file, errors),
        "easting": coords["easting"],
        "northing": coords["northing"],
        "need_days": _number(
            raw,
            "need_days",
            file,
            errors,
            limits.NEED_DAYS,
        ),
        "priority": _number(
            raw,
            "priority",
            file,
            errors,
            limits.PRIORITY,
        ),
        "urn": _text(raw, "urn"),
        "name": _text(raw, "name"),
        "ofsted_grade": _text(raw, "ofsted_grade"),
        "category": _text(raw, "category"),
        "budget_gbp": _number(
            raw,
            "budget_gbp",
            file,
            errors,
            limits.BUDGET_GBP,
            required=False,
            blank="or blank for no limit",
        ),
        "weeks": weeks.fillna(default_weeks),
        "network": _text(raw, "network"),
    }
    n_terms = config.terms if config is not None else 1
    cat = load_modes()
    start = _number(
        raw,
        "start_term",
        file,
        errors,
        Bound(
            "start_term",
            1,
            n_terms,
            f"a term of the period ([round] terms = {n_terms})",
            integer=True,
        ),
        required=False,
        blank="or blank for 1",
    )
    start = start.fillna(1)
    span = _number(
        raw,
        "terms",
        file,
        errors,
        Bound("terms", 1, n_terms, "a whole number of terms", integer=True),
        required=False,
        blank="or blank for the rest of the period",
    )
    span = span.fillna(n_terms - start + 1)
    for row, a, b in zip(raw.index, start, span, strict=True):
        if a + b - 1 > n_terms:
            errors.add(
                file,
                f"start_term {a:g} plus {b:g} terms runs past the period's "
                f"{n_terms} terms ([round] terms)",
                row=row,
                column="terms",
                value=raw.at[row, "terms"],
            )
    parsed["start_term"] = start
    parsed["terms"] = span
    team = _number(
        raw,
        "team_size",
        file,
        errors,
        Bound("team_size", 1, 2, "supporters in the team", integer=True),
        required=False,
        blank="or blank for 1",
    ).fillna(1)
    parsed["team_size"] = team
    categories = [str(c) for c in _text(raw, "category")]
    parsed["mode"] = _words(
        raw,
        "mode",
        file,
        errors,
        tuple(cat.modes),
        "mode",
        default=[cat.client_modes(c) for c in categories],
    )
    parsed["second_mode"] = _words(
        raw, "second_mode", file, errors, tuple(cat.modes), "mode", default=list(parsed["mode"])
    )
    second_need = _number(
        raw,
        "second_need_days",
        file,
        errors,
        dataclasses.replace(limits.NEED_DAYS, key="second_need_days"),
        required=False,
        blank="or blank for need_days",
    )
    parsed["second_need_days"] = second_need.fillna(parsed["need_days"])
    for col in ("second_mode", "second_need_days"):
        if col in raw.columns:
            for row, t in zip(raw.index, team, strict=True):
                if t == 1 and raw.at[row, col].strip():
                    errors.add(
                        file,
                        f"{col} is only for a team of two; set team_size to 2 or leave it blank",
                        row=row,
                        column=col,
                        value=raw.at[row, col],
                    )
    parsed["needs"] = _words(raw, "needs", file, errors, cat.expertise_tags, "expertise tag")
    parsed["must"] = _words(raw, "must", file, errors, cat.expertise_tags, "expertise tag")
    parsed["previous_supporter_id"] = _text(raw, "previous_supporter_id")
    parsed["exclude_kinds"] = _words(
        raw, "exclude_kinds", file, errors, schema.KINDS, "supporter kind"
    )
    parsed["high_need"] = _bool(raw, "high_need", file, errors)
    out = _assemble(raw, parsed)
    if not errors.problems:
        for col in ("priority", "weeks", "start_term", "terms", "team_size"):
            out[col] = out[col].astype(np.int64)
    return out


def parse_authorities(raw: pd.DataFrame, file: str, errors: ProblemCollector) -> pd.DataFrame:
    """Validate an authorities table."""
    codes = _la_code(raw, "la_code", file, errors)
    dup = codes[codes.duplicated(keep="first")]
    for row, v in dup.items():
        errors.add(
            file, "duplicate la_code; one row per authority", row=row, column="la_code", value=v
        )
    neighbours: list[tuple[str, ...]] = []
    for row, v in _text(raw, "neighbours").items():
        parts = tuple(p.strip() for p in v.split(";") if p.strip())
        for p in parts:
            if not (len(p) == 3 and p.isdigit()):
                errors.add(
                    file,
                    "expected 3-digit LA codes separated by ';'",
                    row=row,
                    column="neighbours",
                    value=v,
                )
                break
        neighbours.append(parts)
    parsed = {
        "la_code": codes,
        "cross_la": _choice(raw, "cross_la", file, errors, schema.CROSS_LA, default="allow"),
        "budget_gbp": _number(
            raw,
            "budget_gbp",
            file,
            errors,
            limits.BUDGET_GBP,
            required=False,
            blank="or blank for no limit",
        ),
        "name": _text(raw, "name"),
        "neighbours": pd.Series(neighbours, index=raw.index, dtype=object),
    }
    return _assemble(raw, parsed)


def _pairs(
    raw: pd.DataFrame,
    file: str,
    errors: ProblemCollector,
    supporter_ids: set[str],
    client_ids: set[str],
) -> pd.DataFrame:
    for row, s, c in zip(raw.index, raw["supporter_id"], raw["client_id"], strict=True):
        if s not in supporter_ids:
            errors.add(
                file,
                "unknown supporter_id; not in supporters.csv",
                row=row,
                column="supporter_id",
                value=s,
            )
        if c not in client_ids:
            errors.add(
                file, "unknown client_id; not in clients.csv", row=row, column="client_id", value=c
            )
    role = _choice(raw, "role", file, errors, schema.ROLES, default="lead")
    key = raw["supporter_id"] + "\x00" + raw["client_id"] + "\x00" + role
    for row in raw.index[key.duplicated(keep="first")]:
        errors.add(file, "duplicate pair; each pair once", row=row)
    out = raw[["client_id", "supporter_id"]].copy()
    out["role"] = role
    return out


def parse_pair_files(
    clients: pd.DataFrame,
    supporters: pd.DataFrame,
    conflicts: pd.DataFrame | None,
    pinned: pd.DataFrame | None,
    proposals: pd.DataFrame | None,
    folder: str,
    errors: ProblemCollector,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Validate ``conflicts.csv``, ``pinned.csv`` and ``proposals.csv`` together.

    Ids must exist; a client is pinned (or proposed) at most once per role; the
    ``second`` role only for a client with ``team_size`` 2; a pinned or proposed
    pair may not also be a conflict.
    """
    sids, cids = set(supporters["supporter_id"]), set(clients["client_id"])
    team = dict(zip(clients["client_id"], clients.get("team_size", 1), strict=False))
    empty = empty_pairs().assign(role=pd.Series(dtype=object))
    out = []
    for name, raw in (("conflicts", conflicts), ("pinned", pinned), ("proposals", proposals)):
        file = f"{folder}/{name}.csv"
        if raw is None:
            out.append(empty.copy())
            continue
        pairs = _pairs(raw, file, errors, sids, cids)
        if name != "conflicts":
            slot = pairs["client_id"] + "\x00" + pairs["role"]
            for row in pairs.index[slot.duplicated(keep="first")]:
                errors.add(
                    file,
                    f"client {'pinned' if name == 'pinned' else 'proposed'} more than once in "
                    "one role; a client has at most one supporter per role",
                    row=row,
                    column="client_id",
                    value=pairs.at[row, "client_id"],
                )
            for row, c, r in zip(pairs.index, pairs["client_id"], pairs["role"], strict=True):
                if r == "second" and c in team and team[c] != 2:
                    errors.add(
                        file,
                        "role 'second' is only for a client with team_size 2",
                        row=row,
                        column="role",
                        value=r,
                    )
            bad = set(zip(out[0]["client_id"], out[0]["supporter_id"], strict=True))
            for row, c, sup in zip(
                pairs.index, pairs["client_id"], pairs["supporter_id"], strict=True
            ):
                if (c, sup) in bad:
                    errors.add(
                        file,
                        f"pair ({c}, {sup}) is both {name} and listed in conflicts.csv",
                        row=row,
                    )
        out.append(pairs)
    return out[0], out[1], out[2]


# ---------------------------------------------------------------------------
# scenario.toml

_CONFIG_KEYS: dict[str, set[str]] = {
    "": {
        "name",
        "description",
        "round",
        "defaults",
        "budget",
        "weights",
        "format",
        "funders",
        "objective",
    },
    "round": {"weeks", "terms"},
    "defaults": {"max_distance_km", "allow_cross_phase", "network"},
    "budget": {"programme_gbp", "funders"},
    "weights": {
        "cost_per_1000_gbp",
        "distance_per_km",
        "cross_phase",
        "other_la",
        "continuity",
        "expertise",
        "outside_network",
    },
    "objective": {"high_need_weight", "no_school_isolated"},
}


def read_config(path: Path, *, data: bytes | None = None) -> Config:
    """Read and validate ``scenario.toml``.

    ``data`` holds the file's bytes if they were already read (``path`` then only
    names the file in messages).
    """
    file = str(path)
    if data is None:
        if not path.is_file():
            raise InputError.one(
                file,
                "file not found; every scenario folder needs scenario.toml with at least "
                'name = "..."',
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError.one(file, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError.one(
            file, f"not UTF-8 text (byte {data[exc.start : exc.end]!r} at offset {exc.start})"
        ) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError.one(file, f"not valid TOML: {exc}") from None
    errors = ProblemCollector()

    for section, keys in _CONFIG_KEYS.items():
        table = doc if section == "" else doc.get(section, {})
        if not isinstance(table, dict):
            errors.add(file, f"[{section}] must be a table", column=section)
            continue
        for k in table:
            if k not in keys:
                where = f"[{section}] " if section else ""
                errors.add(
                    file,
                    f"unknown key {where}{k!r}; known keys: " + ", ".join(sorted(keys)),
                    column=f"{section}.{k}".strip("."),
                )

    def get(
        section: str,
        key: str,
        kind: type | tuple[type, ...],
        default: object,
        check: Callable[[Any], bool] = lambda _: True,
        expect: str = "",
    ) -> Any:
        table = doc.get(section, {}) if section else doc
        if not isinstance(table, dict) or key not in table:
            return default
        v = table[key]
        ok = isinstance(v, kind) and not (kind is not bool and isinstance(v, bool))
        if not ok or not check(v):
            errors.add(file, f"expected {expect}", column=f"{section}.{key}".strip("."), value=v)
            return default
        return v

    number = (int, float)
    supported = ", ".join(str(v) for v in FORMAT_VERSIONS)
    get(
        "",
        "format",
        int,
        FORMAT_VERSIONS[-1],
        lambda v: v in FORMAT_VERSIONS,
        f"a scenario format this broker reads: {supported} (format = 1, or leave it out)",
    )
    name = get("", "name", str, None, lambda v: bool(str(v).strip()), "a non-empty name")
    if "name" not in doc:
        errors.add(file, "missing key 'name'; expected name = \"...\"", column="name")
    desc = get("", "description", str, "", expect="text")
    weeks = get("round", "weeks", int, 39, expect=limits.WEEKS.unit)
    dist = get("defaults", "max_distance_km", number, 40.0, expect=limits.MAX_DISTANCE_KM.unit)
    cross = get("defaults", "allow_cross_phase", bool, False, expect="true or false")
    budget = get("budget", "programme_gbp", number, None, expect=limits.PROGRAMME_GBP.unit)
    weights = {}
    for k, default in dataclass_defaults(Weights).items():
        weights[k] = get(
            "weights", k, number, default, expect=f"a weight, {limits.WEIGHTS[k].unit}"
        )
    terms = get(
        "round",
        "terms",
        int,
        1,
        lambda v: 1 <= v <= schema.MAX_TERMS,
        f"a whole number of terms between 1 and {schema.MAX_TERMS}",
    )
    catalogue = load_modes()
    funders: dict[str, str] = {}
    table = doc.get("funders", {})
    if isinstance(table, dict):
        for mode, funder in table.items():
            if mode not in catalogue.modes:
                errors.add(
                    file,
                    f"unknown mode {mode!r}; known modes: " + ", ".join(catalogue.modes),
                    column=f"funders.{mode}",
                )
                continue
            problem = check_funder(funder) if isinstance(funder, str) else "expected text"
            if problem:
                errors.add(file, problem, column=f"funders.{mode}", value=funder)
                continue
            funders[mode] = funder
    else:
        errors.add(file, "[funders] must be a table of mode = funder", column="funders")
    funder_budgets: dict[str, float] = {}
    budget_table = doc.get("budget", {})
    fb = budget_table.get("funders", {}) if isinstance(budget_table, dict) else {}
    if isinstance(fb, dict):
        for key, amount in fb.items():
            ok = isinstance(amount, int | float) and not isinstance(amount, bool)
            why = limits.PROGRAMME_GBP.problem(amount) if ok else "not a number"
            if why is not None:
                errors.add(
                    file,
                    f"{why}; expected {limits.PROGRAMME_GBP.unit}, "
                    f"{limits.PROGRAMME_GBP.expected()}",
                    column=f"budget.funders.{key}",
                    value=amount,
                )
                continue
            funder_budgets[str(key)] = float(amount)
    else:
        errors.add(
            file, "[budget.funders] must be a table of name = pounds", column="budget.funders"
        )
    paid = {m.funder for m in catalogue.modes.values()} | set(funders.values())
    programmes = sorted(f.partition(":")[2] for f in paid if f.startswith("programme:"))
    for key in funder_budgets:
        if key not in programmes:
            errors.add(
                file,
                f"no mode is paid by programme:{key}, so this budget would limit nothing; "
                "expected the name of a programme funder: "
                + (", ".join(programmes) or "none")
                + " (a mode's funder comes from models/modes.toml or [funders])",
                column=f"budget.funders.{key}",
                value=fb[key],
            )
    high_need = get(
        "objective",
        "high_need_weight",
        number,
        0.0,
        lambda v: limits.HIGH_NEED_WEIGHT.problem(v) is None,
        f"{limits.HIGH_NEED_WEIGHT.unit}, {limits.HIGH_NEED_WEIGHT.expected()}",
    )
    network_rule = get(
        "defaults",
        "network",
        str,
        "hard",
        lambda v: v in ("hard", "prefer"),
        'network = "hard" (a supporter serves only its network) or "prefer" (others at a penalty)',
    )
    isolated = get("objective", "no_school_isolated", bool, False, expect="true or false")
    errors.raise_if_any()
    settings = {
        "round.weeks": weeks,
        "defaults.max_distance_km": dist,
        "budget.programme_gbp": budget,
        **{f"weights.{k}": v for k, v in weights.items()},
    }
    _check_settings(settings, file, errors)
    errors.raise_if_any()
    return Config(
        name=str(name),
        description=str(desc),
        weeks=int(weeks),
        max_distance_km=float(dist),
        allow_cross_phase=bool(cross),
        programme_budget_gbp=None if budget is None else float(budget),
        weights=Weights(**{k: float(v) for k, v in weights.items()}),
        terms=int(terms),
        funders=funders,
        funder_budgets_gbp=funder_budgets,
        high_need_weight=float(high_need),
        network_rule=str(network_rule),
        no_school_isolated=bool(isolated),
    )


SETTING_BOUNDS: dict[str, Bound] = {
    "round.weeks": limits.WEEKS,
    "defaults.max_distance_km": limits.MAX_DISTANCE_KM,
    "budget.programme_gbp": limits.PROGRAMME_GBP,
    **{f"weights.{k}": b for k, b in limits.WEIGHTS.items()},
}
"""The bound of each numeric setting of ``scenario.toml``, keyed ``section.key``."""


def _check_settings(settings: dict[str, object], file: str, errors: ProblemCollector) -> None:
    """Check numeric settings (``section.key`` -> value; ``None`` = not set) against bounds."""
    for key, value in settings.items():
        if value is None:
            continue
        bound = SETTING_BOUNDS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            errors.add(file, f"expected {bound.unit}", column=key, value=value)
            continue
        why = bound.problem(value)  # type: ignore[arg-type]
        if why is None and bound.decimals is not None and isinstance(value, float):
            places = decimal_places(repr(value))
            if places is not None and places > bound.decimals:
                why = f"more than {bound.decimals} decimal places; expected {bound.unit}"
        if why is not None:
            errors.add(file, why, column=key, value=value)


def check_config(config: Config, file: str, errors: ProblemCollector) -> None:
    """Check a :class:`Config` built in code against the same bounds as ``scenario.toml``."""
    w = config.weights
    _check_settings(
        {
            "round.weeks": config.weeks,
            "defaults.max_distance_km": config.max_distance_km,
            "budget.programme_gbp": config.programme_budget_gbp,
            **{f"weights.{k}": getattr(w, k) for k in limits.WEIGHTS},
        },
        file,
        errors,
    )


def dataclass_defaults(cls: type) -> dict[str, object]:
    import dataclasses

    return {f.name: f.default for f in dataclasses.fields(cls)}


def check_sizes(
    supporters: pd.DataFrame,
    clients: pd.DataFrame,
    supporters_file: str,
    clients_file: str,
    errors: ProblemCollector,
) -> None:
    """Refuse scenarios beyond the size :mod:`broker.limits` derives its bounds for."""
    for frame, file, most, what in (
        (supporters, supporters_file, limits.MAX_SUPPORTERS, "supporters"),
        (clients, clients_file, limits.MAX_CLIENTS, "clients"),
    ):
        if len(frame) > most:
            errors.add(
                file,
                f"{len(frame):,} {what}; broker's numeric limits are derived for at most "
                f"{most:,} (see 'Limits and safety' in the README)",
            )


def inputs_sha256(files: dict[str, bytes]) -> str:
    """SHA-256 over scenario files' names and bytes, in name order.

    Each file contributes its name, a NUL, its length as 8 bytes and its bytes, so
    the same inputs always give the same hash and no two different sets of files
    can be confused.
    """
    h = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        h.update(name.encode("utf-8") + b"\0" + len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def scenario_inputs_sha256(folder: str | Path) -> str:
    """:func:`inputs_sha256` of the scenario files present in ``folder``."""
    root = Path(folder)
    return inputs_sha256(
        {n: (root / n).read_bytes() for n in SCENARIO_FILES if (root / n).is_file()}
    )


# ---------------------------------------------------------------------------


def read_scenario(folder: str | Path) -> Scenario:
    """Read, validate and return the scenario in ``folder``.

    Parameters
    ----------
    folder
        A folder holding ``scenario.toml``, ``supporters.csv`` and ``clients.csv``,
        and optionally ``authorities.csv``, ``conflicts.csv`` and ``pinned.csv``;
        or an ``.xlsx`` workbook with a sheet per table
        (:mod:`broker.scenario.workbook`).

    Raises
    ------
    broker.errors.InputError
        Listing every problem found, each naming file, row, column, value and what
        was expected.
    """
    root = Path(folder)
    if root.suffix.lower() == ".xlsx" and root.is_file():
        from broker.scenario.workbook import read_workbook

        return read_workbook(root)  # one sheet per table, through this same path
    if not root.is_dir():
        raise InputError.one(
            str(root),
            "scenario folder not found"
            if not root.exists()
            else "expected a scenario folder, found a file",
        )
    files: dict[str, bytes] = {}  # every byte parsed, for the inputs hash
    toml_path = root / "scenario.toml"
    if toml_path.is_file():
        try:
            files["scenario.toml"] = toml_path.read_bytes()
        except OSError:
            pass  # read_config reports it
    config = read_config(toml_path, data=files.get("scenario.toml"))
    errors = ProblemCollector()

    def load(
        name: str,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        must_exist: bool = True,
    ) -> pd.DataFrame | None:
        path = root / name
        if not path.exists() and not must_exist:
            return None
        try:
            if path.is_file():
                try:
                    files[name] = path.read_bytes()
                except OSError:
                    pass  # read_table reports it
            return read_table(path, required, optional, data=files.get(name))
        except InputError as exc:
            errors.problems.extend(exc.problems)
            return None

    sup_raw = load("supporters.csv", schema.SUPPORTERS_REQUIRED, schema.SUPPORTERS_OPTIONAL)
    cli_raw = load("clients.csv", schema.CLIENTS_REQUIRED, schema.CLIENTS_OPTIONAL)
    aut_raw = load(
        "authorities.csv",
        schema.AUTHORITIES_REQUIRED,
        schema.AUTHORITIES_OPTIONAL,
        must_exist=False,
    )
    con_raw = load("conflicts.csv", schema.CONFLICTS_REQUIRED, must_exist=False)
    pin_raw = load("pinned.csv", schema.PINNED_REQUIRED, schema.PAIR_OPTIONAL, must_exist=False)
    prop_raw = load("proposals.csv", schema.PINNED_REQUIRED, schema.PAIR_OPTIONAL, must_exist=False)
    errors.raise_if_any()
    assert sup_raw is not None and cli_raw is not None

    sf, cf = str(root / "supporters.csv"), str(root / "clients.csv")
    check_sizes(sup_raw, cli_raw, sf, cf, errors)
    errors.raise_if_any()
    supporters = parse_supporters(sup_raw, sf, errors, config)
    clients = parse_clients(cli_raw, cf, errors, config.weeks, config)
    if len(supporters) == 0:
        errors.add(sf, "no supporters; expected at least one data row")
    if len(clients) == 0:
        errors.add(cf, "no clients; expected at least one data row")
    if aut_raw is None:
        aut_raw = pd.DataFrame(columns=["la_code"], dtype=object)
    authorities = parse_authorities(aut_raw, str(root / "authorities.csv"), errors)
    conflicts, pinned, proposals = parse_pair_files(
        clients, supporters, con_raw, pin_raw, prop_raw, str(root), errors
    )
    errors.raise_if_any()
    return Scenario(
        config=config,
        supporters=supporters.reset_index(drop=False),
        clients=clients.reset_index(drop=False),
        authorities=authorities.reset_index(drop=False),
        conflicts=conflicts.reset_index(drop=False),
        pinned=pinned.reset_index(drop=False),
        source=root,
        proposals=proposals.reset_index(drop=False),
        inputs_sha256=inputs_sha256(files),
    )


def empty_pairs() -> pd.DataFrame:
    """An empty conflicts or pinned table (with the ``row`` index of a read one)."""
    return pd.DataFrame(
        {
            "client_id": pd.Series(dtype=object),
            "supporter_id": pd.Series(dtype=object),
            "role": pd.Series(dtype=object),
        },
        index=pd.Index([], name="row", dtype="int64"),
    )
