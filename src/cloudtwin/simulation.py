"""Simulation: turns a validated Architecture into live models and runs them.

``Simulation(arch, seed=...).run()`` builds one live component per spec
component (constructed first, then linked, then started), the workloads and the
faults, runs the engine to the stop condition, and returns :class:`Results`.
"""

from __future__ import annotations

import math
import resource
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cloudtwin import fastpath, faults
from cloudtwin.component import Component
from cloudtwin.context import Context
from cloudtwin.engine import Engine
from cloudtwin.errors import RunRefused
from cloudtwin.experiment import Experiment
from cloudtwin.limits import MAX_RSS_BYTES
from cloudtwin.results import Results, assemble
from cloudtwin.services import load
from cloudtwin.spec.schema import Architecture
from cloudtwin.workloads import WorkloadRun

if TYPE_CHECKING:
    from cloudtwin.pricing.table import PriceTable

MINUTE = 60.0
EVENTS_PER_SECOND = 1_000_000  # rough engine speed on one core, for the size guard's advice
MINUTE_COST = 100.0  # a minute tick per component/workload, in events (time and series memory)


BEYOND_ESTIMATE = 50.0  # the runtime guard's tolerance over the estimate's pro-rata events
BEYOND_SLACK = 1_000_000  # events always allowed (a run's first seconds, minute hooks)


class Simulation:
    """One run of one architecture with one seed."""

    # a one-station run goes through cloudtwin.fastpath (identical results, no event heap);
    # False (or CLOUDTWIN_FAST=0) keeps every run on the general engine
    fast = True

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
        self.failure_processes: dict[str, Any] = {}  # random failures by MTBF (cloudtwin.failures)
        self.experiment = Experiment(self)  # the faults, which stop conditions can stop
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
        self.flow_run = None
        if arch.flows:  # network flows in bits per second, beside the requests
            from cloudtwin.flow_run import FlowRun

            self.flow_run = FlowRun(self)
        # only the components that keep 1-minute metrics are called every minute
        self._minutely = [c for c in self.components.values() if type(c).on_minute is not Component.on_minute]

    # ---- what faults and workloads use ----------------------------------------
    def zone_up(self, zone: str) -> bool:
        return self.ctx.zone_up(zone)

    @property
    def zone_outages(self) -> dict[str, int]:
        """Zone outages in progress, by zone (faults on one zone may overlap)."""
        return self.ctx.zone_outages

    def set_zone(self, zone: str, *, up: bool) -> None:
        self.ctx.zone_state[zone] = up
        for c in self.components.values():
            c.zone_outage(zone, not up)

    def event(self, kind: str, detail: str, **extra: Any) -> None:
        """Add an entry to the run's timeline."""
        self.ctx.event(kind, detail, **extra)

    # ---- running --------------------------------------------------------------
    def estimate_events(self) -> float:
        """A rough upper estimate of the events this run will execute: each workload's requests
        times the work one request multiplies into (:mod:`cloudtwin.runsize`: call trees,
        retries, fan-out), plus what components schedule on their own."""
        from cloudtwin.runsize import longest_hold, work_per_request

        work = work_per_request(self.arch)
        rate = per_request = attack = 0.0
        hold = 0.0
        for w in self.arch.workloads.values():
            r = w.rate * w.profile.peak_factor * (w.sessions.requests if w.sessions else 1)
            rate += r
            attack += w.attack.rate if w.attack is not None else 0.0  # attacker requests, not counted to stop
            per_request = max(per_request, 1.0 + work.get(w.entry, 0.0))
        if self.remaining is not None:
            holds = longest_hold(self.arch)
            hold = max((holds.get(w.entry, 0.0) for w in self.arch.workloads.values()), default=0.0)
        span = self.horizon
        if span is None:
            if rate <= 0:
                return math.inf
            span = (self.remaining or 0) / rate + hold  # the last requests finish after their holds
        if self.remaining is not None and rate > 0:
            span = min(span, self.remaining / rate + hold)
        self._span = span
        rate += attack  # they cost events while the run lasts
        periodic = 0.0
        for comp in self.components.values():
            periodic += comp.periodic_events_per_second()
        if self.flow_run is not None:
            periodic += self.flow_run.periodic_events_per_second()
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
        span = self.horizon if self.horizon is not None else getattr(self, "_span", None)
        self._estimate_rate = (est / span if span and span > 0 else math.inf, span or math.inf)
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

    def _watch(self, executed: int) -> None:
        """The runtime guard, beside the estimate: stop a run that has executed more events than
        the limit, or grown the process past the memory limit, naming where the work piled up."""
        if executed > self.max_events:
            raise RunRefused(f"this run had executed {executed:,} events by t={self.engine.now:,.1f} s, past "
                             f"the limit of {self.max_events:.3g}; {self._busiest()}. Raise the limit with "
                             "--max-events (simulate.max_events) if you mean it.", path=self._busiest_path())
        # the estimate is an upper bound spread evenly over the run; far beyond it, the work is
        # multiplying in a way the estimate cannot see (a message loop, a redelivery storm)
        rate, span = self._estimate_rate
        expected = rate * min(self.engine.now, span)
        if executed > BEYOND_ESTIMATE * expected + BEYOND_SLACK:
            raise RunRefused(f"this run had executed {executed:,} events by t={self.engine.now:,.1f} s, "
                             f"{executed / max(expected, 1.0):,.0f} times its estimate so far; {self._busiest()}. "
                             "Raise simulate.max_events only after finding why.", path=self._busiest_path())
        self._watches += 1
        if self._watches % 128 == 0:  # about every million events
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
            if rss > MAX_RSS_BYTES:
                raise RunRefused(f"this run grew the process to {rss / 2**30:.1f} GiB by t={self.engine.now:,.1f} s, "
                                 f"past the limit of {MAX_RSS_BYTES / 2**30:.0f} GiB; {self._busiest()}.",
                                 path=self._busiest_path())

    def _busiest(self) -> str:
        c = max(self.components.values(), key=lambda c: c.requests)
        return (f"the work multiplied at {c.kind} {c.name!r} ({c.requests:,} requests and messages so far): "
                "check its fan-out, retries, redeliveries and loops")

    def _busiest_path(self) -> tuple[str, ...]:
        return ("components", max(self.components.values(), key=lambda c: c.requests).name)

    def _rerun_general(self) -> Results:
        """The fast path gave up half-way (two events at one instant): the same run again, on
        the general engine; this object then holds that run's live state."""
        again = Simulation(self.arch, seed=self.seed, duration=self.horizon, requests=self.requested,
                           max_events=self.max_events, progress=self.progress, prices=self.prices)
        again.fast = False
        results = again.run()
        self.__dict__.update(again.__dict__)
        return results

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
        self._watches = 0
        self.engine.watch = self._watch
        wall0 = time.perf_counter()
        for c in self.components.values():
            c.start()
        for w in self.workloads.values():
            w.start()
        if self.flow_run is not None:
            self.flow_run.start()
        faults.schedule(self)
        self.engine.every(MINUTE, self._minute, start=MINUTE)
        if self.fast and fastpath.enabled() and (station := fastpath.plan(self)) is not None:
            # the compiled station appends latencies to plain lists (Histogram.plain_buffer)
            station.fleet.lat_buf = station.fleet.latency.plain_buffer()
            station.wl.lat_buf = station.wl.minute_hist.plain_buffer()
            if fastpath.run(station) == fastpath.GAVE_UP:
                return self._rerun_general()
        else:
            self.engine.run(until=self.horizon if self.horizon is not None else math.inf)
        for w in self.workloads.values():
            w.flush()
        return assemble(self, time.perf_counter() - wall0)
