"""`cloudtwin import`: CloudFormation templates (tests/data/cfn) to specs that validate and run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cloudtwin.cli import app
from cloudtwin.errors import SpecError
from cloudtwin.importers.cloudformation import ResRef, Template, parse_template
from cloudtwin.importers.convert import import_template
from cloudtwin.spec import parse_spec_located

DATA = Path(__file__).parent / "data" / "cfn"
runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def imported(name: str, **params: str) -> tuple[dict[str, Any], Any]:
    got = import_template(str(DATA / name), params)
    arch, _ = parse_spec_located(got.text, file=name)  # the output validates
    return yaml.safe_load(got.text), got


def unmapped(got: Any) -> dict[str, tuple[str, int]]:
    return {n: (t, line) for n, t, line, _ in got.unmapped}


def test_three_tier_web_app() -> None:
    spec, got = imported("three-tier.yaml")
    c = spec["components"]
    assert {k: v["type"] for k, v in c.items()} == {
        "load-balancer": "alb", "web-server-group": "asg", "database": "rds", "cache": "elasticache"}
    lb, asg = c["load-balancer"], c["web-server-group"]
    assert lb["targets"] == "web-server-group"  # LB -> Listener -> TargetGroup <- ASG TargetGroupARNs
    assert lb["zones"] == ["a", "b"]  # subnets placed with !Select [i, !GetAZs ""]
    assert lb["health_check"] == {"interval": "10s", "healthy_threshold": 3, "path": "/health"}
    assert lb["deregistration_delay"] == "30s"
    assert asg["instance_type"] == "c5.xlarge"  # from the launch template
    assert asg["capacity"] == {"min": 2, "desired": 4, "max": 8}
    assert asg["health_check"] == {"type": "elb", "grace_period": "120s"}
    assert asg["zones"] == ["a", "b"] and asg["scaling"] == {"target_cpu": 60.0}
    assert c["database"] == {"type": "rds", "engine": "mysql", "instance_class": "db.r5.large", "multi_az": True,
                             "storage_gb": 200.0}
    assert c["cache"]["replicas"] == 1 and c["cache"]["node_type"] == "cache.r6g.large"
    assert got.ctx.folded == {"LaunchTemplate": "web-server-group", "CpuPolicy": "web-server-group",
                              "Listener": "load-balancer", "WebTargetGroup": "load-balancer"}
    assert unmapped(got) == {"Vpc": ("AWS::EC2::VPC", 12), "SubnetA": ("AWS::EC2::Subnet", 16),
                             "SubnetB": ("AWS::EC2::Subnet", 22), "WebSecurityGroup": ("AWS::EC2::SecurityGroup", 28),
                             "DBSubnetGroup": ("AWS::RDS::DBSubnetGroup", 89),
                             "CacheSubnetGroup": ("AWS::ElastiCache::SubnetGroup", 104)}
    assert spec["workloads"] == {"load-balancer-traffic": {"entry": "load-balancer", "rate": "10/s"}}
    assert "# assumption: an internet-facing load balancer is an entry point" in got.text
    # parameters without a default that change nothing structural are placeholders, named in the header
    assert [p[0] for p in got.ctx.tpl.placeholders] == ["KeyName", "LatestAmi", "DBPassword"]
    assert "#   KeyName (AWS::EC2::KeyPair::KeyName, line 4)" in got.text
    assert "#   Vpc               AWS::EC2::VPC                  line 12: no cloudtwin component" in got.text


def test_queue_worker_json() -> None:
    spec, got = imported("queue-worker.json")
    c = spec["components"]
    assert c["job-queue"] == {"type": "sqs", "visibility_timeout": "180s", "dlq": "dead-letter-queue",
                              "max_receive_count": 5}
    assert c["worker"]["memory"] == 512 and c["worker"]["timeout"] == "30s"
    assert c["worker"]["reserved_concurrency"] == 20
    assert c["worker"]["event_sources"] == [{"queue": "job-queue", "batch_size": 10,
                                             "report_batch_item_failures": True}]
    # missing properties take AWS's defaults, named in the header
    assert c["dead-letter-queue"]["visibility_timeout"] == "30s"
    assert "#   dead-letter-queue: VisibilityTimeout not set -> visibility_timeout: 30s (AWS's default)" in got.text
    assert "#   WorkerMapping: BatchSize not set -> batch_size: 10 (AWS's default)" in got.text
    assert unmapped(got) == {"WorkerRole": ("AWS::IAM::Role", 19)}  # JSON keeps its line numbers too
    assert spec["workloads"] == {"job-queue-traffic": {"entry": "job-queue", "rate": "10/s"}}


def test_fanout() -> None:
    spec, got = imported("fanout.yaml")
    subs = spec["components"]["orders"]["subscriptions"]
    assert subs == [{"protocol": "sqs", "target": "billing-queue"},
                    {"protocol": "sqs", "target": "shipping-queue", "filter_policy": {"kind": ["physical"]}},
                    {"protocol": "lambda", "target": "audit"}]
    assert set(got.ctx.folded) == {"BillingSubscription", "ShippingSubscription", "AuditSubscription"}
    assert unmapped(got) == {"AuditPermission": ("AWS::Lambda::Permission", 39),
                             "QueuePolicy": ("AWS::SQS::QueuePolicy", 46)}
    assert list(spec["workloads"]) == ["orders-traffic"]


def test_parameters_conditions_mappings() -> None:
    spec, got = imported("params.yaml")  # Env defaults to dev
    c = spec["components"]
    assert c["web"] == {"type": "ec2", "instance_type": "t3.medium", "zones": ["a"], "elastic_ip": True}
    assert c["dns"]["records"] == [{"name": "dev.app.example.com", "a": "web", "ttl": "60s"}]  # !Join, A via the EIP
    assert c["db"]["multi_az"] is False and "db: MultiAZ not set -> multi_az: false" in got.text  # !If -> NoValue
    assert "dev-table" in c and c["events"]["shards"] == 1
    assert [s[0] for s in got.ctx.skipped] == ["DbReplica"]
    spec, got = imported("params.yaml", Env="prod")
    c = spec["components"]
    assert c["web"]["instance_type"] == "m5.xlarge" and c["db"]["instance_class"] == "db.m5.xlarge"
    assert c["db"]["multi_az"] is True and c["db"]["read_replicas"] == 1  # the replica exists only in prod
    assert "dev-table" not in c and c["events"]["shards"] == 4
    assert [s[0] for s in got.ctx.skipped] == ["DevTable"]


def test_intrinsics_and_short_tags() -> None:
    loc = parse_template("""
Parameters:
  Names: {Type: CommaDelimitedList, Default: "x,y,z"}
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      A: !Select [2, !Ref Names]
      B: !Split [",", "p,q"]
      C: !Sub ["${X}-${Q2.Arn}", {X: !Base64 hi}]
      D: !GetAtt Q2.Arn
      E: !And [!Equals [1, 1], !Or [!Equals [a, b], !Not [!Equals [a, b]]]]
      F: !ImportValue shared-vpc
  Q2: {Type: AWS::SQS::Queue}
""", "t.yaml")
    p = Template(loc, {}).props("Q")
    assert p["A"] == "z" and p["B"] == ["p", "q"] and p["C"] == "hi-<Q2.Arn>"
    assert p["D"] == ResRef("Q2", "Arn")
    assert p["E"] is True and str(p["F"]) == "<ImportValue shared-vpc>"


def test_a_python_tag_is_never_constructed() -> None:
    with pytest.raises(SpecError, match="unknown tag !!python/object/apply:os.system|is not allowed"):
        parse_template("Resources:\n  A: !!python/object/apply:os.system [echo hi]\n", "t.yaml")


@pytest.mark.parametrize(("text", "args", "expect"), [
    ("Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties: {X: [unclosed\n", [],
     "t.yaml:5: <root>: invalid YAML or JSON"),
    ("Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      Dlq: !GetAtt Nope.Arn\n", [],
     "t.yaml:5: Resources.A.Properties.Dlq.Fn::GetAtt: GetAtt of 'Nope': not a resource"),
    ("Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      X: !Ref Missing\n", [],
     "t.yaml:5: Resources.A.Properties.X.Ref: Ref to 'Missing'"),
    ("Resources:\n  A:\n    Type: AWS::SQS::Queue\n    DependsOn: B\n  B:\n    Type: AWS::SQS::Queue\n"
     "    Properties: {X: !Ref A}\n", [], "circular dependency (Ref, GetAtt, Sub or DependsOn): A -> B -> A"),
    ("Parameters:\n  Env: {Type: String}\nResources:\n  A: {Type: AWS::SQS::Queue}\n", ["--param", "Ebv=x"],
     "t.yaml:1: Parameters: --param Ebv: the template has no parameter 'Ebv'; did you mean 'Env'?"),
    ("Parameters:\n  Env: {Type: String}\nConditions:\n  P: !Equals [!Ref Env, prod]\n"
     "Resources:\n  A: {Type: AWS::SQS::Queue, Condition: P}\n", [],
     "t.yaml:2: Parameters.Env: parameter 'Env' has no value and decides the architecture (Condition P, line 4): "
     "pass --param Env=VALUE"),
    ("Parameters:\n  N: {Type: Number}\nResources:\n  S:\n    Type: AWS::Kinesis::Stream\n"
     "    Properties: {ShardCount: !Ref N}\n", [], "t.yaml:2: Parameters.N: parameter 'N' has no value"),
])
def test_bad_templates_exit_2_with_file_line(tmp_path: Path, text: str, args: list[str], expect: str) -> None:
    t = tmp_path / "t.yaml"
    t.write_text(text)
    code, out, err = cli("import", str(t), *args)
    assert code == 2, (out, err)
    assert expect.replace("t.yaml", str(t)) in err or expect in err, err
    assert "Traceback" not in err


def test_cli_writes_a_spec_that_validates_and_runs(tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    code, _, err = cli("import", str(DATA / "queue-worker.json"), "-o", str(out))
    assert code == 0, err
    assert f"{DATA / 'queue-worker.json'}:19: not mapped: WorkerRole (AWS::IAM::Role)" in err
    assert cli("validate", str(out))[0] == 0
    code, _, err = cli("run", str(out), "--duration", "1m", "-q")
    assert code == 0, err


def test_workload_file_replaces_the_stubs(tmp_path: Path) -> None:
    wl = tmp_path / "wl.yaml"
    wl.write_text("workloads:\n  shoppers: {entry: load-balancer, rate: 50/s}\n")
    out = tmp_path / "out.yaml"
    code, _, err = cli("import", str(DATA / "three-tier.yaml"), "-o", str(out), "--workload", str(wl))
    assert code == 0, err
    spec = yaml.safe_load(out.read_text())
    assert spec["workloads"] == {"shoppers": {"entry": "load-balancer", "rate": "50/s"}}
    assert "assumption: an internet-facing" not in out.read_text()


def test_entry_point_runs_without_traceback(tmp_path: Path) -> None:
    t = tmp_path / "bad.yaml"
    t.write_text("Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties: {X: !Ref Nope}\n")
    r = subprocess.run([sys.executable, "-m", "cloudtwin", "import", str(t)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and f"{t}:4:" in r.stderr and "Traceback" not in r.stderr
