"""Injected latency and error faults reach a fleet however it is called, and stack."""

import pytest

import cloudtwin

SPEC = """
name: f
components:
  lb: {type: alb, targets: web}
  web: {type: asg, capacity: {min: 2}, handler: [{cpu: exp(10ms)}]}
workloads:
  u: {entry: ENTRY, rate: 50/s}
faults:
  - {at: 2m, errors: web, rate: 0.5, duration: 2m}
  - {at: 3m, errors: web, rate: 1.0, duration: 30s}
  - {at: 6m, latency: web, add: 200ms, duration: 1m}
simulate: {duration: 8m}
"""


@pytest.mark.parametrize("entry", ["lb", "web"])
def test_errors_and_latency_on_a_fleet_apply_through_a_load_balancer_or_directly(entry: str) -> None:
    r = cloudtwin.Simulation(cloudtwin.parse_spec(SPEC.replace("ENTRY", entry))).run()
    s = r["series"]["workloads"]["u"]
    share = [e / q for q, e in zip(s["requests"], s["errors"], strict=True)]
    assert share[0] == share[1] == 0.0
    assert share[2] == pytest.approx(0.5, abs=0.05)  # minute 2: rate 0.5
    assert share[3] == pytest.approx(0.75, abs=0.05)  # minute 3: 0.5, and 1.0 for half the minute
    assert share[4:] == [0.0] * 4  # both faults removed
    assert s["p99_ms"][6] > 200 > s["p99_ms"][5]  # 200 ms injected during minute 6 only
    assert s["p99_ms"][7] < 100
    assert r.component("web")["errors"] == r.workload("u")["failed"]


def test_overlapping_outages_of_one_zone_end_when_the_last_one_ends() -> None:
    """Zone a is out from 1 to 3 min and from 2 to 5 min: it comes back once, at 5 min, not at
    3 min while the second outage still holds it."""
    res = cloudtwin.Simulation(cloudtwin.parse_spec("""
name: z
components:
  web: {type: ec2, count: 2, zones: [a, b], handler: [{cpu: 1ms}]}
workloads:
  u: {entry: web, rate: 5/s}
faults:
  - {at: 1m, az_outage: a, duration: 2m}
  - {at: 2m, az_outage: a, duration: 3m}
simulate: {duration: 6m}
""")).run()
    back = [e["t"] for e in res["timeline"] if e["kind"] == "recovery"]
    assert back == [300.0]
