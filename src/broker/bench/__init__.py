"""Benchmarks: published GAP instances, peer solvers on the same model, and a runner.

Modules
-------
gap        OR-Library generalised assignment problems: parser, adapter to
           :class:`~broker.problem.ProblemData`, objective and feasibility in GAP terms
peers      HiGHS (highspy), CBC (PuLP), a plain single-call CP-SAT model and the greedy
           baseline, each returning a :class:`~broker.solve.result.Result`
instances  named instance sets and the seeded synthetic national generator
verify     an independent feasibility check of an assignment on a ProblemData
runner     every instance x solver x seed in a fresh process; results rows
report     ``results.csv`` and ``results.md`` (command, date, machine, versions)
cli        ``broker bench gap ...`` and ``broker bench run ...``

Importing this package (or any module in it) does not import OR-Tools or highspy:
the two cannot share a process (see :mod:`broker.bench.peers`).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
"""Root of a source checkout (``src/broker/bench`` is three levels below it)."""

BENCHMARKS_DIR = REPO_ROOT / "benchmarks"
"""The ``benchmarks/`` folder of a source checkout: instances, protocol, results."""

GAP_DIR = BENCHMARKS_DIR / "instances" / "gap"
"""The OR-Library GAP files and ``best_known.csv``."""

__all__ = ["BENCHMARKS_DIR", "GAP_DIR", "REPO_ROOT"]
