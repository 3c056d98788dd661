#!/usr/bin/env python
"""Rebuild the data bundle in ``src/broker/data/`` from the shared open-data folder.

Usage::

    python scripts/build_data_bundle.py [SHARED_DATA_DIR] [--out OUT_DIR]

``SHARED_DATA_DIR`` defaults to ``../shared/data`` (relative to the current
directory, i.e. the layout ``/work/main`` + ``/work/shared/data``); ``OUT_DIR``
defaults to ``src/broker/data`` next to this script's parent.

What it does (see ``src/broker/data/PROVENANCE.md`` for the why):

1. Copies the school register, keeping every source column as text (values are
   not re-formatted) and adding three columns: ``lad_code``, ``lad_name`` and
   ``lad_method``. The district comes from a point-in-polygon test of the
   school's easting/northing against the ONS LAD (May 2024) BUC polygons in
   EPSG:27700; a point inside no polygon (the BUC polygons are clipped to the
   coastline and generalised) takes the nearest polygon if it is within 2 km,
   otherwise the district is left blank.
2. Copies the IDACI/IMD LSOA table, the LA lookup and the GIAS type-code list
   unchanged.
3. Copies the two boundary GeoJSONs, with ``la_code`` written as a 3-character
   string (it is an integer in the source file).
4. Builds ``la_adjacency.csv``: every pair of upper-tier LAs whose polygons are
   within 500 m of each other (``dwithin`` in EPSG:27700), with the minimum gap
   in metres and the length of shared border in km (mean, over the two
   directions, of the length of one polygon's boundary lying within 100 m of the
   other polygon).

Every ``.gz`` is written with gzip level 9 and a zero timestamp, so that running
the script twice on the same input gives byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

BNG = "EPSG:27700"
NEAREST_LAD_MAX_M = 2000.0
ADJACENCY_MAX_GAP_M = 500.0
BORDER_BUFFER_M = 100.0

SCHOOLS = "schools_england_open_2024.csv"
IDACI = "idaci_imd_2019_lsoa11.csv"
AUTHORITIES = "local_authorities_england.csv"
TYPE_CODES = "gias_establishment_type_codes.csv"
LA_BOUNDARIES = "la_boundaries_utla2023_buc.geojson"
LAD_BOUNDARIES = "lad_boundaries_2024_buc.geojson"
ADJACENCY = "la_adjacency.csv"

# Columns of the shared school register that the bundle keeps, in this order.
# (All 35 source columns are kept; the list is explicit so a change upstream
# fails loudly here rather than silently changing the bundle.)
SCHOOL_SOURCE_COLUMNS = [
    "urn", "name", "la_code", "la_name", "la_ons_code", "region", "status", "phase",
    "phase_group", "type_code", "type", "type_source", "state_funded", "gender",
    "pupils_2024", "pupils_pp_2019", "fsm_pct_gias_2024", "fsm_pct_spc_2023",
    "sen_ehc_pct_2024", "ofsted_rating_2024", "ofsted_grade_2024", "ofsted_rating_2019",
    "ofsted_inspection_date_2019", "lat", "lon", "easting", "northing", "coord_source",
    "coord_urn", "coord_dist_outside_la_km", "lsoa11_code", "lsoa11_method",
    "idaci_rank_2019", "idaci_decile_2019", "imd_decile_2019",
]  # fmt: skip
LAD_COLUMNS = ["lad_code", "lad_name", "lad_method"]

LAD_METHOD_INSIDE = "point-in-polygon (LAD May 2024 BUC)"
LAD_METHOD_NEAREST = "nearest district of own LA within 2 km (LAD May 2024 BUC)"
LAD_METHOD_NONE = "none: point more than 2 km from every district of own LA"


def write_gz(path: Path, data: bytes) -> None:
    """Write ``data`` gzip-compressed (level 9, no file name, zero mtime)."""
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as gz:
            gz.write(data)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Serialise ``frame`` as UTF-8 CSV with ``\\n`` line endings."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def read_text_csv(path: Path) -> pd.DataFrame:
    """Read a CSV keeping every value as the text written in the file."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def assign_lad(schools: pd.DataFrame, lad: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return ``lad_code``, ``lad_name``, ``lad_method`` for each school (aligned on index).

    A district is only ever taken from the school's own upper-tier LA (matched on
    ``la_ons_code``), so that districts nest inside ``la_code``:

    * the district whose polygon contains the point, if it belongs to the school's LA;
    * otherwise (point outside every polygon, or inside a district of a neighbouring
      LA because the generalised boundary is off) the nearest district of the
      school's own LA, if it is within 2 km;
    * otherwise blank.
    """
    out = pd.DataFrame("", index=schools.index, columns=LAD_COLUMNS, dtype=object)
    has_xy = (schools["easting"] != "") & (schools["northing"] != "")
    pts = gpd.GeoDataFrame(
        {"row": schools.index[has_xy], "own_la": schools.loc[has_xy, "la_ons_code"].to_numpy()},
        geometry=gpd.points_from_xy(
            schools.loc[has_xy, "easting"].astype(float),
            schools.loc[has_xy, "northing"].astype(float),
        ),
        crs=BNG,
    )
    polys = lad[["lad_code", "lad_name", "la_ons_code", "geometry"]]
    inside = gpd.sjoin(pts, polys, how="inner", predicate="within")
    inside = inside[inside["own_la"] == inside["la_ons_code"]]
    inside = inside.sort_values(["row", "lad_code"]).drop_duplicates("row")
    rows = inside["row"].to_numpy()
    out.loc[rows, "lad_code"] = inside["lad_code"].to_numpy()
    out.loc[rows, "lad_name"] = inside["lad_name"].to_numpy()
    out.loc[rows, "lad_method"] = LAD_METHOD_INSIDE

    rest = pts[~pts["row"].isin(inside["row"])]
    for own_la, group in rest.groupby("own_la"):
        candidates = polys[polys["la_ons_code"] == own_la]
        if candidates.empty:
            continue
        near = gpd.sjoin_nearest(
            group, candidates, how="inner", max_distance=NEAREST_LAD_MAX_M, distance_col="dist_m"
        )
        near = near.sort_values(["row", "dist_m", "lad_code"]).drop_duplicates("row")
        rows = near["row"].to_numpy()
        out.loc[rows, "lad_code"] = near["lad_code"].to_numpy()
        out.loc[rows, "lad_name"] = near["lad_name"].to_numpy()
        out.loc[rows, "lad_method"] = LAD_METHOD_NEAREST
    unassigned = has_xy & (out["lad_code"] == "")
    out.loc[unassigned, "lad_method"] = LAD_METHOD_NONE
    return out


def assign_lad_raw(schools: pd.DataFrame, lad: gpd.GeoDataFrame) -> pd.Series:
    """Plain point-in-polygon district code, ignoring the school's LA (for the summary)."""
    has_xy = (schools["easting"] != "") & (schools["northing"] != "")
    pts = gpd.GeoDataFrame(
        {"row": schools.index[has_xy]},
        geometry=gpd.points_from_xy(
            schools.loc[has_xy, "easting"].astype(float),
            schools.loc[has_xy, "northing"].astype(float),
        ),
        crs=BNG,
    )
    hit = gpd.sjoin(pts, lad[["lad_code", "geometry"]], how="inner", predicate="within")
    hit = hit.sort_values(["row", "lad_code"]).drop_duplicates("row")
    return pd.Series(hit["lad_code"].to_numpy(), index=hit["row"].to_numpy())


def la_adjacency(la: gpd.GeoDataFrame) -> pd.DataFrame:
    """Pairs of LAs whose polygons are within ``ADJACENCY_MAX_GAP_M`` of each other."""
    geo = la[["la_code", "geometry"]]
    pairs = gpd.sjoin(geo, geo, predicate="dwithin", distance=ADJACENCY_MAX_GAP_M)
    pairs = pairs[pairs["la_code_left"] < pairs["la_code_right"]]
    shapes = la.set_index("la_code").geometry
    names = la.set_index("la_code")["la_name"]
    rows = []
    for a, b in sorted(zip(pairs["la_code_left"], pairs["la_code_right"], strict=True)):
        ga, gb = shapes[a], shapes[b]
        along_a = ga.boundary.intersection(gb.buffer(BORDER_BUFFER_M)).length
        along_b = gb.boundary.intersection(ga.buffer(BORDER_BUFFER_M)).length
        rows.append(
            {
                "la_code_a": a,
                "la_code_b": b,
                "la_name_a": names[a],
                "la_name_b": names[b],
                "gap_m": round(float(ga.distance(gb)), 1),
                "shared_border_km": round((along_a + along_b) / 2000.0, 3),
            }
        )
    return pd.DataFrame(rows)


def geojson_bytes(frame: gpd.GeoDataFrame, name: str) -> bytes:
    """GeoJSON (WGS84) text for ``frame``, coordinates rounded to 1e-5 degrees."""
    text = frame.to_crs("EPSG:4326").to_json(drop_id=True)
    doc = json.loads(text)
    doc = {"type": "FeatureCollection", "name": name, **{"features": doc["features"]}}

    def rnd(obj: object) -> object:
        if isinstance(obj, float):
            return round(obj, 5)
        if isinstance(obj, list):
            return [rnd(v) for v in obj]
        return obj

    for feat in doc["features"]:
        feat["geometry"]["coordinates"] = rnd(feat["geometry"]["coordinates"])
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build(shared: Path, out: Path) -> dict[str, object]:
    """Build every bundled file from ``shared`` into ``out``; return summary facts."""
    out.mkdir(parents=True, exist_ok=True)
    facts: dict[str, object] = {}

    la = gpd.read_file(shared / LA_BOUNDARIES)
    la["la_code"] = la["la_code"].astype(int).astype(str).str.zfill(3)
    lad = gpd.read_file(shared / LAD_BOUNDARIES)
    la_bng = la.to_crs(BNG)
    lad_bng = lad.to_crs(BNG)

    # 1. schools + LAD
    schools = read_text_csv(shared / SCHOOLS)
    missing = [c for c in SCHOOL_SOURCE_COLUMNS if c not in schools.columns]
    if missing:
        raise SystemExit(f"{shared / SCHOOLS}: missing columns {missing}")
    schools = schools[SCHOOL_SOURCE_COLUMNS]
    lads = assign_lad(schools, lad_bng)
    pos = SCHOOL_SOURCE_COLUMNS.index("region") + 1
    cols = SCHOOL_SOURCE_COLUMNS[:pos] + LAD_COLUMNS + SCHOOL_SOURCE_COLUMNS[pos:]
    schools = pd.concat([schools, lads], axis=1)[cols]
    write_gz(out / (SCHOOLS + ".gz"), csv_bytes(schools))

    has_xy = schools["easting"] != ""
    lad_parent = lad.set_index("lad_code")["la_ons_code"]
    assigned = schools["lad_code"] != ""
    parent = schools.loc[assigned, "lad_code"].map(lad_parent)
    facts["schools"] = len(schools)
    facts["schools_with_xy"] = int(has_xy.sum())
    facts["lad_inside"] = int((schools["lad_method"] == LAD_METHOD_INSIDE).sum())
    facts["lad_nearest"] = int((schools["lad_method"] == LAD_METHOD_NEAREST).sum())
    facts["lad_blank_with_xy"] = int((has_xy & ~assigned).sum())
    facts["lad_parent_differs_from_la"] = int(
        (parent != schools.loc[assigned, "la_ons_code"]).sum()
    )
    pip = pd.Series("", index=schools.index)
    raw = assign_lad_raw(schools, lad_bng)
    pip.loc[raw.index] = raw
    facts["pip_district_in_other_la"] = int(
        ((pip != "") & (pip.map(lad_parent) != schools["la_ons_code"])).sum()
    )
    opencage = schools["coord_source"].str.startswith("edubase2017_opencage")
    facts["opencage_rows"] = int(opencage.sum())
    facts["opencage_state_funded"] = int((opencage & (schools["state_funded"] == "Y")).sum())

    # 2. tables copied unchanged
    for name in (IDACI, AUTHORITIES, TYPE_CODES):
        frame = read_text_csv(shared / name)
        write_gz(out / (name + ".gz"), csv_bytes(frame))
        facts[name] = len(frame)

    # 3. boundaries
    write_gz(out / (LA_BOUNDARIES + ".gz"), geojson_bytes(la, "la_boundaries_utla2023_buc"))
    write_gz(out / (LAD_BOUNDARIES + ".gz"), geojson_bytes(lad, "lad_boundaries_2024_buc"))

    # 4. adjacency
    adj = la_adjacency(la_bng)
    (out / ADJACENCY).write_bytes(csv_bytes(adj))
    facts["adjacent_pairs"] = len(adj)
    facts["adjacent_pairs_touching"] = int((adj["gap_m"] == 0).sum())
    linked = set(adj["la_code_a"]) | set(adj["la_code_b"])
    facts["las_without_neighbour"] = sorted(set(la["la_code"]) - linked)
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shared", nargs="?", default="../shared/data", type=Path)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "src" / "broker" / "data",
    )
    args = parser.parse_args(argv)
    if not (args.shared / SCHOOLS).is_file():
        print(f"error: {args.shared / SCHOOLS} not found", file=sys.stderr)
        return 2
    facts = build(args.shared, args.out)
    buf = io.StringIO()
    for key, value in facts.items():
        print(f"{key}: {value}", file=buf)
    sizes = sorted(p for p in args.out.iterdir() if p.suffix in {".gz", ".csv"})
    for path in sizes:
        print(f"{path.name}: {path.stat().st_size:,} bytes", file=buf)
    print(f"total: {sum(p.stat().st_size for p in sizes):,} bytes", file=buf)
    print(buf.getvalue(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
