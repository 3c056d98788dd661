"""The service's API with FastAPI's TestClient: real rounds and what-ifs in worker processes.

Scenarios are tiny (seven clients) and solves are short. Isolation between
authorities is tested route by route in ``test_service_isolation.py``.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from broker.service.app import create_app
from broker.service.config import Settings
from service_helpers import PASSWORD, auth, make_users, wait_job, write_scenario, zip_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("svc")
    url = f"sqlite:///{tmp}/ledger.db"
    app = create_app(Settings(db=url, secret="s", time_limit_s=5, max_jobs=1))
    tokens = make_users(url)
    with TestClient(app) as client:
        zipped = zip_folder(write_scenario(tmp / "scenario"))
        r = client.post(
            "/api/scenarios",
            files={"file": ("two.zip", zipped, "application/zip")},
            headers=auth(tokens["prog"]),
        )
        assert r.status_code == 201, r.text
        r = client.post(
            "/api/jobs",
            json={"scenario_id": r.json()["id"], "name": "autumn", "time_limit_s": 5},
            headers=auth(tokens["prog"]),
        )
        assert r.status_code == 202, r.text
        job = wait_job(client, f"/api/jobs/{r.json()['id']}", tokens["prog"])
        assert job["status"] == "done", job
        yield client, tokens, job["round_id"], url


def test_round_outcomes_have_reasons_and_deployments(svc):
    client, tokens, round_id, _ = svc
    r = client.get(f"/api/rounds/{round_id}", headers=auth(tokens["prog"])).json()
    assert r["name"] == "autumn" and r["clients"] == 7 and r["matched"] == 6
    by = {o["client_id"]: o for o in r["outcomes"]}
    assert by["C9"]["supporter_id"] is None and "reach" in by["C9"]["reason"]
    # the smallest fixes found by re-solving (broker.explain.fixes): here a longer reach
    assert by["C9"]["fixes"] and any("km" in f for f in by["C9"]["fixes"]), by["C9"]["fixes"]
    assert by["C1"]["supporter_id"] in ("S1", "S2") and by["C1"]["deployment_id"]
    deps = client.get(f"/api/deployments?round={round_id}", headers=auth(tokens["prog"])).json()
    assert len(deps) == 6 and {d["stage"] for d in deps} == {"proposed"}


def test_stage_moves_follow_the_stage_machine(svc):
    client, tokens, round_id, _ = svc
    h = auth(tokens["la855"])
    dep = next(
        d for d in client.get("/api/deployments", headers=h).json() if d["client_id"] == "C2"
    )
    url = f"/api/deployments/{dep['id']}/stage"
    r = client.post(url, json={"stage": "contracted"}, headers=h)
    assert r.status_code == 400 and "Legal moves from proposed: scoped" in r.json()["detail"]
    r = client.post(url, json={"stage": "withdrawn"}, headers=h)
    assert r.status_code == 400 and "needs a reason" in r.json()["detail"]
    r = client.post(url, json={"stage": "scoped", "note": "call booked"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stage"] == "scoped"
    assert body["legal_moves"] == ["due_diligence", "declined", "withdrawn"]
    assert [(x["from_stage"], x["to_stage"], x["user"], x["note"]) for x in body["history"]][
        -1
    ] == (
        "proposed",
        "scoped",
        "la855",
        "call booked",
    )
    audit = client.get("/api/audit", headers=h).json()
    assert any(a["action"] == "stage_changed" and a["deployment_id"] == dep["id"] for a in audit)
    # a supporter and a viewer may not move stages
    sup = auth(tokens["sup3"])
    other = client.get("/api/deployments", headers=sup).json()[0]
    r = client.post(f"/api/deployments/{other['id']}/stage", json={"stage": "scoped"}, headers=sup)
    assert r.status_code == 403


def test_whatif_diff_against_the_base_round(svc):
    client, tokens, round_id, _ = svc
    h = auth(tokens["la855"])
    r = client.post(
        "/api/whatifs",
        json={
            "base_round_id": round_id,
            "name": "S1 gives half a day",
            "changes": {"supporters": {"S1": {"capacity_days": 0.5}}},
            "time_limit_s": 5,
        },
        headers=h,
    )
    assert r.status_code == 202, r.text
    job = wait_job(client, f"/api/whatifs/{r.json()['id']}", tokens["la855"])
    assert job["status"] == "done", job
    assert job["la_code"] == "855"
    d = client.get(f"/api/whatifs/{job['id']}/diff", headers=h).json()
    assert {c["la_code"] for c in d["clients"]} == {"855"}
    assert [a["la_code"] for a in d["authorities"]] == ["855"]
    a = d["authorities"][0]
    # S1 (2 days) and S2 (2 days) matched C1-C3 (a day each); with half a day S1 can take
    # nobody, and S2 two of the three
    assert a["matched_before"] == 3 and a["matched_after"] == 2
    assert d["counts"]["lost"] == 1
    # an LA may not change another authority's budget, nor its supporters
    for changes in (
        {"authority_budgets": {"856": 1}},
        {"supporters": {"S3": {"capacity_days": 1}}},
    ):
        body = {"base_round_id": round_id, "changes": changes}
        r = client.post("/api/whatifs", json=body, headers=h)
        assert r.status_code == 400, r.text
    # the other authority does not see this what-if
    assert client.get(f"/api/whatifs/{job['id']}", headers=auth(tokens["la856"])).status_code == 404


def test_recommendations_for_an_urgent_request(svc):
    client, tokens, round_id, _ = svc
    r = client.post(
        "/api/recommendations",
        json={"round_id": round_id, "client_id": "D3", "top": 3},
        headers=auth(tokens["la856"]),
    )
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["la_code"] == "856" and rec["considered"] == 2
    assert {s["supporter_id"] for s in rec["supporters"]} <= {"S3", "S4"}


def test_authentication(svc):
    client, tokens, _round_id, url = svc
    assert client.get("/api/rounds").status_code == 401
    assert client.get("/api/rounds", headers=auth("not-a-token")).status_code == 401
    assert client.get("/rounds", follow_redirects=False).headers["location"] == "/login"
    # sign in with the form; then an API change with the cookie needs the CSRF header
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    bad = client.post("/login", data={"name": "prog", "password": "wrong", "csrf_token": token})
    assert "Wrong name or password" in bad.text
    form = {"name": "prog", "password": PASSWORD}
    nocsrf = client.post("/login", data=form, follow_redirects=False)
    assert nocsrf.headers["location"] == "/login?error=expired"
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    ok = client.post("/login", data={"name": "prog", "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 200 and "Recorded rounds" in ok.text
    assert client.get("/api/me").json()["role"] == "programme"
    r = client.post("/api/deployments/1/stage", json={"stage": "scoped"})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = client.post("/deployments/1/stage", data={"stage": "scoped"})
    assert r.status_code == 403
    client.cookies.clear()
    # secrets are stored hashed
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        rows = db.execute("SELECT token_sha256, password_hash FROM service_users").fetchall()
    for digest, pw in rows:
        assert len(digest) == 64 and digest not in tokens.values()
        assert pw.startswith("$argon2id$") and PASSWORD not in pw


def test_cancel_a_queued_and_a_running_round(tmp_path, monkeypatch):
    """One worker slot: the first round runs (cancelled while solving), the second waits.
    The cancelled worker's copy of the scenario does not stay behind in the temp folder."""
    import tempfile

    system = Path(tempfile.gettempdir())  # where a worker process makes its own
    before = set(system.glob("broker-job-*"))
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    url = f"sqlite:///{tmp_path}/ledger.db"
    app = create_app(Settings(db=url, secret="s", max_jobs=1))
    tokens = make_users(url)
    h = auth(tokens["prog"])
    big = tmp_path / "england"
    shutil.copytree(ROOT / "scenarios" / "england", big)
    with TestClient(app) as client:
        files = {"file": ("e.zip", zip_folder(big), "application/zip")}
        sid = client.post("/api/scenarios", files=files, headers=h).json()["id"]
        body = {"scenario_id": sid, "time_limit_s": 60}
        first = client.post("/api/jobs", json=body, headers=h).json()["id"]
        second = client.post("/api/jobs", json=body, headers=h).json()["id"]
        r = client.post(f"/api/jobs/{second}/cancel", headers=h).json()
        assert r["status"] == "cancelled"
        end = time.monotonic() + 60
        while client.get(f"/api/jobs/{first}", headers=h).json()["status"] != "running":
            assert time.monotonic() < end
            time.sleep(0.1)
        time.sleep(1.0)
        r = client.post(f"/api/jobs/{first}/cancel", headers=h).json()
        assert r["status"] == "cancelled" and r["round_id"] is None
        assert client.get("/api/rounds", headers=h).json() == []
        assert client.get("/api/jobs", headers=h).json()[0]["message"].startswith("cancelled")
        end = time.monotonic() + 30
        while left := list(temp.glob("broker-job-*")) + list(
            set(system.glob("broker-job-*")) - before
        ):
            assert time.monotonic() < end, [str(p) for p in left]
            time.sleep(0.1)


def test_user_add_prints_a_token_that_works(tmp_path, monkeypatch, capsys):
    import io

    from broker.cli import main

    db = str(tmp_path / "ledger.db")
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    args = ["user", "add", "ann", "--role", "la", "--la", "855", "--password-stdin", "--db", db]
    assert main(args) == 0
    out = capsys.readouterr().out
    token = out.strip().splitlines()[-1]
    assert "password set" in out and len(token) >= 40
    assert main(["user", "add", "ann", "--role", "la", "--db", db]) == 2
    assert "--la CODE" in capsys.readouterr().err
    app = create_app(Settings(db=db, secret="s"))
    with TestClient(app) as client:
        me = client.get("/api/me", headers=auth(token)).json()
    assert me == {"name": "ann", "role": "la", "la_codes": ["855"], "supporter_ids": []}


@pytest.mark.parametrize("port", ["65536", "99999"])
def test_serve_refuses_a_port_out_of_range_before_starting(port, capsys):
    """Not an OverflowError traceback from the socket after 'broker serving ...'."""
    from broker.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--port", port])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"--port: expected a port from 1 to 65535, got '{port}'" in err
    assert "broker serving" not in err


def test_a_damaged_or_invalid_upload_is_a_400_naming_the_zip(svc, tmp_path):
    """Not a 500 for a bad CRC or a password, nor a temporary folder in the message."""
    import io
    import zipfile

    client, tokens, _, _ = svc
    folder = write_scenario(tmp_path / "s")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for p in sorted(folder.iterdir()):
            z.write(p, p.name)
    damaged = bytearray(buf.getvalue())
    damaged[damaged.find(b"S1,Alpha")] = ord("X")  # the CRC no longer matches
    locked = bytearray(buf.getvalue())
    for k in [m.start() for m in re.finditer(b"PK\x01\x02", bytes(locked))]:
        locked[k + 8] |= 1  # the "encrypted" flag of every entry
    (folder / "clients.csv").write_text("client_id,phase\nC1,primary\n")
    cases = [
        (bytes(damaged), "cannot unpack it (Bad CRC-32"),
        (bytes(locked), "password required"),
        (zip_folder(folder), "up.zip, clients.csv, row 1: missing required column(s)"),
    ]
    for data, expected in cases:
        r = client.post(
            "/api/scenarios",
            files={"file": ("up.zip", data, "application/zip")},
            headers=auth(tokens["prog"]),
        )
        assert r.status_code == 400, r.text
        assert expected in r.json()["detail"] and "broker-upload-" not in r.text, r.text


def test_whatif_changes_the_scenario_would_refuse_are_refused_at_once(svc):
    """Not a job that fails later naming a temporary file, nor a value rounded silently."""
    client, tokens, round_id, _ = svc
    bad = [
        ({"authority_budgets": {"855": -5}}, "budget_gbp: out of range"),
        ({"authority_budgets": {"855": 0.001}}, "budget_gbp: more than 2 decimal places"),
        ({"authority_budgets": {"85x": 100}}, "String should match pattern"),
        ({"supporters": {"S1": {"capacity_days": 1.234}}}, "more than 2 decimal places"),
    ]
    for changes, expected in bad:
        r = client.post(
            "/api/whatifs",
            json={"base_round_id": round_id, "changes": changes},
            headers=auth(tokens["prog"]),
        )
        assert r.status_code == 422, (changes, r.text)
        assert expected in r.text, r.text
    # the page's form: the same refusal is a page saying why, not a 500
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"name": "prog", "password": PASSWORD, "csrf_token": csrf}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/deployments").text).group(1)
    for field, value in (("budget_gbp", "0.001"), ("cross_la", "sometimes")):
        form = {"base_round_id": str(round_id), "la_code": "855", field: value, "csrf_token": csrf}
        r = client.post("/whatifs", data=form, follow_redirects=False)
        assert r.status_code == 400, (field, r.status_code, r.text[:300])
    client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)


def test_a_topup_job_that_cannot_keep_a_commitment_names_the_ledger(tmp_path):
    """A contracted lead whose second declined, with no one else: no temporary path."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    app = create_app(Settings(db=url, secret="s", time_limit_s=5, max_jobs=1))
    tokens = make_users(url)
    h = auth(tokens["prog"])
    folder = write_scenario(tmp_path / "team")
    (folder / "supporters.csv").write_text(
        "supporter_id,kind,phase,la_code,easting,northing,capacity_days,day_rate_gbp\n"
        "S1,nle,primary,855,450000,300000,2,400\nS2,lle,primary,855,451000,300000,2,350\n"
    )
    (folder / "clients.csv").write_text(
        "client_id,phase,la_code,easting,northing,need_days,priority,team_size\n"
        "C1,primary,855,450500,300000,1,3,2\n"
    )
    (folder / "authorities.csv").unlink()
    with TestClient(app) as client:
        files = {"file": ("team.zip", zip_folder(folder), "application/zip")}
        sid = client.post("/api/scenarios", files=files, headers=h).json()["id"]

        def round_job(top_up: bool) -> dict:
            body = {"scenario_id": sid, "time_limit_s": 5, "top_up": top_up, "fixes": False}
            r = client.post("/api/jobs", json=body, headers=h)
            assert r.status_code == 202, r.text
            return wait_job(client, f"/api/jobs/{r.json()['id']}", tokens["prog"])

        assert round_job(False)["status"] == "done"
        deps = {d["role"]: d["id"] for d in client.get("/api/deployments", headers=h).json()}
        for stage in ("scoped", "due_diligence", "costed", "contracted"):
            r = client.post(
                f"/api/deployments/{deps['lead']}/stage", json={"stage": stage}, headers=h
            )
            assert r.status_code == 200, r.text
        r = client.post(
            f"/api/deployments/{deps['second']}/stage", json={"stage": "declined"}, headers=h
        )
        assert r.status_code == 200, r.text
        job = round_job(True)
    assert job["status"] == "failed", job
    assert "top-up scenario derived from" in job["error"] and "pinned.csv, row 2" in job["error"]
    assert "broker-topup-" not in job["error"] and "withdraw it with" in job["error"]


def test_ids_beyond_the_database_integers_are_a_422_not_a_500(svc):
    client, tokens, _, _ = svc
    h = auth(tokens["prog"])
    huge = 2**64
    for method, path, body in [
        ("get", f"/api/deployments/{huge}", None),
        ("get", f"/api/rounds/{huge}", None),
        ("get", f"/api/whatifs/{huge}", None),
        ("post", f"/api/deployments/{huge}/stage", {"stage": "scoped"}),
        ("post", "/api/jobs", {"scenario_id": huge}),
        ("post", "/api/whatifs", {"base_round_id": huge}),
        ("post", "/api/recommendations", {"round_id": huge, "client_id": "C1"}),
    ]:
        r = getattr(client, method)(path, headers=h, **({"json": body} if body else {}))
        assert r.status_code == 422, (path, r.status_code, r.text[:200])
