"""Scenarios generated from the real register (broker scenario ...)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from broker.cli import main
from broker.errors import InputError
from broker.generate.national import NationalOptions, build
from broker.scenario import read_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def england():
    return build(NationalOptions(seed=1))


def test_same_seed_same_scenario_and_a_different_seed_differs(england):
    again = build(NationalOptions(seed=1))
    pd.testing.assert_frame_equal(england.clients, again.clients)
    pd.testing.assert_frame_equal(england.supporters, again.supporters)
    other = build(NationalOptions(seed=2))
    assert not other.supporters["supporter_id"].equals(england.supporters["supporter_id"])


def test_national_sizes_and_kinds(england):
    assert 1_300 <= len(england.clients) <= 1_500
    assert 800 <= len(england.supporters) <= 1_300
    kinds = set(england.supporters["kind"])
    assert {"nle", "lle", "leading_edge"} <= kinds
    # every supporter says which rules designated it and what was assumed
    assert england.supporters["designation_basis"].str.contains("assumed").all()


def test_clients_are_schools_needing_support(england):
    assert set(england.clients["category"]) <= {"requires_improvement", "inadequate"}
    assert england.clients["priority"].between(1, 5).all()


def test_package_costs_span_the_programmes_range(england):
    s = england
    rates = s.supporters["day_rate_gbp"]
    cheapest = (s.clients["need_days"] * s.clients["weeks"]).min() * rates.min()
    dearest = (s.clients["need_days"] * s.clients["weeks"]).max() * rates.max()
    assert 2_000 <= cheapest <= 6_000
    assert 300_000 <= dearest <= 450_000


def test_scale_multiplies_the_population():
    base = build(NationalOptions(seed=3, region="North East"))
    double = build(NationalOptions(seed=3, region="North East", scale=2))
    assert 1.7 <= len(double.clients) / len(base.clients) <= 2.3
    assert double.clients["client_id"].is_unique


def test_selection_errors_are_clear():
    with pytest.raises(InputError, match="unknown region"):
        build(NationalOptions(region="Mercia"))
    with pytest.raises(InputError, match="unknown DfE LA code"):
        build(NationalOptions(la_codes=("999",)))


def test_a_scale_beyond_the_limits_is_refused_before_copying(tmp_path, capsys):
    """--scale 1e9 used to copy the register until memory ran out."""
    with pytest.raises(InputError, match=r"--scale.*at most 200,000.*a scale of at most 9091"):
        build(NationalOptions(la_codes=("855",), scale=1e9))
    args = ["scenario", "england", "--la", "855", "--out", str(tmp_path / "s")]
    assert main([*args, "--scale", "1e9"]) == 2
    assert "would give about 22,000,000,000 clients" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--max-distance-km", "5000"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--max-distance-km: expected kilometres" in err and "<generated>" not in err
    assert not (tmp_path / "s").exists()


def test_cli_scenario_then_run(tmp_path, capsys):
    out = tmp_path / "ne"
    assert (
        main(
            [
                "scenario",
                "england",
                "--region",
                "North East",
                "--seed",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    s = read_scenario(out)
    assert len(s.clients) > 10
    assert (
        main(
            [
                "run",
                str(out),
                "--out",
                str(tmp_path / "r"),
                "--time-limit",
                "5",
                "--quiet",
                "--no-map",
            ]
        )
        == 0
    )
    assert main(["scenario", "england", "--out", str(out), "--quiet"]) == 2  # not empty
    assert "not empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name,args",
    [
        ("england", ["--seed", "1"]),
        ("derbyshire", ["--la", "830", "--seed", "1", "--name", "Derbyshire (seed 1)"]),
        ("lancashire", ["--la", "888", "--seed", "1", "--name", "Lancashire (seed 1)"]),
    ],
)
def test_bundled_scenarios_are_current(tmp_path, name, args):
    out = tmp_path / name
    assert main(["scenario", "england", *args, "--out", str(out), "--quiet"]) == 0
    for f in ("clients.csv", "supporters.csv", "authorities.csv", "scenario.toml"):
        assert (out / f).read_text() == (ROOT / "scenarios" / name / f).read_text(), f


def test_contrast_pair_shows_uneven_supply():
    d = read_scenario(ROOT / "scenarios" / "derbyshire")
    lancs = read_scenario(ROOT / "scenarios" / "lancashire")
    ratio = [len(x.supporters) / len(x.clients) for x in (d, lancs)]
    assert ratio[1] > 2.5 * ratio[0]
    assert np.isfinite(ratio).all()
