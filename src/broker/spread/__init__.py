"""Geography of supply and need: graph tools for where support is missing.

Graphs (:mod:`~broker.spread.graphs`), per-LA and per-region scores
(:mod:`~broker.spread.scores`, indices in :mod:`~broker.spread.inequality`), the
max-flow bound on matched need (:mod:`~broker.spread.flow`), supporter resilience
(:mod:`~broker.spread.resilience`), recruitment targeting
(:mod:`~broker.spread.recruit`), maps (:mod:`~broker.spread.maps`), the whole
analysis (:mod:`~broker.spread.analysis`) and the ``broker spread`` command
(:mod:`~broker.spread.cli`).

Names are imported on first use (PEP 562), so ``import broker.spread.cli`` (done
when the ``broker`` parser is built) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "SpreadReport": "analysis",
    "analyse": "analysis",
    "format_headline": "analysis",
    "write_report": "analysis",
    "FlowBound": "flow",
    "area_bounds": "flow",
    "coverage_bound": "flow",
    "feasibility_graph": "graphs",
    "flow_graph": "graphs",
    "flow_table": "graphs",
    "la_graph": "graphs",
    "gini": "inequality",
    "theil": "inequality",
    "theil_decomposition": "inequality",
    "la_map": "maps",
    "flow_map": "maps",
    "CoverageModel": "recruit",
    "Recruitment": "recruit",
    "Selection": "recruit",
    "coverage_model": "recruit",
    "designation_pool": "recruit",
    "exact_cover": "recruit",
    "greedy_cover": "recruit",
    "read_pool": "recruit",
    "recruitment_targets": "recruit",
    "max_priority": "resilience",
    "resilience_naive": "resilience",
    "supporter_resilience": "resilience",
    "SolvedRound": "rounds",
    "read_run_dir": "rounds",
    "client_facts": "scores",
    "isolated_clients": "scores",
    "la_scores": "scores",
    "region_scores": "scores",
    "spread_indices": "scores",
}
_SUBMODULES = (
    "analysis",
    "cli",
    "flow",
    "geography",
    "graphs",
    "inequality",
    "maps",
    "recruit",
    "resilience",
    "rounds",
    "scores",
)

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"broker.spread.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"broker.spread.{name}")
    raise AttributeError(f"module 'broker.spread' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBMODULES))
