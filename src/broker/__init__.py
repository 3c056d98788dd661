"""broker: optimisation engine that brokers school-to-school support in England.

The Python API (``docs/api.md``)::

    import broker
    r = broker.solve(broker.read_scenario("scenarios/leicestershire"))

Names are imported on first use, so ``import broker`` stays light.
"""

from __future__ import annotations

from importlib import import_module

# not ``from typing import TYPE_CHECKING``: importing typing (and re) here would delay
# the command line's first signal handler (broker/entry.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from broker.api import Explanation, RoundResult, read_scenario, solve
    from broker.errors import InputError
    from broker.scenario.model import Config, Scenario, Weights

_LAZY = {
    "Config": "broker.scenario.model",
    "Explanation": "broker.api",
    "InputError": "broker.errors",
    "RoundResult": "broker.api",
    "Scenario": "broker.scenario.model",
    "Weights": "broker.scenario.model",
    "read_scenario": "broker.api",
}

__all__ = [
    "Config",
    "Explanation",
    "InputError",
    "RoundResult",
    "Scenario",
    "Weights",
    "__version__",
    "read_scenario",
    "solve",
]


def __getattr__(name: str) -> Any:
    # Looked up on first use: importlib.metadata takes tens of milliseconds, and the
    # command line installs its signal handlers only after ``import broker``.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("broker")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0+unknown"
    if name == "solve":
        # The solvers' package, which is also callable: broker.solve(scenario, ...) runs
        # broker.api.solve (see broker/solve/__init__.py).
        return import_module("broker.solve")
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'broker' has no attribute {name!r}")
