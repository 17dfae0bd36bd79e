"""The fast path: a run that is one EC2 station, simulated without the event heap.

The commonest request shape, a Poisson workload at a constant rate sent straight to one
EC2 instance whose handler is a single ``cpu`` step, is a FIFO multi-server queue
(M/G/c/K). :func:`run` simulates it with :class:`cloudtwin.engine.station.Station`
(each request in arrival order takes the earliest-free worker) instead of the event
loop, and leaves every live object (the instance, the fleet, the workload, the
engine's clock and event count) exactly as the event loop would have left it: the
same random draws from the same streams, the same float operations in the same order,
the same histogram code at the same flush points, the same minute hooks at the same
instants, the runtime guard called after the same events. The results are identical,
bit for bit; ``tests/test_fast_station.py`` checks it against the general engine.

Selection is conservative (:func:`plan`): anything it is not sure about (faults,
failures, flows, a hypothesis, a second component or workload, load balancers,
security filters, several instances, a profile, retries, timeouts, clients or
sessions, a handler other than one ``cpu`` step of a built-in distribution, any
event scheduled at start beside the first arrival and the minute tick) runs on the
general engine. Two events at exactly the same instant make the station give up; the
run is then made again on the general engine (:data:`GAVE_UP`).

Turn it off with ``CLOUDTWIN_FAST=0`` in the environment, or ``sim.fast = False``
before :meth:`Simulation.run`.
"""

from __future__ import annotations

import math
import os
from collections import deque
from itertools import islice, repeat
from typing import TYPE_CHECKING, Any

from cloudtwin.engine import station as _station
from cloudtwin.engine.core import WATCH_EVERY, Every
from cloudtwin.engine.sampling import CHUNK, block_draw
from cloudtwin.metrics import BATCH
from cloudtwin.request import UNAVAILABLE

if TYPE_CHECKING:
    from cloudtwin.simulation import Simulation

DRAW_CHUNK = 65_536  # draws taken from a sampler at a time
KINDS = frozenset(("const", "exp", "lognormal", "uniform"))  # numpy (or constant) draws, nothing user-written
GAVE_UP = "gave-up"


def enabled() -> bool:
    return os.environ.get("CLOUDTWIN_FAST", "1") != "0"


def compiled() -> bool:
    """Whether the station loop is the mypyc-compiled module (else the pure-Python one)."""
    return not str(getattr(_station, "__file__", "")).endswith(".py")


class Plan:
    """What :func:`plan` found: the pieces the station replaces the event loop for."""

    __slots__ = ("sim", "fleet", "inst", "wl", "arrival_t", "tick_t", "gaps", "services")

    def __init__(self, sim: Simulation, fleet: Any, inst: Any, wl: Any, arrival_t: float, tick_t: float,
                 gaps: Draws, services: Draws) -> None:
        self.sim, self.fleet, self.inst, self.wl = sim, fleet, inst, wl
        self.arrival_t, self.tick_t = arrival_t, tick_t
        self.gaps, self.services = gaps, services


class Draws:
    """A sampler's next draws in lists of :data:`DRAW_CHUNK`, the same values in the same order as
    calling it one by one: ``used`` draws were already taken from it."""

    __slots__ = ("it", "draw", "lead")

    def __init__(self, it: Any, draw: Any, lead: int) -> None:
        self.it, self.draw, self.lead = it, draw, lead

    @classmethod
    def of(cls, sampler: Any, used: int) -> Draws | None:
        it = getattr(sampler, "__self__", None)
        if isinstance(it, repeat) and sampler == it.__next__:
            return cls(it, None, 0)  # a constant
        found = block_draw(sampler)
        if found is None:
            return None
        it, draw = found  # ``it`` takes a chunk when its first draw is made: ``used`` says where it is
        return cls(it, draw, -used % CHUNK)  # the rest of the chunk the sampler has begun

    def next(self) -> list[float]:
        if self.draw is None:
            return list(islice(self.it, DRAW_CHUNK))
        if self.lead:
            lead, self.lead = self.lead, 0
            return list(islice(self.it, lead))
        out: list[float] = self.draw(DRAW_CHUNK).tolist()
        return out


def plan(sim: Simulation) -> Plan | None:
    """The station plan for a started simulation, or None: the general engine runs it."""
    from cloudtwin.services.ec2 import EC2
    from cloudtwin.services.instance import Instance
    from cloudtwin.workloads import WorkloadRun

    arch, eng = sim.arch, sim.engine
    if arch.faults or arch.failures or arch.flows or arch.hypothesis is not None or sim.flow_run is not None:
        return None
    if sim.failure_processes or len(sim.components) != 1 or len(sim.workloads) != 1 or eng.now != 0.0:
        return None
    if sim.remaining is not None and sim.remaining < 1:
        return None
    fleet = next(iter(sim.components.values()))
    wl = next(iter(sim.workloads.values()))
    if type(fleet) is not EC2 or type(wl) is not WorkloadRun or wl.entry is not fleet:
        return None
    spec = fleet.spec
    steps = spec.handler
    if len(steps) != 1 or getattr(steps[0], "cpu", None) is None or steps[0].cpu.kind not in KINDS:
        return None
    if (len(fleet.instances) != 1 or len(fleet.launched) != 1 or fleet.balancers or fleet.screens
            or fleet.fault_steps or fleet.injected or fleet.fast is None
            or getattr(fleet, "credits", None) is not None):  # a burstable type's CPU credits change its speed
        return None
    inst = fleet.instances[0]
    if type(inst) is not Instance or not inst.live or inst.state != "running" or inst.fast is not fleet.fast:
        return None
    if inst.busy or inst.active or inst.queue or inst.slots < 1 or inst.backlog < 0:
        return None
    if fleet.bound is not inst or sim._minutely != [fleet]:
        return None
    # compared as bound methods: a compiled WorkloadRun's has no __func__
    if (wl.arrive != wl._arrive_bare or wl.attack is not None
            or wl.population is not None or wl.spec.sessions is not None or wl.f is not None
            or wl.requests or wl.succeeded or wl.failed):
        return None
    gaps, services = Draws.of(wl.gap, 1), Draws.of(inst.fast, 0)  # WorkloadRun.start drew the first gap
    if gaps is None or services is None or eng._timers or eng.watch != sim._watch:
        return None
    heap = eng._heap
    if len(heap) != 2:
        return None
    first, second = sorted(heap)
    arrival = first if first[2] == wl.arrive else second
    tick = second if arrival is first else first
    if arrival[2] != wl.arrive or arrival[3] is not None or tick[3] is not None:
        return None
    if type(tick[2]) is not Every or tick[2].fn != sim._minute or tick[0] != 60.0:
        return None
    return Plan(sim, fleet, inst, wl, arrival[0], tick[0], gaps, services)


def run(p: Plan) -> str | None:
    """Simulate the planned station to the run's stop; None when done, :data:`GAVE_UP` when two
    events fell at the same instant (the live objects are then half-way: run the general engine
    on a fresh :class:`Simulation`)."""
    sim, fleet, inst, wl = p.sim, p.fleet, p.inst, p.wl
    eng = sim.engine
    st = _station.Station(inst.slots, inst.backlog, BATCH)
    st.next_arrival = p.arrival_t
    st.tick_at = p.tick_t
    st.until = sim.horizon if sim.horizon is not None else math.inf
    st.remaining = sim.remaining if sim.remaining is not None else -1
    st.lat_a = fleet.lat_buf
    st.lat_b = wl.lat_buf
    st.budget = WATCH_EVERY
    base = (fleet.requests, fleet.errors, wl.errors[UNAVAILABLE])
    synced = [0]  # refusals already added to the workload's minute error count

    def sync() -> None:
        inst.busy, inst.bacc, inst.occ, inst.active = st.busy, st.bacc, st.occ, st.active
        fleet.requests = base[0] + st.served + st.refused
        fleet.errors = base[1] + st.refused
        wl.requests = st.arrivals
        wl.succeeded = st.served
        wl.failed = st.refused
        wl.errors[UNAVAILABLE] = base[2] + st.refused
        wl.minute_err += st.refused - synced[0]
        synced[0] = st.refused
        if sim.remaining is not None:
            sim.remaining = st.remaining
        eng.now = st.now

    run_station = st.run
    while True:
        reason = run_station()
        if reason == _station.FLUSH:
            if len(fleet.lat_buf) >= BATCH:
                fleet.latency.flush()
            if len(wl.lat_buf) >= BATCH:
                wl.minute_hist.flush()
        elif reason == _station.DRAWS:
            if st.gap_i >= len(st.gaps):
                st.gaps, st.gap_i = p.gaps.next(), 0
            if st.svc_i >= len(st.services):
                st.services, st.svc_i = p.services.next(), 0
        elif reason == _station.TICK:
            sync()
            sim._minute(st.now)
            st.tick_at = st.now + 60.0  # Engine.every: now + period
        elif reason == _station.BUDGET:
            sync()
            sim._watch(st.events)
            st.budget = WATCH_EVERY
        elif reason == _station.DONE:
            break
        else:
            return GAVE_UP
    sync()
    eng._executed += st.events
    done = wl.complete_bare
    inst.queue = deque((inst.fast_done, (t_in, done, t_in), s) for t_in, s in st.queued())
    return None
