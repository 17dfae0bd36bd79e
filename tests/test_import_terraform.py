"""`cloudtwin import` of Terraform: the JSON of `terraform show -json` (a plan, a state) and .tf files.

The fixtures are written by hand in Terraform's documented JSON output format (there is no
terraform binary here): webapp-plan.json is the plan of webapp/*.tf (ALB + ASG + launch template +
RDS + an SQS queue with a DLQ and a Lambda consumer); shop-state.json is a state with a module.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cloudtwin.cli import app
from cloudtwin.errors import SpecError
from cloudtwin.importers.convert import import_template
from cloudtwin.spec import parse_spec_located

DATA = Path(__file__).parent / "data" / "terraform"
PLAN = DATA / "webapp-plan.json"
runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def imported(path: Path, **params: str) -> tuple[dict[str, Any], Any]:
    got = import_template(str(path), params)
    parse_spec_located(got.text, file=path.name)  # the output validates
    return yaml.safe_load(got.text), got


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def error(path: Path, **params: str) -> str:
    with pytest.raises(SpecError) as exc:
        import_template(str(path), params)
    return str(exc.value)


def test_plan_web_app() -> None:
    spec, got = imported(PLAN)
    comps = spec["components"]
    assert set(comps) == {"web-lb", "web-autoscaling-group", "db", "orders-dlq", "orders", "worker", "assets"}
    # the listener forwards to the target group the ASG names (target_group_arns references): its fleet
    assert comps["web-lb"]["targets"] == "web-autoscaling-group"
    assert comps["web-lb"]["zones"] == ["a", "b"]  # its subnets (references to aws_subnet.public) are in 1a, 1b
    assert comps["web-lb"]["health_check"] == {"interval": "15s", "timeout": "5s", "healthy_threshold": 3,
                                               "unhealthy_threshold": 2, "protocol": "http", "path": "/health"}
    assert comps["web-lb"]["deregistration_delay"] == "30s"
    asg = comps["web-autoscaling-group"]
    assert asg["instance_type"] == "t3.micro"  # from the launch template the ASG references
    assert asg["capacity"] == {"min": 2, "desired": 2, "max": 6}
    assert asg["health_check"] == {"type": "elb", "grace_period": "120s"} and asg["zones"] == ["a", "b"]
    assert asg["scaling"] == {"target_cpu": 50.0}
    assert comps["db"] == {"type": "rds", "engine": "postgres", "instance_class": "db.t3.medium", "multi_az": True,
                           "storage_gb": 50.0, "encrypted": True, "backup_retention": 7}
    # the DLQ: redrive_policy is unknown in a plan (jsonencode of an unknown ARN); its reference names the DLQ
    assert comps["orders"]["dlq"] == "orders-dlq" and comps["orders"]["visibility_timeout"] == "60s"
    assert comps["orders"]["max_receive_count"] == 5
    assert "orders: RedrivePolicy.maxReceiveCount not set -> max_receive_count: 5" in got.text
    assert "maxReceiveCount is not known" in got.text
    # the event source mapping (references to the queue and the function) is the function's event source
    assert comps["worker"] == {"type": "lambda", "memory": 256, "timeout": "30s",
                               "event_sources": [{"queue": "orders", "batch_size": 5}]}
    unmapped = {n: (t, line) for n, t, line, _ in got.unmapped}
    assert unmapped == {
        "aws_vpc.main": ("aws_vpc", 27), "aws_subnet.public[0]": ("aws_subnet", 39),
        "aws_subnet.public[1]": ("aws_subnet", 53), "aws_security_group.web": ("aws_security_group", 67),
        "aws_iam_role.worker": ("aws_iam_role", 268),
        "aws_cloudwatch_log_group.worker": ("aws_cloudwatch_log_group", 328)}
    for name, (_, line) in unmapped.items():  # the line opens the resource's object in planned_values
        assert f'"address": "{name}"' in PLAN.read_text().splitlines()[line]
    assert set(spec["workloads"]) == {"web-lb-traffic", "orders-traffic"}
    assert "Terraform plan JSON (`terraform show -json`, format_version 1.2)" in got.text.splitlines()[0]
    assert "# WebAutoscalingGroup: aws_autoscaling_group.web (AWS::AutoScaling::AutoScalingGroup), line 165" in got.text
    assert "aws_launch_template.web (aws_launch_template, line 152)" in got.text
    assert spec["region"] == "us-east-1"


def test_tf_files_give_the_same_architecture() -> None:
    spec, got = imported(DATA / "webapp")
    plan, _ = imported(PLAN)
    comps = spec["components"]
    assert set(comps) == set(plan["components"]) - {"assets"}  # the plan has one more bucket
    for name in ("web-lb", "web-autoscaling-group", "db", "worker"):
        assert comps[name] == plan["components"][name], name
    # jsonencode's literal keys are read: maxReceiveCount 4, where the plan could not know it
    assert comps["orders"]["dlq"] == "orders-dlq" and comps["orders"]["max_receive_count"] == 4
    main = DATA / "webapp" / "main.tf"
    lines = {n: line for n, _, line, _ in got.unmapped}
    assert lines["aws_vpc.main (main.tf)"] == line_of(main, 'resource "aws_vpc" "main"')
    assert lines["aws_subnet.public[0] (main.tf)"] == lines["aws_subnet.public[1] (main.tf)"] == \
        line_of(main, 'resource "aws_subnet" "public"')  # count = length(var.zones): two instances
    assert "# var.zones = [\"us-east-1a\", \"us-east-1b\"] (default)" in got.text
    assert "# var.db_password: no value (no default; pass --param db_password=VALUE)" in got.text
    assert "data.aws_ami.al2023 (main.tf, line 9): data sources are not read" in got.text


def test_tf_params_override_variables() -> None:
    spec, got = imported(DATA / "webapp", instance_type="m5.large", min_size="1")
    asg = spec["components"]["web-autoscaling-group"]
    assert asg["instance_type"] == "m5.large" and asg["capacity"]["min"] == 1
    assert "# var.instance_type = m5.large (--param)" in got.text
    assert "no variable 'instance_typ' is declared; did you mean 'instance_type'?" in error(
        DATA / "webapp", instance_typ="x")


def test_state_values_name_the_resources() -> None:
    spec, got = imported(DATA / "shop-state.json")
    comps = spec["components"]
    assert spec["region"] == "us-west-2"  # from the state's ARNs
    # the redrive policy is a JSON string whose deadLetterTargetArn is the DLQ's ARN
    assert comps["jobs"]["dlq"] == "jobs-dlq" and comps["jobs"]["max_receive_count"] == 3
    assert comps["handler"]["event_sources"] == [{"queue": "jobs", "batch_size": 10, "batching_window": "2s",
                                                  "report_batch_item_failures": True, "maximum_concurrency": 5}]
    assert comps["handler"]["reserved_concurrency"] == 20
    # aws_s3_bucket_notification is part of the bucket
    assert comps["uploads"]["notifications"] == [{"target": "jobs", "events": ["put"], "prefix": "in/"}]
    # aws_lb_target_group_attachment (count 2): the two instances are the ALB's fleet
    assert comps["web-lb"]["targets"] == ["web-instance0", "web-instance1"]
    assert comps["web-lb"]["stickiness"] == {"type": "lb_cookie", "duration": "3600s"}
    assert comps["web-instance0"]["elastic_ip"] is True and "elastic_ip" not in comps["web-instance1"]
    assert comps["main"]["records"] == [{"name": "www.shop.example.com", "alias": "web-lb",
                                         "evaluate_target_health": True}]
    assert comps["http"]["integration"] == {"target": "handler", "op": "invoke"}
    assert comps["http"]["throttle"] == {"rate": "100/s", "burst": 200}
    assert comps["orders"] == {"type": "dynamodb", "capacity": "provisioned", "rcu": 20, "wcu": 10,
                               "stream": {"view": "new_image"}}
    assert comps["clicks"] == {"type": "kinesis", "shards": 4, "retention": "48h"}
    assert comps["redis"]["replicas"] == 1 and comps["redis"]["zones"] == ["a", "b"]
    # the permission (its source ARN is under the API's execution ARN) is folded into the API
    assert [(n, t) for n, t, _, _ in got.unmapped] == [
        ("module.cache.aws_elasticache_subnet_group.redis", "aws_elasticache_subnet_group")]
    assert "aws_lambda_permission.api (aws_lambda_permission" in got.text


def test_cli_import_validate_and_run(tmp_path: Path) -> None:
    for src in (PLAN, DATA / "webapp"):
        out = tmp_path / f"{src.stem}.yaml"
        code, _, err = cli("import", str(src), "-o", str(out))
        assert code == 0, err
        assert "not mapped: aws_vpc.main" in err
        assert cli("validate", str(out))[0] == 0
        code, _, err = cli("run", str(out), "--duration", "1m", "-q")
        assert code == 0, err


def _plan_with(tmp_path: Path, edit: Any) -> Path:
    doc = json.loads(PLAN.read_text())
    edit(doc)
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(doc, indent=2))
    return p


def test_bad_json_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "format_version": "1.2",\n  "planned_values": {\n    "root_module": [,]\n  }\n}\n')
    code, _, err = cli("import", str(bad))
    assert code == 2 and f"{bad}:4:" in err and "Traceback" not in err

    def dangling(doc: dict[str, Any]) -> None:
        esm = next(r for r in doc["configuration"]["root_module"]["resources"]
                   if r["address"] == "aws_lambda_event_source_mapping.orders")
        esm["expressions"]["event_source_arn"] = {"references": ["aws_sqs_queue.nope.arn", "aws_sqs_queue.nope"]}

    p = _plan_with(tmp_path, dangling)
    code, _, err = cli("import", str(p))
    want = line_of(p, '"event_source_arn": {')
    assert code == 2 and f"{p}:{want}:" in err and "reference to aws_sqs_queue.nope: no such resource" in err
    p = _plan_with(tmp_path, lambda d: d.update(format_version="2.0"))
    assert "format_version '2.0'" in error(p)
    p = _plan_with(tmp_path, lambda d: d["planned_values"].update(root_module=[]))
    assert "planned_values.root_module must be an object" in error(p)
    assert "variables applied already" in error(PLAN, x="1")


def test_plan_region_from_the_provider_variable(tmp_path: Path) -> None:
    p = _plan_with(tmp_path, lambda d: d["variables"]["region"].update(value="eu-west-1"))
    spec, got = imported(p)
    assert spec["region"] == "eu-west-1"
    assert "example-only" not in got.text  # the plan's (sensitive) variable values are not copied
    assert imported(p, **{"AWS::Region": "ap-south-1"})[0]["region"] == "ap-south-1"


def test_bad_tf_inputs(tmp_path: Path) -> None:
    huge = tmp_path / "huge.tf"
    huge.write_text('variable "n" {\n  default = 100000000\n}\n\nresource "aws_sqs_queue" "q" {\n'
                    '  name  = "q"\n  count = var.n\n}\n')
    code, _, err = cli("import", str(huge))
    assert code == 2 and f"{huge}:7:" in err and "count = 100000000: cloudtwin imports 0 to 1000" in err
    unknown = tmp_path / "unknown.tf"
    unknown.write_text('variable "n" {}\n\nresource "aws_sqs_queue" "q" {\n  count = var.n\n}\n')
    msg = error(unknown)
    assert f"{unknown}:4:" in msg and "var.n has no default and no --param" in msg
    assert imported(unknown, n="2")[0]["components"].keys() == {"q0", "q1"}
    dangling = tmp_path / "dangling.tf"
    dangling.write_text('resource "aws_sqs_queue" "q" {\n  name = "q"\n  redrive_policy = jsonencode({\n'
                        '    deadLetterTargetArn = aws_sqs_queue.dlq.arn\n  })\n}\n')
    msg = error(dangling)
    assert f"{dangling}:3:" in msg and "reference to aws_sqs_queue.dlq: no such resource" in msg
    syntax = tmp_path / "syntax.tf"
    syntax.write_text('resource "aws_sqs_queue" "q" {\n  name = \n}\n')
    code, _, err = cli("import", str(syntax))
    assert code == 2 and f"{syntax}:2:" in err and "invalid HCL" in err and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "the directory has no .tf files" in error(empty)


def test_tf_without_python_hcl2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hcl2", None)
    msg = error(DATA / "webapp")
    assert "pip install 'cloudtwin[terraform]'" in msg and "main.tf:1:" in msg


def _state(tmp_path: Path, resources: list[dict[str, Any]]) -> Path:
    p = tmp_path / "state.json"
    p.write_text(json.dumps({"format_version": "1.0", "values": {"root_module": {"resources": resources}}}, indent=1))
    return p


def test_hostile_sizes(tmp_path: Path) -> None:
    # .tf files are bounded together (python-hcl2 is slow): refused from their size, unparsed
    big = tmp_path / "big"
    big.mkdir()
    for i in range(2):
        (big / f"f{i}.tf").write_text(f'resource "aws_sqs_queue" "q{i}" {{\n' + "  # padding\n" * 12_000 + "}\n")
    assert "hold more than 262,144 characters together" in error(big)
    # more resources than a spec may have components: refused at the first one over
    many = _state(tmp_path, [{"address": f"aws_sqs_queue.q{i}", "type": "aws_sqs_queue", "name": f"q{i}",
                              "values": {}} for i in range(2_001)])
    msg = error(many)
    assert "2,001 resources: more than cloudtwin imports (2,000)" in msg
    first_over = line_of(many, '"address": "aws_sqs_queue.q2000"') - 1  # the line that opens its object
    assert f"{many}:{first_over}:" in msg
    # a chain of redrive policies longer than the reference checks follow: exit 2, no traceback
    n = 1_200
    chain = _state(tmp_path, [{"address": f"aws_sqs_queue.q{i}", "type": "aws_sqs_queue", "name": f"q{i}",
                               "values": {"arn": f"arn:aws:sqs:us-east-1:1:q{i}", "redrive_policy": json.dumps(
                                   {"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:1:q{i + 1}", "maxReceiveCount": 2})}}
                              for i in range(n)])
    code, _, err = cli("import", str(chain))
    assert code == 2 and "in a chain too long to follow" in err and "Traceback" not in err


def test_tf_api_topic_stream_cache_and_record() -> None:
    spec, got = imported(DATA / "serverless.tf")
    comps = spec["components"]
    tf = DATA / "serverless.tf"
    # the REST API: the integration (a Method with its Integration in CloudFormation) reaches the function;
    # the stage's cache and the */* method settings' throttle and cache TTL
    api = comps["api-api-gateway-rest-api"]
    assert api["integration"] == {"target": "api-lambda-function", "op": "invoke"}
    assert api["throttle"] == {"rate": "500/s", "burst": 1000} and api["cache"] == {"size_gb": 1.6, "ttl": "60s"}
    settings = line_of(tf, 'resource "aws_api_gateway_method_settings"')
    assert f"aws_api_gateway_method_settings.all (aws_api_gateway_method_settings, line {settings})" in got.text
    assert comps["api-lambda-function"] == {"type": "lambda", "memory": 128, "timeout": "3s"}  # AWS's defaults
    assert "api-lambda-function: MemorySize not set -> memory: 128 (AWS's default)" in got.text
    # subscriptions: jsonencode's object is the filter policy
    assert comps["events"]["subscriptions"] == [
        {"protocol": "sqs", "target": "audit", "filter_policy": {"kind": ["order"]}},
        {"protocol": "lambda", "target": "notify"}]
    assert comps["clicks"] == {"type": "kinesis", "shards": 2, "retention": "24h",
                               "consumers": [{"function": "notify", "batch_size": 200}]}
    assert comps["sessions"] == {"type": "elasticache", "engine": "memcached", "node_type": "cache.t3.small",
                                 "nodes": 3}
    assert comps["bastion"] == {"type": "ec2", "instance_type": "t3.nano", "zones": ["c"], "elastic_ip": True}
    assert comps["main"]["records"] == [{"name": "bastion.example.com", "a": "bastion", "ttl": "300s"}]
    assert got.unmapped == []
    assert imported(tf, shards="4")[0]["components"]["clicks"]["shards"] == 4


def test_plan_module_references_are_relative(tmp_path: Path) -> None:
    """A module instance's resources refer to each other by their addresses inside the module."""
    def res(t: str, n: str, values: dict[str, Any]) -> dict[str, Any]:
        return {"address": f"module.jobs[0].{t}.{n}", "mode": "managed", "type": t, "name": n, "values": values}

    def conf(t: str, n: str, exprs: dict[str, Any]) -> dict[str, Any]:
        return {"address": f"{t}.{n}", "mode": "managed", "type": t, "name": n, "expressions": exprs}

    plan = {"format_version": "1.2", "planned_values": {"root_module": {"child_modules": [
        {"address": "module.jobs[0]", "resources": [
            res("aws_sqs_queue", "dlq", {"visibility_timeout_seconds": 30}),
            res("aws_sqs_queue", "main", {"visibility_timeout_seconds": 90})]}]}},
        "configuration": {"root_module": {"module_calls": {"jobs": {"source": "./jobs", "module": {"resources": [
            conf("aws_sqs_queue", "dlq", {}),
            conf("aws_sqs_queue", "main", {"redrive_policy": {"references": ["aws_sqs_queue.dlq.arn",
                                                                             "aws_sqs_queue.dlq"]}})]}}}}}}
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(plan, indent=2))
    spec, got = imported(p)
    assert spec["components"]["main"]["dlq"] == "dlq"
    assert "# Main: module.jobs[0].aws_sqs_queue.main (AWS::SQS::Queue)" in got.text
    # a reference inside the module to a resource the module does not have is an error at its line
    plan["configuration"]["root_module"]["module_calls"]["jobs"]["module"]["resources"].pop(0)
    p.write_text(json.dumps(plan, indent=2))
    msg = error(p)
    assert "reference to aws_sqs_queue.dlq: no such resource" in msg
    redrive = line_of(p, '"redrive_policy"')
    assert f"{p}:{redrive}:" in msg
