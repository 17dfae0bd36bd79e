"""Filters in front of components and instances (cloudtwin.guard): they are asked first, ahead
of injected faults, and they stay in front of an instance that is stopped and started."""

from __future__ import annotations

from typing import Any

import cloudtwin

ALB = """
name: waf-fault
zones: [a, b]
components:
  lb: {type: alb, targets: web}
  web: {type: asg, zones: [a, b], capacity: {min: 2, max: 2}, handler: [{cpu: exp(3ms)}]}
  sg:
    type: security_group
    protects: [lb]
    inbound: [{cidr: 198.51.100.0/24}, {cidr: 203.0.113.0/24}]
  acl:
    type: waf
    protects: [lb]
    rules: [{name: per-ip, priority: 1, rate: {limit: 100, window: 1m}}]
workloads:
  u:
    entry: lb
    rate: 40/s
    sources: {ips: 198.51.100.0/24}
    attack: {rate: 40/s, ips: 203.0.113.0/24, addresses: 5}
  other: {entry: lb, rate: 5/s, sources: {ips: 192.0.2.0/24}}
simulate: {duration: 4m, seed: 3}
"""

FAULTS = """
faults:
  - {at: 1m, errors: lb, rate: 0.2, duration: 2m}
  - {at: 90s, latency: lb, add: 20ms, duration: 2m}
"""


def _run(text: str) -> dict[str, Any]:
    return cloudtwin.Simulation(cloudtwin.parse_spec(text)).run()


def test_filters_on_a_load_balancer_are_asked_before_its_injected_faults() -> None:
    """A web ACL and a security group on an ALB with an errors and a latency fault: the run used
    to stop with a TypeError (the fault's second pass into ``handle`` met the filter's wrapper).
    The filters see every request before the faults do, so their counts are the same with and
    without the faults (open-loop arrivals), and only requests they let in meet a fault."""
    plain, faulted = _run(ALB), _run(ALB + FAULTS)
    for name in ("acl", "sg"):
        keys = ("requests", "errors", "denied", "blocked", "allowed")
        assert ({k: v for k, v in faulted["components"][name].items() if k in keys}
                == {k: v for k, v in plain["components"][name].items() if k in keys}), name
    acl, sg, lb = (faulted["components"][n] for n in ("acl", "sg", "lb"))
    wls = faulted["workloads"]
    sent = wls["u"]["requests"] + wls["u"]["attack"]["requests"] + wls["other"]["requests"]
    assert acl["requests"] == sent  # the web ACL (installed last) is asked first
    assert sg["requests"] == sent - acl["errors"]  # then the security group
    assert lb["requests"] == sg["requests"] - sg["errors"]  # then the ALB, where the faults run
    server_errors = wls["u"]["errors"]["server_error"] + wls["u"]["attack"]["errors"].get("server_error", 0)
    assert lb["errors"] == server_errors > 0 and plain["components"]["lb"]["errors"] == 0


ONE = """
name: one-instance
components:
  web: {type: ec2, handler: [{cpu: exp(2ms)}]}
%s
workloads:
  u:
    entry: web
    rate: 20/s
    sources: {ips: 198.51.100.0/24}
    attack: {rate: 20/s, ips: 203.0.113.0/24, addresses: 10}
faults:
  - {at: 1m, replace: web}
simulate: {duration: 5m, seed: 2}
"""

NACL = """
  acl:
    type: network_acl
    protects: [web]
    inbound: [{rule: 100, action: deny, cidr: 203.0.113.0/24}, {rule: 200, action: allow, cidr: 0.0.0.0/0}]
    outbound: [{rule: 100, action: allow, cidr: 0.0.0.0/0}]
"""


def test_an_instance_stopped_and_started_keeps_its_network_acl() -> None:
    """The instance that comes back from a stop/start (``replace`` on an ec2) is in the same
    subnet: its network ACL still answers every request (it used to see only the first minute's)."""
    res = _run(ONE % NACL)
    acl, u = res["components"]["acl"], res["workloads"]["u"]
    assert acl["requests"] == u["requests"] + u["attack"]["requests"]
    assert acl["inbound_rules_matched"]["200"] == u["requests"]
    assert acl["denied_inbound"]["attack"] == u["attack"]["requests"]


def test_attack_traffic_reaches_a_single_instance_again_after_a_stop_and_start() -> None:
    """Attackers send to the entry as every workload does: after the one instance's stop/start
    they reach the new one (they used to keep calling the stopped one, failing for good)."""
    u = _run(ONE % "")["workloads"]["u"]
    attack = u["attack"]
    # both are open-loop at 20/s and fail only while the instance boots
    assert abs(attack["failed"] / attack["requests"] - u["failed"] / u["requests"]) < 0.02
    assert attack["succeeded"] > 0.75 * attack["requests"]
