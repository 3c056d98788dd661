"""Modes of support as data: ``models/modes.toml``.

A *mode* is what a deployment is (executive headship, a National Support School's
staff, coaching, a Leading Together Achievement Partner, Local Excellence Network
support, a Leading Edge peer partnership). Each names the supporter kinds that may
give it, typical days per week and duration in terms, a cross-phase penalty
multiplier and who pays (its *funder*). The file also maps client categories to
acceptable modes and lists the expertise tags. See the file for its sources.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from broker.errors import InputError, ProblemCollector
from broker.limits import MAX_MODE_PENALTY, MAX_TAGS
from broker.rules.loader import find_models_dir

MODES_FILE = "modes.toml"
FUNDER_KINDS = ("authority", "programme", "school")


@dataclass(frozen=True)
class Mode:
    """One mode of support (see the module docstring)."""

    id: str
    name: str
    kinds: tuple[str, ...]
    days_per_week: tuple[float, float]
    duration_terms: tuple[int, int]
    cross_phase_penalty: float
    funder: str
    source: str

    @property
    def funder_kind(self) -> str:
        return self.funder.split(":", 1)[0]


@dataclass(frozen=True)
class Catalogue:
    """All modes, the category defaults and the expertise vocabulary."""

    modes: dict[str, Mode]
    categories: dict[str, tuple[str, ...]]
    expertise_tags: tuple[str, ...]
    path: str

    def kind_modes(self, kind: str) -> tuple[str, ...]:
        """Modes a supporter of ``kind`` offers by default (catalogue order)."""
        return tuple(m.id for m in self.modes.values() if kind in m.kinds)

    def client_modes(self, category: str) -> tuple[str, ...]:
        """Acceptable modes of a client of ``category``, in order of preference.

        A blank or unlisted category takes the ``default`` entry (every mode, least
        intensive first, when the file lists one; otherwise any mode: empty).
        """
        key = category.strip().lower()
        return self.categories.get(key, self.categories.get("default", ()))


def check_funder(text: str) -> str | None:
    """``None`` if ``text`` names a funder, else what is wrong."""
    kind, _, name = text.partition(":")
    if kind not in FUNDER_KINDS:
        return "expected authority, school or programme:<name>"
    if kind == "programme" and not name.strip():
        return "expected programme:<name>, e.g. programme:leading_together"
    if kind != "programme" and name:
        return f"'{kind}' takes no name"
    return None


def parse_catalogue(doc: dict, file: str) -> Catalogue:
    """Validate a parsed ``modes.toml``; every problem names its key."""
    errors = ProblemCollector()
    from broker.scenario.schema import KINDS

    modes: dict[str, Mode] = {}
    for n, m in enumerate(doc.get("mode", [])):
        where = f"mode[{n}]"
        try:
            lo, hi = (float(v) for v in m["days_per_week"])
            t_lo, t_hi = (int(v) for v in m["duration_terms"])
            mode = Mode(
                id=str(m["id"]),
                name=str(m.get("name", m["id"])),
                kinds=tuple(str(k) for k in m["kinds"]),
                days_per_week=(lo, hi),
                duration_terms=(t_lo, t_hi),
                cross_phase_penalty=float(m.get("cross_phase_penalty", 1.0)),
                funder=str(m["funder"]),
                source=str(m.get("source", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            errors.add(file, f"{where}: missing or malformed key ({exc})", column=where)
            continue
        bad = [k for k in mode.kinds if k not in KINDS]
        if bad:
            errors.add(file, f"{where}: unknown kinds {bad}; expected some of {', '.join(KINDS)}")
        if not (0 < lo <= hi <= 7) or not (1 <= t_lo <= t_hi):
            errors.add(file, f"{where}: days_per_week or duration_terms out of range")
        if not (0 <= mode.cross_phase_penalty <= MAX_MODE_PENALTY):
            errors.add(
                file,
                f"{where}: cross_phase_penalty {mode.cross_phase_penalty:g} out of range; "
                f"expected 0 to {MAX_MODE_PENALTY:g}",
            )
        problem = check_funder(mode.funder)
        if problem:
            errors.add(file, f"{where}: funder {mode.funder!r}: {problem}")
        if mode.id in modes:
            errors.add(file, f"{where}: duplicate mode id {mode.id!r}")
        modes[mode.id] = mode
    categories = {}
    for cat, ids in doc.get("categories", {}).items():
        unknown = [i for i in ids if i not in modes]
        if unknown:
            errors.add(file, f"categories.{cat}: unknown modes {unknown}")
        categories[str(cat).lower()] = tuple(str(i) for i in ids)
    tags = tuple(str(t) for t in doc.get("expertise", {}).get("tags", []))
    if len(tags) > MAX_TAGS:
        errors.add(file, f"expertise.tags: {len(tags)} tags, more than {MAX_TAGS}")
    errors.raise_if_any()
    return Catalogue(modes, categories, tags, file)


@lru_cache(maxsize=4)
def _load(path: str) -> Catalogue:
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError.one(
            path, "file not found; the modes catalogue is models/modes.toml"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError.one(path, f"not valid TOML: {exc}") from None
    return parse_catalogue(doc, path)


def load_modes(models_dir: str | os.PathLike[str] | None = None) -> Catalogue:
    """The modes catalogue from ``models/modes.toml`` (cached)."""
    return _load(str(find_models_dir(models_dir) / MODES_FILE))
