"""README's "A programme year" walk-through, run line by line so that it cannot rot.

Lines starting with ``broker`` run in-process through :func:`broker.cli.main`;
other lines (``cp``, ``echo``) run in bash. The working folder is a temporary one
where ``scenarios/`` points at the repository's bundled scenarios.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pandas as pd

from broker.cli import main

ROOT = Path(__file__).resolve().parents[1]


def walkthrough_lines() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    body = block.split("```bash", 1)[1].split("```", 1)[0]
    return [ln.strip() for ln in body.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def test_walkthrough_runs_as_written(tmp_path, monkeypatch, capsys):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    (tmp_path / "year").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BROKER_DB", raising=False)
    lines = walkthrough_lines()
    assert sum(ln.startswith("broker ") for ln in lines) >= 9
    for line in lines:
        if line.startswith("broker "):
            code = main(shlex.split(line)[1:] + (["--quiet"] if " run " in f" {line} " else []))
            assert code == 0, f"{line!r} exited with {code}:\n{capsys.readouterr().err}"
        else:
            proc = subprocess.run(["bash", "-c", line], capture_output=True, text=True)
            assert proc.returncode == 0, f"{line!r}: {proc.stderr}"

    def table(run: str) -> dict[str, str]:
        t = pd.read_csv(tmp_path / "year" / run / "assignments.csv", dtype=str)
        return dict(zip(t["client_id"], t["supporter_id"].fillna(""), strict=True))

    first, second = table("round1"), table("round2")
    contracted = ["C119906", "C119926", "C137317"]
    for c in contracted:  # the three contracts are kept
        assert second[c] == first[c] != ""
    declined = "C145972"
    assert second[declined] != first[declined]  # the declined pair is never re-proposed
    assert second["C900001"] != ""  # the new, urgent request is matched
    summary = json.loads((tmp_path / "year" / "round2" / "summary.json").read_text())
    assert summary["round_id"] == 2
    top = summary["topup"]
    assert top["pinned"] == 3 and top["declined_pairs_excluded"] == 1
    assert top["proposals_kept"] + top["proposals_changed"] == top["proposals_offered"]
    assert top["proposals_changed"] == summary["proposals"]["changed"]  # the pipeline agrees
    changes = pd.read_csv(tmp_path / "year" / "round2" / "topup_changes.csv", dtype=str)
    changed = changes[changes["change"].isin(["moved", "dropped"])]
    assert len(changed) == top["proposals_changed"] and changed["reason"].notna().all()
    diff = pd.read_csv(tmp_path / "year" / "diff" / "diff.csv", dtype=str)
    assert diff.set_index("client_id").loc["C900001", "change"] == "gained"
    assert (tmp_path / "year" / "diff" / "diff_authorities.csv").is_file()
