"""Ledger benchmarks: a national top-up round and ``broker recommend``, with timings.

Usage: python benchmarks/ledger.py [--db URL] [--time-limit S] [--requests N] [--seed N]

1. Round 1 on ``scenarios/england``, recorded in a new ledger (a SQLite file in a
   temporary folder unless ``--db`` names an empty database).
2. The programme moves on: a seeded 30% of the proposals are contracted (every
   stage recorded) and 10% declined.
3. ``--requests`` new urgent requests arrive: copies of randomly drawn clients
   500 m away, with new ids and priority 5, added to a copy of the scenario.
4. ``broker recommend`` for each request: the function itself (scenario read and
   ledger loaded once, as a service would hold them) and, for the first five,
   the whole command in a fresh process.
5. The national top-up round on the new scenario (``broker run --top-up``).

Writes ``benchmarks/results/ledger/results.md`` and ``results.json`` and prints the
table. Timings are wall-clock seconds on this machine; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
IMPORTS = "import broker.cli; broker.cli.build_parser(); import broker.ledger.recommend"
"""What ``broker recommend`` imports before it does any work."""
OUT = ROOT / "benchmarks" / "results" / "ledger"


def _cli(args: list[str]) -> float:
    from broker.cli import main

    t = time.perf_counter()
    code = main(args)
    if code != 0:
        raise SystemExit(f"broker {' '.join(args)} exited with {code}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="ledger URL (default: a new SQLite file)")
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from broker.ledger import repository as repo
    from broker.ledger.db import open_ledger
    from broker.ledger.recommend import recommend
    from broker.ledger.stages import Stage
    from broker.scenario import read_scenario

    work = Path(tempfile.mkdtemp(prefix="broker-ledger-bench-"))
    db = args.db or f"sqlite:///{work / 'ledger.db'}"
    rng = np.random.default_rng(args.seed)
    england = ROOT / "scenarios" / "england"
    tl = ["--time-limit", f"{args.time_limit:g}", "--quiet", "--no-map"]
    figures: dict[str, object] = {"load_average_start": round(os.getloadavg()[0], 2)}

    # 1. round 1
    figures["round1_s"] = _cli(["run", str(england), "--out", str(work / "r1"), "--db", db, *tl])
    s1 = json.loads((work / "r1" / "summary.json").read_text())

    # 2. contracts and declines
    ledger = open_ledger(db)
    with ledger.session() as s:
        proposed = repo.deployments_frame(s, include_final=False)
    order = rng.permutation(len(proposed))
    n_con, n_dec = int(0.3 * len(order)), int(0.1 * len(order))
    t = time.perf_counter()
    for k in order[:n_con]:
        with ledger.session() as s:
            repo.move_stage(
                s, proposed["client_id"].iat[k], Stage.CONTRACTED, user="bench", through=True
            )
    for k in order[n_con : n_con + n_dec]:
        with ledger.session() as s:
            repo.move_stage(s, proposed["client_id"].iat[k], Stage.DECLINED, user="bench")
    moves = n_con * 4 + n_dec
    figures["stage_change_ms"] = 1000 * (time.perf_counter() - t) / moves

    # 3. new urgent requests
    spring = work / "spring"
    shutil.copytree(england, spring)
    clients = pd.read_csv(spring / "clients.csv", dtype=str, keep_default_na=False)
    picks = clients.iloc[rng.choice(len(clients), args.requests, replace=False)].copy()
    picks["client_id"] = [f"NEW{k:03d}" for k in range(len(picks))]
    picks["urn"] = ""
    picks["priority"] = "5"
    picks["easting"] = [str(int(float(e)) + 500) for e in picks["easting"]]
    pd.concat([clients, picks]).to_csv(spring / "clients.csv", index=False, lineterminator="\n")

    # 4. recommend
    t = time.perf_counter()
    scenario = read_scenario(spring)
    figures["read_scenario_s"] = time.perf_counter() - t
    t = time.perf_counter()
    with ledger.session() as s:
        deployments = repo.deployments_frame(s)
    figures["load_ledger_s"] = time.perf_counter() - t
    ledger.close()
    times, cpu, displacing, none = [], [], 0, 0
    recommend(scenario, deployments, picks["client_id"].iat[0], top=5)  # warm up
    for cid in picks["client_id"]:
        t, c = time.perf_counter(), time.process_time()
        r = recommend(scenario, deployments, cid, top=5)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        displacing += int(len(r.table) and r.table["displaces"].iloc[0] != "")
        none += int(len(r.table) == 0)
    figures["recommend_ms_median"] = 1000 * statistics.median(times)
    figures["recommend_ms_max"] = 1000 * max(times)
    figures["recommend_cpu_ms_median"] = 1000 * statistics.median(cpu)
    figures["recommend_first_choice_displaces"] = displacing
    figures["recommend_no_supporter"] = none
    cmd = [sys.executable, "-m", "broker.cli", "recommend"]
    cli_times, cli_cpu = [], []
    for cid in picks["client_id"][:5]:
        t = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [*cmd, cid, "--scenario", str(spring), "--db", db],
            check=True,
            capture_output=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cli_times.append(time.perf_counter() - t)
        cli_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    figures["recommend_command_s_median"] = statistics.median(cli_times)
    figures["recommend_command_cpu_s_median"] = statistics.median(cli_cpu)
    t = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", IMPORTS], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures["imports_s"] = time.perf_counter() - t
    figures["imports_cpu_s"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

    # 5. the national top-up round
    figures["topup_s"] = _cli(
        ["run", str(spring), "--out", str(work / "r2"), "--db", db, "--top-up", *tl]
    )
    s2 = json.loads((work / "r2" / "summary.json").read_text())
    top = s2["topup"]
    figures.update(
        clients=s2["clients"],
        candidate_pairs=s2["candidate_pairs"],
        round1_matched=s1["matched"],
        round1_priority=s1["priority_matched"],
        round1_bound=s1["priority_bound"],
        contracted=n_con,
        declined=n_dec,
        topup_priority=s2["priority_matched"],
        topup_bound=s2["priority_bound"],
        topup_solver_s=s2["runtime_s"],
        topup_status=s2["solver_status"],
        pinned=top["pinned"],
        proposals_offered=top["proposals_offered"],
        proposals_kept=top["proposals_kept"],
        proposals_changed=top["proposals_changed"],
        new_matches=top["new_matches"],
        requests_matched=int(
            sum(
                1
                for c, sid in pd.read_csv(work / "r2" / "assignments.csv", dtype=str)[
                    ["client_id", "supporter_id"]
                ].itertuples(index=False)
                if c.startswith("NEW") and isinstance(sid, str) and sid
            )
        ),
    )
    figures["load_average_end"] = round(os.getloadavg()[0], 2)
    write(figures, args, db)
    shutil.rmtree(work, ignore_errors=True)


def write(f: dict[str, object], args: argparse.Namespace, db: str) -> None:
    import broker

    OUT.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": datetime.date.today().isoformat(),
        "command": "python benchmarks/ledger.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} logical CPUs, "
        f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "broker": broker.__version__,
        "database": db.split(":", 1)[0],
    }
    (OUT / "results.json").write_text(json.dumps({**meta, **f}, indent=2) + "\n")
    rows = [
        (
            "national scenario",
            f"{f['clients']:,} clients (20 new requests), {f['candidate_pairs']:,} candidate pairs",
        ),
        (
            "round 1 (`broker run --db`, whole command)",
            f"{f['round1_s']:.1f} s; matched "
            f"{f['round1_matched']}, priority {f['round1_priority']} (bound {f['round1_bound']})",
        ),
        ("stage change (`move_stage`, one transaction)", f"{f['stage_change_ms']:.1f} ms"),
        ("ledger after round 1", f"{f['contracted']} contracted, {f['declined']} declined"),
        (
            "`recommend()` for one request (scenario and ledger in memory)",
            f"median {f['recommend_ms_median']:.1f} ms wall ({f['recommend_cpu_ms_median']:.1f} ms "
            f"CPU), max {f['recommend_ms_max']:.1f} ms; for "
            f"{f['recommend_first_choice_displaces']} of the requests the best choice displaces "
            "a proposal",
        ),
        (
            "`broker recommend` whole command (new process, reads the scenario)",
            f"median {f['recommend_command_s_median']:.2f} s wall, "
            f"{f['recommend_command_cpu_s_median']:.2f} s CPU",
        ),
        (
            "of which starting Python and importing broker's CLI and the ledger",
            f"{f['imports_s']:.2f} s wall, {f['imports_cpu_s']:.2f} s CPU",
        ),
        ("of which reading the national scenario", f"{f['read_scenario_s']:.2f} s"),
        ("of which loading the ledger's deployments", f"{f['load_ledger_s']:.2f} s"),
        (
            "top-up round (`broker run --top-up`, whole command)",
            f"{f['topup_s']:.1f} s (solver {f['topup_solver_s']:.1f} s, {f['topup_status']})",
        ),
        (
            "top-up result",
            f"{f['pinned']} pinned, {f['proposals_kept']} of "
            f"{f['proposals_offered']} proposals kept, {f['proposals_changed']} changed, "
            f"{f['new_matches']} new matches ({f['requests_matched']} of the 20 requests); "
            f"priority {f['topup_priority']} (bound {f['topup_bound']})",
        ),
    ]
    md = [
        "# Ledger benchmarks: national top-up round and `broker recommend`",
        "",
        f"`{meta['command']}` on {meta['date']}: {meta['machine']}, Python {meta['python']}, "
        f"broker {meta['broker']}, ledger on {meta['database']}. Load average "
        f"{f['load_average_start']} at the start and {f['load_average_end']} at the end "
        "(2 cores: above 2, other work was competing for them and wall times are inflated).",
        "",
        "| what | measured |",
        "| --- | --- |",
        *[f"| {a} | {b} |" for a, b in rows],
        "",
    ]
    (OUT / "results.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
