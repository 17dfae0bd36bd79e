"""The steady-state hypothesis: checked at the end of a run, reported, and an exit code for CI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import cloudtwin
from cloudtwin.cli import app
from cloudtwin.errors import SpecError

SPEC = """
name: h
zones: [a, b]
components:
  web: {type: ec2, count: 2, zones: [a, b], handler: [{cpu: exp(5ms)}]}
workloads:
  u: {entry: web, rate: 20/s, arrivals: constant}
faults:
  - {at: 2m, az_outage: a, duration: 2m}
HYPOTHESIS
simulate: {duration: 10m}
"""


def run(hypothesis: str) -> dict:
    return cloudtwin.Simulation(cloudtwin.parse_spec(SPEC.replace("HYPOTHESIS", hypothesis))).run().data


def test_each_check_compares_the_measured_number_with_its_tolerance() -> None:
    """Zone a (one instance of two) is out for 2 of 10 minutes: about 10% of requests fail."""
    d = run('hypothesis: {availability: ">= 95%", p99: "<= 50ms", messages_lost: 0}')
    avail = d["workloads"]["u"]["availability"]
    assert 0.85 < avail < 0.95
    checks = {c["check"]: c for c in d["hypothesis"]["checks"]}
    assert checks["availability"] == {"check": "availability", "workload": "u", "expected": ">= 95%",
                                      "measured": avail, "held": False}
    assert checks["p99"]["held"] is (d["workloads"]["u"]["latency_ms"]["p99"] <= 50)
    assert checks["messages_lost"]["held"] is True
    assert d["hypothesis"]["held"] is False
    held = run("hypothesis: {availability: 0.85}")
    assert held["hypothesis"] == {"held": True, "stopped_at": None, "checks": [
        {"check": "availability", "workload": "u", "expected": ">= 85%", "measured": avail, "held": True}]}


def test_without_a_hypothesis_the_results_have_no_verdict() -> None:
    assert "hypothesis" not in run("")


@pytest.mark.parametrize(("text", "words"), [
    ('hypothesis: {availability: ">= 199%"}', "between 0% and 100%"),
    ('hypothesis: {availability: "about 99"}', "expected an availability"),
    ('hypothesis: {p99: "<= fast"}', "duration"),
    ("hypothesis: {workloads: [u]}", "at least one of"),
    ('hypothesis: {availability: 0.9, workloads: [nope]}', "no workload is named 'nope'"),
    ("hypothesis: {latency: 5ms}", "unknown key 'latency'"),
])
def test_bad_hypotheses_are_spec_errors(text: str, words: str) -> None:
    with pytest.raises(SpecError, match=words):
        cloudtwin.parse_spec(SPEC.replace("HYPOTHESIS", text))


def test_run_fail_on_hypothesis_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    spec = tmp_path / "h.yaml"
    spec.write_text(SPEC.replace("HYPOTHESIS", 'hypothesis: {availability: ">= 99.9%"}'))
    r = runner.invoke(app, ["run", str(spec), "--fail-on-hypothesis"])
    assert r.exit_code == 1
    assert "hypothesis NOT held: 1 of 1 checks failed" in r.output
    assert "u availability:" in r.output and "expected >= 99.9%" in r.output
    r = runner.invoke(app, ["run", str(spec)])
    assert r.exit_code == 0  # without the flag the verdict is reported only
    spec.write_text(SPEC.replace("HYPOTHESIS", 'hypothesis: {availability: ">= 50%"}'))
    r = runner.invoke(app, ["run", str(spec), "--fail-on-hypothesis"])
    assert r.exit_code == 0 and "hypothesis held (1 check)" in r.output
    spec.write_text(SPEC.replace("HYPOTHESIS", ""))
    r = runner.invoke(app, ["run", str(spec), "--fail-on-hypothesis"])
    assert r.exit_code == 2 and "states no `hypothesis:`" in r.output


def test_a_stop_condition_stops_the_experiment_like_an_fis_alarm() -> None:
    """With stop: true, the first minute below 99% (minute 2, when zone a goes down at 2m for 6m)
    stops the experiment at 3m: the zone comes back then, not at 8m, and the fault due at 5m
    never starts."""
    text = SPEC.replace("  - {at: 2m, az_outage: a, duration: 2m}", """  - {at: 2m, az_outage: a, duration: 6m}
  - {at: 5m, terminate: web, count: 2}""")
    stopped = cloudtwin.Simulation(cloudtwin.parse_spec(text.replace(
        "HYPOTHESIS", 'hypothesis: {availability: ">= 99%", stop: true}'))).run().data
    free = cloudtwin.Simulation(cloudtwin.parse_spec(text.replace(
        "HYPOTHESIS", 'hypothesis: {availability: ">= 99%"}'))).run().data
    assert stopped["hypothesis"]["stopped_at"] == 180.0
    tl = [(e["t"], e["kind"], e["detail"]) for e in stopped["timeline"]]
    assert (180.0, "recovery", "zone a back") in tl
    assert any(k == "stop" and "u availability" in d and "minute 2" in d for _, k, d in tl)
    assert (300.0, "fault", "terminate web count=2 not started: the experiment was stopped") in tl
    assert free["hypothesis"]["stopped_at"] is None
    assert (480.0, "recovery", "zone a back") in [(e["t"], e["kind"], e["detail"]) for e in free["timeline"]]
    # the experiment stopped early, so fewer requests failed than in the run that went on
    assert stopped["workloads"]["u"]["failed"] < free["workloads"]["u"]["failed"] / 2
    assert stopped["hypothesis"]["held"] is False  # a stopped experiment's hypothesis did not hold


def test_a_fired_stop_condition_means_the_hypothesis_did_not_hold() -> None:
    """Minute 2 breaks the 99% tolerance and stops the experiment, though the whole run's
    availability (the two minutes back in a 60-minute run) is above it."""
    text = SPEC.replace("simulate: {duration: 10m}", "simulate: {duration: 60m}").replace(
        "HYPOTHESIS", 'hypothesis: {availability: ">= 98%", stop: true}')
    d = cloudtwin.Simulation(cloudtwin.parse_spec(text)).run().data
    assert d["workloads"]["u"]["availability"] >= 0.98
    assert d["hypothesis"]["checks"][0]["held"] is True
    assert d["hypothesis"]["stopped_at"] == 180.0
    assert d["hypothesis"]["held"] is False
