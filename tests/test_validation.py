"""One test per validation rule: bad input gives a precise error, never a traceback."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from broker.cli import main
from broker.errors import InputError
from broker.scenario import read_scenario

TOML = 'name = "v"\n[defaults]\nmax_distance_km = 40\n'
SUP = (
    "supporter_id,kind,phase,la_code,easting,northing,capacity_days,day_rate_gbp\n"
    "S1,nle,primary,855,450000,300000,2,500\n"
    "S2,lle,secondary;primary,855,460000,300000,1,400\n"
)
CLI = (
    "client_id,phase,la_code,easting,northing,need_days,priority\n"
    "C1,primary,855,451000,300000,1,3\n"
    "C2,secondary,855,459000,300000,1.5,2\n"
)


def make(tmp_path: Path, *, toml: str = TOML, sup: str = SUP, cli: str = CLI, **extra: str) -> Path:
    d = tmp_path / "scen"
    d.mkdir()
    (d / "scenario.toml").write_text(toml)
    if sup is not None:
        (d / "supporters.csv").write_text(sup)
    if cli is not None:
        (d / "clients.csv").write_text(cli)
    for name, text in extra.items():
        (d / f"{name}.csv").write_text(text)
    return d


def error_of(folder: Path) -> str:
    with pytest.raises(InputError) as info:
        read_scenario(folder)
    return str(info.value)


def test_good_scenario_reads(tmp_path):
    s = read_scenario(make(tmp_path))
    assert list(s.clients["client_id"]) == ["C1", "C2"]
    assert s.supporters["phases"].iat[1] == ("secondary", "primary")


CASES = [
    # (description, which file, old text, new text, expected fragments)
    (
        "missing id",
        "clients",
        "C1,primary",
        ",primary",
        ["clients.csv", "row 2", "'client_id'", "blank id"],
    ),
    (
        "duplicate id",
        "supporters",
        "S2,lle",
        "S1,lle",
        ["supporters.csv", "row 3", "'supporter_id'", "'S1'", "duplicate id (first used on row 2)"],
    ),
    (
        "unknown phase",
        "clients",
        "C2,secondary",
        "C2,secundary",
        ["clients.csv", "row 3", "'phase'", "'secundary'", "primary, secondary, special"],
    ),
    (
        "phase list with commas",
        "supporters",
        "secondary;primary",
        '"secondary,primary"',
        ["row 3", "use ';' to separate phases"],
    ),
    (
        "zero capacity",
        "supporters",
        "460000,300000,1,400",
        "460000,300000,0,400",
        ["supporters.csv", "row 3", "'capacity_days'", "'0'", "greater than 0"],
    ),
    (
        "negative capacity",
        "supporters",
        "460000,300000,1,400",
        "460000,300000,-1,400",
        ["'capacity_days'", "'-1'"],
    ),
    (
        "non-numeric cell",
        "clients",
        "1.5,2",
        "one and a half,2",
        ["clients.csv", "row 3", "'need_days'", "'one and a half'", "not a number"],
    ),
    (
        "too many decimals",
        "clients",
        "1.5,2",
        "1.333,2",
        ["'need_days'", "'1.333'", "more than 2 decimal places"],
    ),
    ("priority not whole", "clients", "1,3\n", "1,2.5\n", ["'priority'", "'2.5'", "whole number"]),
    ("priority zero", "clients", "1,3\n", "1,0\n", ["'priority'", "'0'", "positive"]),
    (
        "coordinates outside GB",
        "clients",
        "451000,300000",
        "951000,300000",
        ["clients.csv", "row 2", "'easting'", "'951000'", "Great Britain"],
    ),
    (
        "bad la code",
        "supporters",
        "S1,nle,primary,855",
        "S1,nle,primary,Leics",
        ["'la_code'", "'Leics'", "3-digit"],
    ),
    (
        "unknown kind",
        "supporters",
        "S1,nle",
        "S1,guru",
        ["'kind'", "'guru'", "nle, lle, achievement_partner"],
    ),
    (
        "ragged row",
        "clients",
        "C2,secondary,855,459000,300000,1.5,2",
        "C2,secondary,855,459000,300000,1.5",
        ["clients.csv", "row 3", "6 cells", "7 columns"],
    ),
]


@pytest.mark.parametrize("what,file,old,new,fragments", CASES, ids=[c[0] for c in CASES])
def test_cell_rules(tmp_path, what, file, old, new, fragments):
    texts = {"sup": SUP, "cli": CLI}
    key = "sup" if file == "supporters" else "cli"
    assert old in texts[key], what
    texts[key] = texts[key].replace(old, new, 1)
    message = error_of(make(tmp_path, **texts))
    for f in fragments:
        assert f in message, (f, message)


def test_missing_required_column(tmp_path):
    message = error_of(
        make(tmp_path, cli=CLI.replace(",priority", "").replace(",3\n", "\n").replace(",2\n", "\n"))
    )
    assert "clients.csv" in message and "missing required column(s) priority" in message


def test_missing_file(tmp_path):
    d = make(tmp_path, sup=None)
    message = error_of(d)
    assert "supporters.csv" in message and "file not found" in message


def test_missing_folder(tmp_path):
    message = error_of(tmp_path / "nowhere")
    assert "scenario folder not found" in message


def test_unknown_reference_in_conflicts_and_pinned(tmp_path):
    d = make(
        tmp_path,
        conflicts="supporter_id,client_id\nS9,C1\n",
        pinned="client_id,supporter_id\nC7,S1\n",
    )
    message = error_of(d)
    assert (
        "conflicts.csv, row 2, column 'supporter_id': value 'S9': unknown supporter_id"
    ) in message
    assert "pinned.csv, row 2, column 'client_id': value 'C7': unknown client_id" in message


def test_pinned_twice(tmp_path):
    d = make(tmp_path, pinned="client_id,supporter_id\nC1,S1\nC1,S2\n")
    assert "client pinned more than once" in error_of(d)


def test_pinned_pair_breaking_a_rule_is_named(tmp_path):
    from broker.candidates import build_candidates

    d = make(tmp_path, pinned="client_id,supporter_id\nC2,S1\n")  # S1 is primary only
    with pytest.raises(InputError) as info:
        build_candidates(read_scenario(d))
    text = str(info.value)
    assert "pinned pair (client C2, supporter S1)" in text and "rule 3 (phase)" in text


def test_pinned_pairs_over_capacity(tmp_path):
    from broker.candidates import build_candidates

    d = make(
        tmp_path,
        cli=CLI.replace("C2,secondary", "C2,primary"),
        pinned="client_id,supporter_id\nC1,S1\nC2,S1\n",
        sup=SUP.replace("450000,300000,2,500", "450000,300000,2,500"),
    )
    (d / "clients.csv").write_text((d / "clients.csv").read_text().replace("1.5,2", "1.5,2"))
    with pytest.raises(InputError) as info:
        build_candidates(read_scenario(d))
    assert "supporter S1 need 2.5 days per week, more than its capacity of 2" in str(info.value)


def test_authorities_rules(tmp_path):
    d = make(tmp_path, authorities="la_code,cross_la,budget_gbp\n855,own_al,-5\n855,allow,\n")
    text = error_of(d)
    assert "'cross_la': value 'own_al': expected one of allow, prefer_own, own_only" in text
    assert "'budget_gbp': value '-5'" in text and "duplicate la_code" in text


def test_toml_errors(tmp_path):
    d = make(tmp_path, toml='name = "x"\n[defaults]\nmax_distance = 40\n[round]\nweeks = "39"\n')
    text = error_of(d)
    assert "unknown key [defaults] 'max_distance'" in text
    assert "round.weeks" in text and "'39'" in text
    d2 = tmp_path / "b"
    d2.mkdir()
    (d2 / "scenario.toml").write_text("name = \n")
    assert "not valid TOML" in error_of(d2)


def test_a_budget_for_a_programme_no_mode_is_paid_by_is_refused(tmp_path):
    """A misspelt ``[budget.funders]`` name would otherwise leave the programme unlimited."""
    funders = '[funders]\ncoaching = "programme:lt"\n'
    d = make(tmp_path, toml=TOML + funders + "[budget.funders]\nltt = 1000\n")
    text = error_of(d)
    assert "budget.funders.ltt" in text and "value 1000:" in text
    assert "no mode is paid by programme:ltt" in text
    assert "expected the name of a programme funder: leading_together, lt" in text
    ok = tmp_path / "ok"
    ok.mkdir()
    for f in d.iterdir():
        (ok / f.name).write_bytes(f.read_bytes())
    (ok / "scenario.toml").write_text(TOML + funders + "[budget.funders]\nlt = 1000\n")
    assert read_scenario(ok).config.funder_budgets_gbp == {"lt": 1000.0}


def test_a_programme_name_that_needs_quotes_survives_writing(tmp_path):
    """write_scenario (top-up, what-if) quotes a key TOML cannot take bare."""
    from broker.scenario import write_scenario
    from factories import client, scenario, supporter

    name = "my fund.2024"
    s = scenario(
        [supporter("S1")],
        [client("C1")],
        funders={"coaching": f"programme:{name}"},
        funder_budgets_gbp={name: 1234.5},
    )
    back = read_scenario(write_scenario(s, tmp_path / "w"))
    assert back.config.funders == {"coaching": f"programme:{name}"}
    assert back.config.funder_budgets_gbp == {name: 1234.5}


def test_latitude_longitude_converted(tmp_path):
    cli = (
        "client_id,phase,la_code,latitude,longitude,need_days,priority\n"
        "C1,primary,855,52.6369,-1.1398,1,3\n"
    )
    s = read_scenario(make(tmp_path, cli=cli))
    # Leicester clock tower is at about E 458,800 N 304,600 on the National Grid
    assert abs(s.clients["easting"].iat[0] - 458_800) < 1_000
    assert abs(s.clients["northing"].iat[0] - 304_600) < 1_000


def test_all_problems_reported_together(tmp_path):
    cli = CLI.replace("C1,primary", "C1,primery").replace("1.5,2", "x,2")
    text = error_of(make(tmp_path, cli=cli))
    assert "'primery'" in text and "'x'" in text


def test_cli_bad_input_exits_2_and_leaves_files_untouched(tmp_path, capsys):
    d = make(tmp_path, cli=CLI.replace("C2,secondary", "C2,secundary"))
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in d.iterdir()}
    code = main(["run", str(d), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "clients.csv, row 3, column 'phase': value 'secundary'" in err
    assert "Traceback" not in err
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in d.iterdir()}
    assert before == after


def test_utf8_bom_and_thousands_separators_accepted(tmp_path):
    sup = SUP.replace("450000,300000,2,500", '"450,000",300000,2,500')
    d = make(tmp_path, sup="\ufeff" + sup)
    s = read_scenario(d)
    assert s.supporters["easting"].iat[0] == 450_000
