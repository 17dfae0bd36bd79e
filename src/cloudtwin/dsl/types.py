"""One class per component type of the catalogue, for the DSL: ``ALB("lb", zones=["a", "b"])``
is ``Component("alb", "lb", zones=["a", "b"])``. A type added by a plug-in is made with
:class:`~cloudtwin.dsl.model.Component` and its type name."""

from __future__ import annotations

from cloudtwin.dsl.model import Component

__all__ = ["ALB", "APIGateway", "ASG", "Athena", "Aurora", "Batch", "Beanstalk", "CLB", "CloudFront",
           "CloudTrail", "CloudWatchAlarm", "Cognito", "DAX", "DirectConnect", "DynamoDB", "EBS", "EC2",
           "ECS", "EFS", "ElastiCache", "EventBridge", "Firehose", "Kinesis", "Lambda", "NLB", "NetworkACL",
           "QuickSight", "RDS", "Redshift", "Route53", "S3", "SES", "SNS", "SQS", "SecurityGroup", "VPC", "VPN",
           "WAF"]


class Route53(Component):
    type = "route53"


class ALB(Component):
    type = "alb"


class NLB(Component):
    type = "nlb"


class CLB(Component):
    type = "clb"


class ASG(Component):
    type = "asg"


class EC2(Component):
    type = "ec2"


class Lambda(Component):
    type = "lambda"


class ECS(Component):
    type = "ecs"


class APIGateway(Component):
    type = "apigateway"


class CloudFront(Component):
    type = "cloudfront"


class RDS(Component):
    type = "rds"


class Aurora(Component):
    type = "aurora"


class ElastiCache(Component):
    type = "elasticache"


class DynamoDB(Component):
    type = "dynamodb"


class DAX(Component):
    type = "dax"


class S3(Component):
    type = "s3"


class EFS(Component):
    type = "efs"


class EBS(Component):
    type = "ebs"


class SQS(Component):
    type = "sqs"


class SNS(Component):
    type = "sns"


class EventBridge(Component):
    type = "eventbridge"


class SES(Component):
    type = "ses"


class Kinesis(Component):
    type = "kinesis"


class Firehose(Component):
    type = "firehose"


class Athena(Component):
    type = "athena"


class Redshift(Component):
    type = "redshift"


class QuickSight(Component):
    type = "quicksight"


class Cognito(Component):
    type = "cognito"


class CloudTrail(Component):
    type = "cloudtrail"


class DirectConnect(Component):
    type = "directconnect"


class VPN(Component):
    type = "vpn"


class CloudWatchAlarm(Component):
    type = "cloudwatch_alarm"


class Beanstalk(Component):
    type = "beanstalk"


class Batch(Component):
    type = "batch"


class WAF(Component):
    type = "waf"


class NetworkACL(Component):
    type = "network_acl"


class SecurityGroup(Component):
    type = "security_group"


class VPC(Component):
    type = "vpc"
