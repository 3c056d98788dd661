"""The Python front door: read a scenario, solve a round, look at the results.

Everything here calls the same pipeline as ``broker run``
(:func:`broker.pipeline.run_round`, then the independent checker), so a result
from a notebook is the result the command line would write::

    import broker
    r = broker.solve(broker.read_scenario("scenarios/leicestershire"))
    r.assignments            # one row per client and supporter, with names
    r.supporters             # days committed against capacity
    r.summary["matched"]     # the figures of summary.json
    print(r.explain("C137640"))
    r.plot(ax=ax)            # the map on your own matplotlib axes
    r.write("results/leics")

``docs/api.md`` walks through it; the tests run its examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from broker.errors import InputError
from broker.pipeline import MatchingRound, run_round
from broker.scenario.model import Scenario

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes

__all__ = ["Explanation", "RoundResult", "read_scenario", "solve"]


def read_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario: a folder of CSV files, or one ``.xlsx`` workbook.

    Parameters
    ----------
    path
        A scenario folder (``scenario.toml``, ``supporters.csv``, ``clients.csv``
        and the optional tables), or a workbook with one sheet per table
        (``docs/scenario-format.md``).

    Raises
    ------
    broker.errors.InputError
        Naming file (or sheet), row, column, value and what was expected.
    """
    from broker.scenario import read_scenario as read_folder

    return read_folder(path)


@dataclass(frozen=True)
class Explanation:
    """Why one client has (or has not) the supporter it has, and what would change that.

    Attributes
    ----------
    client_id, name, status
        The client and its status (``matched``, ``pinned`` or ``unmatched``).
    supporter_id
        Its lead supporter, or ``""``.
    reason_code, reason
        For an unmatched client, the code and sentence of ``assignments.csv``.
    fixes
        Smallest single changes that would get it matched (``fixes.csv`` rows).
    alternates
        Next supporters that could take it if the chosen one declines
        (``alternates.csv`` rows).
    """

    client_id: str
    name: str
    status: str
    supporter_id: str
    reason_code: str
    reason: str
    fixes: pd.DataFrame
    alternates: pd.DataFrame

    def __str__(self) -> str:
        who = f"{self.client_id} ({self.name})" if self.name else self.client_id
        if self.status != "unmatched":
            lines = [f"{who}: {self.status} with {self.supporter_id}"]
            for _, a in self.alternates.iterrows():
                lines.append(f"  alternate {int(a['rank'])}: {a['alternate_text']}")
            return "\n".join(lines)
        lines = [f"{who}: unmatched ({self.reason_code}): {self.reason}"]
        for _, f in self.fixes.iterrows():
            lines.append(f"  fix ({f['fix_kind']}): {f['fix_text']}")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class RoundResult:
    """A solved, checked round and its readable tables.

    Attributes
    ----------
    round
        The pipeline's :class:`~broker.pipeline.MatchingRound` (scenario,
        candidates, solver result, outcomes, checker verdict).
    fixes
        Counterfactual fixes of the unmatched clients (empty when skipped).
    alternates
        Alternates of the matched clients (empty when skipped).
    """

    round: MatchingRound
    fixes: pd.DataFrame = field(default_factory=pd.DataFrame)
    alternates: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def scenario(self) -> Scenario:
        return self.round.scenario

    @cached_property
    def assignments(self) -> pd.DataFrame:
        """One row per client and supporter, with names (``assignments.csv``)."""
        from broker.outputs.tables import assignments_table

        return assignments_table(self.round, self.fixes)

    @cached_property
    def supporters(self) -> pd.DataFrame:
        """Per supporter: capacity, days committed, spare days, clients (``supporters.csv``)."""
        from broker.outputs.tables import supporters_table

        return supporters_table(self.round)

    @cached_property
    def authorities(self) -> pd.DataFrame:
        """Per authority: schools matched, priority, need, cost, budget left."""
        from broker.outputs.tables import authorities_table

        return authorities_table(self.round)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The figures of ``summary.json``."""
        from broker.report import summary

        return summary(self.round)

    def explain(self, client_id: str) -> Explanation:
        """Why ``client_id`` is matched or not, its fixes and its alternates.

        Raises
        ------
        KeyError
            If the scenario has no such client.
        """
        t = self.assignments
        rows = t[t["client_id"] == str(client_id)]
        if rows.empty:
            raise KeyError(f"no client {client_id!r} in scenario {self.scenario.name!r}")
        row = rows.iloc[0]

        def of(table: pd.DataFrame) -> pd.DataFrame:
            if table.empty or "client_id" not in table.columns:
                return table
            return table[table["client_id"] == str(client_id)].reset_index(drop=True)

        return Explanation(
            client_id=str(client_id),
            name=str(row["client_name"]),
            status=str(row["status"]),
            supporter_id=str(row["supporter_id"]),
            reason_code=str(row["reason_code"]),
            reason=str(row["reason"]),
            fixes=of(self.fixes),
            alternates=of(self.alternates),
        )

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """:attr:`assignments` with client points (EPSG:27700) and supporter links.

        ``geometry`` is the client's location; ``link`` is the line from the
        supporter to the client (empty for unmatched rows).
        """
        import geopandas as gpd
        from shapely import LineString, Point

        t = self.assignments
        cli = self.scenario.clients.set_index("client_id")
        sup = self.scenario.supporters.set_index("supporter_id")
        cx = cli["easting"].reindex(t["client_id"]).to_numpy(float)
        cy = cli["northing"].reindex(t["client_id"]).to_numpy(float)
        points = [Point(x, y) for x, y in zip(cx, cy, strict=True)]
        links = []
        for sid, x, y in zip(t["supporter_id"], cx, cy, strict=True):
            if sid:
                links.append(
                    LineString([(sup.at[sid, "easting"], sup.at[sid, "northing"]), (x, y)])
                )
            else:
                links.append(None)
        out = gpd.GeoDataFrame(t.copy(), geometry=points, crs="EPSG:27700")
        out["link"] = gpd.GeoSeries(links, index=out.index, crs="EPSG:27700")
        return out

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the round's map on ``ax`` (a new figure's axes if ``None``) and return it."""
        from broker.maps import draw_round

        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(9, 9))
        return draw_round(self.round, ax)

    def write(self, folder: str | Path, *, force: bool = False, draw_map: bool = True) -> dict:
        """Write every output ``broker run`` writes into ``folder`` and return their paths.

        ``folder`` must be new or empty, or with ``force`` hold only the outputs of
        an earlier run (see :func:`broker.report.write_outputs`).
        """
        from broker.report import write_outputs

        return write_outputs(
            self.round,
            folder,
            draw_map=draw_map,
            force=force,
            fixes=self.fixes if len(self.fixes.columns) else None,  # columns: searched
            alternates=self.alternates if len(self.alternates.columns) else None,
        )


def solve(
    scenario: Scenario | str | Path,
    *,
    solver: str = "cpsat",
    time_limit: float = 20.0,
    seed: int = 0,
    workers: int = 2,
    deterministic: bool = True,
    fixes: bool = True,
    fix_solves: int = 12,
    fix_total: int = 60,
    fix_time: float = 30.0,
    fix_budget: float = 60.0,
    alternates: int = 3,
) -> RoundResult:
    """Solve one matching round, as ``broker run`` does, and return its result.

    Parameters
    ----------
    scenario
        A validated :class:`~broker.scenario.Scenario`, or a path for
        :func:`read_scenario`.
    solver, time_limit, seed, workers, deterministic
        As the options of ``broker run`` (time limit in seconds).
    fixes, fix_solves, fix_total, fix_time, fix_budget
        Search counterfactual fixes for every unmatched client
        (:func:`broker.explain.fixes.find_fixes`) with up to ``fix_solves``
        re-solves each and ``fix_total`` in all, and wall-clock limits of
        ``fix_time`` seconds per client and ``fix_budget`` in all; as
        ``--no-fixes``, ``--fix-solves``, ``--fix-total``, ``--fix-time`` and
        ``--fix-budget``.
    alternates
        Alternates listed per matched client (0: none), as ``--alternates``.

    Raises
    ------
    broker.errors.InputError
        For a scenario that cannot be read, or pins no assignment can keep.
    """
    if not isinstance(scenario, Scenario):
        if isinstance(scenario, (str, Path)):
            scenario = read_scenario(scenario)
        else:
            raise InputError.one(
                "<scenario>",
                f"got a {type(scenario).__name__}; expected a broker.Scenario or a path",
            )
    rnd = run_round(
        scenario,
        solver=solver,
        time_limit_s=time_limit,
        seed=seed,
        workers=workers,
        deterministic=deterministic,
    )
    from broker.explain.alternates import find_alternates
    from broker.explain.fixes import FIXES_COLUMNS, FixOptions, find_fixes

    fix_table = pd.DataFrame(columns=FIXES_COLUMNS) if fixes else pd.DataFrame()
    if fixes and (rnd.outcomes["status"] == "unmatched").any():
        options = FixOptions(
            solver=solver,
            time_limit_s=time_limit,
            seed=seed,
            workers=workers,
            deterministic=deterministic,
            per_client_solves=fix_solves,
            total_solves=fix_total,
            per_client_s=fix_time,
            total_s=fix_budget,
        )
        fix_table = find_fixes(rnd, options)
    alt_table = find_alternates(rnd, alternates) if alternates else pd.DataFrame()
    return RoundResult(rnd, fix_table, alt_table)
