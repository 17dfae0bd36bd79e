"""``cloudtwin export-fis``: every blueprint's faults as an FIS experiment template that has the
structure CreateExperimentTemplate documents, and the faults it cannot express named."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cloudtwin
from cloudtwin.blueprints import blueprint_path, names
from cloudtwin.cli import app
from cloudtwin.fis_export import export
from cloudtwin.fis_template import check_template
from cloudtwin.spec.fis import parse_iso_duration

runner = CliRunner()


def load(name: str) -> cloudtwin.Architecture:
    path = blueprint_path(name)
    assert path is not None
    return cloudtwin.load_spec(str(path))

NOT_EXPORTABLE = {"ecs-sqs": "Fargate Spot", "microservices-async": "injected errors on alb",
                  "microservices-sync": "injected errors on alb", "dx-vpn-backup": "network link failure",
                  "dx-shared": "network link failure", "ec2-ha-cloudwatch": "system status check",
                  "ec2-ha-asg-eip": "system status check", "ec2-ha-lifecycle": "system status check",
                  "snapshot-restore": "data-store loss"}


@pytest.mark.parametrize("name", names())
def test_every_blueprint_exports_a_well_formed_template(name: str) -> None:
    arch = load(name)
    ex = export(arch)
    if not arch.faults or name in NOT_EXPORTABLE:  # nothing FIS can do: every fault named, no action
        assert ex.template["actions"] == {}
        assert len(ex.unmapped) == len(arch.faults)
        assert all(NOT_EXPORTABLE[name] in why for _, why in ex.unmapped)
        return
    t = ex.template
    assert check_template(t) == [], name
    assert set(t) >= {"description", "targets", "actions", "stopConditions", "roleArn"}
    for a in t["actions"].values():
        for k, v in a["parameters"].items():
            assert isinstance(v, str)
            if k in ("duration", "startInstancesAfterDuration", "durationBeforeInterruption"):
                assert parse_iso_duration(v) > 0
    assert len(ex.unmapped) < len(arch.faults)


def test_a_zone_outage_becomes_the_power_interruption_actions_after_a_wait() -> None:
    t = export(load("simple-web-app")).template
    acts = t["actions"]
    assert acts["Wait-0"] == {"actionId": "aws:fis:wait", "description": acts["Wait-0"]["description"],
                              "parameters": {"duration": "PT10M"}, "targets": {}}
    ids = {a["actionId"] for n, a in acts.items() if n != "Wait-0"}
    assert ids == {"aws:ec2:stop-instances", "aws:ec2:asg-insufficient-instance-capacity-error",
                   "aws:network:disrupt-connectivity"}
    for n, a in acts.items():
        if n != "Wait-0":
            assert a["startAfter"] == ["Wait-0"]
            assert set(a["parameters"].values()) & {"PT15M"}  # the outage's 15 minutes
    stop = acts["Stop-Instances-web"]
    target = t["targets"][stop["targets"]["Instances"]]
    assert {"path": "Placement.AvailabilityZone", "values": ["us-east-1a"]} in target["filters"]
    assert target["resourceTags"] == {"aws:autoscaling:groupName": "web"}
    assert t["stopConditions"] == [{"source": "none"}]


def test_fis_faults_export_as_written_with_start_after_and_hypothesis_alarms() -> None:
    arch = cloudtwin.parse_spec("""
name: x
zones: [a, b]
components:
  fn: {type: lambda, handler: [{cpu: 10ms}]}
  web: {type: asg, capacity: {min: 2}, handler: [{cpu: 10ms}]}
  cache: {type: elasticache, engine: redis, replicas: 1}
workloads:
  u: {entry: fn, rate: 1/s}
faults:
  - {fis: aws:lambda:invocation-add-delay, name: slow, targets: {Functions: fn}, at: 5m,
     parameters: {duration: PT5M, startupDelayMilliseconds: 300}}
  - {fis: aws:ec2:terminate-instances, name: kill, targets: {Instances: web}, selection: COUNT(1), zone: b,
     start_after: [slow]}
  - {fis: aws:elasticache:replicationgroup-interrupt-az-power, targets: {ReplicationGroups: cache}, zone: a,
     startAfter: [kill], parameters: {duration: PT2M}}
hypothesis: {availability: ">= 99.9%", p99: "<= 200ms"}
simulate: {duration: 20m}
""")
    ex = export(arch)
    t = ex.template
    assert check_template(t) == [] and ex.unmapped == []
    acts = t["actions"]
    assert acts["slow"]["parameters"] == {"duration": "PT5M", "startupDelayMilliseconds": "300"}
    assert acts["slow"]["startAfter"] == ["Wait-0"]
    assert acts["kill"]["startAfter"] == ["slow"]
    kill_target = t["targets"][acts["kill"]["targets"]["Instances"]]
    assert kill_target["selectionMode"] == "COUNT(1)"
    assert {"path": "Placement.AvailabilityZone", "values": ["us-east-1b"]} in kill_target["filters"]
    power = next(a for a in acts.values() if a["actionId"].startswith("aws:elasticache:"))
    assert power["startAfter"] == ["kill"]
    assert t["targets"][power["targets"]["ReplicationGroups"]]["parameters"] == {
        "availabilityZoneIdentifier": "us-east-1a"}
    alarms = [c["value"] for c in t["stopConditions"]]
    assert [c["source"] for c in t["stopConditions"]] == ["aws:cloudwatch:alarm"] * 2
    assert alarms[0].endswith(":alarm:REPLACE-ME-x-availability") and alarms[1].endswith("-p99")


@pytest.mark.parametrize(("break_it", "problem"), [
    (lambda t: t.pop("roleArn"), "missing required key 'roleArn'"),
    (lambda t: t.update(roleArn="role/x"), "is not an IAM role ARN"),
    (lambda t: t["actions"]["Wait-0"].update(actionId="ec2:stop"), "is not aws:service:action-type"),
    (lambda t: t["actions"]["Wait-0"]["parameters"].update(duration="10 minutes"), "ISO 8601"),
    (lambda t: t["actions"]["Stop-Instances-web"]["targets"].update(Instances="nope"), "no target named 'nope'"),
    (lambda t: t["actions"]["Stop-Instances-web"]["targets"].update(Instances="zone-subnet-a"),
     "takes Instances of type aws:ec2:instance"),
    (lambda t: t["actions"]["Wait-0"].update(startAfter=["Pause-Network-a"]), "round in a circle"),
    (lambda t: t["actions"]["Wait-0"].update(startAfter=["missing"]), "no action named 'missing'"),
    (lambda t: t["targets"]["web-instance-a"].update(selectionMode="SOME"), "selectionMode 'SOME'"),
    (lambda t: t["targets"]["web-instance-a"].update(resourceArns=["arn:aws:ec2:x"]), "cannot both be given"),
    (lambda t: t.update(stopConditions=[{"source": "aws:cloudwatch:alarm", "value": "x"}]), "CloudWatch alarm ARN"),
    (lambda t: t["actions"]["Wait-0"]["parameters"].update(duration=600), "map strings to strings"),
    (lambda t: t.update(actions={}), "at least one action"),
    (lambda t: t.update(extra=1), "unknown top-level key 'extra'"),
])
def test_the_structural_check_can_fail(break_it: Any, problem: str) -> None:
    t = copy.deepcopy(export(load("simple-web-app")).template)
    assert check_template(t) == []
    break_it(t)
    problems = check_template(t)
    assert any(problem in p for p in problems), problems


def test_cli_writes_the_template_and_names_what_it_cannot_export(tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    r = runner.invoke(app, ["export-fis", "ecs-sns-eventbridge", "-o", str(out)])
    assert r.exit_code == 0, r.output
    t = json.loads(out.read_text())
    assert check_template(t) == []
    assert [a["actionId"] for a in t["actions"].values()] == ["aws:fis:wait", "aws:ecs:stop-task"]
    assert "ecs-sns-eventbridge:84: faults[0]: not exported: injected errors on ecs" in r.output
    r = runner.invoke(app, ["export-fis", "microservices-sync"])
    assert r.exit_code == 2
    assert "faults[1]: not exported" in r.output and "nothing to export" in r.output
    r = runner.invoke(app, ["export-fis", "fan-out"])
    assert r.exit_code == 2 and "states no faults" in r.output


def test_start_after_a_later_or_unexported_fault() -> None:
    """startAfter may name a fault further down the list; after a fault FIS cannot express, the
    action keeps its simulated start time with a wait."""
    arch = cloudtwin.parse_spec("""
name: y
components:
  lb: {type: alb, targets: web}
  web: {type: asg, capacity: {min: 2}, handler: [{cpu: 10ms}]}
faults:
  - {fis: aws:ec2:terminate-instances, name: second, targets: {Instances: web}, start_after: [first]}
  - {fis: aws:fis:wait, name: first, at: 2m, parameters: {duration: PT3M}}
  - {at: 1m, errors: lb, rate: 1.0, duration: 4m, name: broken}
  - {fis: aws:ec2:terminate-instances, name: third, targets: {Instances: web}, start_after: [broken]}
simulate: {duration: 10m}
""")
    ex = export(arch)
    acts = ex.template["actions"]
    assert check_template(ex.template) == []
    assert acts["second"]["startAfter"] == ["first"] and acts["first"]["startAfter"] == ["Wait-1"]
    assert acts["Wait-3"]["parameters"] == {"duration": "PT5M"}  # broken's 1 m + 4 m
    assert acts["third"]["startAfter"] == ["Wait-3"]
    assert "Wait-2" not in acts  # the unexported fault leaves no wait behind
    assert ex.unmapped == [(2, "injected errors on alb has no FIS action (FIS injects delays and errors into "
                                "Lambda functions)")]
    assert any("starts after broken" in note for i, note in ex.notes if i == 3)


def test_api_errors_export_for_kinesis_only() -> None:
    spec = """
name: k
components:
  fn: {type: lambda, handler: [{call: stream.put}]}
  stream: {type: kinesis, shards: 1}
  table: {type: dynamodb}
faults:
  - {fis: aws:fis:inject-api-throttle-error, targets: {Roles: TARGET}, parameters: {duration: PT2M, percentage: 20}}
simulate: {duration: 5m}
"""
    ex = export(cloudtwin.parse_spec(spec.replace("TARGET", "stream")))
    assert check_template(ex.template) == [] and ex.unmapped == []
    (act,) = ex.template["actions"].values()
    assert act["parameters"] == {"duration": "PT2M", "percentage": "20", "service": "kinesis"}
    role = ex.template["targets"][act["targets"]["Roles"]]
    assert role["resourceType"] == "aws:iam:role" and role["resourceArns"][0].startswith("arn:aws:iam::")
    ex = export(cloudtwin.parse_spec(spec.replace("TARGET", "table")))
    assert ex.template["actions"] == {} and "ec2 and kinesis calls only" in ex.unmapped[0][1]
