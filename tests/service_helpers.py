"""Helpers for the service tests: a two-authority scenario, users, a client, waiting on jobs."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

from broker.ledger.db import open_ledger
from broker.service.users import add_user

PASSWORD = "correct horse battery"

SCENARIO_TOML = """name = "Two authorities"

[round]
weeks = 10

[defaults]
max_distance_km = 30
"""

# Two authorities 20 km apart: 855 (C*, S1-S2) and 856 (D*, S3-S4). C9 is 45 km away
# from every supporter, so it stays unmatched with a reason.
SUPPORTERS = """supporter_id,name,kind,phase,la_code,easting,northing,capacity_days,day_rate_gbp
S1,Alpha Primary,nle,primary,855,450000,300000,2,400
S2,Beta Primary,lle,primary,855,455000,302000,2,350
S3,Gamma Primary,nle,primary,856,470000,300000,2,400
S4,Delta Primary,lle,primary,856,475000,303000,1,300
"""

CLIENTS = """client_id,name,phase,la_code,easting,northing,need_days,priority
C1,One Primary,primary,855,451000,301000,1,3
C2,Two Primary,primary,855,452000,299000,1,2
C3,Three Primary,primary,855,456000,303000,1,1
C9,Far Primary,primary,855,440000,345000,1,1
D1,Four Primary,primary,856,471000,301000,1,3
D2,Five Primary,primary,856,472000,299000,1,2
D3,Six Primary,primary,856,476000,304000,1,1
"""

AUTHORITIES = """la_code,name,cross_la,budget_gbp
855,Leicestershire,own_only,100000
856,Leicester,own_only,100000
"""


def write_scenario(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(SCENARIO_TOML)
    (folder / "supporters.csv").write_text(SUPPORTERS)
    (folder / "clients.csv").write_text(CLIENTS)
    (folder / "authorities.csv").write_text(AUTHORITIES)
    return folder


def zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in sorted(folder.iterdir()):
            z.write(p, f"scenario/{p.name}")
    return buf.getvalue()


USERS = {
    "prog": ("programme", [], []),
    "la855": ("la", ["855"], []),
    "la856": ("la", ["856"], []),
    "sup3": ("supporter", [], ["S3"]),
    "view": ("viewer", [], []),
}


def make_users(url: str) -> dict[str, str]:
    """Create one user per role (password :data:`PASSWORD`); return name -> API token."""
    ledger = open_ledger(url)
    tokens = {}
    try:
        with ledger.session() as s:
            for name, (role, las, sids) in USERS.items():
                new = add_user(
                    s, name, role, la_codes=las, supporter_ids=sids, password=PASSWORD,
                    created_by="tests",
                )  # fmt: skip
                tokens[name] = new.token
    finally:
        ledger.close()
    return tokens


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_job(client, path: str, token: str, timeout: float = 90.0) -> dict:  # type: ignore[no-untyped-def]
    """Poll ``path`` until the job is finished; return its last state."""
    end = time.monotonic() + timeout
    while True:
        job = client.get(path, headers=auth(token)).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        if time.monotonic() > end:
            raise AssertionError(f"job did not finish in {timeout}s: {job}")
        time.sleep(0.2)
