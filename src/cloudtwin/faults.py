"""Scheduled faults: AZ outages, terminations, replacements, spot interruptions,
database failovers, network link failures, instance status-check failures, data-store losses, and
injected latency or errors on a component; and the same written as AWS FIS actions
(:mod:`cloudtwin.faults_fis`).

Each fault is scheduled at its ``at`` time (an FIS action with ``start_after``: when the
last of the named faults has completed) and written to the timeline, with its duration
when it has one, so the report can shade its window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudtwin.engine import make_sampler, stream
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.handler import FAIL, SLEEP, CStep
from cloudtwin.spec.fis import length, start_times
from cloudtwin.spec.schema import Fault

if TYPE_CHECKING:
    from cloudtwin.component import Component
    from cloudtwin.simulation import Simulation


def schedule(sim: Simulation) -> None:
    starts = start_times(sim.arch.faults)
    for i, f in enumerate(sim.arch.faults):
        sim.engine.at(starts[i], _Scheduled(sim, f, i).fire)
    if sim.arch.failures:
        from cloudtwin.failures import schedule as random_failures

        random_failures(sim)
    if sim.arch.hypothesis is not None and sim.arch.hypothesis.stop:
        sim.experiment.watch()


class _Scheduled:
    __slots__ = ("sim", "fault", "index")

    def __init__(self, sim: Simulation, fault: Fault, index: int) -> None:
        self.sim, self.fault, self.index = sim, fault, index

    def fire(self, _: object = None) -> None:
        if self.sim.experiment.stopped:
            self.sim.event("fault", f"{_name(self.fault)} not started: the experiment was stopped")
            return
        _fire(self.sim, self.fault, self.index)


def _name(f: Fault) -> str:
    from cloudtwin.faults_fis import describe

    return describe(f) if f.action == "fis" else _describe(f)


def _describe(f: Fault) -> str:
    extra = (f" count={f.count}" if f.action in ("terminate", "spot_interruption", "link_down", "status_check_failure")
             and f.count != 1 else "")
    return f"{f.action} {f.target}{extra}"


def _fire(sim: Simulation, f: Fault, i: int) -> None:
    act = f.action
    notes: list[str] = []
    if act == "fis":
        from cloudtwin import faults_fis

        notes = faults_fis.fire(sim, f, i, lambda zone, seconds: _outage(sim, zone, seconds))
        detail = faults_fis.describe(f) + (f": {'; '.join(notes)}" if notes else "")
        sim.event("fault", detail, duration_s=length(f) or None)
        return
    if act == "az_outage":
        _outage(sim, f.target, f.duration or 0.0)
    else:
        comp = sim.components[f.target]
        if act == "terminate":
            notes = comp.terminate(f.count, f.zone)
        elif act == "replace":
            notes = comp.replace()
        elif act == "spot_interruption":
            notes = comp.spot_interruption(f.count)
        elif act == "db_failover":
            notes = comp.failover()
        elif act == "link_down":
            notes = comp.link_down(f.count, f.duration)
        elif act == "status_check_failure":
            notes = comp.impair(f.count, f.duration)
        elif act == "data_loss":
            notes = comp.data_loss()
        else:
            _inject(sim, comp, f, i)
    detail = _describe(f) + (f": {'; '.join(notes)}" if notes else "")
    sim.event("fault", detail, duration_s=f.duration)


def _outage(sim: Simulation, zone: str, seconds: float) -> None:
    n = sim.zone_outages.get(zone, 0)
    sim.zone_outages[zone] = n + 1  # overlapping outages of one zone: it is back when the last ends
    if n == 0:
        sim.set_zone(zone, up=False)
    sim.engine.after(seconds, sim.experiment.ending(lambda: _zone_back(sim, zone)))


def _zone_back(sim: Simulation, zone: str) -> None:
    sim.zone_outages[zone] -= 1
    if sim.zone_outages[zone] == 0:
        sim.set_zone(zone, up=True)
        sim.event("recovery", f"zone {zone} back")


def _inject(sim: Simulation, comp: Component, f: Fault, i: int) -> None:
    """Injected latency or errors: a step every request to ``comp`` runs first, for the
    fault's duration (:meth:`Component.inject`). Faults on one component stack."""
    if f.action == "latency":
        step = CStep(SLEEP)
        step.sample = make_sampler(f.add, stream(sim.seed, f"fault[{i}].latency"))
    else:
        step = CStep(FAIL)
        step.sample = uniform_sampler(stream(sim.seed, f"fault[{i}].errors"))
        step.rate = f.rate
    comp.inject(step)

    def restore() -> None:
        comp.eject(step)
        sim.event("recovery", f"{f.action} on {f.target} ends")

    sim.engine.after(f.duration or 0.0, sim.experiment.ending(restore))
