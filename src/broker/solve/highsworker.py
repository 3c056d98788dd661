"""HiGHS (``highspy``) in a fresh interpreter: the other end of :mod:`broker.solve.highsarm`.

Run as ``python highsworker.py JOB_DIR``. It imports only NumPy and ``highspy``:
OR-Tools ships its own, older ``libhighs`` with symbols in the global scope, and
whichever of the two is loaded first breaks the other (google/or-tools#5246), so
this file must never import :mod:`broker` (whose solvers load OR-Tools).

``JOB_DIR/job.npz`` holds the model, in HiGHS's own terms::

    min  cost . x   s.t.  row_lo <= A x <= row_hi,  col_lo <= x <= col_hi,  x integer

with ``A`` in compressed-column form, and the options: ``end_at`` (when HiGHS
must stop, on ``time.monotonic()``'s clock, which is the system's monotonic
clock and so the parent's too: the worker's own start-up, about 0.3 s of
imports, comes out of HiGHS's time, not on top of it), ``node_limit``,
``threads``, ``seed`` and ``parent`` (the process to outlive not). Every
improving solution is written to ``JOB_DIR/incumbent.npz`` (through a
rename, so a reader never sees half a file) with HiGHS's dual bound at that
moment; the final answer goes to ``JOB_DIR/answer.npz``. The parent may kill this
process at any time and still read the last incumbent.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time

import numpy as np

ORPHAN_CHECK_S = 0.2
"""How often the worker checks that its parent is alive, seconds."""


def _watch(parent: int, job_dir: str) -> None:
    while True:
        time.sleep(ORPHAN_CHECK_S)
        if os.getppid() != parent:  # nobody will read the answer: tidy up and go
            shutil.rmtree(job_dir, ignore_errors=True)
            os._exit(1)


def _write(path: str, **arrays: object) -> None:
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


def main(job_dir: str) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to decide
    job = np.load(os.path.join(job_dir, "job.npz"))
    parent = int(job["parent"])
    threading.Thread(target=_watch, args=(parent, job_dir), daemon=True).start()
    import highspy

    n = int(job["col_lo"].shape[0])
    m = int(job["row_lo"].shape[0])
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(job["threads"]))
    h.setOptionValue("random_seed", int(job["seed"]))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_max_nodes", int(job["node_limit"]))
    status = h.passModel(
        n,
        m,
        int(job["data"].shape[0]),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        job["cost"],
        job["col_lo"],
        job["col_hi"],
        job["row_lo"],
        job["row_hi"],
        job["indptr"].astype(np.int32),
        job["indices"].astype(np.int32),
        job["data"],
        np.ones(n, dtype=np.int32),
    )
    if status == highspy.HighsStatus.kError:
        _write(os.path.join(job_dir, "answer.npz"), state=np.array("error"))
        return 0
    incumbent = os.path.join(job_dir, "incumbent.npz")

    def improving(event) -> None:  # type: ignore[no-untyped-def]
        out = event.data_out
        cols = np.flatnonzero(np.asarray(out.mip_solution) > 0.5)
        _write(incumbent, cols=cols, bound=np.float64(out.mip_dual_bound))

    h.cbMipImprovingSolution.subscribe(improving)
    h.setOptionValue("time_limit", max(float(job["end_at"]) - time.monotonic(), 0.01))
    h.run()
    ms = highspy.HighsModelStatus
    model_status = h.getModelStatus()
    info = h.getInfo()
    has = int(info.primal_solution_status) == 2
    cols = np.flatnonzero(np.asarray(h.getSolution().col_value) > 0.5) if has else np.zeros(0)
    if model_status == ms.kOptimal:
        state = "optimal"
    elif model_status == ms.kInfeasible:
        state = "infeasible"
    elif model_status == ms.kSolutionLimit or model_status == ms.kIterationLimit:
        state = "work_limit"
    elif model_status == ms.kTimeLimit:
        state = "time_limit"
    else:
        state = "other"
    _write(
        os.path.join(job_dir, "answer.npz"),
        state=np.array(state),
        has=np.bool_(has),
        cols=cols.astype(np.int64),
        bound=np.float64(info.mip_dual_bound),
        nodes=np.int64(info.mip_node_count),
    )
    if os.getppid() != parent:  # the parent went while HiGHS ran: nobody will read it
        shutil.rmtree(job_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
