"""One solve in a fresh Python process: ``python -m broker.bench.worker JOB ANSWER``.

The parent pickles a job (solver name, :class:`~broker.problem.ProblemData`, limits)
to the file ``JOB``; the worker solves it and pickles its answer to ``ANSWER``. A
fresh process per solve gives each solve its own peak memory (``ru_maxrss``),
contains crashes, and keeps OR-Tools and highspy apart (see :mod:`broker.bench.peers`).
Plain ``subprocess`` rather than :mod:`multiprocessing` so that it works from any
caller, including scripts without an ``if __name__ == "__main__"`` guard.

Answer
------
``result``
    The :class:`~broker.solve.result.Result`.
``seconds``
    Wall time of the solver call in the worker. Every solver's code and library are
    imported before the clock starts (:func:`preload_broker_solver` for broker's).
``rss_before_mb``
    Resident memory just before the call, after importing the solver's library.
``peak_self_mb``, ``peak_children_mb``
    ``ru_maxrss`` of the worker and of its largest child (CBC runs as a child).
``probe``
    For broker's own CP-SAT solvers: the objective of every solution of every
    ``CpSolver.solve`` call, as lists of ``(seconds, objective)``
    (:func:`install_cpsat_probe`).
``error``
    A traceback when the solver raised; ``result`` is then ``None``.
"""

from __future__ import annotations

import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

_PRELOAD = {
    "highs-mip": "highspy",
    "cbc": "pulp",
    "cpsat-plain": "ortools.sat.python.cp_model",
    "highs": "scipy.optimize",
    "cpsat": "ortools.sat.python.cp_model",
}
_PRELOAD |= {f"{k}-l1": v for k, v in list(_PRELOAD.items())}
_NO_CPSAT = {"highs"}
"""broker solvers that never call CP-SAT (no probe, so OR-Tools is not imported)."""


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def install_cpsat_probe(t0: list[float], calls: list[list[tuple[float, float]]]) -> None:
    """Record the objective of every CP-SAT solution, whoever calls the solver.

    Wraps ``cp_model.CpSolver.solve`` so that each call appends a list to ``calls``
    and each solution appends ``(seconds since t0[0], objective value)`` to it. When
    the caller passes no solution callback, a recording one is added; when it passes
    one, its ``on_solution_callback`` is wrapped. Used for broker's own solvers,
    which do not expose their incumbents; it observes and changes nothing else.
    """
    from ortools.sat.python import cp_model

    original = cp_model.CpSolver.solve

    class Recorder(cp_model.CpSolverSolutionCallback):
        def __init__(self, sink: list[tuple[float, float]]) -> None:
            super().__init__()
            self.sink = sink

        def on_solution_callback(self) -> None:
            self.sink.append((time.perf_counter() - t0[0], self.objective_value))

    def solve(self, model, solution_callback=None):  # type: ignore[no-untyped-def]
        sink: list[tuple[float, float]] = []
        calls.append(sink)
        if solution_callback is None:
            solution_callback = Recorder(sink)
        else:
            inner = solution_callback.on_solution_callback
            cb = solution_callback

            def wrapped() -> None:
                sink.append((time.perf_counter() - t0[0], cb.objective_value))
                inner()

            try:
                cb.on_solution_callback = wrapped
            except AttributeError:
                pass
        return original(self, model, solution_callback)

    cp_model.CpSolver.solve = solve  # type: ignore[method-assign]
    cp_model.CpSolver.Solve = solve  # type: ignore[method-assign]


def preload_broker_solver(name: str) -> None:
    """Import broker's solver ``name`` and the modules its strategies load on first use."""
    from broker.solve import get_solver

    try:
        get_solver(name)
    except KeyError:
        return  # reported by the solve itself
    import broker.solve.portfolio  # noqa: F401
    import broker.solve.required  # noqa: F401


def run_job(job: dict) -> dict:
    """Solve one job in this process (see the module docstring)."""
    from broker.bench import peers

    peers.mark_isolated()
    name = job["solver"]
    module = _PRELOAD.get(name)
    if module:
        __import__(module)
    if name not in peers.PEERS:
        # broker's own solver code is imported before the clock starts, as each
        # peer's library is (and as `broker run` does while reading its arguments):
        # about 0.5 s that used to count in `seconds` for broker's solvers only
        preload_broker_solver(name)
    t0 = [time.perf_counter()]
    calls: list[list[tuple[float, float]]] = []
    # broker's own solvers report their incumbents (SolveOptions.on_incumbent); the
    # probe that patches CP-SAT is only for a job that asks for it explicitly
    if job.get("probe", False) and name not in peers.PEERS and name not in _NO_CPSAT:
        try:
            install_cpsat_probe(t0, calls)
        except ImportError:
            pass
    answer: dict = {"result": None, "error": None, "probe": calls}
    answer["rss_before_mb"] = _rss_mb()
    t0[0] = time.perf_counter()
    try:
        answer["result"] = peers.run_solver(
            name,
            job["problem"],
            time_limit_s=job["time_limit_s"],
            seed=job["seed"],
            workers=job["workers"],
        )
    except Exception:  # noqa: BLE001 - reported to the parent
        answer["error"] = traceback.format_exc()
    answer["seconds"] = time.perf_counter() - t0[0]
    answer["peak_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    answer["peak_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return answer


def call_worker(job: dict, timeout_s: float) -> tuple[dict | None, str]:
    """Run ``job`` in a fresh Python process.

    Returns
    -------
    (answer, problem)
        The worker's answer (``None`` if it crashed or timed out) and, if so, a short
        description of what happened (exit code or signal, last lines of stderr).
    """
    import broker

    src = str(Path(broker.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with tempfile.TemporaryDirectory(prefix="broker-bench-") as tmp:
        job_path, answer_path = Path(tmp) / "job.pkl", Path(tmp) / "answer.pkl"
        with job_path.open("wb") as fh:
            pickle.dump(job, fh, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "broker.bench.worker", str(job_path), str(answer_path)],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, f"killed after {timeout_s:g}s (no answer)"
        if proc.returncode != 0 or not answer_path.is_file():
            how = (
                f"killed by signal {-proc.returncode}"
                if proc.returncode < 0
                else f"exit code {proc.returncode}"
            )
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            return None, f"worker crashed ({how}){': ' + tail if tail else ''}"
        with answer_path.open("rb") as fh:
            return pickle.load(fh), ""


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m broker.bench.worker JOB ANSWER``."""
    job_path, answer_path = (argv if argv is not None else sys.argv[1:])[:2]
    with open(job_path, "rb") as fh:
        job = pickle.load(fh)
    answer = run_job(job)
    tmp = answer_path + ".part"
    with open(tmp, "wb") as fh:
        pickle.dump(answer, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, answer_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
