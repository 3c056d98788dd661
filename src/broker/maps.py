"""A plain map of a round: authority boundaries, supporters, clients and matches.

Drawn with matplotlib (Agg backend, no screen needed) over the bundled ONS
upper-tier boundaries in EPSG:27700. Supporters are triangles coloured by kind
(filled when full, hollow when they have spare days), clients circles (filled
when matched, hollow red when unmatched, labelled with their reason code when
there are at most :data:`MAX_LABELS`), each match is a line from supporter to
client, and a scale bar gives the distance. :func:`draw_round` draws on any
matplotlib axes (the Python API's ``plot(ax=...)`` and ``report.html`` use it);
:func:`round_map` writes ``map.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from broker.pipeline import MatchingRound

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MARGIN_M = 8_000.0


def round_map(rnd: MatchingRound, path: str | Path, *, dpi: int = 130) -> Path:
    """Draw the round's map to ``path`` (PNG) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import textwrap

    import matplotlib.pyplot as plt

    from broker.data import ATTRIBUTION

    x0, x1, y0, y1 = map_extent(rnd)
    fig_w = 9.0
    fig_h = float(np.clip(fig_w * (y1 - y0) / max(x1 - x0, 1.0), 5.0, 12.0))
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    draw_round(rnd, ax)
    notice = (
        "Map: British National Grid (EPSG:27700); solid lines are local authorities, "
        "dashed lines districts. " + " ".join(ATTRIBUTION.split())
    )
    fig.text(
        0.01,
        0.004,
        "\n".join(textwrap.wrap(notice, 190)),
        fontsize=5.2,
        color="#555555",
        va="bottom",
    )
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    out = Path(path)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def map_extent(rnd: MatchingRound) -> tuple[float, float, float, float]:
    """``(x0, x1, y0, y1)`` in EPSG:27700 metres: every school plus a margin."""
    s = rnd.scenario
    xs = np.concatenate([s.supporters["easting"].to_numpy(float), s.clients["easting"]])
    ys = np.concatenate([s.supporters["northing"].to_numpy(float), s.clients["northing"]])
    return (
        float(xs.min() - MARGIN_M),
        float(xs.max() + MARGIN_M),
        float(ys.min() - MARGIN_M),
        float(ys.max() + MARGIN_M),
    )


def draw_round(
    rnd: MatchingRound, ax: Axes, *, point_labels: dict[str, list[str]] | None = None
) -> Axes:
    """Draw the round on the matplotlib axes ``ax`` and return it.

    Authority (and, for small areas, district) boundaries, supporters by kind,
    matched and unmatched clients, and a line for each match, in British National
    Grid metres with equal aspect.

    Parameters
    ----------
    point_labels
        If given, filled with one text per drawn point, by the ``gid`` of its
        scatter (``sup-K-full``, ``sup-K-spare``, ``cli-matched``,
        ``cli-unmatched``), in drawing order: ``report.html`` shows them on hover.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    from broker.data import load_la_boundaries, load_lad_boundaries

    s = rnd.scenario
    sup, cli = s.supporters, s.clients
    sx, sy = sup["easting"].to_numpy(float), sup["northing"].to_numpy(float)
    cx, cy = cli["easting"].to_numpy(float), cli["northing"].to_numpy(float)
    x0, x1, y0, y1 = map_extent(rnd)

    boundaries = load_la_boundaries().cx[x0:x1, y0:y1]
    boundaries.plot(ax=ax, facecolor="#f4f4f0", edgecolor="#8a8a8a", linewidth=0.8)
    districts = load_lad_boundaries().cx[x0:x1, y0:y1]
    if len(districts) <= 40:
        districts.plot(ax=ax, facecolor="none", edgecolor="#c4c4c4", linewidth=0.4, linestyle="--")
    if len(boundaries) <= 25:
        for _, row in boundaries.iterrows():
            pt = row.geometry.representative_point()
            if x0 <= pt.x <= x1 and y0 <= pt.y <= y1:
                ax.annotate(row["la_name"], (pt.x, pt.y), fontsize=7, color="#666666", ha="center")

    t = rnd.outcomes
    a = np.asarray(rnd.result.assignment)
    matched = a >= 0
    segments = np.stack(
        [
            np.column_stack([sx[a[matched]], sy[a[matched]]]),
            np.column_stack([cx[matched], cy[matched]]),
        ],
        axis=1,
    )
    ax.add_collection(
        LineCollection(list(segments), colors="#2b7bba", linewidths=0.8, alpha=0.7, zorder=2)
    )
    kinds = sorted(set(sup["kind"]))
    colors = plt.get_cmap("tab10").colors  # type: ignore[attr-defined]
    palette = dict(zip(kinds, colors, strict=False))
    from broker.outputs.tables import supporters_table

    table = supporters_table(rnd)
    full = (table["spare_days"].to_numpy(float) <= 0).astype(bool)
    labels = point_labels if point_labels is not None else {}
    sup_text = _supporter_texts(table)
    for n, kind in enumerate(kinds):
        m = (sup["kind"] == kind).to_numpy()
        ax.scatter(  # full supporters filled, those with spare days hollow
            sx[m & full],
            sy[m & full],
            marker="^",
            s=46,
            color=palette[kind],
            edgecolor="black",
            linewidth=0.4,
            zorder=4,
            gid=f"sup-{n}-full",
        )
        labels[f"sup-{n}-full"] = [sup_text[j] for j in np.flatnonzero(m & full)]
        ax.scatter(
            sx[m & ~full],
            sy[m & ~full],
            marker="^",
            s=46,
            facecolor="white",
            edgecolor=palette[kind],
            linewidth=1.3,
            zorder=4,
            gid=f"sup-{n}-spare",
        )
        labels[f"sup-{n}-spare"] = [sup_text[j] for j in np.flatnonzero(m & ~full)]
    ax.scatter(
        cx[matched],
        cy[matched],
        s=22,
        color="#2b7bba",
        edgecolor="white",
        linewidth=0.4,
        zorder=3,
        gid="cli-matched",
    )
    ax.scatter(
        cx[~matched],
        cy[~matched],
        s=30,
        facecolor="none",
        edgecolor="#d7301f",
        linewidth=1.2,
        zorder=3,
        gid="cli-unmatched",
    )
    cli_text = _client_texts(rnd)
    labels["cli-matched"] = [cli_text[i] for i in np.flatnonzero(matched)]
    labels["cli-unmatched"] = [cli_text[i] for i in np.flatnonzero(~matched)]

    _label_unmatched(ax, rnd, cx, cy, ~matched)
    scale_bar(ax, x0, x1, y0, y1)
    handles = [
        Line2D(
            [],
            [],
            marker="^",
            linestyle="",
            color=palette[k],
            markeredgecolor="black",
            label=f"supporter: {k.replace('_', ' ')}",
        )
        for k in kinds
    ]
    handles += [
        Line2D(
            [],
            [],
            marker="^",
            linestyle="",
            color="#777777",
            markeredgecolor="black",
            label=f"filled: full ({int(full.sum())})",
        ),
        Line2D(
            [],
            [],
            marker="^",
            linestyle="",
            markerfacecolor="white",
            color="#777777",
            label=f"hollow: spare days ({int((~full).sum())})",
        ),
    ]
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color="#2b7bba",
            label=f"client matched ({int(matched.sum())})",
        ),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="none",
            color="#d7301f",
            label=f"client unmatched ({int((~matched).sum())})",
        ),
        Line2D([], [], color="#2b7bba", label="match"),
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
    r = rnd.result
    ax.set_title(
        f"{s.name}: {int(matched.sum())} of {len(t)} schools matched, priority "
        f"{r.level1.value} of {int(cli['priority'].sum())} (bound {r.level1.bound})",
        fontsize=10,
        parse_math=False,  # a '$' in the scenario's name is text, not mathematics
    )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    return ax


MAX_LABELS = 40
"""Unmatched clients are labelled with their reason code when there are at most this many."""


def _label_unmatched(  # type: ignore[no-untyped-def]
    ax: Axes, rnd: MatchingRound, cx, cy, unmatched
) -> None:
    """Write each unmatched client's reason code beside it (when there are few)."""
    idx = np.flatnonzero(unmatched)
    if not len(idx) or len(idx) > MAX_LABELS:
        return
    t = rnd.outcomes
    codes = dict(zip(t["client_id"], t["reason_code"], strict=True))
    ids = rnd.scenario.clients["client_id"].to_numpy()
    for i in idx.tolist():
        ax.annotate(
            codes.get(ids[i], ""),
            (cx[i], cy[i]),
            xytext=(4, -3),
            textcoords="offset points",
            fontsize=6,
            color="#a3200f",
            zorder=5,
            annotation_clip=True,
        )


def scale_bar(ax: Axes, x0: float, x1: float, y0: float, y1: float) -> None:
    """A scale bar in the lower right corner: a round number of km near a fifth of the width."""
    target_km = (x1 - x0) / 5000.0
    exponent = np.floor(np.log10(max(target_km, 1e-3)))
    length_km = min(
        (m * 10**exponent for m in (1, 2, 5, 10)),
        key=lambda v: abs(v - target_km),
    )
    length_m = float(length_km) * 1000.0
    right = x1 - 0.04 * (x1 - x0)
    base = y0 + 0.04 * (y1 - y0)
    tick = 0.008 * (y1 - y0)
    ax.plot(
        [right - length_m, right - length_m, right, right],
        [base + tick, base, base, base + tick],
        color="black",
        linewidth=1.2,
        zorder=6,
    )
    ax.annotate(
        f"{length_km:g} km",
        (right - length_m / 2, base + tick),
        xytext=(0, 2),
        textcoords="offset points",
        ha="center",
        fontsize=7,
        zorder=6,
    )


def _supporter_texts(table) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for r in table.itertuples(index=False):
        who = f"{r.supporter_id} {r.name}".strip()
        out.append(
            f"{who} ({str(r.kind).replace('_', ' ')}): {r.days_committed:g} of "
            f"{r.capacity_days:g} days committed, {r.clients_served} school(s)"
        )
    return out


def _client_texts(rnd: MatchingRound) -> list[str]:
    from broker.outputs.tables import assignments_table

    t = assignments_table(rnd)
    first = t.drop_duplicates("client_id").set_index("client_id")
    out = []
    for cid in rnd.scenario.clients["client_id"]:
        r = first.loc[cid]
        who = f"{cid} {r['client_name']}".strip() + f", priority {r['priority']}"
        if r["status"] == "unmatched":
            out.append(f"{who}: unmatched ({r['reason_code']}): {r['reason']}")
        else:
            out.append(f"{who}: {r['supporter_id']} {r['supporter_name']}".rstrip())
    return out
