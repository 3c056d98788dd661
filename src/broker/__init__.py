"""broker: optimisation engine that brokers school-to-school support in England."""

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # Looked up on first use: importlib.metadata takes tens of milliseconds, and the
    # command line installs its signal handlers only after ``import broker``.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("broker")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0+unknown"
    raise AttributeError(f"module 'broker' has no attribute {name!r}")
