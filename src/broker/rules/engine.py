"""Apply a :class:`~broker.rules.schema.Programme`'s criteria to a table of schools.

Evaluation uses three-valued (Kleene) logic: each test is *pass*, *fail* or *unknown*
(the field is missing or NA for that school). ``all_of`` fails if any part fails, passes
if all pass, else is unknown; ``any_of`` passes if any part passes, fails if all fail,
else is unknown; ``at_least = k`` passes when k parts pass, fails when fewer than k could
pass, else is unknown.

A school's status is the worst consequence among its definitely failed criteria
(``reject`` → not_eligible, ``review`` → review, none → eligible), *unless* an unknown
criterion could still make it worse, in which case it is ``unknown``. So a definite
rejection is never masked by a missing field, and a missing field never silently passes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from broker.errors import InputError, ProblemCollector
from broker.rules.schema import (
    NUMERIC_TOLERANCE,
    Condition,
    Criterion,
    Derivation,
    FieldSpec,
    OnFail,
    Programme,
    Status,
    Test,
    iter_tests,
    normalise_category,
    normalise_text,
)

__all__ = ["OUTPUT_COLUMNS", "assess", "assess_all", "derive"]

#: Columns of :func:`assess`'s result, before any derived columns.
OUTPUT_COLUMNS = ("urn", "programme", "role", "status", "reason", "failed", "unknown")

_FAIL, _UNKNOWN, _PASS = 0, 1, 2
_RANK = {OnFail.REVIEW: 1, OnFail.REJECT: 2}
_STATUS_BY_RANK = (Status.ELIGIBLE, Status.REVIEW, Status.NOT_ELIGIBLE)
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_SEP = " | "


@dataclass
class _Col:
    """One field ready for evaluation; ``num`` for numbers and booleans, ``key`` for text."""

    spec: FieldSpec
    known: np.ndarray
    num: np.ndarray | None
    key: np.ndarray | None
    display: np.ndarray
    absent: bool
    source: _Col | None = None


def _blank(arr: np.ndarray) -> np.ndarray:
    missing = pd.isna(arr)
    for i in np.flatnonzero(~missing).tolist():
        v = arr[i]
        if isinstance(v, str) and not v.strip():
            missing[i] = True
    return missing


def _prepare(
    spec: FieldSpec, schools: pd.DataFrame, source: str, problems: ProblemCollector
) -> _Col:
    n = len(schools)
    if spec.name not in schools.columns:
        empty = np.full(n, None, dtype=object)
        num = np.full(n, np.nan) if spec.numeric or spec.type == "boolean" else None
        key = None if num is not None else empty.copy()
        return _Col(spec, np.zeros(n, dtype=bool), num, key, empty, absent=True)
    arr = schools[spec.name].to_numpy(dtype=object, copy=True)
    missing = _blank(arr)
    display = np.full(n, None, dtype=object)

    def bad(i: int, expectation: str) -> None:
        problems.add(source, expectation, row=i + 2, column=spec.name, value=arr[i])
        missing[i] = True

    if spec.numeric:
        num = np.full(n, np.nan)
        for i in np.flatnonzero(~missing).tolist():
            v = arr[i]
            try:
                if isinstance(v, bool | np.bool_):
                    raise TypeError
                x = float(v)
            except (TypeError, ValueError):
                bad(i, f"expected a number for {spec.label}")
                continue
            if not math.isfinite(x):
                bad(i, f"expected a finite number for {spec.label}")
                continue
            lo, hi = spec.minimum, spec.maximum
            if (lo is not None and x < lo) or (hi is not None and x > hi):
                hint = ""
                if spec.format == "percent" and hi == 1 and 1 < x <= 100:
                    hint = f" (a fraction: {x / 100:g} means {x:g}%; this looks like a percentage)"
                bad(i, f"expected {spec.label} from {lo:g} to {hi:g}{hint}")
                continue
            if spec.type == "integer" and x != round(x):
                bad(i, f"expected a whole number for {spec.label}")
                continue
            num[i] = x
            display[i] = x
        return _Col(spec, ~missing, num, None, display, absent=False)

    if spec.type == "boolean":
        num = np.full(n, np.nan)
        for i in np.flatnonzero(~missing).tolist():
            v = arr[i]
            if isinstance(v, bool | np.bool_):
                b = bool(v)
            elif isinstance(v, int | float | np.integer | np.floating) and v in (0, 1):
                b = bool(v)
            elif isinstance(v, str) and v.strip().casefold() in _TRUE | _FALSE:
                b = v.strip().casefold() in _TRUE
            else:
                bad(i, f"expected true or false for {spec.label} (also yes/no, y/n, 1/0)")
                continue
            num[i] = 1.0 if b else 0.0
            display[i] = b
        return _Col(spec, ~missing, num, None, display, absent=False)

    key = np.full(n, None, dtype=object)
    for i in np.flatnonzero(~missing).tolist():
        v = arr[i]
        if spec.type == "category":
            k = normalise_category(v)
            if k in spec.missing_values:
                missing[i] = True
                continue
            if spec.values and k not in spec.values:
                bad(i, f"expected one of: {', '.join(spec.values)}")
                continue
            key[i] = k
            display[i] = k
        else:
            key[i] = normalise_text(v)
            display[i] = str(v).strip()
    return _Col(spec, ~missing, None, key, display, absent=False)


def _derived_col(d: Derivation, spec: FieldSpec, src: _Col) -> _Col:
    n = len(src.known)
    display = np.full(n, None, dtype=object)
    for i in np.flatnonzero(src.known).tolist():
        display[i] = d.lookup(src.display[i])
    known = np.array([v is not None for v in display], dtype=bool)
    key = np.array(
        [normalise_category(v) if v is not None else None for v in display], dtype=object
    )
    return _Col(spec, known, None, key, display, absent=False, source=src)


# --------------------------------------------------------------------------- evaluation


def _eval_test(t: Test, col: _Col) -> np.ndarray:
    n = len(col.known)
    tol = NUMERIC_TOLERANCE
    if col.num is not None:
        x = np.where(col.known, col.num, 0.0)

        def f(v: object) -> float:
            return float(v)  # type: ignore[arg-type]

        with np.errstate(invalid="ignore"):
            if t.op == "eq":
                ok = np.abs(x - f(t.value)) <= tol
            elif t.op == "ne":
                ok = np.abs(x - f(t.value)) > tol
            elif t.op in ("in", "not_in"):
                ok = np.zeros(n, dtype=bool)
                for v in t.value:  # type: ignore[attr-defined]
                    ok |= np.abs(x - f(v)) <= tol
                if t.op == "not_in":
                    ok = ~ok
            elif t.op == "ge":
                ok = x >= f(t.value) - tol
            elif t.op == "gt":
                ok = x > f(t.value) + tol
            elif t.op == "le":
                ok = x <= f(t.value) + tol
            elif t.op == "lt":
                ok = x < f(t.value) - tol
            else:  # between
                lo, hi = (f(v) for v in t.value)  # type: ignore[attr-defined]
                left = x >= lo - tol if t.closed in ("left", "both") else x > lo + tol
                right = x <= hi + tol if t.closed in ("right", "both") else x < hi - tol
                ok = left & right
    else:
        assert col.key is not None
        if col.spec.type == "category":
            norm = normalise_category
        else:
            norm = normalise_text
        if t.op in ("eq", "ne"):
            target = {norm(t.value)}
        else:
            target = {norm(v) for v in t.value}  # type: ignore[attr-defined]
        ok = np.array([k in target for k in col.key], dtype=bool)
        if t.op in ("ne", "not_in"):
            ok = ~ok
    return np.where(col.known, np.where(ok, _PASS, _FAIL), _UNKNOWN).astype(np.int8)


def _eval(cond: Condition, cols: Mapping[str, _Col], memo: dict[int, np.ndarray]) -> np.ndarray:
    if isinstance(cond, Test):
        res = _eval_test(cond, cols[cond.field])
    else:
        parts = [_eval(item, cols, memo) for item in cond.items]
        if cond.mode == "all_of":
            res = np.minimum.reduce(parts)
        elif cond.mode == "any_of":
            res = np.maximum.reduce(parts)
        else:
            stack = np.vstack(parts)
            passed = (stack == _PASS).sum(axis=0)
            maybe = (stack == _UNKNOWN).sum(axis=0)
            k = cond.at_least
            assert k is not None
            res = np.where(passed >= k, _PASS, np.where(passed + maybe < k, _FAIL, _UNKNOWN))
            res = res.astype(np.int8)
    memo[id(cond)] = res
    return res


# --------------------------------------------------------------------------- reasons


def _fmt_number(spec: FieldSpec, x: float) -> str:
    if spec.format == "percent":
        text = f"{round(x * 100, 2):g}%"
    elif spec.type == "integer":
        text = str(int(round(x)))
    else:
        text = f"{round(x, 2):g}"
    words = spec.value_text.get(text) if spec.type == "integer" else None
    return f"{text} ({words})" if words else text


def _fact(col: _Col, i: int, schools: pd.DataFrame) -> str:
    spec = col.spec
    if not col.known[i]:
        note = ""
        if col.source is not None:
            note = _fact(col.source, i, schools)
            if col.source.known[i]:
                note += ", which the lookup does not list"
        for p in spec.partial:
            if p.field in schools.columns and not pd.isna(schools[p.field].iloc[i]):
                note = p.note
                break
        if not note and col.absent:
            note = f"no '{spec.name}' column"
        return f"{spec.label} unknown" + (f" ({note})" if note else "")
    if spec.type == "boolean":
        assert col.num is not None
        return spec.true_text if col.num[i] == 1.0 else spec.false_text
    if col.num is not None:
        return f"{spec.label} {_fmt_number(spec, float(col.num[i]))}"
    if col.source is not None:
        return f"{spec.label}: {col.display[i]} ({_fact(col.source, i, schools)})"
    return f"{spec.label}: {col.display[i]}"


def _reason(
    crit: Criterion,
    outcome: int,
    i: int,
    cols: Mapping[str, _Col],
    memo: Mapping[int, np.ndarray],
    schools: pd.DataFrame,
) -> str:
    """Sentence for one failed or unknown criterion: the facts, then the explanation."""
    unknown_fields: dict[str, None] = {}
    failed_fields: dict[str, None] = {}
    for t in iter_tests(crit.condition):
        r = memo[id(t)][i]
        if r == _UNKNOWN and outcome == _UNKNOWN:
            unknown_fields[t.field] = None
        elif r == _FAIL:
            failed_fields[t.field] = None
    names = list(unknown_fields) + [f for f in failed_fields if f not in unknown_fields]
    facts = ", ".join(_fact(cols[f], i, schools) for f in names)
    return f"{facts}; {crit.explain}" if facts else crit.explain


# --------------------------------------------------------------------------- public API


def _columns(programme: Programme, schools: pd.DataFrame, source: str) -> dict[str, _Col]:
    problems = ProblemCollector()
    derived = {d.name: d for d in programme.derived}
    cols: dict[str, _Col] = {}
    for name in programme.input_fields:
        cols[name] = _prepare(programme.fields[name], schools, source, problems)
    problems.raise_if_any()
    for name, d in derived.items():
        cols[name] = _derived_col(d, programme.fields[name], cols[d.source])
    return cols


def _check_frame(schools: object, source: str) -> pd.DataFrame:
    if not isinstance(schools, pd.DataFrame):
        raise TypeError(f"schools must be a pandas DataFrame, not {type(schools).__name__}")
    if "urn" not in schools.columns:
        raise InputError.one(
            source, "missing column; expected one row per school with its URN", column="urn"
        )
    return schools


def derive(
    programme: Programme, schools: pd.DataFrame, *, source: str = "<schools>"
) -> pd.DataFrame:
    """The programme's derived fields (e.g. ``leep_network``) for each school.

    Returns a frame with the input's index, ``urn`` and one column per derivation (``None``
    where the source field is missing). The input is not modified.
    """
    _check_frame(schools, source)
    problems = ProblemCollector()
    out = pd.DataFrame({"urn": schools["urn"].to_numpy(copy=True)}, index=schools.index.copy())
    cols: dict[str, _Col] = {}
    for d in programme.derived:
        if d.source not in cols:
            cols[d.source] = _prepare(programme.fields[d.source], schools, source, problems)
    problems.raise_if_any()
    for d in programme.derived:
        out[d.name] = _derived_col(d, programme.fields[d.name], cols[d.source]).display
    return out


def assess(
    programme: Programme, schools: pd.DataFrame, *, source: str = "<schools>"
) -> pd.DataFrame:
    """Who is eligible for ``programme``, and why not.

    Parameters
    ----------
    programme
        From :func:`broker.rules.load_programme`.
    schools
        One row per school; needs ``urn`` plus whichever fields the programme reads (see
        ``models/fields.toml``; e.g. ``idaci_rate`` is a 0-1 fraction). A missing column
        counts as unknown for every school. The frame is not modified.
    source
        Name of the input used in error messages (e.g. the CSV path).

    Returns
    -------
    pandas.DataFrame
        Same index and row order as ``schools``, with columns ``urn``, ``programme``,
        ``role``, ``status`` (a :class:`~broker.rules.schema.Status` value), ``reason``
        (sentences joined by ``" | "``: each names the values and the criterion),
        ``failed`` (tuple of definitely failed criterion ids, rejections and reviews, in
        file order), ``unknown`` (tuple of criterion ids that could not be decided), then
        one column per derived field.

    Raises
    ------
    InputError
        ``urn`` is missing, or a value cannot be read as its field's type or lies outside
        its range (every such cell is reported with its row and column).
    """
    _check_frame(schools, source)
    cols = _columns(programme, schools, source)
    n = len(schools)
    memo: dict[int, np.ndarray] = {}
    results = [_eval(c.condition, cols, memo) for c in programme.criteria]

    best = np.zeros(n, dtype=np.int8)
    worst = np.zeros(n, dtype=np.int8)
    for crit, res in zip(programme.criteria, results, strict=True):
        rank = _RANK[crit.on_fail]
        best = np.maximum(best, np.where(res == _FAIL, rank, 0).astype(np.int8))
        worst = np.maximum(worst, np.where(res != _PASS, rank, 0).astype(np.int8))
    decided = best == worst

    status = np.empty(n, dtype=object)
    reason = np.empty(n, dtype=object)
    failed = np.empty(n, dtype=object)
    unknown = np.empty(n, dtype=object)
    for i in range(n):
        f_ids: list[str] = []
        u_ids: list[str] = []
        rejects: list[str] = []
        reviews: list[str] = []
        unknowns: list[str] = []
        for crit, res in zip(programme.criteria, results, strict=True):
            r = res[i]
            if r == _PASS:
                continue
            text = _reason(crit, int(r), i, cols, memo, schools)
            if r == _FAIL:
                f_ids.append(crit.id)
                (rejects if crit.on_fail is OnFail.REJECT else reviews).append(text)
            else:
                u_ids.append(crit.id)
                unknowns.append(text)
        if decided[i]:
            st = _STATUS_BY_RANK[best[i]]
            if st is Status.NOT_ELIGIBLE:
                parts = rejects
            elif st is Status.REVIEW:
                parts = reviews + unknowns
            else:
                parts = ["meets every criterion"] + unknowns
        else:
            st = Status.UNKNOWN
            parts = unknowns + reviews
        status[i] = st.value
        reason[i] = _SEP.join(parts)
        failed[i] = tuple(f_ids)
        unknown[i] = tuple(u_ids)

    out = pd.DataFrame(
        {
            "urn": schools["urn"].to_numpy(copy=True),
            "programme": np.full(n, programme.id, dtype=object),
            "role": np.full(n, programme.role.value, dtype=object),
            "status": status,
            "reason": reason,
            "failed": failed,
            "unknown": unknown,
        },
        index=schools.index.copy(),
    )
    for d in programme.derived:
        out[d.name] = cols[d.name].display
    return out


def assess_all(
    programmes: Mapping[str, Programme] | Iterable[Programme],
    schools: pd.DataFrame,
    *,
    source: str = "<schools>",
) -> pd.DataFrame:
    """:func:`assess` for several programmes, stacked (one row per school and programme)."""
    progs = list(programmes.values()) if isinstance(programmes, Mapping) else list(programmes)
    frames = [assess(p, schools, source=source) for p in progs]
    if not frames:
        return pd.DataFrame(columns=list(OUTPUT_COLUMNS))
    return pd.concat(frames, ignore_index=True)
