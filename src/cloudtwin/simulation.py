"""Simulation: turns a validated Architecture into live models and runs them.

``Simulation(arch, seed=...).run()`` builds one live component per spec
component (constructed first, then linked, then started), the workloads and the
faults, runs the engine to the stop condition, and returns :class:`Results`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cloudtwin import faults
from cloudtwin.component import Component
from cloudtwin.context import Context
from cloudtwin.engine import Engine
from cloudtwin.errors import RunRefused
from cloudtwin.results import Results, assemble
from cloudtwin.services import load
from cloudtwin.spec.schema import Architecture
from cloudtwin.workloads import WorkloadRun

if TYPE_CHECKING:
    from cloudtwin.pricing.table import PriceTable

MINUTE = 60.0
EVENTS_PER_SECOND = 1_000_000  # rough engine speed on one core, for the size guard's advice
MINUTE_COST = 100.0  # a minute tick per component/workload, in events (time and series memory)


class Simulation:
    """One run of one architecture with one seed."""

    def __init__(
        self,
        arch: Architecture,
        *,
        seed: int | None = None,
        duration: float | None = None,
        requests: int | None = None,
        max_events: int | None = None,
        progress: Callable[[float], None] | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        self.arch = arch
        self.seed = arch.simulate.seed if seed is None else seed
        if duration is None and requests is None:
            duration, requests = arch.simulate.stop_duration, arch.simulate.requests
        self.horizon: float | None = duration
        self.remaining: int | None = requests
        self.requested = requests
        self.max_events = max_events or arch.simulate.max_events
        self.progress = progress
        self.prices = prices  # the price table for the bill (None: the built-in one)
        self.engine = Engine()
        ctx = self.ctx = Context(arch, self.seed, self.engine)
        self.timeline = ctx.timeline
        self.network = ctx.network
        registry = load({c.type for c in arch.components.values()})
        self.components = ctx.components
        for name, spec in arch.components.items():
            self.components[name] = registry[spec.type](name, spec, ctx)
        for c in self.components.values():
            c.build()
        self.workloads = {n: WorkloadRun(n, w, self) for n, w in arch.workloads.items()}
        ctx.workloads.update(self.workloads)
        # only the components that keep 1-minute metrics are called every minute
        self._minutely = [c for c in self.components.values() if type(c).on_minute is not Component.on_minute]

    # ---- what faults and workloads use ----------------------------------------
    def zone_up(self, zone: str) -> bool:
        return self.ctx.zone_up(zone)

    def set_zone(self, zone: str, *, up: bool) -> None:
        self.ctx.zone_state[zone] = up
        for c in self.components.values():
            c.zone_outage(zone, not up)

    def event(self, kind: str, detail: str, **extra: Any) -> None:
        """Add an entry to the run's timeline."""
        self.ctx.event(kind, detail, **extra)

    # ---- running --------------------------------------------------------------
    def estimate_events(self) -> float:
        """A rough upper estimate of the events this run will execute."""
        per_request = 3.0
        for c in self.arch.components.values():
            per_request += 2.0 * len(getattr(c, "handler", None) or [])  # the types that run handler steps
        rate = sum(w.rate * w.profile.peak_factor * (w.sessions.requests if w.sessions else 1)
                   for w in self.arch.workloads.values())
        span = self.horizon
        if span is None:
            if rate <= 0:
                return math.inf
            span = (self.remaining or 0) / rate
        if self.remaining is not None and rate > 0:
            span = min(span, self.remaining / rate)
        periodic = 0.0
        for comp in self.components.values():
            periodic += comp.periodic_events_per_second()
        # each 1-minute tick runs every component's and workload's minute hook and grows their series
        per_minute = 1.0 + MINUTE_COST * (len(self.components) + len(self.workloads))
        return rate * span * per_request + span * (periodic + per_minute / MINUTE)

    def _culprit(self) -> tuple[str, ...]:
        """The spec path to point at when a run is refused: the busiest workload's rate
        for a long-enough run, else the simulate block."""
        rates = {n: w.rate * w.profile.peak_factor for n, w in self.arch.workloads.items()}
        if rates and max(rates.values()) > 0 and (self.horizon or 0) <= 7 * 86_400:
            return ("workloads", max(rates, key=lambda n: rates[n]), "rate")
        return ("simulate", "duration" if self.horizon is not None else "requests")

    def guard(self) -> None:
        est = self.estimate_events()
        if est > self.max_events:
            if math.isinf(est):
                raise RunRefused("this run would never stop: it asks for a number of requests but "
                                 "no workload sends any (rate 0). Give a duration instead.",
                                 path=("simulate", "requests"))
            minutes = est / EVENTS_PER_SECOND / 60
            raise RunRefused(
                f"this run would execute about {est:.3g} events (roughly {minutes:,.0f} min at "
                f"~1M events/s); the limit is {self.max_events:.3g}. Shorten the duration "
                f"(--duration) or request count (--requests), lower the rate, or raise the limit "
                f"with --max-events (simulate.max_events) if you mean it.",
                path=self._culprit(),
            )

    def _minute(self, now: float) -> None:
        for c in self._minutely:
            c.on_minute(now)
        for w in self.workloads.values():
            w.minute(now)
        if self.progress is not None:
            self.progress(now)

    def run(self) -> Results:
        """Run to the stop condition and return the results (invariants checked)."""
        self.guard()
        wall0 = time.perf_counter()
        for c in self.components.values():
            c.start()
        for w in self.workloads.values():
            w.start()
        faults.schedule(self)
        self.engine.every(MINUTE, self._minute, start=MINUTE)
        self.engine.run(until=self.horizon if self.horizon is not None else math.inf)
        for w in self.workloads.values():
            w.flush()
        return assemble(self, time.perf_counter() - wall0)
