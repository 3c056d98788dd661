"""The high-need trade-off on the national scenario: priority matched vs high-need share.

Usage: python benchmarks/high_need_tradeoff.py [--weights 0,0.5,1,2,4,10]
       [--work-limit W] [--time-limit S] [--seed N] [--scenario-seed N] [--out DIR]

1. Generate the national scenario exactly as ``broker scenario england --seed 1``
   does (``--scenario-seed``); its clients carry the ``high_need`` flag
   (:mod:`broker.generate.high_need`).
2. For each weight ``w``, set ``[objective] high_need_weight = w`` (level 1 counts
   a high-need school's priority ``1 + w`` times) and run the normal pipeline
   (CP-SAT, deterministic, 2 workers). Each solve stops on ``--work-limit``
   deterministic work units (about seconds on an idle machine), so the table is
   the same on a loaded machine; ``--time-limit`` is only a wall-clock safety net
   (a solve that hits it is marked ``time_limit`` in ``stopped_by``). Every
   solution passes the independent checker, as in ``broker run``.
3. Record, per weight: the priority matched (unweighted), the high-need share of
   matched need, the reach of high-need need, clients matched, the solver's status
   and level-1 gap, and seconds.

Writes ``tradeoff.csv``, ``tradeoff.md`` and ``tradeoff.png`` into ``--out``
(default ``benchmarks/results/high_need``). At this size CP-SAT stops on its
limit, not at a proven optimum, so each point is a solution with its gap to the
bound, not a point of the exact Pareto front.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "high_need"


def sweep(
    weights: list[float], work_limit: float, time_limit: float, seed: int, scenario_seed: int
) -> pd.DataFrame:
    """One pipeline run per weight on the national scenario; one row each."""
    from broker.generate.national import NationalOptions, build
    from broker.high_need_share import high_need_share
    from broker.pipeline import run_round

    base = build(NationalOptions(seed=scenario_seed))
    rows = []
    for w in weights:
        cfg = dataclasses.replace(base.config, high_need_weight=w)
        t = time.perf_counter()
        rnd = run_round(
            base.replace(config=cfg),
            time_limit_s=time_limit,
            work_limit=work_limit,
            seed=seed,
            workers=2,
        )
        seconds = time.perf_counter() - t
        out = rnd.outcomes
        lead = out[(out["status"] != "unmatched") & (out["role"] == "lead")]
        hn = high_need_share(rnd.scenario.clients, lead["client_id"])
        assert hn is not None and rnd.check.ok
        rows.append(
            {
                "high_need_weight": w,
                "priority_matched": int(rnd.check.priority_matched),
                "priority_total": int(rnd.scenario.clients["priority"].sum()),
                "clients_matched": int(len(lead)),
                "high_need_matched": hn["matched"],
                "high_need_clients": hn["clients"],
                "share_of_matched_need": hn["share_of_matched_need"],
                "share_of_need": hn["share_of_need"],
                "high_need_reach": hn["reach"],
                "status": rnd.result.status.value,
                "stopped_by": rnd.result.stopped_by,
                "level1_gap": round(rnd.result.level1.gap, 4),
                "seconds": round(seconds, 1),
            }
        )
        print(
            f"w={w:g}: priority {rows[-1]['priority_matched']}, high-need share "
            f"{hn['share_of_matched_need']:.3f}, gap {rows[-1]['level1_gap']:.3f}, "
            f"{seconds:.1f}s",
            file=sys.stderr,
        )
    return pd.DataFrame(rows)


def plot(table: pd.DataFrame, path: Path) -> None:
    """Priority matched against high-need share, one labelled point per weight."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5), dpi=120)
    x = 100 * table["share_of_matched_need"]
    y = table["priority_matched"]
    ax.plot(x, y, "o-", color="#1f4e79")
    for xi, yi, w in zip(x, y, table["high_need_weight"], strict=True):
        ax.annotate(f"w={w:g}", (xi, yi), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.axvline(100 * table["share_of_need"].iloc[0], color="grey", ls=":", lw=1)
    ax.text(
        100 * table["share_of_need"].iloc[0],
        y.min(),
        " high-need share of all need",
        fontsize=7,
        color="grey",
        rotation=90,
        va="bottom",
    )
    ax.set_xlabel("share of matched need in high-need schools (%)")
    ax.set_ylabel("priority matched (unweighted)")
    ax.set_title("National scenario: priority matched vs high-need share", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def markdown(table: pd.DataFrame, command: str) -> str:
    """The table as markdown with the command, date and machine."""
    head = (
        "| weight | priority matched | clients matched | high-need matched | high-need share "
        "of matched need | high-need reach | status | stopped by | level-1 gap | s |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r.high_need_weight:g} | {r.priority_matched:,} of {r.priority_total:,} | "
        f"{r.clients_matched:,} | {r.high_need_matched} of {r.high_need_clients} | "
        f"{100 * r.share_of_matched_need:.1f}% | {100 * r.high_need_reach:.1f}% | "
        f"{r.status} | {r.stopped_by} | {100 * r.level1_gap:.2f}% | {r.seconds:.1f} |\n"
        for r in table.itertuples()
    )
    import broker

    return (
        "# High-need trade-off, national scenario\n\n"
        f"Command: `{command}`\n\n"
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} logical CPUs, Python {platform.python_version()}, broker "
        f"{broker.__version__}. High-need share of all need: "
        f"{100 * table['share_of_need'].iloc[0]:.1f}%.\n\n" + head + body
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="0,0.5,1,2,4,10")
    ap.add_argument("--work-limit", type=float, default=10.0)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenario-seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    table = sweep(weights, args.work_limit, args.time_limit, args.seed, args.scenario_seed)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "tradeoff.csv", index=False)
    plot(table, args.out / "tradeoff.png")
    command = "python benchmarks/high_need_tradeoff.py " + " ".join(sys.argv[1:])
    (args.out / "tradeoff.md").write_text(markdown(table, command.strip()), encoding="utf-8")
    print(markdown(table, command.strip()))


if __name__ == "__main__":
    main()
