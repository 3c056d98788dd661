"""What-if changes to scenario files, and scenario uploads (no solver, no server)."""

from __future__ import annotations

import io
import zipfile

import pytest

from broker.errors import InputError
from broker.ledger.db import open_ledger
from broker.scenario import read_scenario
from broker.service import services
from broker.service.scope import Forbidden, Scope
from broker.service.whatif import apply_changes
from service_helpers import write_scenario

PROG = Scope("prog", "programme")


def test_budgets_rules_capacity_and_reach(tmp_path):
    folder = write_scenario(tmp_path / "s")
    done = apply_changes(
        folder,
        {
            "authority_budgets": {"855": 12500.5, "857": 1000},
            "cross_la": {"856": "prefer_own"},
            "supporters": {"S1": {"capacity_days": 0.5, "max_distance_km": 12.5}},
        },
    )
    assert len(done) == 5
    sc = read_scenario(folder)
    a = sc.authorities.set_index("la_code")
    assert a.at["855", "budget_gbp"] == 12500.5 and a.at["857", "budget_gbp"] == 1000
    assert a.at["856", "cross_la"] == "prefer_own" and a.at["855", "cross_la"] == "own_only"
    s = sc.supporters.set_index("supporter_id")
    assert s.at["S1", "capacity_days"] == 0.5 and s.at["S1", "max_distance_km"] == 12.5
    assert s.at["S2", "capacity_days"] == 2


def test_capacity_by_term_moves_with_capacity(tmp_path):
    folder = write_scenario(tmp_path / "s")
    toml = (folder / "scenario.toml").read_text().replace("weeks = 10", "weeks = 10\nterms = 2")
    (folder / "scenario.toml").write_text(toml)
    sup = (folder / "supporters.csv").read_text().splitlines()
    sup[0] += ",capacity_by_term"
    sup[1] += ",2;1"
    sup[2:] = [line + "," for line in sup[2:]]
    (folder / "supporters.csv").write_text("\n".join(sup) + "\n")
    apply_changes(folder, {"supporters": {"S1": {"capacity_days": 3}}})
    s = read_scenario(folder).supporters.set_index("supporter_id")
    assert tuple(s.at["S1", "capacity_by_term"]) == (3.0, 2.0)


def test_unknown_supporter_is_a_clear_error(tmp_path):
    folder = write_scenario(tmp_path / "s")
    with pytest.raises(InputError, match="no supporter with this id"):
        apply_changes(folder, {"supporters": {"S99": {"capacity_days": 1}}})


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_uploads(tmp_path):
    folder = write_scenario(tmp_path / "s")
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    ledger = open_ledger(f"sqlite:///{tmp_path}/ledger.db")
    try:
        with ledger.session() as s:
            with pytest.raises(InputError, match="not a zip file"):
                services.upload_scenario(s, PROG, b"PK nonsense", "x.zip", 10**6)
            no_toml = _zip({k: v for k, v in files.items() if k != "scenario.toml"})
            with pytest.raises(InputError, match="no scenario.toml"):
                services.upload_scenario(s, PROG, no_toml, "x.zip", 10**6)
            big = _zip(files)
            with pytest.raises(InputError, match="unpack to"):
                services.upload_scenario(s, PROG, big, "x.zip", 100)
            bad = _zip({**files, "clients.csv": files["clients.csv"].replace(b",3\n", b",x\n")})
            with pytest.raises(InputError, match="clients.csv"):
                services.upload_scenario(s, PROG, bad, "x.zip", 10**6)
            with pytest.raises(Forbidden):
                services.upload_scenario(s, Scope("lee", "la", ("855",)), big, "x.zip", 10**6)
            # names are reduced to their last part: nothing is written outside a temporary folder
            sneaky = _zip({f"../../up/{k}": v for k, v in files.items()} | {"notes.txt": b"x"})
            out = services.upload_scenario(s, PROG, sneaky, "x.zip", 10**6)
            assert out.files == sorted(files)
            again = services.upload_scenario(s, PROG, big, "x.zip", 10**6)
            assert again.id == out.id  # same files: the same stored scenario
    finally:
        ledger.close()
    assert not (tmp_path.parent / "up").exists()


def test_fixes_that_displace_schools_are_for_programme_users_only():
    fixes = [
        {"fix_kind": "reach", "fix_text": "extend the reach of S2 by 15.6 km"},
        {"fix_kind": "displace", "fix_text": "pin it to S3, displacing D3 (priority 1)"},
    ]
    assert len(services._visible_fixes(PROG, fixes)) == 2
    assert services._visible_fixes(Scope("lee", "la", ("855",)), fixes) == [fixes[0]["fix_text"]]
