"""Terraform resource types to CloudFormation ones: the table the Terraform importers share.

Each translator reads one Terraform resource instance through a :class:`View` (its known values,
and the resources its attributes refer to) and writes the CloudFormation ``Properties`` the
CloudFormation mappers read, with references as ``{"Ref": id}`` / ``{"Fn::GetAtt": [id, attr]}``.
A few Terraform resources are parts of another resource in CloudFormation (an S3 bucket's
notifications, a target group's attachments, an Auto Scaling group's attachment to a target
group): their translator *merges* them into that resource's properties, and the importer folds
them into its component. Types not in :data:`TABLE` are listed as not mapped (under their
CloudFormation type, when :data:`NAMES` knows it, so that the catalogue can say whether cloudtwin
has a component for them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MERGES", "NAMES", "PRIMARY", "TABLE", "Res", "View"]

Props = dict[str, Any]


@dataclass
class Res:
    """One Terraform resource instance: ``address`` with its index (``aws_instance.web[0]``),
    ``base`` without it, ``module`` the module path prefix (``module.app.`` or ``""``)."""

    address: str
    base: str
    module: str
    type: str
    name: str
    index: Any
    values: dict[str, Any]
    exprs: dict[str, Any]  # attribute -> expression ({"references": [...]}) or list of block expressions
    unknown: dict[str, Any]  # attribute -> True when known only after apply
    line: int
    logical: str = ""


@dataclass
class View:
    """What a translator sees of a resource: ``links(res, path)`` gives the resources (as
    CloudFormation references) the attribute at ``path`` names."""

    res: Res
    links: Callable[[Res, tuple[str | int, ...], str], list[Any]]
    unresolved: list[str] = field(default_factory=list)

    def v(self, *path: str | int) -> Any:
        """The known value at ``path`` (None when absent, null or known only after apply)."""
        cur: Any = self.res.values
        for p in path:
            if isinstance(p, int):
                cur = cur[p] if isinstance(cur, list) and p < len(cur) else None
            else:
                cur = cur.get(p) if isinstance(cur, dict) else None
            if cur is None:
                why = self.res.unknown.get(str(path[0]))
                if why not in (None, False) and not self.refs(*path):
                    self.note(str(path[0]), why if isinstance(why, str) else "known only after apply")
                return None
        return cur

    def note(self, attr: str, why: str) -> None:
        text = f"{attr}: {why}"
        if text not in self.unresolved:
            self.unresolved.append(text)

    def refs(self, *path: str | int, attr: str = "arn") -> list[Any]:
        return self.links(self.res, path, attr)

    def ref(self, *path: str | int, attr: str = "arn") -> Any:
        """The resource the attribute names (a reference), else its known value."""
        got = self.refs(*path, attr=attr)
        return got[0] if got else self.v(*path)

    def put(self, props: Props, key: str, *path: str | int) -> None:
        value = self.v(*path)
        if value is not None:
            props[key] = value

    def block(self, name: str) -> dict[str, Any]:
        got = self.v(name, 0)
        return got if isinstance(got, dict) else {}


def _json(text: Any) -> Any:
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return None
    return text if isinstance(text, dict | list) else None


def _redrive(r: View, attr: str) -> Props | None:
    doc = _json(r.v(attr))
    target = r.ref(attr)
    out: Props = {}
    if isinstance(doc, dict):
        out.update(doc)
        got = r.links(r.res, (attr, "deadLetterTargetArn"), "arn")
        if got:
            out["deadLetterTargetArn"] = got[0]
    elif target is not None:
        out["deadLetterTargetArn"] = target
        r.note(attr, "known only after apply: its dead-letter queue is the resource it refers to; "
                     "maxReceiveCount is not known")
    return out or None


# ---------------------------------------------------------------- messaging
def _sqs(r: View) -> Props:
    p: Props = {}
    for key, attr in (("VisibilityTimeout", "visibility_timeout_seconds"),
                      ("MessageRetentionPeriod", "message_retention_seconds"), ("DelaySeconds", "delay_seconds"),
                      ("ReceiveMessageWaitTimeSeconds", "receive_wait_time_seconds"),
                      ("MaximumMessageSize", "max_message_size"), ("FifoQueue", "fifo_queue")):
        r.put(p, key, attr)
    redrive = _redrive(r, "redrive_policy")
    if redrive:
        p["RedrivePolicy"] = redrive
    return p


def _sqs_redrive(r: View, target: Props) -> None:
    redrive = _redrive(r, "redrive_policy")
    if redrive:
        target["RedrivePolicy"] = redrive


def _sns(r: View) -> Props:
    p: Props = {}
    r.put(p, "FifoTopic", "fifo_topic")
    return p


def _sns_sub(r: View) -> Props:
    p: Props = {"TopicArn": r.ref("topic_arn"), "Protocol": r.v("protocol"), "Endpoint": r.ref("endpoint")}
    fp = _json(r.v("filter_policy"))
    if isinstance(fp, dict):
        p["FilterPolicy"] = fp
        r.put(p, "FilterPolicyScope", "filter_policy_scope")
    redrive = _redrive(r, "redrive_policy")
    if redrive:
        p["RedrivePolicy"] = redrive
    return p


def _lambda(r: View) -> Props:
    p: Props = {}
    r.put(p, "MemorySize", "memory_size")
    r.put(p, "Timeout", "timeout")
    reserved = r.v("reserved_concurrent_executions")
    if isinstance(reserved, int) and reserved >= 0:  # -1, the provider's default, is "unreserved"
        p["ReservedConcurrentExecutions"] = reserved
    dlq = r.ref("dead_letter_config", 0, "target_arn")
    if dlq is not None:
        p["DeadLetterConfig"] = {"TargetArn": dlq}
    return p


def _esm(r: View) -> Props:
    p: Props = {"FunctionName": r.ref("function_name"), "EventSourceArn": r.ref("event_source_arn")}
    for key, attr in (("BatchSize", "batch_size"), ("MaximumBatchingWindowInSeconds",
                                                    "maximum_batching_window_in_seconds"),
                      ("FunctionResponseTypes", "function_response_types"),
                      ("BisectBatchOnFunctionError", "bisect_batch_on_function_error"),
                      ("MaximumRetryAttempts", "maximum_retry_attempts"),
                      ("ParallelizationFactor", "parallelization_factor")):
        r.put(p, key, attr)
    mc = r.v("scaling_config", 0, "maximum_concurrency")
    if mc is not None:
        p["ScalingConfig"] = {"MaximumConcurrency": mc}
    return p


def _invoke_config(r: View) -> Props:
    p: Props = {"FunctionName": r.ref("function_name")}
    r.put(p, "MaximumRetryAttempts", "maximum_retry_attempts")
    r.put(p, "MaximumEventAgeInSeconds", "maximum_event_age_in_seconds")
    dest = r.ref("destination_config", 0, "on_failure", 0, "destination")
    if dest is not None:
        p["DestinationConfig"] = {"OnFailure": {"Destination": dest}}
    return p


# ---------------------------------------------------------------- data
def _dynamodb(r: View) -> Props:
    p: Props = {}
    r.put(p, "BillingMode", "billing_mode")
    if r.v("read_capacity") is not None or r.v("write_capacity") is not None:
        p["ProvisionedThroughput"] = {"ReadCapacityUnits": r.v("read_capacity"),
                                      "WriteCapacityUnits": r.v("write_capacity")}
    if r.v("stream_enabled") and r.v("stream_view_type"):
        p["StreamSpecification"] = {"StreamViewType": r.v("stream_view_type")}
    return p


def _kinesis(r: View) -> Props:
    p: Props = {}
    r.put(p, "ShardCount", "shard_count")
    r.put(p, "RetentionPeriodHours", "retention_period")
    mode = r.v("stream_mode_details", 0, "stream_mode")
    if mode:
        p["StreamModeDetails"] = {"StreamMode": mode}
    return p


def _s3_notification(r: View, target: Props) -> None:
    nc = target.setdefault("NotificationConfiguration", {})
    for block, key, field_, attr in (("lambda_function", "LambdaConfigurations", "Function", "lambda_function_arn"),
                                     ("queue", "QueueConfigurations", "Queue", "queue_arn"),
                                     ("topic", "TopicConfigurations", "Topic", "topic_arn")):
        for i, b in enumerate(r.v(block) or []):
            if not isinstance(b, dict):
                continue
            rules = [{"Name": n, "Value": b[f"filter_{n}"]} for n in ("prefix", "suffix") if b.get(f"filter_{n}")]
            for event in b.get("events") or []:
                cfg: Props = {field_: r.ref(block, i, attr), "Event": event}
                if rules:
                    cfg["Filter"] = {"S3Key": {"Rules": rules}}
                nc.setdefault(key, []).append(cfg)


def _rds(r: View) -> Props:
    p: Props = {}
    for key, attr in (("Engine", "engine"), ("DBInstanceClass", "instance_class"), ("MultiAZ", "multi_az"),
                      ("AllocatedStorage", "allocated_storage"), ("StorageEncrypted", "storage_encrypted"),
                      ("PubliclyAccessible", "publicly_accessible"),
                      ("BackupRetentionPeriod", "backup_retention_period"), ("AvailabilityZone", "availability_zone")):
        r.put(p, key, attr)
    src = r.refs("replicate_source_db", attr="id")
    if src:
        p["SourceDBInstanceIdentifier"] = src[0]
    return p


def _cache_cluster(r: View) -> Props:
    p: Props = {}
    for key, attr in (("Engine", "engine"), ("CacheNodeType", "node_type"), ("NumCacheNodes", "num_cache_nodes"),
                      ("PreferredAvailabilityZones", "preferred_availability_zones"),
                      ("PreferredAvailabilityZone", "availability_zone")):
        r.put(p, key, attr)
    return p


def _replication_group(r: View) -> Props:
    p: Props = {"Engine": r.v("engine") or "redis"}
    for key, attr in (("CacheNodeType", "node_type"), ("NumNodeGroups", "num_node_groups"),
                      ("ReplicasPerNodeGroup", "replicas_per_node_group"), ("NumCacheClusters", "num_cache_clusters"),
                      ("PreferredCacheClusterAZs", "preferred_cache_cluster_azs"),
                      ("AtRestEncryptionEnabled", "at_rest_encryption_enabled")):
        r.put(p, key, attr)
    return p


# ---------------------------------------------------------------- compute and networking
def _subnet(r: View) -> Props:
    p: Props = {}
    r.put(p, "AvailabilityZone", "availability_zone")
    return p


def _launch_template_ref(r: View) -> Props | None:
    lt = r.ref("launch_template", 0, "id", attr="id") or r.ref("launch_template", 0, "name", attr="id")
    return {"LaunchTemplateId": lt} if lt is not None else None


def _instance(r: View) -> Props:
    p: Props = {}
    r.put(p, "InstanceType", "instance_type")
    r.put(p, "AvailabilityZone", "availability_zone")
    subnet = r.ref("subnet_id", attr="id")
    if subnet is not None:
        p["SubnetId"] = subnet
    lt = _launch_template_ref(r)
    if lt:
        p["LaunchTemplate"] = lt
    return p


def _eip(r: View) -> Props:
    return {"InstanceId": r.ref("instance", attr="id")}


def _eip_assoc(r: View) -> Props:
    return {"InstanceId": r.ref("instance_id", attr="id")}


def _launch_template(r: View) -> Props:
    return {"LaunchTemplateData": {"InstanceType": r.v("instance_type")}}


def _launch_config(r: View) -> Props:
    return {"InstanceType": r.v("instance_type")}


def _asg(r: View) -> Props:
    p: Props = {}
    for key, attr in (("MinSize", "min_size"), ("MaxSize", "max_size"), ("DesiredCapacity", "desired_capacity"),
                      ("AvailabilityZones", "availability_zones"), ("HealthCheckType", "health_check_type"),
                      ("HealthCheckGracePeriod", "health_check_grace_period")):
        r.put(p, key, attr)
    subnets = r.refs("vpc_zone_identifier", attr="id") or r.v("vpc_zone_identifier")
    if subnets:
        p["VPCZoneIdentifier"] = subnets
    tgs = r.refs("target_group_arns")
    if tgs:
        p["TargetGroupARNs"] = tgs
    elbs = r.refs("load_balancers", attr="name")
    if elbs:
        p["LoadBalancerNames"] = elbs
    lt = _launch_template_ref(r)
    if lt:
        p["LaunchTemplate"] = lt
    lc = r.refs("launch_configuration", attr="name")
    if lc:
        p["LaunchConfigurationName"] = lc[0]
    return p


def _asg_attachment(r: View, target: Props) -> None:
    for attr, key in (("lb_target_group_arn", "TargetGroupARNs"), ("alb_target_group_arn", "TargetGroupARNs"),
                      ("elb", "LoadBalancerNames")):
        got = r.refs(attr, attr="name" if attr == "elb" else "arn")
        if got:
            target.setdefault(key, []).append(got[0])


def _scaling_policy(r: View) -> Props:
    p: Props = {"AutoScalingGroupName": r.ref("autoscaling_group_name", attr="name"),
                "PolicyType": r.v("policy_type")}
    tt = r.block("target_tracking_configuration")
    if tt:
        spec = (tt.get("predefined_metric_specification") or [{}])[0]
        p["TargetTrackingConfiguration"] = {
            "PredefinedMetricSpecification": {"PredefinedMetricType": spec.get("predefined_metric_type")},
            "TargetValue": tt.get("target_value"), "DisableScaleIn": bool(tt.get("disable_scale_in"))}
    return p


def _lb(r: View) -> Props:
    p: Props = {"Type": r.v("load_balancer_type") or "application",
                "Scheme": "internal" if r.v("internal") else "internet-facing"}
    subnets = r.refs("subnets", attr="id") or r.v("subnets")
    if subnets:
        p["Subnets"] = subnets
    cross = r.v("enable_cross_zone_load_balancing")
    if isinstance(cross, bool) and p["Type"] == "network":
        p["LoadBalancerAttributes"] = [{"Key": "load_balancing.cross_zone.enabled", "Value": str(cross).lower()}]
    return p


def _target_group(r: View) -> Props:
    p: Props = {}
    hc = r.block("health_check")
    for key, attr in (("HealthCheckIntervalSeconds", "interval"), ("HealthCheckTimeoutSeconds", "timeout"),
                      ("HealthyThresholdCount", "healthy_threshold"),
                      ("UnhealthyThresholdCount", "unhealthy_threshold"), ("HealthCheckPath", "path")):
        if hc.get(attr) not in (None, ""):
            p[key] = hc[attr]
    if hc.get("protocol"):
        p["HealthCheckProtocol"] = str(hc["protocol"]).upper()
    attrs: list[Props] = []
    delay = r.v("deregistration_delay")
    if delay is not None:
        attrs.append({"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)})
    st = r.block("stickiness")
    if st.get("enabled"):
        attrs.append({"Key": "stickiness.enabled", "Value": "true"})
        attrs.append({"Key": "stickiness.type", "Value": str(st.get("type", ""))})
        if st.get("cookie_duration") is not None:
            attrs.append({"Key": "stickiness.lb_cookie.duration_seconds", "Value": str(st["cookie_duration"])})
    slow = r.v("slow_start")
    if slow:
        attrs.append({"Key": "slow_start.duration_seconds", "Value": str(slow)})
    algo = r.v("load_balancing_algorithm_type")
    if algo:
        attrs.append({"Key": "load_balancing.algorithm.type", "Value": str(algo)})
    if attrs:
        p["TargetGroupAttributes"] = attrs
    return p


def _actions(r: View, block: str) -> list[Props]:
    out: list[Props] = []
    for i, a in enumerate(r.v(block) or []):
        if not isinstance(a, dict):
            continue
        act: Props = {"Type": a.get("type")}
        tg = r.ref(block, i, "target_group_arn")
        if tg is not None:
            act["TargetGroupArn"] = tg
        groups = ((a.get("forward") or [{}])[0] or {}).get("target_group") or []
        if groups:
            act["ForwardConfig"] = {"TargetGroups": [
                {"TargetGroupArn": r.ref(block, i, "forward", 0, "target_group", j, "arn"), "Weight": g.get("weight")}
                for j, g in enumerate(groups) if isinstance(g, dict)]}
        out.append(act)
    return out


def _listener(r: View) -> Props:
    return {"LoadBalancerArn": r.ref("load_balancer_arn"), "Protocol": r.v("protocol"),
            "DefaultActions": _actions(r, "default_action")}


def _listener_rule(r: View) -> Props:
    return {"ListenerArn": r.ref("listener_arn"), "Actions": _actions(r, "action")}


def _tg_attachment(r: View, target: Props) -> None:
    got = r.ref("target_id", attr="id")
    if got is not None:
        target.setdefault("Targets", []).append({"Id": got})


def _elb(r: View) -> Props:
    return {"Instances": r.refs("instances", attr="id"), "Scheme": "internal" if r.v("internal") else
            "internet-facing"}


def _zone(r: View) -> Props:
    return {"Name": r.v("name")}


def _record(r: View) -> Props:
    p: Props = {"HostedZoneId": r.ref("zone_id", attr="zone_id"), "Name": r.v("name"), "Type": r.v("type")}
    r.put(p, "TTL", "ttl")
    records = r.refs("records", attr="public_ip") or r.v("records")
    if records:
        p["ResourceRecords"] = records
    alias = r.block("alias")
    if alias:
        p["AliasTarget"] = {"DNSName": r.ref("alias", 0, "name", attr="dns_name"),
                            "EvaluateTargetHealth": bool(alias.get("evaluate_target_health"))}
    failover = r.v("failover_routing_policy", 0, "type")
    if failover:
        p["Failover"] = failover
    weight = r.v("weighted_routing_policy", 0, "weight")
    if weight is not None:
        p["Weight"] = weight
    check = r.ref("health_check_id", attr="id")
    if check is not None:
        p["HealthCheckId"] = check
    return p


# ---------------------------------------------------------------- API Gateway
def _rest_api(r: View) -> Props:
    p: Props = {}
    body = _json(r.v("body"))
    if isinstance(body, dict):
        p["Body"] = body
    return p


def _http_api(r: View) -> Props:
    p: Props = {"ProtocolType": r.v("protocol_type") or "HTTP"}
    body = _json(r.v("body"))
    if isinstance(body, dict):
        p["Body"] = body
    return p


def _integration(r: View) -> Props:
    return {"RestApiId": r.ref("rest_api_id", attr="id"), "HttpMethod": r.v("http_method"),
            "Integration": {"Type": r.v("type"), "Uri": r.ref("uri", attr="invoke_arn")}}


def _v2_integration(r: View) -> Props:
    return {"ApiId": r.ref("api_id", attr="id"), "IntegrationType": r.v("integration_type"),
            "IntegrationUri": r.ref("integration_uri", attr="invoke_arn")}


def _rest_child(r: View) -> Props:
    return {"RestApiId": r.ref("rest_api_id", attr="id")}


def _v2_child(r: View) -> Props:
    return {"ApiId": r.ref("api_id", attr="id")}


def _stage(r: View) -> Props:
    p = _rest_child(r)
    r.put(p, "CacheClusterEnabled", "cache_cluster_enabled")
    r.put(p, "CacheClusterSize", "cache_cluster_size")
    return p


def _v2_stage(r: View) -> Props:
    p = _v2_child(r)
    s = r.block("default_route_settings")
    if s:
        p["DefaultRouteSettings"] = {"ThrottlingRateLimit": s.get("throttling_rate_limit"),
                                     "ThrottlingBurstLimit": s.get("throttling_burst_limit")}
    return p


def _method_settings(r: View, target: Props) -> None:
    s = r.block("settings")
    if r.v("method_path") != "*/*" or not s:
        r.note("method_path", "only the settings of every method (*/*) are read")
        return
    m: Props = {"ResourcePath": "/*", "HttpMethod": "*"}
    for key, attr in (("ThrottlingRateLimit", "throttling_rate_limit"),
                      ("ThrottlingBurstLimit", "throttling_burst_limit"),
                      ("CacheTtlInSeconds", "cache_ttl_in_seconds")):
        if s.get(attr) is not None and s.get(attr) != -1:  # -1: the provider's "not set"
            m[key] = s[attr]
    target.setdefault("MethodSettings", []).append(m)


def _permission(r: View) -> Props:
    return {"SourceArn": r.ref("source_arn", attr="execution_arn")}


def _nothing(r: View, target: Props) -> None:
    return None


# Terraform type -> (CloudFormation type, translator)
TABLE: dict[str, tuple[str, Callable[[View], Props]]] = {
    "aws_sqs_queue": ("AWS::SQS::Queue", _sqs),
    "aws_sns_topic": ("AWS::SNS::Topic", _sns),
    "aws_sns_topic_subscription": ("AWS::SNS::Subscription", _sns_sub),
    "aws_lambda_function": ("AWS::Lambda::Function", _lambda),
    "aws_lambda_event_source_mapping": ("AWS::Lambda::EventSourceMapping", _esm),
    "aws_lambda_function_event_invoke_config": ("AWS::Lambda::EventInvokeConfig", _invoke_config),
    "aws_lambda_permission": ("AWS::Lambda::Permission", _permission),
    "aws_dynamodb_table": ("AWS::DynamoDB::Table", _dynamodb),
    "aws_kinesis_stream": ("AWS::Kinesis::Stream", _kinesis),
    "aws_s3_bucket": ("AWS::S3::Bucket", lambda r: {}),
    "aws_subnet": ("AWS::EC2::Subnet", _subnet),
    "aws_instance": ("AWS::EC2::Instance", _instance),
    "aws_eip": ("AWS::EC2::EIP", _eip),
    "aws_eip_association": ("AWS::EC2::EIPAssociation", _eip_assoc),
    "aws_launch_template": ("AWS::EC2::LaunchTemplate", _launch_template),
    "aws_launch_configuration": ("AWS::AutoScaling::LaunchConfiguration", _launch_config),
    "aws_autoscaling_group": ("AWS::AutoScaling::AutoScalingGroup", _asg),
    "aws_autoscaling_policy": ("AWS::AutoScaling::ScalingPolicy", _scaling_policy),
    "aws_lb": ("AWS::ElasticLoadBalancingV2::LoadBalancer", _lb),
    "aws_alb": ("AWS::ElasticLoadBalancingV2::LoadBalancer", _lb),
    "aws_lb_target_group": ("AWS::ElasticLoadBalancingV2::TargetGroup", _target_group),
    "aws_alb_target_group": ("AWS::ElasticLoadBalancingV2::TargetGroup", _target_group),
    "aws_lb_listener": ("AWS::ElasticLoadBalancingV2::Listener", _listener),
    "aws_alb_listener": ("AWS::ElasticLoadBalancingV2::Listener", _listener),
    "aws_lb_listener_rule": ("AWS::ElasticLoadBalancingV2::ListenerRule", _listener_rule),
    "aws_elb": ("AWS::ElasticLoadBalancing::LoadBalancer", _elb),
    "aws_db_instance": ("AWS::RDS::DBInstance", _rds),
    "aws_elasticache_cluster": ("AWS::ElastiCache::CacheCluster", _cache_cluster),
    "aws_elasticache_replication_group": ("AWS::ElastiCache::ReplicationGroup", _replication_group),
    "aws_route53_zone": ("AWS::Route53::HostedZone", _zone),
    "aws_route53_record": ("AWS::Route53::RecordSet", _record),
    "aws_route53_health_check": ("AWS::Route53::HealthCheck", lambda r: {}),
    "aws_api_gateway_rest_api": ("AWS::ApiGateway::RestApi", _rest_api),
    "aws_api_gateway_integration": ("AWS::ApiGateway::Method", _integration),
    "aws_api_gateway_resource": ("AWS::ApiGateway::Resource", _rest_child),
    "aws_api_gateway_deployment": ("AWS::ApiGateway::Deployment", _rest_child),
    "aws_api_gateway_stage": ("AWS::ApiGateway::Stage", _stage),
    "aws_apigatewayv2_api": ("AWS::ApiGatewayV2::Api", _http_api),
    "aws_apigatewayv2_integration": ("AWS::ApiGatewayV2::Integration", _v2_integration),
    "aws_apigatewayv2_route": ("AWS::ApiGatewayV2::Route", _v2_child),
    "aws_apigatewayv2_deployment": ("AWS::ApiGatewayV2::Deployment", _v2_child),
    "aws_apigatewayv2_stage": ("AWS::ApiGatewayV2::Stage", _v2_stage),
}

# Terraform type -> (the attribute naming the resource it is part of, that resource's reference
# attribute, the merge): a part of another resource in CloudFormation
MERGES: dict[str, tuple[str, str, Callable[[View, Props], None]]] = {
    "aws_s3_bucket_notification": ("bucket", "id", _s3_notification),
    "aws_sqs_queue_redrive_policy": ("queue_url", "url", _sqs_redrive),
    "aws_lb_target_group_attachment": ("target_group_arn", "arn", _tg_attachment),
    "aws_alb_target_group_attachment": ("target_group_arn", "arn", _tg_attachment),
    "aws_autoscaling_attachment": ("autoscaling_group_name", "name", _asg_attachment),
    "aws_api_gateway_method": ("rest_api_id", "id", _nothing),
    "aws_api_gateway_method_settings": ("stage_name", "stage_name", _method_settings),
}

# other Terraform types whose CloudFormation type the catalogue may know (listed as not mapped)
NAMES: dict[str, str] = {
    "aws_vpc": "AWS::EC2::VPC", "aws_security_group": "AWS::EC2::SecurityGroup",
    "aws_iam_role": "AWS::IAM::Role", "aws_iam_policy": "AWS::IAM::ManagedPolicy",
    "aws_internet_gateway": "AWS::EC2::InternetGateway", "aws_nat_gateway": "AWS::EC2::NatGateway",
    "aws_route_table": "AWS::EC2::RouteTable", "aws_ecs_service": "AWS::ECS::Service",
    "aws_ecs_cluster": "AWS::ECS::Cluster", "aws_ecs_task_definition": "AWS::ECS::TaskDefinition",
    "aws_cloudfront_distribution": "AWS::CloudFront::Distribution", "aws_efs_file_system": "AWS::EFS::FileSystem",
    "aws_ebs_volume": "AWS::EC2::Volume", "aws_cloudwatch_event_rule": "AWS::Events::Rule",
    "aws_cloudwatch_event_bus": "AWS::Events::EventBus", "aws_sfn_state_machine": "AWS::StepFunctions::StateMachine",
    "aws_rds_cluster": "AWS::RDS::DBCluster", "aws_cloudtrail": "AWS::CloudTrail::Trail",
    "aws_wafv2_web_acl": "AWS::WAFv2::WebACL", "aws_cognito_user_pool": "AWS::Cognito::UserPool",
}

# the types that become components (a name shared with another resource stays theirs)
PRIMARY = {"aws_sqs_queue", "aws_sns_topic", "aws_lambda_function", "aws_dynamodb_table", "aws_kinesis_stream",
           "aws_s3_bucket", "aws_instance", "aws_autoscaling_group", "aws_lb", "aws_alb", "aws_elb", "aws_db_instance",
           "aws_elasticache_cluster", "aws_elasticache_replication_group", "aws_route53_zone",
           "aws_api_gateway_rest_api", "aws_apigatewayv2_api"}
