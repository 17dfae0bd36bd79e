"""Sweeps: one spec over the cartesian product of ``--set`` axes times seeds, run on this
machine's cores, Ray or Dask, each finished run kept at once in a resumable results store
(``results.parquet``), summarized as means with 95 % intervals over seeds.

:mod:`.axes` parses the axes, :mod:`.plan` plans, validates and executes, :mod:`.executors`
holds the three executors, :mod:`.store` the results store, :mod:`.stats` the statistics and
:mod:`.summary` the per-configuration summary.
"""
