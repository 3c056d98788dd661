"""Text tables: the one way broker reads CSV files, and the one way it writes them.

Reading (:func:`read_text_table`) accepts what spreadsheets write:

* **encoding**: UTF-8 with or without a byte-order mark, UTF-16 with a byte-order
  mark (Excel's "Unicode text"); anything else is read as Windows-1252 (or
  Latin-1 for the five bytes Windows-1252 leaves undefined) with a warning, never
  a crash;
* **delimiter**: comma, semicolon or tab, detected from the header row (the one
  that yields the most expected columns, then the most columns; comma on a tie);
* **records**: parsed by :mod:`csv` over the whole text, so line breaks inside a
  quoted cell stay in the cell, and U+2028, U+2029 and U+0085 are ordinary
  characters (``str.splitlines`` would break rows at them);
* **row numbers** are the spreadsheet's: each record is one row, blank lines count,
  a quoted cell spanning several lines is still one row;
* every cell is stripped of surrounding whitespace and *restored* (below).

Writing (:func:`write_csv`, :func:`neutralise`) guards against formula injection
(OWASP "CSV injection"): a text cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return, possibly after apostrophes, gets one leading apostrophe,
so a spreadsheet shows it as text instead of running it. Plain numbers such as
``-3.5`` are left alone. :func:`restore` removes exactly that apostrophe again, and
every broker reader applies it, so writing and reading back gives the original
value.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from broker.errors import InputError, ProblemCollector, warn

DELIMITERS: tuple[str, ...] = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
}

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters a spreadsheet may treat as the start of a formula (OWASP)."""

PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
"""A number as a spreadsheet writes it without separators (ASCII digits, optional exponent)."""


# --------------------------------------------------------------------------- neutralising


def neutralise(value: str) -> str:
    """``value`` made safe to open in a spreadsheet (see the module docstring).

    >>> neutralise("=1+1"), neutralise("-3.5"), neutralise("'=x"), neutralise("plain")
    ("'=1+1", '-3.5', "''=x", 'plain')
    """
    if value.lstrip("'")[:1] in FORMULA_TRIGGERS and not _is_number(value):
        return "'" + value
    return value


def restore(value: str) -> str:
    """Undo :func:`neutralise`: drop one leading apostrophe before a formula character."""
    if value[:1] == "'" and value.lstrip("'")[:1] in FORMULA_TRIGGERS:
        return value[1:]
    return value


def _is_number(value: str) -> bool:
    return PLAIN_NUMBER.fullmatch(value) is not None


def neutralise_cells(values: Iterable[object]) -> list[object]:
    """:func:`neutralise` every ``str`` in ``values``; other values are kept as they are."""
    return [neutralise(v) if isinstance(v, str) else v for v in values]


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name neutralised."""
    out = frame.copy()
    for i in range(out.shape[1]):
        dtype = out.dtypes.iloc[i]
        if dtype is object or dtype == "object" or pd.api.types.is_string_dtype(dtype):
            out.isetitem(i, neutralise_cells(out.iloc[:, i]))
    out.columns = pd.Index(neutralise_cells(frame.columns), dtype=object)
    return out


def format_csv(rows: Iterable[Sequence[str]]) -> str:
    """Rows of text as CSV with ``\\n`` line ends.

    A cell is quoted when it holds a comma, a quote, ``\\n`` or ``\\r`` (the
    :mod:`csv` writer leaves a lone ``\\r`` unquoted when lines end in ``\\n``,
    which breaks the row when read back); a row of one empty cell is written
    ``""`` so that it is not a blank line.
    """
    lines = []
    for row in rows:
        cells = [_quote(c) for c in row]
        if cells == [""]:
            cells = ['""']
        lines.append(",".join(cells) + "\n")
    return "".join(lines)


def _quote(cell: str) -> str:
    if any(ch in cell for ch in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def check_replaceable(path: str | Path, columns: Iterable[object], where: str) -> None:
    """Refuse to write a table over a folder, or over a file that is not an earlier copy.

    A file is replaced only when its first line is the header :func:`write_csv`
    would write for ``columns`` (an earlier export of the same table), so that a
    mistyped name never overwrites a scenario file or any other file the user keeps.

    Parameters
    ----------
    path
        The file about to be written.
    columns
        The columns of the table to be written.
    where
        The option the path came from (``--csv``, ``--out``), for messages.

    Raises
    ------
    broker.errors.InputError
        Naming the path and why it is refused.
    """
    target = Path(path)
    if target.is_dir():
        raise InputError.one(
            str(path), "is a folder; expected the name of a file to write", column=where
        )
    if not target.exists():
        return
    header = format_csv([[str(c) for c in columns]]).encode("utf-8")
    try:
        with target.open("rb") as f:
            first = f.readline()
    except OSError as exc:
        raise InputError.one(
            str(path), f"cannot read the existing file ({exc.strerror or exc})", column=where
        ) from None
    if first != header:
        raise InputError.one(
            str(path),
            "file exists and is not an earlier export of this table (its header differs); "
            "broker replaces only its own exports. Choose another name or folder",
            column=where,
        )


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` (no index, ``\\n`` line ends, UTF-8) with every text cell neutralised.

    pandas formats the values (numbers as ``to_csv`` writes them, missing as
    blank); :func:`format_csv` then quotes them.
    """
    text = neutralise_frame(frame).to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_ALL)
    rows = csv.reader(io.StringIO(text, newline=""))
    Path(path).write_text(format_csv(rows), encoding="utf-8", newline="")


# --------------------------------------------------------------------------- decoding


def decode_error(
    data: bytes, file: str, exc: UnicodeDecodeError, expected: str, advice: str
) -> InputError:
    """An :class:`InputError` naming the line and the byte that could not be decoded."""
    line = data[: exc.start].count(b"\n") + 1
    bad = data[exc.start : exc.end]
    return InputError.one(
        file,
        f"byte {bad!r} at line {line} cannot be decoded; expected text encoded as "
        f"{expected}. {advice}",
        row=line,
    )


def decode_text(
    data: bytes,
    file: str,
    fallbacks: Sequence[str] = ("cp1252", "latin-1"),
    advice: str = "Save the sheet again as 'CSV UTF-8'.",
) -> tuple[str, str]:
    """Decode file bytes; return ``(text, encoding)``.

    UTF-8 (a byte-order mark is removed), UTF-16 when the bytes start with its
    byte-order mark, else each of ``fallbacks`` in turn. ``latin-1`` decodes any
    bytes, so with the default fallbacks this never fails.

    Raises
    ------
    InputError
        When a byte-order mark promises an encoding the bytes do not follow, or no
        fallback decodes them.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            exc.start += len(codecs.BOM_UTF8)
            exc.end += len(codecs.BOM_UTF8)
            raise decode_error(
                data, file, exc, "UTF-8 (the file starts with a UTF-8 byte-order mark)", advice
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise decode_error(
                data, file, exc, "UTF-16 (the file starts with a UTF-16 byte-order mark)", advice
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as first:
        error = first
    for encoding in fallbacks:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            error = exc
    expected = " or ".join(["UTF-8", *(ENCODING_NAMES.get(e, e) for e in fallbacks)])
    raise decode_error(data, file, error, expected, advice) from None


# --------------------------------------------------------------------------- records


def _first_record(text: str, delimiter: str) -> list[str]:
    """The first non-blank record of ``text`` split at ``delimiter`` (``[]`` if none)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in itertools.islice(reader, 1000):
            if any(cell.strip() for cell in record):
                return [cell.strip() for cell in record]
    except csv.Error:
        return []
    return []


def sniff_delimiter(text: str, expected: Iterable[str] = ()) -> str:
    """Comma, semicolon or tab: whichever splits the header row into the most
    ``expected`` column names, then into the most columns (comma on a tie)."""
    want = set(expected)

    def score(d: str) -> tuple[int, int, int]:
        header = [restore(h) for h in _first_record(text, d)]
        return (len(want.intersection(header)), len(header), -DELIMITERS.index(d))

    return max(DELIMITERS, key=score)


def parse_records(text: str, delimiter: str, file: str) -> list[tuple[int, list[str]]]:
    """Every record of ``text`` with its spreadsheet row number (blank records included).

    Raises
    ------
    InputError
        On broken quoting or a cell beyond the :mod:`csv` field size limit, naming
        the row.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    out: list[tuple[int, list[str]]] = []
    try:
        for row, record in enumerate(reader, start=1):
            out.append((row, record))
    except csv.Error as exc:
        detail = str(exc)
        if "field larger than field limit" in detail:
            reason = (
                f"a cell is longer than {csv.field_size_limit():,} characters; "
                "expected ordinary cells (is a quote left open?)"
            )
        elif "unexpected end of data" in detail:
            reason = (
                'a quoted cell that starts in this row is never closed; expected quotes (") '
                "in pairs around a cell"
            )
        else:
            reason = (
                f"badly quoted cell ({detail}); expected quotes only around a whole cell, "
                'with any quote inside it doubled ("")'
            )
        raise InputError.one(file, reason, row=len(out) + 1) from None
    return out


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class TextTable:
    """A CSV read as text.

    Attributes
    ----------
    file
        Path as given, for messages.
    header
        Column names (stripped, restored).
    rows
        Data rows, each with one stripped, restored cell per column; blank rows
        are left out.
    row_numbers
        Spreadsheet row number of each data row.
    header_row
        Spreadsheet row number of the header (1 unless blank lines precede it).
    encoding, delimiter
        As detected.
    """

    file: str
    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    header_row: int
    encoding: str
    delimiter: str

    def frame(self) -> pd.DataFrame:
        """All cells as ``str``; the index (named ``row``) is the spreadsheet row number."""
        frame = pd.DataFrame(
            self.rows,
            columns=pd.Index(self.header, dtype=object),
            index=pd.Index(self.row_numbers, name="row", dtype="int64"),
            dtype=object,
        )
        frame.attrs["delimiter"] = self.delimiter
        frame.attrs["encoding"] = self.encoding
        return frame


def read_text_table(path: str | Path, *, required: Sequence[str] = ()) -> TextTable:
    """Read a CSV file as text, with checks on its header and row lengths.

    Parameters
    ----------
    path
        The file.
    required
        Columns that must be present (also used to detect the delimiter).

    Raises
    ------
    InputError
        Naming the file, row and column: file missing or unreadable, empty, broken
        quoting, duplicate, blank or missing column names, rows with more or fewer
        cells than the header.
    """
    file = str(path)
    p = Path(path)
    if not p.is_file():
        found = " (expected a file, found a folder)" if p.is_dir() else ""
        raise InputError.one(file, "file not found" + found)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError.one(
            file, f"cannot read the file ({exc.strerror or exc}); expected a readable CSV file"
        ) from None
    return parse_text_table(data, file, required=required)


def parse_text_table(data: bytes, file: str, *, required: Sequence[str] = ()) -> TextTable:
    """:func:`read_text_table` on bytes already read (``file`` names them in messages)."""
    text, encoding = decode_text(data, file)
    if encoding in ("cp1252", "latin-1"):
        warn(
            file,
            f"not UTF-8 text; read as {ENCODING_NAMES[encoding]}. If accented names look "
            "wrong, save the sheet as 'CSV UTF-8'",
        )
    columns = f" with columns {', '.join(required)}" if required else ""
    if not text.strip():
        raise InputError.one(file, f"empty file; expected a header row{columns}")
    delimiter = sniff_delimiter(text, required)
    records = parse_records(text, delimiter, file)
    filled = [(r, cells) for r, cells in records if any(c.strip() for c in cells)]
    if not filled:
        raise InputError.one(file, f"no header row; expected a header row{columns}")
    header_row, raw_header = filled[0]
    header = [restore(h.strip()) for h in raw_header]
    data_rows = filled[1:]
    errors = ProblemCollector()

    # blank column names: dropped when the whole column is blank (a spreadsheet's
    # trailing separators), an error when a row has a value there
    keep = list(range(len(header)))
    for pos in [i for i, h in enumerate(header) if h == ""]:
        used = next((r for r, cells in data_rows if pos < len(cells) and cells[pos].strip()), None)
        if used is None:
            keep.remove(pos)
        else:
            errors.add(
                file,
                f"blank column name at position {pos + 1}, but row {used} has a value in that "
                "column; expected a name for every column that holds data",
                row=header_row,
            )
    names = [header[i] for i in keep]
    seen: set[str] = set()
    for h in names:
        if h in seen:
            errors.add(file, "duplicate column name", row=header_row, column=h)
        seen.add(h)
    missing = [c for c in required if c not in seen]
    if missing:
        errors.add(
            file,
            f"missing required column(s) {', '.join(missing)}; found {', '.join(names)}"
            + _delimiter_hint(text, raw_header, delimiter),
            row=header_row,
        )

    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    for r, cells in data_rows:
        if len(cells) < width:
            errors.add(file, f"has {len(cells)} cells but the header has {width} columns", row=r)
            continue
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            hint = " (a value that contains a comma must be in quotes)" if delimiter == "," else ""
            errors.add(
                file,
                f"has {len(cells)} cells but the header has {width} columns; the extra "
                f"cells hold {', '.join(repr(c.strip()) for c in extra[:3])}{hint}",
                row=r,
            )
            continue
        rows.append([restore(cells[i].strip()) for i in keep])
        numbers.append(r)
    errors.raise_if_any()
    return TextTable(file, names, rows, numbers, header_row, encoding, delimiter)


def _delimiter_hint(text: str, raw_header: list[str], delimiter: str) -> str:
    """Why the header may have been split wrongly, naming the delimiter used."""
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    if "\x00" in first_line:
        return (
            " (the header holds NUL characters: the file may be UTF-16 without a "
            "byte-order mark; save it as 'CSV UTF-8')"
        )
    others = [d for d in DELIMITERS if d != delimiter and d in first_line]
    if len(raw_header) <= 1 or others:
        used = DELIMITER_NAMES[delimiter]
        also = f"; the header also contains {DELIMITER_NAMES[others[0]]}s" if others else ""
        return (
            f" (the header was split at each {used}{also}; expected columns separated by "
            "commas, semicolons or tabs, one name per column)"
        )
    return ""
