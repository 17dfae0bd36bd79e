"""The review on asynchronous designs: Lambda handlers' calls, fleets reached through queues,
the visibility-timeout rule (CT-REL-021), and SARIF for the messaging blueprints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudtwin import Simulation, parse_spec
from cloudtwin.cli import app
from cloudtwin.review import review
from cloudtwin.spec import parse_spec_located, spec_warnings
from test_review_output import validate

RULE = "CT-REL-021"
MESSAGING = ("event-processing", "fan-out", "microservices-sync", "microservices-async")

QUEUE_TO_FLEET = """
name: worker-calls-api
zones: [a, b]
components:
  jobs: {type: sqs, dlq: failed}
  failed: {type: sqs, retention: 14d}
  worker:
    type: lambda
    handler:
      - cpu: 5ms
      - call: api-lb
    event_sources: [{queue: jobs}]
  api-lb: {type: alb, targets: api, internet_facing: false, https: true, zones: [a, b]}
  api:
    type: asg
    zones: [a]
    capacity: {min: 2, desired: 2, max: 4}
    scaling: {target_cpu: 50}
    health_check: {type: elb}
    purchase: {reserved: 2}
    handler: [{cpu: 5ms}]
workloads:
  producer: {entry: jobs, rate: 10/s}
"""


def visibility(vis: str, timeout: str, window: str = "0s", *, sleep: str = "10ms", rate: str = "5/s",
               batch: int = 10) -> str:
    return f"""
name: vis
components:
  jobs: {{type: sqs, visibility_timeout: {vis}, dlq: failed}}
  failed: {{type: sqs, retention: 14d}}
  worker:
    type: lambda
    timeout: {timeout}
    handler: [{{sleep: {sleep}}}]
    event_sources: [{{queue: jobs, batch_size: {batch}, batching_window: {window}}}]
workloads:
  producer: {{entry: jobs, rate: {rate}}}
simulate: {{duration: 5m}}
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def findings(text: str, rule: str) -> list:
    arch, located = parse_spec_located(text, file="spec.yaml")
    return review(arch, located=located).by_rule(rule)


# ---- the context sees Lambda handlers and the queues that trigger them ---------------------
def test_a_lambda_handlers_call_without_timeout_is_flagged_at_its_line() -> None:
    found = findings(QUEUE_TO_FLEET, "CT-REL-009")
    assert len(found) == 1
    f = found[0]
    assert (f.component, f.path, f.line) == ("worker", "components.worker.handler[1]",
                                             line_of(QUEUE_TO_FLEET, "call: api-lb"))
    fixed = QUEUE_TO_FLEET.replace("- call: api-lb", "- {call: api-lb, timeout: 1s}")
    assert findings(fixed, "CT-REL-009") == []


def test_a_fleet_reached_only_through_a_queue_and_a_function_is_reviewed() -> None:
    found = findings(QUEUE_TO_FLEET, "CT-REL-001")  # 'api' runs in zone a only
    assert [f.component for f in found] == ["api"]
    two_zones = QUEUE_TO_FLEET.replace("zones: [a]\n", "zones: [a, b]\n")
    assert findings(two_zones, "CT-REL-001") == []


# ---- CT-REL-021 ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("vis", "timeout", "window", "fires"), [
    ("60s", "10s", "0s", False),   # exactly 6 x 10 s
    ("59s", "10s", "0s", True),    # one second short
    ("90s", "10s", "30s", False),  # 6 x 10 s + the 30 s batching window
    ("89s", "10s", "30s", True),
    ("30s", "30s", "0s", True),    # the function may outlive the visibility timeout
    ("12h", "900s", "300s", False),
])
def test_the_rule_uses_awss_recommendation_and_agrees_with_the_spec_warning(
        vis: str, timeout: str, window: str, fires: bool) -> None:
    text = visibility(vis, timeout, window)
    found = findings(text, RULE)
    assert len(found) == int(fires)
    warned = [w for w in spec_warnings(parse_spec(text)) if "visibility_timeout" in w.message]
    assert bool(warned) == fires
    if fires:
        f = found[0]
        assert f.path == "components.worker.event_sources[0].queue" and f.line == line_of(text, "event_sources")
        assert f.evidence[0].data["recommended_s"] == 6 * f.evidence[0].data["function_timeout_s"] + \
            {"0s": 0, "30s": 30}[window]


def test_the_message_says_when_the_function_outlives_the_visibility_timeout() -> None:
    assert "processed twice" in findings(visibility("30s", "30s"), RULE)[0].message
    assert "processed twice" not in findings(visibility("59s", "10s"), RULE)[0].message


def test_what_the_rule_warns_about_happens_in_the_simulator() -> None:
    # Each message (a batch of 1) takes 40 s; the function may run 60 s. With a 30 s visibility
    # timeout every message turns visible while it is still being processed and is processed again.
    short = Simulation(parse_spec(visibility("30s", "60s", sleep="40s", rate="1/s", batch=1))).run()
    ok = Simulation(parse_spec(visibility("6m", "60s", sleep="40s", rate="1/s", batch=1))).run()
    assert ok["messages"]["duplicates"] == 0 and ok["messages"]["delivered"] > 200
    assert short["messages"]["duplicates"] > 0.5 * short["messages"]["delivered"]


@pytest.mark.parametrize("name", MESSAGING)
def test_the_messaging_blueprints_follow_the_recommendation(name: str) -> None:
    from cloudtwin.spec import load_spec_located

    arch, located = load_spec_located(name)
    assert review(arch, located=located).by_rule(RULE) == []


# ---- SARIF from the command line -----------------------------------------------------------------
@pytest.mark.parametrize("name", MESSAGING)
def test_cloudtwin_review_writes_valid_sarif_for_the_messaging_blueprints(name: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.sarif"
    res = CliRunner().invoke(app, ["review", name, "--format", "sarif", "--output", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate(doc)
    run = doc["runs"][0]
    assert any(r["id"] == RULE for r in run["tool"]["driver"]["rules"])
    for r in run["results"]:
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(f"{name}.yaml")


def test_a_visibility_finding_is_valid_sarif(tmp_path: Path) -> None:
    spec = tmp_path / "vis.yaml"
    text = visibility("30s", "60s")
    spec.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(app, ["review", str(spec), "--format", "sarif", "--fail-on", "high"])
    assert res.exit_code == 1  # a high finding
    doc = json.loads(res.stdout)
    validate(doc)
    hits = [r for r in doc["runs"][0]["results"] if r["ruleId"] == RULE]
    assert len(hits) == 1 and hits[0]["level"] == "error"
    assert hits[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == line_of(text, "event_sources")
