"""Sweeps: a grid of policies x seeds x scenario variants as independent Dask tasks.

* :mod:`~broker.sweep.config`: the TOML configuration;
* :mod:`~broker.sweep.variants`: budget, reach and supply multipliers;
* :mod:`~broker.sweep.run`: tasks, Parquet parts, resuming, local or remote clusters;
* :mod:`~broker.sweep.cli`: ``broker sweep``.
"""
