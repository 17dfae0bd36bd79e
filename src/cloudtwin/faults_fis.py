"""What each AWS FIS action does in the simulation (the vocabulary is :mod:`cloudtwin.spec.fis`).

Each action maps onto the fault machinery of :mod:`cloudtwin.faults` and the services:

* instance actions (``aws:ec2:terminate-instances``, ``stop-instances``,
  ``send-spot-instance-interruptions``, ``aws:ecs:stop-task``) pick ``selectionMode`` of the
  target's running instances (in ``zone`` when given) and terminate, stop or interrupt them; an
  Auto Scaling group replaces a stopped instance as it does a terminated one, since a stopped
  instance fails its EC2 status check [aws-facts §2 Health-check type];
* ``aws:network:disrupt-connectivity`` (scope ``all``) and the scenario *AZ Availability: Power
  Interruption* take the zone down for their duration, as an ``az_outage`` does;
* ``aws:elasticache:replicationgroup-interrupt-az-power`` takes the zone down for that one
  replication group only; ``aws:rds:*`` fail over or reboot the database;
* ``aws:lambda:*`` and ``aws:fis:inject-api-*`` inject a delay or an error kind into a share of
  the requests for their duration.

Which instances a COUNT or PERCENT selection takes: the first in launch order (FIS picks at
random; the instances of one component are alike in the model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudtwin.engine import make_sampler, stream
from cloudtwin.engine.sampling import const, uniform_sampler
from cloudtwin.handler import FAIL, SLEEP, CStep
from cloudtwin.request import SERVER_ERROR, THROTTLED, UNAVAILABLE
from cloudtwin.spec.fis import SCENARIO, is_scenario, length, param, selected, zone_of

if TYPE_CHECKING:
    from cloudtwin.component import Component
    from cloudtwin.simulation import Simulation
    from cloudtwin.spec.schema import Fault

API_ERRORS = {"aws:fis:inject-api-throttle-error": THROTTLED, "aws:fis:inject-api-unavailable-error": UNAVAILABLE,
              "aws:fis:inject-api-internal-error": SERVER_ERROR}
SPOT_NOTICE = 120.0  # the interruption notice comes 2 minutes before [aws-facts §3 Spot interruption notice]


def population(comp: Component, zone: str | None) -> int:
    """The target's running instances (ECS: tasks), in ``zone`` when given."""
    pool: list[Any] = getattr(comp, "tasks", None) or getattr(comp, "instances", [])
    return sum(1 for i in pool if i.state == "running" and (zone is None or i.zone == zone))


def fire(sim: Simulation, f: Fault, i: int, outage: Any) -> list[str]:
    """Start FIS fault ``f`` (the ``i``-th fault); ``outage(zone, seconds)`` takes a zone down.
    Returns the notes for the timeline."""
    fis = f.fis or ""
    if is_scenario(fis) or fis == "aws:network:disrupt-connectivity":
        assert f.zone is not None
        outage(f.zone, length(f))
        what = "power interruption" if is_scenario(fis) else "subnets cut off"
        return [f"zone {f.zone} {what} for {length(f):.0f}s"]
    if fis == "aws:fis:wait":
        return [f"wait {length(f):.0f}s"]
    comp = sim.components[f.target]
    if fis in ("aws:ec2:terminate-instances", "aws:ecs:stop-task", "aws:ec2:stop-instances",
               "aws:ec2:send-spot-instance-interruptions"):
        return _instances(sim, comp, f)
    if fis == "aws:ec2:asg-insufficient-instance-capacity-error":
        zones = [z for z in (zone_of(t, sim.arch) for t in str(f.parameters["availabilityZoneIdentifiers"]).split(","))
                 if z is not None]
        release = comp.block_launches(zones)  # type: ignore[attr-defined]
        sim.engine.after(length(f), sim.experiment.ending(release))
        return [f"{comp.name}: launches in {', '.join(zones)} fail (insufficient capacity) for {length(f):.0f}s"]
    if fis == "aws:rds:failover-db-cluster" or (fis == "aws:rds:reboot-db-instances" and param(f, "forceFailover")):
        return comp.failover()
    if fis == "aws:rds:reboot-db-instances":
        return comp.reboot()  # type: ignore[attr-defined, no-any-return]
    if fis == "aws:elasticache:replicationgroup-interrupt-az-power":
        return _power(sim, comp, f)
    _inject(sim, comp, f, i)
    return []


def _instances(sim: Simulation, comp: Component, f: Fault) -> list[str]:
    fis = f.fis
    n = selected(f.selection or "ALL", population(comp, f.zone))
    if n == 0:
        return [f"no running instance of {comp.name} selected"]
    if fis == "aws:ec2:send-spot-instance-interruptions":
        lead = max(0.0, length(f) - SPOT_NOTICE)  # the notice comes 2 minutes before the interruption

        def interrupt(_: object = None) -> None:
            if sim.experiment.stopped:
                return
            sim.event("fault", f"{fis} {comp.name}: " + "; ".join(comp.spot_interruption(n)))

        if lead > 0:
            sim.engine.after(lead, interrupt)
            return [f"{n} spot instance(s) get the 2-minute notice in {lead:.0f}s"]
        return comp.spot_interruption(n)
    if fis == "aws:ec2:stop-instances" and comp.kind == "ec2":
        return comp.stop(n, f.zone, param(f, "startInstancesAfterDuration"))  # type: ignore[attr-defined, no-any-return]
    notes = comp.terminate(n, f.zone)
    if fis == "aws:ec2:stop-instances":
        notes.append("stopped instances fail their EC2 status check; the group replaces them")
    return notes


def _power(sim: Simulation, comp: Component, f: Fault) -> list[str]:
    """ElastiCache: the nodes of one group in ``zone`` lose power for the duration."""
    zone = f.zone
    assert zone is not None
    comp.zone_outage(zone, True)

    def back() -> None:
        comp.zone_outage(zone, False)
        sim.event("recovery", f"{comp.name}: power back in zone {zone}")

    sim.engine.after(length(f), sim.experiment.ending(back))
    return [f"{comp.name}: nodes in zone {zone} lose power for {length(f):.0f}s"]


def _inject(sim: Simulation, comp: Component, f: Fault, i: int) -> None:
    """Lambda delays and errors, API errors: a step before every request for the duration."""
    fis = f.fis or ""
    if fis == "aws:lambda:invocation-add-delay":
        share = param(f, "invocationPercentage") / 100.0
        delay = param(f, "startupDelayMilliseconds") / 1000.0
        step = CStep(SLEEP)
        pick = uniform_sampler(stream(sim.seed, f"fault[{i}].fis"))
        fixed = make_sampler(const(delay), stream(sim.seed, f"fault[{i}].latency"))
        step.sample = lambda: fixed() if pick() < share else 0.0
    else:
        step = CStep(FAIL)
        step.sample = uniform_sampler(stream(sim.seed, f"fault[{i}].fis"))
        key = "invocationPercentage" if fis.startswith("aws:lambda:") else "percentage"
        step.rate = param(f, key) / 100.0
        step.op = API_ERRORS.get(fis, "")  # the error kind ("" is server_error)
    comp.inject(step)

    def restore() -> None:
        comp.eject(step)
        sim.event("recovery", f"{fis} on {comp.name} ends")

    sim.engine.after(length(f), sim.experiment.ending(restore))


def describe(f: Fault) -> str:
    """The timeline's words for FIS fault ``f``."""
    if is_scenario(f.fis):
        return f"{SCENARIO} (zone {f.zone})"
    where = f" in zone {f.zone}" if f.zone else ""
    sel = f" {f.selection}" if f.selection and f.selection != "ALL" else ""
    return f"{f.fis} {f.target}{sel}{where}" if f.targets else f"{f.fis}{where}"
