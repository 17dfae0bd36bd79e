"""Scheduled faults: AZ outages, terminations, replacements, spot interruptions,
database failovers, network link failures, instance status-check failures, and injected latency or errors
on a component.

Each fault is scheduled at its ``at`` time and written to the timeline, with its
duration when it has one, so the report can shade its window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudtwin.engine import make_sampler, stream
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.handler import FAIL, SLEEP, CStep
from cloudtwin.spec.schema import Fault

if TYPE_CHECKING:
    from cloudtwin.component import Component
    from cloudtwin.simulation import Simulation


def schedule(sim: Simulation) -> None:
    for i, f in enumerate(sim.arch.faults):
        sim.engine.at(f.at, _Scheduled(sim, f, i).fire)


class _Scheduled:
    __slots__ = ("sim", "fault", "index")

    def __init__(self, sim: Simulation, fault: Fault, index: int) -> None:
        self.sim, self.fault, self.index = sim, fault, index

    def fire(self, _: object = None) -> None:
        _fire(self.sim, self.fault, self.index)


def _describe(f: Fault) -> str:
    extra = (f" count={f.count}" if f.action in ("terminate", "spot_interruption", "link_down", "status_check_failure")
             and f.count != 1 else "")
    return f"{f.action} {f.target}{extra}"


def _fire(sim: Simulation, f: Fault, i: int) -> None:
    act = f.action
    notes: list[str] = []
    if act == "az_outage":
        n = sim.zone_outages.get(f.target, 0)
        sim.zone_outages[f.target] = n + 1  # overlapping outages of one zone: it is back when the last ends
        if n == 0:
            sim.set_zone(f.target, up=False)
        sim.engine.after(f.duration or 0.0, lambda _: _zone_back(sim, f.target))
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

    def restore(_: object) -> None:
        comp.eject(step)
        sim.event("recovery", f"{f.action} on {f.target} ends")

    sim.engine.after(f.duration or 0.0, restore)
