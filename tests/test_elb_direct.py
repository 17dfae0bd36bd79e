"""A load balancer serves a request on a plain instance's one-cpu-step fast path itself
(elb_routing._forward, then _served): the results must be those of Instance.handle, then
Instance._fast_done, then _Fwd.reply, under queueing, an AZ outage that kills requests in
service, scale-in that drains targets, sessions (which take the general path) and proxying."""

from __future__ import annotations

from typing import Any

import pytest

import cloudtwin
from cloudtwin.services import elb_routing

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


def _run(text: str, direct: bool) -> dict[str, Any]:
    sim = cloudtwin.Simulation(cloudtwin.parse_spec(text))
    if not direct:
        for c in sim.components.values():
            if isinstance(c, elb_routing.Routing):
                c.direct = None  # every request through Instance.handle and _Fwd.reply
    data = sim.run().data
    data.pop("wall_s", None)
    return data


@pytest.mark.parametrize("text", [BUSY, MIXED], ids=["busy", "mixed"])
def test_direct_serving_matches_instance_handle(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    served = [0]
    inner = elb_routing._served

    def counted(f: Any) -> None:
        served[0] += 1
        inner(f)

    monkeypatch.setattr(elb_routing, "_served", counted)
    direct = _run(text, True)
    n_direct = served[0]
    served[0] = 0
    ref = _run(text, False)
    assert served[0] == 0  # the reference never took the direct path
    assert n_direct > 10_000  # the direct run took it for most requests
    assert direct == ref


def test_busy_spec_exercises_the_fallbacks() -> None:
    """The busy spec queues requests and loses some to the outage, so the paths the direct
    serving leaves to Instance.handle and the dead-instance branch of _served are compared too."""
    data = _run(BUSY, True)
    users = data["workloads"]["users"]
    assert users["errors"]["unavailable"] > 0  # killed in service or refused in zone a
    assert users["latency_ms"]["p99"] > 1000.0  # queued: exp(20ms) alone has a p99 of 92 ms
    assert users["succeeded"] > 100_000
