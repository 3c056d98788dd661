"""broker.solve.yielding: a thread that runs at lowered priority and stops when asked."""

from __future__ import annotations

import _thread
import os
import sys
import threading
import time

import pytest

from broker.bench import gap
from broker.bench.gapgen import generate
from broker.solve import required, solve
from broker.solve.yielding import YIELD_NICE, lower_this_thread, run_yielding

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the nice value is per thread only on Linux"
)


def test_returns_the_value_and_is_not_abandoned():
    seen = []

    def fn(abandoned):
        seen.append(abandoned())
        return 42

    assert run_yielding(fn) == 42
    assert seen == [False]


def test_an_error_in_the_thread_is_raised_in_the_caller():
    def fn(_abandoned):
        raise ValueError("from the thread")

    with pytest.raises(ValueError, match="from the thread"):
        run_yielding(fn)


@linux_only
def test_only_the_thread_is_lowered():
    process_before = os.getpriority(os.PRIO_PROCESS, 0)
    main_tid = threading.get_native_id()

    def fn(_abandoned):
        tid = threading.get_native_id()
        return tid, os.getpriority(os.PRIO_PROCESS, tid)

    tid, nice = run_yielding(fn)
    assert tid != main_tid
    assert nice == min(process_before + YIELD_NICE, 19)
    assert os.getpriority(os.PRIO_PROCESS, 0) == process_before
    assert os.getpriority(os.PRIO_PROCESS, main_tid) == process_before


def test_nothing_is_lowered_for_zero():
    assert lower_this_thread(0) is False


def test_an_interrupted_caller_abandons_the_thread_and_waits_for_it():
    state = {"saw_abandon": False, "ended": False}

    def fn(abandoned):
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if abandoned():
                state["saw_abandon"] = True
                break
            time.sleep(0.01)
        time.sleep(0.05)  # some tidying after the request
        state["ended"] = True
        return None

    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_yielding(fn)
    timer.join()
    assert state == {"saw_abandon": True, "ended": True}
    assert time.monotonic() - t0 < 10


def _record_yielding(monkeypatch, module) -> list[int]:
    """Make ``module`` call :func:`run_yielding` through a wrapper; the nice values it used."""
    calls: list[int] = []

    def recording(fn, nice=YIELD_NICE):
        calls.append(nice)
        return run_yielding(fn, nice)

    monkeypatch.setattr(module, "run_yielding", recording)
    return calls


def test_the_race_runs_its_lns_yielding_beside_highs(monkeypatch):
    calls = _record_yielding(monkeypatch, required)
    p = gap.to_problem(generate("D", 10, 500, 1))  # raced: above the exact path
    r = solve(p, "cpsat", time_limit_s=3, seed=0)
    assert r.params["strategy"] == "required"
    assert calls == [YIELD_NICE]
    assert any(line.startswith("LNS beside HiGHS") for line in r.log)
    assert p.violations(r.pairs) == []


def test_the_portfolio_runs_its_level1_lns_yielding_beside_highs(monkeypatch):
    from broker.candidates import build_candidates
    from broker.solve import cpsat, portfolio
    from test_portfolio import random_scenario

    calls = _record_yielding(monkeypatch, portfolio)
    monkeypatch.setattr(cpsat, "EXACT_PAIR_LIMIT", 0)
    p = build_candidates(random_scenario(22, n_clients=80, n_supporters=20)).problem
    r = solve(p, "cpsat", time_limit_s=4, seed=0)
    assert "highs" in str(r.params["bound_thread"])
    assert calls == [YIELD_NICE]  # level 1 only: level 2's arm is CP-SAT
    assert p.violations(r.pairs) == []
