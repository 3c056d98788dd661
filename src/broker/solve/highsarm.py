"""HiGHS's branch and cut as one arm of broker's portfolios, in its own interpreter.

HiGHS is the strongest single solver measured on two families where CP-SAT's own
search lags: generalised assignment problems of a few hundred jobs (its LP bound
is within 0.2% and its heuristics close most of the rest) and national rounds
where capacity is the main coupling. :class:`HighsTask` runs ``highspy`` (HiGHS
1.16 at the time of writing, where SciPy 1.17 bundles 1.12) in a fresh Python
process, :mod:`broker.solve.highsworker`, because ``highspy`` and OR-Tools cannot
share one (see the worker's docstring). To the portfolios it looks like
:class:`broker.solve.child.ChildTask` (``poll``, ``kill``, ``result``), with one
difference that matters at a deadline: a task killed before it answers still
returns the last improving solution HiGHS reported, so its time is never wasted.
:func:`highs_arm` runs one task to its end.

The formulation is :func:`broker.solve.model.constraint_matrix`::

    min or max  sum_k c[k] x[k]
    s.t.        A x in [lo, hi]        (clients, teams, every limit that can bind)
                x[k] = 1 for pinned k,  x in {0, 1}
                sum_k priority[k] x[k] >= hold      (level 2 only)

Reproducibility: HiGHS is deterministic for a given ``threads`` setting, but the
wall clock usually stops it before its node limit (:attr:`ArmResult.wall_clock`
says which did). Every answer is checked in exact integers
(:meth:`ProblemData.violations`) before it is returned; one that fails is dropped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import weakref
import zipfile
from pathlib import Path

import numpy as np
from scipy import sparse

from broker.problem import ProblemData
from broker.solve.arm import ArmResult
from broker.solve.model import constraint_matrix

MAX_PAIRS = 150_000
"""Above this many pairs the arm is not used (HiGHS's presolve and LP need
minutes and gigabytes at 8x England, 1.55 million pairs)."""

WORKER = Path(__file__).with_name("highsworker.py")
"""The script the task runs (it imports NumPy and ``highspy`` only)."""

NODES_PER_WORK = 40.0
"""Branch-and-bound nodes per unit of the deterministic work limit."""


def _discard(process: subprocess.Popen[bytes], folder: str) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
    shutil.rmtree(folder, ignore_errors=True)


class HighsTask:
    """HiGHS on one level of ``p``, running in a child interpreter from construction.

    Parameters
    ----------
    p
        The (scaled) problem.
    level
        1: maximise priority matched; 2: minimise level 2 (cost, distance,
        penalties) subject to priority matched ``>= hold``.
    wall
        HiGHS stops this many seconds from now, the worker's start-up included
        (the caller kills the task at its deadline in any case).
    nodes
        Branch-and-bound node limit.
    hold
        Level 1 to keep at level 2.
    threads
        HiGHS's ``threads`` option.
    seed
        HiGHS's ``random_seed``.
    """

    def __init__(
        self,
        p: ProblemData,
        level: int,
        wall: float,
        nodes: int,
        hold: int = 0,
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        self.p = p
        self.level = level
        self.nodes = max(int(nodes), 1)
        t0 = time.monotonic()
        self.error: str | None = None
        self._value: ArmResult | None = None
        self._done = False
        self._seen: int | None = None
        a, lo, hi = constraint_matrix(p)
        prio = p.pair_priority.astype(np.float64)
        if level == 1:
            cost = -prio
        else:
            cost = p.pair_level2.astype(np.float64)
            a = sparse.vstack([a, sparse.csr_array(prio[np.newaxis, :])], format="csr")
            lo = np.append(lo, hold - 0.5)
            hi = np.append(hi, np.inf)
        csc = sparse.csc_array(a)
        col_lo = np.zeros(p.n_pairs)
        col_lo[p.pinned] = 1.0
        self._dir = tempfile.mkdtemp(prefix="broker-highs-")
        np.savez(
            os.path.join(self._dir, "job.npz"),
            indptr=csc.indptr.astype(np.int64),
            indices=csc.indices.astype(np.int64),
            data=csc.data.astype(np.float64),
            row_lo=np.asarray(lo, dtype=np.float64),
            row_hi=np.asarray(hi, dtype=np.float64),
            cost=cost,
            col_lo=col_lo,
            col_hi=np.ones(p.n_pairs),
            end_at=np.float64(t0 + max(float(wall), 0.0)),
            node_limit=np.int64(self.nodes),
            threads=np.int64(max(int(threads), 1)),
            seed=np.int64(seed),
            parent=np.int64(os.getpid()),
        )
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), self._dir],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # a task dropped without result() (an error in the caller) still ends its
        # worker and removes its files
        weakref.finalize(self, _discard, self.process, self._dir)

    def poll(self, timeout: float = 0.0) -> bool:
        """Whether the worker has finished, waiting up to ``timeout`` seconds."""
        if self._done:
            return True
        try:
            self.process.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        """End the worker now; :meth:`result` then returns its last incumbent."""
        if self.process.poll() is None:
            try:
                self.process.kill()
            except OSError:  # pragma: no cover - already gone
                pass

    def peek(self) -> np.ndarray | None:
        """HiGHS's newest improving solution since the last peek, checked, or ``None``
        (nothing new yet, or the task has answered)."""
        path = os.path.join(self._dir, "incumbent.npz")
        try:
            stamp = os.stat(path).st_mtime_ns
        except OSError:
            return None
        if stamp == self._seen:
            return None
        self._seen = stamp
        found = self._incumbent()
        return None if found is None else found[0]

    def result(self) -> ArmResult | None:
        """The arm's outcome: waits for the worker (kill it first to stop it).

        ``None`` when the worker found nothing and failed or was killed (see
        ``error``).
        """
        if self._done:
            return self._value
        self._done = True
        try:
            _, err = self.process.communicate()
            self._value = self._read(err)
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
        return self._value

    def _read(self, err: bytes) -> ArmResult | None:
        answer = os.path.join(self._dir, "answer.npz")
        if os.path.exists(answer):
            with np.load(answer) as f:
                state = str(f["state"])
                if state == "error":
                    self.error = "HiGHS rejected the model"
                    return None
                pairs = f["cols"].astype(np.int64) if bool(f["has"]) else None
                bound = float(f["bound"])
                nodes = int(f["nodes"])
            pairs = self._checked(pairs)
            return ArmResult(
                pairs=pairs,
                bound=self._bound(bound),
                optimal=state == "optimal" and pairs is not None,
                infeasible=state == "infeasible",
                work=nodes / NODES_PER_WORK,
                wall_clock=state == "time_limit" or (state != "optimal" and nodes < self.nodes),
            )
        self.error = (
            err.decode(errors="replace").strip().splitlines()[-1]
            if err.strip()
            else "the HiGHS worker ended without an answer"
        )
        found = self._incumbent()
        if found is None:
            return None
        return ArmResult(pairs=found[0], bound=found[1], wall_clock=True)

    def _incumbent(self) -> tuple[np.ndarray | None, float | None] | None:
        """The last improving solution HiGHS wrote (checked) and its bound, or ``None``."""
        try:
            with np.load(os.path.join(self._dir, "incumbent.npz")) as f:
                cols, raw = f["cols"].astype(np.int64), float(f["bound"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None  # none yet, or removed while reading
        return self._checked(cols), self._bound(raw)

    def _checked(self, pairs: np.ndarray | None) -> np.ndarray | None:
        if pairs is None or self.p.violations(pairs):
            return None  # never trust a tolerance-rounded answer without checking it
        return pairs

    def _bound(self, raw: float) -> float | None:
        if not np.isfinite(raw) or abs(raw) >= 1e30:
            return None
        return -raw if self.level == 1 else raw


def highs_arm(
    p: ProblemData,
    level: int,
    wall: float,
    nodes: int,
    hold: int = 0,
    threads: int = 1,
    seed: int = 0,
    grace: float = 0.5,
) -> ArmResult:
    """Run a :class:`HighsTask` to its end (killed ``grace`` seconds after ``wall``).

    Parameters are those of :class:`HighsTask`; an empty problem or a ``wall``
    under 0.05 s returns no solution at once.
    """
    if p.n_pairs == 0 or wall < 0.05:
        return ArmResult(wall_clock=True)
    task = HighsTask(p, level, wall, nodes, hold, threads, seed)
    try:
        if not task.poll(wall + grace):
            task.kill()
        return task.result() or ArmResult(wall_clock=True)
    finally:
        task.kill()
