"""Find, read and validate programme rule files (``models/*.toml``).

A malformed file raises :class:`~broker.errors.InputError` naming the file and the key
(e.g. ``criteria[2].op``), the value found and what was expected. All problems in a file
(or, for :func:`load_all`, in every file) are reported together.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from broker.errors import InputError, Problem, ProblemCollector
from broker.rules.schema import (
    CLOSED,
    FIELD_TYPES,
    ON_FAIL,
    OPS,
    Condition,
    Criterion,
    Derivation,
    FieldSpec,
    Group,
    OnFail,
    Partial,
    Programme,
    Role,
    Source,
    Terms,
    Test,
    normalise_category,
    normalise_text,
)

__all__ = [
    "ENV_VAR",
    "FIELDS_FILE",
    "SCHEMA_VERSION",
    "find_models_dir",
    "list_programmes",
    "load_all",
    "load_fields",
    "load_programme",
]

#: Environment variable naming the folder of rule files.
ENV_VAR = "BROKER_MODELS_DIR"
NOT_PROGRAMMES = {"fields.toml", "modes.toml"}
"""Files in the models folder that are not programme rule files."""
#: File (in the models folder) declaring the input fields; it is not a programme.
FIELDS_FILE = "fields.toml"
#: The only ``schema_version`` this code reads.
SCHEMA_VERSION = 1

_MISSING = object()


# --------------------------------------------------------------------------- locating


def _source_tree_models() -> Path:
    # src/broker/rules/loader.py -> parents[3] is the repository root in a source tree
    # (and in the usual editable install, which imports straight from src/).
    return Path(__file__).resolve().parents[3] / "models"


def _install_origin_models() -> Path | None:
    """``models/`` of the project the installed ``broker`` came from (PEP 610 record).

    Covers editable installs whose import path does not reveal the source tree, and
    ``pip install /path/to/checkout``: no copy of the rule files is needed.
    """
    try:
        text = metadata.distribution("broker").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    try:
        url = json.loads(text).get("url", "")
    except (json.JSONDecodeError, AttributeError):
        return None
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    return Path(url2pathname(unquote(parsed.path))) / "models"


def find_models_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the rule files.

    Looked for, in order: ``path``; the ``BROKER_MODELS_DIR`` environment variable; the
    ``models/`` folder at the root of the source tree this module sits in; the ``models/``
    folder of the project ``broker`` was installed from (editable or local-path installs).
    An explicit ``path`` or environment value that is not a folder is an error rather than
    falling through to the next place.

    Raises
    ------
    InputError
        When no folder is found.
    """
    if path is not None:
        p = Path(path)
        if not p.is_dir():
            raise InputError.one(str(p), "models folder not found; expected a folder of *.toml")
        return p
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env)
        if not p.is_dir():
            raise InputError.one(
                str(p), f"models folder named by ${ENV_VAR} not found; expected a folder"
            )
        return p
    tried = []
    for candidate in (_source_tree_models(), _install_origin_models()):
        if candidate is None:
            continue
        tried.append(str(candidate))
        if (candidate / FIELDS_FILE).is_file():
            return candidate
    raise InputError.one(
        "<models>",
        f"no folder of rule files found (tried: {', '.join(tried) or 'nothing'}); "
        f"pass a path or set ${ENV_VAR}",
    )


def list_programmes(models_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Names (file stems) of the programme files in the models folder, sorted."""
    d = find_models_dir(models_dir)
    return sorted(p.stem for p in d.glob("*.toml") if p.name not in NOT_PROGRAMMES)


# --------------------------------------------------------------------------- reading


class _Reader:
    """Collects problems about one file, each naming a key path."""

    def __init__(self, file: str, collector: ProblemCollector) -> None:
        self.file = file
        self.out = collector

    def err(self, key: str, message: str, found: object = _MISSING) -> None:
        text = f"key '{key}'"
        if found is not _MISSING:
            text += f" (found {found!r})"
        self.out.add(self.file, f"{text}: {message}")

    def table(self, parent: Mapping, key: str, path: str, required: bool = True) -> dict | None:
        v = parent.get(key, _MISSING)
        if v is _MISSING:
            if required:
                self.err(path, "missing; expected a table")
            return None
        if not isinstance(v, dict):
            self.err(path, "expected a table", v)
            return None
        return v

    def text(
        self, parent: Mapping, key: str, path: str, required: bool = True, default: str = ""
    ) -> str:
        v = parent.get(key, _MISSING)
        if v is _MISSING:
            if required:
                self.err(path, "missing; expected a non-empty string")
            return default
        if not isinstance(v, str) or not v.strip():
            self.err(path, "expected a non-empty string", v)
            return default
        return v.strip()

    def number(self, parent: Mapping, key: str, path: str) -> float | None:
        v = parent.get(key, _MISSING)
        if v is _MISSING:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float):
            self.err(path, "expected a number", v)
            return None
        return float(v)

    def texts(self, parent: Mapping, key: str, path: str, required: bool = False) -> list[str]:
        v = parent.get(key, _MISSING)
        if v is _MISSING:
            if required:
                self.err(path, "missing; expected a list of strings")
            return []
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            self.err(path, "expected a list of non-empty strings", v)
            return []
        return [x.strip() for x in v]

    def only(self, tbl: Mapping, allowed: tuple[str, ...], path: str) -> None:
        for k in tbl:
            if k not in allowed:
                where = f"{path}.{k}" if path else k
                self.err(where, f"unknown key; expected one of: {', '.join(allowed)}")


def _read_toml(path: Path, collector: ProblemCollector) -> dict | None:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        collector.add(str(path), "file not found")
    except tomllib.TOMLDecodeError as exc:
        collector.add(str(path), f"not valid TOML: {exc}")
    except OSError as exc:
        collector.add(str(path), f"cannot read: {exc}")
    return None


def _check_version(r: _Reader, doc: Mapping) -> None:
    v = doc.get("schema_version", _MISSING)
    if v is _MISSING:
        r.err("schema_version", f"missing; expected {SCHEMA_VERSION}")
    elif v != SCHEMA_VERSION or isinstance(v, bool):
        r.err("schema_version", f"expected {SCHEMA_VERSION}", v)


# --------------------------------------------------------------------------- fields.toml

_FIELD_KEYS = (
    "label",
    "type",
    "description",
    "min",
    "max",
    "values",
    "missing_values",
    "format",
    "value_text",
    "true_text",
    "false_text",
    "partial",
)


def _parse_fields(doc: Mapping, r: _Reader) -> dict[str, FieldSpec]:
    _check_version(r, doc)
    r.only(doc, ("schema_version", "fields"), "")
    fields = r.table(doc, "fields", "fields") or {}
    out: dict[str, FieldSpec] = {}
    for name, spec in fields.items():
        path = f"fields.{name}"
        if not isinstance(spec, dict):
            r.err(path, "expected a table", spec)
            continue
        r.only(spec, _FIELD_KEYS, path)
        label = r.text(spec, "label", f"{path}.label", default=name)
        ftype = r.text(spec, "type", f"{path}.type", default="text")
        if ftype not in FIELD_TYPES:
            r.err(f"{path}.type", f"expected one of: {', '.join(FIELD_TYPES)}", ftype)
            continue
        lo = r.number(spec, "min", f"{path}.min")
        hi = r.number(spec, "max", f"{path}.max")
        if lo is not None and hi is not None and lo > hi:
            r.err(f"{path}.min", f"greater than max {hi}", lo)
        values = [
            normalise_category(v)
            for v in r.texts(spec, "values", f"{path}.values", required=ftype == "category")
        ]
        missing = [
            normalise_category(v) for v in r.texts(spec, "missing_values", f"{path}.missing_values")
        ]
        for v in missing:
            if values and v not in values:
                r.err(f"{path}.missing_values", "must also be listed in 'values'", v)
        fmt = r.text(spec, "format", f"{path}.format", required=False, default="plain")
        if fmt not in ("plain", "percent"):
            r.err(f"{path}.format", "expected 'plain' or 'percent'", fmt)
        vt = r.table(spec, "value_text", f"{path}.value_text", required=False) or {}
        for k, v in vt.items():
            if not isinstance(v, str):
                r.err(f"{path}.value_text.{k}", "expected a string", v)
        partial = []
        raw_partial = spec.get("partial", [])
        if not isinstance(raw_partial, list):
            r.err(f"{path}.partial", "expected a list of {field, note} tables", raw_partial)
            raw_partial = []
        for i, p in enumerate(raw_partial):
            ppath = f"{path}.partial[{i}]"
            if not isinstance(p, dict):
                r.err(ppath, "expected a table with 'field' and 'note'", p)
                continue
            r.only(p, ("field", "note"), ppath)
            partial.append(
                Partial(r.text(p, "field", f"{ppath}.field"), r.text(p, "note", f"{ppath}.note"))
            )
        out[name] = FieldSpec(
            name=name,
            label=label,
            type=ftype,
            description=spec.get("description", "")
            if isinstance(spec.get("description"), str)
            else "",
            minimum=lo,
            maximum=hi,
            values=tuple(values),
            missing_values=tuple(missing),
            format=fmt,
            value_text=MappingProxyType({str(k): str(v) for k, v in vt.items()}),
            true_text=r.text(
                spec,
                "true_text",
                f"{path}.true_text",
                required=ftype == "boolean",
                default=f"{label}: yes",
            ),
            false_text=r.text(
                spec,
                "false_text",
                f"{path}.false_text",
                required=ftype == "boolean",
                default=f"{label}: no",
            ),
            partial=tuple(partial),
        )
    return out


def load_fields(path: str | os.PathLike[str] | None = None) -> dict[str, FieldSpec]:
    """Read ``fields.toml`` (``path``, or the one in :func:`find_models_dir`)."""
    p = Path(path) if path is not None else find_models_dir() / FIELDS_FILE
    collector = ProblemCollector()
    doc = _read_toml(p, collector)
    fields = _parse_fields(doc, _Reader(str(p), collector)) if doc is not None else {}
    collector.raise_if_any()
    return fields


# --------------------------------------------------------------------------- programmes

_PROGRAMME_KEYS = (
    "id",
    "name",
    "role",
    "summary",
    "notes",
    "sources",
    "terms",
    "match_within",
)
_SOURCE_KEYS = ("title", "publisher", "year", "url", "note")
_TERM_KEYS = (
    "days_per_week_min",
    "days_per_week_max",
    "support_modes",
    "duration_years",
    "review_interval_years",
    "support_school_required",
)
_TEST_KEYS = ("field", "op", "value", "closed", "label")
_CRITERION_META = ("id", "on_fail", "explain")


class _ProgrammeParser:
    def __init__(self, r: _Reader, fields: Mapping[str, FieldSpec]) -> None:
        self.r = r
        self.fields = dict(fields)
        self.used: set[str] = set()

    # -- values -------------------------------------------------------------------
    def _scalar(self, spec: FieldSpec, v: object, path: str) -> object:
        """Check one rule value against the field's type; return it or ``_MISSING``."""
        r = self.r
        if spec.type == "boolean":
            if not isinstance(v, bool):
                r.err(path, f"'{spec.name}' is a boolean; expected true or false", v)
                return _MISSING
            return v
        if spec.type in ("category", "text"):
            if not isinstance(v, str):
                r.err(path, f"'{spec.name}' holds text; expected a string", v)
                return _MISSING
            if spec.type == "category":
                key = normalise_category(v)
                if key not in spec.values:
                    r.err(
                        path,
                        f"not a code of '{spec.name}'; expected one of: {', '.join(spec.values)}",
                        v,
                    )
                    return _MISSING
                return key
            return v
        # numeric
        if isinstance(v, bool) or not isinstance(v, int | float):
            r.err(path, f"'{spec.name}' is numeric; expected a number", v)
            return _MISSING
        if spec.type == "integer" and float(v) != int(v):
            r.err(path, f"'{spec.name}' holds whole numbers; expected an integer", v)
            return _MISSING
        if (spec.minimum is not None and v < spec.minimum) or (
            spec.maximum is not None and v > spec.maximum
        ):
            hint = ""
            if spec.format == "percent":
                hint = f" ('{spec.name}' is a fraction: 0.4 means 40%)"
            r.err(
                path,
                f"outside the range of '{spec.name}', {spec.minimum:g} to {spec.maximum:g}{hint}",
                v,
            )
            return _MISSING
        return v

    def _test(self, tbl: dict, path: str) -> Test | None:
        r = self.r
        r.only(tbl, _TEST_KEYS, path)
        fname = tbl.get("field", _MISSING)
        if fname is _MISSING:
            r.err(f"{path}.field", "missing; a test needs 'field', 'op' and 'value'")
            return None
        if not isinstance(fname, str) or fname not in self.fields:
            r.err(
                f"{path}.field",
                f"unknown field; expected one of: {', '.join(sorted(self.fields))}",
                fname,
            )
            return None
        spec = self.fields[fname]
        self.used.add(fname)
        op = tbl.get("op", _MISSING)
        if op is _MISSING:
            r.err(f"{path}.op", f"missing; expected one of: {', '.join(OPS)}")
            return None
        if op not in OPS:
            r.err(f"{path}.op", f"unknown op; expected one of: {', '.join(OPS)}", op)
            return None
        if op in ("ge", "gt", "le", "lt", "between") and not spec.numeric:
            r.err(f"{path}.op", f"'{op}' needs a numeric field but '{fname}' is {spec.type}", op)
            return None
        if spec.type == "boolean" and op not in ("eq", "ne"):
            r.err(f"{path}.op", f"boolean field '{fname}' takes only eq or ne", op)
            return None
        label = tbl.get("label", "")
        if not isinstance(label, str):
            r.err(f"{path}.label", "expected a string", label)
            label = ""
        closed = tbl.get("closed", "left")
        if "closed" in tbl and op != "between":
            r.err(f"{path}.closed", "only used with op = 'between'", closed)
        if closed not in CLOSED:
            r.err(f"{path}.closed", f"expected one of: {', '.join(CLOSED)}", closed)
            closed = "left"
        raw = tbl.get("value", _MISSING)
        vpath = f"{path}.value"
        if raw is _MISSING:
            r.err(vpath, "missing; a test needs 'field', 'op' and 'value'")
            return None
        value: object
        if op in ("in", "not_in"):
            if not isinstance(raw, list) or not raw:
                r.err(vpath, f"op '{op}' needs a non-empty list", raw)
                return None
            items = [self._scalar(spec, v, f"{vpath}[{i}]") for i, v in enumerate(raw)]
            if any(v is _MISSING for v in items):
                return None
            value = tuple(items)
        elif op == "between":
            if not isinstance(raw, list) or len(raw) != 2:
                r.err(vpath, "op 'between' needs a list [lo, hi]", raw)
                return None
            lo = self._scalar(spec, raw[0], f"{vpath}[0]")
            hi = self._scalar(spec, raw[1], f"{vpath}[1]")
            if lo is _MISSING or hi is _MISSING:
                return None
            if not lo < hi:  # type: ignore[operator]
                r.err(vpath, "expected lo < hi", raw)
                return None
            value = (lo, hi)
        else:
            if isinstance(raw, list | dict):
                r.err(vpath, f"op '{op}' needs a single value", raw)
                return None
            value = self._scalar(spec, raw, vpath)
            if value is _MISSING:
                return None
        return Test(field=fname, op=op, value=value, closed=closed, label=label)

    def condition(
        self, tbl: object, path: str, extra_keys: tuple[str, ...] = ()
    ) -> Condition | None:
        r = self.r
        if not isinstance(tbl, dict):
            r.err(path, "expected a table", tbl)
            return None
        body = {k: v for k, v in tbl.items() if k not in extra_keys}
        forms = [k for k in ("field", "all_of", "any_of", "at_least") if k in body]
        if not forms and ("op" in body or "value" in body):
            forms = ["field"]
        if len(forms) != 1:
            r.err(
                path,
                "expected exactly one of: 'field' (with 'op' and 'value'), "
                "'all_of', 'any_of', or 'at_least' (with 'of')",
                forms if forms else _MISSING,
            )
            return None
        form = forms[0]
        if form == "field":
            return self._test(body, path)
        label = body.get("label", "")
        if not isinstance(label, str):
            r.err(f"{path}.label", "expected a string", label)
            label = ""
        if form == "at_least":
            r.only(body, ("at_least", "of", "label"), path)
            k = body["at_least"]
            items_raw = body.get("of", _MISSING)
            if items_raw is _MISSING:
                r.err(f"{path}.of", "missing; 'at_least' needs a list 'of' conditions")
                return None
        else:
            r.only(body, (form, "label"), path)
            k = None
            items_raw = body[form]
        key = "of" if form == "at_least" else form
        if not isinstance(items_raw, list) or not items_raw:
            r.err(f"{path}.{key}", "expected a non-empty list of conditions", items_raw)
            return None
        items = [self.condition(it, f"{path}.{key}[{i}]") for i, it in enumerate(items_raw)]
        if form == "at_least" and (
            isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(items_raw)
        ):
            r.err(f"{path}.at_least", f"expected an integer from 1 to {len(items_raw)}", k)
            return None
        if any(it is None for it in items):
            return None
        return Group(mode=form, items=tuple(items), at_least=k, label=label)  # type: ignore[arg-type]

    # -- whole file ---------------------------------------------------------------
    def derivations(self, doc: Mapping) -> list[Derivation]:
        r = self.r
        raw = doc.get("derive", [])
        if not isinstance(raw, list):
            r.err("derive", "expected an array of tables ([[derive]])", raw)
            return []
        out = []
        for i, d in enumerate(raw):
            path = f"derive[{i}]"
            if not isinstance(d, dict):
                r.err(path, "expected a table", d)
                continue
            r.only(d, ("name", "label", "from", "map", "default"), path)
            name = r.text(d, "name", f"{path}.name")
            src = r.text(d, "from", f"{path}.from")
            if src and src not in self.fields:
                r.err(
                    f"{path}.from",
                    f"unknown field; expected one of: {', '.join(sorted(self.fields))}",
                    src,
                )
                continue
            if src and self.fields[src].type not in ("text", "category"):
                r.err(f"{path}.from", "lookups need a text or category field", src)
                continue
            if name in self.fields:
                r.err(f"{path}.name", "clashes with an input field; choose another name", name)
                continue
            mapping = r.table(d, "map", f"{path}.map") or {}
            groups: dict[str, tuple[str, ...]] = {}
            seen: dict[str, str] = {}
            for outv, inputs in mapping.items():
                mpath = f"{path}.map.{outv}"
                if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
                    r.err(mpath, "expected a list of input values (strings)", inputs)
                    continue
                for x in inputs:
                    key = normalise_text(x)
                    if key in seen:
                        r.err(mpath, f"input value also listed under '{seen[key]}'", x)
                    seen[key] = outv
                groups[outv] = tuple(inputs)
            default = d.get("default")
            if default is not None and not isinstance(default, str):
                r.err(f"{path}.default", "expected a string", default)
                default = None
            if not name or not src:
                continue
            label = r.text(d, "label", f"{path}.label", required=False, default=name)
            der = Derivation(
                name=name, label=label, source=src, groups=MappingProxyType(groups), default=default
            )
            self.fields[name] = FieldSpec(
                name=name,
                label=label,
                type="category",
                values=tuple(normalise_category(v) for v in der.outputs),
            )
            self.used.add(src)
            out.append(der)
        return out

    def criteria(self, doc: Mapping) -> list[Criterion]:
        r = self.r
        raw = doc.get("criteria", _MISSING)
        if raw is _MISSING:
            r.err("criteria", "missing; expected at least one [[criteria]] table")
            return []
        if not isinstance(raw, list) or not raw:
            r.err("criteria", "expected a non-empty array of tables ([[criteria]])", raw)
            return []
        out = []
        ids: set[str] = set()
        for i, c in enumerate(raw):
            path = f"criteria[{i}]"
            if not isinstance(c, dict):
                r.err(path, "expected a table", c)
                continue
            cid = r.text(c, "id", f"{path}.id")
            if cid in ids:
                r.err(f"{path}.id", "duplicate criterion id", cid)
            ids.add(cid)
            on_fail = c.get("on_fail", _MISSING)
            if on_fail is _MISSING:
                r.err(f"{path}.on_fail", f"missing; expected one of: {', '.join(ON_FAIL)}")
            elif on_fail not in ON_FAIL:
                r.err(f"{path}.on_fail", f"expected one of: {', '.join(ON_FAIL)}", on_fail)
            explain = r.text(c, "explain", f"{path}.explain")
            cond = self.condition(c, path, extra_keys=_CRITERION_META)
            if cond is None or not cid or on_fail not in ON_FAIL or not explain:
                continue
            out.append(Criterion(id=cid, condition=cond, on_fail=OnFail(on_fail), explain=explain))
        return out


def _parse_programme(
    doc: Mapping, path: Path, fields: Mapping[str, FieldSpec], r: _Reader
) -> Programme | None:
    _check_version(r, doc)
    r.only(doc, ("schema_version", "programme", "derive", "criteria"), "")
    meta = r.table(doc, "programme", "programme") or {}
    r.only(meta, _PROGRAMME_KEYS, "programme")
    pid = r.text(meta, "id", "programme.id")
    name = r.text(meta, "name", "programme.name")
    role = meta.get("role", _MISSING)
    roles = [m.value for m in Role]
    if role is _MISSING:
        r.err("programme.role", f"missing; expected one of: {', '.join(roles)}")
    elif role not in roles:
        r.err("programme.role", f"expected one of: {', '.join(roles)}", role)
    summary = r.text(meta, "summary", "programme.summary", required=False)
    notes = r.texts(meta, "notes", "programme.notes")

    sources = []
    raw_sources = meta.get("sources", _MISSING)
    if raw_sources is _MISSING or not isinstance(raw_sources, list) or not raw_sources:
        r.err(
            "programme.sources",
            "expected at least one [[programme.sources]] table (title, publisher, year, url)",
            None if raw_sources is _MISSING else raw_sources,
        )
        raw_sources = []
    for i, s in enumerate(raw_sources):
        spath = f"programme.sources[{i}]"
        if not isinstance(s, dict):
            r.err(spath, "expected a table", s)
            continue
        r.only(s, _SOURCE_KEYS, spath)
        year = s.get("year", _MISSING)
        if isinstance(year, int) and not isinstance(year, bool):
            year = str(year)
        if not isinstance(year, str) or not year.strip():
            r.err(
                f"{spath}.year",
                'expected a year or range, e.g. "2014-2018"',
                None if year is _MISSING else year,
            )
            year = ""
        sources.append(
            Source(
                title=r.text(s, "title", f"{spath}.title"),
                publisher=r.text(s, "publisher", f"{spath}.publisher"),
                year=year,
                url=r.text(s, "url", f"{spath}.url"),
                note=r.text(s, "note", f"{spath}.note", required=False),
            )
        )

    terms_raw = r.table(meta, "terms", "programme.terms", required=False) or {}
    r.only(terms_raw, _TERM_KEYS, "programme.terms")
    sreq = terms_raw.get("support_school_required")
    if sreq is not None and not isinstance(sreq, bool):
        r.err("programme.terms.support_school_required", "expected true or false", sreq)
        sreq = None
    terms = Terms(
        days_per_week_min=r.number(
            terms_raw, "days_per_week_min", "programme.terms.days_per_week_min"
        ),
        days_per_week_max=r.number(
            terms_raw, "days_per_week_max", "programme.terms.days_per_week_max"
        ),
        support_modes=tuple(r.texts(terms_raw, "support_modes", "programme.terms.support_modes")),
        duration_years=r.number(terms_raw, "duration_years", "programme.terms.duration_years"),
        review_interval_years=r.number(
            terms_raw, "review_interval_years", "programme.terms.review_interval_years"
        ),
        support_school_required=sreq,
    )
    if (
        terms.days_per_week_min is not None
        and terms.days_per_week_max is not None
        and terms.days_per_week_min > terms.days_per_week_max
    ):
        r.err(
            "programme.terms.days_per_week_min",
            "greater than days_per_week_max",
            terms.days_per_week_min,
        )

    parser = _ProgrammeParser(r, fields)
    derived = parser.derivations(doc)
    criteria = parser.criteria(doc)
    match_within = r.texts(meta, "match_within", "programme.match_within")
    for m in match_within:
        if m not in parser.fields:
            r.err("programme.match_within", "unknown field", m)
    if r.out.problems:
        return None
    return Programme(
        id=pid,
        name=name,
        role=Role(role),  # type: ignore[arg-type]
        summary=summary,
        path=path,
        sources=tuple(sources),
        criteria=tuple(criteria),
        terms=terms,
        derived=tuple(derived),
        match_within=tuple(match_within),
        notes=tuple(notes),
        fields=MappingProxyType(
            {k: parser.fields[k] for k in sorted(parser.used | {d.name for d in derived})}
        ),
    )


def _resolve(name_or_path: str | os.PathLike[str], models_dir: Path | None) -> Path:
    text = os.fspath(name_or_path)
    p = Path(text)
    looks_like_path = p.suffix == ".toml" or os.sep in text or "/" in text
    if looks_like_path:
        return p
    d = models_dir if models_dir is not None else find_models_dir()
    candidate = d / f"{text}.toml"
    if not candidate.is_file() or text == Path(FIELDS_FILE).stem:
        names = ", ".join(sorted(q.stem for q in d.glob("*.toml") if q.name != FIELDS_FILE))
        raise InputError.one(
            str(candidate), f"no such programme '{text}'; expected one of: {names}"
        )
    return candidate


def _fields_for(path: Path, models_dir: Path | None) -> tuple[Path, dict[str, FieldSpec]]:
    beside = path.parent / FIELDS_FILE
    fpath = beside if beside.is_file() else (models_dir or find_models_dir()) / FIELDS_FILE
    return fpath, load_fields(fpath)


def load_programme(
    name_or_path: str | os.PathLike[str], models_dir: str | os.PathLike[str] | None = None
) -> Programme:
    """Load and validate one programme.

    Parameters
    ----------
    name_or_path
        A programme name such as ``"nle"`` (read from the models folder), or the path of a
        ``.toml`` file anywhere.
    models_dir
        Folder to use instead of :func:`find_models_dir`'s search.

    Raises
    ------
    InputError
        The file is missing, not TOML, or breaks the schema; every problem names the file
        and key.
    """
    d = find_models_dir(models_dir) if models_dir is not None else None
    path = _resolve(name_or_path, d)
    _, fields = _fields_for(path, d)
    collector = ProblemCollector()
    doc = _read_toml(path, collector)
    prog = None
    if doc is not None:
        prog = _parse_programme(doc, path, fields, _Reader(str(path), collector))
    collector.raise_if_any()
    assert prog is not None
    return prog


def load_all(models_dir: str | os.PathLike[str] | None = None) -> dict[str, Programme]:
    """Load every programme in the models folder, keyed by ``programme.id``.

    Problems in all files are collected and raised together as one
    :class:`~broker.errors.InputError`; ids must be unique.
    """
    d = find_models_dir(models_dir)
    fields = load_fields(d / FIELDS_FILE)
    problems: list[Problem] = []
    out: dict[str, Programme] = {}
    for path in sorted(d.glob("*.toml")):
        if path.name in NOT_PROGRAMMES:
            continue
        collector = ProblemCollector()
        doc = _read_toml(path, collector)
        prog = None
        if doc is not None:
            prog = _parse_programme(doc, path, fields, _Reader(str(path), collector))
        problems.extend(collector.problems)
        if prog is None:
            continue
        if prog.id in out:
            problems.append(
                Problem(
                    str(path),
                    f"key 'programme.id' (found {prog.id!r}): "
                    f"also used by {out[prog.id].path.name}",
                )
            )
            continue
        out[prog.id] = prog
    if problems:
        raise InputError(problems)
    if not out:
        raise InputError.one(str(d), "no programme rule files (*.toml) found")
    return out
