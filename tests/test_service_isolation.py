"""Isolation: an LA user gets 404 for every resource of another authority, on every route.

The routes come from the app itself (``app.routes``), so a new route is covered
automatically: a path parameter this test does not know fails the test until a
resource of another authority is named for it below. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from broker.ledger.models import utcnow
from broker.ledger.service_tables import ServiceJob
from broker.service.app import create_app
from broker.service.config import Settings
from ledger_helpers import record
from service_helpers import PASSWORD, auth, make_users

OWN = ["AA855A", "AA855B"]
OTHER = ["ZZ856A", "ZZ856B"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service_db(request, tmp_path_factory):
    """A new ledger for this module: a SQLite file, or a schema of the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('iso')}/ledger.db"
    import psycopg

    url = request.getfixturevalue("pg_database")
    server = request.getfixturevalue("pg_server")
    schema = "service_isolation"
    with psycopg.connect(
        host="127.0.0.1", port=server.port, user="broker", dbname="ledger_tests", autocommit=True
    ) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{url}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="module")
def world(service_db):
    """Two rounds (one per authority), their deployments, a what-if of 856, a round job."""
    db_url = service_db
    app = create_app(Settings(db=db_url, secret="test-secret"))
    ledger = app.state.broker.ledger
    tokens = make_users(db_url)
    mine = record(ledger, [(c, "S1") for c in OWN], defaults={"la_code": "855"})
    theirs = record(ledger, [(c, "S3") for c in OTHER], defaults={"la_code": "856"})
    with ledger.session() as s:
        from broker.ledger.models import Deployment, Round

        rnd = s.get(Round, theirs.round_id)
        other_dep = s.query(Deployment).filter(Deployment.la_code == "856").first().id
        now = utcnow()
        jobs = {}
        for kind, la, status in (("whatif", "856", "failed"), ("round", None, "done")):
            job = ServiceJob(
                kind=kind,
                status=status,
                la_code=la,
                scenario_id=rnd.scenario_id,
                base_round_id=rnd.id if kind == "whatif" else None,
                round_id=rnd.id if kind == "round" else None,
                parameters={},
                changes={},
                error="stopped" if status == "failed" else None,
                created_at=now,
                created_by="prog",
            )
            s.add(job)
            s.flush()
            jobs[kind] = job.id
        scenario_id = rnd.scenario_id
    ids = {
        "round_id": theirs.round_id,
        "deployment_id": other_dep,
        "whatif_id": jobs["whatif"],
        "job_id": jobs["round"],
        "scenario_id": scenario_id,
    }
    with TestClient(app) as client:
        yield client, tokens, ids, mine.round_id


def _sign_in(client: TestClient, name: str) -> str:
    """Sign in through the form; return the session's CSRF token (read from a page)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"name": name, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/deployments")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


# A minimal, valid body for each route that takes one (so a 404 is about the resource).
JSON_BODIES = {"/api/deployments/{deployment_id}/stage": {"stage": "scoped", "note": "t"}}
FORM_BODIES = {
    "/deployments/{deployment_id}/stage": {"stage": "scoped", "note": "t"},
}


def app_routes(app) -> list[tuple[str, set[str]]]:
    """(path, methods) of every HTTP route the app serves, from ``app.routes``.

    Routers included with ``include_router`` appear as one entry in newer FastAPI
    versions; their routes are listed through ``effective_route_contexts``.
    """
    out = []
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):
            out += [(c.path, set(c.methods or ())) for c in route.effective_route_contexts()]
        elif isinstance(route, APIRoute):
            out.append((route.path, set(route.methods)))
    return out


def _resource_routes(app) -> list[tuple[str, str]]:
    out = []
    for path, methods in app_routes(app):
        if not re.findall(r"{(\w+)}", path):
            continue
        for method in sorted(methods - {"HEAD"}):
            out.append((method, path))
    return out


def _call(client, method, path, ids, *, headers=None, csrf=None):  # type: ignore[no-untyped-def]
    url = path.format(**ids)
    if method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    if path.startswith("/api/"):
        return client.post(url, json=JSON_BODIES.get(path), headers=headers)
    data = {**FORM_BODIES.get(path, {}), "csrf_token": csrf}
    return client.post(url, data=data, follow_redirects=False)


def test_every_resource_route_is_covered(world):
    client, _tokens, ids, _ = world
    routes = _resource_routes(client.app)
    assert len(routes) >= 12
    for _method, path in routes:
        unknown = set(re.findall(r"{(\w+)}", path)) - set(ids)
        assert not unknown, f"{path}: name a resource of another authority for {unknown}"


def test_programme_reaches_every_resource(world):
    """The control: the same ids exist (programme users do not get 404)."""
    client, tokens, ids, _ = world
    csrf = _sign_in(client, "prog")
    for method, path in _resource_routes(client.app):
        if method == "POST" and "cancel" in path:
            continue  # nothing is running; covered in test_service_api
        h = auth(tokens["prog"]) if path.startswith("/api/") else None
        r = _call(client, method, path, ids, headers=h, csrf=csrf)
        assert r.status_code != 404, (method, path, r.text[:300])


@pytest.mark.parametrize("via", ["token", "cookie"])
def test_la_user_gets_404_for_another_authority_on_every_route(world, via):
    client, tokens, ids, _ = world
    csrf = _sign_in(client, "la855")
    for method, path in _resource_routes(client.app):
        api = path.startswith("/api/")
        if api and via == "token":
            h = auth(tokens["la855"])
        elif api:
            h = {"X-CSRF-Token": csrf}
        else:
            h = None
        r = _call(client, method, path, ids, headers=h, csrf=csrf)
        assert r.status_code == 404, (method, path, r.status_code, r.text[:300])
        for cid in OTHER:
            assert cid not in r.text


def test_resources_named_in_a_body_give_404(world):
    client, tokens, ids, _ = world
    h = auth(tokens["la855"])
    bodies = [
        ("/api/whatifs", {"base_round_id": ids["round_id"]}),
        ("/api/recommendations", {"round_id": ids["round_id"], "client_id": OTHER[0]}),
        ("/api/jobs", {"scenario_id": ids["scenario_id"]}),
    ]
    for path, body in bodies:
        r = client.post(path, json=body, headers=h)
        assert r.status_code == 404, (path, r.text)
    # a visible round, but a client of another authority
    body = {"round_id": world[3], "client_id": OTHER[0]}
    r = client.post("/api/recommendations", json=body, headers=h)
    assert r.status_code == 404


def test_lists_hold_only_the_callers_authority(world):
    client, tokens, ids, own_round = world
    h = auth(tokens["la855"])
    for path in ("/api/rounds", "/api/deployments?all=true", "/api/whatifs", "/api/audit",
                 "/api/jobs", "/api/scenarios", "/api/summary"):  # fmt: skip
        r = client.get(path, headers=h)
        assert r.status_code == 200, (path, r.text)
        for cid in OTHER:
            assert cid not in r.text, path
        # the code as a value of its own: not inside a timestamp's fraction
        # ("...:56.856123"), a longer number or a hash, which may hold it by chance
        rest = r.text.replace(str(ids["round_id"]), "")
        assert re.search(r"(?<![\w.])856(?!\w)", rest) is None, path
    rounds = client.get("/api/rounds", headers=h).json()
    assert [r["id"] for r in rounds] == [own_round]
    deps = client.get("/api/deployments", headers=h).json()
    assert {d["client_id"] for d in deps} == set(OWN)
    _sign_in(client, "la855")
    for page in ("/rounds", "/deployments", "/dashboard", "/audit", f"/rounds/{own_round}"):
        r = client.get(page)
        assert r.status_code == 200, page
        for cid in OTHER:
            assert cid not in r.text, page


def test_supporter_and_viewer_scopes(world):
    client, tokens, ids, own_round = world
    sup = client.get("/api/deployments", headers=auth(tokens["sup3"])).json()
    assert {d["supporter_id"] for d in sup} == {"S3"}
    assert client.get(f"/api/rounds/{own_round}", headers=auth(tokens["sup3"])).status_code == 404
    view = auth(tokens["view"])
    assert client.get("/api/deployments", headers=view).json() == []
    detail = client.get(f"/api/rounds/{ids['round_id']}", headers=view).json()
    assert detail["outcomes"] == [] and detail["clients"] == 2
    counts = client.get("/api/summary", headers=view).json()
    assert sum(c["deployments"] for c in counts["by_stage"]) == 4
    url = f"/api/deployments/{ids['deployment_id']}/stage"
    r = client.post(url, json={"stage": "scoped"}, headers=view)
    assert r.status_code == 404
