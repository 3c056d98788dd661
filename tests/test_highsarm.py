"""The HiGHS arm of the portfolios: exact on small cases, checked, and used where it should be."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from broker.bench import gap
from broker.bench.verify import violations
from broker.candidates import build_candidates
from broker.solve import cpsat, solve
from broker.solve.base import SolveOptions
from broker.solve.highsarm import HighsTask, highs_arm
from broker.solve.model import scaled
from broker.solve.portfolio import highs_arm_runs
from test_portfolio import random_scenario


@pytest.fixture(scope="module")
def small():
    return scaled(build_candidates(random_scenario(21, n_clients=40, n_supporters=10)).problem)


def test_level1_is_the_proven_optimum(small):
    exact = solve(small, "highs", time_limit_s=30)
    assert exact.level1.optimal
    a = highs_arm(small, 1, wall=30, nodes=10**6)
    assert a.optimal and not a.wall_clock and a.pairs is not None
    assert small.violations(a.pairs) == []
    assert int(small.pair_priority[a.pairs].sum()) == exact.level1.value
    assert a.bound is not None and a.bound >= exact.level1.value - 1e-6


def test_level2_holds_level1_and_is_optimal(small):
    exact = solve(small, "highs", time_limit_s=30)
    assert exact.level2.optimal
    a = highs_arm(small, 2, wall=30, nodes=10**6, hold=exact.level1.value)
    assert a.optimal and a.pairs is not None
    assert small.violations(a.pairs) == []
    assert int(small.pair_priority[a.pairs].sum()) >= exact.level1.value
    assert int(small.pair_level2[a.pairs].sum()) == exact.level2.value


def test_the_wall_includes_the_workers_start_up(small):
    """HiGHS stops at a moment on the shared monotonic clock, not ``wall`` after its
    worker has started, so the worker's imports come out of the wall, not on top."""
    import time

    before = time.monotonic()
    task = HighsTask(small, 1, 7.5, 10)
    after = time.monotonic()
    try:
        job = np.load(Path(task._dir) / "job.npz")
        assert before + 7.5 <= float(job["end_at"]) <= after + 7.5
        assert "time_limit" not in job.files
    finally:
        task.kill()
        task.result()


def test_no_time_means_no_answer(small):
    a = highs_arm(small, 1, wall=0.0, nodes=10)
    assert a.pairs is None and a.bound is None and a.wall_clock


def test_an_explicit_work_limit_keeps_only_reproducible_arms(small):
    assert highs_arm_runs(small, SolveOptions(time_limit_s=5))
    assert not highs_arm_runs(small, SolveOptions(time_limit_s=5, work_limit=2.0))
    assert highs_arm_runs(small, SolveOptions(time_limit_s=5, work_limit=2.0, deterministic=False))
    assert not highs_arm_runs(small, SolveOptions(time_limit_s=5, workers=1))


def test_portfolio_runs_the_arm_and_keeps_its_bound_valid(monkeypatch):
    monkeypatch.setattr(cpsat, "EXACT_PAIR_LIMIT", 0)
    p = build_candidates(random_scenario(22, n_clients=80, n_supporters=20)).problem
    r = solve(p, "cpsat", time_limit_s=4, seed=0)
    assert "highs" in str(r.params["bound_thread"])
    exact = solve(p, "highs", time_limit_s=30)
    assert exact.level1.optimal
    assert r.level1.value <= exact.level1.value <= r.level1.bound
    assert p.violations(r.pairs) == []
    assert r.runtime_s <= 4 + 1.0


def test_required_family_races_highs_unless_a_work_limit_asks_for_reproducibility():
    from broker.bench.gapgen import generate

    p = gap.to_problem(generate("D", 10, 500, 1))  # 5,000 pairs: above the exact path
    assert p.n_pairs > cpsat.EXACT_PAIR_LIMIT
    r = solve(p, "cpsat", time_limit_s=4, seed=0)
    assert r.params["strategy"] == "required"
    # two workers: HiGHS and broker's LNS share them, the plain arm does not run
    assert "highs" in r.params["arms"] and r.params["plain_workers"] == 0
    assert any(line.startswith("LNS beside HiGHS") for line in r.log)
    assert violations(p, p.pairs_to_roles(r.pairs)[0]) == []
    assert r.level2.bound <= r.level2.value
    assert r.runtime_s <= 4 + 1.0
    a = solve(p, "cpsat", time_limit_s=30, work_limit=1.0, seed=0)
    b = solve(p, "cpsat", time_limit_s=30, work_limit=1.0, seed=0)
    assert a.params["strategy"] == "portfolio"
    assert np.array_equal(a.assignment, b.assignment)


def test_a_proof_ends_the_race():
    """gapa-6 (20 x 200, optimum 2,339): once an arm proves it, no arm runs to the limit."""
    gap_file = Path(__file__).resolve().parents[1] / "benchmarks/instances/gap/gapa.txt"
    p = gap.to_problem(gap.read_gap_problem(gap_file, 6))
    assert p.n_pairs >= cpsat.RACE_MIN_PAIRS
    r = solve(p, "cpsat", time_limit_s=60, seed=0)
    assert r.params["strategy"] == "required"
    assert r.stopped_by == "optimal" and r.level2.value == 2339
    assert r.runtime_s < 30  # a proof ends the race; nothing waits for the 60 s limit


def test_a_small_problem_the_exact_path_settles_stays_reproducible():
    """Below RACE_MIN_PAIRS, what the exact path proves in its probe is its answer:
    the same seed gives the same assignment, and no race runs."""
    gap_file = Path(__file__).resolve().parents[1] / "benchmarks/instances/gap/gapc.txt"
    p = gap.to_problem(gap.read_gap_problem(gap_file, 1))  # 5 x 100, optimum 1,931
    assert p.n_pairs < cpsat.RACE_MIN_PAIRS
    a = solve(p, "cpsat", time_limit_s=20, seed=0)
    b = solve(p, "cpsat", time_limit_s=20, seed=0)
    assert a.stopped_by == "optimal" and a.level2.value == 1931
    assert "strategy" not in a.params or a.params["strategy"] != "required"
    assert np.array_equal(a.assignment, b.assignment)


def test_a_small_problem_the_probe_does_not_settle_goes_to_the_race(monkeypatch):
    """A 5 x 100 type-D problem is not proved in a short probe: the race takes the rest
    of the time from the probe's solution, keeps its bound and log, and the whole
    solve keeps the limit."""
    monkeypatch.setattr(cpsat, "PROBE_SHARE", 0.02)
    monkeypatch.setattr(cpsat, "PROBE_MIN_S", 1.0)  # long enough to beat the race's starts
    p = gap.to_problem(
        gap.read_gap_problem(
            Path(__file__).resolve().parents[1] / "benchmarks/instances/gap/gapd.txt", 1
        )
    )
    assert p.n_pairs < cpsat.RACE_MIN_PAIRS
    seen: list[str] = []
    found: list[tuple[float, int, int]] = []
    r = solve(
        p,
        "cpsat",
        time_limit_s=4,
        seed=0,
        progress=seen.append,
        on_incumbent=lambda t, l1, l2: found.append((t, l1, l2)),
    )
    # one trace for the whole solve: the race's incumbents follow the probe's, on
    # the same clock, each better than the one before
    assert found and found[-1][2] == r.level2.value
    assert all(a[0] <= b[0] and b[2] < a[2] for a, b in zip(found, found[1:], strict=False))
    assert r.params["strategy"] == "required" and 0 < r.params["probe_s"] <= 1.0 + 0.5
    assert r.params["time_limit_s"] == 4.0
    assert r.log[0].startswith("model: ")  # the probe's lines come first
    assert any(line.startswith("LNS beside HiGHS") for line in r.log)
    assert violations(p, p.pairs_to_roles(r.pairs)[0]) == []
    assert r.level2.bound <= r.level2.value and r.stopped_by == "time_limit"
    assert r.runtime_s <= 4 + 1.0


def _gap_d(jobs: int = 400, agents: int = 20):
    from broker.bench.gapgen import generate

    return scaled(gap.to_problem(generate("D", agents, jobs, 3)))


def test_a_killed_task_still_returns_its_last_checked_incumbent():
    """HiGHS cannot prove a 20 x 400 type-D problem in 3 s: killed then, it keeps what
    it found, and what it found is feasible and no better than any bound it gives."""
    p = _gap_d()
    task = HighsTask(p, 2, 60.0, 10**9, int(p.priority.sum()), threads=1)
    assert not task.poll(3.0)  # still searching
    task.kill()
    a = task.result()
    assert a is not None and a.pairs is not None and a.wall_clock and not a.optimal
    assert p.violations(a.pairs) == []
    # a solution found before the root LP (feasibility jump) comes without a bound
    assert a.bound is None or a.bound <= int(p.pair_level2[a.pairs].sum()) + 1e-6
    assert task.result() is a  # answered once, kept


def test_the_worker_never_loads_ortools():
    """highspy and OR-Tools each ship a libhighs; the worker must import only highspy."""
    import subprocess
    import sys

    from broker.solve import highsarm

    code = (
        "import runpy, sys; sys.argv = ['w', '--help'];"
        f"ns = runpy.run_path({str(highsarm.WORKER)!r}, run_name='not_main');"
        "print(sorted(m for m in sys.modules if m.startswith(('ortools', 'broker'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_worker_that_fails_gives_no_answer_and_says_why(monkeypatch, tmp_path):
    from broker.solve import highsarm

    bad = tmp_path / "worker.py"
    bad.write_text("raise SystemExit('no highspy here')\n")
    monkeypatch.setattr(highsarm, "WORKER", bad)
    p = _gap_d(100, 5)
    task = HighsTask(p, 1, 5.0, 10)
    assert task.poll(10.0)
    assert task.result() is None and task.error == "no highspy here"
    a = highs_arm(p, 1, 5.0, 10)
    assert a.pairs is None and a.wall_clock


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_an_orphaned_worker_ends_itself(tmp_path):
    """If the solving process dies, HiGHS does not keep the core busy."""
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys\n"
        "from broker.bench import gap\n"
        "from broker.bench.gapgen import generate\n"
        "from broker.solve.highsarm import HighsTask\n"
        "p = gap.to_problem(generate('D', 20, 400, 3))\n"
        "t = HighsTask(p, 2, 120.0, 10**9, int(p.priority.sum()))\n"
        "print(t.process.pid, flush=True)\n"
        "import os; os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split()[2] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"HiGHS worker {pid} still running 10 s after its parent died")


def test_no_files_are_left_behind(monkeypatch, tmp_path, small):
    """The exact path's proof beside CP-SAT, the portfolio's arm and a killed task all
    remove their job folders."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    solve(small, "cpsat", time_limit_s=5, seed=0)  # exact path, HiGHS's proof beside
    monkeypatch.setattr(cpsat, "EXACT_PAIR_LIMIT", 0)
    solve(small, "cpsat", time_limit_s=3, seed=0)  # portfolio, HiGHS arm on level 1
    task = HighsTask(_gap_d(), 2, 60.0, 10**9, 0)
    task.kill()
    task.result()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _improve_with_offers(p, start, level, offers):
    """Half a unit of LNS work from ``start``, offered ``offers`` one per step."""
    from broker.solve.lns import improve

    return improve(
        p,
        start,
        level=level,
        work_limit=0.5,
        time_limit_s=5,
        seed=0,
        adopt=lambda: offers.pop(0) if offers else None,
    )


def test_the_lns_takes_a_better_solution_from_the_arm(small):
    """``adopt``: an offer better on level 1 replaces the LNS's own; a worse one does not."""
    exact = solve(small, "highs", time_limit_s=30)
    empty = np.zeros(0, dtype=np.int64)
    pairs, stats = _improve_with_offers(small, empty, 1, [exact.pairs, empty])
    assert stats.adopted == 1
    assert int(small.pair_priority[pairs].sum()) == exact.level1.value
    assert small.violations(pairs) == []


def test_the_level2_lns_takes_a_cheaper_solution_and_never_a_worse_one():
    """``adopt`` at level 2 (the required-client race): a cheaper offer is taken, a
    dearer one is not, and the answer is never dearer than the best offer."""
    from broker.bench.gapgen import generate
    from broker.solve.deadline import Deadline
    from broker.solve.model import is_complete
    from broker.solve.regret import regret_start

    p = scaled(gap.to_problem(generate("C", 5, 40, 2)))
    exact = solve(p, "highs", time_limit_s=30)
    assert exact.level2.optimal
    start = regret_start(p, Deadline.after(5))
    assert start is not None and is_complete(p, start)
    assert int(p.pair_level2[start].sum()) > exact.level2.value
    pairs, stats = _improve_with_offers(p, start, 2, [exact.pairs, start])
    assert stats.adopted == 1
    assert int(p.pair_level2[pairs].sum()) == exact.level2.value
    assert p.violations(pairs) == []


def test_with_four_workers_the_plain_arm_runs_beside_highs_and_the_lns():
    from broker.bench.gapgen import generate

    p = gap.to_problem(generate("C", 10, 200, 4))  # 2,000 pairs: the race
    r = solve(p, "cpsat", time_limit_s=3, seed=0, workers=4)
    assert r.params["strategy"] == "required"
    assert r.params["plain_workers"] == 1
    assert "cpsat plain (no hint)" in r.params["arms"] and "highs" in r.params["arms"]
    assert violations(p, p.pairs_to_roles(r.pairs)[0]) == []
    assert r.runtime_s <= 3 + 1.0


def test_peek_sees_a_checked_incumbent_while_running_and_nothing_after():
    p = _gap_d()
    task = HighsTask(p, 2, 60.0, 10**9, int(p.priority.sum()), threads=1)
    seen = None
    for _ in range(100):
        seen = task.peek()
        if seen is not None:
            break
        task.poll(0.05)
    assert seen is not None and p.violations(seen) == []
    task.kill()
    task.result()
    assert task.peek() is None  # answered: nothing more to see
