"""Summarise committed benchmark results per set and solver, and check the targets.

Usage: python benchmarks/summarise.py [RESULTS_DIR]   (default benchmarks/results)

Reads every ``<set>/results.csv`` written by ``broker bench run`` and prints a
markdown table per set (instances, optimal, mean gap to the solver's own bound,
mean gap to best known for GAP sets, median seconds, max peak memory), followed by
the issue's targets with the measured figure beside each.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.2f}%"


def summarise(results: Path) -> str:
    out: list[str] = []
    frames = {}
    for csv in sorted(results.glob("*/results.csv")):
        df = pd.read_csv(csv)
        frames[csv.parent.name] = df
        out += [
            f"### {csv.parent.name}",
            "",
            "| solver | runs | optimal | feasible | mean gap to own bound | "
            "mean gap to best known | median s | max s | max peak MB |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for solver, g in df.groupby("solver", sort=False):
            out.append(
                f"| {solver} | {len(g)} | {(g['status'] == 'optimal').sum()} | "
                f"{(g['feasible'] == True).sum()} | {_pct(g['gap'].mean())} | "  # noqa: E712
                f"{_pct(g['gap_best_known'].mean())} | "
                f"{g['seconds'].median():.2f} | {g['seconds'].max():.2f} | "
                f"{g['peak_rss_mb'].max():.0f} |"
            )
        out.append("")
    out += ["### Targets", "", "| target | measured (broker `cpsat`) | met |", "|---|---|---|"]

    def row(target: str, measured: str, met: bool | None) -> None:
        verdict = "n/a" if met is None else "yes" if met else "no"
        out.append(f"| {target} | {measured} | {verdict} |")

    eng = frames.get("england")
    if eng is not None:
        c = eng[eng["solver"] == "cpsat"].iloc[0]
        peers = eng[(eng["solver"] != "cpsat") & (eng["solver"] != "greedy")]
        best_peer = peers["objective"].max()
        row(
            "national with LA budgets: level 1 within 0.5% of its best bound in 20 s",
            f"{int(c['objective'])} vs bound {int(c['bound'])}: {_pct(c['gap'])} in "
            f"{c['seconds']:.1f} s",
            c["gap"] <= 0.005,
        )
        row(
            "... and ahead of HiGHS and plain CP-SAT at equal time",
            f"{int(c['objective'])} vs best peer {int(best_peer)}",
            bool(c["objective"] > best_peer),
        )
    syn = frames.get("synthetic-national")
    if syn is not None:
        c = syn[syn["solver"] == "cpsat"].iloc[0]
        row(
            "capacity-only national (2,500 x 1,000): within 0.05% of the LP bound in 5 s",
            f"{int(c['objective'])} vs bound {int(c['bound'])}: {_pct(c['gap'])} in "
            f"{c['seconds']:.1f} s",
            c["gap"] <= 0.0005,
        )
    small = frames.get("gap-small")
    if small is not None:
        c = small[small["solver"] == "cpsat"]
        row(
            "gap1-gap12: every problem optimal in under 1 s",
            f"{(c['status'] == 'optimal').sum()}/{len(c)} optimal, max {c['seconds'].max():.2f} s",
            bool((c["status"] == "optimal").all() and c["seconds"].max() < 1),
        )
    large = frames.get("gap-large")
    if large is not None:
        c = large[large["solver"] == "cpsat"].copy()
        kind = c["instance"].str.extract(r"^gap([a-d])-", expand=False)
        abc = c[kind.isin(list("abc"))]
        d = c[kind == "d"]
        ok_abc = ((abc["status"] == "optimal") | (abc["gap_best_known"] <= 0.001)).all()
        row(
            "gapa-gapc: optimal or within 0.1% of best known in 20 s",
            f"{((abc['status'] == 'optimal') | (abc['gap_best_known'] <= 0.001)).sum()}/"
            f"{len(abc)}; worst {_pct(abc['gap_best_known'].max())}",
            bool(ok_abc),
        )
        row(
            "gapd: within 0.5% of best known in 20 s",
            f"{(d['gap_best_known'] <= 0.005).sum()}/{len(d)}; worst "
            f"{_pct(d['gap_best_known'].max())}",
            bool((d["gap_best_known"] <= 0.005).all()),
        )
    scale = results / "scale-build.md"
    if scale.is_file():
        last = [ln for ln in scale.read_text().splitlines() if ln.startswith("| 8x")]
        if last:
            cells = [x.strip() for x in last[0].strip("|").split("|")]
            secs, gb = float(cells[7]), float(cells[8])
            row(
                "8x England: candidates + model build under 30 s and 4 GB",
                f"{secs:.1f} s, {gb:.2f} GB ({cells[3]} pairs)",
                secs < 30 and gb < 4,
            )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results"
    print(summarise(folder))
