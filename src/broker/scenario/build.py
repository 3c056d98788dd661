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
from broker.errors import ProblemCollector
from broker.scenario import schema
from broker.scenario.model import Config, Scenario
from broker.scenario.read import (
    _pairs,
    check_config,
    check_sizes,
    parse_authorities,
    parse_clients,
    parse_supporters,
)


def _as_text(frame: pd.DataFrame | None, columns: tuple[str, ...] = ()) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(
            {c: pd.Series(dtype=object) for c in columns},
            index=pd.Index([], name="row", dtype="int64"),
        )
    out = pd.DataFrame(index=pd.RangeIndex(2, len(frame) + 2, name="row"))
    for c in frame.columns:
        out[c] = [_cell(v) for v in frame[c]]
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
    label: str = "<memory>",
) -> Scenario:
    """Validate in-memory tables laid out as scenario format v1.

    Parameters
    ----------
    config
        Scenario settings.
    supporters, clients, authorities, conflicts, pinned
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
    s = parse_supporters(sup, f"{label}/supporters.csv", errors)
    c = parse_clients(cli, f"{label}/clients.csv", errors, config.weeks)
    a = parse_authorities(_as_text(authorities, ("la_code",)), f"{label}/authorities.csv", errors)
    sids, cids = set(s["supporter_id"]), set(c["client_id"])
    con = _pairs(
        _as_text(conflicts, ("client_id", "supporter_id")),
        f"{label}/conflicts.csv",
        errors,
        sids,
        cids,
    )
    pin_text = _as_text(pinned, ("client_id", "supporter_id"))
    pin = _pairs(pin_text, f"{label}/pinned.csv", errors, sids, cids)
    for row in pin_text.index[pin_text["client_id"].duplicated(keep="first")]:
        errors.add(
            f"{label}/pinned.csv",
            "client pinned more than once",
            row=row,
            column="client_id",
            value=pin_text.at[row, "client_id"],
        )
    errors.raise_if_any()
    return Scenario(
        config=config,
        supporters=s.reset_index(drop=False),
        clients=c.reset_index(drop=False),
        authorities=a.reset_index(drop=False),
        conflicts=con.reset_index(drop=False),
        pinned=pin.reset_index(drop=False),
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
)


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
    (root / "scenario.toml").write_text("\n".join(lines), encoding="utf-8")

    sup = scenario.supporters.copy()
    sup["phase"] = [";".join(p) for p in sup["phases"]]
    sup["cross_phase"] = ["true" if v else "" for v in sup["cross_phase"]]
    _write_csv(sup, SUPPORTER_COLUMNS, root / "supporters.csv")
    cli = scenario.clients.copy()
    cli["weeks"] = [("" if w == cfg.weeks else str(w)) for w in cli["weeks"]]
    _write_csv(cli, CLIENT_COLUMNS, root / "clients.csv")
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
    if len(scenario.pinned):
        _write_csv(scenario.pinned, ("client_id", "supporter_id"), root / "pinned.csv")
    return root


def _toml_num(x: float) -> str:
    """``x`` as short as ``:g`` writes it when that reads back exactly, else in full."""
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


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
    known = set(SUPPORTER_COLUMNS) | set(CLIENT_COLUMNS) | INTERNAL_COLUMNS | {"cross_la"}
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
    }
    keep = []
    for c in cols:
        col = frame[c]
        if c in drop_empty and all(_cell(v) == "" for v in col):
            continue
        keep.append(c)
    out = pd.DataFrame({c: [_cell(v) for v in frame[c]] for c in keep})
    write_csv(out, path)
