"""Side by side: broker's ``cpsat`` against every peer, instance by instance.

Usage: python benchmarks/sidebyside.py SET [SET ...] [--results DIR] [--cpsat-from DIR]
       [--seeds-from DIR]

For each set (a folder of ``results.csv`` written by ``broker bench run``) prints a
markdown table with one row per instance: each solver's checked objective, the
best bound any solver proved, ``cpsat``'s distance to the best peer (positive =
behind it) and to the best bound, and ``cpsat``'s wall time; then one line with
how often ``cpsat`` was behind a peer and by how much at worst. Peers are every
solver but ``cpsat``, ``cpsat-before`` and ``greedy``.

``--cpsat-from DIR`` takes ``cpsat``'s rows from ``DIR/SET/results.csv`` (a later
``broker bench run --solvers cpsat`` on the same instances, seeds and limit) and
keeps the earlier ``cpsat`` as ``cpsat-before``, so a solver change is measured
against the same peer runs.

``--seeds-from DIR`` replaces, instance by instance, every solver's rows with those
of ``DIR/SET/results.csv`` (a run of ``cpsat`` and the peers over several seeds on
some of the instances, e.g. ``--filter 'gapd-*' --seeds 0,1,2,3,4``). A solver
that stops on the wall clock gives a different answer for each seed, so one run
is one draw; where a solver ran several seeds, its cell is the mean of its
checked objectives (one decimal), with the number of seeds it answered out of
those it ran when some failed, and the comparison is between means. A reference
with fewer answers than a peer counts as behind it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

REFERENCE = "cpsat"
BEFORE = "cpsat-before"


def _fmt(x: float, runs: int = 1, answered: int = 1) -> str:
    if pd.isna(x):
        return "none"
    text = f"{x:,.0f}" if runs <= 1 else f"{x:,.1f}"
    return text if answered == runs else f"{text} ({answered} of {runs})"


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:+.2f}%"


def behind(ref: float, other: float, sense: str) -> float:
    """How far ``ref`` is behind ``other`` as a share of ``other`` (negative = ahead)."""
    if pd.isna(ref):
        return float("inf")
    if pd.isna(other):
        return float("-inf")
    d = (other - ref) if sense == "max" else (ref - other)
    return d / max(abs(other), 1.0)


def table(df: pd.DataFrame) -> list[str]:
    solvers = list(dict.fromkeys(df["solver"]))
    peers = [s for s in solvers if s not in (REFERENCE, "greedy", BEFORE)]
    out = [
        "| instance | pairs | "
        + " | ".join(f"`{s}`" for s in solvers)
        + " | best bound | `cpsat` vs best peer | `cpsat` vs best bound | `cpsat` s |",
        "|---|---:|" + "---:|" * len(solvers) + "---:|---:|---:|---:|",
    ]
    worst, count, n = float("-inf"), 0, 0
    for inst, g in df.groupby("instance", sort=False):
        sense = str(g["sense"].iloc[0])
        ok = g[g["feasible"] == True]  # noqa: E712
        # several seeds: the mean of the answers (for one seed, the answer itself)
        value = {s: ok.loc[ok["solver"] == s, "objective"].mean() for s in solvers}
        runs = {s: int((g["solver"] == s).sum()) for s in solvers}
        answered = {s: int((ok["solver"] == s).sum()) for s in solvers}
        bounds = g.loc[g["bound_valid"] == True, "bound"].dropna()  # noqa: E712
        best_bound = (bounds.min() if sense == "max" else bounds.max()) if len(bounds) else None
        peer_values = [value[s] for s in peers if not pd.isna(value[s])]
        if peer_values:
            best_peer = max(peer_values) if sense == "max" else min(peer_values)
        else:
            best_peer = float("nan")
        ref = value.get(REFERENCE, float("nan"))
        gap_peer = behind(ref, best_peer, sense) if peer_values else float("nan")
        if REFERENCE in runs and any(
            runs[REFERENCE] - answered[REFERENCE] > runs[s] - answered[s]
            for s in peers
            if answered[s]
        ):
            gap_peer = float("inf")  # failed on more of its seeds than a peer did
        gap_bound = (
            abs(best_bound - ref) / max(abs(ref), 1.0)
            if best_bound is not None and not pd.isna(ref)
            else float("nan")
        )
        secs = g.loc[g["solver"] == REFERENCE, "seconds"]
        if peer_values:
            n += 1
            count += gap_peer > 1e-12
            worst = max(worst, gap_peer)
        out.append(
            f"| {inst} | {int(g['pairs'].iloc[0]):,} | "
            + " | ".join(_fmt(value[s], runs[s], answered[s]) for s in solvers)
            + f" | {_fmt(best_bound) if best_bound is not None else 'none'} | {_pct(gap_peer)}"
            f" | {_pct(gap_bound)} | {secs.max():.1f} |"
        )
    out += [
        "",
        f"`cpsat` behind the best peer on {count} of {n} instances"
        + (f"; at worst by {100 * worst:.2f}%." if count else "."),
    ]
    return out


def read_results(
    path: Path, columns: tuple[str, ...] = ("instance", "solver", "objective", "sense")
) -> pd.DataFrame:
    """A ``results.csv`` of ``broker bench run``, or exit with what was expected."""
    if not path.is_file():
        raise SystemExit(f"{path}: no such file; expected the results.csv of a broker bench run")
    try:
        df = pd.read_csv(path)
    except (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise SystemExit(
            f"{path}: cannot be read as CSV ({exc}); expected the results.csv of a broker bench run"
        ) from None
    missing = set(columns) - set(df.columns)
    if missing:
        raise SystemExit(
            f"{path}: no column {', '.join(sorted(missing))}; expected broker bench run output"
        )
    return df


def with_new_cpsat(df: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its ``cpsat`` rows renamed ``cpsat-before`` and ``new``'s ``cpsat``
    rows first, on the instances both have (a rerun with ``--filter`` compares only
    what it reran)."""
    fresh = new[(new["solver"] == REFERENCE) & new["instance"].isin(df["instance"])]
    df = df[df["instance"].isin(fresh["instance"])]
    old = df.assign(solver=df["solver"].replace({REFERENCE: BEFORE}))
    order = list(dict.fromkeys(df["instance"]))
    out = pd.concat([fresh, old], ignore_index=True)
    out["_i"] = out["instance"].map({k: i for i, k in enumerate(order)})
    return out.sort_values("_i", kind="stable").drop(columns="_i")


def with_seeds(df: pd.DataFrame, seeds: pd.DataFrame) -> pd.DataFrame:
    """``df`` with, for each (instance, solver) that ``seeds`` ran, ``seeds``'s rows
    instead (in ``df``'s instance order; instances ``df`` lacks are left out)."""
    ran = set(zip(seeds["instance"], seeds["solver"], strict=True))
    keep = [(i, s) not in ran for i, s in zip(df["instance"], df["solver"], strict=True)]
    order = {k: i for i, k in enumerate(dict.fromkeys(df["instance"]))}
    out = pd.concat([df[keep], seeds[seeds["instance"].isin(order)]], ignore_index=True)
    solvers = {k: i for i, k in enumerate(dict.fromkeys(out["solver"]))}
    out["_i"] = out["instance"].map(order)
    out["_s"] = out["solver"].map(solvers)
    return out.sort_values(["_i", "_s"], kind="stable").drop(columns=["_i", "_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+")
    ap.add_argument("--results", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--cpsat-from", default=None)
    ap.add_argument("--seeds-from", default=None)
    args = ap.parse_args()
    if args.seeds_from and not Path(args.seeds_from).is_dir():
        # a mistyped folder would otherwise change nothing, silently
        raise SystemExit(
            f"{args.seeds_from}: no such folder; expected --seeds-from DIR "
            "holding SET/results.csv of a run over several seeds"
        )
    for name in args.sets:
        df = read_results(Path(args.results) / name / "results.csv")
        if args.cpsat_from:
            df = with_new_cpsat(df, read_results(Path(args.cpsat_from) / name / "results.csv"))
        if args.seeds_from:
            extra = Path(args.seeds_from) / name / "results.csv"
            if extra.is_file():
                df = with_seeds(df, read_results(extra))
        print(f"#### {name}\n")
        print("\n".join(table(df)))
        print()


if __name__ == "__main__":
    main()
