"""EC2 Auto Scaling group: placement, scaling policies, health replacement, AZ outage, spot.

The group is the workload's entry here (requests round-robin over in-service
instances), so these tests do not depend on the load balancer model. Loads use
constant arrivals and constant CPU so the utilisation, and hence each scaling
decision, is exact: m5.large has 2 vCPUs, so an instance serving r requests/s of
100 ms each runs at r * 0.1 / 2.
"""

from __future__ import annotations

from typing import Any

import pytest

from cloudtwin import Results, Simulation, SpecError, parse_spec
from cloudtwin.services.asg import ASG

SPEC = """
name: t
zones: {zones}
components:
  web:
    type: asg
    instance_type: m5.large
{web}
workloads:
  users: {{entry: web, rate: {rate}, arrivals: {arrivals}{profile}}}
faults: {faults}
simulate: {{duration: {duration}, seed: {seed}}}
"""


def make(web: str, *, rate: str = "10/s", arrivals: str = "constant", profile: str = "", faults: str = "[]",
         duration: str = "10m", zones: str = "[a, b]", seed: int = 1) -> Simulation:
    body = "\n".join("    " + line for line in web.strip().splitlines())
    text = SPEC.format(web=body, rate=rate, arrivals=arrivals, profile=profile, faults=faults,
                       duration=duration, zones=zones, seed=seed)
    return Simulation(parse_spec(text))


def group(sim: Simulation) -> ASG:
    g = sim.components["web"]
    assert isinstance(g, ASG)
    return g


def scaling(res: Results) -> list[tuple[float, str]]:
    return [(e["t"], e["detail"]) for e in res["timeline"] if e["kind"] == "scaling"]


def peak_alive(g: ASG) -> int:
    """Most instances billed at once (launched, not yet ended), from the instances' own times."""
    marks: list[tuple[float, int]] = []
    for i in g.instances:
        marks.append((i.launched_at, 1))
        if i.ended_at is not None:
            marks.append((i.ended_at, -1))
    marks.sort(key=lambda m: (m[0], m[1]))  # an end and a start at the same instant do not overlap
    n = best = 0
    for _, d in marks:
        n += d
        best = max(best, n)
    return best


def test_initial_instances_are_balanced_and_follow_the_purchase_mix() -> None:
    sim = make("""
capacity: {min: 1, desired: 5, max: 10}
purchase: {spot: 1, reserved: 2}
handler: [{cpu: 100ms}]
""", zones="[a, b, c]")
    g = group(sim)
    assert sorted(i.zone for i in g.instances) == ["a", "a", "b", "b", "c"]
    assert sorted(i.purchase for i in g.instances) == ["on_demand", "on_demand", "reserved", "reserved", "spot"]
    assert all(i.state == "running" and i.in_service_at == 0.0 for i in g.instances)


def test_target_tracking_scales_out_to_ceil_and_not_again_while_warming_up() -> None:
    # 24/s over 2 instances = 60% CPU from minute 2 (25% before). ceil(2 * 60 / 50) = 3, not round(2.4) = 2.
    # The new instance boots for 240 s and warms up for 300 s; until then the two old ones stay at 60%
    # and a policy counting the pending instance as "current" would scale out again.
    sim = make("""
capacity: {min: 2, desired: 2, max: 10}
boot_time: 240s
scaling: {target_cpu: 50}
handler: [{cpu: 100ms}]
""", profile=", profile: {type: spike, at: 2m, duration: 1h, factor: 2.4}", duration="16m")
    res = sim.run()
    g = group(sim)
    assert scaling(res) == [(300.0, "web 2 -> 3 (target tracking cpu 60% > 50%)")]  # 3 minutes above target
    new = [i for i in g.instances if i.launched_at > 0]
    assert len(new) == 1 and new[0].in_service_at == pytest.approx(540.0)
    assert res.component("web")["instances"]["max"] == 3
    assert res.workload("users")["availability"] == 1.0


def test_scale_in_is_gradual() -> None:
    # 30/s of 100 ms on 6 instances = 25% CPU against a 50% target: the exact answer is 3 instances.
    # Scale-in waits 15 minutes below target, then removes one instance per 5 minutes.
    sim = make("""
capacity: {min: 2, desired: 6, max: 10}
scaling: {target_cpu: 50}
handler: [{cpu: 100ms}]
""", rate="30/s", duration="31m")
    res = sim.run()
    events = scaling(res)
    assert [t for t, _ in events] == [900.0, 1200.0, 1500.0]
    assert [d.split(" (")[0] for _, d in events] == ["web 6 -> 5", "web 5 -> 4", "web 4 -> 3"]
    assert group(sim).desired == 3
    assert res.workload("users")["failed"] == 0  # instances were drained before termination


def test_simple_policy_waits_for_cooldown_after_the_launch_completes() -> None:
    # 40/s of 100 ms: 2 instances at 100%, 3 at 67%, 4 at 50%. Policy: above 60% for 1 minute, +1.
    sim = make("""
capacity: {min: 2, desired: 2, max: 6}
boot_time: 90s
scaling:
  policies: [{when: above, cpu: 60, adjust: 1}]
handler: [{cpu: 100ms}]
""", rate="40/s", duration="15m")
    res = sim.run()
    times = [t for t, _ in scaling(res)]
    # fires at minute 1; the launch completes at 150 s, the 300 s cooldown runs to 450 s,
    # and the alarm, still breached, fires again at the next 1-minute evaluation
    assert times == [60.0, 480.0]
    assert group(sim).desired == 4


def test_scheduled_actions_set_capacity_at_their_time() -> None:
    sim = make("""
capacity: {min: 2, desired: 2, max: 8}
boot_time: 60s
scaling:
  scheduled:
    - {at: 5m, desired: 6}
    - {at: 9m, max: 3}
handler: [{cpu: 100ms}]
""", duration="12m")
    res = sim.run()
    assert [t for t, _ in scaling(res)] == [300.0, 540.0]
    series = res["series"]["components"]["web"]
    assert series["desired"][3] == 2 and series["desired"][4] == 6  # samples at 240 s and 300 s
    assert series["in_service"][6] == 6  # sampled at 420 s, after the 60 s boot
    assert group(sim).desired == 3 and series["in_service"][-1] == 3


def test_scale_in_keeps_zones_balanced_and_the_reserved_base() -> None:
    # 6 instances over 3 AZs: a reserved one and an on-demand one in each. Scaling in to 3
    # takes from the fullest AZ each time and removes on-demand capacity above the mix first.
    sim = make("""
capacity: {min: 1, desired: 6, max: 6}
purchase: {reserved: 3}
scaling:
  scheduled: [{at: 1m, desired: 3}]
handler: [{cpu: 100ms}]
""", zones="[a, b, c]", duration="3m")
    sim.run()
    g = group(sim)
    assert sorted((i.zone, i.purchase) for i in g.members) == [("a", "reserved"), ("b", "reserved"),
                                                               ("c", "reserved")]
    gone = [i.ended_at for i in g.instances if i not in g.members]
    assert len(gone) == 3 and all(e is not None and 60.0 <= e <= 61.0 for e in gone)  # drained, then ended


def test_abruptly_terminated_instance_is_replaced_within_check_period_plus_boot() -> None:
    sim = make("""
capacity: {min: 3, desired: 3, max: 6}
boot_time: 60s
handler: [{cpu: 100ms}]
""", faults="[{at: 5m, terminate: web, count: 1}]")
    res = sim.run()
    g = group(sim)
    dead = [i for i in g.instances if i.ended_at == 300.0]
    new = [i for i in g.instances if i.launched_at > 0]
    assert len(dead) == 1 and len(new) == 1
    assert 300.0 <= new[0].launched_at <= 310.0  # the next 10 s health check
    assert new[0].in_service_at is not None and 360.0 <= new[0].in_service_at <= 370.0
    assert new[0].zone == dead[0].zone  # back into the AZ that lost it
    assert res.component("web")["instances"] == {"min": 2, "max": 3}


def test_az_outage_moves_capacity_then_rebalances_within_max_plus_one() -> None:
    sim = make("""
capacity: {min: 4, desired: 4, max: 4}
boot_time: 60s
handler: [{cpu: 100ms}]
""", rate="20/s", faults="[{at: 5m, az_outage: a, duration: 10m}]", duration="25m")
    res = sim.run()
    g = group(sim)
    series = res["series"]["components"]["web"]["in_service"]
    assert series[6:14] == [4] * 8  # 420 s .. 840 s: capacity restored inside zone b alone
    assert all(i.zone == "b" for i in g.instances if i.launched_at > 0 and i.launched_at < 900)
    # after zone a is back: two moved back, launched before the b instances they replace ended
    back = [i for i in g.instances if i.launched_at >= 900]
    assert sorted(i.zone for i in g.members) == ["a", "a", "b", "b"]
    assert len(back) == 2 and all(i.zone == "a" for i in back)
    assert peak_alive(g) == 4 + 1  # launch first, but never beyond max + max(1, 10 %) [aws-facts §2]
    assert res.component("web")["instances"]["min"] == 2
    per_min = res["series"]["workloads"]["users"]
    window = slice(5, 15)
    req, err = sum(per_min["requests"][window]), sum(per_min["errors"][window])
    assert 1 - err / req >= 0.99


@pytest.mark.python_only
def test_grace_period_protects_an_initialising_instance() -> None:
    def run(grace: str) -> ASG:
        sim = make(f"""
capacity: {{min: 2, desired: 2, max: 4}}
boot_time: 30s
health_check: {{type: elb, grace_period: {grace}}}
handler: [{{cpu: 100ms}}]
""", faults="[{at: 2m, terminate: web, count: 1}]", duration="6m")
        g = group(sim)
        g.attach(FakeLB(sim, unhealthy_for=45.0))
        sim.run()
        return g

    protected = run("60s")
    assert protected.launches == 1  # one replacement, kept through its 45 s of failing checks
    assert sum(1 for i in protected.members if i.up) == 2
    unprotected = run("0s")
    assert unprotected.launches >= 2  # the replacement itself was judged unhealthy and replaced


def test_spot_interruption_terminates_after_exactly_two_minutes() -> None:
    sim = make("""
capacity: {min: 4, desired: 4, max: 6}
boot_time: 60s
purchase: {on_demand: 2, spot: 2}
handler: [{cpu: 100ms}]
""", faults="[{at: 5m, spot_interruption: web, count: 1}]")
    sim.run()
    g = group(sim)
    old = [i for i in g.instances if i.ended_at is not None]
    assert len(old) == 1 and old[0].purchase == "spot"
    assert old[0].ended_at == pytest.approx(420.0)  # notice at 300 s + 120 s [aws-facts §3]
    new = [i for i in g.instances if i.launched_at > 0]
    assert len(new) == 1 and new[0].purchase == "spot"
    assert 420.0 <= new[0].launched_at <= 430.0  # only once it is gone and failed its check


def test_capacity_rebalance_has_the_replacement_in_service_before_the_old_one_goes() -> None:
    sim = make("""
capacity: {min: 4, desired: 4, max: 6}
boot_time: 60s
purchase: {on_demand: 2, spot: 2}
capacity_rebalance: true
handler: [{cpu: 100ms}]
""", faults="[{at: 5m, spot_interruption: web, count: 1}]")
    res = sim.run()
    g = group(sim)
    old = next(i for i in g.instances if i.ended_at is not None)
    new = next(i for i in g.instances if i.launched_at > 0)
    assert new.launched_at == 300.0 and new.purchase == "spot"
    assert new.in_service_at is not None and old.ended_at is not None
    assert new.in_service_at <= old.ended_at < 420.0
    assert res.component("web")["instances"]["min"] == 4
    assert res.workload("users")["failed"] == 0


def test_replace_fault_goes_one_instance_at_a_time() -> None:
    sim = make("""
capacity: {min: 3, desired: 3, max: 6}
boot_time: 60s
handler: [{cpu: 100ms}]
""", faults="[{at: 2m, replace: web}]", duration="8m")
    res = sim.run()
    g = group(sim)
    originals = [i for i in g.instances if i.launched_at == 0]
    assert all(i.state == "terminated" for i in originals)
    assert len(g.members) == 3 and all(i.launched_at > 0 for i in g.members)
    assert peak_alive(g) == 4  # never more than one extra
    assert res.component("web")["instances"]["min"] == 3  # and never below desired
    ends = sorted(i.ended_at for i in originals if i.ended_at is not None)
    assert ends == pytest.approx([180.0, 240.0, 300.0])  # a 60 s boot each, one after the other
    assert res.workload("users")["failed"] == 0


def test_same_seed_same_results() -> None:
    def once() -> str:
        return make("""
capacity: {min: 2, desired: 4, max: 8}
scaling: {target_cpu: 50}
handler: [{cpu: exp(100ms)}]
""", rate="30/s", arrivals="poisson", faults="[{at: 2m, az_outage: a, duration: 3m}]", duration="8m").run(
        ).deterministic_json()

    assert once() == once()


@pytest.mark.parametrize(("web", "msg"), [
    ("capacity: {desired: 2}\npurchase: {reserved: 2, spot: 1}", "exceeds capacity.desired"),
    ("scaling: {scheduled: [{at: 5m}]}", "at least one of min, desired, max"),
])
def test_bad_group_specs_are_refused(web: str, msg: str) -> None:
    with pytest.raises(SpecError, match=msg):
        make(web)


class FakeLB:
    """A load balancer stand-in whose health checks fail for a while after registration."""

    name = "fake"

    def __init__(self, sim: Simulation, *, unhealthy_for: float) -> None:
        self.engine = sim.engine
        self.unhealthy_for = unhealthy_for
        self.since: dict[int, float] = {}

    def register(self, inst: Any) -> None:
        self.since[id(inst)] = self.engine.now

    def deregister(self, inst: Any, then: Any) -> None:
        self.since.pop(id(inst), None)
        then()

    def target_state(self, inst: Any) -> str:
        t = self.since.get(id(inst))
        if t is None:
            return "unused"
        return "unhealthy" if t > 0 and self.engine.now - t < self.unhealthy_for else "healthy"


ELB_SPEC = """
name: elbcheck
components:
  lb: {{type: alb, targets: web, health_check: {{interval: 10s, unhealthy_threshold: 2}}}}
  web:
    type: asg
    capacity: {{desired: 2}}
    health_check: {{type: {kind}, grace_period: {grace}}}
    boot_time: 30s
    handler: [{{cpu: 1ms}}]
workloads:
  users: {{entry: lb, rate: 10/s}}
faults:
  - {{at: 60s, errors: web, duration: 600s}}
simulate: {{duration: 300s, seed: 1}}
"""


def replaced_at(kind: str, grace: str) -> tuple[list[float], list[float]]:
    """(times the ALB marked web-1 or web-2 unhealthy, times the group replaced an instance
    for a failed ELB health check)."""
    r = Simulation(parse_spec(ELB_SPEC.format(kind=kind, grace=grace))).run()
    bad = [e["t"] for e in r["timeline"] if e["kind"] == "health" and e.get("state") == "unhealthy"
           and e.get("target") in ("web-1", "web-2")]
    rep = [e["t"] for e in r["timeline"] if e["kind"] == "lifecycle" and "ELB health check failed" in e["detail"]
           and e["detail"].split()[0].rstrip(",") in ("web-1", "web-2")]
    return bad, rep


def test_elb_health_checks_replace_an_instance_whose_application_fails() -> None:
    # The application answers 500 from t = 60 s: the ALB marks each instance unhealthy within
    # 60 + 2 x 10 s (interval 10 s, threshold 2 [aws-facts §1]); with health_check type elb the group
    # replaces it at its next periodic check (every 10 s, assumption) [aws-facts §2 Health-check type]
    bad, rep = replaced_at("elb", "0s")
    assert len(bad) == 2 and all(70.0 < t <= 80.0 for t in bad)
    assert len(rep) >= 2 and all(b <= t < b + 10.0 for b, t in zip(sorted(bad), rep[:2], strict=True))
    # ... but not before its grace period (counted from when it went in service, t = 0) [aws-facts §2]
    bad, rep = replaced_at("elb", "150s")
    assert len(bad) == 2 and rep and 150.0 <= min(rep) < 160.0
    # with the default EC2 status checks the ELB's view is ignored [aws-facts §2 Health-check type]
    bad, rep = replaced_at("ec2", "0s")
    assert len(bad) == 2 and rep == []
