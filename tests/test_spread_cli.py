"""``broker spread`` end to end, and reading a run folder (broker.spread.cli, .rounds)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from broker.candidates import build_candidates
from broker.errors import InputError
from broker.pipeline import run_round
from broker.report import write_outputs
from broker.scenario import read_scenario
from broker.spread import read_run_dir
from broker.spread.cli import add_subcommand

ROOT = Path(__file__).resolve().parents[1]
LEICS = ROOT / "scenarios" / "leicestershire"


def spread_main(argv: list[str]) -> int:
    """``broker spread`` through its own parser, as broker.cli.main runs commands."""
    parser = argparse.ArgumentParser(prog="broker")
    add_subcommand(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"broker: error in input\n{exc}", file=__import__("sys").stderr)
        return 2


@pytest.fixture(scope="module")
def leics():
    s = read_scenario(LEICS)
    return s, build_candidates(s)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, leics):
    s, _ = leics
    out = tmp_path_factory.mktemp("run")
    write_outputs(run_round(s, solver="highs", time_limit_s=20), out)
    return out


@pytest.fixture(scope="module")
def spread_out(tmp_path_factory, run_dir):
    out = tmp_path_factory.mktemp("spread")
    code = spread_main(
        [
            "spread",
            str(LEICS),
            "--round",
            str(run_dir),
            "--out",
            str(out),
            "--recruit",
            "3",
            "--quiet",
        ]
    )
    assert code == 0
    return out


def test_spread_writes_tables_and_headline(spread_out, leics):
    s, _ = leics
    for name in (
        "la_scores",
        "region_scores",
        "isolated_clients",
        "flows",
        "resilience",
        "recruitment_targets",
    ):
        assert (spread_out / f"{name}.csv").is_file(), name
    la = pd.read_csv(spread_out / "la_scores.csv", dtype={"la_code": str})
    assert list(la["la_code"]) == ["855"] and la["clients"].sum() == len(s.clients)
    assert {
        "balance_in_reach",
        "share_need_in_reach",
        "maxflow_bound_days",
        "share_matched_cross_la",
    } <= set(la.columns)
    res = pd.read_csv(spread_out / "resilience.csv")
    assert len(res) == len(s.supporters)
    assert set(res["bound"]) <= {"exact", "upper_bound"}
    assert res["method"].notna().all()
    h = json.loads((spread_out / "headline.json").read_text())
    assert h["clients"] == len(s.clients)
    assert h["round"]["need_days_matched"] <= h["maxflow_bound_days"]
    assert h["round"]["level1_optimal"] is True
    assert "recruitment" in h and h["recruitment"]["k"] == 3


def test_maps_are_readable_images(spread_out):
    import matplotlib.image as mpimg

    for name in ("map_balance_in_reach", "map_share_need_in_reach", "map_flows"):
        img = mpimg.imread(spread_out / f"{name}.png")
        assert img.shape[0] > 800 and img.shape[1] > 800, name
        assert float(np.std(img[..., :3])) > 0.05, name  # not blank


def test_headline_printed_without_out(capsys, run_dir, tmp_path):
    code = spread_main(["spread", str(LEICS), "--round", str(run_dir), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "max-flow bound" in out and "need with a supporter in reach" in out
    assert "most depended-on supporter" in out and "wrote" not in out


def test_spread_without_round_and_maps(tmp_path, capsys):
    out = tmp_path / "o"
    assert spread_main(["spread", str(LEICS), "--out", str(out), "--no-maps", "--quiet"]) == 0
    assert not list(out.glob("*.png"))
    assert not (out / "resilience.csv").exists() and (out / "la_scores.csv").is_file()


def test_outputs_are_deterministic(tmp_path, run_dir):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert (
            spread_main(
                [
                    "spread",
                    str(LEICS),
                    "--round",
                    str(run_dir),
                    "--out",
                    str(out),
                    "--no-maps",
                    "--quiet",
                ]
            )
            == 0
        )
    for f in sorted(a.glob("*.csv")):
        assert f.read_bytes() == (b / f.name).read_bytes(), f.name


def test_cli_reports_bad_run_dir_with_exit_status_2(tmp_path, capsys):
    code = spread_main(["spread", str(LEICS), "--round", str(tmp_path / "nope")])
    assert code == 2
    assert "run folder not found" in capsys.readouterr().err


@pytest.mark.parametrize("days", ["100", "7.5", "2.555"])
def test_pool_capacity_out_of_range_names_the_option(days, capsys):
    """Not 'designation pool, row 27, column capacity_days' once per pool school."""
    with pytest.raises(SystemExit) as exit_:
        spread_main(["spread", str(LEICS), "--recruit", "1", "--pool-capacity", days])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --pool-capacity: expected days per week" in err and repr(days) in err
    assert "designation pool" not in err


# --------------------------------------------------------------------------- run folders


def _copy_run(run_dir: Path, tmp_path: Path) -> Path:
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    return d


def _table(d: Path) -> pd.DataFrame:
    return pd.read_csv(d / "assignments.csv", dtype=str, keep_default_na=False)


def test_read_run_dir_round_trips(run_dir, leics):
    s, cand = leics
    rnd = read_run_dir(run_dir, s, cand.problem)
    t = _table(run_dir)
    p = cand.problem
    for cid, sid in zip(t["client_id"], t["supporter_id"], strict=True):
        j = rnd.assignment[p.client_ids.index(cid)]
        assert (p.supporter_ids[j] if j >= 0 else "") == sid
    assert rnd.level1_optimal and rnd.solver == "highs" and rnd.source == str(run_dir)


@pytest.mark.parametrize(
    "edit, expected",
    [
        (
            lambda t: t.assign(client_id=t["client_id"].where(t.index != 0, "CX")),
            "assignments.csv, row 2, column 'client_id': value 'CX': unknown client",
        ),
        (
            lambda t: t.assign(supporter_id=t["supporter_id"].where(t.index != 1, "SX")),
            "row 3, column 'supporter_id': value 'SX': unknown supporter",
        ),
        (
            lambda t: pd.concat([t, t.iloc[[4]]]),
            "column 'client_id': value '{c4}': client listed more than once (first at row 6)",
        ),
        (
            lambda t: t.drop(columns=["supporter_id"]),
            "row 1: missing required column(s) supporter_id",
        ),
        (lambda t: t.iloc[1:], "client(s) of the scenario have no row: {c0}"),
    ],
)
def test_read_run_dir_errors_name_file_row_column_value(run_dir, leics, tmp_path, edit, expected):
    s, cand = leics
    d = _copy_run(run_dir, tmp_path)
    t = _table(d)
    edit(t).to_csv(d / "assignments.csv", index=False)
    with pytest.raises(InputError) as e:
        read_run_dir(d, s, cand.problem)
    assert expected.format(c4=t["client_id"].iat[4], c0=t["client_id"].iat[0]) in str(e.value)


def test_read_run_dir_rejects_forbidden_pairs_and_rule_breaks(run_dir, leics, tmp_path):
    s, cand = leics
    p = cand.problem
    d = _copy_run(run_dir, tmp_path)
    t = _table(d)
    # a pair the rules forbid (a supporter that is not a candidate of the first client)
    i = p.client_ids.index(t["client_id"].iat[0])
    allowed = set(p.pair_supporter[p.pair_client == i].tolist())
    bad = next(sid for j, sid in enumerate(p.supporter_ids) if j not in allowed)
    t.loc[0, "supporter_id"] = bad
    t.to_csv(d / "assignments.csv", index=False)
    with pytest.raises(InputError) as e:
        read_run_dir(d, s, cand.problem)
    assert f"row 2, column 'supporter_id': value '{bad}'" in str(e.value)
    assert "hard rules forbid this pair" in str(e.value)
    # every client with one supporter: each pair allowed, but capacity (rule 2) breaks
    t = _table(run_dir)
    counts = np.bincount(p.pair_supporter, minlength=p.n_supporters)
    j = int(np.argmax(counts))
    ok = set(p.pair_client[p.pair_supporter == j].tolist())
    t["supporter_id"] = [
        p.supporter_ids[j] if p.client_ids.index(c) in ok else "" for c in t["client_id"]
    ]
    t.to_csv(d / "assignments.csv", index=False)
    with pytest.raises(InputError) as e:
        read_run_dir(d, s, cand.problem)
    assert "breaks a hard rule of the scenario: rule 2" in str(e.value)


def test_read_run_dir_checks_summary(run_dir, leics, tmp_path):
    s, cand = leics
    d = _copy_run(run_dir, tmp_path)
    summary = json.loads((d / "summary.json").read_text())
    summary["priority_matched"] += 1
    (d / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(InputError, match="summary.json: priority_matched is"):
        read_run_dir(d, s, cand.problem)
    (d / "summary.json").write_text("{not json")
    with pytest.raises(InputError, match="summary.json: not valid JSON"):
        read_run_dir(d, s, cand.problem)
    (d / "summary.json").unlink()
    (d / "assignments.csv").unlink()
    with pytest.raises(InputError) as e:
        read_run_dir(d, s, cand.problem)
    assert "assignments.csv: file not found" in str(e.value)
    assert "summary.json: file not found" in str(e.value)


def test_spread_is_wired_into_broker_cli(run_dir, tmp_path):
    from broker.cli import build_parser, main

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    if "spread" not in sub.choices:
        pytest.skip("broker spread not yet wired into broker.cli")
    assert main(["spread", str(LEICS), "--round", str(run_dir), "--quiet"]) == 0
    assert main(["spread", str(LEICS), "--round", str(tmp_path / "none"), "--quiet"]) == 2


def test_public_names_resolve_and_cli_import_is_light():
    import subprocess
    import sys

    import broker.spread as spread
    from broker.spread.cli import MAP_SCORES
    from broker.spread.maps import SCHEMES

    for name in spread.__all__:
        assert getattr(spread, name) is not None, name
    assert tuple(sorted(SCHEMES)) == MAP_SCORES
    code = (
        "import sys, broker.spread.cli; "
        "print(sorted(m for m in ('pandas', 'scipy', 'networkx', 'matplotlib') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "networkx" not in out and "matplotlib" not in out


def test_silenced_c_stdout_restores_descriptor_1(capfd):
    import os

    from broker.spread._cstdout import silenced_c_stdout

    with silenced_c_stdout():
        os.write(1, b"hidden\n")
    os.write(1, b"shown\n")
    print("also shown")
    out = capfd.readouterr().out
    assert "hidden" not in out and "shown\n" in out and "also shown" in out
