"""Route 53: client-side caching of A and alias answers, health checks, failover and
weighted routing. Numbers come from aws-facts §4 and the documented assumptions."""

from __future__ import annotations

import math
import textwrap
from typing import Any

import pytest

import cloudtwin
from cloudtwin.engine import stream
from cloudtwin.simulation import Simulation
from cloudtwin.workloads import WorkloadRun


def run(text: str) -> cloudtwin.Results:
    return Simulation(cloudtwin.parse_spec(textwrap.dedent(text))).run()


@pytest.fixture
def failures(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, str]]:
    """(time, error kind) of every failed request, in order."""
    log: list[tuple[float, str]] = []
    orig = WorkloadRun._complete

    def spy(self: WorkloadRun, req: Any, err: str | None) -> None:
        if err is not None and not req.finished:
            log.append((self.engine.now, err))
        orig(self, req, err)

    monkeypatch.setattr(WorkloadRun, "_complete", spy)
    return log


ONE_CLIENT = """
name: one-client
components:
  dns:
    type: route53
    records:
      - {{name: app.example.com, {record}}}
  {extra}
  app: {{type: ec2, elastic_ip: {eip}, boot_time: 20s, {ec2}handler: [{{cpu: 5ms}}]}}
workloads:
  users: {{entry: dns, rate: 1/s, arrivals: constant, clients: 1}}
faults:
  - {{at: 60.5s, replace: app}}
simulate: {{duration: 400s, seed: 1}}
"""


def test_a_record_client_fails_until_its_cached_ttl_expires(failures: list[tuple[float, str]]) -> None:
    r = run(ONE_CLIENT.format(record="a: app, ttl: 120s", extra="", eip="false", ec2=""))
    # The client resolved at t=1 s and cached the old IP until 121 s. The instance is
    # back at 80.5 s with a new IP, but the client keeps calling the old one.
    times = [t for t, _ in failures]
    assert r.workload("users")["failed"] == len(times) == 60
    assert times[0] == pytest.approx(61.0) and times[-1] == pytest.approx(120.0)
    assert {k for _, k in failures} == {"unavailable"}
    back = [e["t"] for e in r["timeline"] if e["kind"] == "lifecycle" and "running" in e["detail"]]
    assert back == [pytest.approx(80.5)]
    assert r.component("dns")["queries"] == 4  # a lookup every 120 s: at 1, 121, 241 and 361 s


def test_a_record_ttl_defaults_to_300_s(failures: list[tuple[float, str]]) -> None:
    run(ONE_CLIENT.format(record="a: app", extra="", eip="false", ec2=""))
    assert failures[-1][0] == pytest.approx(300.0)  # resolved at 1 s, cached for 300 s (assumption)


def test_elastic_ip_fails_only_while_the_instance_is_down(failures: list[tuple[float, str]]) -> None:
    r = run(ONE_CLIENT.format(record="a: app, ttl: 120s", extra="", eip="true", ec2=""))
    times = [t for t, _ in failures]
    assert r.workload("users")["failed"] == 20  # 61..80 s: the 20 s boot
    assert times[0] == pytest.approx(61.0) and times[-1] == pytest.approx(80.0)


def test_alias_to_a_load_balancer_loses_nothing(failures: list[tuple[float, str]]) -> None:
    r = run(ONE_CLIENT.format(record="alias: lb", extra="lb: {type: alb, targets: app}", eip="false",
                              ec2="count: 2, zones: [a, b], "))
    assert failures == []
    assert r.workload("users")["succeeded"] == 399
    # both instances were replaced, one at a time, behind the ALB
    assert sum("running" in e["detail"] for e in r["timeline"] if e["kind"] == "lifecycle") == 2


def test_workload_host_picks_the_record() -> None:
    r = run("""
    name: hosts
    components:
      dns:
        type: route53
        records:
          - {name: one.example.com, a: one}
          - {name: two.example.com, a: two}
      one: {type: ec2, handler: [{cpu: 1ms}]}
      two: {type: ec2, handler: [{cpu: 1ms}]}
    workloads:
      a: {entry: dns, rate: 20/s}
      b: {entry: dns, rate: 10/s, host: two.example.com}
    simulate: {duration: 100s, seed: 1}
    """)
    assert r.component("one")["requests"] == r.workload("a")["requests"] > 1500
    assert r.component("two")["requests"] == r.workload("b")["requests"] > 700


def test_failover_on_health_check_then_cached_answers_expire(failures: list[tuple[float, str]]) -> None:
    r = run("""
    name: failover
    components:
      dns:
        type: route53
        records:
          - {name: app.example.com, a: primary, ttl: 60s, routing: failover, failover: primary,
             health_check: {interval: 10}}
          - {name: app.example.com, a: standby, ttl: 60s, routing: failover, failover: secondary}
      primary: {type: ec2, handler: [{cpu: 2ms}]}
      standby: {type: ec2, handler: [{cpu: 2ms}]}
    workloads:
      users: {entry: dns, rate: 20/s, clients: 500}
    faults:
      - {at: 100s, terminate: primary}
    simulate: {duration: 400s, seed: 1}
    """)
    [flip] = [e["t"] for e in r["timeline"] if e["kind"] == "health" and e.get("state") == "unhealthy"]
    # fast checks every 10 s, 3 consecutive failures flip the status [aws-facts §4]
    phase = float(stream(1, "dns.health[0]").random()) * 10.0
    first_fail = phase + math.ceil((100.0 - phase) / 10.0) * 10.0
    assert flip == pytest.approx(first_fail + 20.0, abs=1e-3)
    assert 120.0 < flip <= 130.0
    times = [t for t, _ in failures]
    assert times[0] >= 100.0
    # clients that resolved just before the flip keep the dead IP for the 60 s TTL
    assert flip < times[-1] <= flip + 60.0
    assert sum(t > flip for t in times) > 50
    assert r.component("standby")["requests"] > 4000


def test_weighted_routing_splits_by_weight_and_never_picks_weight_zero() -> None:
    r = run("""
    name: weighted
    components:
      dns:
        type: route53
        records:
          - {name: app.example.com, a: blue, ttl: 1s, routing: weighted, weight: 3}
          - {name: app.example.com, a: green, ttl: 1s, routing: weighted, weight: 1}
          - {name: app.example.com, a: spare, ttl: 1s, routing: weighted, weight: 0}
      blue: {type: ec2, handler: [{cpu: 1ms}]}
      green: {type: ec2, handler: [{cpu: 1ms}]}
      spare: {type: ec2, handler: [{cpu: 1ms}]}
    workloads:
      users: {entry: dns, rate: 100/s, clients: 20}
    simulate: {duration: 200s, seed: 1}
    """)
    blue, green = r.component("blue")["requests"], r.component("green")["requests"]
    assert blue / (blue + green) == pytest.approx(0.75, abs=0.03)
    assert r.component("spare")["requests"] == 0
    assert r.component("dns")["queries"] > 3000  # a 1 s TTL means a lookup per second per client


EVAL_SPEC = """
name: eth
components:
  dns:
    type: route53
    records:
      - {{name: app.example.com, alias: lb1, routing: failover, failover: primary, evaluate_target_health: {eth}}}
      - {{name: app.example.com, alias: lb2, routing: failover, failover: secondary}}
  lb1: {{type: alb, targets: blue, zones: [a, b]}}
  lb2: {{type: alb, targets: green, zones: [a, b]}}
  blue: {{type: ec2, handler: [{{cpu: 2ms}}]}}
  green: {{type: ec2, handler: [{{cpu: 2ms}}]}}
workloads:
  users: {{entry: dns, rate: 20/s, clients: 500}}
faults:
  - {{at: 100s, terminate: blue}}
simulate: {{duration: 400s, seed: 1}}
"""


def test_evaluate_target_health_fails_over_an_alias(failures: list[tuple[float, str]]) -> None:
    r = run(EVAL_SPEC.format(eth="true"))
    [unhealthy] = [e["t"] for e in r["timeline"] if e.get("target") == "blue-1" and e.get("state") == "unhealthy"]
    times = [t for t, _ in failures]
    # once lb1 has no healthy target, new lookups get lb2; cached ones last 60 s (assumption)
    assert unhealthy < times[-1] <= unhealthy + 60.0
    assert r.component("green")["requests"] > 3000
    failures.clear()
    r = run(EVAL_SPEC.format(eth="false"))
    assert failures[-1][0] > 390.0  # without it the dead primary is answered forever
    assert r.component("green")["requests"] == 0
