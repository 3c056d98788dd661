"""Two processes write to one ledger at once: nothing is lost, nothing is duplicated."""

from __future__ import annotations

import multiprocessing as mp

from broker.ledger import repository as repo
from broker.ledger.models import AuditEntry, Deployment, Round, StageChange
from ledger_helpers import concurrent_worker, count, record, table

ROUNDS = 6
SHARED = 10  # clients Q0..Q9 proposed by every round of both processes
MOVERS = 12  # clients P0..P11, moved two stages each, split between the processes


def test_two_processes_recording_rounds_and_moving_stages(db_url):
    from broker.ledger.db import open_ledger

    ledger = open_ledger(db_url)
    record(ledger, [(f"P{k}", "S9") for k in range(MOVERS)], run_id="setup")
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    movers = [f"P{k}" for k in range(MOVERS)]
    procs = [
        ctx.Process(target=concurrent_worker, args=(db_url, tag, ROUNDS, part, start))
        for tag, part in (("alice", movers[::2]), ("bob", movers[1::2]))
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0, f"worker {p.name} failed with exit code {p.exitcode}"

    rounds = 1 + 2 * ROUNDS
    proposed = MOVERS + 2 * ROUNDS * SHARED
    replaced = 2 * ROUNDS * SHARED - SHARED  # every shared proposal but the last is replaced
    moves = 2 * MOVERS
    assert count(ledger, Round) == rounds
    assert count(ledger, Deployment) == proposed
    assert count(ledger, StageChange) == proposed + replaced + moves
    assert count(ledger, AuditEntry) == 1 + rounds + proposed + replaced + moves

    t = table(ledger)
    current = t[t["stage"] != "withdrawn"]
    assert sorted(current["client_id"]) == sorted(
        [f"P{k}" for k in range(MOVERS)] + [f"Q{k}" for k in range(SHARED)]
    )  # exactly one current deployment per client
    assert (current.loc[current["client_id"].str.startswith("P"), "stage"] == "due_diligence").all()
    assert (t.loc[t["stage"] == "withdrawn", "client_id"].str.startswith("Q")).all()
    with ledger.session() as s:
        assert repo.version(s) == rounds + moves
        users = {r.run_by for r in repo.rounds(s)}
    assert users == {"tester", "alice", "bob"}
    ledger.close()
