"""`cloudtwin import` of the remaining resource types (issue 16, part 1): Aurora and Multi-AZ DB
clusters, EFS, EBS, EventBridge, Firehose, CloudFront, ECS, Cognito, SES, Redshift, DAX, Athena,
CloudTrail; WAFv2 web ACLs. Each template in tests/data/cfn is a classic architecture written for
these tests; each test asserts the components, the links, the defaults the header names, the
unmapped list with lines, and that the spec validates and runs for a minute."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cloudtwin.cli import app
from cloudtwin.importers.convert import import_template
from cloudtwin.spec import parse_spec_located
from cloudtwin.spec.links import component_links

DATA = Path(__file__).parent / "data" / "cfn"
runner = CliRunner()


def imported(name: str) -> tuple[dict[str, Any], Any, set[tuple[str, str, str]]]:
    got = import_template(str(DATA / name), {})
    arch, _ = parse_spec_located(got.text, file=name)  # the spec validates
    links = {(lk.src, lk.dst, lk.kind) for lk in component_links(arch)}
    return yaml.safe_load(got.text), got, links


def unmapped(got: Any) -> dict[str, tuple[str, int]]:
    return {n: (t, line) for n, t, line, _ in got.unmapped}


def why(got: Any, name: str) -> str:
    return next(w for n, _, _, w in got.unmapped if n == name)


def run_1m(name: str, tmp_path: Path) -> dict[str, Any]:
    spec = tmp_path / f"{name}.spec.yaml"
    code = runner.invoke(app, ["import", str(DATA / name), "-o", str(spec)]).exit_code
    assert code == 0
    out = tmp_path / "results.json"
    r = runner.invoke(app, ["run", str(spec), "--duration", "1m", "-q", "--json", str(out)])
    assert r.exit_code == 0, r.stderr
    results: dict[str, Any] = json.loads(out.read_text())["components"]
    return results


def test_aurora_web_app_with_efs_ebs_and_waf(tmp_path: Path) -> None:
    spec, got, links = imported("aurora-efs-web.yaml")
    c = spec["components"]
    assert {k: v["type"] for k, v in c.items()} == {
        "web-load-balancer": "alb", "web-group": "asg", "shared-files": "efs", "orders-cluster": "aurora",
        "bastion": "ec2", "bastion-data": "ebs", "scratch-volume": "ebs", "web-acl": "waf"}
    # the web ACL on the load balancer, its rate rule with AWS's default 300 s window (named in the header)
    assert c["web-acl"] == {"type": "waf", "protects": ["web-load-balancer"], "default_action": "allow",
                            "rules": [{"name": "rate-limit", "priority": 0, "action": "block",
                                       "rate": {"limit": 2000, "window": "300s"}}]}
    assert got.ctx.folded["WebAclAssociation"] == "web-acl"
    # the cluster's two instances: the class from them, one replica, in two AZs
    assert c["orders-cluster"] == {"type": "aurora", "engine": "aurora-postgresql", "instance_class": "db.r6g.large",
                                   "read_replicas": 1, "multi_az": True, "zone": "a", "encrypted": True,
                                   "backup_retention": 7}
    assert c["shared-files"]["zones"] == ["a", "b"] and c["shared-files"]["encrypted"] is True  # its mount targets
    assert c["bastion-data"] == {"type": "ebs", "volume_type": "gp3", "size_gb": 200.0, "iops": 6000, "zone": "a",
                                 "encrypted": True}
    assert c["scratch-volume"]["volume_type"] == "gp2"
    assert c["bastion"]["mounts"] == ["bastion-data"] and c["web-group"]["mounts"] == ["shared-files"]
    assert links == {("web-load-balancer", "web-group", "target"), ("web-group", "shared-files", "mount"),
                     ("bastion", "bastion-data", "mount")}
    assert got.ctx.folded["OrdersWriter"] == got.ctx.folded["OrdersReader"] == "orders-cluster"
    assert got.ctx.folded["BastionDataAttachment"] == "bastion-data"
    assert got.ctx.folded["SharedFilesMountA"] == got.ctx.folded["SharedFilesMountB"] == "shared-files"
    header = got.text.split("\nname:")[0]
    assert "scratch-volume: VolumeType not set -> volume_type: gp2 (AWS's default (EC2 CreateVolume: gp2))" in header
    assert "shared-files: (stored size: EFS grows with its data) not set -> storage_gb: 10.0" in header
    assert "the user data of web-group names it: it is in their `mounts:`" in header
    assert "ThroughputMode elastic is not modelled" in header
    assert unmapped(got) == {"Vpc": ("AWS::EC2::VPC", 14), "AppSubnetA": ("AWS::EC2::Subnet", 18),
                             "AppSubnetB": ("AWS::EC2::Subnet", 24),
                             "AppSecurityGroup": ("AWS::EC2::SecurityGroup", 30),
                             "DBSubnets": ("AWS::RDS::DBSubnetGroup", 95)}
    res = run_1m("aurora-efs-web.yaml", tmp_path)
    assert res["web-load-balancer"]["requests"] == res["web-group"]["requests"] > 0  # every request reaches the group
    assert res["web-load-balancer"]["registered_targets"] == 2  # DesiredCapacity 2
    assert res["orders-cluster"]["instances"] == 2  # the writer and its replica


def test_ecs_fargate_service_behind_cloudfront(tmp_path: Path) -> None:
    spec, got, links = imported("ecs-fargate-cdn.yaml")
    c = spec["components"]
    assert {k: v["type"] for k, v in c.items()} == {
        "app-service": "ecs", "site-bucket": "s3", "search-function": "lambda", "search-api": "apigateway",
        "cdn": "cloudfront"}
    # 1024 CPU units = 1 vCPU, "2 GB" = 2,048 MiB; FARGATE 3 : FARGATE_SPOT 1 -> a quarter on Spot
    assert c["app-service"] == {"type": "ecs", "launch_type": "fargate", "fargate_spot": 0.25, "cpu": 1.0,
                                "memory": "2048MiB", "desired": 4, "zones": ["a", "b"]}
    # CachingOptimized (managed: 24 h), the template's cache policy (60 s); the ALB origin is left out
    assert c["cdn"]["behaviors"] == [
        {"path": "/*", "origin": "site-bucket", "ttl": "86400s", "share": 0.5},
        {"path": "/search*", "origin": "search-api", "ttl": "60s", "share": 0.5}]
    assert links == {("cdn", "site-bucket", "origin"), ("cdn", "search-api", "origin"),
                     ("search-api", "search-function", "integration")}
    assert got.ctx.folded["AppTask"] == got.ctx.folded["AppCluster"] == "app-service"
    assert got.ctx.folded["ShortLivedCache"] == got.ctx.folded["SiteOriginAccess"] == "cdn"
    header = got.text.split("\nname:")[0]
    assert "origin app (AppLoadBalancer, which is not mapped)" in header
    assert "get equal shares of the viewer requests" in header and "PriceClass PriceClass_100 is not modelled" in header
    assert unmapped(got) == {
        "Vpc": ("AWS::EC2::VPC", 7), "PrivateSubnet1": ("AWS::EC2::Subnet", 11),
        "PrivateSubnet2": ("AWS::EC2::Subnet", 17),
        "AppLoadBalancer": ("AWS::ElasticLoadBalancingV2::LoadBalancer", 59),
        "AppTargetGroup": ("AWS::ElasticLoadBalancingV2::TargetGroup", 63),
        "AppListener": ("AWS::ElasticLoadBalancingV2::Listener", 70),
        "AppScalableTarget": ("AWS::ApplicationAutoScaling::ScalableTarget", 79),
        "AppCpuScaling": ("AWS::ApplicationAutoScaling::ScalingPolicy", 87),
        "SiteBucketPolicy": ("AWS::S3::BucketPolicy", 184)}
    assert "the tasks of the ECS service AppService" in why(got, "AppLoadBalancer")
    assert "the tasks of the ECS service AppService" in why(got, "AppTargetGroup")
    assert why(got, "AppListener") == "part of AppLoadBalancer, which is not mapped"
    assert "ECSServiceAverageCPUUtilization" in why(got, "AppCpuScaling")
    assert spec["workloads"] == {"cdn-traffic": {"entry": "cdn", "rate": "10/s"}}  # origins are not entries
    res = run_1m("ecs-fargate-cdn.yaml", tmp_path)
    cdn = res["cdn"]
    assert cdn["requests"] == cdn["hits"] + cdn["misses"] > 0
    # every miss goes to the origin of its behaviour: the bucket or the API (and on to the function)
    assert cdn["misses"] == cdn["origin_requests"] == res["site-bucket"]["gets"] + res["search-api"]["requests"]
    assert res["search-api"]["requests"] == res["search-function"]["invocations"] > 0
    assert res["app-service"]["active_tasks"] == 4  # DesiredCount


def test_event_pipeline_eventbridge_firehose_cloudtrail(tmp_path: Path) -> None:
    spec, got, links = imported("event-pipeline.yaml")
    c = spec["components"]
    bus = c["orders-bus"]["rules"]
    assert bus == [{"name": "order-placed-rule",
                    "pattern": {"source": ["com.example.orders"], "detail-type": ["OrderPlaced"]},
                    "targets": [{"target": "fulfilment-queue", "dlq": "rule-dead-letters",
                                 "retry_policy": {"max_retries": 8, "max_event_age": "3600s"}}]}]
    default = c["default-bus"]["rules"]  # the rules with no EventBusName, the disabled one left out
    assert [r["name"] for r in default] == ["nightly-report-rule", "iam-change-rule"]
    assert default[0]["schedule"] == "cron(0 2 * * ? *)"
    assert c["account-trail"] == {"type": "cloudtrail", "bus": "default-bus", "service": "iam"}
    assert c["click-delivery"] == {"type": "firehose", "source": "clickstream", "s3": "click-lake",
                                   "prefix": "clicks/", "error_prefix": "clicks-failed/", "buffer_size": "64MiB",
                                   "buffer_interval": "60s", "compression": "gzip",
                                   "transform": {"function": "enrich-function", "retries": 2}}
    assert c["audit-delivery"]["buffer_size"] == "5MiB" and c["audit-delivery"]["buffer_interval"] == "300s"
    assert links == {
        ("orders-bus", "fulfilment-queue", "event"), ("orders-bus", "rule-dead-letters", "dlq"),
        ("fulfilment-queue", "fulfil-function", "event_source"), ("default-bus", "report-function", "event"),
        ("default-bus", "security-alerts", "event"), ("account-trail", "default-bus", "event"),
        ("clickstream", "click-delivery", "stream"), ("click-delivery", "click-lake", "delivery"),
        ("click-delivery", "enrich-function", "call"), ("audit-delivery", "click-lake", "delivery")}
    assert got.ctx.folded["ReportPermission"] == got.ctx.folded["IamChangeRule"] == "default-bus"
    header = got.text.split("\nname:")[0]
    # aws-facts §8 Default retry policy and §9 Firehose buffering hints, named where the template is silent
    assert ("nightly-report-rule: Targets[report].RetryPolicy.MaximumRetryAttempts not set -> "
            "retry_policy.max_retries: 185") in header
    assert "audit-delivery: BufferingHints.SizeInMBs not set -> buffer_size: 5MiB" in header
    assert "audit-delivery: BufferingHints.IntervalInSeconds not set -> buffer_interval: 300s" in header
    assert "order-placed-rule" not in header  # its retry policy is the template's
    assert unmapped(got) == {"FulfilmentQueuePolicy": ("AWS::SQS::QueuePolicy", 35),
                             "PausedRule": ("AWS::Events::Rule", 101),
                             "SearchDelivery": ("AWS::KinesisFirehose::DeliveryStream", 165)}
    assert why(got, "PausedRule") == "the rule is DISABLED"
    # entry points: the stream, the bus (an event matching its pattern), the trail, the Direct PUT stream;
    # the queue and topic the rules feed are not entries
    w = spec["workloads"]
    assert set(w) == {"clickstream-traffic", "orders-bus-traffic", "account-trail-traffic", "audit-delivery-traffic"}
    assert w["orders-bus-traffic"]["message"] == {"attributes": {"source": "com.example.orders",
                                                                 "detail-type": "OrderPlaced"}}
    assert w["account-trail-traffic"]["message"] == {"attributes": {"eventName": "CreateAccessKey"}}
    res = run_1m("event-pipeline.yaml", tmp_path)
    # every order event put matches the rule and reaches the queue (or is still in EventBridge), and every
    # message the queue delivers is an invocation of the function
    bus, queue = res["orders-bus"], res["fulfilment-queue"]
    assert bus["unmatched"] == 0 and bus["put_events"] == queue["sent"] + bus["pending"] > 0
    assert queue["delivered"] == res["fulfil-function"]["invocations"] > 0
    # trail -> default bus -> rule -> topic, each event accounted for
    default = res["default-bus"]
    assert res["account-trail"]["events_sent"] == default["service_events"] > 0
    assert default["service_events"] == res["security-alerts"]["publishes"] + default["pending"]
    assert 0 < res["click-delivery"]["records_in"] <= res["clickstream"]["accepted"]


def test_data_platform_managed_services(tmp_path: Path) -> None:
    spec, got, links = imported("data-platform.yaml")
    c = spec["components"]
    assert c["user-pool"] == {"type": "cognito", "post_confirmation": "welcome-function", "users": 10000}
    assert c["mail-identity"] == {"type": "ses", "sandbox": True}
    assert c["profile-cache"] == {"type": "dax", "table": "profile-table", "nodes": 3, "node_type": "dax.r5.large",
                                  "zones": ["a", "b", "c"]}
    assert c["analytics-cluster"] == {"type": "aurora", "engine": "aurora-mysql", "instance_class": "db.r5.large",
                                      "multi_az": False}
    assert c["ledger-cluster"] == {"type": "rds", "engine": "mysql", "deployment": "multi_az_cluster",
                                   "instance_class": "db.r6g.large", "storage_gb": 400.0}
    assert spec["zones"] == ["a", "b", "c"]  # the Multi-AZ DB cluster's three AZs
    assert c["warehouse"] == {"type": "redshift", "node_type": "ra3.xlplus", "nodes": 4}
    assert c["warehouse-loader"]["redshift"] == "warehouse" and c["warehouse-loader"]["s3"] == "staging-bucket"
    assert c["warehouse-loader"]["retry_duration"] == "1800s"
    assert c["ad-hoc-queries"] == {"type": "athena", "bucket": "staging-bucket", "output_bucket": "query-results"}
    assert links == {("ad-hoc-queries", "staging-bucket", "reference"), ("profile-cache", "profile-table", "reference"),
                     ("user-pool", "welcome-function", "reference"), ("warehouse-loader", "staging-bucket", "delivery"),
                     ("warehouse-loader", "warehouse", "delivery")}
    header = got.text.split("\nname:")[0]
    assert "Aurora Serverless v2 capacity (ACUs) is not modelled" in header
    assert "the Lambda triggers PreSignUp are not modelled" in header
    assert "profile-cache: it caches profile-table, the template's only DynamoDB table" in header
    assert "sandbox: true (AWS's default: a new account's SES is in the sandbox)" in header
    assert got.unmapped == [] and "# Not mapped: none" in header
    res = run_1m("data-platform.yaml", tmp_path)
    assert res["warehouse-loader"]["records_in"] > 0


def test_unmapped_cluster_instances_and_orphan_parts_are_listed(tmp_path: Path) -> None:
    t = tmp_path / "t.yaml"
    t.write_text("""Resources:
  Legacy:
    Type: AWS::RDS::DBCluster
    Properties: {Engine: neptune}
  LegacyInstance:
    Type: AWS::RDS::DBInstance
    Properties: {DBClusterIdentifier: !Ref Legacy, DBInstanceClass: db.r5.large}
  Queue:
    Type: AWS::SQS::Queue
  Disk:
    Type: AWS::EC2::Volume
    Properties: {AvailabilityZone: us-east-1a, Size: 10, VolumeType: st1}
""")
    got = import_template(str(t), {})
    assert unmapped(got) == {"Legacy": ("AWS::RDS::DBCluster", 2), "LegacyInstance": ("AWS::RDS::DBInstance", 5),
                             "Disk": ("AWS::EC2::Volume", 10)}
    assert why(got, "Legacy") == "engine 'neptune' is not an Aurora engine cloudtwin models"
    assert "a DB cluster that is not mapped" in why(got, "LegacyInstance")
    assert "st1" in why(got, "Disk")


def test_terraform_types_without_a_translator_stay_listed(tmp_path: Path) -> None:
    """A Terraform resource whose CloudFormation type is now mapped but whose attributes have no
    translator is listed, not mapped with every property taken as absent."""
    pytest.importorskip("hcl2")
    (tmp_path / "main.tf").write_text('resource "aws_sqs_queue" "jobs" {\n  visibility_timeout_seconds = 60\n}\n'
                                      'resource "aws_ecs_service" "worker" {\n  desired_count = 3\n}\n'
                                      'resource "aws_cognito_user_pool" "users" {\n'
                                      '  name = "users"\n}\n')
    got = import_template(str(tmp_path), {})
    assert set(got.ctx.components) == {"jobs"}
    assert {(t, line) for _, t, line, _ in got.unmapped} == {("aws_ecs_service", 4), ("aws_cognito_user_pool", 7)}
    assert all("the importer does not map it yet" in w for *_, w in got.unmapped)


def test_rule_targets_an_ecs_task_and_a_json_pattern(tmp_path: Path) -> None:
    t = tmp_path / "t.yaml"
    t.write_text("""Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties: {Cpu: "0.5 vCPU", Memory: "1024", RequiresCompatibilities: [FARGATE]}
  Cluster:
    Type: AWS::ECS::Cluster
    Properties:
      DefaultCapacityProviderStrategy: [{CapacityProvider: FARGATE_SPOT, Weight: 1}]
  Resizer:
    Type: AWS::ECS::Service
    Properties: {Cluster: !Ref Cluster, TaskDefinition: !Ref Task, DesiredCount: 0}
  Uploaded:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: '{"source": ["aws.s3"], "detail-type": ["Object Created"]}'
      Targets:
        - Id: resize
          Arn: !GetAtt Cluster.Arn
          EcsParameters: {TaskDefinitionArn: !Ref Task, LaunchType: FARGATE}
        - Id: elsewhere
          Arn: arn:aws:states:us-east-1:123456789012:stateMachine:other
""")
    spec, got, links = imported_path(t)
    # no LaunchType: the cluster's default strategy, all on Fargate Spot
    assert spec["components"]["resizer"] == {"type": "ecs", "launch_type": "fargate", "fargate_spot": 1.0, "cpu": 0.5,
                                             "memory": "1024MiB", "desired": 0}
    rule = spec["components"]["default-bus"]["rules"][0]
    assert rule["pattern"] == {"source": ["aws.s3"], "detail-type": ["Object Created"]}
    assert [x["target"] for x in rule["targets"]] == ["resizer"]  # the state machine target is named, left out
    assert ("default-bus", "resizer", "event") in links
    assert any("the target elsewhere" in a for a in got.ctx.assumptions)


def imported_path(path: Path) -> tuple[dict[str, Any], Any, set[tuple[str, str, str]]]:
    got = import_template(str(path), {})
    arch, _ = parse_spec_located(got.text, file=str(path))
    return yaml.safe_load(got.text), got, {(lk.src, lk.dst, lk.kind) for lk in component_links(arch)}


def test_terraform_aurora_cluster_and_attached_volume(tmp_path: Path) -> None:
    pytest.importorskip("hcl2")
    (tmp_path / "main.tf").write_text('''resource "aws_rds_cluster" "orders" {
  engine                  = "aurora-postgresql"
  backup_retention_period = 7
}
resource "aws_rds_cluster_instance" "node" {
  count              = 3
  cluster_identifier = aws_rds_cluster.orders.id
  instance_class     = "db.r6g.large"
}
resource "aws_instance" "box" {
  instance_type     = "t3.micro"
  availability_zone = "us-east-1a"
}
resource "aws_ebs_volume" "data" {
  availability_zone = "us-east-1a"
  size              = 100
  type              = "io2"
  iops              = 4000
}
resource "aws_volume_attachment" "att" {
  device_name = "/dev/sdh"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.box.id
}
''')
    spec, got, links = imported_path(tmp_path)
    c = spec["components"]
    # three instances of the cluster: a writer and two replicas
    assert c["orders"] == {"type": "aurora", "engine": "aurora-postgresql", "instance_class": "db.r6g.large",
                           "read_replicas": 2, "multi_az": True, "backup_retention": 7}
    assert c["data"] == {"type": "ebs", "volume_type": "io2", "size_gb": 100.0, "iops": 4000, "zone": "a"}
    assert links == {("box", "data", "mount")}
    assert got.unmapped == []


def test_a_property_of_the_wrong_shape_is_a_located_error(tmp_path: Path) -> None:
    t = tmp_path / "t.yaml"
    t.write_text("Resources:\n  Cdn:\n    Type: AWS::CloudFront::Distribution\n    Properties:\n"
                 "      DistributionConfig: [1, 2]\n")
    r = runner.invoke(app, ["import", str(t)])
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert (f"{t}:4: Resources.Cdn.Properties: a property of AWS::CloudFront::Distribution is not of the shape"
            in r.stderr)


TF_EVENTS = '''resource "aws_cloudwatch_event_bus" "orders" {
  name = "orders"
}
resource "aws_sqs_queue" "work" {}
resource "aws_sqs_queue" "dlq" {}
resource "aws_lambda_function" "report" {
  function_name = "report"
}
resource "aws_cloudwatch_event_rule" "placed" {
  event_bus_name = aws_cloudwatch_event_bus.orders.name
  event_pattern  = jsonencode({ source = ["com.example.orders"] })
}
resource "aws_cloudwatch_event_target" "to_queue" {
  rule = aws_cloudwatch_event_rule.placed.name
  arn  = aws_sqs_queue.work.arn
  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
  retry_policy {
    maximum_retry_attempts       = 4
    maximum_event_age_in_seconds = 600
  }
}
resource "aws_cloudwatch_event_rule" "nightly" {
  schedule_expression = "cron(0 2 * * ? *)"
}
resource "aws_cloudwatch_event_target" "to_report" {
  rule = aws_cloudwatch_event_rule.nightly.name
  arn  = aws_lambda_function.report.arn
}
'''


def test_terraform_event_rules_and_their_targets(tmp_path: Path) -> None:
    pytest.importorskip("hcl2")
    (tmp_path / "main.tf").write_text(TF_EVENTS)
    spec, got, links = imported_path(tmp_path)
    c = spec["components"]
    assert c["orders"]["rules"] == [{"name": "placed", "pattern": {"source": ["com.example.orders"]},
                                     "targets": [{"target": "work", "dlq": "dlq",
                                                  "retry_policy": {"max_retries": 4, "max_event_age": "600s"}}]}]
    assert c["default-bus"]["rules"] == [{"name": "nightly", "schedule": "cron(0 2 * * ? *)",
                                          "targets": [{"target": "report"}]}]
    assert links == {("orders", "work", "event"), ("orders", "dlq", "dlq"), ("default-bus", "report", "event")}
    assert got.unmapped == []
