"""Load on the web service: many LA users browsing while a national round runs.

Usage: python benchmarks/service_load.py [--users 50] [--duration 40] [--time-limit 20]
                                         [--db URL | --postgres] [--seed 1] [--out DIR]

1. A new ledger (a SQLite file in a temporary folder, unless ``--db`` names an empty
   database; ``--postgres`` starts a throwaway PostgreSQL server with ``tests/pgserver.py``)
   and ``broker serve`` on it, in its own process, on a free loopback port.
2. A programme user and one LA user for each of the ``--users`` authorities with the
   most clients in ``scenarios/england`` (LA users sign in with the form, as a browser does).
3. The programme uploads ``scenarios/england`` and runs round 1 through the API.
4. The programme starts round 2 (a top-up on the same scenario) and, at once, every
   LA user browses, for ``--duration`` seconds or until round 2 is recorded, whichever
   is later: its dashboard, the rounds list, the
   round page (map and tables), the deployments list, one deployment, the JSON list,
   and every tenth step a stage change of one of its own deployments through the
   page's form, with a unique note. Each user waits 0.2-0.6 s between requests
   (seeded), so at most ``--users`` requests are in flight: the load is bounded.
5. Afterwards: round 2 must have been recorded; every stage change the server
   acknowledged must be in the ledger's stage history (none lost); errors are
   answers other than 2xx/3xx and transport failures.

Writes ``DIR/results.json`` and ``DIR/results.md`` (``results-postgresql.*`` on PostgreSQL;
default ``DIR`` is ``benchmarks/results/service``)
and prints the table. Latencies are wall-clock milliseconds seen by the client.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import io
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import defaultdict
from pathlib import Path

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "england"
PASSWORD = "load-test-password"
FORWARD = ["proposed", "scoped", "due_diligence", "costed"]
STAGE_EVERY = 10
"""Every tenth step of a user is a stage change (about five a second from 50 users)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in sorted(folder.iterdir()):
            z.write(p, p.name)
    return buf.getvalue()


def _users(url: str, las: list[str]) -> str:
    from broker.ledger.db import open_ledger
    from broker.service.users import add_user

    ledger = open_ledger(url)
    try:
        with ledger.session() as s:
            prog = add_user(s, "prog", "programme", password=PASSWORD, created_by="bench")
            for la in las:
                add_user(s, f"la{la}", "la", la_codes=[la], password=PASSWORD, created_by="bench")
    finally:
        ledger.close()
    return prog.token


def _wait_job(client: httpx.Client, job_id: int, timeout: float) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    raise RuntimeError(f"job {job_id} did not finish in {timeout:.0f}s")


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class LaUser(threading.Thread):
    """One LA officer browsing until ``stop`` is set."""

    def __init__(self, base: str, la: str, round_id: int, seed: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.base, self.la, self.round_id, self.stop = base, la, round_id, stop
        self.rng = random.Random(seed)
        self.samples: list[tuple[str, float, int, float]] = []  # (kind, ms, status, start)
        self.failures: list[str] = []
        self.acknowledged: list[tuple[int, str, str]] = []  # (deployment, stage, note)
        self.refused: list[str] = []

    def _request(
        self, client: httpx.Client, kind: str, method: str, url: str, **kw
    ) -> httpx.Response | None:
        t = time.perf_counter()
        start = time.monotonic()
        try:
            r = client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.samples.append((kind, (time.perf_counter() - t) * 1000, 0, start))
            self.failures.append(f"{method} {url}: {type(exc).__name__}: {exc}")
            return None
        self.samples.append((kind, (time.perf_counter() - t) * 1000, r.status_code, start))
        if r.status_code >= 400 and not (kind == "stage" and r.status_code == 400):
            self.failures.append(f"{method} {url}: {r.status_code} {r.text[:200]}")
        return r

    def run(self) -> None:
        try:
            self._browse()
        except Exception as exc:  # a failed sign-in or first page: counted, not fatal
            self.failures.append(f"user {self.la} stopped: {type(exc).__name__}: {exc}")

    def _browse(self) -> None:
        with httpx.Client(base_url=self.base, timeout=120, follow_redirects=False) as c:
            page = c.get("/login")
            token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
            form = {"name": f"la{self.la}", "password": PASSWORD, "csrf_token": token}
            signed = c.post("/login", data=form)
            if signed.status_code != 303 or signed.headers.get("location") != "/dashboard":
                raise RuntimeError(f"sign-in failed: {signed.status_code}")
            mine = c.get("/api/deployments").raise_for_status().json()
            stages = {d["id"]: d["stage"] for d in mine if d["stage"] in FORWARD[:-1]}
            csrf = CSRF.search(c.get("/deployments").text).group(1)  # type: ignore[union-attr]
            step = 0
            while not self.stop.is_set():
                step += 1
                if step % STAGE_EVERY == 0 and stages:
                    dep = self.rng.choice(sorted(stages))
                    target = FORWARD[FORWARD.index(stages[dep]) + 1]
                    note = f"load {self.la} step {step}"
                    r = self._request(
                        c,
                        "stage",
                        "POST",
                        f"/deployments/{dep}/stage",
                        data={"stage": target, "note": note, "csrf_token": csrf},
                    )
                    if r is not None and r.status_code == 303:
                        self.acknowledged.append((dep, target, note))
                        stages[dep] = target
                    elif r is not None and r.status_code == 400:
                        self.refused.append(f"#{dep} -> {target}")  # e.g. changed by the round
                        stages.pop(dep)
                    if dep in stages and stages[dep] == FORWARD[-1]:
                        stages.pop(dep)
                else:
                    what = self.rng.choice(
                        [
                            "/dashboard",
                            "/rounds",
                            f"/rounds/{self.round_id}",
                            "/deployments",
                            "deployment",
                            "/api/deployments",
                        ]
                    )
                    if what == "deployment":
                        what = (
                            f"/deployments/{self.rng.choice([d['id'] for d in mine])}"
                            if mine
                            else "/deployments"
                        )
                    self._request(c, "api" if what.startswith("/api/") else "page", "GET", what)
                time.sleep(self.rng.uniform(0.2, 0.6))


def _pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument(
        "--duration", type=float, default=40.0, help="least seconds of browsing (and the round)"
    )
    ap.add_argument("--time-limit", type=float, default=20.0, help="round solving limit, seconds")
    ap.add_argument("--db", help="an empty database URL (default: SQLite in a temporary folder)")
    ap.add_argument(
        "--postgres", action="store_true", help="start a throwaway PostgreSQL server for the ledger"
    )
    ap.add_argument(
        "--no-round", action="store_true", help="browse without a round running (a baseline)"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "service"))
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="broker-load-"))
    url = args.db or f"sqlite:///{tmp}/ledger.db"
    pg = None
    if args.postgres:
        sys.path.insert(0, str(ROOT / "tests"))
        from pgserver import start_server

        pg = start_server()
        atexit.register(pg.stop)  # also if the run fails
        url = pg.create_database("service_load")
    clients = pd.read_csv(SCENARIO / "clients.csv", dtype={"la_code": str})
    las = list(
        clients["la_code"]
        .value_counts()
        .sort_index()
        .sort_values(ascending=False, kind="stable")
        .index[: args.users]
    )
    from broker.ledger.db import display_url, open_ledger

    open_ledger(url).close()
    token = _users(url, las)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BROKER_SECRET": "load-benchmark"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "broker.cli",
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--time-limit",
            str(args.time_limit),
        ],
        env=env,
    )
    load = [os.getloadavg()[0]]
    try:
        prog = httpx.Client(
            base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}
        )
        end = time.monotonic() + 60
        while True:
            try:
                if prog.get("/login").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > end:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        files = {"file": ("england.zip", _zip(SCENARIO), "application/zip")}
        sid = prog.post("/api/scenarios", files=files).json()["id"]
        t0 = time.monotonic()
        job = prog.post("/api/jobs", json={"scenario_id": sid, "name": "round 1"}).json()
        first = _wait_job(prog, job["id"], 900)
        assert first["status"] == "done", first
        round1_s = time.monotonic() - t0
        round_id = first["round_id"]

        job2 = None
        if not args.no_round:
            body = {"scenario_id": sid, "name": "round 2", "top_up": True}
            job2 = prog.post("/api/jobs", json=body).json()
        stop = threading.Event()
        users = [LaUser(base, la, round_id, args.seed * 1000 + k, stop) for k, la in enumerate(las)]
        t1 = time.monotonic()
        for u in users:
            u.start()
        recording: list[float] = []  # when round 2 was seen recording (its write transaction)
        finished = job2 is None
        while (elapsed := time.monotonic() - t1) < args.duration or (
            not finished and elapsed < 600
        ):
            if job2 is not None:
                state = prog.get(f"/api/jobs/{job2['id']}").json()
                if state["progress"][-1:] == ["recording the round in the ledger"]:
                    recording.append(time.monotonic())
                finished = state["status"] in ("done", "failed", "cancelled")
            time.sleep(0.25)
        stop.set()
        for u in users:
            u.join(120)
        browse_s = time.monotonic() - t1
        second = (
            _wait_job(prog, job2["id"], 900)
            if job2 is not None
            else {"status": "not run", "round_id": None, "started_at": None, "finished_at": None}
        )
        round2_s = (
            (
                datetime.datetime.fromisoformat(second["finished_at"])
                - datetime.datetime.fromisoformat(second["started_at"])
            ).total_seconds()
            if second["finished_at"] and second["started_at"]
            else float("nan")
        )
        load.append(os.getloadavg()[0])
    finally:
        server.terminate()
        server.wait(30)

    # ---- every acknowledged stage change must be in the ledger's history
    from sqlalchemy import select

    from broker.ledger.models import StageChange

    ledger = open_ledger(url)
    with ledger.session() as s:
        recorded = {(h.deployment_id, h.to_stage, h.note) for h in s.scalars(select(StageChange))}
    ledger.close()
    acknowledged = [a for u in users for a in u.acknowledged]
    lost = [a for a in acknowledged if a not in recorded]

    samples = [x for u in users for x in u.samples]
    failures = [f for u in users for f in u.failures]
    by_kind: dict[str, list[float]] = defaultdict(list)
    lo, hi = (min(recording) - 0.25, max(recording) + 0.25) if recording else (0.0, 0.0)
    for kind, ms, _status, start in samples:
        by_kind[kind].append(ms)
        during = recording and start <= hi and start + ms / 1000 >= lo
        by_kind[
            f"{kind}, overlapping the round's recording" if during else f"{kind}, other"
        ].append(ms)  # noqa: E501
    rows = []
    kinds = ["page", "api", "stage"]
    kinds += [f"{k}, {w}" for k in kinds for w in ("other", "overlapping the round's recording")]
    for kind in kinds:
        v = by_kind.get(kind, [])
        rows.append(
            {
                "kind": kind,
                "requests": len(v),
                "p50_ms": round(_pct(v, 50), 1),
                "p95_ms": round(_pct(v, 95), 1),
                "p99_ms": round(_pct(v, 99), 1),
                "max_ms": round(max(v), 1) if v else None,
            }
        )
    result = {
        "command": "python benchmarks/service_load.py " + " ".join(argv or sys.argv[1:]),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "database": display_url(url).split(":")[0].split("+")[0],
        "load_average": load,
        "users": len(users),
        "duration_s": round(browse_s, 1),
        "round1_s": round(round1_s, 1),
        "round2_status": second["status"],
        "round2_id": second["round_id"],
        "round2_s": round(round2_s, 1),
        "round2_recording_seen_s": round(hi - lo, 1) if recording else None,
        "latency": rows,
        "requests": len(samples),
        "requests_per_s": round(len(samples) / browse_s, 1),
        "errors": len(failures),
        "error_examples": failures[:10],
        "stage_changes_acknowledged": len(acknowledged),
        "stage_changes_refused": sum(len(u.refused) for u in users),
        "stage_changes_lost": len(lost),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    md = [
        "# Service load: LA users browsing while a national round runs",
        "",
        f"`{result['command'].strip()}` on {result['date']}: {result['machine']}, ledger on "
        f"{result['database']}. Load average {load[0]:.2f} at the start and {load[-1]:.2f} at the "
        "end (2 cores: above 2, other work was competing for them and latencies are inflated).",
        "",
        f"{result['users']} LA users (one per authority, signed in with the form) browsed for "
        f"{result['duration_s']} s while round 2 (a national top-up on `scenarios/england`, "
        f"time limit {args.time_limit:g} s) ran in a worker process; round 2 took "
        f"{result['round2_s']} s and ended `{result['round2_status']}` "
        f"(round {result['round2_id']}). "
        f"Round 1 took {result['round1_s']} s through the API. "
        + (
            f"Round 2 was seen recording (one write transaction; other changes wait for it) "
            f"for about {result['round2_recording_seen_s']} s of the browsing window."
            if recording
            else "Round 2 was recorded after the browsing window."
        ),
        "",
        "| requests | count | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if not r["requests"]:
            continue
        cells = [r[k] for k in ("kind", "requests", "p50_ms", "p95_ms", "p99_ms", "max_ms")]
        md.append("| " + " | ".join(str(x) for x in cells) + " |")
    md += [
        "",
        f"- throughput: {result['requests_per_s']} requests/s ({result['requests']} in all), "
        f"of which {result['stage_changes_acknowledged'] / result['duration_s']:.1f} stage "
        "changes/s",
        f"- errors: {result['errors']}",
        f"- stage changes: {result['stage_changes_acknowledged']} acknowledged, "
        f"{result['stage_changes_lost']} lost (not in the ledger's history), "
        f"{result['stage_changes_refused']} refused by the stage machine",
        "",
        "`page` = server-rendered pages (dashboard, rounds, round with map, deployments, "
        "a deployment); `api` = `GET /api/deployments`; `stage` = a stage change posted "
        "from the deployment page's form (answered with a redirect).",
    ]
    name = "results" if result["database"] == "sqlite" else f"results-{result['database']}"
    (out / f"{name}.md").write_text("\n".join(md) + "\n")
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(md))
    if pg is not None:
        atexit.unregister(pg.stop)
        pg.stop()
        shutil.rmtree(pg.root, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if not lost and not failures and second["status"] in ("done", "not run") else 1


if __name__ == "__main__":
    sys.exit(main())
