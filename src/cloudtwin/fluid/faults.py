"""Faults beyond ``az_outage`` in the fluid engine (:mod:`cloudtwin.faults` is the exact one).

* ``terminate: <asg|ec2>`` (``count``, ``zone``): that many running instances (in the exact
  engine's order: the group's members as launched) stop answering at once. The balancer
  still routes to them until its health checks fail them (``interval * (unhealthy_threshold
  - 1/2)`` on average) or the group's health check, every ``HEALTH_PERIOD`` (half of it
  on average), terminates them and launches replacements [aws-facts §1 health-check
  defaults; §2 health checks]; a bare ``ec2`` instance is not replaced.
* ``db_failover: <rds|elasticache>``: the primary (every shard's) is ``unavailable`` for the
  mean ``failover_time`` (:mod:`cloudtwin.fluid.stations`).
* ``latency`` / ``errors`` on a downstream station: its mean added delay, or its error share,
  for the fault's duration.
"""

from __future__ import annotations

import math
from typing import Any

from cloudtwin.fluid.fleet import Cohort, FluidFleet, dist_mean
from cloudtwin.services.asg import HEALTH_PERIOD

INF = math.inf


def terminate(fleet: FluidFleet, t: float, count: int, zone: str | None) -> str:
    """Kill ``count`` running instances of ``fleet`` at ``t``; returns the timeline note."""
    fleet._changed()
    detect = t + HEALTH_PERIOD / 2.0 if fleet.asg else INF
    left = count
    for k in list(fleet.cohorts):
        if left <= 0:
            break
        if not (k.ready <= t < k.dead and k.gone == INF) or (zone is not None and k.zone != zone):
            continue
        m = min(left, k.n)
        unrouted = min(k.unrouted, detect, t + fleet.lb_detect)
        if k.n > m:
            k.n -= m
            fleet.cohorts.append(Cohort(k.zone, m, k.purchase, k.launched, k.ready, k.routed, k.warm, t,
                                        unrouted, detect if fleet.asg else INF))
        else:
            k.dead, k.unrouted = t, unrouted
            k.gone = detect if fleet.asg else k.gone
        left -= m
    killed = count - left
    if fleet.asg and killed:
        fleet.actions.append((detect, "replace", (killed, "terminated")))
    return f"terminated {killed} instance(s) of {fleet.name}"


def schedule(run: Any) -> list[tuple[float, str, Any]]:
    """The faults of ``run.arch`` other than az_outage as (time, detail, action) with ``action(t)``
    returning an extra note (or None)."""
    out: list[tuple[float, str, Any]] = []
    for i, f in enumerate(run.arch.faults):
        act = f.action
        if act == "az_outage":
            continue
        at = float(f.at or 0.0)
        name = f.target
        if act == "terminate":
            fl = run.fleets[name]
            out.append((at, f"terminate {name} count={f.count}",
                        lambda t, fl=fl, f=f: terminate(fl, t, f.count, f.zone)))
        elif act == "db_failover":
            st = run.flows.stations[name]
            out.append((at, f"db_failover {name}", lambda t, st=st: st.failover(t)))
        else:
            st = run.flows.stations[name]
            end = at + float(f.duration or 0.0)
            if act == "latency":
                add = dist_mean(f.add, f"{run.seed}:fault[{i}].latency")
                st.delays.append((at, end, add))
                detail = f"latency {name} +{add * 1000:g} ms (mean) for {f.duration:g}s"
            else:
                st.failing.append((at, end, float(f.rate)))
                detail = f"errors {name} rate={f.rate:g} for {f.duration:g}s"
            out.append((at, detail, lambda t: None))
            out.append((end, f"{act} on {name} ends", lambda t: None))
    return out
