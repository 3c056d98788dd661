"""Loading rule files: finding the folder, and clear errors for malformed files."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from broker.errors import InputError
from broker.rules import ENV_VAR, find_models_dir, list_programmes, load_all, load_programme, loader

REPO_MODELS = Path(__file__).resolve().parents[1] / "models"

GOOD = """\
schema_version = 1

[programme]
id = "demo"
name = "Demo programme"
role = "supporter"

[[programme.sources]]
title = "A guide"
publisher = "DfE"
year = 2016
url = "https://example.org/guide"

[[criteria]]
id = "good_school"
field = "ofsted_grade"
op = "le"
value = 2
on_fail = "reject"
explain = "the school must be good or better"
"""


def write(tmp_path: Path, text: str, name: str = "demo.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_good_file_loads(tmp_path):
    prog = load_programme(write(tmp_path, GOOD))
    assert prog.id == "demo"
    assert prog.sources[0].year == "2016"
    assert prog.criteria[0].fields == ("ofsted_grade",)


# (name, how to break GOOD, key path the error must name, words it must contain)
MALFORMED = [
    ("unknown op", ('op = "le"', 'op = "gte"'), "criteria[0].op", "unknown op"),
    ("missing field", ('field = "ofsted_grade"\n', ""), "criteria[0].field", "missing"),
    ("unknown field", ('"ofsted_grade"', '"ofsted"'), "criteria[0].field", "unknown field"),
    ("missing value", ("value = 2\n", ""), "criteria[0].value", "missing"),
    ("value out of range", ("value = 2", "value = 7"), "criteria[0].value", "outside"),
    ("value wrong type", ("value = 2", 'value = "good"'), "criteria[0].value", "number"),
    ("missing on_fail", ('on_fail = "reject"\n', ""), "criteria[0].on_fail", "missing"),
    ("bad on_fail", ('"reject"', '"warn"'), "criteria[0].on_fail", "reject, review"),
    (
        "missing explain",
        ('explain = "the school must be good or better"\n', ""),
        "criteria[0].explain",
        "missing",
    ),
    ("missing id", ('id = "good_school"\n', ""), "criteria[0].id", "missing"),
    (
        "unknown criterion key",
        ("value = 2\n", "value = 2\nvalu = 3\n"),
        "criteria[0].valu",
        "unknown key",
    ),
    ("bad role", ('role = "supporter"', 'role = "helper"'), "programme.role", "client"),
    (
        "missing sources",
        ("[[programme.sources]]", "[programme.extra]"),
        "programme.sources",
        "at least one",
    ),
    (
        "source without url",
        ('url = "https://example.org/guide"\n', ""),
        "programme.sources[0].url",
        "missing",
    ),
    (
        "wrong schema version",
        ("schema_version = 1", "schema_version = 2"),
        "schema_version",
        "expected 1",
    ),
    (
        "unknown top-level key",
        ("schema_version = 1", "schema_version = 1\ncritera = []"),
        "critera",
        "unknown key",
    ),
    (
        "ordering op on category",
        (
            'field = "ofsted_grade"\nop = "le"\nvalue = 2',
            'field = "phase_group"\nop = "ge"\nvalue = "primary"',
        ),
        "criteria[0].op",
        "numeric field",
    ),
    (
        "between needs a pair",
        ('op = "le"\nvalue = 2', 'op = "between"\nvalue = [2]'),
        "criteria[0].value",
        "[lo, hi]",
    ),
    (
        "between lo >= hi",
        ('op = "le"\nvalue = 2', 'op = "between"\nvalue = [3, 2]'),
        "criteria[0].value",
        "lo < hi",
    ),
    (
        "closed without between",
        ("value = 2", 'value = 2\nclosed = "both"'),
        "criteria[0].closed",
        "between",
    ),
    (
        "idaci as a percent",
        (
            'field = "ofsted_grade"\nop = "le"\nvalue = 2',
            'field = "idaci_rate"\nop = "ge"\nvalue = 40',
        ),
        "criteria[0].value",
        "0.4 means 40%",
    ),
    (
        "empty in list",
        ('op = "le"\nvalue = 2', 'op = "in"\nvalue = []'),
        "criteria[0].value",
        "non-empty list",
    ),
    (
        "boolean compared with number",
        ('field = "ofsted_grade"\nop = "le"\nvalue = 2', 'field = "at_risk"\nop = "eq"\nvalue = 1'),
        "criteria[0].value",
        "true or false",
    ),
]


@pytest.mark.parametrize(
    ("old_new", "key", "words"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_file_names_file_and_key(tmp_path, old_new, key, words):
    old, new = old_new
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(InputError) as exc:
        load_programme(path)
    text = str(exc.value)
    assert str(path) in text
    assert f"key '{key}'" in text
    assert words in text


def test_nested_condition_errors_give_full_key_path(tmp_path):
    text = GOOD.replace(
        'field = "ofsted_grade"\nop = "le"\nvalue = 2',
        'any_of = [\n  { all_of = [ { field = "aea_score", op = "lt", value = 9 } ] },\n]',
    )
    with pytest.raises(InputError, match=r"criteria\[0\]\.any_of\[0\]\.all_of\[0\]\.value"):
        load_programme(write(tmp_path, text))


def test_at_least_bigger_than_list(tmp_path):
    text = GOOD.replace(
        'field = "ofsted_grade"\nop = "le"\nvalue = 2',
        'at_least = 3\nof = [{ field = "ofsted_grade", op = "eq", value = 1 }]',
    )
    with pytest.raises(InputError, match=r"criteria\[0\]\.at_least.*from 1 to 1"):
        load_programme(write(tmp_path, text))


def test_two_condition_forms_in_one_criterion(tmp_path):
    text = GOOD.replace(
        "value = 2", 'value = 2\nall_of = [{ field = "aea_score", op = "eq", value = 1 }]'
    )
    with pytest.raises(InputError, match="exactly one of"):
        load_programme(write(tmp_path, text))


def test_duplicate_criterion_id(tmp_path):
    crit = GOOD[GOOD.index("[[criteria]]") :]
    with pytest.raises(InputError, match=r"criteria\[1\]\.id.*duplicate"):
        load_programme(write(tmp_path, GOOD + "\n" + crit))


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, GOOD.replace('op = "le"', "op = le"))
    with pytest.raises(InputError) as exc:
        load_programme(path)
    assert str(path) in str(exc.value) and "line" in str(exc.value)


def test_all_problems_reported_at_once(tmp_path):
    text = GOOD.replace('op = "le"', 'op = "gte"').replace('role = "supporter"', "role = 1")
    with pytest.raises(InputError) as exc:
        load_programme(write(tmp_path, text))
    assert len(exc.value.problems) == 2


def test_derive_input_listed_twice(tmp_path):
    text = GOOD + textwrap.dedent("""
        [[derive]]
        name = "area"
        from = "lad_name"
        [derive.map]
        "North" = ["Melton"]
        "South" = ["melton"]
        """)
    with pytest.raises(InputError, match=r"derive\[0\]\.map\.South.*also listed under 'North'"):
        load_programme(write(tmp_path, text))


def test_unknown_programme_name_lists_the_available_ones():
    with pytest.raises(InputError) as exc:
        load_programme("nles")
    assert "leading_together" in str(exc.value)


def test_fields_file_is_not_a_programme():
    with pytest.raises(InputError):
        load_programme("fields")
    assert "fields" not in list_programmes()


def test_malformed_fields_file(tmp_path):
    shutil.copy(REPO_MODELS / "fields.toml", tmp_path / "fields.toml")
    with (tmp_path / "fields.toml").open("a") as fh:
        fh.write('\n[fields.extra]\nlabel = "x"\ntype = "decimal"\n')
    write(tmp_path, GOOD)
    with pytest.raises(InputError, match=r"fields\.toml.*fields\.extra\.type"):
        load_all(tmp_path)


def test_load_all_reports_every_broken_file_and_duplicate_ids(tmp_path):
    shutil.copy(REPO_MODELS / "fields.toml", tmp_path / "fields.toml")
    write(tmp_path, GOOD, "a.toml")
    write(tmp_path, GOOD, "b.toml")  # same id "demo"
    write(tmp_path, GOOD.replace('op = "le"', 'op = "gte"'), "c.toml")
    with pytest.raises(InputError) as exc:
        load_all(tmp_path)
    text = str(exc.value)
    assert "b.toml" in text and "also used by a.toml" in text
    assert "c.toml" in text and "criteria[0].op" in text


# --------------------------------------------------------------------------- locating


def test_models_dir_from_argument_env_and_source_tree(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert find_models_dir().resolve() == REPO_MODELS.resolve()
    assert find_models_dir(tmp_path) == tmp_path
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert find_models_dir() == tmp_path


def test_env_var_naming_no_folder_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope"))
    with pytest.raises(InputError, match=ENV_VAR):
        find_models_dir()


def test_install_record_fallback_finds_models_without_a_copy(tmp_path, monkeypatch):
    # Pretend the package was imported from somewhere other than the source tree.
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(loader, "_source_tree_models", lambda: tmp_path / "models")
    origin = loader._install_origin_models()
    if origin is None or not (origin / "fields.toml").is_file():
        pytest.skip("broker is not installed from a local checkout here")
    assert find_models_dir().resolve() == origin.resolve()
    assert set(load_all()) >= {"nle", "leading_together"}


def test_nothing_found_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(loader, "_source_tree_models", lambda: tmp_path / "a")
    monkeypatch.setattr(loader, "_install_origin_models", lambda: tmp_path / "b")
    with pytest.raises(InputError, match="no folder of rule files"):
        find_models_dir()
