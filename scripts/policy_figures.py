"""Regenerate the figures of docs/policies.md (a few minutes on 2 cores).

    .venv/bin/python scripts/policy_figures.py

Runs ``broker compare`` on the national scenario and the budget sweep of
``benchmarks/sweeps/england_budget.toml``, then copies the figures to
``docs/img/`` and prints the markdown table.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

from broker.cli import main
from broker.sweep.plot import plot_variant

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "policy_figures"


def run() -> int:
    compare_dir = OUT / "compare"
    code = main(
        [
            "compare",
            str(ROOT / "scenarios" / "england"),
            "--time-limit",
            "10",
            "--seeds",
            "3",
            "--out",
            str(compare_dir),
            "--force",
        ]  # fmt: skip
    )
    if code:
        return code
    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    shutil.copy(compare_dir / "price_of_fairness.png", img / "policies_price_of_fairness.png")
    sweep_dir = OUT / "sweep"
    code = main(
        [
            "sweep",
            str(ROOT / "benchmarks" / "sweeps" / "england_budget.toml"),
            "--out",
            str(sweep_dir),
            "--workers",
            "2",
        ]  # fmt: skip
    )
    if code:
        return code
    results = pd.read_parquet(sweep_dir / "results.parquet")
    plot_variant(
        results,
        img / "policies_budget_sweep.png",
        title="England: priority matched against every budget x multiplier",
    )
    cols = ["budget", "policy", "priority_matched", "matched", "worst_la_share", "total_cost_gbp"]
    print(results.groupby(["budget", "policy"])[cols[2:]].mean().round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(run())
