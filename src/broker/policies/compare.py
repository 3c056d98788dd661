"""``broker compare``: run policies side by side on one scenario and write their metrics.

Outputs (``--out DIR``, written atomically via :mod:`broker.outdir`):

* ``metrics.csv``: one row per policy; a seeded policy (``lottery``,
  ``first_come_random``) is averaged over ``--seeds`` seeds (``runs`` says how
  many) and its ``method`` column says how each policy was solved;
* ``runs.csv``: one row per policy and seed;
* ``la_shares.csv``: each authority's share of reachable need met, per policy;
* ``metrics.md``: the headline columns as a markdown table;
* ``price_of_fairness.png``: priority matched against the worst authority's
  share, one point per policy.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from broker.policies.instance import PolicyInstance
from broker.policies.metrics import la_shares, metrics
from broker.policies.registry import PolicyOptions, get_policy, policy_names, run_policy

COMPARE_OUTPUTS = (
    "metrics.csv",
    "runs.csv",
    "la_shares.csv",
    "metrics.md",
    "price_of_fairness.png",
)

TABLE_COLUMNS = (
    ("priority_matched", "priority", "{:.1f}"),
    ("priority_ratio", "ratio to LP bound", "{:.3f}"),
    ("matched", "matched", "{:.1f}"),
    ("need_met_share", "need met", "{:.3f}"),
    ("total_cost_gbp", "cost £", "{:,.0f}"),
    ("mean_distance_km", "mean km", "{:.1f}"),
    ("p90_distance_km", "p90 km", "{:.1f}"),
    ("cross_la_share", "cross-LA", "{:.3f}"),
    ("worst_la_share", "worst LA", "{:.3f}"),
    ("la_gini", "Gini", "{:.3f}"),
    ("la_theil", "Theil", "{:.3f}"),
    ("high_need_share", "high need", "{:.3f}"),
    ("blocking_pairs", "blocking", "{:.1f}"),
    ("la_envy", "LA envy", "{:.3f}"),
    ("client_rank_mean", "client rank", "{:.2f}"),
    ("supporter_rank_mean", "supporter rank", "{:.2f}"),
    ("runtime_s", "time s", "{:.2f}"),
)


def compare(
    instance: PolicyInstance,
    policies: Sequence[str],
    *,
    seeds: int = 1,
    time_limit_s: float = 10.0,
    params: dict[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run each policy (seeded ones over ``seeds`` seeds) and compute its metrics.

    Returns
    -------
    (metrics, runs, shares)
        ``metrics``: one row per policy (seeded policies averaged, with ``runs``);
        ``runs``: one row per policy and seed; ``shares``: authorities by
        policies, each cell the authority's share of reachable need met (seeded
        policies averaged).
    """
    say = progress or (lambda _m: None)
    rows = []
    share_cols: dict[str, list[dict[str, float]]] = {}
    for name in policies:
        spec = get_policy(name)
        for seed in range(seeds if spec.seeded else 1):
            opts = PolicyOptions(seed=seed, time_limit_s=time_limit_s, params=dict(params or {}))
            result = run_policy(instance, name, opts)
            m = metrics(instance, result.pairs, runtime_s=result.runtime_s)
            rows.append(
                {"policy": name, "seed": seed, "method": str(result.params.get("method", "")), **m}
            )
            share_cols.setdefault(name, []).append(la_shares(instance, result.pairs))
            say(
                f"{name} (seed {seed}): priority {m['priority_matched']}, matched "
                f"{m['matched']}, worst LA {m['worst_la_share']:.3f}, "
                f"{result.runtime_s:.1f}s, {result.params.get('method', '')}; checked"
            )
    runs = pd.DataFrame(rows)
    numeric = [c for c in runs.columns if c not in ("policy", "seed", "method", "worst_la")]
    agg = runs.groupby("policy", sort=False)
    table = agg[numeric].mean()
    table.insert(0, "runs", agg.size())
    table.insert(1, "method", agg["method"].agg(lambda s: "; ".join(dict.fromkeys(s))))
    table["worst_la"] = agg["worst_la"].agg(lambda s: s.mode().iloc[0] if len(s) else "")
    shares = pd.DataFrame(
        {name: pd.DataFrame(v).mean(axis=0) for name, v in share_cols.items()}
    ).rename_axis("la_code")
    return table.reset_index(), runs, shares.reset_index()


def markdown_table(table: pd.DataFrame) -> str:
    """The headline columns of a :func:`compare` table as GitHub markdown."""
    cols = [(c, h, f) for c, h, f in TABLE_COLUMNS if c in table.columns]
    lines = [
        "| policy | " + " | ".join(h for _, h, _ in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for _, row in table.iterrows():
        cells = []
        for c, _, fmt in cols:
            v = row[c]
            cells.append("n/a" if isinstance(v, float) and math.isnan(v) else fmt.format(v))
        lines.append(f"| {row['policy']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_price_of_fairness(table: pd.DataFrame, path: Path, title: str = "") -> None:
    """Priority matched against the worst authority's share, one labelled point per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    x = table["worst_la_share"].to_numpy(float)
    y = table["priority_matched"].to_numpy(float)
    ax.scatter(x, y, color="#1f77b4", zorder=3)
    labels: dict[tuple[float, float], list[str]] = {}
    for xi, yi, name in zip(x, y, table["policy"], strict=True):
        labels.setdefault((round(float(xi), 6), round(float(yi), 6)), []).append(str(name))
    xr = float(np.ptp(x)) or 1.0
    yr = float(np.ptp(y)) or 1.0
    placed: list[tuple[float, float]] = []
    for (xi, yi), names in sorted(labels.items(), key=lambda kv: -kv[0][1]):
        # policies with the same point share a label; a label near one above goes below
        near = any(abs(xi - u) < 0.08 * xr and abs(yi - v) < 0.04 * yr for u, v in placed)
        ax.annotate(
            " = ".join(names),
            (xi, yi),
            textcoords="offset points",
            xytext=(4, -10) if near else (4, 3),
            fontsize=8,
        )
        placed.append((xi, yi))
    ax.margins(x=0.25, y=0.08)
    if "priority_bound" in table:
        ax.axhline(float(table["priority_bound"].iloc[0]), color="grey", ls="--", lw=0.8)
        ax.text(
            float(np.nanmin(x)) if len(x) else 0,
            float(table["priority_bound"].iloc[0]),
            " LP bound",
            va="bottom",
            fontsize=8,
            color="grey",
        )
    ax.set_xlabel("worst authority's share of reachable need met")
    ax.set_ylabel("priority matched")
    ax.set_title(title or "Price of fairness")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_compare(
    out: Path,
    table: pd.DataFrame,
    runs: pd.DataFrame,
    shares: pd.DataFrame,
    *,
    title: str,
    force: bool = False,
) -> list[Path]:
    """Write the outputs of :func:`compare` into ``out`` atomically."""
    from broker.csvtext import write_csv
    from broker.outdir import staged_folder

    with staged_folder(out, owned=COMPARE_OUTPUTS, force=force) as tmp:
        write_csv(table, tmp / "metrics.csv")
        write_csv(runs, tmp / "runs.csv")
        write_csv(shares, tmp / "la_shares.csv")
        (tmp / "metrics.md").write_text(f"# {title}\n\n" + markdown_table(table), encoding="utf-8")
        plot_price_of_fairness(table, tmp / "price_of_fairness.png", title=title)
    return [out / n for n in COMPARE_OUTPUTS]


def _policies(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = policy_names()
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown policy {', '.join(map(repr, bad)) or '(none given)'}; expected a "
            f"comma-separated list of: {', '.join(known)}"
        )
    return names


def _param(text: str) -> tuple[str, float]:
    from broker.policies.registry import parameter_problem

    key, sep, value = text.partition("=")
    try:
        if not sep or not key.strip():
            raise ValueError
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected NAME=NUMBER (e.g. min_share=0.5), got {text!r}"
        ) from None
    why = parameter_problem(key.strip(), number)
    if why is not None:
        raise argparse.ArgumentTypeError(f"{text!r}: {why}")
    return key.strip(), number


def cmd_compare(args: argparse.Namespace) -> int:
    from broker.cli import _progress
    from broker.outdir import check_output_folder
    from broker.policies.instance import build_instance
    from broker.scenario import read_scenario

    say = _progress(args.quiet)
    out = Path(args.out)
    check_output_folder(out, owned=COMPARE_OUTPUTS, inputs=[args.scenario], force=args.force)
    scenario = read_scenario(args.scenario)
    instance = build_instance(scenario)
    say(
        f"read {scenario.name!r}: {instance.problem.n_clients} clients, "
        f"{instance.problem.n_pairs:,} candidate pairs; preferences: "
        f"{instance.preferences.source}"  # type: ignore[attr-defined]
    )
    table, runs, shares = compare(
        instance,
        args.policies or policy_names(),
        seeds=args.seeds,
        time_limit_s=args.time_limit,
        params=dict(args.param or []),
        progress=say,
    )
    write_compare(out, table, runs, shares, title=scenario.name, force=args.force)
    print(markdown_table(table), end="")
    print(f"  wrote {out}/: " + ", ".join(COMPARE_OUTPUTS))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``broker compare`` to the command-line parser."""
    from broker.argtypes import positive_float, positive_int

    cmp = sub.add_parser(
        "compare",
        help="run allocation policies side by side and compare their metrics",
        description="Run allocation policies on one scenario; every result passes the "
        "independent checker. See docs/policies.md.",
    )
    cmp.add_argument("scenario", metavar="SCENARIO_DIR")
    cmp.add_argument(
        "--policies",
        type=_policies,
        default=None,
        metavar="A,B,C",
        help=f"policies to run (default all: {', '.join(policy_names())})",
    )
    cmp.add_argument(
        "--seeds",
        type=positive_int,
        default=5,
        metavar="N",
        help="seeds to average seeded policies over (default 5)",
    )
    cmp.add_argument(
        "--time-limit",
        type=positive_float,
        default=10.0,
        metavar="SECONDS",
        help="budget of each searching policy (default 10)",
    )
    cmp.add_argument(
        "--param",
        type=_param,
        action="append",
        metavar="NAME=VALUE",
        help="policy parameter: min_share (fair_flow), tolerance (proportional), "
        "high_need_weight (high_need)",
    )
    cmp.add_argument("--out", required=True, metavar="OUT_DIR")
    cmp.add_argument("--force", action="store_true", help="replace OUT_DIR of an earlier compare")
    cmp.add_argument("--quiet", action="store_true")
    cmp.set_defaults(func=cmd_compare)
