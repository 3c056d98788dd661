"""broker: optimisation engine that brokers school-to-school support in England."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("broker")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
