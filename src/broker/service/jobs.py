"""Rounds and what-ifs solved in worker processes, so the server stays responsive.

:class:`JobRunner` starts one OS process per job, at most ``max_jobs`` at once; the
others wait their turn. Workers are forked from a fork server that has imported
broker's modules, so they start quickly and share no threads or connections with
the server. A thread in the server reads the worker's messages from a queue:
progress lines (kept in memory for polling) and, at the end, the answer, which it
writes to the job's row in ``service_jobs``.

Cancelling terminates the worker and its own process group (a national solve runs
a pool of solver processes, which go with it). A round job records its round in the
ledger in one transaction at the very end, after claiming a flag shared with
:meth:`JobRunner.cancel` (``0`` running, ``1`` recording, ``-1`` cancelled): a job
that is recording cannot be cancelled, and a cancelled one never records.

The workers call the one pipeline (:func:`broker.pipeline.run_round`) and, for
rounds, :class:`broker.ledger.run.RoundRecorder`, exactly as ``broker run --db`` does.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import queue as queue_mod
import shutil
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broker.errors import InputError
from broker.ledger.db import Ledger
from broker.ledger.models import utcnow
from broker.ledger.service_tables import FINISHED, ServiceJob

# --------------------------------------------------------------------------- workers


NICENESS = 10
"""How much lower a worker's CPU priority is than the server's: pages stay quick while a
round solves (its solver processes inherit it)."""


def _own_group() -> None:
    """Lead a new process group (cancelling stops the worker's children too) at low priority."""
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    if hasattr(os, "nice"):
        os.nice(NICENESS)


def _stop(process: Any) -> None:
    """Terminate a worker and every process in its group (solver pools included)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.terminate()  # the group does not exist yet: the worker alone
    process.join(10)
    if process.is_alive():
        process.kill()
        process.join(5)


def _write_files(files: list[tuple[str, bytes]], root: str) -> Path:
    """Write the job's files into ``root/scenario`` (``root`` is made and removed by
    :meth:`JobRunner._run`, so a worker killed by a cancel leaves nothing behind)."""
    folder = Path(root) / "scenario"
    folder.mkdir()
    for name, content in files:
        (folder / name).write_bytes(content)
    return folder


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


def _reasons(outcomes: Any) -> dict[str, str]:
    """``client|role`` -> reason sentence, for clients left unmatched."""
    out = {}
    for r in outcomes.itertuples(index=False):
        if r.status == "unmatched" and isinstance(r.reason, str) and r.reason:
            out[f"{r.client_id}|{r.role or 'lead'}"] = r.reason
    return out


FIXES_TOTAL_S = 60.0
"""Most seconds a round job spends looking for fixes, after the round is recorded."""


def _fixes(rnd: Any, params: dict[str, Any], q: Any) -> dict[str, list[dict[str, Any]]]:
    """``client|lead`` -> the smallest single changes found to match each unmatched client.

    :func:`broker.explain.fixes.find_fixes` re-solves changed scenarios with the
    round's own solver, time limit and seed; the search is bounded in time.
    """
    from broker.explain.fixes import FixOptions, find_fixes

    if not (rnd.outcomes["status"] == "unmatched").any():
        return {}
    q.put(("progress", "looking for the smallest change that matches each unmatched client"))
    limit = float(params["time_limit_s"])
    options = FixOptions(
        solver=rnd.result.solver,
        time_limit_s=limit,
        seed=int(params["seed"]),
        workers=1,
        total_s=min(FIXES_TOTAL_S, 3 * limit),
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in find_fixes(rnd, options).to_dict("records"):
        out.setdefault(f"{r['client_id']}|lead", []).append(
            {k: r[k] for k in ("fix_kind", "fix_target", "fix_via", "fix_text")}
        )
    return out


def round_worker(
    url: str,
    files: list[tuple[str, bytes]],
    params: dict[str, Any],
    user: str,
    flag: Any,
    q: Any,
    root: str,
) -> None:
    """Solve and record one round (runs in a worker process)."""
    _own_group()
    from broker.ledger.run import RoundRecorder
    from broker.pipeline import run_round
    from broker.scenario import read_scenario

    folder = _write_files(files, root)
    recorder = None
    try:
        scenario = read_scenario(folder)
        recorder = RoundRecorder(
            db=url,
            user=user,
            name=params.get("name"),
            top_up=bool(params.get("top_up")),
            progress=lambda m: q.put(("progress", m)),
        )
        scenario = recorder.prepare(scenario, folder.parent / "out")
        q.put(("progress", f"solving {scenario.name!r} ({len(scenario.clients)} clients)"))
        rnd = run_round(
            scenario,
            time_limit_s=float(params["time_limit_s"]),
            seed=int(params["seed"]),
            workers=1,
            progress=lambda m: q.put(("progress", m)),
        )
        with flag.get_lock():
            if flag.value == CANCELLED:
                return
            flag.value = RECORDING
        q.put(("recording", None))
        extra = recorder.record(rnd, {k: v for k, v in params.items() if k != "name"})
        fixes = _fixes(rnd, params, q) if params.get("fixes", True) else {}
        q.put(
            (
                "done",
                _jsonable(
                    {
                        "round_id": extra["round_id"],
                        "ledger": extra["ledger"],
                        "topup": extra.get("topup"),
                        "reasons": _reasons(rnd.outcomes),
                        "fixes": fixes,
                    }
                ),
            )
        )
    except InputError as exc:  # a top-up's derived scenario named as the ledger's
        q.put(("error", str(recorder.explain(exc) if recorder is not None else exc)))
    except Exception as exc:  # reported on the job, and in full on the server's stderr
        traceback.print_exc(file=sys.stderr)
        q.put(("error", f"internal error ({type(exc).__name__}): {exc}"))
    finally:
        if recorder is not None:
            recorder.close()
        shutil.rmtree(folder.parent, ignore_errors=True)


def whatif_worker(
    url: str,
    files: list[tuple[str, bytes]],
    params: dict[str, Any],
    user: str,
    flag: Any,
    q: Any,
    root: str,
) -> None:
    """Solve a changed copy of a scenario (runs in a worker process; records nothing)."""
    _own_group()
    from broker.ledger.diff import view_from_round_result
    from broker.pipeline import run_round
    from broker.scenario import read_scenario
    from broker.service.whatif import apply_changes

    folder = _write_files(files, root)
    try:
        apply_changes(folder, params["changes"])
        scenario = read_scenario(folder)
        q.put(("progress", f"solving the what-if ({len(scenario.clients)} clients)"))
        rnd = run_round(
            scenario,
            time_limit_s=float(params["time_limit_s"]),
            seed=int(params["seed"]),
            workers=1,
            progress=lambda m: q.put(("progress", m)),
        )
        view = view_from_round_result(rnd, "what-if")
        res = rnd.result
        q.put(
            (
                "done",
                _jsonable(
                    {
                        "view": view.table.to_dict("records"),
                        "reasons": _reasons(rnd.outcomes),
                        "solver_status": res.status.value,
                        "priority_matched": int(res.level1.value),
                    }
                ),
            )
        )
    except InputError as exc:
        q.put(("error", str(exc)))
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        q.put(("error", f"internal error ({type(exc).__name__}): {exc}"))
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


RUNNING, RECORDING, CANCELLED = 0, 1, -1
Files = list[tuple[str, bytes]]

WORKERS: dict[str, Callable[..., None]] = {"round": round_worker, "whatif": whatif_worker}


# --------------------------------------------------------------------------- runner

PRELOAD = ["broker.service.jobs", "broker.pipeline", "broker.ledger.run", "broker.ledger.diff"]
"""Modules the fork server imports once, so that a job starts in a fraction of a second."""


def _context() -> Any:
    """``forkserver`` where there is one (a clean process, modules preloaded), else ``spawn``."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return mp.get_context("spawn")


@dataclass
class _Live:
    process: Any = None
    flag: Any = None
    progress: list[str] = field(default_factory=list)
    cancelled: bool = False
    finished: bool = False


class JobRunner:
    """Runs jobs in worker processes and keeps their rows up to date."""

    PROGRESS_LINES = 20

    def __init__(self, ledger: Ledger, max_jobs: int = 1) -> None:
        self.ledger = ledger
        self.ctx = _context()
        self._slots = threading.Semaphore(max(1, max_jobs))
        self._lock = threading.Lock()
        self._live: dict[int, _Live] = {}
        self._threads: list[threading.Thread] = []

    def _update(self, job_id: int, *, unless: frozenset[str] = FINISHED, **fields: Any) -> None:
        """Set fields of a job's row, unless it is already in one of the ``unless`` states."""
        with self.ledger.session() as s:
            job = s.get(ServiceJob, job_id)
            assert job is not None
            if job.status in unless:
                return
            for k, v in fields.items():
                setattr(job, k, v)

    def submit(
        self, job_id: int, kind: str, files: Files, params: dict[str, Any], user: str
    ) -> None:
        """Start (or queue) job ``job_id``; returns at once."""
        with self._lock:
            self._live[job_id] = _Live()
        t = threading.Thread(
            target=self._run, args=(job_id, kind, files, params, user), daemon=True
        )
        self._threads.append(t)
        t.start()

    def progress(self, job_id: int) -> list[str]:
        """The latest progress lines of a running job (empty once it is finished)."""
        with self._lock:
            live = self._live.get(job_id)
            return list(live.progress) if live else []

    def _run(self, job_id: int, kind: str, files: Files, params: dict[str, Any], user: str) -> None:
        with self._slots:
            with self._lock:
                live = self._live[job_id]
                if live.cancelled:
                    return
                q = self.ctx.Queue()
                live.flag = self.ctx.Value("i", RUNNING)
                # the job's folder is made and removed here: a worker stopped by a
                # cancel (SIGTERM to its group) runs no cleanup of its own
                root = tempfile.mkdtemp(prefix="broker-job-")
                live.process = self.ctx.Process(
                    target=WORKERS[kind],
                    args=(self.ledger.url, files, params, user, live.flag, q, root),
                    daemon=False,  # a national solve starts its own pool of processes
                )
                live.process.start()
            try:
                self._update(job_id, status="running", started_at=utcnow(), message="started")
                final = self._follow(job_id, live, q)
                live.process.join(5)
            finally:
                shutil.rmtree(root, ignore_errors=True)
            with self._lock:
                cancelled = live.cancelled
                self._live.pop(job_id, None)
            if cancelled:
                return
            if final is None:
                code = live.process.exitcode
                final = {
                    "status": "failed",
                    "error": f"the worker process stopped unexpectedly (exit code {code})",
                }
            self._update(job_id, finished_at=utcnow(), **final)

    def _follow(self, job_id: int, live: _Live, q: Any) -> dict[str, Any] | None:
        while True:
            try:
                kind, payload = q.get(timeout=0.2)
            except queue_mod.Empty:
                if not live.process.is_alive():
                    try:
                        kind, payload = q.get(timeout=0.5)
                    except queue_mod.Empty:
                        return None
                else:
                    continue
            if kind == "progress":
                with self._lock:
                    live.progress = (live.progress + [str(payload)])[-self.PROGRESS_LINES :]
            elif kind == "recording":
                with self._lock:
                    live.progress = (live.progress + ["recording the round in the ledger"])[
                        -self.PROGRESS_LINES :
                    ]
                self._update(job_id, status="recording", message="recording the round")
            elif kind == "done":
                with self._lock:
                    live.finished = True
                return {
                    "status": "done",
                    "message": "finished",
                    "result": payload,
                    "round_id": payload.get("round_id"),
                }
            elif kind == "error":
                with self._lock:
                    live.finished = True
                return {"status": "failed", "message": "failed", "error": str(payload)}

    def cancel(self, job_id: int, user: str) -> str:
        """Cancel a job: ``"cancelled"``, ``"recording"`` (too late) or ``"finished"``."""
        with self._lock:
            live = self._live.get(job_id)
            if live is None or live.finished:
                return "finished"
            if live.process is not None:
                with live.flag.get_lock():
                    if live.flag.value == RECORDING:
                        return "recording"
                    live.flag.value = CANCELLED
                _stop(live.process)
            live.cancelled = True
        self._update(
            job_id,
            unless=frozenset(),
            status="cancelled",
            finished_at=utcnow(),
            message=f"cancelled by {user}",
        )
        return "cancelled"

    def shutdown(self) -> None:
        """Stop every worker (the server is stopping); their jobs are marked cancelled."""
        with self._lock:
            ids = list(self._live)
        for job_id in ids:
            self.cancel(job_id, "the server (shutting down)")

    def recover(self) -> int:
        """Mark jobs left unfinished by an earlier server as failed; return how many."""
        from sqlalchemy import select

        n = 0
        with self.ledger.session() as s:
            for job in s.scalars(select(ServiceJob).where(ServiceJob.status.not_in(FINISHED))):
                job.status = "failed"
                job.error = "the server stopped before this job finished; start it again"
                job.finished_at = utcnow()
                n += 1
        return n
