"""The fluid engine (``cloudtwin run --engine fluid``): time-stepped flows and queueing
approximations instead of one event per request, for a defined subset of specs
(:mod:`cloudtwin.fluid.support`); :mod:`cloudtwin.fluid.queueing` is the pure math."""

from __future__ import annotations

from typing import Any


def run_fluid(arch: Any, *, seed: int | None = None, duration: float | None = None) -> Any:
    """Run ``arch`` on the fluid engine; returns :class:`cloudtwin.results.Results`."""
    from cloudtwin.fluid.run import FluidRun

    return FluidRun(arch, seed=seed, duration=duration).run()
