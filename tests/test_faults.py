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
