"""Real open data for England, bundled with broker, and loaders for the official files.

Bundled data (see ``PROVENANCE.md`` in this folder; licensed under the Open
Government Licence v3.0, attribution in :data:`ATTRIBUTION`):

* :func:`load_schools`: register of 25,182 open establishments (GIAS, June 2024
  composite) with LA, district, phase, Ofsted grade, coordinates and IDACI;
* :func:`load_idaci`: IDACI and IMD 2019 for the 32,844 LSOAs (2011);
* :func:`load_authorities`: the 153 upper-tier LAs (DfE code, ONS code, region);
* :func:`load_type_codes`: GIAS establishment type codes;
* :func:`load_la_boundaries`, :func:`load_lad_boundaries`: boundaries in EPSG:27700;
* :func:`load_la_adjacency`, :func:`la_adjacency_graph`: neighbouring LAs.

Official downloads, so users can refresh the data themselves
(:mod:`broker.data.official`): :func:`load_gias` (``edubasealldataYYYYMMDD.csv``),
:func:`load_ofsted_mi` (Ofsted management information, latest inspections) and
:func:`load_iod` (English Indices of Deprivation File 7 or File 3 as CSV). They
return a :class:`LoadReport` holding the usable table and every rejected value.

Importing this package reads nothing; each bundled file is parsed on first use
and cached, and every loader returns a copy.
"""

from broker.data.bundled import (
    ATTRIBUTION,
    BNG,
    la_adjacency_graph,
    load_authorities,
    load_idaci,
    load_la_adjacency,
    load_la_boundaries,
    load_lad_boundaries,
    load_schools,
    load_type_codes,
)
from broker.data.official import LoadReport, load_gias, load_iod, load_ofsted_mi
from broker.data.schema import GIAS_EXTRA_COLUMNS, PHASE_GROUPS, SCHOOL_COLUMNS, phase_group

__all__ = [
    "ATTRIBUTION",
    "BNG",
    "GIAS_EXTRA_COLUMNS",
    "LoadReport",
    "PHASE_GROUPS",
    "SCHOOL_COLUMNS",
    "la_adjacency_graph",
    "load_authorities",
    "load_gias",
    "load_idaci",
    "load_iod",
    "load_la_adjacency",
    "load_la_boundaries",
    "load_lad_boundaries",
    "load_ofsted_mi",
    "load_schools",
    "load_type_codes",
    "phase_group",
]
