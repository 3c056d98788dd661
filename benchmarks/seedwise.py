"""broker's ``cpsat`` against its peers seed by seed: the comparison wall-clock runs need.

Usage: python benchmarks/seedwise.py RESULTS.csv [RESULTS.csv ...] [--reference cpsat]

A solver that stops on the wall clock (broker's race, HiGHS, multi-worker CP-SAT)
gives a different answer for each seed and even for the same seed under another
load, so one run per instance is one draw, and "behind on this instance" may be
noise. This script reads ``results.csv`` files of ``broker bench run`` with
several seeds (a later file's rows replace an earlier one's for the same
instance, solver and seed, so a rerun of ``cpsat`` alone can be laid over the
peers' runs) and, for each instance, prints:

* every solver's mean objective over the seeds, with its range;
* for each seed, whether the reference solver is ahead of, level with or behind
  the best peer *of that seed* (every solver but the reference and ``greedy``);
* the mean of the reference's relative distance to that best peer (positive =
  behind, as in ``sidebyside.py``), and the two-sided exact sign test's p-value
  for "ahead and behind are equally likely" over the seeds that differ.

A final line sums the seeds over all instances, with the same test. Only seeds
every solver ran, with a checked feasible answer from each, are compared.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from scipy.stats import binomtest
from sidebyside import read_results

COLUMNS = ("instance", "solver", "seed", "objective", "sense", "feasible")

IGNORED = ("greedy",)


def merged(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of all files; for one (instance, solver, seed) the last file's row."""
    df = pd.concat(frames, ignore_index=True)
    return df.drop_duplicates(["instance", "solver", "seed"], keep="last")


def distance(ref: float, peer: float, sense: str) -> float:
    """How far ``ref`` is behind ``peer`` as a share of ``peer`` (negative = ahead)."""
    d = (peer - ref) if sense == "max" else (ref - peer)
    return d / max(abs(peer), 1.0)


def p_value(ahead: int, behind: int) -> float:
    """Two-sided exact sign test over the seeds where the two differ (1.0 if none)."""
    n = ahead + behind
    return float(binomtest(ahead, n, 0.5).pvalue) if n else 1.0


def table(df: pd.DataFrame, reference: str) -> list[str]:
    df = df[~df["solver"].isin(IGNORED)]
    solvers = [reference] + sorted(s for s in df["solver"].unique() if s != reference)
    if reference not in set(df["solver"]):
        raise SystemExit(f"no rows of the reference solver {reference!r}")
    out = [
        "| instance | seeds | "
        + " | ".join(f"`{s}` mean (range)" for s in solvers)
        + f" | `{reference}` ahead / level / behind | mean distance to best peer | p |",
        "|---|---:|" + "---:|" * len(solvers) + "---:|---:|---:|",
    ]
    tot = [0, 0, 0]
    for inst, g in df.groupby("instance", sort=False):
        sense = str(g["sense"].iloc[0])
        ok = g[g["feasible"] == True]  # noqa: E712
        wide = ok.pivot_table(index="seed", columns="solver", values="objective", aggfunc="first")
        wide = wide.reindex(columns=solvers).dropna()
        peers = [s for s in solvers if s != reference]
        if wide.empty or not peers:
            continue
        best = wide[peers].max(axis=1) if sense == "max" else wide[peers].min(axis=1)
        d = [distance(r, b, sense) for r, b in zip(wide[reference], best, strict=True)]
        ahead = sum(x < -1e-12 for x in d)
        behind = sum(x > 1e-12 for x in d)
        level = len(d) - ahead - behind
        tot = [tot[0] + ahead, tot[1] + level, tot[2] + behind]
        cells = [
            f"{wide[s].mean():,.1f} ({wide[s].min():,.0f}-{wide[s].max():,.0f})" for s in solvers
        ]
        out.append(
            f"| {inst} | {len(wide)} | "
            + " | ".join(cells)
            + f" | {ahead} / {level} / {behind} | {100 * sum(d) / len(d):+.3f}%"
            f" | {p_value(ahead, behind):.2f} |"
        )
    out += [
        "",
        f"Over all instances and seeds `{reference}` is ahead of the best peer on {tot[0]}, "
        f"level on {tot[1]} and behind on {tot[2]} (sign test p = {p_value(tot[0], tot[2]):.2f}).",
    ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path, help="results.csv files, later ones win")
    ap.add_argument("--reference", default="cpsat")
    args = ap.parse_args()
    print("\n".join(table(merged([read_results(f, COLUMNS) for f in args.files]), args.reference)))


if __name__ == "__main__":
    main()
