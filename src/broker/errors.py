"""Errors raised on bad input.

Every error about user input names *where* (file, row, column), *what* (the value
found) and *what was expected*, so that a programme manager can fix a spreadsheet
without reading a traceback. The CLI prints :class:`InputError` messages and exits
with status 2; nothing else is caught.

Values that are accepted but implausible (a capacity of six days a week) are
*warnings*: :func:`warn` logs them on the ``broker`` logger with the same file,
row, column and value, and the run continues.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

LOG = logging.getLogger("broker")
"""broker's logger; the CLI prints its warnings to standard error."""


@dataclass(frozen=True)
class Problem:
    """One defect found in the input.

    Parameters
    ----------
    file
        Path of the file (or ``"<arguments>"`` for command-line values).
    message
        What is wrong and what was expected.
    row
        1-based data row as a spreadsheet shows it (the header is row 1, so the
        first data row is row 2), or ``None`` when the problem is not about one row.
    column
        Column name, or ``None``.
    value
        The offending value exactly as read, or ``None``.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: object = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = ", ".join(where) + ": "
        if self.value is not None:
            text += f"value {_shown(self.value)}: "
        return text + self.message


SHOWN_CHARS = 120
"""Longest value quoted in full in a message; longer ones are cut, with their length."""


def _shown(value: object) -> str:
    """``repr(value)``, cut to :data:`SHOWN_CHARS` characters of the value if longer."""
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        return f"{value[:SHOWN_CHARS]!r}... ({len(value):,} characters)"
    return repr(value)


@dataclass
class InputError(Exception):
    """Raised when user input cannot be used; carries every :class:`Problem` found.

    Validation collects as many problems as it can before raising, so one run
    reports all of them rather than one at a time.
    """

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = self.problems[:50]
        lines = [str(p) for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"... and {len(self.problems) - len(shown)} more problems")
        return "\n".join(lines)

    @classmethod
    def one(cls, file: str, message: str, **where: object) -> InputError:
        """Build an error holding a single :class:`Problem`."""
        return cls([Problem(file, message, **where)])  # type: ignore[arg-type]


class ProblemCollector:
    """Accumulates :class:`Problem` records and raises them together."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, message: str, **where: object) -> None:
        self.problems.append(Problem(file, message, **where))  # type: ignore[arg-type]

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(list(self.problems))


def warn(file: str, message: str, **where: object) -> None:
    """Log a warning about input that is accepted but looks wrong (see :class:`Problem`)."""
    LOG.warning("%s", Problem(file, message, **where))  # type: ignore[arg-type]


def warn_rows(
    file: str, column: str, message: str, rows: list[tuple[int, object]], show: int = 5
) -> None:
    """:func:`warn` for each ``(row, value)``, the first ``show`` in full, then a count."""
    for row, value in rows[:show]:
        warn(file, message, row=row, column=column, value=value)
    if len(rows) > show:
        warn(file, f"... and {len(rows) - show} more rows like these", column=column)
