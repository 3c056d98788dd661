"""Build a validated :class:`Scenario` from in-memory tables, and write one to disk.

:func:`from_frames` runs exactly the same validation as reading a folder (each cell
is turned into text and parsed), so generated and hand-written scenarios obey one
contract.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from broker.csvtext import write_csv
from broker.errors import InputError, ProblemCollector
from broker.scenario import schema
from broker.scenario.model import Config, Scenario
from broker.scenario.read import (
    check_config,
    check_sizes,
    parse_authorities,
    parse_clients,
    parse_pair_files,
    parse_supporters,
)


def _table(frame: object, file: str, *, required: bool) -> pd.DataFrame | None:
    """``frame`` as a DataFrame, or an :class:`InputError` saying what was expected.

    Accepts a DataFrame, or anything ``pandas.DataFrame`` builds a table from (a
    list of row dicts, a dict of columns); ``None`` for an optional table.
    """
    if frame is None and not required:
        return None
    if isinstance(frame, pd.DataFrame):
        table = frame
    else:
        try:
            if frame is None or isinstance(frame, (str, bytes, int, float)):
                raise TypeError(type(frame).__name__)
            table = pd.DataFrame(frame)
        except (TypeError, ValueError) as exc:
            raise InputError.one(
                file,
                f"cannot make a table of a {type(frame).__name__} ({exc}); expected a pandas "
                "DataFrame with the columns of the file (docs/scenario-format.md)",
            ) from None
    if table.columns.duplicated().any():
        dup = sorted({str(c) for c in table.columns[table.columns.duplicated()]})
        raise InputError.one(file, "duplicate column(s) " + ", ".join(dup), row=1)
    return table


def _as_text(frame: pd.DataFrame | None, columns: tuple[str, ...] = ()) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(
            {c: pd.Series(dtype=object) for c in columns},
            index=pd.Index([], name="row", dtype="int64"),
        )
    out = pd.DataFrame(index=pd.RangeIndex(2, len(frame) + 2, name="row"))
    for c in frame.columns:
        if str(c) in INTERNAL_COLUMNS:  # derived columns of a table read before
            continue
        out[str(c)] = pd.Series([_cell(v) for v in frame[c]], index=out.index, dtype=object)
    return out


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return repr(v)  # refused by validation as not a finite number
        return repr(v) if v != int(v) else str(int(v)) if abs(v) < 1e15 else repr(v)
    if isinstance(v, (list, tuple, set, frozenset)):
        return ";".join(str(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    try:
        if pd.isna(v):  # type: ignore[arg-type]
            return ""
    except (TypeError, ValueError):
        pass
    return str(v).strip()


def from_frames(
    config: Config,
    supporters: pd.DataFrame,
    clients: pd.DataFrame,
    authorities: pd.DataFrame | None = None,
    conflicts: pd.DataFrame | None = None,
    pinned: pd.DataFrame | None = None,
    *,
    proposals: pd.DataFrame | None = None,
    label: str = "<memory>",
) -> Scenario:
    """Validate in-memory tables laid out as scenario format v1.

    Parameters
    ----------
    config
        Scenario settings.
    supporters, clients, authorities, conflicts, pinned, proposals
        Tables with the same columns as the CSV files. Lists in ``phase`` or
        ``neighbours`` may be given as tuples. Inputs are not modified.
    label
        Prefix used in place of a folder in error messages.

    Raises
    ------
    broker.errors.InputError
        As :func:`broker.scenario.read_scenario` does.
    """
    errors = ProblemCollector()
    if not isinstance(config, Config):
        raise InputError.one(
            f"{label}/scenario.toml",
            f"config is a {type(config).__name__}; expected a broker.scenario.Config "
            "(for example Config(name='my round'), or the config of a scenario read before)",
        )
    tables = {
        name: _table(frame, f"{label}/{name}.csv", required=name in ("supporters", "clients"))
        for name, frame in (
            ("supporters", supporters),
            ("clients", clients),
            ("authorities", authorities),
            ("conflicts", conflicts),
            ("pinned", pinned),
            ("proposals", proposals),
        )
    }
    supporters, clients = tables["supporters"], tables["clients"]
    authorities, conflicts = tables["authorities"], tables["conflicts"]
    pinned, proposals = tables["pinned"], tables["proposals"]
    assert supporters is not None and clients is not None
    if "phase_mask" in supporters.columns:  # a table of a Scenario read or built before
        supporters = _supporters_as_written(supporters)
    if "phase_mask" in clients.columns:
        clients = _clients_as_written(clients, config)
    check_config(config, f"{label}/scenario.toml", errors)
    sup = _as_text(supporters)
    cli = _as_text(clients)
    for name, frame, required in (
        ("supporters", sup, schema.SUPPORTERS_REQUIRED),
        ("clients", cli, schema.CLIENTS_REQUIRED),
    ):
        missing = [c for c in required if c not in frame.columns]
        if missing:
            errors.add(
                f"{label}/{name}.csv", "missing required column(s) " + ", ".join(missing), row=1
            )
    check_sizes(sup, cli, f"{label}/supporters.csv", f"{label}/clients.csv", errors)
    errors.raise_if_any()
    s = parse_supporters(sup, f"{label}/supporters.csv", errors, config)
    c = parse_clients(cli, f"{label}/clients.csv", errors, config.weeks, config)
    a = parse_authorities(_as_text(authorities, ("la_code",)), f"{label}/authorities.csv", errors)
    errors.raise_if_any()
    pair_cols = ("client_id", "supporter_id")
    con, pin, prop = parse_pair_files(
        c,
        s,
        _as_text(conflicts, pair_cols),
        _as_text(pinned, pair_cols),
        _as_text(proposals, pair_cols),
        label,
        errors,
    )
    errors.raise_if_any()
    return Scenario(
        config=config,
        supporters=s.reset_index(drop=False),
        clients=c.reset_index(drop=False),
        authorities=a.reset_index(drop=False),
        conflicts=con.reset_index(drop=False),
        pinned=pin.reset_index(drop=False),
        proposals=prop.reset_index(drop=False),
    )


SUPPORTER_COLUMNS = (
    "supporter_id",
    "name",
    "urn",
    "kind",
    "phase",
    "la_code",
    "easting",
    "northing",
    "capacity_days",
    "day_rate_gbp",
    "max_distance_km",
    "cross_phase",
    "network",
    "capacity_by_term",
    "modes",
    "expertise",
)
CLIENT_COLUMNS = (
    "client_id",
    "name",
    "urn",
    "phase",
    "la_code",
    "easting",
    "northing",
    "need_days",
    "priority",
    "ofsted_grade",
    "category",
    "budget_gbp",
    "weeks",
    "network",
    "start_term",
    "terms",
    "mode",
    "team_size",
    "second_mode",
    "second_need_days",
    "needs",
    "must",
    "previous_supporter_id",
    "exclude_kinds",
    "high_need",
)
NEW_COLUMNS = set(SUPPORTER_COLUMNS[13:]) | set(CLIENT_COLUMNS[14:])
"""Columns added to format v1 after its first release: all optional, written only
where a row differs from the default, so a v1 scenario is written as v1."""


def write_scenario(scenario: Scenario, folder: str | Path) -> Path:
    """Write ``scenario`` as a format-v1 folder (creating it) and return its path."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    cfg = scenario.config
    lines = [
        f"name = {_toml_str(cfg.name)}",
        f"description = {_toml_str(cfg.description)}",
        "",
        "[round]",
        f"weeks = {cfg.weeks}",
        "",
        "[defaults]",
        f"max_distance_km = {_toml_num(cfg.max_distance_km)}",
        f"allow_cross_phase = {'true' if cfg.allow_cross_phase else 'false'}",
        "",
    ]
    if cfg.programme_budget_gbp is not None:
        lines += ["[budget]", f"programme_gbp = {cfg.programme_budget_gbp:.2f}", ""]
    w = cfg.weights
    lines += [
        "[weights]",
        f"cost_per_1000_gbp = {_toml_num(w.cost_per_1000_gbp)}",
        f"distance_per_km = {_toml_num(w.distance_per_km)}",
        f"cross_phase = {_toml_num(w.cross_phase)}",
        f"other_la = {_toml_num(w.other_la)}",
        "",
    ]
    if (w.continuity, w.expertise, w.outside_network) != (100.0, 20.0, 50.0):
        lines[-1:-1] = [
            f"continuity = {_toml_num(w.continuity)}",
            f"expertise = {_toml_num(w.expertise)}",
            f"outside_network = {_toml_num(w.outside_network)}",
        ]
    if cfg.terms != 1:
        lines.insert(lines.index("[round]") + 2, f"terms = {cfg.terms}")
    if cfg.funder_budgets_gbp:
        lines += ["[budget.funders]"]
        lines += [f"{_toml_key(k)} = {v:.2f}" for k, v in sorted(cfg.funder_budgets_gbp.items())]
        lines += [""]
    if cfg.funders:
        lines += ["[funders]"]
        lines += [f"{_toml_key(k)} = {_toml_str(v)}" for k, v in sorted(cfg.funders.items())]
        lines += [""]
    objective = []
    if cfg.high_need_weight:
        objective.append(f"high_need_weight = {_toml_num(cfg.high_need_weight)}")
    if cfg.no_school_isolated:
        objective.append("no_school_isolated = true")
    if objective:
        lines += ["[objective]", *objective, ""]
    if cfg.network_rule != "hard":
        lines.insert(lines.index("[defaults]") + 1, f'network = "{cfg.network_rule}"')
    (root / "scenario.toml").write_text("\n".join(lines), encoding="utf-8")

    _write_csv(
        _supporters_as_written(scenario.supporters), SUPPORTER_COLUMNS, root / "supporters.csv"
    )
    _write_csv(_clients_as_written(scenario.clients, cfg), CLIENT_COLUMNS, root / "clients.csv")
    if len(scenario.authorities):
        aut = scenario.authorities.copy()
        aut["neighbours"] = [";".join(n) for n in aut["neighbours"]]
        _write_csv(
            aut,
            ("la_code", "name", "cross_la", "budget_gbp", "neighbours"),
            root / "authorities.csv",
        )
    if len(scenario.conflicts):
        _write_csv(scenario.conflicts, ("supporter_id", "client_id"), root / "conflicts.csv")
    for name, table in (("pinned", scenario.pinned), ("proposals", scenario.proposals)):
        if len(table):
            cols: tuple[str, ...] = ("client_id", "supporter_id")
            if "role" in table and (table["role"] == "second").any():
                cols += ("role",)
            _write_csv(table, cols, root / f"{name}.csv")
    return root


def _supporters_as_written(supporters: pd.DataFrame) -> pd.DataFrame:
    """A validated supporters table as a file would hold it (defaults left blank)."""
    from broker.rules.modes import load_modes

    cat = load_modes()
    sup = supporters.copy()
    sup["phase"] = [";".join(p) for p in sup["phases"]]
    if "cross_phase" in sup:
        sup["cross_phase"] = ["true" if v else "" for v in sup["cross_phase"]]
    if "capacity_by_term" in sup and "capacity_days" in sup:
        sup["capacity_by_term"] = [
            "" if all(x == c for x in t) else ";".join(f"{x:g}" for x in t)
            for t, c in zip(sup["capacity_by_term"], sup["capacity_days"], strict=True)
        ]
    if "modes" in sup and "kind" in sup:
        sup["modes"] = [
            "" if tuple(m) == cat.kind_modes(k) else ";".join(m)
            for m, k in zip(sup["modes"], sup["kind"], strict=True)
        ]
    return sup


def _clients_as_written(clients: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """A validated clients table as a file would hold it (defaults left blank)."""
    from broker.rules.modes import load_modes

    cat = load_modes()
    cli = clients.copy()
    if "weeks" in cli:
        cli["weeks"] = [("" if w == cfg.weeks else str(w)) for w in cli["weeks"]]
    if "start_term" in cli and "terms" in cli:
        default_span = cfg.terms - cli["start_term"] + 1
        cli["terms"] = [
            "" if t == d else str(t) for t, d in zip(cli["terms"], default_span, strict=True)
        ]
        cli["start_term"] = ["" if t == 1 else str(t) for t in cli["start_term"]]
    if {"mode", "second_mode", "category"} <= set(cli.columns):
        cli["second_mode"] = [
            "" if tuple(sm) == tuple(m) else ";".join(sm)
            for sm, m in zip(cli["second_mode"], cli["mode"], strict=True)
        ]
        cli["mode"] = [
            "" if tuple(m) == cat.client_modes(str(c)) else ";".join(m)
            for m, c in zip(cli["mode"], cli["category"], strict=True)
        ]
    if {"team_size", "second_need_days", "need_days"} <= set(cli.columns):
        cli["second_need_days"] = [
            "" if sn == n else f"{sn:g}"
            for sn, n in zip(cli["second_need_days"], cli["need_days"], strict=True)
        ]
        cli["team_size"] = ["" if t == 1 else str(t) for t in cli["team_size"]]
    if "high_need" in cli:
        cli["high_need"] = ["true" if v else "" for v in cli["high_need"]]
    return cli


def _toml_num(x: float) -> str:
    """``x`` as short as ``:g`` writes it when that reads back exactly, else in full."""
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


def _toml_key(key: str) -> str:
    """``key`` as a TOML key: bare if it may be (letters, digits, ``_``, ``-``), else quoted."""
    if key and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in key):
        return key
    return _toml_str(key)


def _toml_str(s: str) -> str:
    """A TOML basic string: backslash, quote and every control character escaped."""
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif (ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


INTERNAL_COLUMNS = {"row", "phases", "phase_mask"}


def _write_csv(frame: pd.DataFrame, columns: tuple[str, ...], path: Path) -> None:
    """Write the canonical columns, then any extra columns the user supplied."""
    cols = [c for c in columns if c in frame.columns]
    known = set(SUPPORTER_COLUMNS) | set(CLIENT_COLUMNS) | INTERNAL_COLUMNS | {"cross_la", "role"}
    cols += [c for c in frame.columns if c not in known and c not in cols]
    drop_empty = {
        "name",
        "urn",
        "max_distance_km",
        "cross_phase",
        "network",
        "ofsted_grade",
        "category",
        "budget_gbp",
        "weeks",
        "neighbours",
        *NEW_COLUMNS,
    }
    keep = []
    for c in cols:
        col = frame[c]
        if c in drop_empty and all(_cell(v) == "" for v in col):
            continue
        keep.append(c)
    out = pd.DataFrame({c: [_cell(v) for v in frame[c]] for c in keep})
    write_csv(out, path)
