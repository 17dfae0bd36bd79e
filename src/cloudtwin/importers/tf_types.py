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

from collections.abc import Callable

from cloudtwin.importers import tf_compute as tfc
from cloudtwin.importers import tf_events as tfe
from cloudtwin.importers import tf_storage as tfs
from cloudtwin.importers.tf_view import Props, Res, View, json_doc, redrive

__all__ = ["MERGES", "NAMES", "PRIMARY", "TABLE", "Res", "View"]


# ---------------------------------------------------------------- messaging
def _sqs(r: View) -> Props:
    p: Props = {}
    for key, attr in (("VisibilityTimeout", "visibility_timeout_seconds"),
                      ("MessageRetentionPeriod", "message_retention_seconds"), ("DelaySeconds", "delay_seconds"),
                      ("ReceiveMessageWaitTimeSeconds", "receive_wait_time_seconds"),
                      ("MaximumMessageSize", "max_message_size"), ("FifoQueue", "fifo_queue")):
        r.put(p, key, attr)
    got = redrive(r, "redrive_policy")
    if got:
        p["RedrivePolicy"] = got
    return p


def _sqs_redrive(r: View, target: Props) -> None:
    got = redrive(r, "redrive_policy")
    if got:
        target["RedrivePolicy"] = got


def _sns(r: View) -> Props:
    p: Props = {}
    r.put(p, "FifoTopic", "fifo_topic")
    return p


def _sns_sub(r: View) -> Props:
    p: Props = {"TopicArn": r.ref("topic_arn"), "Protocol": r.v("protocol"), "Endpoint": r.ref("endpoint")}
    fp = json_doc(r.v("filter_policy"))
    if isinstance(fp, dict):
        p["FilterPolicy"] = fp
        r.put(p, "FilterPolicyScope", "filter_policy_scope")
    got = redrive(r, "redrive_policy")
    if got:
        p["RedrivePolicy"] = got
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


# ---------------------------------------------------------------- API Gateway
def _rest_api(r: View) -> Props:
    p: Props = {}
    body = json_doc(r.v("body"))
    if isinstance(body, dict):
        p["Body"] = body
    return p


def _http_api(r: View) -> Props:
    p: Props = {"ProtocolType": r.v("protocol_type") or "HTTP"}
    body = json_doc(r.v("body"))
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
    "aws_subnet": ("AWS::EC2::Subnet", tfc.subnet),
    "aws_instance": ("AWS::EC2::Instance", tfc.instance),
    "aws_eip": ("AWS::EC2::EIP", tfc.eip),
    "aws_eip_association": ("AWS::EC2::EIPAssociation", tfc.eip_assoc),
    "aws_launch_template": ("AWS::EC2::LaunchTemplate", tfc.launch_template),
    "aws_launch_configuration": ("AWS::AutoScaling::LaunchConfiguration", tfc.launch_config),
    "aws_autoscaling_group": ("AWS::AutoScaling::AutoScalingGroup", tfc.asg),
    "aws_autoscaling_policy": ("AWS::AutoScaling::ScalingPolicy", tfc.scaling_policy),
    "aws_lb": ("AWS::ElasticLoadBalancingV2::LoadBalancer", tfc.lb),
    "aws_alb": ("AWS::ElasticLoadBalancingV2::LoadBalancer", tfc.lb),
    "aws_lb_target_group": ("AWS::ElasticLoadBalancingV2::TargetGroup", tfc.target_group),
    "aws_alb_target_group": ("AWS::ElasticLoadBalancingV2::TargetGroup", tfc.target_group),
    "aws_lb_listener": ("AWS::ElasticLoadBalancingV2::Listener", tfc.listener),
    "aws_alb_listener": ("AWS::ElasticLoadBalancingV2::Listener", tfc.listener),
    "aws_lb_listener_rule": ("AWS::ElasticLoadBalancingV2::ListenerRule", tfc.listener_rule),
    "aws_elb": ("AWS::ElasticLoadBalancing::LoadBalancer", tfc.elb),
    "aws_db_instance": ("AWS::RDS::DBInstance", _rds),
    "aws_rds_cluster": ("AWS::RDS::DBCluster", tfs.rds_cluster),
    "aws_cloudwatch_event_bus": ("AWS::Events::EventBus", tfe.bus),
    "aws_cloudwatch_event_rule": ("AWS::Events::Rule", tfe.rule),
    "aws_rds_cluster_instance": ("AWS::RDS::DBInstance", tfs.rds_cluster_instance),
    "aws_efs_file_system": ("AWS::EFS::FileSystem", tfs.efs),
    "aws_efs_mount_target": ("AWS::EFS::MountTarget", tfs.efs_mount_target),
    "aws_ebs_volume": ("AWS::EC2::Volume", tfs.ebs_volume),
    "aws_volume_attachment": ("AWS::EC2::VolumeAttachment", tfs.volume_attachment),
    "aws_elasticache_cluster": ("AWS::ElastiCache::CacheCluster", _cache_cluster),
    "aws_elasticache_replication_group": ("AWS::ElastiCache::ReplicationGroup", _replication_group),
    "aws_route53_zone": ("AWS::Route53::HostedZone", tfc.zone),
    "aws_route53_record": ("AWS::Route53::RecordSet", tfc.record),
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
    "aws_lb_target_group_attachment": ("target_group_arn", "arn", tfc.tg_attachment),
    "aws_alb_target_group_attachment": ("target_group_arn", "arn", tfc.tg_attachment),
    "aws_autoscaling_attachment": ("autoscaling_group_name", "name", tfc.asg_attachment),
    "aws_api_gateway_method": ("rest_api_id", "id", _nothing),
    "aws_api_gateway_method_settings": ("stage_name", "stage_name", _method_settings),
    "aws_cloudwatch_event_target": ("rule", "name", tfe.target),
}

# other Terraform types whose CloudFormation type the catalogue may know (listed as not mapped)
NAMES: dict[str, str] = {
    "aws_vpc": "AWS::EC2::VPC", "aws_security_group": "AWS::EC2::SecurityGroup",
    "aws_iam_role": "AWS::IAM::Role", "aws_iam_policy": "AWS::IAM::ManagedPolicy",
    "aws_internet_gateway": "AWS::EC2::InternetGateway", "aws_nat_gateway": "AWS::EC2::NatGateway",
    "aws_route_table": "AWS::EC2::RouteTable", "aws_ecs_service": "AWS::ECS::Service",
    "aws_ecs_cluster": "AWS::ECS::Cluster", "aws_ecs_task_definition": "AWS::ECS::TaskDefinition",
    "aws_cloudfront_distribution": "AWS::CloudFront::Distribution",
    "aws_sfn_state_machine": "AWS::StepFunctions::StateMachine",
    "aws_cloudtrail": "AWS::CloudTrail::Trail",
    "aws_wafv2_web_acl": "AWS::WAFv2::WebACL", "aws_cognito_user_pool": "AWS::Cognito::UserPool",
}

# the types that become components (a name shared with another resource stays theirs)
PRIMARY = {"aws_sqs_queue", "aws_sns_topic", "aws_lambda_function", "aws_dynamodb_table", "aws_kinesis_stream",
           "aws_s3_bucket", "aws_instance", "aws_autoscaling_group", "aws_lb", "aws_alb", "aws_elb", "aws_db_instance",
           "aws_elasticache_cluster", "aws_elasticache_replication_group", "aws_route53_zone",
           "aws_rds_cluster", "aws_efs_file_system", "aws_ebs_volume", "aws_cloudwatch_event_bus",
           "aws_api_gateway_rest_api", "aws_apigatewayv2_api"}
