"""Figures of sweep results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def plot_variant(
    results: pd.DataFrame,
    path: str | Path,
    *,
    variant: str = "budget",
    metric: str = "priority_matched",
    title: str = "",
) -> None:
    """One line per policy: ``metric`` (mean over seeds) against a variant multiplier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean = results.groupby([variant, "policy"], sort=True)[metric].mean().unstack("policy")
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name in mean.columns:
        ax.plot(mean.index, mean[name], marker="o", label=name)
    ax.set_xlabel(f"{variant} multiplier")
    ax.set_ylabel(f"{metric.replace('_', ' ')} (mean over seeds)")
    ax.set_title(title or f"{metric.replace('_', ' ')} against {variant}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
