"""Level-1 bounds of a budgeted round from relaxing one family of limits at a time.

The budgeted national rounds stay 2-3% from their best bound (the LP's, and
HiGHS's after ten minutes), so the question is which rows make the bound weak.
This script solves, with HiGHS (``highspy``, one thread), the LP relaxation of
level 1 with every row, then the integer level-1 problem twice: without the
supporters' capacity rows, and without the funders' budget rows. Each is an
upper bound on level 1; if one were close to the LP bound, a relaxation keeping
that family whole (a Lagrangian over the other) would tighten it::

    python benchmarks/level1_relaxations.py [--set england] [--instance england] [--time-limit 120]
"""

from __future__ import annotations

import argparse
import time

import highspy
import numpy as np

from broker.argtypes import positive_float
from broker.bench.instances import instance_named
from broker.problem import LimitKind, ProblemData
from broker.solve.model import binding_rows, constraint_matrix


def level1(p: ProblemData, drop: list[int], time_limit: float, integer: bool) -> tuple[float, str]:
    """Level 1's optimum (or HiGHS's bound at the limit) without limit rows of kinds ``drop``."""
    a, lo, hi = constraint_matrix(p)
    _, binding = binding_rows(p)
    kind = np.full(a.shape[0], -1)
    kind[a.shape[0] - len(binding) :] = np.asarray(p.limit_kind)[binding]
    keep = ~np.isin(kind, drop)
    m = a[np.flatnonzero(keep)].tocsr()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = p.n_pairs, m.shape[0]
    lp.col_cost_ = -p.pair_priority.astype(float)
    lower = np.zeros(p.n_pairs)
    lower[p.pinned] = 1.0
    lp.col_lower_, lp.col_upper_ = lower, np.ones(p.n_pairs)
    lp.row_lower_, lp.row_upper_ = lo[keep], hi[keep]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = m.indptr, m.indices, m.data
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * p.n_pairs
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(time_limit))
    h.passModel(lp)
    h.run()
    info = h.getInfo()
    value = -(info.mip_dual_bound if integer else info.objective_function_value)
    return value, h.modelStatusToString(h.getModelStatus())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="england")
    ap.add_argument("--instance", default="england")
    ap.add_argument("--time-limit", type=positive_float, default=120.0)
    args = ap.parse_args()
    try:
        p = instance_named(f"{args.set}:{args.instance}").load()
    except KeyError as exc:
        ap.error(str(exc.args[0]))
    print(f"{args.set}:{args.instance}: {p.n_clients:,} clients, {p.n_pairs:,} pairs\n")
    print("| relaxation | level-1 bound | HiGHS status | seconds |")
    print("|---|---:|---|---:|")
    for label, drop, integer in (
        ("LP, every row", [], False),
        ("integer, no capacity rows", [int(LimitKind.CAPACITY)], True),
        ("integer, no budget rows", [int(LimitKind.GROUP_BUDGET)], True),
    ):
        t = time.perf_counter()
        value, status = level1(p, drop, args.time_limit, integer)
        print(f"| {label} | {value:,.2f} | {status} | {time.perf_counter() - t:.1f} |", flush=True)


if __name__ == "__main__":
    main()
