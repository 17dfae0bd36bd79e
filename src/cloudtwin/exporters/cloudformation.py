"""A spec's architecture as a CloudFormation template.

:func:`export` walks the spec's components in order and calls one exporter per type
(:data:`EXPORTERS`); each writes its component's resource (named so that ``cloudtwin import``
gives back the component's name) and the resources it needs (a role, a listener, a launch
template). What a template needs and a spec does not say becomes a Parameter with a default (the
AMI from Amazon Linux 2023's public SSM parameter, the database master user) or without one (the
certificate of an HTTPS listener). A network scaffold (a VPC, an internet gateway, a route table
and one public subnet per spec zone) is added when something needs subnets.

Handlers, workloads and faults have no CloudFormation form, and some component types are not
exported yet: they are listed in the template's ``Metadata.cloudtwin`` (and returned, for the
CLI to print on stderr). Nothing is dropped in silence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from cloudtwin import catalogue
from cloudtwin.exporters import (
    export_analytics,
    export_compute,
    export_containers,
    export_data,
    export_edge,
    export_events,
    export_messaging,
    export_ops,
)
from cloudtwin.exporters.template import Out
from cloudtwin.spec.schema import Architecture

__all__ = ["EXPORTERS", "Exported", "dump", "export"]

Exporter = Callable[[Out, str, Any], None]

# component type -> (its exporter, the CloudFormation type of the component's own resource)
EXPORTERS: dict[str, tuple[Exporter, str]] = {
    "ec2": (export_compute.ec2, "AWS::EC2::Instance"),
    "asg": (export_compute.asg, "AWS::AutoScaling::AutoScalingGroup"),
    "alb": (export_compute.load_balancer, "AWS::ElasticLoadBalancingV2::LoadBalancer"),
    "nlb": (export_compute.load_balancer, "AWS::ElasticLoadBalancingV2::LoadBalancer"),
    "clb": (export_compute.load_balancer, "AWS::ElasticLoadBalancing::LoadBalancer"),
    "route53": (export_compute.route53, "AWS::Route53::HostedZone"),
    "apigateway": (export_edge.apigateway, "AWS::ApiGateway::RestApi"),
    "rds": (export_data.rds, "AWS::RDS::DBInstance"),
    "elasticache": (export_data.elasticache, "AWS::ElastiCache::ReplicationGroup"),
    "dynamodb": (export_data.dynamodb, "AWS::DynamoDB::Table"),
    "kinesis": (export_data.kinesis, "AWS::Kinesis::Stream"),
    "s3": (export_data.s3, "AWS::S3::Bucket"),
    "sqs": (export_messaging.sqs, "AWS::SQS::Queue"),
    "sns": (export_messaging.sns, "AWS::SNS::Topic"),
    "lambda": (export_messaging.lambda_, "AWS::Lambda::Function"),
    "eventbridge": (export_events.eventbridge, "AWS::Events::EventBus"),
    "ebs": (export_data.ebs, "AWS::EC2::Volume"),
    "efs": (export_data.efs, "AWS::EFS::FileSystem"),
    "ecs": (export_containers.ecs, "AWS::ECS::Service"),
    "cognito": (export_edge.cognito, "AWS::Cognito::UserPool"),
    "athena": (export_data.athena, "AWS::Athena::WorkGroup"),
    "dax": (export_analytics.dax, "AWS::DAX::Cluster"),
    "redshift": (export_analytics.redshift, "AWS::Redshift::Cluster"),
    "cloudtrail": (export_events.cloudtrail, "AWS::CloudTrail::Trail"),
    "ses": (export_events.ses, "AWS::SES::EmailIdentity"),
    "cloudwatch_alarm": (export_ops.cloudwatch_alarm, "AWS::CloudWatch::Alarm"),
    "beanstalk": (export_ops.beanstalk, "AWS::ElasticBeanstalk::Environment"),
}


@dataclass
class Exported:
    """A template (plain data) and what it leaves out."""

    template: dict[str, Any]
    not_exported: list[dict[str, str]]  # component, type, why
    left_out: list[str]  # what a template cannot say (handlers, workloads, faults, settings)


def _why_not(type_: str) -> str:
    cfn = catalogue.ROWS[type_].cfn if type_ in catalogue.ROWS else ()
    return (f"{type_} ({', '.join(cfn)}) is not exported yet" if cfn
            else f"{type_} has no CloudFormation resource type in the catalogue")


def export(arch: Architecture) -> Exported:
    """The CloudFormation template of ``arch``'s components."""
    for type_, (_, cfn) in EXPORTERS.items():  # the catalogue's CloudFormation column is the source
        assert cfn in catalogue.ROWS[type_].cfn, (type_, cfn)
    out = Out(arch)
    for name, c in arch.components.items():
        got = EXPORTERS.get(c.type)
        if got is None:
            out.skip(name, _why_not(c.type))
            continue
        got[0](out, name, c)
    _references(out)
    left = _left_out(arch) + out.notes
    meta: dict[str, Any] = {"spec": arch.name, "region": arch.region, "zones": list(arch.zones),
                            "exported_by": "cloudtwin export",
                            "not_exported": [dict(x) for x in out.not_exported], "left_out": left}
    tpl: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09",
                           "Description": _description(arch),
                           "Metadata": {"cloudtwin": meta}}
    if out.parameters:
        tpl["Parameters"] = out.parameters
    tpl["Resources"] = out.resources
    return Exported(tpl, out.not_exported, left)


def _description(arch: Architecture) -> str:
    tail = " (exported by cloudtwin)"
    text = f"{arch.name}: {' '.join(arch.description.split())}" if arch.description else arch.name
    return (text if len(text) + len(tail) <= 1024 else text[:1020 - len(tail)] + "...") + tail  # at most 1,024


def _references(out: Out) -> None:
    """A reference to a component that is not exported would break the template: drop the
    property or the resource holding it, and say so."""
    skipped = {out.lid(x["component"]) for x in out.not_exported}
    if not skipped:
        return
    for logical in list(out.resources):
        body = out.resources[logical]
        for key in list(body["Properties"]):
            if _names(body["Properties"][key]) & skipped:
                if logical in {out.lid(n) for n in out.arch.components}:
                    del body["Properties"][key]
                    out.notes.append(f"{logical}.{key}: refers to a component that is not exported; left out")
                else:
                    del out.resources[logical]
                    out.notes.append(f"{logical} ({body['Type']}): refers to a component that is not exported; "
                                     "left out")
                    break


def _names(value: Any) -> set[str]:
    """The logical ids a property's Ref, GetAtt and Sub name."""
    got: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" and isinstance(v, str):
                got.add(v)
            elif k == "Fn::GetAtt" and isinstance(v, list) and v:
                got.add(str(v[0]))
            elif k == "Fn::Sub" and isinstance(v, str):
                import re

                got.update(m.split(".")[0] for m in re.findall(r"\$\{([A-Za-z0-9.]+)\}", v))
            got |= _names(v)
    elif isinstance(value, list):
        for v in value:
            got |= _names(v)
    return got


def _left_out(arch: Architecture) -> list[str]:
    out: list[str] = []
    steps = {n: len(getattr(c, "handler", []) or []) for n, c in arch.components.items()}
    with_code = [f"{n} ({k} steps)" for n, k in steps.items() if k]
    if with_code:
        out.append("handlers (what the code does; a function gets a placeholder): " + ", ".join(with_code))
    if arch.workloads:
        out.append("workloads (traffic is not a resource): " + ", ".join(arch.workloads))
    if arch.faults:
        out.append(f"faults ({len(arch.faults)} scheduled; use AWS Fault Injection Service): " +
                   ", ".join(f"{f.action} {f.target}" for f in arch.faults))
    out.append("latencies, error rates and other simulation settings")
    return out


class _NoAliases(yaml.SafeDumper):
    """PyYAML writes an object met twice as an anchor and alias (``&id001``/``*id001``), which
    CloudFormation rejects: write it out each time."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(tpl: dict[str, Any], fmt: str = "yaml") -> str:
    """The template as YAML (plain: intrinsics in their long form, no aliases) or JSON."""
    if fmt == "json":
        return json.dumps(tpl, indent=2) + "\n"
    return str(yaml.dump(tpl, Dumper=_NoAliases, sort_keys=False, default_flow_style=False, width=120,
                         allow_unicode=True))
