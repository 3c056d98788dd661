"""Reading official CSV downloads: encodings, header lines, column maps, rejected values.

Internal helpers for :mod:`broker.data.official`. Every problem found in a row
is recorded with the file, the spreadsheet row (header = row 1 when the header
is the first line), the column, the value as read and the reason, together
with what the loader did about it (dropped the row, or set the value to
missing).
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from broker.csvtext import decode_error, decode_text
from broker.errors import InputError

ROW_DROPPED = "row dropped"
VALUE_MISSING = "value set to missing"
REJECTED_COLUMNS = ("file", "row", "column", "value", "reason", "action")

_HEADER_SCAN_RECORDS = 15


@dataclass(frozen=True)
class RawCsv:
    """A CSV read as text: every cell a stripped string, blank rows removed."""

    file: str
    frame: pd.DataFrame  # all columns str, "" for blank
    rownum: np.ndarray  # spreadsheet row number of each frame row
    encoding: str
    header_row: int


_ADVICE = "Save the file again as CSV (UTF-8) or pass encoding=..."


def decode(data: bytes, file: str, fallback: str) -> tuple[str, str]:
    """Decode file bytes: UTF-8 (with or without BOM), else ``fallback`` (e.g. cp1252).

    The decoding of :func:`broker.csvtext.decode_text`, with one fallback.

    Returns
    -------
    (text, encoding)
    """
    return decode_text(data, file, fallbacks=(fallback,), advice=_ADVICE)


def read_csv_text(
    path: str | os.PathLike[str],
    *,
    key_column: str,
    fallback_encoding: str,
    encoding: str | None = None,
) -> RawCsv:
    """Read a CSV as all-text, finding the header line and numbering rows.

    Parameters
    ----------
    path
        File to read.
    key_column
        A column the header line must contain; up to 15 leading title lines
        before the header are skipped (some official CSVs start with a title).
    fallback_encoding
        Encoding tried when the bytes are not valid UTF-8.
    encoding
        Force this encoding instead of detecting one.
    """
    file = os.fspath(path)
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise InputError.one(file, f"cannot read the file: {exc.strerror or exc}") from None
    if encoding is None:
        text, used = decode(data, file, fallback_encoding)
    else:
        try:
            text, used = data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise decode_error(data, file, exc, encoding, _ADVICE) from None
        text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InputError.one(file, "the file is empty; expected a header row and data rows")

    header_idx = 0
    reader = csv.reader(io.StringIO(text))
    key = key_column.casefold()
    for i, record in enumerate(reader):
        if i >= _HEADER_SCAN_RECORDS:
            break
        if any(cell.strip().lstrip("\ufeff").casefold() == key for cell in record):
            header_idx = i
            break

    try:
        frame = pd.read_csv(
            io.StringIO(text),
            skiprows=header_idx,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
        )
    except pd.errors.ParserError as exc:
        detail = " ".join(str(exc).split())
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail)
        if found:
            want, line, got = (int(g) for g in found.groups())
            raise InputError.one(
                file,
                f"the row has {got} fields but the header has {want}; expected one value per "
                "header column (check for an unquoted comma)",
                row=line,
            ) from None
        raise InputError.one(
            file, f"the file is not a well-formed CSV ({detail}); expected one header row"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError.one(file, "the file has no header row") from None

    frame.columns = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
    frame = frame.apply(lambda s: s.str.strip())
    header_row = header_idx + 1
    rownum = np.arange(len(frame)) + header_row + 1
    blank = (frame == "").all(axis=1).to_numpy()
    frame = frame.loc[~blank].reset_index(drop=True)
    return RawCsv(file, frame, rownum[~blank], used, header_row)


def resolve_columns(
    raw: RawCsv,
    spec: Mapping[str, Sequence[str]],
    required: Iterable[str],
    layout: str,
) -> dict[str, str | None]:
    """Map each target name in ``spec`` to the first alias present in the file.

    Raises
    ------
    InputError
        Listing every missing required column (with accepted aliases and close
        matches) and the columns that were found.
    """
    present = list(raw.frame.columns)
    by_fold = {c.casefold(): c for c in present}
    found: dict[str, str | None] = {}
    for target, aliases in spec.items():
        found[target] = next(
            (by_fold[a.casefold()] for a in aliases if a.casefold() in by_fold), None
        )
    missing = [t for t in required if found.get(t) is None]
    if missing:
        parts = []
        for t in missing:
            aliases = list(spec[t])
            text = repr(aliases[0])
            if len(aliases) > 1:
                text += " (or " + " or ".join(repr(a) for a in aliases[1:]) + ")"
            close = difflib.get_close_matches(aliases[0], present, n=1, cutoff=0.9)
            if close:
                text += f" [did you mean {close[0]!r}?]"
            parts.append(text)
        shown = ", ".join(repr(c) for c in present[:200])
        if len(present) > 200:
            shown += f", ... ({len(present) - 200} more)"
        raise InputError.one(
            raw.file,
            f"missing required column(s) {', '.join(parts)} for the {layout} layout; "
            f"columns found on header row {raw.header_row} ({len(present)}): {shown}",
            row=raw.header_row,
        )
    return found


@dataclass
class Rejects:
    """Collects rejected values of one file."""

    file: str
    records: list[dict[str, object]] = field(default_factory=list)

    def add(
        self,
        rows: Iterable[int],
        column: str | None,
        values: Iterable[object],
        reasons: str | Iterable[str],
        action: str,
    ) -> None:
        rows = list(rows)
        values = list(values)
        if isinstance(reasons, str):
            reasons = [reasons] * len(rows)
        for row, value, reason in zip(rows, values, reasons, strict=True):
            self.records.append(
                {
                    "file": self.file,
                    "row": int(row),
                    "column": column,
                    "value": value,
                    "reason": reason,
                    "action": action,
                }
            )

    def frame(self) -> pd.DataFrame:
        if not self.records:
            return pd.DataFrame(
                {
                    "file": pd.Series(dtype="str"),
                    "row": pd.Series(dtype="int64"),
                    "column": pd.Series(dtype="str"),
                    "value": pd.Series(dtype="str"),
                    "reason": pd.Series(dtype="str"),
                    "action": pd.Series(dtype="str"),
                }
            )
        out = pd.DataFrame.from_records(self.records, columns=list(REJECTED_COLUMNS))
        out = out.sort_values(["row", "action", "column"], kind="stable", na_position="first")
        out = out.reset_index(drop=True)
        out["row"] = out["row"].astype("int64")
        for col in ("file", "column", "value", "reason", "action"):
            out[col] = out[col].astype("str")
        return out


class Work:
    """A raw CSV being turned into a table, with its rejects.

    Row-level checks (:meth:`drop`) come first and remove rows; value-level
    parsers (:meth:`integer`, :meth:`number`, :meth:`date`...) then return typed
    columns for the rows still present and record the values they could not use.
    """

    def __init__(self, raw: RawCsv, columns: Mapping[str, str | None]) -> None:
        self.file = raw.file
        self.frame = raw.frame
        self.rownum = pd.Series(raw.rownum, index=raw.frame.index)
        self.columns = columns
        self.rejects = Rejects(raw.file)

    # -- access
    def has(self, target: str) -> bool:
        return self.columns.get(target) is not None

    def text(self, target: str) -> pd.Series:
        """Stripped text of a column ("" when the column is absent)."""
        col = self.columns.get(target)
        if col is None:
            return pd.Series("", index=self.frame.index, dtype="str")
        return self.frame[col]

    def source(self, target: str) -> str:
        return self.columns.get(target) or target

    # -- row-level
    def drop(self, mask: pd.Series, target: str | None, reasons: str | pd.Series) -> None:
        """Drop rows where ``mask`` is true, recording ``reasons``."""
        mask = mask.reindex(self.frame.index, fill_value=False).astype(bool)
        if not mask.any():
            return
        column = self.source(target) if target else None
        values = self.text(target)[mask] if target else pd.Series("", index=mask[mask].index)
        why = reasons[mask] if isinstance(reasons, pd.Series) else reasons
        self.rejects.add(self.rownum[mask], column, values, why, ROW_DROPPED)
        self.frame = self.frame.loc[~mask]
        self.rownum = self.rownum.loc[~mask]

    def keep(self, mask: pd.Series) -> int:
        """Keep only rows where ``mask`` is true, without recording (a filter); return count."""
        mask = mask.reindex(self.frame.index, fill_value=False).astype(bool)
        removed = int((~mask).sum())
        self.frame = self.frame.loc[mask]
        self.rownum = self.rownum.loc[mask]
        return removed

    def blanked(self, mask: pd.Series, target: str, reason: str | pd.Series) -> None:
        mask = mask.reindex(self.frame.index, fill_value=False).astype(bool)
        if mask.any():
            why = reason[mask] if isinstance(reason, pd.Series) else reason
            self.rejects.add(
                self.rownum[mask], self.source(target), self.text(target)[mask], why, VALUE_MISSING
            )

    # -- parsers
    def integer(
        self,
        target: str,
        *,
        lo: int | None = None,
        hi: int | None = None,
        missing_tokens: Iterable[str] = (),
        expected: str = "a whole number",
    ) -> pd.Series:
        """Parse a whole-number column to ``Int64``; bad values become NA and are recorded."""
        text = self.text(target)
        tokens = {t.casefold() for t in missing_tokens} | {""}
        blank = text.str.casefold().isin(tokens)
        cleaned = text.str.replace(",", "", regex=False)
        ok = cleaned.str.fullmatch(r"[+-]?\d+(\.0+)?")
        values = pd.to_numeric(cleaned.where(ok & ~blank), errors="coerce")
        bad = ~blank & ~ok
        if lo is not None:
            bad |= values.lt(lo).fillna(False)
        if hi is not None:
            bad |= values.gt(hi).fillna(False)
        self.blanked(bad, target, f"expected {expected}")
        return values.where(~bad).astype("Int64")

    def number(
        self,
        target: str,
        *,
        lo: float | None = None,
        hi: float | None = None,
        missing_tokens: Iterable[str] = (),
        expected: str = "a number",
    ) -> pd.Series:
        """Parse a numeric column to ``float64``; bad values become NaN and are recorded."""
        text = self.text(target)
        tokens = {t.casefold() for t in missing_tokens} | {""}
        blank = text.str.casefold().isin(tokens)
        values = pd.to_numeric(text.where(~blank), errors="coerce")
        bad = ~blank & values.isna()
        if lo is not None:
            bad |= values.lt(lo).fillna(False)
        if hi is not None:
            bad |= values.gt(hi).fillna(False)
        self.blanked(bad, target, f"expected {expected}")
        return values.where(~bad).astype("float64")

    def date(
        self, target: str, *, missing_tokens: Iterable[str] = (), expected: str | None = None
    ) -> pd.Series:
        """Parse dates written dd-mm-yyyy, dd/mm/yyyy or yyyy-mm-dd to ``datetime64[ns]``."""
        text = self.text(target)
        tokens = {t.casefold() for t in missing_tokens} | {""}
        blank = text.str.casefold().isin(tokens)
        head = text.str.replace(r"[T ].*$", "", regex=True)
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
        for fmt, pattern in _DATE_FORMATS:
            pick = out.isna() & ~blank & head.str.fullmatch(pattern)
            if pick.any():
                parsed = pd.to_datetime(head[pick], format=fmt, errors="coerce")
                out.loc[pick] = parsed.astype("datetime64[ns]")
        bad = ~blank & out.isna()
        self.blanked(
            bad, target, f"expected {expected or 'a date written dd/mm/yyyy or yyyy-mm-dd'}"
        )
        return out


_DATE_FORMATS = (
    ("%d/%m/%Y", r"\d{1,2}/\d{1,2}/\d{4}"),
    ("%d-%m-%Y", r"\d{1,2}-\d{1,2}-\d{4}"),
    ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
)


def is_whole_number(series: pd.Series) -> pd.Series:
    """True where the text is a non-negative whole number."""
    return series.str.fullmatch(r"\d+").fillna(False).astype(bool)
