"""Benchmark outputs: ``results.csv``, ``results.md`` and ``traces.json``.

``results.md`` starts with everything needed to reproduce and judge the numbers:
the exact command, the date, the machine (logical CPUs, CPU model, RAM, OS) and the
versions of broker and of every solver library, then a summary per solver and one
line per run.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from broker.csvtext import neutralise_cells

if TYPE_CHECKING:
    from broker.bench.runner import Row, RunConfig


def _load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not available
        return "unknown"


def machine_info() -> dict[str, str]:
    """Logical CPUs, usable CPUs, CPU model, RAM, OS and Python of this machine."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    try:
        usable = str(len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        usable = "?"
    return {
        "nproc": str(os.cpu_count()),
        "usable_cpus": usable,
        "cpu_model": model,
        "ram": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def _cbc_version() -> str:
    try:
        import warnings

        import pulp

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            path = pulp.PULP_CBC_CMD().path
        text = subprocess.run(
            [path, "-quit"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
        for line in text.splitlines():
            if line.strip().startswith("Version:"):
                return line.split(":", 1)[1].strip()
    except Exception:  # noqa: BLE001 - the version is informative only
        pass
    return "unknown"


def versions() -> dict[str, str]:
    """Versions of broker and the solver libraries (without importing OR-Tools/highspy)."""
    out = {}
    for dist in ("broker", "ortools", "highspy", "PuLP", "numpy", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    out["CBC (bundled with PuLP)"] = _cbc_version()
    return out


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf"
        return f"{v:.6g}" if abs(v) < 1e15 else repr(v)
    return str(v)


def write_csv(rows: list[Row], path: Path) -> None:
    """All rows with the runner's columns (internal ``_``-prefixed keys left out)."""
    from broker.bench.runner import COLUMNS

    tmp = path.with_suffix(".csv.part")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(neutralise_cells(COLUMNS))
        for row in rows:
            w.writerow(neutralise_cells(_cell(row.get(c)) for c in COLUMNS))
    os.replace(tmp, path)


def write_traces(rows: list[Row], path: Path) -> None:
    """Incumbents of every run (``[seconds, objective]`` pairs) as JSON."""
    data = [
        {
            "instance": r["instance"],
            "solver": r["solver"],
            "seed": r["seed"],
            "source": r.get("trace_source"),
            "points": [list(p) for p in r.get("_trace", [])],
        }
        for r in rows
    ]
    path.write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")


def fmt(v: object, kind: str = "") -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, float) and math.isnan(v):
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "never"
    if kind == "pct":
        return f"{100 * float(v):.2f}"  # type: ignore[arg-type]
    if kind == "s":
        return f"{float(v):.2f}"  # type: ignore[arg-type]
    if kind == "ratio":
        return f"{float(v):.3f}"  # type: ignore[arg-type]
    if kind == "mb":
        return f"{float(v):,.0f}"  # type: ignore[arg-type]
    if isinstance(v, float) and v.is_integer():
        return f"{int(v):,}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and math.isfinite(x) and x > 0]
    return math.exp(statistics.fmean(math.log(x) for x in xs)) if xs else None


def _summary(rows: list[Row]) -> list[str]:
    solvers = list(dict.fromkeys(str(r["solver"]) for r in rows))
    lines = [
        "| solver | runs | optimal | feasible | no solution | mean gap % | "
        "mean gap vs best known % | mean vs best of run % | worst vs best of run % | "
        "best of run | median time to final s | median seconds | "
        "max peak MB | geo-mean objective@ref-time ratio | geo-mean time-to-ref ratio | "
        "reached ref | bound violated |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def nums(rs: list[Row], key: str) -> list[float]:
        return [
            float(r[key])
            for r in rs
            if isinstance(r.get(key), (int, float))
            and not isinstance(r.get(key), bool)
            and math.isfinite(float(r[key]))
        ]

    for s in solvers:
        rs = [r for r in rows if r["solver"] == s]
        n_opt = sum(r["status"] == "optimal" for r in rs)
        n_feas = sum(r["status"] == "feasible" for r in rs)
        gaps, best = nums(rs, "gap"), nums(rs, "gap_best_known")
        of_run = nums(rs, "gap_best_of_run")
        n_best = sum(1 for x in of_run if x <= 1e-12)
        ttf, secs, mem = nums(rs, "time_to_final_s"), nums(rs, "seconds"), nums(rs, "peak_rss_mb")
        with_ref = [r for r in rs if r.get("reference")]
        reached = sum(
            isinstance(r.get("time_to_ref_s"), float | int)
            and math.isfinite(float(r["time_to_ref_s"]))
            for r in with_ref
        )  # type: ignore[arg-type]
        lines.append(
            "| "
            + " | ".join(
                [
                    s,
                    str(len(rs)),
                    str(n_opt),
                    str(n_feas),
                    str(len(rs) - n_opt - n_feas),
                    fmt(statistics.fmean(gaps), "pct") if gaps else "",
                    fmt(statistics.fmean(best), "pct") if best else "",
                    fmt(statistics.fmean(of_run), "pct") if of_run else "",
                    fmt(max(of_run), "pct") if of_run else "",
                    f"{n_best}/{len(rs)}",
                    fmt(statistics.median(ttf), "s") if ttf else "",
                    fmt(statistics.median(secs), "s") if secs else "",
                    fmt(max(mem), "mb") if mem else "",
                    fmt(_geomean(nums(rs, "ratio_objective_at_ref_time")), "ratio"),
                    fmt(_geomean(nums(rs, "ratio_time_to_ref")), "ratio"),
                    f"{reached}/{len(with_ref)}" if with_ref else "",
                    str(sum(r.get("bound_valid") is False for r in rs)),
                ]
            )
            + " |"
        )
    return lines


def write_markdown(rows: list[Row], path: Path, config: RunConfig, notes: list[str]) -> None:
    """``results.md``: provenance header, summary per solver, one line per run."""
    m, v = machine_info(), versions()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    gap_set = any(r.get("best_known") is not None for r in rows) or config.set_name.startswith(
        "gap"
    )
    objective = (
        "the GAP objective (total cost when minimising, profit when maximising)"
        if gap_set
        else "level 1 (sum of priorities matched, maximised)"
    )
    out = [
        f"# Benchmark results: {config.set_name}",
        "",
        f"- **Command**: `{config.command}`" if config.command else "",
        f"- **Date**: {now}",
        f"- **Machine**: {m['nproc']} logical CPUs ({m['usable_cpus']} usable), "
        f"{m['cpu_model']}, {m['ram']} RAM; {m['os']}; Python {m['python']}",
        f"- **Load**: 1/5/15-minute load average {_load()} when this file was written "
        "(if above the number of CPUs, other work shared the machine and timings suffer)",
        "- **Versions**: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- **Protocol**: time limit {config.time_limit_s:g} s per solve, seeds "
        f"{', '.join(map(str, config.seeds))}, {config.workers} worker thread(s); each "
        "solve in a fresh process, one at a time; every solution checked independently",
        f"- **Objective**: {objective}; gap = |bound - objective| / max(|objective|, 1)",
        f"- **Reference for ratios**: `{config.reference}` on the same instance and seed "
        "(objective ratio: above 1 is better when maximising, below 1 when minimising; "
        "time ratio: below 1 is faster; when the reference's incumbents are unknown its "
        "total time stands in for its time to final)",
        "- **Checks**: every solution is checked against every hard rule; every claimed "
        "bound is checked against all feasible solutions found and proven optima "
        "(BOUND VIOLATED marks a false claim)",
    ]
    out += [f"- **Note**: {n}" for n in notes]
    out = [line for line in out if line]
    out += ["", "## Summary by solver", ""] + _summary(rows)
    out += [
        "",
        "## Runs",
        "",
        "| instance | solver | seed | status | objective | bound | gap % | best known | "
        "vs best % | vs best of run % | time to final s | seconds | peak MB | "
        "objective@ref-time ratio | time-to-ref ratio |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        status = str(r["status"])
        if r.get("feasible") is False:
            status += " (INFEASIBLE)"
        if r.get("bound_valid") is False:
            status += " (BOUND VIOLATED)"
        out.append(
            "| "
            + " | ".join(
                [
                    str(r["instance"]),
                    str(r["solver"]),
                    str(r["seed"]),
                    status,
                    fmt(r.get("objective")),
                    fmt(r.get("bound")),
                    fmt(r.get("gap"), "pct"),
                    fmt(r.get("best_known")),
                    fmt(r.get("gap_best_known"), "pct"),
                    fmt(r.get("gap_best_of_run"), "pct"),
                    fmt(r.get("time_to_final_s"), "s"),
                    fmt(r.get("seconds"), "s"),
                    fmt(r.get("peak_rss_mb"), "mb"),
                    fmt(r.get("ratio_objective_at_ref_time"), "ratio"),
                    fmt(r.get("ratio_time_to_ref"), "ratio"),
                ]
            )
            + " |"
        )
    errors = [r for r in rows if r.get("error")]
    if errors:
        out += ["", "## Errors", ""]
        out += [
            f"- {r['instance']} / {r['solver']} / seed {r['seed']}: {r['error']}" for r in errors
        ]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    write_traces(rows, path.with_name("traces.json"))
