"""A load balancer serves a request on a plain instance's one-cpu-step fast path itself
(elb_routing._forward, then _served, which counts a plain workload's success itself), and
Route 53 routes an alias answer to a plain round-robin LB inline: the results must be those of
Route53 -> Routing.handle -> Instance.handle -> Instance._fast_done -> _Fwd.reply ->
WorkloadRun._complete, under queueing, an AZ outage that kills requests in service, scale-in
that drains targets, sessions (which take the general path), stickiness and an NLB."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.services import elb_routing
from cloudtwin.workloads import WorkloadRun

# ~85 % busy on 2 x c5.large at the start, and overloaded on one during the AZ outage (which
# kills in-service requests in zone a): requests queue; target tracking scales out, then in
# afterwards (draining)
BUSY = """
name: busy
zones: [a, b]
components:
  dns: {type: route53, records: [{name: app.example.com, alias: lb}]}
  lb: {type: alb, targets: web}
  web:
    type: asg
    instance_type: c5.large
    zones: [a, b]
    capacity: {min: 2, desired: 2, max: 6}
    scaling: {target_cpu: 50}
    handler: [{cpu: exp(20ms)}]
workloads:
  users: {entry: dns, rate: 170/s}
faults:
  - {at: 3m, az_outage: a, duration: 4m}
simulate: {duration: 14m, seed: 3}
"""

# sessions with their state on the instance: their requests take Instance.handle's general
# path (a Run); an NLB (no proxy, a flow hash) in front of an EC2 fleet beside it
MIXED = """
name: mixed
zones: [a, b]
components:
  lb: {type: alb, targets: web, stickiness: true}
  web: {type: asg, instance_type: m5.large, zones: [a, b], capacity: {min: 2, desired: 2, max: 2},
        handler: [{cpu: exp(15ms)}]}
  nlb: {type: nlb, targets: api}
  api: {type: ec2, count: 2, instance_type: m5.large, handler: [{cpu: exp(10ms)}]}
workloads:
  users: {entry: lb, rate: 4/s, sessions: {requests: 10, think: exp(2s), state: instance}}
  calls: {entry: nlb, rate: 120/s}
faults:
  - {at: 2m, terminate: web, count: 1}
simulate: {duration: 6m, seed: 5}
"""

# a handler with a call: every request takes Instance.handle's general path (a Run), and the
# workload's successes are counted in _Fwd.reply; a target is terminated mid-run
CALLED = """
name: called
zones: [a, b]
components:
  dns: {type: route53, records: [{name: app.example.com, alias: lb}]}
  lb: {type: alb, targets: web}
  web: {type: asg, instance_type: m5.large, zones: [a, b], capacity: {min: 2, desired: 2, max: 4},
        handler: [{cpu: exp(10ms)}, {call: db.query}]}
  db: {type: rds, engine: postgres, instance_class: db.m5.large}
workloads:
  users: {entry: dns, rate: 100/s}
faults:
  - {at: 2m, terminate: web, count: 1}
simulate: {duration: 5m, seed: 7}
"""


def _run(text: str, direct: bool) -> dict[str, Any]:
    sim = cloudtwin.Simulation(cloudtwin.parse_spec(text))
    if not direct:
        for c in sim.components.values():
            if isinstance(c, elb_routing.Routing):
                c.direct = None  # every request through Instance.handle and _Fwd.reply
    data = sim.run().data
    data.pop("wall_s", None)
    return data


@pytest.mark.parametrize(("text", "served_min"), [(BUSY, 10_000), (MIXED, 10_000), (CALLED, 0)],
                         ids=["busy", "mixed", "called"])
@pytest.mark.python_only
def test_direct_serving_matches_instance_handle(text: str, served_min: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    served = [0]
    routed = [0]
    inner = elb_routing._served
    handle = elb_routing.Routing.handle

    def counted(f: Any) -> None:
        served[0] += 1
        inner(f)

    def counted_handle(self: Any, *a: Any, **kw: Any) -> None:
        routed[0] += 1
        handle(self, *a, **kw)

    completed = [0]
    complete = WorkloadRun._complete

    def counted_complete(self: Any, *a: Any, **kw: Any) -> None:
        completed[0] += 1
        complete(self, *a, **kw)

    monkeypatch.setattr(elb_routing, "_served", counted)
    monkeypatch.setattr(elb_routing.Routing, "handle", counted_handle)
    monkeypatch.setattr(WorkloadRun, "_complete", counted_complete)
    direct = _run(text, True)
    n_direct, n_routed, n_completed = served[0], routed[0], completed[0]
    served[0] = routed[0] = completed[0] = 0
    ref = _run(text, False)
    done = sum(w["succeeded"] + w["failed"] for w in ref["workloads"].values())
    assert completed[0] == done  # the reference counted every request in WorkloadRun._complete
    # the direct run counted the successes it served for a workload without sessions itself
    assert n_completed < done - 10_000
    assert served[0] == 0  # the reference never took the direct path
    assert n_direct >= served_min  # the direct run took it for most one-cpu-step requests
    assert direct == ref
    lb_requests = sum(c["requests"] for c in ref["components"].values() if c["type"] in ("alb", "nlb"))
    assert routed[0] == lb_requests  # the reference routed every request in the LB's handle
    if "dns" in ref["components"]:  # Route 53's alias answers were routed inline: no LB handle
        assert n_routed == 0
    else:
        assert n_routed == lb_requests


def test_busy_spec_exercises_the_fallbacks() -> None:
    """The busy spec queues requests and loses some to the outage, so the paths the direct
    serving leaves to Instance.handle and the dead-instance branch of _served are compared too."""
    data = _run(BUSY, True)
    users = data["workloads"]["users"]
    assert users["errors"]["unavailable"] > 0  # killed in service or refused in zone a
    assert users["latency_ms"]["p99"] > 1000.0  # queued: exp(20ms) alone has a p99 of 92 ms
    assert users["succeeded"] > 100_000
