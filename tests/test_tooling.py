"""Lint, format and type checks run as part of the suite, so one command covers them.

ruff (lint and format) and mypy are configured in ``pyproject.toml``; these tests
fail with the tools' own output when the tree drifts.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["src", "tests", "benchmarks", "scripts"]


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; it is part of the test extra")
    return found


def _run(*cmd: str) -> None:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_lint() -> None:
    _run(_tool("ruff"), "check", *PATHS)


def test_ruff_format() -> None:
    _run(_tool("ruff"), "format", "--check", *PATHS)


def test_mypy() -> None:
    _run(_tool("mypy"))
