"""Loaders for the open data bundled inside the package.

The files live next to this module (``broker/data/*.gz`` and
``la_adjacency.csv``) and are rebuilt by ``scripts/build_data_bundle.py``; see
``PROVENANCE.md`` in the same folder for sources, licences and caveats.

Every loader parses its file once per process (``functools.lru_cache``) and
returns a *copy*, so a caller may modify what it gets without affecting later
calls. Nothing is read at import time, and geopandas / networkx are imported
only by the functions that need them.
"""

from __future__ import annotations

import gzip
import io
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import pandas as pd

from broker.data.schema import SCHOOL_COLUMNS, SCHOOL_DTYPES, coerce_school_dtypes

if TYPE_CHECKING:  # pragma: no cover
    import geopandas
    import networkx

BNG = "EPSG:27700"

SCHOOLS_FILE = "schools_england_open_2024.csv.gz"
IDACI_FILE = "idaci_imd_2019_lsoa11.csv.gz"
AUTHORITIES_FILE = "local_authorities_england.csv.gz"
TYPE_CODES_FILE = "gias_establishment_type_codes.csv.gz"
LA_BOUNDARIES_FILE = "la_boundaries_utla2023_buc.geojson.gz"
LAD_BOUNDARIES_FILE = "lad_boundaries_2024_buc.geojson.gz"
ADJACENCY_FILE = "la_adjacency.csv"

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(Department for Education: Get Information About Schools, school census and "
    "performance tables; Ofsted; Ministry of Housing, Communities and Local Government: "
    "English Indices of Deprivation 2019; Office for National Statistics).\n"
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0. "
    "Contains OS data \u00a9 Crown copyright and database right 2024 (local authority and "
    "district boundaries, LSOA centroids).\n"
    "Note: school coordinates whose coord_source starts with 'edubase2017_opencage' were "
    "geocoded with the OpenCage API and may carry ODbL (OpenStreetMap) terms rather than OGL."
)
"""Attribution text to print or cite wherever the bundled data is shown or redistributed."""


def _read_bytes(name: str) -> bytes:
    raw = resources.files("broker.data").joinpath(name).read_bytes()
    return gzip.decompress(raw) if name.endswith(".gz") else raw


def _read_csv(name: str, dtype: dict[str, str]) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(_read_bytes(name)),
        dtype=dtype,
        keep_default_na=False,
        na_values=[""],
        encoding="utf-8",
    )


# --------------------------------------------------------------------------- schools


@lru_cache(maxsize=1)
def _schools() -> pd.DataFrame:
    dtype = {
        c: ("str" if t.startswith("datetime") else ("float64" if t == "int64" else t))
        for c, t in SCHOOL_DTYPES.items()
        if c in SCHOOL_COLUMNS
    }
    frame = _read_csv(SCHOOLS_FILE, dtype)
    missing = [c for c in SCHOOL_COLUMNS if c not in frame.columns]
    if missing:  # pragma: no cover - guards a corrupted bundle
        raise RuntimeError(f"bundled {SCHOOLS_FILE} lacks columns {missing}")
    return coerce_school_dtypes(frame, SCHOOL_COLUMNS)


def load_schools() -> pd.DataFrame:
    """Bundled register of open schools in England (GIAS, 17 June 2024 composite).

    One row per establishment (25,182 rows), all types including independent
    schools; filter on ``state_funded == "Y"`` for state-funded schools. See
    ``broker/data/PROVENANCE.md`` for the source of every column.

    Returns
    -------
    pandas.DataFrame
        Columns in the order of :data:`broker.data.schema.SCHOOL_COLUMNS`, with
        dtypes:

        * ``urn``: ``int64`` (unique);
        * ``la_code``: ``str``, the DfE 3-character LA code (e.g. ``"855"``);
        * ``type_code``, ``pupils_2024``, ``pupils_pp_2019``, ``ofsted_grade_2024``,
          ``coord_urn``, ``idaci_rank_2019``, ``idaci_decile_2019``,
          ``imd_decile_2019``: nullable ``Int64``;
        * ``fsm_pct_gias_2024``, ``fsm_pct_spc_2023``, ``sen_ehc_pct_2024``, ``lat``,
          ``lon``, ``easting``, ``northing`` (EPSG:27700 metres),
          ``coord_dist_outside_la_km``: ``float64`` (NaN when unknown);
        * ``ofsted_inspection_date_2019``: ``datetime64[ns]``;
        * every other column (``name``, ``la_name``, ``la_ons_code``, ``region``,
          ``lad_code``, ``lad_name``, ``lad_method``, ``status``, ``phase``,
          ``phase_group``, ``type``, ``type_source``, ``state_funded``, ``gender``,
          ``ofsted_rating_2024``, ``ofsted_rating_2019``, ``coord_source``,
          ``lsoa11_code``, ``lsoa11_method``): ``str``, missing values NaN.

        ``lad_code``/``lad_name`` give the local authority district (ONS LAD May
        2024) containing the school, always a district of the school's own LA;
        blank where the school has no coordinates or its point lies more than
        2 km from its own LA.

    Notes
    -----
    The first call parses the file (about a quarter of a second); later calls
    return a copy of the cached frame.
    """
    return _schools().copy()


# --------------------------------------------------------------------------- tables


@lru_cache(maxsize=1)
def _idaci() -> pd.DataFrame:
    dtype = {
        "lsoa11_code": "str",
        "lsoa11_name": "str",
        "lad19_code": "str",
        "lad19_name": "str",
        "imd_rank": "int64",
        "imd_decile": "int64",
        "idaci_rank": "int64",
        "idaci_decile": "int64",
        "centroid_easting": "float64",
        "centroid_northing": "float64",
        "centroid_lon": "float64",
        "centroid_lat": "float64",
    }
    return _read_csv(IDACI_FILE, dtype)


def load_idaci() -> pd.DataFrame:
    """IDACI and IMD 2019 for each of England's 32,844 LSOAs (2011 boundaries).

    Returns
    -------
    pandas.DataFrame
        ``lsoa11_code``, ``lsoa11_name``, ``lad19_code``, ``lad19_name`` (``str``);
        ``imd_rank``, ``imd_decile``, ``idaci_rank``, ``idaci_decile`` (``int64``; rank
        1 = most deprived of 32,844, decile 1 = most deprived 10%);
        ``centroid_easting``, ``centroid_northing`` (EPSG:27700), ``centroid_lon``,
        ``centroid_lat`` (WGS84) (``float64``; ONS label points, not
        population-weighted centroids). There is no IDACI *score*: the bundled
        source (IoD2019 File 3) carries ranks and deciles only; load File 7 with
        :func:`broker.data.official.load_iod` to get it.
    """
    return _idaci().copy()


@lru_cache(maxsize=1)
def _authorities() -> pd.DataFrame:
    dtype = {
        "la_code": "str",
        "la_name_gias": "str",
        "la_ons_code": "str",
        "la_name_ons": "str",
        "region_code": "str",
        "region_name": "str",
        "n_lads": "int64",
        "area_km2_buc": "float64",
        "n_open_state_funded_schools_2024": "int64",
    }
    return _read_csv(AUTHORITIES_FILE, dtype)


def load_authorities() -> pd.DataFrame:
    """The 153 English upper-tier local authorities that run schools.

    Returns
    -------
    pandas.DataFrame
        ``la_code`` (``str``, DfE 3-character code), ``la_name_gias``, ``la_ons_code``
        (E06/E08/E09/E10), ``la_name_ons``, ``region_code``, ``region_name`` (``str``);
        ``n_lads`` (``int64``, districts in the LA), ``area_km2_buc`` (``float64``,
        area of the generalised polygon), ``n_open_state_funded_schools_2024``
        (``int64``).
    """
    return _authorities().copy()


@lru_cache(maxsize=1)
def _type_codes() -> pd.DataFrame:
    dtype = {
        "type_group_code": "int64",
        "type_group_name": "str",
        "type_code": "int64",
        "type_name": "str",
        "state_funded": "str",
    }
    return _read_csv(TYPE_CODES_FILE, dtype)


def load_type_codes() -> pd.DataFrame:
    """GIAS establishment type codes (39 rows, code list of 22 April 2025).

    Returns
    -------
    pandas.DataFrame
        ``type_group_code`` (``int64``), ``type_group_name`` (``str``), ``type_code``
        (``int64``), ``type_name`` (``str``), ``state_funded`` (``str``, ``"Y"`` or
        ``"N"``; this project's classification).
    """
    return _type_codes().copy()


# --------------------------------------------------------------------------- geometry


@lru_cache(maxsize=2)
def _boundaries(name: str) -> geopandas.GeoDataFrame:
    import geopandas as gpd

    frame = gpd.read_file(io.BytesIO(_read_bytes(name)))
    if "la_code" in frame.columns:
        frame["la_code"] = frame["la_code"].astype(str).str.zfill(3)
    return frame.to_crs(BNG)


def load_la_boundaries() -> geopandas.GeoDataFrame:
    """Boundaries of the 153 upper-tier LAs (ONS LAD May 2024 BUC, dissolved to UTLA 2023).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700 (British National Grid, metres). Columns ``la_ons_code``,
        ``la_name`` (ONS spelling), ``region_code``, ``region_name``, ``la_code``
        (``str``, DfE 3-character) and ``geometry`` (Polygon/MultiPolygon).
        Ultra-generalised (500 m) and clipped to the coastline: fine for maps and
        neighbour tests, not for exact areas.
    """
    return _boundaries(LA_BOUNDARIES_FILE).copy()


def load_lad_boundaries() -> geopandas.GeoDataFrame:
    """Boundaries of England's 296 local authority districts (ONS LAD May 2024 BUC).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700. Columns ``lad_name``, ``lad_code``, ``la_ons_code``,
        ``la_name`` (the upper-tier parent), ``region_code``, ``region_name`` and
        ``geometry``. Join to :func:`load_authorities` on ``la_ons_code`` for the
        DfE ``la_code``.
    """
    return _boundaries(LAD_BOUNDARIES_FILE).copy()


# --------------------------------------------------------------------------- adjacency


@lru_cache(maxsize=1)
def _adjacency() -> pd.DataFrame:
    dtype = {
        "la_code_a": "str",
        "la_code_b": "str",
        "la_name_a": "str",
        "la_name_b": "str",
        "gap_m": "float64",
        "shared_border_km": "float64",
    }
    return _read_csv(ADJACENCY_FILE, dtype)


def load_la_adjacency() -> pd.DataFrame:
    """Pairs of neighbouring upper-tier LAs.

    Two LAs are neighbours when their (generalised) boundary polygons touch or
    come within 500 m of each other in EPSG:27700; the tolerance catches borders
    that generalisation pulled apart and narrow river crossings (e.g. Thames
    boroughs facing each other). Islands with no neighbour (Isle of Wight 921,
    Isles of Scilly 420) appear in no pair.

    Returns
    -------
    pandas.DataFrame
        One row per unordered pair with ``la_code_a < la_code_b`` (``str``, DfE
        3-character codes), ``la_name_a``, ``la_name_b`` (ONS names), ``gap_m``
        (``float64``, minimum distance between the polygons; 0 when they touch) and
        ``shared_border_km`` (``float64``, length of common border, measured as the
        mean length of each polygon's boundary lying within 100 m of the other; 0
        for pairs that only come within 500 m).
    """
    return _adjacency().copy()


def la_adjacency_graph() -> networkx.Graph:
    """Neighbour graph of the 153 upper-tier LAs.

    Returns
    -------
    networkx.Graph
        A new graph on every call. Nodes are DfE ``la_code`` strings for all 153 LAs
        (islands included, with no edges), with attributes ``la_name`` (GIAS
        spelling), ``la_ons_code``, ``region`` (region name) and ``region_code``.
        Edges are the pairs of :func:`load_la_adjacency`, with attributes ``gap_m``
        and ``shared_border_km``.
    """
    import networkx as nx

    graph = nx.Graph()
    for row in _authorities().itertuples(index=False):
        graph.add_node(
            row.la_code,
            la_name=row.la_name_gias,
            la_ons_code=row.la_ons_code,
            region=row.region_name,
            region_code=row.region_code,
        )
    for row in _adjacency().itertuples(index=False):
        graph.add_edge(
            row.la_code_a,
            row.la_code_b,
            gap_m=float(row.gap_m),
            shared_border_km=float(row.shared_border_km),
        )
    return graph
