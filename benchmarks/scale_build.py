"""Candidate generation and model build at 1x-8x England: time and peak memory.

Usage: python benchmarks/scale_build.py [SCALE ...]   (default 1 2 4 8)
Each scale runs in a fresh process so that peak RSS is its own. Writes a markdown
table to benchmarks/results/scale-build.md and prints it.
"""

from __future__ import annotations

import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from broker.candidates import build_candidates
from broker.generate.national import NationalOptions, build
from broker.solve.cpsat import build_model, scaled
scale = float(sys.argv[1])
t0 = time.perf_counter(); s = build(NationalOptions(seed=1, scale=scale)); t1 = time.perf_counter()
c = build_candidates(s); t2 = time.perf_counter()
build_model(scaled(c.problem)); t3 = time.perf_counter()
print(json.dumps({"scale": scale, "clients": len(s.clients), "supporters": len(s.supporters),
    "pairs": int(c.problem.n_pairs), "generate_s": t1 - t0, "candidates_s": t2 - t1,
    "model_s": t3 - t2, "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""


def main() -> None:
    scales = [float(a) for a in sys.argv[1:]] or [1.0, 2.0, 4.0, 8.0]
    rows = []
    for scale in scales:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(scale)], check=True, capture_output=True, text=True
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    lines = [
        f"# Build scaling ({datetime.date.today()}, {platform.machine()}, "
        f"`python benchmarks/scale_build.py {' '.join(f'{s:g}' for s in scales)}`)",
        "",
        "Target: at 8x England, candidate generation plus model build under 30 s and peak "
        "memory under 4 GB.",
        "",
        "| scale | clients | supporters | pairs | generate s | candidates s | CP-SAT model s |"
        " candidates + model s | peak GB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scale']:g}x | {r['clients']:,} | {r['supporters']:,} | "
            f"{r['pairs']:,} | {r['generate_s']:.1f} | {r['candidates_s']:.2f} | "
            f"{r['model_s']:.2f} | {r['candidates_s'] + r['model_s']:.1f} | "
            f"{r['peak_gb']:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    path = Path(__file__).parent / "results" / "scale-build.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
