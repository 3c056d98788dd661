"""The one CSV reading path: encodings, delimiters, rows, numbers, limits and warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from broker import limits
from broker.csvtext import parse_text_table, read_text_table
from broker.errors import InputError
from broker.scenario import read_scenario
from test_validation import CLI, SUP, TOML, make

# --------------------------------------------------------------------------- helpers


def error_text(folder: Path) -> str:
    with pytest.raises(InputError) as info:
        read_scenario(folder)
    return str(info.value)


def table(data: bytes, required=("a", "b")):
    return parse_text_table(data, "t.csv", required=required)


def table_error(data: bytes, required=("a", "b")) -> str:
    with pytest.raises(InputError) as info:
        table(data, required)
    return str(info.value)


def write_bytes(tmp_path: Path, **files: bytes) -> Path:
    d = make(tmp_path)
    for name, data in files.items():
        (d / f"{name}.csv").write_bytes(data)
    return d


@pytest.fixture
def warnings_(caplog):
    caplog.set_level(logging.WARNING, logger="broker")
    return caplog


# --------------------------------------------------------------------------- encodings


def test_utf8_with_and_without_bom_read_the_same():
    a = table("a,b\nCafé,1\n".encode())
    b = table("\ufeffa,b\nCafé,1\n".encode())
    assert a.rows == b.rows == [["Café", "1"]] and a.header == b.header == ["a", "b"]


def test_windows_1252_is_read_with_a_warning(warnings_):
    t = table("a,b\nCafé £5,1\n".encode("cp1252"))
    assert t.rows == [["Café £5", "1"]] and t.encoding == "cp1252"
    assert "not UTF-8" in warnings_.text and "t.csv" in warnings_.text


def test_bytes_windows_1252_leaves_undefined_are_read_as_latin_1(warnings_):
    t = table(b"a,b\nx\x81y,1\n")
    assert t.rows == [["x\x81y", "1"]] and t.encoding == "latin-1"
    assert "Latin-1" in warnings_.text


def test_utf16_with_bom_and_tabs_as_excel_unicode_text_writes_it():
    t = table("a\tb\r\nNaïve\t2\r\n".encode("utf-16"))
    assert t.rows == [["Naïve", "2"]] and t.delimiter == "\t"


def test_broken_utf8_after_a_bom_names_the_line():
    message = table_error(b"\xef\xbb\xbfa,b\nx\xff,1\n")
    assert "line 2" in message and "\\xff" in message and "UTF-8" in message


# --------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_detected_silently(tmp_path, delimiter, warnings_):
    d = make(
        tmp_path,
        sup=SUP.replace(",", delimiter).replace("secondary;primary", '"secondary;primary"'),
        cli=CLI.replace(",", delimiter),
    )
    s = read_scenario(d)
    assert list(s.supporters["supporter_id"]) == ["S1", "S2"]
    assert s.supporters["phases"].iat[1] == ("secondary", "primary")
    assert list(s.clients["need_days"]) == [1.0, 1.5]
    assert warnings_.text == ""


def test_unknown_delimiter_gets_a_hint_naming_the_one_used():
    message = table_error(b"a|b\n1|2\n")
    assert "missing required column(s) a, b" in message
    assert "split at each comma" in message


def test_semicolon_header_read_as_comma_when_commas_win():
    # the header holds the required column only when split at commas
    t = table(b"a,b;c\n1,2;3\n", required=("a",))
    assert t.header == ["a", "b;c"] and t.delimiter == ","


# --------------------------------------------------------------------------- records and rows


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\r\n", "\n"])
def test_line_separators_inside_quoted_cells_stay_in_the_cell(tmp_path, separator):
    cli = CLI.replace("C1,primary", f'"C{separator}1",primary').replace(
        "C2,secondary", "C2,secundary"
    )
    d = make(tmp_path)
    (d / "clients.csv").write_bytes(cli.encode("utf-8"))
    message = error_text(d)
    # the bad phase is on the second data row, which a spreadsheet shows as row 3
    assert "clients.csv, row 3, column 'phase': value 'secundary'" in message


def test_unquoted_unicode_separators_are_ordinary_characters():
    t = table("a,b\nx\u2028y,1\u0085z\n".encode())
    assert t.rows == [["x\u2028y", "1\u0085z"]] and t.row_numbers == [2]


def test_row_numbers_count_blank_lines_and_multiline_cells():
    t = table(b'a,b\n\n"two\nlines",1\n\n\nlast,2\n')
    assert t.rows == [["two\nlines", "1"], ["last", "2"]]
    assert t.row_numbers == [3, 6]


def test_pinned_rows_keep_spreadsheet_numbers_after_a_blank_line(tmp_path):
    d = make(tmp_path, pinned="client_id,supporter_id\n\nC1,S1\n\nC2,S9\n")
    message = error_text(d)
    assert "pinned.csv, row 5, column 'supporter_id': value 'S9'" in message
    (d / "pinned.csv").write_text("client_id,supporter_id\n\nC1,S1\n")
    assert list(read_scenario(d).pinned["row"]) == [3]


def test_pinned_rule_errors_name_the_spreadsheet_row(tmp_path):
    from broker.candidates import build_candidates

    d = make(tmp_path, pinned="client_id,supporter_id\n\nC2,S1\n")  # S1 is primary only
    with pytest.raises(InputError) as info:
        build_candidates(read_scenario(d))
    assert "pinned.csv, row 3: pinned pair (client C2, supporter S1)" in str(info.value)


@pytest.mark.parametrize(
    "data,fragments",
    [
        (b"", ["empty file", "a, b"]),
        (b"  \r\n\n", ["empty file"]),
        (b"a,b\n1\n", ["row 2", "has 1 cells but the header has 2 columns"]),
        (b"a,b\n1,2,3\n", ["row 2", "extra cells hold '3'", "must be in quotes"]),
        (b'a,b\n"open,1\nx,y\n', ["row 2", "never closed"]),
        (b'a,b\n"ab"c,1\n', ["row 2", "badly quoted"]),
        (b"a,b,,\n1,2,x,\n", ["blank column name at position 3", "row 2 has a value"]),
        (b"a,a,b\n1,2,3\n", ["duplicate column name", "'a'"]),
        (b"a,c\n1,2\n", ["missing required column(s) b; found a, c"]),
        (b"a,b\n" + b'"' + b"x" * 200_000 + b'",1\n', ["row 2", "longer than"]),
    ],
)
def test_bad_tables_are_explained(data, fragments):
    message = table_error(data)
    for f in fragments:
        assert f in message, (f, message)


def test_header_only_and_trailing_empty_columns_are_fine():
    t = table(b"a,b,,\n1,2,,\n3,4\n".replace(b"3,4\n", b"3,4,,\n"))
    assert t.header == ["a", "b"] and t.rows == [["1", "2"], ["3", "4"]]
    assert table(b"a,b\n").rows == []
    # rows with extra blank cells (a spreadsheet's trailing separators) are fine
    assert table(b"a,b\n1,2,,\n").rows == [["1", "2"]]


def test_header_only_supporters_is_an_error_but_optional_files_may_be_empty(tmp_path):
    d = make(tmp_path, sup=SUP.split("\n")[0] + "\n", conflicts="supporter_id,client_id\n")
    assert "no supporters; expected at least one data row" in error_text(d)
    (tmp_path / "b").mkdir()
    d2 = make(tmp_path / "b", conflicts="supporter_id,client_id\n")
    assert len(read_scenario(d2).conflicts) == 0


def test_long_values_are_cut_in_messages(tmp_path):
    message = cell_error(tmp_path, "clients", "priority", "9" * 5000)
    assert "value '" + "9" * 120 + "'... (5,000 characters)" in message
    assert len(message) < 400


def test_folder_or_missing_file(tmp_path):
    with pytest.raises(InputError, match="found a folder"):
        read_text_table(tmp_path)
    with pytest.raises(InputError, match="file not found"):
        read_text_table(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- numbers


def cell_folder(tmp_path: Path, file: str, column: str, value: str) -> Path:
    """A scenario whose first data row of ``file`` has ``value`` in ``column``."""
    text = {"supporters": SUP, "clients": CLI}[file]
    lines = text.splitlines()
    header = lines[0].split(",")
    if column not in header:
        header.append(column)
        lines = [",".join(header)] + [ln + "," for ln in lines[1:]]
    cells = lines[1].split(",")
    cells[header.index(column)] = f'"{value}"'
    lines[1] = ",".join(cells)
    return make(tmp_path, **{"sup" if file == "supporters" else "cli": "\n".join(lines) + "\n"})


def cell_error(tmp_path: Path, file: str, column: str, value: str) -> str:
    return error_text(cell_folder(tmp_path, file, column, value))


COLUMN_BOUNDS = [
    ("supporters", "capacity_days", limits.CAPACITY_DAYS, "7.01"),
    ("supporters", "day_rate_gbp", limits.DAY_RATE_GBP, "5000.01"),
    ("supporters", "max_distance_km", limits.MAX_DISTANCE_KM, "1500.5"),
    ("clients", "need_days", limits.NEED_DAYS, "7.5"),
    ("clients", "priority", limits.PRIORITY, "1000001"),
    ("clients", "weeks", limits.WEEKS, "521"),
    ("clients", "budget_gbp", limits.BUDGET_GBP, "10000000000.01"),
]


@pytest.mark.parametrize(
    "file,column,bound,above", COLUMN_BOUNDS, ids=[c[1] for c in COLUMN_BOUNDS]
)
def test_each_column_refuses_values_above_its_bound(tmp_path, file, column, bound, above):
    message = cell_error(tmp_path, file, column, above)
    maximum = f"at most {int(bound.maximum):,}"
    assert f"{file}.csv, row 2, column '{column}': value '{above}'" in message
    assert maximum in message, message


@pytest.mark.parametrize(
    "file,column,bound,above", COLUMN_BOUNDS, ids=[c[1] for c in COLUMN_BOUNDS]
)
def test_each_column_accepts_its_maximum(tmp_path, file, column, bound, above):
    value = f"{bound.maximum:.0f}" if bound.maximum < 1e9 else "10,000,000,000"
    s = read_scenario(cell_folder(tmp_path, file, column, value))
    frame = s.supporters if file == "supporters" else s.clients
    assert frame[column].iat[0] == bound.maximum


HOSTILE_NUMBERS = [
    ("inf", "not a finite number"),
    ("-Infinity", "not a finite number"),
    ("nan", "not a finite number"),
    ("1e400", "not a finite number"),
    ("1_000", "not a number"),
    ("١٢", "not a number"),
    ("0x10", "not a number"),
    ("1e-300", "decimal places"),
    ("", "blank"),
]


@pytest.mark.parametrize(
    "value,fragment", HOSTILE_NUMBERS, ids=[v or "blank" for v, _ in HOSTILE_NUMBERS]
)
@pytest.mark.parametrize("column", ["capacity_days", "day_rate_gbp"])
def test_hostile_numbers_are_refused(tmp_path, column, value, fragment):
    message = cell_error(tmp_path, "supporters", column, value)
    assert f"column '{column}'" in message and fragment in message, message


@pytest.mark.parametrize("value", ["2,5", "2,500", "1,000,000"])
def test_a_comma_in_a_days_column_is_a_decimal_comma_and_refused(tmp_path, value):
    message = cell_error(tmp_path, "clients", "need_days", value)
    assert f"value '{value}'" in message and "decimal comma" in message
    assert "decimal point" in message


def test_thousands_separators_in_money_and_a_decimal_comma_hint(tmp_path):
    d = make(tmp_path, sup=SUP.replace("2,500\n", '2,"2,500"\n'))
    assert read_scenario(d).supporters["day_rate_gbp"].iat[0] == 2500
    (tmp_path / "y").mkdir()
    message = cell_error(tmp_path / "y", "supporters", "day_rate_gbp", "500,50")
    assert "decimal comma" in message


def test_semicolon_files_refuse_commas_in_numbers(tmp_path):
    sup = SUP.replace(",", ";").replace("secondary;primary", '"secondary;primary"')
    d = make(tmp_path, sup=sup.replace(";2;500\n", ";2;2,500\n"))
    message = error_text(d)
    assert "row 2, column 'day_rate_gbp': value '2,500'" in message
    assert "semicolon-separated" in message


# --------------------------------------------------------------------------- warnings


def test_implausible_days_warn_and_the_run_goes_on(tmp_path, warnings_):
    d = make(
        tmp_path,
        sup=SUP.replace("450000,300000,2,500", "450000,300000,6,500"),
        cli=CLI.replace("1.5,2\n", "5.5,2\n"),
    )
    s = read_scenario(d)
    assert s.supporters["capacity_days"].iat[0] == 6
    text = warnings_.text
    assert "supporters.csv, row 2, column 'capacity_days': value '6': more than 5 days" in text
    assert "clients.csv, row 3, column 'need_days': value '5.5'" in text


def test_many_warnings_are_summarised(tmp_path, warnings_):
    rows = "".join(f"C{i},primary,855,451000,300000,6,3\n" for i in range(9))
    d = make(tmp_path, cli=CLI.splitlines()[0] + "\n" + rows)
    read_scenario(d)
    assert warnings_.text.count("more than 5 days") == 5
    assert "... and 4 more rows like these" in warnings_.text


def test_cli_prints_warnings_on_stderr(tmp_path, capsys):
    from broker.cli import main

    d = make(tmp_path, sup=SUP.replace("450000,300000,2,500", "450000,300000,6.5,500"))
    assert main(["validate", str(d)]) == 0
    err = capsys.readouterr().err
    assert "broker: warning: " in err and "value '6.5'" in err


# --------------------------------------------------------------------------- scenario.toml


@pytest.mark.parametrize("line", ["", "format = 1\n"])
def test_format_1_or_absent_is_accepted(tmp_path, line):
    assert read_scenario(make(tmp_path, toml=line + TOML)).name == "v"


@pytest.mark.parametrize("value", ["9", "0", '"1"', "true", "1.0"])
def test_other_formats_are_refused_naming_the_supported_ones(tmp_path, value):
    message = error_text(make(tmp_path, toml=f"format = {value}\n" + TOML))
    assert "column 'format'" in message and "reads: 1" in message


@pytest.mark.parametrize(
    "section,key,value,fragment",
    [
        ("round", "weeks", "521", "at most 520"),
        ("round", "weeks", "0", "at least 1"),
        ("defaults", "max_distance_km", "inf", "not a finite number"),
        ("defaults", "max_distance_km", "1501", "at most 1,500"),
        ("budget", "programme_gbp", "inf", "not a finite number"),
        ("budget", "programme_gbp", "nan", "not a finite number"),
        ("budget", "programme_gbp", "1e400", "not a finite number"),
        ("budget", "programme_gbp", "1e15", "at most 10,000,000,000"),
        ("budget", "programme_gbp", "100.001", "more than 2 decimal places"),
        ("budget", "programme_gbp", "99999999999999999999999", "at most 10,000,000,000"),
        ("weights", "cost_per_1000_gbp", "1001", "at most 1,000"),
        ("weights", "distance_per_km", "-1", "0 or more"),
        ("weights", "cross_phase", "1e7", "at most 100,000"),
        ("weights", "other_la", "-inf", "not a finite number"),
    ],
)
def test_settings_out_of_bounds(tmp_path, section, key, value, fragment):
    toml = f'name = "v"\n[{section}]\n{key} = {value}\n'
    message = error_text(make(tmp_path, toml=toml))
    assert f"column '{section}.{key}'" in message and fragment in message, message
