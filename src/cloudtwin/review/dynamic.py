"""``--simulate``: measured evidence for the review.

Three scenarios are run with the spec's seed (or the one given):

* ``spec``: the spec's own workloads and faults, for its own duration.
* ``az_outage``: when the spec has no AZ outage of its own, the spec's
  workloads with its faults replaced by an outage of the first zone from
  minute 5 to minute 15 (20 minutes in all). With an AZ outage in the spec, its
  own run and outage window stand in.
* ``load_2x``: when no workload already has a spike or ramp profile, the spec's
  workloads at twice their rate from minute 5 to minute 15, no faults.

Each scenario keeps the results JSON and the window of interest; rules read
availability and p99 inside and before that window from the per-minute series
(minutes wholly inside the window count). A scenario that cannot run (a run
too large for the run-size guard, no workloads) is listed as skipped with the
reason; rules then fall back to their static verdict.

A cache that starts cold (``elasticache`` without ``warm: true``) has its hot keys
expire together, in a wave at every multiple of the TTL; a finding whose measured
evidence comes from a window holding such a wave gets a note saying so
(:func:`cache_waves`), since the figure depends on where the window fell.

Left out: repeated seeds and confidence intervals (one run per scenario), and
outages of zones other than the first.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from cloudtwin.spec.schema import Architecture, Fault, Profile

START = 300.0  # the disturbance starts at minute 5...
LENGTH = 600.0  # ...and lasts 10 minutes
TOTAL = 1200.0  # of a 20-minute run
LOAD_FACTOR = 2.0


@dataclass
class Scenario:
    """One simulated run and the window that matters in it."""

    name: str
    description: str
    data: dict[str, Any] = field(default_factory=dict)
    window: tuple[float, float] | None = None  # the disturbance [t0, t1)
    zone: str | None = None  # the zone that failed (AZ scenarios)
    skipped: str | None = None  # why the run did not happen

    def _minutes(self, t0: float, t1: float) -> list[int]:
        series = self.data.get("series") or {}
        step = float(series.get("step_s") or 60.0)
        n = len(series.get("t") or [])
        first = math.ceil(t0 / step - 1e-9)
        last = math.floor(t1 / step + 1e-9)
        return [i for i in range(max(first, 0), min(last, n))]

    def _sum(self, key: str, idx: list[int]) -> float:
        total = 0.0
        for w in ((self.data.get("series") or {}).get("workloads") or {}).values():
            vals = w.get(key) or []
            total += sum(vals[i] for i in idx if i < len(vals))
        return total

    def availability(self, *, during: bool = True, skip: float = 0.0) -> float | None:
        """Share of requests that succeeded, in the window (or over the whole run);
        ``skip`` leaves out the window's first seconds (e.g. while a loss is being detected)."""
        if self.skipped:
            return None
        if during and self.window is not None:
            t0, t1 = self.window
            idx = self._minutes(min(t0 + skip, t1), t1) or self._minutes(t0, t1)
            req = self._sum("requests", idx)
            return None if req <= 0 else max(0.0, 1.0 - self._sum("errors", idx) / req)
        wls = (self.data.get("workloads") or {}).values()
        req = sum(w["requests"] for w in wls)
        return None if req <= 0 else sum(w["succeeded"] for w in wls) / req

    def p99_ms(self, *, during: bool) -> float | None:
        """Before the window: the median of the per-minute p99s (minute 0 left out);
        during: the worst per-minute p99 inside it. The worst workload counts."""
        if self.skipped or self.window is None:
            return None
        t0, t1 = self.window
        idx = self._minutes(t0, t1) if during else self._minutes(min(60.0, t0), t0)
        out: float | None = None
        for w in ((self.data.get("series") or {}).get("workloads") or {}).values():
            vals = [w["p99_ms"][i] for i in idx if i < len(w["p99_ms"]) and w["p99_ms"][i] > 0]
            if not vals:
                continue
            v = max(vals) if during else statistics.median(vals)
            out = v if out is None else max(out, v)
        return out

    def peak(self, component: str, key: str) -> float | None:
        """The highest per-minute value of a component series (e.g. utilization) in the window."""
        if self.skipped or self.window is None:
            return None
        vals = (((self.data.get("series") or {}).get("components") or {}).get(component) or {}).get(key) or []
        got = [vals[i] for i in self._minutes(*self.window) if i < len(vals)]
        return max(got) if got else None

    def component(self, name: str) -> dict[str, Any]:
        return dict((self.data.get("components") or {}).get(name) or {})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.skipped:
            out["skipped"] = self.skipped
            return out
        out["window_s"] = list(self.window) if self.window else None
        out["availability"] = _r(self.availability(during=False))
        if self.window:
            out["availability_during"] = _r(self.availability())
            out["p99_ms_before"] = self.p99_ms(during=False)
            out["p99_ms_during"] = self.p99_ms(during=True)
        return out


@dataclass
class Measured:
    """The scenarios a review simulated."""

    scenarios: dict[str, Scenario] = field(default_factory=dict)

    def get(self, name: str) -> Scenario | None:
        s = self.scenarios.get(name)
        return None if s is None or s.skipped else s


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def measure(arch: Architecture, *, seed: int | None = None) -> Measured:
    """Run the scenarios and keep what they measured."""
    out = Measured()
    plans: list[tuple[str, str, Architecture, float | None, tuple[float, float] | None, str | None]] = []
    spec_zone_fault = next((f for f in arch.faults if f.action == "az_outage"), None)
    spec_window = ((spec_zone_fault.at or 0.0), (spec_zone_fault.at or 0.0) + (spec_zone_fault.duration or 0.0)) \
        if spec_zone_fault else None
    plans.append(("spec", "the spec's own workloads and faults", arch, None, spec_window,
                  spec_zone_fault.az_outage if spec_zone_fault else None))
    if spec_zone_fault is None:
        zone = arch.zones[0]
        outage = Fault(at=START, az_outage=zone, duration=LENGTH)
        az = arch.model_copy(update={"faults": [outage]})
        plans.append(("az_outage", f"zone {zone} down from minute 5 to 15", az, TOTAL, (START, START + LENGTH), zone))
    if not any(w.profile.type in ("spike", "ramp") for w in arch.workloads.values()):
        spike = Profile(type="spike", at=START, duration=LENGTH, factor=LOAD_FACTOR)
        wls = {n: w.model_copy(update={"profile": spike}) for n, w in arch.workloads.items()}
        load = arch.model_copy(update={"faults": [], "workloads": wls})
        plans.append(("load_2x", "2x the workloads' rate from minute 5 to 15, no faults", load, TOTAL,
                      (START, START + LENGTH), None))
    ran = {plan[0]: scenario for plan, scenario in zip(plans, _run_all(plans, seed), strict=True)}
    out.scenarios["spec"] = s = ran["spec"]
    out.scenarios["az_outage"] = ran.get("az_outage") or Scenario(
        "az_outage", f"the spec's own zone-{s.zone} outage", s.data, s.window, s.zone, s.skipped)
    out.scenarios["load_2x"] = ran.get("load_2x") or Scenario(
        "load_2x", "2x load", skipped="the spec has its own spike or ramp")
    return out


def _run_all(plans: list[tuple[str, str, Architecture, float | None, tuple[float, float] | None, str | None]],
             seed: int | None) -> list[Scenario]:
    """The scenarios' simulations, side by side in processes (:mod:`cloudtwin.runs`)."""
    from cloudtwin.runs import Job, run_many

    if not plans[0][2].workloads:
        return [Scenario(name, description, skipped="the spec has no workloads") for name, description, *_ in plans]
    outcomes = run_many([Job(a, {"seed": seed, "duration": d}) for _, _, a, d, _, _ in plans],
                        what="review scenarios")
    out = []
    for (name, description, _, _, window, zone), (kind, got) in zip(plans, outcomes, strict=True):
        if kind != "ok":
            out.append(Scenario(name, description, skipped=str(got).splitlines()[0]))
        else:
            out.append(Scenario(name, description, got, window, zone))
    return out


def cache_waves(arch: Architecture, s: Scenario) -> list[tuple[str, float, list[float]]]:
    """``(cache, ttl, wave times)`` for each cold cache whose expiry waves (multiples of a ``set``
    TTL) fall inside the scenario's window, or its whole run when it has none."""
    from cloudtwin.spec.elasticache import ttl_sets

    if s.skipped:
        return []
    t0, t1 = s.window if s.window is not None else (0.0, float(s.data.get("simulated_s") or 0.0))
    out = []
    for name, c in arch.components.items():
        if c.type != "elasticache" or getattr(c, "warm", False):
            continue
        for ttl in sorted({t for _, _, t in ttl_sets(arch, name)}):
            ks = range(max(1, math.ceil(t0 / ttl)), math.floor(t1 / ttl) + 1)
            waves = [k * ttl for k in ks if t0 <= k * ttl < t1]
            if waves:
                out.append((name, ttl, waves))
    return out
