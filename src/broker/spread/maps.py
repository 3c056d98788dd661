"""Maps of the spread scores: LA choropleths with supporters and isolated clients, and flows.

Drawn with matplotlib's Agg canvas directly (no pyplot state, no display needed)
on the bundled ONS boundaries (:func:`broker.data.load_la_boundaries`, EPSG:27700),
zoomed to the scenario's extent. Values are shown in labelled classes rather than
a continuous ramp so the legend reads as words. Every map carries the Open
Government Licence attribution in its footer.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from broker.scenario.model import Scenario

MAP_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(DfE Get Information About Schools, Ofsted, MHCLG, ONS). Boundaries: Office for "
    "National Statistics licensed under the OGL v3.0; contains OS data \u00a9 Crown copyright "
    "and database right 2024. Supporter capacities, needs and rates are scenario inputs."
)
NO_DATA = "#e6e6e6"


@dataclass(frozen=True)
class Scheme:
    """How a score is classed: class edges (left-closed), labels, colour map, legend title."""

    edges: tuple[float, ...]
    labels: tuple[str, ...]
    cmap: str
    title: str


_BALANCE = Scheme(
    (0.0, 1e-9, 0.5, 1.0, 2.0, 4.0, 8.0),
    ("0 (none)", "under 0.5", "0.5 to 1", "1 to 2", "2 to 4", "4 to 8", "8 or more"),
    "RdYlBu",
    "",
)
_SHARE = Scheme(
    (0.0, 0.5, 0.8, 0.95, 1.0 - 1e-9),
    ("under 50%", "50 to 80%", "80 to 95%", "95 to 99.9%", "100%"),
    "YlGnBu",
    "",
)
_CROSS = Scheme(
    (0.0, 1e-9, 0.25, 0.5, 0.75),
    ("none", "under 25%", "25 to 50%", "50 to 75%", "75% or more"),
    "PuRd",
    "",
)

SCHEMES: dict[str, Scheme] = {
    "balance_in_reach": Scheme(
        _BALANCE.edges, _BALANCE.labels, _BALANCE.cmap, "Supply in reach\n(days per day of need)"
    ),
    "balance_local": Scheme(
        _BALANCE.edges,
        _BALANCE.labels,
        _BALANCE.cmap,
        "Supply located in LA\n(days per day of need)",
    ),
    "share_need_in_reach": Scheme(
        _SHARE.edges, _SHARE.labels, _SHARE.cmap, "Need with a supporter\nin reach"
    ),
    "share_priority_need_in_reach": Scheme(
        _SHARE.edges,
        _SHARE.labels,
        _SHARE.cmap,
        "Priority-weighted need\nwith a supporter in reach",
    ),
    "share_need_matched": Scheme(
        _SHARE.edges, _SHARE.labels, _SHARE.cmap, "Need matched\nin the round"
    ),
    "share_matched_cross_la": Scheme(
        _CROSS.edges, _CROSS.labels, _CROSS.cmap, "Matched need served\nfrom another LA"
    ),
}
"""Scores that :func:`la_map` can draw."""

TITLES = {
    "balance_in_reach": "supply in reach per day of need",
    "balance_local": "supply located in each authority per day of need",
    "share_need_in_reach": "share of need with a supporter in reach",
    "share_priority_need_in_reach": "share of priority-weighted need in reach",
    "share_need_matched": "share of need matched",
    "share_matched_cross_la": "matched need served across LA boundaries",
}


def classify(values: np.ndarray, scheme: Scheme) -> np.ndarray:
    """Class index of every value (``-1`` for NaN)."""
    v = np.asarray(values, dtype=float)
    cls = np.digitize(np.nan_to_num(v, nan=0.0), scheme.edges[1:])
    return np.where(np.isnan(v), -1, cls)


def _colours(scheme: Scheme) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    cmap = colormaps[scheme.cmap]
    n = len(scheme.labels)
    return [cmap(0.08 + 0.84 * i / max(n - 1, 1)) for i in range(n)]


def _new_figure(size: tuple[float, float] = (8.5, 10.0)) -> tuple[Figure, Any]:
    fig = Figure(figsize=size, dpi=130)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.09, 0.96, 0.82))
    ax.set_axis_off()
    return fig, ax


def _extent(x: np.ndarray, y: np.ndarray, ax_aspect: float) -> tuple[float, float, float, float]:
    """Bounding box of the points with a margin, widened to the axes' aspect (w/h)."""
    x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    pad = max(0.03 * max(x1 - x0, y1 - y0), 3000.0)
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    w, h = x1 - x0, y1 - y0
    if w / h < ax_aspect:
        grow = (h * ax_aspect - w) / 2
        x0, x1 = x0 - grow, x1 + grow
    else:
        grow = (w / ax_aspect - h) / 2
        y0, y1 = y0 - grow, y1 + grow
    return x0, x1, y0, y1


def _footer(fig: Figure, note: str = "") -> None:
    text = "\n".join(textwrap.wrap(MAP_ATTRIBUTION, 150))
    if note:
        text = note + "\n" + text
    fig.text(0.02, 0.012, text, fontsize=6.2, color="#444444", va="bottom", ha="left")


def _points(scenario: Scenario, bounds: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Corners to keep in view: every school, and the boxes of the clients' LAs."""
    boxes = bounds[bounds["la_code"].isin(set(scenario.clients["la_code"]))].bounds
    x = np.concatenate(
        [
            scenario.clients["easting"].to_numpy(float),
            scenario.supporters["easting"].to_numpy(float),
            boxes["minx"].to_numpy(float),
            boxes["maxx"].to_numpy(float),
        ]
    )
    y = np.concatenate(
        [
            scenario.clients["northing"].to_numpy(float),
            scenario.supporters["northing"].to_numpy(float),
            boxes["miny"].to_numpy(float),
            boxes["maxy"].to_numpy(float),
        ]
    )
    return x, y


def la_map(
    la_table: pd.DataFrame,
    scenario: Scenario,
    path: str | Path,
    *,
    column: str = "balance_in_reach",
    in_reach: np.ndarray | None = None,
    title: str | None = None,
    subtitle: str = "",
) -> Path:
    """Choropleth of one LA score with supporters and isolated clients plotted.

    Parameters
    ----------
    la_table
        Per-LA scores (:func:`broker.spread.scores.la_scores`).
    scenario
        The scenario (points and extent).
    path
        PNG file to write.
    column
        A key of :data:`SCHEMES`.
    in_reach
        Boolean per client: in reach (grey dot) or isolated (red cross). Default:
        every client drawn as in reach.
    title, subtitle
        Title (default from the scenario name and the score) and a second line.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    from broker.data import load_la_boundaries

    if column not in SCHEMES:
        raise ValueError(f"no map scheme for {column!r}; expected one of {sorted(SCHEMES)}")
    scheme = SCHEMES[column]
    colours = _colours(scheme)
    fig, ax = _new_figure()
    bounds = load_la_boundaries()
    values = la_table.set_index("la_code")[column]
    has_clients = set(la_table.loc[la_table["clients"] > 0, "la_code"])
    bounds["value"] = bounds["la_code"].map(values)
    bounds["cls"] = classify(bounds["value"].to_numpy(float), scheme)
    bounds.loc[~bounds["la_code"].isin(has_clients), "cls"] = -1
    missing = bounds[bounds["cls"] < 0]
    if len(missing):
        missing.plot(ax=ax, color=NO_DATA, edgecolor="white", linewidth=0.4)
    for c in range(len(scheme.labels)):
        part = bounds[bounds["cls"] == c]
        if len(part):
            part.plot(ax=ax, color=colours[c], edgecolor="white", linewidth=0.6)
    x, y = _points(scenario, bounds)
    x0, x1, y0, y1 = _extent(x, y, 0.96 * 8.5 / (0.82 * 10.0))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    view = bounds.cx[x0:x1, y0:y1]
    if len(view) <= 30:
        import matplotlib.patheffects as pe

        mx, my = 0.1 * (x1 - x0), 0.03 * (y1 - y0)  # keep labels clear of the edges
        for row in view.itertuples():
            pt = row.geometry.representative_point()
            if x0 + mx < pt.x < x1 - mx and y0 + my < pt.y < y1 - my:
                ax.annotate(
                    row.la_name,
                    (pt.x, pt.y),
                    fontsize=7,
                    ha="center",
                    color="#222222",
                    path_effects=[pe.withStroke(linewidth=2.2, foreground="white")],
                )
    cx = scenario.clients["easting"].to_numpy(float)
    cy = scenario.clients["northing"].to_numpy(float)
    reach = np.ones(len(cx), bool) if in_reach is None else np.asarray(in_reach, bool)
    ax.scatter(cx[reach], cy[reach], s=5, c="#555555", linewidths=0, zorder=3)
    ax.scatter(
        scenario.supporters["easting"],
        scenario.supporters["northing"],
        s=14,
        marker="^",
        c="#1f3a93",
        edgecolors="white",
        linewidths=0.3,
        zorder=4,
    )
    ax.scatter(
        cx[~reach],
        cy[~reach],
        s=34,
        marker="X",
        c="#d7191c",
        edgecolors="black",
        linewidths=0.4,
        zorder=5,
    )
    handles: list[Any] = [
        Patch(facecolor=colours[c], edgecolor="#999999", label=label)
        for c, label in enumerate(scheme.labels)
    ]
    handles.append(Patch(facecolor=NO_DATA, edgecolor="#999999", label="no clients in scenario"))
    handles += [
        Line2D(
            [],
            [],
            marker="^",
            ls="",
            color="#1f3a93",
            markersize=6,
            label=f"supporter ({len(scenario.supporters):,})",
        ),
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            color="#555555",
            markersize=3,
            label=f"client in reach ({int(reach.sum()):,})",
        ),
        Line2D(
            [],
            [],
            marker="X",
            ls="",
            color="#d7191c",
            markeredgecolor="black",
            markersize=7,
            label=f"isolated client ({int((~reach).sum()):,})",
        ),
    ]
    ax.legend(
        handles=handles,
        title=scheme.title,
        loc="upper left",
        fontsize=7.5,
        title_fontsize=8,
        framealpha=0.92,
    )
    fig.suptitle(
        title or f"{scenario.name}: {TITLES[column]}", fontsize=13, y=0.975, parse_math=False
    )
    if subtitle:
        fig.text(0.5, 0.925, subtitle, ha="center", fontsize=8.5, color="#333333", parse_math=False)
    _footer(
        fig,
        "Local authorities (upper tier) shaded by the score; points are school "
        "locations (British National Grid).",
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def flow_map(
    flows: pd.DataFrame,
    scenario: Scenario,
    path: str | Path,
    *,
    title: str | None = None,
    subtitle: str = "",
) -> Path:
    """Deployments between authorities: arrows supporter LA -> client LA.

    Arrow width grows with the days per week deployed; own-LA deployments are
    circles sized the same way.

    Parameters
    ----------
    flows
        :func:`broker.spread.graphs.flow_table`.
    scenario
        The scenario (extent).
    path
        PNG file to write.
    """
    from broker.data import load_la_boundaries

    fig, ax = _new_figure()
    bounds = load_la_boundaries()
    involved = set(flows["from_la"]) | set(flows["to_la"]) | set(scenario.clients["la_code"])
    bounds["in"] = bounds["la_code"].isin(involved)
    bounds[~bounds["in"]].plot(ax=ax, color="#f2f2f2", edgecolor="white", linewidth=0.4)
    bounds[bounds["in"]].plot(ax=ax, color="#dde7f0", edgecolor="white", linewidth=0.6)
    pts = {r.la_code: r.geometry.representative_point() for r in bounds.itertuples()}
    x, y = _points(scenario, bounds)
    x0, x1, y0, y1 = _extent(x, y, 0.96 * 8.5 / (0.82 * 10.0))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    cross = flows["from_la"] != flows["to_la"]
    top_x = float(flows.loc[cross, "days"].max()) if cross.any() else 1.0
    top_own = float(flows.loc[~cross, "days"].max()) if (~cross).any() else 1.0

    def width(days: float) -> float:
        return 0.4 + 3.2 * np.sqrt(days / top_x)

    def size(days: float) -> float:
        return 10.0 + 260.0 * days / top_own

    for r in flows.sort_values("days", kind="stable").itertuples(index=False):
        a, b = pts.get(r.from_la), pts.get(r.to_la)
        if a is None or b is None:
            continue
        if r.from_la == r.to_la:
            ax.scatter(
                [a.x],
                [a.y],
                s=size(r.days),
                c="#2c7fb8",
                alpha=0.5,
                edgecolors="white",
                linewidths=0.5,
                zorder=3,
            )
        else:
            ax.annotate(
                "",
                xy=(b.x, b.y),
                xytext=(a.x, a.y),
                zorder=4,
                arrowprops={
                    "arrowstyle": "-|>",
                    "lw": width(r.days),
                    "color": "#d95f0e",
                    "alpha": 0.75,
                    "mutation_scale": 4 + 1.5 * width(r.days),
                    "shrinkA": 2,
                    "shrinkB": 2,
                    "connectionstyle": "arc3,rad=0.15",
                },
            )

    def nice(v: float) -> float:
        return float(f"{v:.2g}")

    def legend_days(days: pd.Series, top: float) -> list[float]:
        """Sizes for the legend: those drawn when there are one or two, else top and top/4."""
        if len(days) <= 2:
            return sorted({nice(float(d)) for d in days}, reverse=True)
        return sorted({nice(top), nice(top / 4)}, reverse=True)

    own = flows[~cross]
    if 0 < len(own) <= 5:  # few bubbles (one authority): write each one's days on it
        for r in own.itertuples(index=False):
            a = pts.get(r.from_la)
            if a is not None:
                ax.annotate(
                    f"{r.days:g} days/week",
                    (a.x, a.y),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="#08306b",
                    zorder=5,
                )

    handles: list[Any] = [
        Line2D([], [], color="#d95f0e", lw=width(d), label=f"{d:g} days/week to another LA")
        for d in legend_days(flows.loc[cross, "days"], top_x)
        if cross.any()
    ]
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            color="#2c7fb8",
            alpha=0.5,
            markersize=np.sqrt(size(d)),
            label=f"{d:g} days/week within the LA",
        )
        for d in legend_days(own["days"], top_own)
        if (~cross).any()
    ]
    handles.append(
        Patch(
            facecolor="#dde7f0", edgecolor="#999999", label="authority with clients or deployments"
        )
    )
    ax.legend(
        handles=handles,
        loc="upper left",
        fontsize=7.5,
        framealpha=0.92,
        title="Deployments",
        title_fontsize=8,
    )
    fig.suptitle(
        title or f"{scenario.name}: deployments between authorities",
        fontsize=13,
        y=0.975,
        parse_math=False,
    )
    if subtitle:
        fig.text(0.5, 0.925, subtitle, ha="center", fontsize=8.5, color="#333333", parse_math=False)
    _footer(
        fig,
        "Arrows run from the supporter's authority to the client's (the "
        "commissioning authority); width by days per week.",
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out
