"""A solved matching round as the spread tools see it, and reading one from a run folder.

A round is reduced to its chosen candidate pairs of the scenario's
:class:`~broker.problem.ProblemData` (and, derived from them, the lead supporter
of each client, ``-1`` when unmatched), plus whether its level 1 (priority
matched) was proven optimal, which decides whether some resilience figures are
exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from broker.errors import InputError, Problem, ProblemCollector
from broker.problem import ROLE_NAMES, ProblemData
from broker.scenario.model import Scenario
from broker.scenario.read import read_table


@dataclass(frozen=True, eq=False)
class SolvedRound:
    """A solved round over a scenario's clients and supporters.

    Attributes
    ----------
    pairs
        The chosen candidate pairs (sorted indices into the problem's pairs).
    assignment
        Lead supporter index per client, ``-1`` if unmatched (int64, read-only).
    level1_optimal
        Whether the round's priority matched was proven optimal.
    solver
        Name of the solver that produced it (``""`` if unknown).
    source
        Where it came from (a run folder, or ``"result"``).
    """

    pairs: np.ndarray
    assignment: np.ndarray
    level1_optimal: bool
    solver: str = ""
    source: str = "result"

    def __post_init__(self) -> None:
        for name in ("pairs", "assignment"):
            a = np.asarray(getattr(self, name), dtype=np.int64).copy()
            a.flags.writeable = False
            object.__setattr__(self, name, a)

    @classmethod
    def from_pairs(
        cls,
        problem: ProblemData,
        pairs: np.ndarray,
        level1_optimal: bool,
        solver: str = "",
        source: str = "result",
    ) -> SolvedRound:
        """From a pair set of ``problem``."""
        ks = problem.as_pair_indices(pairs)
        return cls(ks, problem.pairs_to_assignment(ks), level1_optimal, solver, source)

    @classmethod
    def from_result(cls, result: Any) -> SolvedRound:
        """From a :class:`broker.solve.Result` (or a :class:`broker.pipeline.MatchingRound`)."""
        res = getattr(result, "result", result)
        return cls(
            np.asarray(res.pairs),
            np.asarray(res.assignment),
            bool(res.level1.optimal),
            str(res.solver),
        )

    def chosen_pairs(self, problem: ProblemData | None = None) -> np.ndarray:
        """Indices of the candidate pairs this round uses."""
        return self.pairs

    def priority_matched(self, problem: ProblemData) -> int:
        """Sum of priorities of matched clients."""
        return int(problem.pair_priority[self.pairs].sum())


def read_run_dir(run_dir: str | Path, scenario: Scenario, problem: ProblemData) -> SolvedRound:
    """Read the round written by ``broker run`` into ``run_dir``.

    Reads ``assignments.csv`` (columns ``client_id``, ``supporter_id``; blank
    supporter = unmatched) and ``summary.json`` (``solver``, ``level1_optimal``,
    ``priority_matched``), maps ids back to indices and checks the assignment
    against the scenario with the independent checker.

    Parameters
    ----------
    run_dir
        Folder written by ``broker run``.
    scenario, problem
        The scenario the round was solved on and its candidate problem.

    Raises
    ------
    broker.errors.InputError
        If a file is missing or unreadable, a column is missing, a row names an
        unknown or duplicated client, an unknown supporter or a pair the hard rules
        forbid, a scenario client has no row, the assignment breaks a hard rule, or
        ``summary.json`` disagrees with ``assignments.csv``. Messages name the
        file, row, column and value.
    """
    root = Path(run_dir)
    if not root.is_dir():
        raise InputError.one(
            str(root),
            "run folder not found; expected a folder written by "
            "'broker run' holding assignments.csv and summary.json",
        )
    apath, spath = root / "assignments.csv", root / "summary.json"
    errors = ProblemCollector()
    for path in (apath, spath):
        if not path.is_file():
            errors.add(str(path), "file not found; expected the file written by 'broker run'")
    errors.raise_if_any()
    table = read_table(apath, ("client_id", "supporter_id"))
    try:
        summary = json.loads(spath.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError.one(str(spath), f"not valid JSON: {exc}") from None
    if not isinstance(summary, dict):
        raise InputError.one(str(spath), "expected a JSON object as written by 'broker run'")

    cid_index = {c: i for i, c in enumerate(problem.client_ids)}
    sid_index = {s: j for j, s in enumerate(problem.supporter_ids)}
    chosen: list[int] = []
    seen: dict[tuple[str, str], int] = {}
    file = str(apath)
    clients = table["client_id"].tolist()
    supporters = table["supporter_id"].tolist()
    roles = (
        [r.strip().lower() for r in table["role"].tolist()]
        if "role" in table.columns
        else [""] * len(table)
    )
    for row, c, s, role_name in zip(table.index, clients, supporters, roles, strict=True):
        role_name = role_name or "lead"
        if role_name not in ROLE_NAMES:
            errors.add(
                file,
                f"unknown role; expected {' or '.join(ROLE_NAMES)} (blank for lead)",
                row=row,
                column="role",
                value=role_name,
            )
            continue
        if c not in cid_index:
            errors.add(
                file,
                "unknown client; expected a client_id of the scenario's clients.csv",
                row=row,
                column="client_id",
                value=c,
            )
            continue
        if (c, role_name) in seen:
            errors.add(
                file,
                "client listed more than once"
                + (" as second supporter" if role_name == "second" else "")
                + f" (first at row {seen[(c, role_name)]})",
                row=row,
                column="client_id",
                value=c,
            )
            continue
        seen[(c, role_name)] = row
        if s == "":
            continue
        if s not in sid_index:
            errors.add(
                file,
                "unknown supporter; expected a supporter_id of the scenario's "
                "supporters.csv or blank for unmatched",
                row=row,
                column="supporter_id",
                value=s,
            )
            continue
        i, j = cid_index[c], sid_index[s]
        pos = problem.pair_index(i, j, ROLE_NAMES.index(role_name))
        if pos < 0:
            errors.add(
                file,
                f"client {c} may not be matched to supporter {s}: the hard rules "
                "forbid this pair (run 'broker check' for the rule)",
                row=row,
                column="supporter_id",
                value=s,
            )
            continue
        chosen.append(pos)
    listed = {c for c, _ in seen}
    absent = [c for c in problem.client_ids if c not in listed]
    if absent:
        shown = ", ".join(absent[:10]) + (
            f" and {len(absent) - 10} more" if len(absent) > 10 else ""
        )
        errors.add(
            file,
            f"{len(absent)} client(s) of the scenario have no row: {shown}; "
            "was this round solved on another scenario?",
        )
    errors.raise_if_any()

    from broker.check import check_assignment

    ks = problem.as_pair_indices(np.asarray(chosen, dtype=np.int64))
    report = check_assignment(scenario, pair_table(problem, ks))
    if not report.ok:
        raise InputError(
            [
                Problem(file, "the assignment breaks a hard rule of the scenario: " + v)
                for v in report.violations
            ]
        )
    priority = int(problem.pair_priority[ks].sum())
    claimed = summary.get("priority_matched")
    if claimed is not None and claimed != priority:
        raise InputError.one(
            str(spath),
            f"priority_matched is {claimed!r}, but "
            f"assignments.csv matches priority {priority}; the two files do "
            "not belong to the same round of this scenario",
        )
    return SolvedRound.from_pairs(
        problem,
        ks,
        bool(summary.get("level1_optimal", False)),
        str(summary.get("solver", "")),
        source=str(root),
    )


def pair_table(problem: ProblemData, pairs: np.ndarray) -> pd.DataFrame:
    """``client_id``, ``supporter_id``, ``role`` rows for a pair set (unmatched clients
    get one row with a blank supporter), as the independent checker reads them."""
    ks = problem.as_pair_indices(pairs)
    matched = np.zeros(problem.n_clients, dtype=bool)
    matched[problem.pair_client[ks]] = True
    rows = [
        (
            problem.client_ids[problem.pair_client[k]],
            problem.supporter_ids[problem.pair_supporter[k]],
            ROLE_NAMES[problem.pair_role[k]],
        )
        for k in ks.tolist()
    ]
    rows += [(problem.client_ids[i], "", "") for i in np.flatnonzero(~matched)]
    return pd.DataFrame(rows, columns=["client_id", "supporter_id", "role"])
