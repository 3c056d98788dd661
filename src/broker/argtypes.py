"""Argument types shared by every ``broker`` subcommand (argparse ``type=`` callables)."""

from __future__ import annotations

import argparse
import math


def positive_float(text: str) -> float:
    """A finite number greater than 0 (seconds, kilometres, days)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0 or not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def nonneg_int(text: str) -> int:
    """A whole number, 0 or more (seeds, counts)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return v


def seed_list(text: str) -> list[int]:
    """Comma-separated seeds, one or more, each 0 or more (``--seeds 0,1,2``)."""
    try:
        out = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers such as 0,1,2, got {text!r}"
        ) from None
    if not out or min(out) < 0:
        raise argparse.ArgumentTypeError(f"expected one or more seeds >= 0, got {text!r}")
    return out


def positive_int(text: str) -> int:
    """A whole number, 1 or more."""
    v = nonneg_int(text)
    if v == 0:
        raise argparse.ArgumentTypeError("expected 1 or more, got '0'")
    return v


DB_INT_MAX = 2**63 - 1
"""The largest integer the ledger's databases hold (SQLite and PostgreSQL ``BIGINT``)."""


def record_id(text: str) -> int:
    """A ledger id or count, 1 to 2^63 - 1 (larger ones cannot be sent to the database)."""
    v = positive_int(text)
    if v > DB_INT_MAX:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to 2^63 - 1, got {text!r}"
        )
    return v
