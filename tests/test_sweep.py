"""Sweeps: configuration, variants, resuming after a stop or a kill, and the same
results on a local cluster and on a separately started scheduler and worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from broker.errors import InputError
from broker.scenario import read_scenario
from broker.sweep.config import read_config
from broker.sweep.run import run_sweep, scenario_digest, tasks
from broker.sweep.variants import apply_variant

pytest.importorskip("dask.distributed")

ROOT = Path(__file__).resolve().parents[1]
LEICS = ROOT / "scenarios" / "leicestershire"
STABLE_COLUMNS = ["key", "budget", "supply", "policy", "seed", "priority_matched", "matched",
                  "total_cost_gbp", "worst_la_share", "blocking_pairs"]  # fmt: skip


def write_config(tmp_path: Path, **extra: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(
        f'scenario = "{LEICS}"\n'
        'policies = ["optimal", "greedy_priority", "lottery"]\n'
        "seeds = 2\n"
        "time_limit_s = 1\n"
        "[variants]\n"
        "budget = [0.5, 1.0]\n",
        encoding="utf-8",
    )
    return path


def test_config_grid_and_stable_keys(tmp_path):
    cfg = read_config(write_config(tmp_path))
    assert len(cfg.grid()) == 2
    digest = scenario_digest(read_scenario(cfg.scenario))
    ts = tasks(cfg, digest)
    assert len(ts) == 2 * (1 + 1 + 2)  # lottery is seeded, the others run once
    assert [t.key for t in ts] == [t.key for t in tasks(cfg, digest)]
    assert len({t.key for t in ts}) == len(ts)


def test_config_errors_name_the_setting(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        'scenario = "nowhere"\npolicies = ["optimal", "best"]\nseeds = 0\n'
        "colour = 1\n[params]\nmin_share = 3\n[variants]\nbudget = [0, 1]\nheight = [1]\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_config(path)
    text = str(err.value)
    for part in (
        "column 'scenario': value 'nowhere': scenario folder not found",
        "column 'policies': value 'best': unknown policy",
        "column 'seeds': value 0: expected a whole number from 1 to 1000",
        "column 'colour': unknown setting",
        "column 'variants.budget': value [0, 1]: expected a list of multipliers",
        "column 'variants.height': unknown variant",
        "column 'params.min_share': value 3: out of range",
    ):
        assert part in text


def test_out_must_be_a_folder(tmp_path):
    cfg = read_config(write_config(tmp_path))
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file; expected a folder"):
        run_sweep(cfg, tmp_path / "file", progress=False)


def test_variants_scale_budgets_reach_and_supply():
    sc = read_scenario(LEICS)
    v = apply_variant(sc, {"budget": 2.0, "reach": 0.5, "supply": 1.5})
    assert v.authorities["budget_gbp"].iloc[0] == 2 * sc.authorities["budget_gbp"].iloc[0]
    assert v.config.max_distance_km == sc.config.max_distance_km / 2
    cap0 = sc.supporters["capacity_days"].to_numpy(float)
    assert np.allclose(v.supporters["capacity_days"], np.minimum(7, np.round(cap0 * 1.5, 2)))
    assert sc.supporters["capacity_days"].equals(read_scenario(LEICS).supporters["capacity_days"])
    assert apply_variant(sc, {"budget": 1.0}) is not sc  # a copy, never the caller's tables


def _stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[STABLE_COLUMNS].sort_values("key").reset_index(drop=True)


def _wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _broker(*args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys; from broker.cli import main; sys.exit(main())",
        *args,
    ]


def test_killed_sweep_resumes(tmp_path):
    config = write_config(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        _broker("sweep", str(config), "--out", str(out), "--workers", "1", "--quiet"),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait_for(lambda: len(list((out / "parts").glob("*.parquet"))) >= 2, 120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its local cluster, at once
        proc.wait(timeout=30)
    done = len(list((out / "parts").glob("*.parquet")))
    assert 2 <= done
    summary = run_sweep(read_config(config), out, workers=1, progress=False)
    assert summary.skipped == done and summary.computed == 8 - done
    assert len(pd.read_parquet(out / "results.parquet")) == 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_scheduler(proc: subprocess.Popen, port: int, log: Path) -> None:
    """Wait until the scheduler started as ``proc`` listens on ``port``.

    A loaded machine may take many seconds to import Dask in a new interpreter; the
    test waits for the listening socket instead of racing the client's own timeout,
    and fails with the scheduler's output if it exits or never listens.
    """
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the scheduler exited with {proc.returncode}:\n{log.read_text()}")
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"the scheduler did not listen on {port} within 120 s:\n{log.read_text()}")


def test_stopped_sweep_resumes_and_matches_an_external_cluster(tmp_path):
    cfg = read_config(write_config(tmp_path))
    out = tmp_path / "local"
    first = run_sweep(cfg, out, workers=1, max_tasks=3, progress=False)
    assert (first.computed, first.skipped, first.remaining) == (3, 0, 5)
    assert first.results is None and len(list((out / "parts").glob("*.parquet"))) == 3
    local = run_sweep(cfg, out, workers=1, progress=False)
    assert (local.computed, local.skipped, local.remaining) == (5, 3, 0)
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) == 8 and table["key"].is_unique
    again = run_sweep(cfg, out, workers=1, progress=False)
    assert again.computed == 0 and again.skipped == 8

    # the same configuration on a scheduler and a worker started as separate processes
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("scheduler", "worker")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],  # fmt: skip
            start_new_session=True,
            stdout=logs["scheduler"],
            stderr=subprocess.STDOUT,
        )
    ]
    try:
        _wait_for_scheduler(procs[0], port, tmp_path / "scheduler.log")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--no-dashboard",
                ],  # fmt: skip
                start_new_session=True,
                stdout=logs["worker"],
                stderr=subprocess.STDOUT,
                env={**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"},
            )
        )
        external = run_sweep(cfg, tmp_path / "external", scheduler=address, progress=False)
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        for log in logs.values():
            log.close()
    assert external.computed == 8
    a = _stable(pd.read_parquet(tmp_path / "local" / "results.parquet"))
    b = _stable(pd.read_parquet(tmp_path / "external" / "results.parquet"))
    pd.testing.assert_frame_equal(a, b)


def test_daemonic_external_workers_are_refused_with_what_to_do(monkeypatch, tmp_path):
    import dask.distributed

    class FakeClient:  # a cluster whose workers are daemonic processes
        def __init__(self, address: str, timeout: str) -> None:
            self.closed = False

        def run(self, fn):  # type: ignore[no-untyped-def]
            return {"tcp://127.0.0.1:40001": True}

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr(dask.distributed, "Client", FakeClient)
    cfg = read_config(write_config(tmp_path))
    with pytest.raises(InputError, match="DASK_DISTRIBUTED__WORKER__DAEMON=False"):
        run_sweep(cfg, tmp_path / "out", scheduler="tcp://127.0.0.1:1", progress=False)


def test_an_unreachable_scheduler_is_named_with_why(monkeypatch, tmp_path):
    import dask.distributed

    def refuse(address: str, timeout: str) -> None:
        raise TimeoutError()  # what a client may raise with no message of its own

    monkeypatch.setattr(dask.distributed, "Client", refuse)
    cfg = read_config(write_config(tmp_path))
    with pytest.raises(InputError) as err:
        run_sweep(cfg, tmp_path / "out", scheduler="tcp://127.0.0.1:1", progress=False)
    text = str(err.value)
    assert "tcp://127.0.0.1:1" in text and "TimeoutError after 30 s" in text
