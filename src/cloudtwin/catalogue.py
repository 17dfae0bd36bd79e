"""The catalogue of component types: one row per spec ``type:``, data only.

Every table that used to list component types by hand reads this one instead:
the spec (which model validates a ``type:``), the simulation (which live model
runs it), the reference checks (operations, workload entries), pricing (which
meter bills a type's configured capacity and which usage types need a run),
the review (families such as load balancers), import/export (CloudFormation
resource types) and diagrams (the group a type is drawn in).

Models are named as ``"module:Class"`` strings so that this module stays at the
bottom layer and importing it builds nothing; :func:`resolve` imports one on
use. A row may also hold the class itself, which is how a plug-in registered at
run time (:func:`register`) brings its own models (see docs/contributing.md).
"""

from __future__ import annotations

import builtins
import importlib
from dataclasses import dataclass
from typing import Any

__all__ = ["ROWS", "ComponentType", "entry_types", "family", "operations", "register", "resolve", "row", "types",
           "unregister"]

# Diagram groups, as AWS's architecture icons group services.
GROUPS = ("compute", "containers", "networking", "database", "storage", "integration", "analytics",
          "security", "management")


@dataclass(frozen=True)
class ComponentType:
    """One component type.

    - ``spec_model``/``live_model``: the pydantic model of its spec block and the
      :class:`cloudtwin.component.Component` subclass that simulates it;
    - ``operations``: what a ``call`` step or workload may ask of it (``""``: a plain request);
    - ``entry``: whether a workload may send its requests to it;
    - ``cfn``: the CloudFormation resource types it stands for (import and export);
    - ``group``: its diagram group; ``family``: the types the review and pricing treat alike
      (``load_balancer``, ``compute``, ``database``);
    - ``meter``: the function of :mod:`cloudtwin.pricing.meters` that bills its configured
      capacity (None: nothing is billed just for existing); ``traffic``: the usage types it
      bills by traffic, which only a run can measure.
    """

    type: str
    spec_model: str | builtins.type[Any]
    live_model: str | builtins.type[Any]
    operations: tuple[str, ...]
    entry: bool
    cfn: tuple[str, ...]
    group: str
    family: str = ""
    meter: str | None = None
    traffic: tuple[str, ...] = ()


def _row(type_: str, spec: str, live: str, ops: tuple[str, ...], entry: bool, cfn: tuple[str, ...], group: str,
         *, family: str = "", meter: str | None = None, traffic: tuple[str, ...] = ()) -> ComponentType:
    return ComponentType(type_, f"cloudtwin.spec.{spec}", f"cloudtwin.services.{live}", ops, entry, cfn, group,
                         family, meter, traffic)


_ELBV2 = "AWS::ElasticLoadBalancingV2::LoadBalancer"
_CRUD = ("get", "query", "put", "update", "delete")

ROWS: dict[str, ComponentType] = {r.type: r for r in (
    # ---- compute
    _row("ec2", "ec2:EC2", "ec2:EC2", ("", "associate_address"), True, ("AWS::EC2::Instance",), "compute",
         family="compute", meter="compute"),
    _row("asg", "asg:ASG", "asg:ASG", ("",), True,
         ("AWS::AutoScaling::AutoScalingGroup",), "compute", family="compute", meter="compute"),
    _row("lambda", "lambda_:Lambda", "lambda_:Lambda", ("invoke", "invoke_async"), True,
         ("AWS::Lambda::Function", "AWS::Serverless::Function"), "compute",
         traffic=("Request", "Lambda-GB-Second")),
    _row("beanstalk", "beanstalk:Beanstalk", "beanstalk:Beanstalk", ("",), True,
         ("AWS::ElasticBeanstalk::Environment",), "compute", meter="beanstalk"),
    _row("ecs", "ecs:ECS", "ecs:ECS", ("run_task",), False, ("AWS::ECS::Service",), "containers"),
    _row("batch", "batch:Batch", "batch:Batch", (), False,
         ("AWS::Batch::JobQueue", "AWS::Batch::ComputeEnvironment", "AWS::Batch::JobDefinition"), "compute"),
    # ---- networking and content delivery
    _row("alb", "elb:LoadBalancer", "elb:ALB", ("",), True, (_ELBV2,), "networking",
         family="load_balancer", meter="lb", traffic=("LCUUsage:application",)),
    _row("nlb", "elb:LoadBalancer", "elb:NLB", ("",), True, (_ELBV2,), "networking",
         family="load_balancer", meter="lb", traffic=("LCUUsage:network",)),
    _row("clb", "elb:LoadBalancer", "elb:CLB", ("",), True,
         ("AWS::ElasticLoadBalancing::LoadBalancer",), "networking", family="load_balancer", meter="lb",
         traffic=("DataProcessing-Bytes:classic",)),
    _row("route53", "route53:Route53", "route53:Route53", (), True,  # a workload resolves its `host:`
         ("AWS::Route53::HostedZone", "AWS::Route53::RecordSet", "AWS::Route53::RecordSetGroup",
          "AWS::Route53::HealthCheck"), "networking", meter="route53", traffic=("DNS-Queries",)),
    _row("apigateway", "apigateway:ApiGateway", "apigateway:ApiGateway", ("", "invalidate"), True,
         ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api", "AWS::Serverless::Api",
          "AWS::Serverless::HttpApi"), "networking", meter="apigateway",
         traffic=("ApiGatewayRequest", "ApiGatewayHttpRequest")),
    _row("directconnect", "directconnect:DirectConnect", "directconnect:DirectConnect", (), False,
         ("AWS::DirectConnect::Connection",), "networking", meter="directconnect",
         traffic=("DataXfer-Out:DirectConnect", "TransitGateway-Bytes")),
    _row("vpn", "vpn:VPN", "vpn:VPN", (), False, ("AWS::EC2::VPNConnection",), "networking", meter="vpn",
         traffic=("DataTransfer-Out-Bytes", "TransitGateway-Bytes")),
    _row("cloudfront", "cloudfront:CloudFront", "cloudfront:CloudFront", ("get",), True,
         ("AWS::CloudFront::Distribution",), "networking",
         traffic=("US-DataTransfer-Out-Bytes", "US-Requests-Tier2-HTTPS")),
    # ---- databases
    _row("rds", "rds:RDS", "rds:RDS", ("query", "write", "read"), False, ("AWS::RDS::DBInstance",),
         "database", family="database", meter="rds"),
    _row("aurora", "rds:RDS", "rds:Aurora", ("query", "write", "read"), False,
         ("AWS::RDS::DBCluster",), "database", family="database", meter="rds"),
    _row("elasticache", "elasticache:ElastiCache", "elasticache:ElastiCache", ("get", "set", "delete"), False,
         ("AWS::ElastiCache::CacheCluster", "AWS::ElastiCache::ReplicationGroup"), "database",
         meter="elasticache"),
    _row("dynamodb", "dynamodb:DynamoDB", "dynamodb:DynamoDB", _CRUD, True,
         ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"), "database", meter="dynamodb",
         traffic=("ReadRequestUnits", "WriteRequestUnits")),
    _row("dax", "dax:DAX", "dax:DAX", _CRUD, True, ("AWS::DAX::Cluster",), "database", meter="dax"),
    # ---- storage
    _row("s3", "s3:S3", "s3:S3", ("put", "get", "delete", "list"), True, ("AWS::S3::Bucket",), "storage",
         meter="s3", traffic=("S3:Requests-Tier1", "S3:Requests-Tier2", "DataTransfer-Out-Bytes")),
    _row("efs", "efs:EFS", "efs:EFS", ("read", "write"), False, ("AWS::EFS::FileSystem",), "storage",
         meter="efs"),
    _row("ebs", "ebs:EBS", "ebs:EBS", ("read", "write"), False, ("AWS::EC2::Volume",), "storage",
         meter="ebs"),
    # ---- application integration
    _row("sqs", "sqs:SQS", "sqs:SQS", ("send",), True, ("AWS::SQS::Queue",), "integration",
         traffic=("SQS-Requests-Tier1",)),
    _row("sns", "sns:SNS", "sns:SNS", ("publish",), True, ("AWS::SNS::Topic",), "integration",
         traffic=("SNS-Requests-Tier1",)),
    _row("eventbridge", "eventbridge:EventBridge", "eventbridge:EventBridge", ("put",), True,
         ("AWS::Events::EventBus", "AWS::Events::Rule"), "integration"),
    _row("ses", "ses:SES", "ses:SES", ("send",), True, ("AWS::SES::EmailIdentity",), "integration",
         traffic=("Recipients",)),
    # ---- analytics
    _row("kinesis", "kinesis:Kinesis", "kinesis:Kinesis", ("put",), True, ("AWS::Kinesis::Stream",),
         "analytics", meter="kinesis"),
    _row("firehose", "firehose:Firehose", "firehose:Firehose", ("put",), True,
         ("AWS::KinesisFirehose::DeliveryStream",), "analytics",
         traffic=("Firehose-IngestGB", "Firehose-FormatConversionGB")),
    _row("athena", "athena:Athena", "athena:Athena", ("query",), True, ("AWS::Athena::WorkGroup",),
         "analytics", traffic=("Athena-TB-Scanned",)),
    _row("redshift", "redshift:Redshift", "redshift:Redshift", ("query", "load"), True,
         ("AWS::Redshift::Cluster",), "analytics", meter="redshift"),
    _row("quicksight", "quicksight:QuickSight", "quicksight:QuickSight", ("refresh", "view"), True,
         ("AWS::QuickSight::Dashboard",), "analytics", meter="quicksight"),
    # ---- security, identity; management
    _row("cognito", "cognito:Cognito", "cognito:Cognito", ("sign_in", "sign_up"), True,
         ("AWS::Cognito::UserPool",), "security", traffic=("Cognito-MAU",)),
    _row("cloudtrail", "cloudtrail:CloudTrail", "cloudtrail:CloudTrail", ("record",), True,
         ("AWS::CloudTrail::Trail",), "management"),
    _row("cloudwatch_alarm", "cloudwatch:Alarm", "cloudwatch:Alarm", (), False,
         ("AWS::CloudWatch::Alarm",), "management"),
    _row("waf", "waf:Waf", "waf:Waf", (), False, ("AWS::WAFv2::WebACL",), "security"),
    _row("network_acl", "network_acl:NetworkAcl", "network_acl:NetworkAcl", (), False,
         ("AWS::EC2::NetworkAcl",), "networking"),
    _row("vpc", "vpc:Vpc", "vpc:Vpc", ("internet",), False, (), "networking", meter="vpc",
         traffic=("NatGateway-Bytes",)),
    _row("security_group", "security_group:SecurityGroup", "security_group:SecurityGroup", (), False,
         ("AWS::EC2::SecurityGroup",), "security"),
)}


def row(type_: str) -> ComponentType:
    """The row of ``type_`` (KeyError if the catalogue has none)."""
    return ROWS[type_]


def types() -> tuple[str, ...]:
    """Every component type, sorted."""
    return tuple(sorted(ROWS))


def family(name: str) -> tuple[str, ...]:
    """The types of one family (``load_balancer``, ``compute``, ``database``), sorted."""
    return tuple(sorted(t for t, r in ROWS.items() if r.family == name))


def entry_types() -> tuple[str, ...]:
    """The types a workload may send requests to."""
    return tuple(sorted(t for t, r in ROWS.items() if r.entry))


def operations(type_: str) -> tuple[str, ...]:
    return ROWS[type_].operations


def resolve(ref: str | type[Any]) -> Any:
    """The object a row names: ``"package.module:Name"`` imported on use, or the object itself."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def register(new: ComponentType, *, replace: bool = False) -> ComponentType:
    """Add a component type (a plug-in). Its spec model needs ``type: Literal[<type>]``; its
    live model subclasses :class:`cloudtwin.component.Component`. Returns the row."""
    if new.type in ROWS and not replace:
        raise ValueError(f"component type {new.type!r} is already in the catalogue")
    if new.group not in GROUPS:
        raise ValueError(f"unknown diagram group {new.group!r}; one of {', '.join(GROUPS)}")
    ROWS[new.type] = new
    return new


def unregister(type_: str) -> None:
    """Remove a plug-in's row (tests use it to leave the catalogue as they found it)."""
    del ROWS[type_]
