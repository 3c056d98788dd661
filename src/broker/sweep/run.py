"""Run a sweep as independent tasks on Dask, writing each result as its own Parquet part.

A task is one ``(variant, policy, seed)`` cell of the grid with a stable key (a
hash of the scenario's contents, the cell, the time limit and the parameters).
Its result is one row of metrics (:func:`broker.policies.metrics.metrics`) plus
the cell, written to ``OUT/parts/<key>.parquet`` (to a temporary name, then
renamed) as soon as the task finishes. A rerun skips every task whose part
exists, so a crashed, killed or stopped sweep resumes where it stopped. When
every task is done, ``OUT/results.parquet`` and ``OUT/results.csv`` gather the
parts of this configuration.

The same code runs on a local cluster (``dask.distributed.LocalCluster``, one
single-threaded worker process per core by default) or on an existing cluster
given by its scheduler address (``tcp://HOST:PORT``), e.g. one started with
``dask scheduler`` and ``dask worker`` or by dask-jobqueue on Slurm. Workers need
broker installed; the scenario is sent to them, so they need no shared disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from broker.errors import InputError
from broker.scenario.model import Scenario
from broker.sweep.config import VARIANT_KEYS, SweepConfig


@dataclass(frozen=True)
class Task:
    """One cell of the grid.

    Attributes
    ----------
    key
        Stable identifier (hex), also the Parquet part's name.
    variant
        Multipliers (``budget``, ``reach``, ``supply``).
    policy, seed
        The policy and its seed.
    """

    key: str
    variant: dict[str, float]
    policy: str
    seed: int


@dataclass(frozen=True)
class SweepSummary:
    """What a call to :func:`run_sweep` did.

    Attributes
    ----------
    total, computed, skipped, remaining
        Tasks in the grid; computed now; found done already; still to do (when
        ``max_tasks`` stopped the run early).
    results
        ``OUT/results.parquet`` if every task is done, else ``None``.
    """

    total: int
    computed: int
    skipped: int
    remaining: int
    results: Path | None


def scenario_digest(scenario: Scenario) -> str:
    """A digest of the scenario's contents (its inputs hash when read from files)."""
    if scenario.inputs_sha256:
        return scenario.inputs_sha256
    h = hashlib.sha256()
    for frame in (scenario.supporters, scenario.clients, scenario.authorities):
        h.update(pd.util.hash_pandas_object(frame.astype(str), index=False).values.tobytes())
    h.update(repr(scenario.config).encode())
    return h.hexdigest()


def tasks(config: SweepConfig, digest: str) -> list[Task]:
    """Every task of the grid, in a stable order (variants, then policies, then seeds)."""
    from broker.policies.registry import get_policy

    out = []
    for variant in config.grid():
        for policy in config.policies:
            seeded = get_policy(policy).seeded
            for seed in range(config.seeds if seeded else 1):
                ident = json.dumps(
                    {
                        "scenario": digest,
                        "variant": variant,
                        "policy": policy,
                        "seed": seed,
                        "time_limit_s": config.time_limit_s,
                        "params": config.params,
                    },
                    sort_keys=True,
                )
                key = hashlib.sha256(ident.encode()).hexdigest()[:20]
                out.append(Task(key, variant, policy, seed))
    return out


def run_task(
    scenario: Scenario, task: Task, time_limit_s: float, params: dict[str, float]
) -> pd.DataFrame:
    """Run one task: apply the variant, run the (checked) policy, compute its metrics."""
    from broker.policies.instance import build_instance
    from broker.policies.metrics import metrics
    from broker.policies.registry import PolicyOptions, run_policy
    from broker.sweep.variants import apply_variant

    instance = build_instance(apply_variant(scenario, task.variant))
    opts = PolicyOptions(seed=task.seed, time_limit_s=time_limit_s, params=dict(params))
    result = run_policy(instance, task.policy, opts)
    row = {
        "key": task.key,
        **{k: float(task.variant.get(k, 1.0)) for k in VARIANT_KEYS},
        "policy": task.policy,
        "seed": task.seed,
        "method": str(result.params.get("method", "")),
        **metrics(instance, result.pairs, runtime_s=result.runtime_s),
    }
    return pd.DataFrame([row])


def _write_part(frame: pd.DataFrame, parts: Path, key: str) -> None:
    tmp = parts / f".{key}.{uuid.uuid4().hex[:8]}.tmp"
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, parts / f"{key}.parquet")


def _is_daemon() -> bool:
    import multiprocessing

    return bool(multiprocessing.current_process().daemon)


def _client(scheduler: str | None, workers: int | None):  # type: ignore[no-untyped-def]
    """A Dask client: of the cluster at ``scheduler``, or of a new local cluster.

    Worker processes must not be daemonic: the optimiser on large problems starts a
    helper process (:mod:`broker.solve.portfolio`), which daemonic processes may not.
    The local cluster is started so; an external cluster is checked, and refused with
    what to do if its workers are daemonic.
    """
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            why = str(exc) or f"{type(exc).__name__} after 30 s"
            raise InputError.one(
                "--scheduler",
                f"cannot connect to a Dask scheduler there ({why}); expected the address "
                "of a running scheduler, e.g. tcp://127.0.0.1:8786",
                value=scheduler,
            ) from None
        daemonic = [w for w, d in client.run(_is_daemon).items() if d]
        if daemonic:
            client.close()
            raise InputError.one(
                "--scheduler",
                f"workers {', '.join(daemonic[:3])} run as daemonic processes, which cannot "
                "start the optimiser's helper process; start them with "
                "DASK_DISTRIBUTED__WORKER__DAEMON=False in their environment (or "
                "dask worker --no-nanny)",
                value=scheduler,
            )
        return client, None
    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port; no clash with other clusters
        )
    return Client(cluster), cluster


def gather(out: Path, task_list: list[Task]) -> pd.DataFrame:
    """The parts of ``task_list`` found in ``out/parts``, in task order."""
    parts = out / "parts"
    frames = [
        pd.read_parquet(parts / f"{t.key}.parquet")
        for t in task_list
        if (parts / f"{t.key}.parquet").is_file()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def run_sweep(
    config: SweepConfig,
    out: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    max_tasks: int | None = None,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
) -> SweepSummary:
    """Run every task of ``config`` not yet done in ``out``.

    Parameters
    ----------
    config
        The sweep.
    out
        Output folder (created; reused to resume).
    scheduler
        Address of an existing Dask scheduler; by default a local cluster.
    workers
        Worker processes of the local cluster (default: one per core).
    max_tasks
        Run at most this many new tasks, then stop (a batch slot; rerun to go on).
    progress
        Show a progress bar (tqdm, on standard error).
    say
        Callback for one-line messages.
    """
    from broker.scenario import read_scenario

    tell = say or (lambda _m: None)
    out = Path(out)
    parts = out / "parts"
    for path in (out, parts):
        if path.exists() and not path.is_dir():
            raise InputError.one(f"--out {out}", f"{path} is a file; expected a folder")
    try:
        parts.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError.one(f"--out {out}", f"cannot be created ({exc.strerror or exc})") from None
    scenario = read_scenario(config.scenario)
    task_list = tasks(config, scenario_digest(scenario))
    todo = [t for t in task_list if not (parts / f"{t.key}.parquet").is_file()]
    skipped = len(task_list) - len(todo)
    batch = todo if max_tasks is None else todo[:max_tasks]
    tell(
        f"{len(task_list)} tasks: {skipped} done already, {len(batch)} to run now"
        + (f", {len(todo) - len(batch)} left for later" if len(batch) < len(todo) else "")
    )
    computed = 0
    if batch:
        from dask.distributed import as_completed
        from tqdm import tqdm

        client, cluster = _client(scheduler, workers)
        try:
            tell(f"dask: {client.scheduler.address}, {len(client.nthreads())} workers")
            shared = client.scatter(scenario, broadcast=True)
            futures = [
                client.submit(
                    run_task,
                    shared,
                    t,
                    config.time_limit_s,
                    config.params,
                    key=f"broker-sweep-{t.key}",
                    pure=False,
                )
                for t in batch
            ]
            by_key = {f.key: t for f, t in zip(futures, batch, strict=True)}
            bar = tqdm(
                total=len(task_list),
                initial=skipped,
                disable=not progress,
                unit="task",
                desc="sweep",
            )
            for fut in as_completed(futures):
                frame = fut.result()
                _write_part(frame, parts, by_key[fut.key].key)
                computed += 1
                bar.update(1)
            bar.close()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    remaining = len(todo) - computed
    results = None
    if remaining == 0:
        frame = gather(out, task_list)
        tmp = out / f".results.{uuid.uuid4().hex[:8]}.tmp"
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, out / "results.parquet")
        from broker.csvtext import write_csv

        write_csv(frame, out / "results.csv")
        results = out / "results.parquet"
    return SweepSummary(len(task_list), computed, skipped, remaining, results)
