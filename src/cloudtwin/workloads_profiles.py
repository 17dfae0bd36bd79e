"""Rate profiles of a workload: its rate multiplier over time (constant, diurnal, ramp,
spike, or replayed from a file), and that multiplier's maximum, which Poisson arrivals are
thinned against (:mod:`cloudtwin.workloads_thinning`)."""

from __future__ import annotations

import math
from bisect import bisect_right
from pathlib import Path
from typing import Any

from cloudtwin.errors import SpecError
from cloudtwin.spec.schema import Profile

__all__ = ["profile_factor"]


def profile_factor(p: Profile, horizon: float, base_dir: str = ".") -> tuple[Any, float]:
    """``(f, fmax)``: the rate multiplier as a function of time, and its maximum."""
    if p.type == "constant":
        return None, 1.0
    if p.type == "diurnal":
        lo, hi, per, peak = p.low, p.high, p.period, p.peak_at
        return (lambda t: lo + (hi - lo) * (1 + math.cos(2 * math.pi * (t - peak) / per)) / 2), max(lo, hi)
    if p.type == "ramp":
        at, dur, a, b = p.at, (p.duration or max(horizon - p.at, 1.0)), p.start, p.end
        return (lambda t: a if t < at else b if t >= at + dur else a + (b - a) * (t - at) / dur), max(a, b)
    if p.type == "spike":
        at, dur, k = p.at, (p.duration if p.duration is not None else 300.0), p.factor
        return (lambda t: k if at <= t < at + dur else 1.0), max(1.0, k)
    times, factors = _read_replay(p.path or "", base_dir)
    return (lambda t: factors[max(bisect_right(times, t) - 1, 0)]), max(factors)


def _read_replay(path: str, base_dir: str) -> tuple[list[float], list[float]]:
    from cloudtwin.errors import Issue
    from cloudtwin.replay import ReplayError, read_profile, resolve

    try:
        return read_profile(resolve(path, Path(base_dir)), path)
    except ReplayError as exc:  # the spec's check read it; the file changed since
        raise SpecError([Issue("profile.path", str(exc))]) from None
