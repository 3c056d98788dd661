"""Output folders: checked before any work, written whole or not at all.

``broker run``, ``broker scenario`` and ``broker spread --out`` write their files
into a temporary sibling folder (``.NAME.partial-XXXX``) and rename it into place
when every file is complete, so an output folder never mixes files of two runs
and a run that fails or is killed leaves the previous folder untouched (a killed
run may leave its ``.partial`` folder behind, which can be deleted).

* A new or empty ``--out`` is used as it is.
* A non-empty ``--out`` is refused unless ``--force`` is given; then it is
  replaced as a whole, and only if it holds nothing but files that command writes
  (so ``--force`` can never delete a folder of other files by mistake).
* :func:`check_output_folder` runs before reading or solving anything: it refuses
  an ``--out`` that is, is inside or contains an input folder, that is a file,
  whose parent is a file, or where the user may not create folders.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from broker.errors import InputError

OS_CLUTTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
"""Files an operating system drops into folders; never a reason to refuse ``--force``."""

RUN_OUTPUTS = (
    "assignments.csv",
    "summary.json",
    "map.png",
    "topup_scenario",
    "topup_*.csv",
    "supporters.csv",
    "authorities.csv",
    "fixes.csv",
    "alternates.csv",
    "report.xlsx",
    "report.html",
)
"""Files ``broker run`` writes (the ``topup_`` ones for a top-up round, see docs/ledger.md)."""


def _owned(name: str, patterns: Iterable[str]) -> bool:
    return name in OS_CLUTTER or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _where(out: Path, option: str) -> str:
    return f"{option} {out}"


def _first_existing(path: Path) -> Path:
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            return p
    return Path(path.anchor or ".")


def check_output_folder(
    out: str | Path,
    *,
    owned: Sequence[str],
    inputs: Sequence[str | Path] = (),
    force: bool = False,
    option: str = "--out",
) -> None:
    """Refuse an output folder that cannot or must not be written, before any work.

    Parameters
    ----------
    out
        The folder the command will write.
    owned
        Names (``fnmatch`` patterns) of the files the command writes: ``--force``
        replaces a folder only if it holds nothing else.
    inputs
        Folders or files the command reads; ``out`` must not be one of them, lie
        inside one, or contain one.
    force
        Whether a non-empty ``out`` may be replaced.
    option
        The option's name, for messages.

    Raises
    ------
    InputError
        Naming the folder, what is wrong and what to do.
    """
    out = Path(out)
    where = _where(out, option)
    target = out.resolve()
    for given in inputs:
        src = Path(given).resolve()
        if target == src or src in target.parents:
            raise InputError.one(
                where,
                f"must not be the input {given} or inside it; broker never writes into "
                "its inputs. Choose another folder",
            )
        if target in src.parents:
            raise InputError.one(
                where,
                f"contains the input {given}; replacing it would delete the input. "
                "Choose another folder",
            )
    if out.is_symlink():
        raise InputError.one(where, "is a symbolic link; expected a real folder")
    if out.exists():
        if not out.is_dir():
            raise InputError.one(where, "is a file; expected a folder (new, or empty)")
        _check_replaceable(out, where, owned, force, option)
    anchor = _first_existing(target.parent)  # where the folder is created and renamed
    if not anchor.is_dir():
        raise InputError.one(
            where, f"cannot be created: {anchor} is a file, not a folder; expected a folder path"
        )
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise InputError.one(
            where,
            f"cannot be written: no permission to create files in {anchor}; choose a folder "
            "you may write to",
        )


def make_folder(out: str | Path, option: str = "--out") -> None:
    """Create the folder ``out`` (and its parents) if missing, or name why it cannot be.

    For commands that write a few files into a folder directly (``broker diff``,
    ``broker bench run``) rather than through :func:`staged_folder`.

    Raises
    ------
    InputError
        Naming the folder and the operating system's reason.
    """
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError.one(
            str(out), f"cannot create the folder ({exc.strerror or exc})", column=option
        ) from None


def _check_replaceable(
    out: Path, where: str, owned: Sequence[str], force: bool, option: str
) -> None:
    try:
        entries = sorted(os.listdir(out))
    except OSError as exc:
        raise InputError.one(where, f"cannot be read ({exc.strerror or exc})") from None
    if not entries:
        return
    if not force:
        raise InputError.one(
            where,
            f"folder exists and is not empty; choose a new {option} or pass --force to "
            "replace it as a whole",
        )
    foreign = [e for e in entries if not _owned(e, owned)]
    if foreign:
        shown = ", ".join(repr(e) for e in foreign[:5])
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        raise InputError.one(
            where,
            f"--force replaces only a folder of files this command writes "
            f"({', '.join(owned)}); it also holds {shown}{more}. Choose a new {option} "
            "or move those files",
        )


@contextmanager
def staged_folder(
    out: str | Path, *, owned: Sequence[str], force: bool = False, option: str = "--out"
) -> Iterator[Path]:
    """Yield a temporary sibling of ``out`` to write into; rename it to ``out`` on success.

    On any exception (including ``KeyboardInterrupt``) the temporary folder is
    removed and ``out`` is left as it was. ``OSError`` (disk full, permissions)
    becomes :class:`InputError` naming ``out``.
    """
    out = Path(out)
    where = _where(out, option)
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = parent / f".{out.name}.partial-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
    except OSError as exc:
        raise InputError.one(where, f"cannot be created ({exc.strerror or exc})") from None
    try:
        yield tmp
        _commit(tmp, out, where, owned, force, option)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        file = f" ({exc.filename})" if exc.filename else ""
        raise InputError.one(where, f"cannot be written: {exc.strerror or exc}{file}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _commit(
    tmp: Path, out: Path, where: str, owned: Sequence[str], force: bool, option: str
) -> None:
    """Move the complete ``tmp`` to ``out``; an old ``out`` is replaced as a whole."""
    if not (out.exists() or out.is_symlink()):
        os.rename(tmp, out)
        return
    if out.is_symlink() or not out.is_dir():
        raise InputError.one(where, "appeared as a file or link while broker ran; not replaced")
    _check_replaceable(out, where, owned, force, option)
    if not any(out.iterdir()):
        out.rmdir()
        os.rename(tmp, out)
        return
    old = tmp.with_name(tmp.name.replace(".partial-", ".replaced-"))
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
